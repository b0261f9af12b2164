"""Every error is one JSON body: ``{"code", "description", "problems": [{"row", "field", "problem"}]}``.

* One table maps exception types to HTTP status codes (:func:`install`).
* Bad input is **400** everywhere (OGC API – Features answers invalid parameters with 400), also for
  what FastAPI's own request validation finds; the OpenAPI document declares 400 — never 422 — with
  the :class:`ErrorBody` schema (:func:`document_errors`).
* The store being unreachable, timing out or refusing connections is **503** with ``Retry-After``.
* Anything unexpected is **500** with the same JSON body, the request id (``X-Request-ID``) in body
  and header, and the traceback in the log (:class:`RequestContext`, outermost middleware).
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..access import ScopeDenied
from ..catalog import UnknownLayer
from ..loading import LoadError
from ..logs import request_id
from ..services.layers import VersionExpired
from ..stores.base import FeatureNotFound, StoreError
from ..validation import ValidationFailed

log = logging.getLogger(__name__)
access = logging.getLogger("gis_service.access")

RETRY_AFTER_S = 5
BAD_INPUT = 400  # the status of every bad-input answer (documented in OpenAPI instead of FastAPI's 422)


class ProblemItem(BaseModel):
    row: int | None = Field(None, description="0-based input row (feature) for batch inputs, else null")
    field: str = Field(..., description="parameter, attribute or body field at fault")
    problem: str = Field(..., description="what is wrong and what is accepted")


class ErrorBody(BaseModel):
    """The body of every 4xx/5xx answer."""

    code: str = Field(..., description="OGC exception code, e.g. InvalidParameterValue, NotFound, "
                      "ServiceUnavailable, InternalError")
    description: str
    problems: list[ProblemItem] = Field(default_factory=list)
    request_id: str | None = Field(None, description="the X-Request-ID of the request (5xx answers)")


class ApiError(Exception):
    """Raise from handlers: status, OGC exception code, field and message."""

    def __init__(self, status: int, field: str, message: str, code: str = "InvalidParameterValue",
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.field, self.message, self.code, self.headers = status, field, message, code, headers


def _body(code: str, description: str, problems: list[dict]) -> dict:
    return {"code": code, "description": description, "problems": problems}


def error_json(status: int, code: str, field: str, message: str, headers: dict[str, str] | None = None,
               with_id: bool = False) -> JSONResponse:
    body = _body(code, f"{field}: {message}", [{"row": None, "field": field, "problem": message}])
    if with_id:
        body["request_id"] = request_id.get()
    return JSONResponse(body, status_code=status, headers=headers)


# What a 503 says: never the database's host, port, user or a server path (those are logged).
UNAVAILABLE = "the database is unavailable or did not answer in time; retry later"


def unavailable(message: str) -> JSONResponse:
    return JSONResponse({**_body("ServiceUnavailable", message, []), "request_id": request_id.get()},
                        status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})


def _db_errors() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """(database unreachable / timed out, value the database refused) exception types."""
    import psycopg
    from sqlalchemy import exc as sa

    down = (sa.OperationalError, sa.InterfaceError, sa.TimeoutError, sa.DisconnectionError,
            psycopg.OperationalError, psycopg.InterfaceError)  # raw cursors (frame()) are not wrapped
    return down, (sa.DataError, psycopg.DataError)


def install(app: FastAPI) -> None:
    """Register the handlers: the service's own errors, the database's, and the framework's."""
    _install_service_errors(app)
    _install_database_errors(app)
    _install_framework_errors(app)


def _install_service_errors(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError):
        return JSONResponse(_body(exc.code, f"{exc.field}: {exc.message}",
                                  [{"row": None, "field": exc.field, "problem": exc.message}]),
                            status_code=exc.status, headers=exc.headers)

    @app.exception_handler(ValidationFailed)
    async def _invalid(_: Request, exc: ValidationFailed):
        return JSONResponse(_body("InvalidParameterValue", str(exc), [p.as_dict() for p in exc.problems]),
                            status_code=BAD_INPUT)

    @app.exception_handler(LoadError)
    async def _load(_: Request, exc: LoadError):
        return JSONResponse(_body("InvalidParameterValue", str(exc), [exc.problem.as_dict()]),
                            status_code=BAD_INPUT)

    @app.exception_handler(UnknownLayer)
    async def _layer(_: Request, exc: UnknownLayer):
        return JSONResponse(_body("NotFound", str(exc), [{"row": None, "field": "collectionId", "problem": str(exc)}]),
                            status_code=404)

    @app.exception_handler(FeatureNotFound)
    async def _missing(_: Request, exc: FeatureNotFound):
        return JSONResponse(_body("NotFound", str(exc), [{"row": None, "field": "featureId", "problem": str(exc)}]),
                            status_code=404)

    @app.exception_handler(VersionExpired)
    async def _expired(_: Request, exc: VersionExpired):
        return JSONResponse(_body("Gone", str(exc), [{"row": None, "field": "version", "problem": str(exc)}]),
                            status_code=410)

    @app.exception_handler(ScopeDenied)
    async def _scope(_: Request, exc: ScopeDenied):
        return JSONResponse(_body("Forbidden", str(exc), [{"row": None, "field": "jurisdiction", "problem": str(exc)}]),
                            status_code=403)

    @app.exception_handler(StoreError)
    async def _store(_: Request, exc: StoreError):
        log.warning("store unavailable: %s", exc)   # the detail (host, port, path) goes to the log only
        return unavailable(UNAVAILABLE)


