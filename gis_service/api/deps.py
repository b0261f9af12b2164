"""Small FastAPI dependencies: the services (one facade per capability), the settings, the caller's role.

They are ``async def`` because they do no I/O: a sync dependency would cost a thread hop each.
``get_services`` gives the shared :class:`gis_service.services.container.Services`; routers call its facades
and never a store.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request

from ..access import Identity
from ..config import ROLES, Settings
from ..identities import IdentityError
from ..services.container import Services
from .errors import ApiError
from .identity import resolve


async def get_services(request: Request) -> Services:
    return request.app.state.services


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def caller_identity(request: Request) -> Identity | None:
    """The identity proved by ``X-API-Key`` or ``Authorization: Bearer`` (key or JWT); None without credentials;
    401 for credentials that prove nothing (unknown key; forged, expired or wrongly signed token)."""
    found = resolve(request)
    if isinstance(found, IdentityError):
        raise ApiError(401, "Authorization" if request.headers.get("authorization") else "X-API-Key", str(found),
                       code="Unauthorized", headers={"WWW-Authenticate": "Bearer"})
    return found


def caller_role(request: Request) -> str | None:
    """Role of the caller's key or token; None if no credentials."""
    identity = caller_identity(request)
    if identity is None:
        return None
    if identity.role is None:
        raise ApiError(403, "Authorization", "the bearer token carries no role of this service", code="Forbidden")
    return identity.role


def require_role(minimum: str) -> Callable:
    """Dependency: the caller's key must carry ``minimum`` or a stronger role."""
    rank = ROLES.index(minimum)

    async def check(request: Request) -> str:
        role = caller_role(request)
        if role is None:
            raise ApiError(401, "X-API-Key", f"this operation needs an API key with role {minimum!r}",
                           code="Unauthorized", headers={"WWW-Authenticate": "Bearer"})
        if ROLES.index(role) < rank:
            raise ApiError(403, "X-API-Key", f"role {role!r} may not do this; role {minimum!r} is required",
                           code="Forbidden")
        return role

    check.required_role = minimum  # type: ignore[attr-defined]  # read by the OpenAPI error docs
    return check


_viewer = require_role("viewer")


async def reader(request: Request) -> str | None:
    """Reads are open unless GIS_READ_REQUIRES_KEY is set."""
    settings: Settings = request.app.state.settings
    if settings.read_requires_key:
        return await _viewer(request)
    return caller_role(request)


reader.required_role = "viewer"  # type: ignore[attr-defined]


async def heavy_slot(request: Request):
    """Dependency of the expensive endpoints (analyses, maps): at most GIS_HEAVY_CONCURRENCY of them
    run at once per worker; the others wait here, on the event loop, without holding a thread or
    the GIL — so cheap requests (items, nearest) keep being answered while heavy ones run."""
    import asyncio

    state = request.app.state
    sem = getattr(state, "heavy_semaphore", None)
    if sem is None:
        sem = state.heavy_semaphore = asyncio.Semaphore(state.settings.heavy_concurrency)
    async with sem:
        yield


Heavy = Depends(heavy_slot)

Svc = Depends(get_services)
Editor = Depends(require_role("editor"))
Reader = Depends(reader)
