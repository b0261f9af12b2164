"""The audit trail over HTTP: a feature's history and restore, the audit query, the change feed per layer.

- ``GET /collections/{layer}/items/{id}/history?limit=&before=`` — every recorded write of the feature, newest
  first: who (key id or token subject), role, jurisdiction, when, request id, action, and the feature before and
  after; pages of at most ``limit`` (≤ 1000), ``next`` (and a ``rel=next`` link) is the ``before`` of the next;
- ``POST /collections/{layer}/items/{id}/restore?version=<seq>&state=before|after`` (role editor) — the feature
  as it was before (default) or after that write; a deleted feature comes back under its id;
- ``GET /audit?from=&to=&who=&layer=&after=&limit=`` — the trail, oldest first, paged by ``after`` (a seq);
- ``GET /collections/{layer}/changes?since=<seq>&limit=`` — the change feed another instance or a GIS tool
  follows (``gis-service sync``): each write's seq, action, id and the feature after it; ``next`` is the cursor.

- ``GET /identity`` — the caller as the service sees it: subject, role, jurisdiction and its admin area's name,
  whether it may edit (the viewer's jurisdiction badge; it greys what the caller may not edit).

Every answer holds only what the caller's jurisdiction may see (the stores filter the trail as they filter
features; on PostGIS by row-level security).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Request
from fastapi import Query as Param
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from .. import access
from ..config import ROLES
from ..services.container import Services
from ..stores.base import AuditQuery
from .deps import Editor, Reader, Svc, caller_identity
from .errors import ApiError
from .params import INT64_MAX, NO_NUL, FeatureId
from .schemas import AuditTrail, CallerScope, ChangeFeed, FeatureHistory, Restored

router = APIRouter(tags=["Audit trail 审计"])


def _json(doc) -> Response:
    return Response(orjson.dumps(doc), media_type="application/json")


def _when(name: str, text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ApiError(400, name, f"not an ISO 8601 time: {text!r}") from None


@router.get("/collections/{layer}/items/{fid}/history", response_model=FeatureHistory, summary="A feature's recorded versions (who, when, "
            "before and after)")
async def history(request: Request, layer: str, fid: FeatureId, limit: int = Param(100, ge=1, le=1000),
                  before: int | None = Param(None, ge=1, le=INT64_MAX, description="only versions older than this "
                                             "seq (the next page: the answer's next)"),
                  svc: Services = Svc, _=Reader):
    records, more = await run_in_threadpool(svc.layers.history, layer, fid, limit, before)
    base = (svc.settings.public_url or str(request.base_url)).rstrip("/")
    here = f"{base}/collections/{quote(layer, safe='')}/items/{fid}/history?limit={limit}"
    links = [{"href": here + (f"&before={before}" if before is not None else ""), "rel": "self",
              "type": "application/json"}]
    if more is not None:  # OGC API paging: a next link while older versions remain
        links.append({"href": f"{here}&before={more}", "rel": "next", "type": "application/json"})
    return _json({"layer": layer, "id": fid, "versions": records, "count": len(records), "next": more,
                  "links": links})


@router.post("/collections/{layer}/items/{fid}/restore", response_model=Restored, summary="Restore a recorded version (editor role)")
async def restore(layer: str, fid: FeatureId,
                  version: int = Param(..., ge=1, le=INT64_MAX, description="seq of a write in the history"),
                  state: Literal["before", "after"] = Param("before", description="the feature before (default) or "
                                                            "after that write"),
                  svc: Services = Svc, role: str = Editor):
    feature = await run_in_threadpool(svc.layers.restore, layer, fid, version, state)
    return _json({"restored": feature.to_dict(), "from_version": version, "state": state})


@router.get("/audit", response_model=AuditTrail, summary="The audit trail: every write, who, when, before and after")
async def audit(from_: str | None = Param(None, alias="from", max_length=40, pattern=NO_NUL,
                                          description="ISO 8601 start (inclusive)"),
                to: str | None = Param(None, max_length=40, pattern=NO_NUL, description="ISO 8601 end (exclusive)"),
                who: str | None = Param(None, max_length=200, pattern=NO_NUL, description="key id or jwt:<subject>"),
                layer: str | None = Param(None, max_length=100, pattern=NO_NUL),
                fid: int | None = Param(None, alias="id", ge=1, le=INT64_MAX),
                after: int = Param(0, ge=0, le=INT64_MAX, description="only records after this seq (paging)"),
                limit: int = Param(100, ge=1, le=1000), svc: Services = Svc, _=Reader):
    if layer is not None and layer not in svc.layers.catalog:  # a filter naming no layer is a bad parameter
        raise ApiError(400, "layer", f"unknown layer {layer!r}; known layers: {', '.join(svc.layers.catalog.names())}")
    query = AuditQuery(layer=layer, fid=fid, who=who, since=_when("from", from_), until=_when("to", to),
                       after_seq=after, limit=limit)
    records = await run_in_threadpool(svc.layers.audit, query)
    return _json({"records": records, "count": len(records),
                  "next": records[-1]["seq"] if len(records) == limit else None})


@router.get("/collections/{layer}/changes", response_model=ChangeFeed, summary="Change feed of a layer (follow with since=next)")
async def changes(layer: str, since: int = Param(0, ge=0, le=INT64_MAX, description="seq already applied"),
                  limit: int = Param(500, ge=1, le=5000), svc: Services = Svc,
                  _=Reader):
    return _json(await run_in_threadpool(svc.layers.changes, layer, since, limit))


@router.get("/identity", response_model=CallerScope, summary="The caller: role and jurisdiction (the viewer's badge)")
async def identity(request: Request, svc: Services = Svc, _=Reader):
    found = caller_identity(request)
    scope = access.scope()
    who = found if found is not None else scope.identity
    jurisdiction = scope.jurisdiction
    name = await run_in_threadpool(svc.layers.admin_name, jurisdiction) if jurisdiction else None
    can_edit = who.role is not None and ROLES.index(who.role) >= ROLES.index("editor")
    return _json({"subject": who.subject, "role": who.role, "jurisdiction": jurisdiction, "via": who.via,
                  "name": name, "can_edit": can_edit})
