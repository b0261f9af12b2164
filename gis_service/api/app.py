"""The FastAPI application: settings → store → routers. ``create_app()`` is the one entry point."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from ..config import Settings, get_settings
from ..stores import Store, make_store
from . import errors, features

DESCRIPTION = """
工业安全风险地图服务 — risk layers (major hazard sources 重大危险源, goaf areas 采空区, chemical parks 化工园区,
tailings dams 尾矿库, rescue teams 救援队伍, receptors, admin areas, roads) as **OGC API – Features**
(GeoJSON per RFC 7946, WGS84 lon/lat, distances in geodesic metres), plus exposure, rescue and siting analyses.

Writes need an API key with role `editor` (`X-API-Key: …` or `Authorization: Bearer …`).
Errors are JSON: `{"code", "description", "problems": [{"row", "field", "problem"}]}`.
"""


class BodySizeLimit:
    """Refuse request bodies above ``limit`` bytes with 413 before they are read into memory."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await self._refuse(send)
        seen = 0

        async def limited() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        import orjson

        body = orjson.dumps({"code": "PayloadTooLarge",
                             "description": f"body: request body larger than {self.limit} bytes",
                             "problems": [{"row": None, "field": "body",
                                           "problem": f"larger than the limit of {self.limit} bytes"}]})
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


def _offline_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from the service's own npm assets (FastAPI's default loads a CDN)."""
    from fastapi.openapi.docs import get_swagger_ui_html

    @app.get("/docs", include_in_schema=False)
    async def docs():
        base = "/static/vendor/swagger-ui-dist"
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} — API",
                                   swagger_js_url=f"{base}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{base}/swagger-ui.css",
                                   swagger_favicon_url=f"{base}/favicon-32x32.png")


def _mount_static(app: FastAPI) -> None:
    import xstatic.pkg.leaflet as leaflet

    app.mount("/static/leaflet", StaticFiles(directory=leaflet.BASE_DIR), name="leaflet")


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.key_roles()  # fail fast on a malformed GIS_API_KEYS

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if store is None:
            app.state.store.init()
        yield
        if store is None:
            app.state.store.close()

    app = FastAPI(title="Risk map service 风险地图服务", version="0.1.0", description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    _offline_docs(app)
    app.state.settings = settings
    app.state.store = store or make_store(settings)
    errors.install(app)
    app.include_router(features.router)
    for router in _extra_routers():
        app.include_router(router)
    _mount_static(app)
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    return app


OPTIONAL_ROUTERS = ("exposure", "rescue", "siting", "maps", "viewer", "monitoring")


def _extra_routers():
    """Routers of the analysis, map and viewer capabilities: ``gis_service.api.<name>.router``."""
    import importlib

    routers = []
    for name in OPTIONAL_ROUTERS:
        module = f"gis_service.api.{name}"
        try:
            routers.append(importlib.import_module(module).router)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return routers

