"""Batch outputs served as collections: ``GET /batches/{run}`` (the run's summary) and
``GET /batches/{run}/items`` (one GeoJSON Feature per hazard source, paged with ``limit``/``offset``). Runs are
started as OGC API – Processes jobs (``batch-regrade``, ``batch-qra``) or by ``gis-service batch``."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from .. import access
from ..services.batch import UnknownRun
from ..services.container import Services
from .deps import Reader, Svc
from .errors import ApiError
from .schemas import BatchSummary, FeatureCollection

router = APIRouter(prefix="/batches", tags=["OGC API Processes"])
RunName = Path(..., max_length=40, pattern=r"^[a-z]+-[0-9a-f]{16}$", description="batch run, e.g. qra-0123456789abcdef")


async def _call(fn, *args):
    if access.jurisdiction():  # a run covers the whole service: its records are not split by jurisdiction (yet)
        raise ApiError(404, "run", "batch runs are the whole service's; a caller with a jurisdiction cannot read "
                       "them", code="NotFound")
    try:
        return await run_in_threadpool(fn, *args)
    except UnknownRun as exc:
        raise ApiError(404, "run", str(exc), code="NotFound") from None


@router.get("/{run}", response_model=BatchSummary, summary="A batch run's summary")
async def summary(run: str = RunName, svc: Services = Svc, _=Reader):
    return Response(orjson.dumps(await _call(svc.batch.summary, run)), media_type="application/json")


@router.get("/{run}/items", response_model=FeatureCollection, summary="A batch run's records as GeoJSON (one Feature per hazard source)")
async def items(request: Request, run: str = RunName, limit: int = Query(1000, ge=1, le=10_000),
                offset: int = Query(0, ge=0, le=10**9), svc: Services = Svc, _=Reader):
    doc = await _call(svc.batch.records, run, limit, offset)
    base = (svc.settings.public_url or str(request.base_url)).rstrip("/")
    links = [{"href": f"{base}/batches/{run}/items?limit={limit}&offset={offset}", "rel": "self",
              "type": "application/geo+json"}]
    if offset + doc["numberReturned"] < doc["numberMatched"]:
        links.append({"href": f"{base}/batches/{run}/items?limit={limit}&offset={offset + limit}", "rel": "next",
                      "type": "application/geo+json"})
    doc["links"] = links
    return Response(orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/geo+json")
