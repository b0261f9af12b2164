"""Live monitoring endpoints (``/monitoring``): readings in, alarms out, decision packages, live stream.

- ``POST /monitoring/readings`` — a batch of readings (role ``sensor``, ``editor`` or ``admin``);
- ``GET  /monitoring/alarms`` (open by default), ``GET /monitoring/alarms/{id}`` (with its decision
  package), ``POST /monitoring/alarms/{id}/acknowledge`` (role ``editor``);
- ``GET  /monitoring/alarms/stream`` — Server-Sent Events: every alarm opening, change, acknowledgement
  and closing as ``event: alarm`` with ``id: <seq>`` (reconnecting clients resume with Last-Event-ID);
- ``GET  /monitoring/sensors`` (state of each sensor), ``/monitoring/sensors/{id}/readings?from=&to=``,
  ``/monitoring/kinds`` (kinds, default set points and their sources), ``/monitoring/stats`` (counters).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from .. import access
from ..monitoring.ingest import Pipeline
from ..monitoring.kinds import effective, kinds
from ..monitoring.readings import loads, parse_time
from ..monitoring.storebase import ALARM_STATUSES, MonitoringUnavailable, ReadingStore, UnknownAlarm, iso
from ..services.container import Services
from ..services.layers import LayersService
from ..services.monitoring import MonitoringService
from ..stores.base import Query as ItemsQuery
from .deps import Editor, Heavy, Reader, caller_role
from .errors import RETRY_AFTER_S, UNAVAILABLE, ApiError
from .params import INT64_MAX, INT64_MIN, FeatureId
from .schemas import (
    EVENT_STREAM,
    AlarmList,
    AlarmWithPackage,
    FeatureCollection,
    MonitoringStats,
    ReadingsAccepted,
    ReadingsReplay,
    SensorKinds,
    SensorSeries,
)

log = logging.getLogger(__name__)
router = APIRouter(prefix="/monitoring", tags=["Monitoring 监测预警"])
AlarmId = Annotated[int, Path(ge=1, le=INT64_MAX, description="alarm id (64-bit integer)")]
WRITER_ROLES = ("sensor", "editor", "admin")
MAX_SERIES = 20_000
MAX_REPLAY_CELLS = 500_000          # (sensor, bin) values in one replay answer: ~900 sensors × 288 five-minute bins fit
MAX_REPLAY_WINDOW_S = 7 * 86400


class Monitoring:
    """Per-application monitoring of the API: the monitoring facade (reading store, pipeline, decision
    packages), the layers facade and the SSE hub of this process."""

    def __init__(self, service: MonitoringService, layers: LayersService):
        self.service = service
        self.layers = layers
        self.readings: ReadingStore = service.readings   # opens it (MonitoringUnavailable while down)
        self.pipeline: Pipeline = service.pipeline
        self.hub = Hub(self.readings, service)


async def context(request: Request) -> Monitoring:
    mon: Monitoring | None = getattr(request.app.state, "monitoring", None)
    if mon is None:
        svc: Services = request.app.state.services
        try:
            mon = await run_in_threadpool(Monitoring, svc.monitoring, svc.layers)
        except MonitoringUnavailable as exc:
            raise unavailable_error(exc) from exc
        request.app.state.monitoring = mon
    return mon


def unavailable_error(exc: Exception) -> ApiError:
    """503 naming no host, port or user (the detail goes to the log)."""
    log.warning("monitoring store unavailable: %s", exc)
    return ApiError(503, "store", UNAVAILABLE, code="ServiceUnavailable", headers={"Retry-After": str(RETRY_AFTER_S)})


def _json(doc: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY), status_code=status,
                    media_type="application/json")


async def _call(fn, *args):
    try:
        return await run_in_threadpool(fn, *args)
    except MonitoringUnavailable as exc:
        raise unavailable_error(exc) from exc
    except UnknownAlarm as exc:
        raise ApiError(404, "alarm_id", f"no alarm with id {exc.args[0]}", code="NotFound") from exc


async def _visible_alarm(mon: Monitoring, alarm_id: int) -> dict[str, Any]:
    """The alarm, or 404 — also when it lies outside the caller's jurisdiction (existence does not leak)."""
    alarm = await _call(mon.readings.alarm, alarm_id)
    if not await run_in_threadpool(mon.service.can_see, alarm):
        raise ApiError(404, "alarm_id", f"no alarm with id {alarm_id}", code="NotFound")
    return alarm


