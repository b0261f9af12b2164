"""Siting-conflict endpoints: check a proposed park / installation, or an existing park, against the rules.

- ``POST /analysis/siting`` — body: a GeoJSON Feature (Polygon, MultiPolygon or Point; or a
  FeatureCollection of exactly one). ``properties.inventory`` (list of {substance, cas?, quantity_t})
  is optional; ``properties.kind`` (park | installation) and ``properties.name`` too.
- ``GET /analysis/siting/{park_id}`` — an existing chemical park (its own feature and hazard sources
  are excluded from the overlap and domino rules).
- ``GET /analysis/siting/rules`` — the rule sets as loaded from ``rules/*.yaml``.

``f=json`` (default) returns the report; ``f=geojson`` a FeatureCollection for maps (proposal,
conflict geometries, zones) with the report in ``metadata``. Bad input → 400 naming the problem.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from ..analysis.siting.inputs import MAX_PROPOSAL_SPAN_DEG, MAX_PROPOSAL_VERTICES
from ..analysis.siting.results import SitingCheck, SitingReport
from ..services.container import Services
from .deps import Reader, Svc
from .errors import ApiError
from .params import MAX_ANALYSIS_BODY_BYTES, NO_NUL, FeatureId, geojson_body
from .schemas import RuleSets

router = APIRouter(prefix="/analysis/siting", tags=["Siting"])
FORMATS = {"json": "application/json", "geojson": "application/geo+json"}
F_DOC = "json: the siting report; geojson: FeatureCollection (proposal, conflicts, zones) with the report in metadata"
RULE_SET_DOC = "rule set name (rules/<name>.yaml); default: the set for the proposal's kind"
RuleSetName = Query(None, max_length=200, pattern=NO_NUL, description=RULE_SET_DOC)
PROPOSAL_DOC = (f"A GeoJSON Feature (Polygon, MultiPolygon or Point; at most {MAX_PROPOSAL_VERTICES} "
                f"vertices and {MAX_PROPOSAL_SPAN_DEG:g}° across) or a FeatureCollection of exactly one; "
                "properties.inventory, kind and name optional.")


def _respond(report: SitingReport, f: str) -> Response:
    if f not in FORMATS:
        raise ApiError(400, "f", f"unknown format {f!r}; accepted: {', '.join(FORMATS)}")
    doc = report.to_feature_collection() if f == "geojson" else report.document()
    return Response(doc.model_dump_json(), media_type=FORMATS[f])   # the typed result, serialised once


async def read_limited_body(request: Request, limit: int = MAX_ANALYSIS_BODY_BYTES) -> bytes:
    """The request body, refused with 413 above ``limit`` bytes (analysis bodies are small)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "body", f"larger than the limit of {limit} bytes for this endpoint",
                       code="PayloadTooLarge")
    chunks, seen = [], 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise ApiError(413, "body", f"larger than the limit of {limit} bytes for this endpoint",
                           code="PayloadTooLarge")
        chunks.append(chunk)
    return b"".join(chunks)


@router.get("/rules", response_model=RuleSets, summary="Siting rule sets (rules/*.yaml)")
def list_rules(svc: Services = Svc, _=Reader) -> dict[str, Any]:
    return {"rule_sets": [rs.describe() for rs in svc.siting.rule_sets().values()]}


@router.post("", response_model=SitingCheck, summary="Check a proposed chemical park or hazardous installation",
             openapi_extra=geojson_body(False, PROPOSAL_DOC, MAX_ANALYSIS_BODY_BYTES))
async def check_proposal(request: Request,
                         kind: Literal["park", "installation"] | None = Query(
                             None, description="park | installation (default: from properties.kind, else "
                             "installation with an inventory or a point, else park)"),
                         rule_set: str | None = RuleSetName,
                         repair: bool = Query(False, description="repair an invalid polygon with make_valid "
                                              "(noted in the report) instead of refusing it"),
                         f: Literal["json", "geojson"] = Query("json", description=F_DOC),
                         svc: Services = Svc, _=Reader):
    body = await read_limited_body(request)

    def work() -> Response:
        return _respond(svc.siting.check_proposal(body, kind, rule_set, repair), f)

    return await run_in_threadpool(work)


@router.get("/{park_id}", response_model=SitingCheck, summary="Check an existing chemical park")
def check_existing_park(park_id: FeatureId, rule_set: str | None = RuleSetName,
                        f: Literal["json", "geojson"] = Query("json", description=F_DOC),
                        svc: Services = Svc, _=Reader):
    return _respond(svc.siting.check_park(park_id, rule_set), f)
