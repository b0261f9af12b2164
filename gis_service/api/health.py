"""Liveness and readiness: ``/healthz`` (the process answers) and ``/readyz`` (the store answers).

Neither needs a key; neither reveals data. ``/readyz`` opens the store if it was not reachable at
start-up (so the service recovers by itself when the database returns) and answers 503 with
``Retry-After`` while it is not.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from ..services.container import Services
from .deps import get_services
from .errors import unavailable

router = APIRouter(tags=["Health"])
log = logging.getLogger(__name__)


class Health(BaseModel):
    status: str
    store: str | None = None


@router.get("/healthz", summary="Liveness: the process answers", response_model=Health)
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", summary="Readiness: the store answers", response_model=Health)
def readyz(svc: Services = Depends(get_services)):
    try:
        svc.store.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        log.warning("not ready: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return unavailable(f"store ({svc.store.kind}) not ready")
    return Health(status="ok", store=svc.store.kind)