# -- readings in ------------------------------------------------------------------------------

async def sensor_writer(request: Request) -> str:
    role = caller_role(request)
    if role is None:
        raise ApiError(401, "X-API-Key", "posting readings needs an API key with role sensor, editor or admin",
                       code="Unauthorized", headers={"WWW-Authenticate": "Bearer"})
    if role not in WRITER_ROLES:
        raise ApiError(403, "X-API-Key", f"role {role!r} may not post readings; roles: {', '.join(WRITER_ROLES)}",
                       code="Forbidden")
    return role


sensor_writer.required_role = "editor"  # type: ignore[attr-defined]  # 401 and 403 in the OpenAPI document


READING_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["sensor_id", "time", "value"],
    "properties": {"sensor_id": {"type": "integer", "minimum": 1, "maximum": INT64_MAX},
                   "time": {"oneOf": [{"type": "string", "format": "date-time"}, {"type": "number"}],
                            "description": "ISO 8601 with offset, or epoch seconds (milliseconds above 1e11)"},
                   "value": {"type": "number"},
                   "quality": {"type": "string", "enum": ["good", "uncertain", "bad"]},
                   "unit": {"type": "string", "description": "must equal the sensor's unit when given"}},
}
READINGS_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": [
    {"type": "object", "required": ["readings"],
     "properties": {"readings": {"type": "array", "items": READING_SCHEMA, "minItems": 1, "maxItems": 100_000}}},
    {"type": "array", "items": READING_SCHEMA, "minItems": 1, "maxItems": 100_000}]}}}}}


@router.post("/readings", response_model=ReadingsAccepted, summary="Post a batch of sensor readings (role sensor, editor or admin)",
             openapi_extra=READINGS_BODY)
async def post_readings(request: Request, mon: Monitoring = Depends(context), _=Depends(sensor_writer)):
    """Body: ``{"readings": [{"sensor_id": 12, "time": "2026-11-30T12:00:00Z", "value": 3.2,
    "quality": "good", "unit": "MPa"}, …]}`` (or the bare list). Valid readings are stored even when
    others are refused; each refused one is named in ``problems`` (row = index in the list). 400 if none
    was stored."""
    try:
        doc = loads(await request.body())
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "body", f"not JSON: {exc}") from exc
    rows = doc.get("readings") if isinstance(doc, dict) else doc
    if not isinstance(rows, list) or not rows:
        raise ApiError(400, "readings", 'give {"readings": [{"sensor_id", "time", "value", "quality"?, "unit"?}, …]}')
    if len(rows) > 100_000:
        raise ApiError(400, "readings", "at most 100000 readings per request")
    result = await _call(mon.pipeline.rows, rows)
    problems = [{"row": o, "field": f, "problem": r.replace("_", " ")} for o, f, r in result.problems]
    out = {"accepted": result.written, "rejected": dict(result.rejected), "problems": problems,
           "alarm_changes": [{"kind": op.kind, "sensor_id": op.sensor, "rule": op.rule, "level": op.level}
                             for op in result.ops]}
    if result.written == 0 and result.rejected and not result.rejected.get("duplicate"):
        out.update(code="InvalidParameterValue", description="no reading was stored")
        return _json(out, 400)
    return _json(out)


# -- alarms ------------------------------------------------------------------------------------

class Hub:
    """One poller per process over ``alarm_events`` (by seq), fanned out to every SSE client."""

    POLL_S = 0.1
    QUEUE = 2000

    ESCALATE_EVERY_S = 1.0

    def __init__(self, readings: ReadingStore, service: MonitoringService | None = None):
        self.readings = readings
        self.service = service
        self.queues: set[asyncio.Queue] = set()
        self.task: asyncio.Task | None = None
        self.last: int | None = None
        self._escalated_at = 0.0

    async def _escalate(self) -> None:
        """While anyone listens, this process also passes overdue alarms up (MQTT ingest does it too)."""
        if self.service is None or time.monotonic() - self._escalated_at < self.ESCALATE_EVERY_S:
            return
        self._escalated_at = time.monotonic()
        try:
            await run_in_threadpool(self.service.escalate)
        except Exception:  # noqa: BLE001 - store away or sensors layer unreadable: try again later
            log.warning("alarm escalation skipped", exc_info=True)

    async def _run(self) -> None:
        while self.queues:
            await self._escalate()
            try:
                events = await run_in_threadpool(self.readings.events_since, self.last or 0, 1000)
            except Exception:  # noqa: BLE001 - store away: keep clients connected, try again
                events = []
                await asyncio.sleep(1.0)
            for seq, doc in events:
                self.last = seq
                for q in list(self.queues):
                    if q.full():
                        self.queues.discard(q)   # a client that cannot keep up is cut off (it reconnects)
                    else:
                        q.put_nowait((seq, doc))
            if len(events) < 1000:
                await asyncio.sleep(self.POLL_S)
        self.task = None

    async def subscribe(self) -> asyncio.Queue:
        if self.last is None:
            self.last = await run_in_threadpool(self.readings.last_seq)
        q: asyncio.Queue = asyncio.Queue(self.QUEUE)
        self.queues.add(q)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._run())
        return q


