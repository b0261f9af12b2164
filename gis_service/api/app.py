"""The FastAPI application: settings → services (one facade per capability over one store) → routers.

``create_app()`` is the one entry point. Routers are registered explicitly in :data:`ROUTERS` (a new
capability imports its router module here and adds it to the list); :data:`HEAVY_ROUTERS` names those whose
every route waits for a heavy-request slot.

Middleware, outermost first: :class:`errors.RequestContext` (request id, access log, JSON 500),
:class:`SecurityHeaders`, GZip (bodies ≥ 1 kB, level 6; vector tiles come compressed, api/gzipped.py), :class:`edges.RefuseRepeatedParams`, :class:`BodySizeLimit`,
:class:`identity.ScopeMiddleware` (the caller's jurisdiction, read by both stores).
"""

from __future__ import annotations

import logging
import os
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import Settings
from ..logs import setup_logging
from ..services.container import Services
from ..stores import Store
from . import (
    audit,
    basemap,
    batches,
    errors,
    exposure,
    features,
    health,
    incidents,
    maps,
    monitoring,
    processes,
    reports,
    rescue,
    resources,
    risk,
    siting,
    tiles,
    viewer,
)
from .deps import Heavy
from .edges import RefuseRepeatedParams
from .identity import ScopeMiddleware

log = logging.getLogger(__name__)

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

        async def limited() -> Message:
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
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} — API",
                                   swagger_js_url=f"{base}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{base}/swagger-ui.css",
                                   swagger_favicon_url=f"{base}/favicon-32x32.png")


class _AssetFolder(StaticFiles):
    """StaticFiles whose missing folder answers 404 (JSON, like every error) instead of Starlette's
    ``RuntimeError`` → 500 on the first request; :func:`_mount_static` names the missing folders at start."""

    async def check_config(self) -> None:
        if self.directory is not None and not os.path.isdir(self.directory):
            return  # every path then misses: lookup_path finds nothing and get_response raises 404
        await super().check_config()


def _mount_static(app: FastAPI) -> None:
    """Browser assets through Starlette's StaticFiles (it refuses any path leaving its folder):
    Leaflet from its PyPI package, and each allowed npm package of web/node_modules on its own mount
    (``/static/vendor/<package>/...``), so nothing else in node_modules is reachable. A package folder
    that is missing (web assets not built) is logged at start and its URLs answer 404; the JSON API works."""
    import xstatic.pkg.leaflet as leaflet

    from ..maps.assets import VENDOR_DIR, VENDOR_PACKAGES

    app.mount("/static/leaflet", StaticFiles(directory=leaflet.BASE_DIR), name="leaflet")
    missing = [p for p in VENDOR_PACKAGES if not (VENDOR_DIR / p).is_dir()]
    if missing:
        log.warning("web assets missing in %s: %s — /static/vendor/… answers 404 and the viewer and maps "
                    "will not load until `bash scripts/setup_web_assets.sh` is run", VENDOR_DIR, ", ".join(missing))
    for package in VENDOR_PACKAGES:
        app.mount(f"/static/vendor/{package}", _AssetFolder(directory=VENDOR_DIR / package, check_dir=False),
                  name=f"vendor:{package}")


class SecurityHeaders:
    """``X-Content-Type-Options: nosniff`` on every answer; on HTML pages also a Content-Security-Policy
    that allows only this service's own scripts and styles (inline ones too: Folium writes inline
    scripts) and ``frame-ancestors 'self'`` (no framing by other sites), plus ``Referrer-Policy``."""

    CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
           "img-src 'self' data: blob: http: https:; font-src 'self' data:; connect-src 'self'; "
           "object-src 'none'; base-uri 'self'; frame-ancestors 'self'")

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def add(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers.append((b"x-content-type-options", b"nosniff"))
                ctype = dict(headers).get(b"content-type", b"")
                if ctype.startswith(b"text/html") and b"content-security-policy" not in names:
                    headers += [(b"content-security-policy", self.CSP.encode()),
                                (b"x-frame-options", b"SAMEORIGIN"),
                                (b"referrer-policy", b"same-origin")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, add)


def _start_jobs(svc: Services) -> None:
    """Start the job runner and take over the jobs a stopped API process left (they are in the store)."""
    svc.processes.start()
    try:
        resumed = svc.processes.recover()
        if resumed:
            log.info("resumed %d job(s) left by a stopped process", len(resumed))
    except Exception as exc:  # noqa: BLE001 - job store down: the heartbeat thread retries
        log.warning("jobs not recovered at start-up (retried by the heartbeat): %s", exc)


def create_app(settings: Settings | None = None, store: Store | None = None,
               services: Services | None = None) -> FastAPI:
    """The service. ``services`` (or ``settings``/``store`` to build them) are shared by every router.

    The store is opened at start-up; if it is unreachable (database down) the service starts anyway,
    answers 503 and ``/readyz`` says so, and the store is opened on the next request that needs it.
    """
    svc = services or Services.build(settings, store)
    setup_logging(svc.settings)
    owns_store = services is None and store is None

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        import asyncio

        app.state.heavy_semaphore = asyncio.Semaphore(svc.settings.heavy_concurrency)  # in the serving loop
        if owns_store:
            try:
                await run_in_threadpool(svc.store.init)
            except errors.StoreError as exc:
                log.warning("store not ready at start-up (the service starts; it retries on use): %s", exc)
        await run_in_threadpool(_start_jobs, svc)
        yield
        svc.processes.close()
        if owns_store:
            svc.store.close()

    app = FastAPI(title="Risk map service 风险地图服务", version="0.1.0", description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    _offline_docs(app)
    app.state.services = svc
    app.state.settings = svc.settings
    app.state.catalog = svc.store.catalog
    errors.install(app)
    app.include_router(health.router)
    for module in ROUTERS:
        app.include_router(module.router, dependencies=[Heavy] if module in HEAVY_ROUTERS else [])
    _mount_static(app)
    errors.document_errors(app)
    app.add_middleware(ScopeMiddleware)  # innermost: the caller's jurisdiction for everything the request runs
    app.add_middleware(BodySizeLimit, limit=svc.settings.max_body_bytes)
    app.add_middleware(RefuseRepeatedParams)
    # level 6, not Starlette's 9: a third of the CPU on the event loop for ~2 % more bytes (the viewer's scripts)
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(errors.RequestContext)
    return app


# Every router, in this order. A new capability writes gis_service/api/<name>.py with a module-level
# ``router = APIRouter(...)``, imports it above and adds it here: a missing module fails at import, loudly.
# No path of one router is a path of another (tests/test_rescue_query.py), so the order decides only how many
# routes a request is tested against (FastAPI tries them one by one, ≈ 5 µs each): the features pages and the
# commander's nearest-teams query (the cheap, frequent reads) come first.
ROUTERS = (features, rescue, audit, exposure, resources, incidents, siting, maps, viewer, reports, risk, monitoring,
           processes, batches, tiles, basemap)
# Their every route is expensive: each waits for one of GIS_HEAVY_CONCURRENCY slots (deps.heavy_slot).
# A router with cheap and expensive routes puts ``Heavy`` on the expensive ones itself (see rescue.py).
HEAVY_ROUTERS = (exposure, siting, maps, reports, risk)
