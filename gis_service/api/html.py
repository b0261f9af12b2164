"""HTML rendering of the OGC API pages (Jinja2 templates in ``templates/``)."""

from __future__ import annotations

from functools import lru_cache

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(loader=PackageLoader("gis_service.api", "templates"),
                       autoescape=select_autoescape(["html"]))


def render(template: str, status: int = 200, **context) -> HTMLResponse:
    return HTMLResponse(_env().get_template(template).render(**context), status_code=status)