def _resume_from(request: Request, since: int | None) -> int | None:
    header = request.headers.get("last-event-id")
    if since is None and header and header.isascii() and header.isdigit() and int(header) <= INT64_MAX:
        return int(header)
    return since


async def _told(svc: MonitoringService, batch: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """The events of ``batch`` the caller is told of (its jurisdiction, as routed and escalated)."""
    if not batch:
        return batch
    docs = [(seq, doc, orjson.loads(doc)) for seq, doc in batch]
    ids = [int(d["alarm"]["id"]) for _, _, d in docs if isinstance(d.get("alarm"), dict) and "id" in d["alarm"]]
    routes = await _call(svc.readings.routes, ids)
    return [(seq, doc) for seq, doc, d in docs if svc.reaches(d, routes, seq)]


def _sse(seq: int, doc: bytes) -> bytes:
    return b"id: %d\nevent: alarm\ndata: %s\n\n" % (seq, doc)


@router.get("/alarms/stream", responses=EVENT_STREAM, summary="Alarm events as Server-Sent Events", response_class=StreamingResponse)
async def alarm_stream(request: Request, since: int | None = Query(None, ge=0, le=INT64_MAX, description="replay events after this seq "
                                                                  "(default: Last-Event-ID header, else only new)"),
                       mon: Monitoring = Depends(context), _=Reader):
    since = _resume_from(request, since)
    q = await mon.hub.subscribe()
    start = mon.hub.last or 0  # subscribe() has read it
    whole = not access.jurisdiction()

    async def told(batch: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
        return batch if whole else await _told(mon.service, batch)

    async def events():
        try:
            yield b"retry: 2000\n: connected\n\n"
            done = since if since is not None else start
            while since is not None and done < start:
                backlog = await _call(mon.readings.events_since, done, 1000)
                if not backlog:
                    break
                for seq, doc in backlog:
                    if seq <= start:
                        for s2, d2 in await told([(seq, doc)]):
                            yield _sse(s2, d2)
                        done = seq
                if backlog[-1][0] >= start:
                    break
            while True:
                try:
                    seq, doc = await asyncio.wait_for(q.get(), 15.0)
                except TimeoutError:
                    if await request.is_disconnected() or q not in mon.hub.queues:
                        break
                    yield b": keep-alive\n\n"
                    continue
                if seq > done:
                    done = seq
                    for s2, d2 in await told([(seq, doc)]):
                        yield _sse(s2, d2)
        finally:
            mon.hub.queues.discard(q)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/alarms", response_model=AlarmList, summary="Alarms (open ones by default)")
async def list_alarms(status: str = Query("open", description="open | acknowledged | closed | live (open or "
                                          "acknowledged) | all"),
                      sensor_id: int | None = Query(None, ge=INT64_MIN, le=INT64_MAX), limit: int = Query(500, ge=1, le=10_000),
                      mon: Monitoring = Depends(context), _=Reader):
    allowed = (*ALARM_STATUSES, "live", "all")
    if status not in allowed:
        raise ApiError(400, "status", f"must be one of {', '.join(allowed)} (got {status!r})")
    only = await _call(mon.service.visible_sensors)   # the caller's jurisdiction (None: everything)
    if status == "live":
        rows = [a for s in ("open", "acknowledged")
                for a in await _call(mon.readings.alarms, s, sensor_id, limit, only)]
        rows.sort(key=lambda a: -a["id"])
    else:
        rows = await _call(mon.readings.alarms, None if status == "all" else status, sensor_id, limit, only)
    rows = rows[:limit]
    routes = await _call(mon.readings.routes, [a["id"] for a in rows])
    for a in rows:
        a["routed_to"] = mon.service.routed_to(a["id"], a["sensor_id"], routes)
    return _json({"alarms": rows, "count": len(rows), "status": status})


@router.get("/alarms/{alarm_id}", response_model=AlarmWithPackage, summary="One alarm with its history and decision package")
async def get_alarm(alarm_id: AlarmId, package: bool = Query(True, description="include the decision package"),
                    mon: Monitoring = Depends(context), _=Reader, _slot=Heavy):
    """The decision package runs the exposure and rescue analyses: it waits for a heavy-request slot."""
    alarm = await _visible_alarm(mon, alarm_id)
    if not package:
        return _json({"alarm": alarm})
    return _json(await _call(mon.service.package, alarm))


@router.post("/alarms/{alarm_id}/acknowledge", response_model=AlarmWithPackage, summary="Acknowledge an alarm (role editor)")
async def acknowledge(alarm_id: AlarmId, request: Request, mon: Monitoring = Depends(context), role: str = Editor):
    note = None
    body = await request.body()
    if body:
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, "body", f"not JSON: {exc}") from exc
        note = doc.get("note") if isinstance(doc, dict) else None
        if note is not None and (not isinstance(note, str) or len(note) > 500):
            raise ApiError(400, "note", "must be text of at most 500 characters")
    await _visible_alarm(mon, alarm_id)
    who = access.scope().identity
    by = f"{role}:{who.subject}"   # the key's id or the token's subject, never the key itself
    return _json({"alarm": await _call(mon.readings.acknowledge, alarm_id, by, note)})


# -- sensors -----------------------------------------------------------------------------------

def _state(st: dict[str, Any] | None, stale_min: float | None, now: float) -> str:
    if st is None:
        return "no_data"
    if st["stale"] or (stale_min and now - st["last_t"] > stale_min * 60):
        return "stale"
    level = max(st["hi"], st["lo"], st["rate"])
    return {0: "normal", 1: "warning", 2: "alarm"}[int(level)]


@router.get("/sensors", response_model=FeatureCollection, summary="Sensors with their live state (GeoJSON)")
async def sensors(bbox: str | None = Query(None, description="minlon,minlat,maxlon,maxlat"),
                  mon: Monitoring = Depends(context), _=Reader):
    box: tuple[float, float, float, float] | None = None
    if bbox:
        try:
            x0, y0, x1, y1 = (float(x) for x in bbox.split(","))
        except ValueError:
            raise ApiError(400, "bbox", "must be minlon,minlat,maxlon,maxlat") from None
        box = (x0, y0, x1, y1)
    page = await run_in_threadpool(mon.layers.items, "sensors", ItemsQuery(bbox=box, limit=50_000))
    states = await _call(mon.readings.states)
    now = time.time()
    feats = []
    for f in page.features:
        p = f.properties
        st = states.get(f.id)
        th = effective(p)
        feats.append({"type": "Feature", "id": f.id, "geometry": orjson.Fragment(f.geometry_json),
                      "properties": {"name": p["name"], "kind": p["kind"], "unit": p["unit"],
                                     "source_layer": p["source_layer"], "source_id": p["source_id"],
                                     "state": _state(st, th["stale_min"], now),
                                     "last_value": st["last_value"] if st else None,
                                     "last_time": iso(st["last_t"]) if st else None}})
    return _json({"type": "FeatureCollection", "features": feats})


# Series bounds: readings are never older than 1970 (the ingest refuses far-past readings) nor later
# than 9999; a time outside is taken as that end ("from=0001-01-01T00:00:00Z" means "from the start").
# Unclamped, year 1 with a positive offset made PostgreSQL raise "year 0 is out of range" (500).
SERIES_MIN_T = 0.0
SERIES_MAX_T = 253402300799.0   # 9999-12-31T23:59:59Z


def _when(name: str, text: str | None, default: float) -> float:
    if text is None:
        return default
    try:
        t = parse_time(float(text)) if text.replace(".", "", 1).isdigit() else parse_time(text)
    except (ValueError, OverflowError):
        t = None
    if t is None:
        raise ApiError(400, name, "must be ISO 8601 with a UTC offset (e.g. 2026-11-30T08:00:00Z) or epoch seconds")
    return min(max(t, SERIES_MIN_T), SERIES_MAX_T)


@router.get("/sensors/{sensor_id}/readings", response_model=SensorSeries, summary="A sensor's readings between two times")
async def readings(sensor_id: FeatureId, from_: str | None = Query(None, alias="from", description="start, ISO 8601 or "
                                                          "epoch s; default 24 h before `to`"),
                   to: str | None = Query(None, description="end (exclusive); default now"),
                   limit: int = Query(5000, ge=1, le=MAX_SERIES),
                   mon: Monitoring = Depends(context), _=Reader):
    sensor = await run_in_threadpool(mon.layers.get, "sensors", sensor_id)
    t1 = _when("to", to, time.time() + 1)
    t0 = _when("from", from_, t1 - 86400)
    if not t0 < t1:
        raise ApiError(400, "from", "must be before 'to'")
    rows = await _call(mon.readings.series, sensor_id, t0, t1, limit)
    hourly = await _call(mon.readings.hourly, sensor_id, t0, t1)
    p = sensor.properties
    return _json({"sensor_id": sensor_id, "name": p["name"], "kind": p["kind"], "unit": p["unit"],
                  "thresholds": effective(p), "from": iso(t0), "to": iso(t1), "truncated": len(rows) >= limit,
                  "readings": [{"time": iso(t), "t": t, "value": v, "quality": q} for t, v, q in rows],
                  "hourly": [{"hour": iso(h), "n": n, "min": a, "max": b, "mean": m} for h, n, a, b, m in hourly]})


@router.get("/readings/replay", response_model=ReadingsReplay,
            summary="Every sensor's readings over a window, binned (the replay slider)")
async def readings_replay(from_: str | None = Query(None, alias="from", description="start, ISO 8601 or epoch s; "
                                                    "default 24 h before `to`"),
                          to: str | None = Query(None, description="end (exclusive); default now"),
                          step_min: float = Query(5.0, ge=1.0, le=60.0, description="bin width in minutes"),
                          mon: Monitoring = Depends(context), _=Reader):
    """For each sensor the caller may see that reported in [from, to): its last reading in each bin
    [t0 + k·step, t0 + (k+1)·step), as parallel lists ``k`` and ``values`` (bins without a reading are left out),
    with its unit and effective alarm set points. At most 7 days and 500,000 values (``truncated``)."""
    t1 = _when("to", to, time.time() + 1)
    t0 = _when("from", from_, t1 - 86400)
    if not t0 < t1:
        raise ApiError(400, "from", "must be before 'to'")
    if t1 - t0 > MAX_REPLAY_WINDOW_S:
        raise ApiError(400, "from", "the window may be at most 7 days; narrow 'from'..'to'")
    step = step_min * 60.0
    rows = await _call(mon.readings.binned, t0, t1, step, MAX_REPLAY_CELLS + 1)
    page = await run_in_threadpool(mon.layers.items, "sensors", ItemsQuery(limit=50_000))
    visible = {f.id: f.properties for f in page.features}
    out: dict[int, dict[str, Any]] = {}
    for sid, k, v in rows[:MAX_REPLAY_CELLS]:
        p = visible.get(sid)
        if p is None:
            continue
        doc = out.get(sid)
        if doc is None:
            th = effective(p)
            doc = out[sid] = {"sensor_id": sid, "kind": p["kind"], "unit": p["unit"],
                              "thresholds": {n: th[n] for n in ("low_low", "low", "high", "high_high")},
                              "k": [], "values": []}
        doc["k"].append(k)
        doc["values"].append(v)
    return _json({"from": iso(t0), "to": iso(t1), "t0": t0, "step_s": step, "bins": math.ceil((t1 - t0) / step),
                  "truncated": len(rows) > MAX_REPLAY_CELLS, "sensors": list(out.values())})


@router.get("/kinds", response_model=SensorKinds, summary="Sensor kinds, default alarm set points and their sources")
async def sensor_kinds(_=Reader):
    return _json({"kinds": [k.to_dict() for k in kinds().values()]})


@router.get("/stats", response_model=MonitoringStats, summary="Readings accepted and refused (by reason) since the store was created")
async def stats(mon: Monitoring = Depends(context), _=Reader):
    counts = await _call(mon.readings.counters)
    return _json({"counters": counts, "time": datetime.now().astimezone().isoformat()})

