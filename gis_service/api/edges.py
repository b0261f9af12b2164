"""Request-edge checks that apply to every operation (issue 24).

:class:`RefuseRepeatedParams` — a query parameter given twice (``?limit=1&limit=100000``) is refused
with 400 naming it. Frameworks disagree on which copy wins (the first, the last, a list), so a proxy or
cache in front of the service and the service itself could read different requests; no operation of
this API takes a repeated parameter (lists are comma-separated: ``properties=a,b``). The same parameter with the same
value again is no ambiguity — every reading gives that value — and is let through: GDAL's OAPIF driver (QGIS) adds the
query parameters of the URL it was given (``?filter=…``) to every ``next`` link it follows, which already carries
them, so refusing exact copies broke its paging of any filtered selection longer than one page.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send


def repeated(query_string: bytes) -> list[str]:
    """Names given more than once with different values in a query string, in order of first repetition."""
    seen: dict[str, str] = {}
    out: list[str] = []
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name in seen and seen[name] != value and name not in out:
            out.append(name)
        seen.setdefault(name, value)
    return out


class RefuseRepeatedParams:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        qs = scope.get("query_string") or b""
        if scope["type"] != "http" or b"&" not in qs:
            return await self.app(scope, receive, send)
        names = repeated(qs)
        if not names:
            return await self.app(scope, receive, send)
        problems = [{"row": None, "field": n, "problem": "given more than once; give each parameter once "
                     "(lists are comma-separated)"} for n in names]
        body = orjson.dumps({"code": "InvalidParameterValue",
                             "description": "; ".join(f"{p['field']}: {p['problem']}" for p in problems),
                             "problems": problems})
        await send({"type": "http.response.start", "status": 400,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
