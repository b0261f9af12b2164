"""OGC API – Processes Part 1: the analyses as processes, run synchronously or as jobs.

- ``GET /processes`` · ``GET /processes/{processId}`` — the list and each description (inputs generated from
  the analysis's pydantic request model, :mod:`gis_service.processes.describe`).
- ``POST /processes/{processId}/execution`` — body ``{"inputs": {…}, "response": "raw"|"document"}``;
  ``Prefer: respond-async`` (or a process that runs only asynchronously, the batches) → **201** with
  ``Location: /jobs/{jobId}`` and the status; otherwise **200** with the result.
- ``GET /jobs`` · ``GET /jobs/{jobId}`` (status, progress 0–100, message) · ``DELETE /jobs/{jobId}`` (dismiss)
  · ``GET /jobs/{jobId}/results`` (``{outputId: value}``) · ``GET /jobs/{jobId}/results/{outputId}`` (the value;
  a FeatureCollection is paged with ``limit``/``offset`` like a collection's items).

Choices where the standard leaves room: an unknown process is 404 (``no-such-process``), an unknown or bad
input 400 naming ``inputs.<id>``; results of a job that has not succeeded are 404 (``result-not-ready``) with
its status and message. Jobs live in the store's database, so they survive a restart of the API.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Body, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ..config import Settings
from ..processes.jobs import STATUSES, JobStoreUnavailable, UnknownJob
from ..services.container import Services
from ..services.processes import JobNotReady, UnknownProcess
from .deps import Heavy, Reader, Svc, reader, require_role
from .errors import ApiError
from .schemas import JobList, JobResults, JobStatus, ProcessDescription, ProcessList

router = APIRouter(tags=["OGC API Processes"])
EXCEPTIONS = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0"


class Execute(BaseModel):
    """An execute request (OGC API – Processes Part 1, execute.yaml)."""

    model_config = ConfigDict(extra="forbid")

    inputs: dict[str, Any] = Field(default_factory=dict, description="input id → value (see the process)")
    outputs: dict[str, Any] | None = Field(None, description="accepted; every process has one output")
    response: Literal["raw", "document"] = Field("raw", description="raw: the output value; document: "
                                                 "{outputId: value}")
    subscriber: dict[str, Any] | None = Field(None, description="not supported (no callbacks); ignored")


def _json(doc: Any, status: int = 200, media_type: str = "application/json", headers=None) -> Response:
    return Response(orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY), status_code=status,
                    media_type=media_type, headers=headers)


def _base(request: Request, settings: Settings) -> str:
    return (settings.public_url or str(request.base_url)).rstrip("/")


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def status_info(job: dict[str, Any], base: str) -> dict[str, Any]:
    jid = job["job_id"]
    links = [{"href": f"{base}/jobs/{jid}", "rel": "self", "type": "application/json", "title": "status"}]
    if job["status"] == "successful":
        links.append({"href": f"{base}/jobs/{jid}/results", "rel": "http://www.opengis.net/def/rel/ogc/1.0/results",
                      "type": "application/json", "title": "results"})
    return {"jobID": jid, "processID": job["process_id"], "type": "process", "status": job["status"],
            "message": job["message"], "progress": job["progress"], "created": _iso(job["created"]),
            "started": _iso(job.get("started")), "finished": _iso(job.get("finished")),
            "updated": _iso(job["updated"]), "links": links}


def _not_found(field: str, message: str, kind: str) -> ApiError:
    return ApiError(404, field, message, code=kind)


async def _call(fn, *args, **kwargs):
    try:
        return await run_in_threadpool(fn, *args, **kwargs)
    except UnknownProcess as exc:
        raise _not_found("processId", str(exc), "no-such-process") from None
    except UnknownJob as exc:
        raise _not_found("jobId", f"no job {exc.args[0]!r}", "no-such-job") from None
    except JobNotReady as exc:
        raise _not_found("jobId", str(exc), "result-not-ready") from None
    except JobStoreUnavailable as exc:
        raise ApiError(503, "jobs", str(exc), code="ServiceUnavailable", headers={"Retry-After": "5"}) from None


@router.get("/processes", response_model=ProcessList, summary="The processes 处理过程")
async def processes(request: Request, svc: Services = Svc, _=Reader):
    base = _base(request, svc.settings)
    return _json({"processes": [p.summary(base) for p in svc.processes.registry.values()],
                  "links": [{"href": f"{base}/processes", "rel": "self", "type": "application/json"}]})


@router.get("/processes/{processId}", response_model=ProcessDescription, summary="A process's description: inputs, outputs, job control")
async def process(processId: str, request: Request, svc: Services = Svc, _=Reader):
    base = _base(request, svc.settings)
    proc = await _call(svc.processes.process, processId)
    return _json(proc.describe(base))


@router.post("/processes/{processId}/execution", response_model=JobResults, summary="Execute a process (sync, or async with "
             "Prefer: respond-async)", status_code=200,
             responses={201: {"description": "job accepted; Location: /jobs/{jobId}"},
                        401: {"description": "the process needs an API key (batches: role editor)"},
                        403: {"description": "the key's role may not run this process"}},
             dependencies=[Heavy])
async def execute(processId: str, request: Request, body: Execute = Body(...),
                  prefer: str | None = Header(None, max_length=200, description="respond-async → a job (201)"),
                  svc: Services = Svc):
    proc = await _call(svc.processes.process, processId)
    if proc.role == "viewer":
        await reader(request)
    else:
        await require_role(proc.role)(request)
    wants_async = prefer is not None and "respond-async" in prefer.lower()
    if wants_async or not proc.sync:
        job = await _call(svc.processes.submit, processId, body.inputs)
        base = _base(request, svc.settings)
        return _json(status_info(job, base), status=201,
                     headers={"Location": f"{base}/jobs/{job['job_id']}", "Preference-Applied": "respond-async"})
    result = await _call(svc.processes.execute, processId, body.inputs)
    if body.response == "document":
        return _json({proc.output: result})
    media = proc.output_schema.get("contentMediaType", "application/json")
    return _json(result, media_type=media)


@router.get("/jobs", response_model=JobList, summary="The jobs, newest first")
async def jobs(request: Request, limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10**9),
               processID: str | None = Query(None, max_length=100, pattern=r"^[a-z0-9-]+$"),
               status: Literal[STATUSES] | None = Query(None),  # type: ignore[valid-type]
               svc: Services = Svc, _=Reader):
    base = _base(request, svc.settings)
    rows, total = await _call(svc.processes.jobs.jobs, limit, offset, processID, status)
    links = [{"href": f"{base}/jobs", "rel": "self", "type": "application/json"}]
    if offset + len(rows) < total:
        links.append({"href": f"{base}/jobs?limit={limit}&offset={offset + limit}", "rel": "next",
                      "type": "application/json"})
    return _json({"jobs": [status_info(r, base) for r in rows], "numberMatched": total, "links": links})


@router.get("/jobs/{jobId}", response_model=JobStatus, summary="A job's status and progress")
async def job(jobId: str, request: Request, svc: Services = Svc, _=Reader):
    doc = await _call(svc.processes.jobs.get, jobId)
    return _json(status_info(doc, _base(request, svc.settings)))


@router.delete("/jobs/{jobId}", response_model=JobStatus, summary="Dismiss a job (a running one stops at its next step)")
async def dismiss(jobId: str, request: Request, svc: Services = Svc, _=Reader):
    doc = await _call(svc.processes.dismiss, jobId)
    return _json(status_info(doc, _base(request, svc.settings)))


@router.get("/jobs/{jobId}/results", response_model=JobResults, summary="A finished job's results {outputId: value}")
async def results(jobId: str, svc: Services = Svc, _=Reader):
    return _json(await _call(svc.processes.results, jobId))


@router.get("/jobs/{jobId}/results/{outputId}", response_model=JobResults, summary="One output; a FeatureCollection is paged like items")
async def result(jobId: str, outputId: str, request: Request,
                 limit: int | None = Query(None, ge=1, le=100_000), offset: int = Query(0, ge=0, le=10**9),
                 svc: Services = Svc, _=Reader):
    doc = await _call(svc.processes.results, jobId)
    if outputId not in doc:
        raise _not_found("outputId", f"no output {outputId!r}; outputs: {', '.join(doc)}", "NotFound")
    value = doc[outputId]
    if not (isinstance(value, dict) and value.get("type") == "FeatureCollection"):
        return _json(value)
    features = value.get("features", [])
    page = features[offset: offset + limit] if limit is not None else features[offset:]
    out = {**value, "features": page, "numberMatched": len(features), "numberReturned": len(page)}
    if limit is not None and offset + len(page) < len(features):
        base = _base(request, svc.settings)
        out["links"] = [{"href": f"{base}/jobs/{jobId}/results/{outputId}?limit={limit}&offset={offset + limit}",
                         "rel": "next", "type": "application/geo+json"}]
    return _json(out, media_type="application/geo+json")
