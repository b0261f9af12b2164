"""One table maps exception types to HTTP status codes; every error body names field and problem."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ..catalog import UnknownLayer
from ..loading import LoadError
from ..stores.base import FeatureNotFound, StoreError
from ..validation import ValidationFailed


class ApiError(Exception):
    """Raise from handlers: status, OGC exception code, field and message."""

    def __init__(self, status: int, field: str, message: str, code: str = "InvalidParameterValue",
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.field, self.message, self.code, self.headers = status, field, message, code, headers


def _body(code: str, description: str, problems: list[dict]) -> dict:
    return {"code": code, "description": description, "problems": problems}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError):
        return JSONResponse(_body(exc.code, f"{exc.field}: {exc.message}",
                                  [{"row": None, "field": exc.field, "problem": exc.message}]),
                            status_code=exc.status, headers=exc.headers)

    @app.exception_handler(ValidationFailed)
    async def _invalid(_: Request, exc: ValidationFailed):
        return JSONResponse(_body("InvalidParameterValue", str(exc), [p.as_dict() for p in exc.problems]),
                            status_code=400)

    @app.exception_handler(LoadError)
    async def _load(_: Request, exc: LoadError):
        return JSONResponse(_body("InvalidParameterValue", str(exc), [exc.problem.as_dict()]), status_code=400)

    @app.exception_handler(UnknownLayer)
    async def _layer(_: Request, exc: UnknownLayer):
        return JSONResponse(_body("NotFound", str(exc), [{"row": None, "field": "collectionId", "problem": str(exc)}]),
                            status_code=404)

    @app.exception_handler(FeatureNotFound)
    async def _missing(_: Request, exc: FeatureNotFound):
        return JSONResponse(_body("NotFound", str(exc), [{"row": None, "field": "featureId", "problem": str(exc)}]),
                            status_code=404)

    @app.exception_handler(StoreError)
    async def _store(_: Request, exc: StoreError):
        return JSONResponse(_body("ServiceUnavailable", str(exc), []), status_code=503)

    @app.exception_handler(RequestValidationError)
    async def _request(_: Request, exc: RequestValidationError):
        problems = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body")]
            problems.append({"row": None, "field": ".".join(loc) or "request", "problem": err.get("msg", "invalid")})
        desc = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        return JSONResponse(_body("InvalidParameterValue", desc, problems), status_code=400)
