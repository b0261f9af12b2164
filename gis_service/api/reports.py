"""Printable PDF reports of the analyses (Chinese text, embedded CJK font, offline map image).

- ``GET  /reports/siting/{park_id}.pdf`` — siting check of an existing chemical park;
- ``POST /reports/siting`` — siting check of a proposal (body and parameters as ``POST /analysis/siting``);
- ``GET  /reports/exposure/{layer}/{id}.pdf`` — zones and exposed receptors (scenario parameters as
  ``GET /analysis/exposure/{layer}/{id}``);
- ``GET  /reports/rescue.pdf?lon=&lat=&incident=`` — nearest teams, ETAs, routes, arrival standards
  (``by=time``, road time, by default).
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from shapely.geometry import Point
from starlette.concurrency import run_in_threadpool

from ..analysis import exposure, rescue, scenarios, siting
from ..analysis.scenarios import ScenarioParams
from ..config import Settings
from ..reports import content, pdf
from ..reports.fonts import FontMissing
from ..stores.base import Store
from .deps import Reader, get_settings, get_store
from .errors import ApiError
from .exposure import scenario_query
from .rescue import BY_DOC, INCIDENT_DOC, K_DOC, _graph, _overrides
from .siting import RULE_SET_DOC, _rule_set
from .siting import _graph as _siting_graph

router = APIRouter(prefix="/reports", tags=["Reports 报告"])
PDF = "application/pdf"


def _pdf(report: pdf.Report, name: str) -> Response:
    try:
        data = pdf.render(report)
    except FontMissing as exc:
        raise ApiError(503, "font", str(exc), code="ServiceUnavailable") from None
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "report"
    return Response(data, media_type=PDF, headers={"Content-Disposition": f'inline; filename="{safe}.pdf"'})


@router.get("/siting/{park_id}.pdf", summary="Siting check report of a park (PDF) 园区选址检查报告",
            response_class=Response, responses={200: {"content": {PDF: {}}}})
def siting_park_report(park_id: int, rule_set: str | None = Query(None, description=RULE_SET_DOC),
                       store: Store = Depends(get_store), settings: Settings = Depends(get_settings), _=Reader):
    rs = _rule_set(store, "park", rule_set)
    fc = siting.check_park(store, park_id, rs, graph=_siting_graph(store, settings)).to_feature_collection()
    return _pdf(content.siting_report(fc, store), f"siting_park_{park_id}")


@router.post("/siting", summary="Siting check report of a proposal (PDF) 拟选址检查报告",
             response_class=Response, responses={200: {"content": {PDF: {}}}})
async def siting_proposal_report(request: Request,
                                 kind: str | None = Query(None, description="park | installation"),
                                 rule_set: str | None = Query(None, description=RULE_SET_DOC),
                                 repair: bool = Query(False, description="repair an invalid polygon"),
                                 store: Store = Depends(get_store), settings: Settings = Depends(get_settings),
                                 _=Reader):
    """Body: a GeoJSON Feature (Polygon/MultiPolygon/Point), as for ``POST /analysis/siting``."""
    body = await request.body()

    def work() -> Response:
        proposal = siting.proposal_from_geojson(body, store, kind=kind, repair=repair)
        rs = _rule_set(store, proposal.kind, rule_set)
        fc = siting.check(store, proposal, rs, graph=_siting_graph(store, settings)).to_feature_collection()
        return _pdf(content.siting_report(fc, store), "siting_proposal")

    return await run_in_threadpool(work)


@router.get("/exposure/{layer}/{fid}.pdf", summary="Exposure report (PDF) 暴露分析报告",
            response_class=Response, responses={200: {"content": {PDF: {}}}})
def exposure_report(layer: str, fid: int, params: ScenarioParams = Depends(scenario_query),
                    store: Store = Depends(get_store), _=Reader):
    scenarios.check_layer(layer)
    fc = exposure.feature_exposure(store, layer, fid, params).to_feature_collection(receptor_features=True)
    return _pdf(content.exposure_report(fc, store), f"exposure_{layer}_{fid}")


@router.get("/rescue.pdf", summary="Nearest rescue teams report (PDF) 救援队伍报告",
            response_class=Response, responses={200: {"content": {PDF: {}}}})
def rescue_report(lon: float = Query(..., description="incident longitude (WGS84)"),
                  lat: float = Query(..., description="incident latitude (WGS84)"),
                  incident: str = Query(..., description=INCIDENT_DOC),
                  k: int = Query(5, description=K_DOC), by: str = Query("time", description=BY_DOC),
                  store: Store = Depends(get_store), settings: Settings = Depends(get_settings), _=Reader):
    answer = rescue.nearest_teams(store, Point(lon, lat), incident, k=k, by=by, graph=_graph(store, settings, by),
                                  standards=_overrides(settings))
    return _pdf(content.rescue_report(answer.to_feature_collection(), store), "rescue")
