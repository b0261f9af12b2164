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

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from ..analysis import siting
from ..analysis.road_network import road_graph
from ..analysis.siting_rules import rule_set_for, rule_sets
from ..config import Settings
from ..stores.base import Store
from ..validation import Problem, ValidationFailed
from .deps import Reader, get_settings, get_store
from .errors import ApiError

router = APIRouter(prefix="/analysis/siting", tags=["Siting"])
FORMATS = {"json": "application/json", "geojson": "application/geo+json"}
F_DOC = "json: the siting report; geojson: FeatureCollection (proposal, conflicts, zones) with the report in metadata"
RULE_SET_DOC = "rule set name (rules/<name>.yaml); default: the set for the proposal's kind"


def _respond(report: siting.SitingReport, f: str) -> Response:
    if f not in FORMATS:
        raise ApiError(400, "f", f"unknown format {f!r}; accepted: {', '.join(FORMATS)}")
    doc = report.to_feature_collection() if f == "geojson" else report.to_dict()
    return Response(orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY), media_type=FORMATS[f])


def _rule_set(store: Store, kind: str, name: str | None):
    try:
        return rule_set_for(rule_sets(store.catalog), kind, name)
    except (KeyError, ValueError) as exc:
        raise ValidationFailed([Problem(None, "rule_set", str(exc).strip("'\""))]) from None


def _graph(store: Store, settings: Settings):
    return road_graph(store, pbf=getattr(settings, "road_pbf", None))


@router.get("/rules", summary="Siting rule sets (rules/*.yaml)")
def list_rules(store: Store = Depends(get_store), _=Reader) -> dict[str, Any]:
    return {"rule_sets": [rs.describe() for rs in rule_sets(store.catalog).values()]}


@router.post("", summary="Check a proposed chemical park or hazardous installation")
async def check_proposal(request: Request,
                         kind: str | None = Query(None, description="park | installation (default: from "
                                                  "properties.kind, else installation with an inventory or a "
                                                  "point, else park)"),
                         rule_set: str | None = Query(None, description=RULE_SET_DOC),
                         repair: bool = Query(False, description="repair an invalid polygon with make_valid "
                                              "(noted in the report) instead of refusing it"),
                         f: str = Query("json", description=F_DOC),
                         store: Store = Depends(get_store), settings: Settings = Depends(get_settings), _=Reader):
    body = await request.body()

    def work() -> Response:
        proposal = siting.proposal_from_geojson(body, store, kind=kind, repair=repair)
        rs = _rule_set(store, proposal.kind, rule_set)
        return _respond(siting.check(store, proposal, rs, graph=_graph(store, settings)), f)

    return await run_in_threadpool(work)


@router.get("/{park_id}", summary="Check an existing chemical park")
def check_existing_park(park_id: int, rule_set: str | None = Query(None, description=RULE_SET_DOC),
                        f: str = Query("json", description=F_DOC),
                        store: Store = Depends(get_store), settings: Settings = Depends(get_settings), _=Reader):
    rs = _rule_set(store, "park", rule_set)
    return _respond(siting.check_park(store, park_id, rs, graph=_graph(store, settings)), f)
