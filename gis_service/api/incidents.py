"""Incidents (事故处置): report, attach analyses, dispatch units and move them through their states, close; the
append-only timeline; a live stream of timeline events (Server-Sent Events). Writes need role ``editor``; the
actor recorded with each event is the key's role and a hash of the key, never the key.

- ``POST /incidents`` · ``GET /incidents?status=active|closed|all`` · ``GET /incidents/{id}``
- ``POST /incidents/{id}/analyses`` ``{"kind": "resources"|"rescue"|"exposure"|"evacuation", "params": {…}}``
- ``POST /incidents/{id}/dispatch`` ``{"units": [{"layer": "rescue_teams", "id": 3}, {"layer": "supply_depots",
  "id": 1, "items": {"drilling_rig": 1}}]}`` → 409 if a team is already committed or a depot lacks the items
- ``POST /incidents/{id}/dispatches/{dispatch_id}/state`` ``{"state": "en_route"|"on_scene"|"released"}`` → 409
  out of order
- ``POST /incidents/{id}/notes`` · ``POST /incidents/{id}/close``
- ``GET /incidents/stream`` — ``event: incident``, ``id: <seq>``; resume with ``Last-Event-ID`` or ``since``
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import datetime
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ..analysis.incidents.timeline import ANALYSIS_KINDS, INCIDENT_TYPES, TransitionRefused
from ..reports.fonts import FontMissing
from ..services.container import Services
from ..services.incidents import UnknownIncident
from .deps import Editor, Heavy, Reader, Svc
from .errors import ApiError
from .params import NO_NUL
from .resources import point_of
from .schemas import EVENT_STREAM, IncidentDoc, IncidentList

router = APIRouter(prefix="/incidents", tags=["Incidents"])
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "the step is not allowed now (unit already committed, out of order, closed)"}}
IncidentId = int


def _json(doc: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY), status_code=status,
                    media_type="application/json")


def _actor(request: Request, role: str) -> str:
    key = request.headers.get("x-api-key") or request.headers.get("authorization", "")[7:].strip()
    return f"{role}:{hashlib.sha256(key.encode()).hexdigest()[:12]}"


async def _call(fn, *args):
    try:
        return await run_in_threadpool(fn, *args)
    except UnknownIncident as exc:
        raise ApiError(404, "incident_id", str(exc), code="NotFound") from exc
    except TransitionRefused as exc:
        raise ApiError(409, exc.field, str(exc), code="Conflict") from exc


class NewIncident(BaseModel):
    model_config = ConfigDict(extra="forbid")

    point: Any = Field(..., description="[lon, lat] or a GeoJSON Point (WGS84)")
    incident_type: Literal[INCIDENT_TYPES] = Field(..., description=" | ".join(INCIDENT_TYPES))  # type: ignore[valid-type]
    title: str = Field(..., min_length=1, max_length=200, pattern=NO_NUL)
    reporter: str = Field(..., min_length=1, max_length=200, pattern=NO_NUL, description="who reported it")
    occurred_at: datetime | None = Field(None, description="ISO 8601 with offset; default now")


class Attach(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal[ANALYSIS_KINDS] = Field(..., description=" | ".join(ANALYSIS_KINDS))  # type: ignore[valid-type]
    params: dict[str, Any] = Field(default_factory=dict,
                                   description='resources: {"needs": {…}}; rescue: {"k": 5}; exposure: {"layer", '
                                   '"id", "scenario"}; evacuation: {"layer", "id", "scenario", "levels"}')


class UnitRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    layer: Literal["rescue_teams", "supply_depots"]
    id: int = Field(..., ge=1, le=2**63 - 1)
    items: dict[str, Any] | None = Field(None, description="depots: {type: quantity} sent")
    eta_min: float | None = Field(None, ge=0, le=100_000, allow_inf_nan=False)


class Dispatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    units: list[UnitRef] = Field(..., min_length=1, max_length=50)


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Literal["en_route", "on_scene", "released"]
    note: str | None = Field(None, max_length=1000, pattern=NO_NUL)


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(..., min_length=1, max_length=2000, pattern=NO_NUL)


class Close(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=1000, pattern=NO_NUL)


MAX_SEQ = 2**31 - 1   # ids and timeline seqs are PostgreSQL integer columns


def _id(value: int, field: str = "incident_id") -> int:
    if not 1 <= value <= MAX_SEQ:
        raise ApiError(404, field, f"no such {field.replace('_', ' ')} ({value})", code="NotFound")
    return value


@router.post("", response_model=IncidentDoc, summary="Report an incident (role editor)", status_code=201, responses=CONFLICT)
async def create(request: Request, body: NewIncident = Body(...), svc: Services = Svc, role: str = Editor):
    lon, lat = point_of(body.point)
    doc = await _call(svc.incidents.create, lon, lat, body.incident_type, body.title, body.reporter,
                      body.occurred_at, _actor(request, role))
    return _json(doc, 201)


@router.get("", response_model=IncidentList, summary="Incidents with their dispatched units (active ones by default)")
async def list_incidents(status: Literal["active", "closed", "all"] = Query("active"), svc: Services = Svc,
                         _=Reader):
    rows = await _call(svc.incidents.listing, status)
    return _json({"incidents": rows, "count": len(rows), "status": status})


def _sse(e: dict[str, Any]) -> bytes:
    return b"id: %d\nevent: incident\ndata: %s\n\n" % (e["seq"], orjson.dumps(e))


@router.get("/stream", responses=EVENT_STREAM, summary="Timeline events of every incident as Server-Sent Events",
            response_class=StreamingResponse)
async def stream(request: Request,
                 since: int | None = Query(None, ge=0, le=MAX_SEQ, description="replay events after this seq "
                                           "(default: Last-Event-ID, else only new ones)"),
                 timeout_s: float = Query(3600, gt=0, le=3600, description="end the stream after this long"),
                 svc: Services = Svc, _=Reader):
    header = request.headers.get("last-event-id")
    if since is None and header and header.isascii() and header.isdigit() and int(header) <= MAX_SEQ:
        since = int(header)
    if since is None:
        latest = await _call(svc.incidents.events_after, 0, 1_000_000)
        since = latest[-1]["seq"] if latest else 0

    async def events():
        done, end, idle = since, time.monotonic() + timeout_s, 0.0
        yield b"retry: 2000\n: connected\n\n"
        while time.monotonic() < end:
            got = await run_in_threadpool(svc.incidents.events_after, done, 500)
            for e in got:
                e = {k: v for k, v in e.items() if k != "data"} | {"data": _light(e["data"])}
                done = e["seq"]
                yield _sse(e)
            if await request.is_disconnected():
                break
            if not got:
                idle += 1.0
                if idle >= 15:
                    idle = 0
                    yield b": keep-alive\n\n"
                await asyncio.sleep(1.0)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _light(data: dict[str, Any]) -> dict[str, Any]:
    """Stream events without the (large) analysis result: clients fetch the incident for it."""
    return {k: v for k, v in data.items() if k != "result"}


@router.get("/{incident_id}", response_model=IncidentDoc, summary="One incident: units, timeline, attached analyses")
async def get_incident(incident_id: int, svc: Services = Svc, _=Reader):
    return _json(await _call(svc.incidents.get, _id(incident_id)))


@router.get("/{incident_id}/report.pdf", summary="After-action report (PDF) 事故处置总结报告", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}, "description": "the report as PDF"}},
            dependencies=[Heavy])
async def report(incident_id: int, svc: Services = Svc, _=Reader):
    """Summary, map, dispatched units with the time of each state, attached plans and the whole timeline."""
    try:
        data = await _call(svc.reports.incident, _id(incident_id))
    except FontMissing as exc:
        raise ApiError(503, "font", str(exc), code="ServiceUnavailable") from None
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="incident_{incident_id}.pdf"'})


@router.post("/{incident_id}/analyses", response_model=IncidentDoc, summary="Run an analysis at the incident and attach it (role editor)",
             responses=CONFLICT, dependencies=[Heavy])
async def attach(incident_id: int, request: Request, body: Attach = Body(...), svc: Services = Svc,
                 role: str = Editor):
    return _json(await _call(svc.incidents.attach, _id(incident_id), body.kind, body.params, _actor(request, role)))


@router.post("/{incident_id}/dispatch", response_model=IncidentDoc, summary="Dispatch teams and depot equipment (role editor)",
             responses=CONFLICT)
async def dispatch(incident_id: int, request: Request, body: Dispatch = Body(...), svc: Services = Svc,
                   role: str = Editor):
    units = [u.model_dump() for u in body.units]
    return _json(await _call(svc.incidents.dispatch, _id(incident_id), units, _actor(request, role)))


@router.post("/{incident_id}/dispatches/{dispatch_id}/state", response_model=IncidentDoc, summary="Move a dispatched unit on (role editor)",
             responses=CONFLICT)
async def step(incident_id: int, dispatch_id: int, request: Request, body: Step = Body(...), svc: Services = Svc,
               role: str = Editor):
    return _json(await _call(svc.incidents.transition, _id(incident_id), _id(dispatch_id, "dispatch_id"),
                             body.state, body.note, _actor(request, role)))


@router.post("/{incident_id}/notes", response_model=IncidentDoc, summary="Add a note to the timeline (role editor)", responses=CONFLICT)
async def note(incident_id: int, request: Request, body: Note = Body(...), svc: Services = Svc, role: str = Editor):
    return _json(await _call(svc.incidents.note, _id(incident_id), body.text, _actor(request, role)))


@router.post("/{incident_id}/close", response_model=IncidentDoc, summary="Close the incident, releasing every unit still out (role editor)",
             responses=CONFLICT)
async def close(incident_id: int, request: Request, body: Close | None = Body(None), svc: Services = Svc,
                role: str = Editor):
    note = body.note if body is not None else None
    return _json(await _call(svc.incidents.close, _id(incident_id), note, _actor(request, role)))