def _install_database_errors(app: FastAPI) -> None:
    down, refused = _db_errors()
    for kind in down:
        @app.exception_handler(kind)
        async def _down(_: Request, exc: Exception):
            log.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return unavailable(UNAVAILABLE)

    for kind in refused:
        @app.exception_handler(kind)
        async def _refused(_: Request, exc: Exception):
            # validation should have caught it; the database's refusal is still the caller's input
            log.warning("database refused a value: %s", str(exc).splitlines()[0])
            return error_json(BAD_INPUT, "InvalidParameterValue", "request",
                              "a value was refused by the database (out of range or not representable)")


def _install_framework_errors(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException):
        code = {404: "NotFound", 405: "MethodNotAllowed", 401: "Unauthorized", 403: "Forbidden"}.get(
            exc.status_code, "InvalidParameterValue" if exc.status_code < 500 else "InternalError")
        return error_json(exc.status_code, code, "request", str(exc.detail),
                          headers=dict(exc.headers) if exc.headers else None)

    @app.exception_handler(RequestValidationError)
    async def _request(_: Request, exc: RequestValidationError):
        problems = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body", "header")]
            msg = err.get("msg", "invalid")
            if err.get("type") == "json_invalid":
                loc, msg = ["body"], "not valid JSON"
            problems.append({"row": None, "field": ".".join(loc) or "request", "problem": msg})
        desc = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        return JSONResponse(_body("InvalidParameterValue", desc, problems), status_code=BAD_INPUT)


class RequestContext:
    """Outermost middleware: request id, timing and access log, and the last line of defence.

    The id is taken from an incoming ``X-Request-ID`` (if short and printable) or made up, set on
    the response and kept in :data:`request_id` for log records. An exception that escapes every
    handler becomes a 500 with the JSON error body (if no response has started) and a logged
    traceback, so a client never sees a plain-text error or a dropped connection.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = _incoming_id(scope) or uuid.uuid4().hex[:16]
        token = request_id.set(rid)
        started = time.perf_counter()
        status = {"code": 0}

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        except Exception:
            log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if status["code"]:
                raise  # the response has started; nothing sensible can be sent any more
            status["code"] = 500
            body = orjson.dumps({**_body("InternalError", "unexpected server error; quote the request id "
                                         "when reporting it", []), "request_id": rid})
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode()),
                                    (b"x-request-id", rid.encode())]})
            await send({"type": "http.response.body", "body": body})
        finally:
            ms = (time.perf_counter() - started) * 1000
            access.info("%s %s %s %.1fms", scope.get("method"), scope.get("path"), status["code"], ms,
                        extra={"method": scope.get("method"), "path": scope.get("path"),
                               "status": status["code"], "duration_ms": round(ms, 1)})
            request_id.reset(token)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or ():
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if 0 < len(text) <= 64 and text.isascii() and text.isprintable():
                return text
    return None


# -- OpenAPI: the documented error statuses are the ones returned -----------------------------------

_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def _error_response(text: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": text, "content": {"application/json": {"schema": _ERROR_REF}}}
    if headers:
        out["headers"] = headers
    return out


def document_errors(app: FastAPI) -> None:
    """Rewrite the generated OpenAPI: 422 → 400 with :class:`ErrorBody`; 404, 413, 401/403, 503 and 500
    declared where they can occur."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        for model in (ProblemItem, ErrorBody):
            schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        secured = _secured_paths(app)
        layers = _layer_names(app)
        for path, item in doc.get("paths", {}).items():
            for method, op in item.items():
                _document_operation(path, method, op, secured.get((path, method)), layers)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def _document_operation(path: str, method: str, op: dict[str, Any], role: str | None, layers: list[str]) -> None:
    for param in op.get("parameters", []):
        if param.get("in") == "path" and param.get("name") == "layer" and layers:
            param["schema"] = {"type": "string", "enum": layers, "title": "Layer"}
    responses = op.setdefault("responses", {})
    responses.pop("422", None)
    responses["400"] = _error_response("bad input: the problems name each field")
    if "{" in path:
        responses.setdefault("404", _error_response("no such collection or feature"))
    if method in ("post", "put", "patch"):
        responses["413"] = _error_response("request body larger than the limit")
    if role:
        responses["401"] = _error_response("no or unknown API key")
        if role == "editor":
            responses["403"] = _error_response("the key's role may not do this")
    responses["503"] = _error_response(
        "the store is unavailable or timed out; retry after Retry-After seconds",
        {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}})
    responses["500"] = _error_response("unexpected error (logged with the request id)")


def _layer_names(app: FastAPI) -> list[str]:
    catalog = getattr(app.state, "catalog", None)
    return list(catalog.names()) if catalog is not None else []


def api_routes(app: FastAPI) -> list[tuple[str, set[str], Any]]:
    """(path, methods, dependant) of every API route, also inside included routers (FastAPI ≥ 0.16x
    keeps included routers as such; older versions copy their routes into ``app.routes``)."""
    from fastapi.routing import APIRoute

    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI: routes are flat
        return [(r.path_format, set(r.methods or ()), r.dependant) for r in app.routes if isinstance(r, APIRoute)]
    out = []
    for ctx in iter_route_contexts(app.routes):
        dependant = getattr(ctx, "dependant", None)
        if dependant is not None and getattr(ctx, "methods", None):
            out.append((ctx.path_format or "", set(ctx.methods or ()), dependant))
    return out


def _secured_paths(app: FastAPI) -> dict[tuple[str, str], str]:
    """(path, method) → the role its dependencies may demand ("viewer" for reads, "editor")."""
    out: dict[tuple[str, str], str] = {}
    for path, methods, dependant in api_routes(app):
        role = _role_of(dependant)
        if role:
            for method in methods:
                out[(path, method.lower())] = role
    return out


def _role_of(dependant) -> str | None:
    for dep in dependant.dependencies:
        role = getattr(dep.call, "required_role", None) or _role_of(dep)
        if role:
            return role
    return None
