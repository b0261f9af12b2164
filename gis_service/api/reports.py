"""Printable PDF reports of the analyses (Chinese text, embedded CJK font, offline map image).

- ``GET  /reports/siting/{park_id}.pdf`` — siting check of an existing chemical park;
- ``POST /reports/siting`` — siting check of a proposal (body and parameters as ``POST /analysis/siting``);
- ``GET  /reports/exposure/{layer}/{id}.pdf`` — zones and exposed receptors (scenario parameters as
  ``GET /analysis/exposure/{layer}/{id}``);
- ``GET  /reports/rescue.pdf?lon=&lat=&incident=`` — nearest teams, ETAs, routes, arrival standards
  (``by=time``, road time, by default);
- ``GET  /reports/risk/{layer}/{id}.pdf`` and ``GET /reports/risk.pdf?park_id=`` — quantitative risk: IR contours,
  protection targets against GB 36894, the F-N chart, outcome cases (QRA parameters as
  ``GET /analysis/risk/individual``).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from shapely.geometry import Point
from starlette.concurrency import run_in_threadpool

from ..analysis import exposure, rescue, scenarios, siting
from ..analysis.qra import service as qra
from ..analysis.qra.data import QraParams
from ..analysis.scenarios import ScenarioParams
from ..context import AppContext
from ..reports import content, pdf
from ..reports.fonts import FontMissing
from .deps import Reader, get_context
from .errors import ApiError
from .exposure import scenario_query
from .params import MAX_ANALYSIS_BODY_BYTES, NO_NUL, FeatureId, geojson_body
from .rescue import BY_DOC, INCIDENT_DOC, K, Lat, Lon
from .risk import PARK, qra_query
from .siting import PROPOSAL_DOC, RuleSetName, _rule_set, read_limited_body

router = APIRouter(prefix="/reports", tags=["Reports 报告"])
PDF = "application/pdf"
PDF_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {PDF: {}}, "description": "the report as PDF"}}


def _pdf(report: pdf.Report, name: str) -> Response:
    try:
        data = pdf.render(report)
    except FontMissing as exc:
        raise ApiError(503, "font", str(exc), code="ServiceUnavailable") from None
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "report"
    return Response(data, media_type=PDF, headers={"Content-Disposition": f'inline; filename="{safe}.pdf"'})


@router.get("/siting/{park_id}.pdf", summary="Siting check report of a park (PDF) 园区选址检查报告",
            response_class=Response, responses=PDF_RESPONSE)
def siting_park_report(park_id: FeatureId, rule_set: str | None = RuleSetName,
                       ctx: AppContext = Depends(get_context), _=Reader):
    rs = _rule_set(ctx, "park", rule_set)
    fc = siting.check_park(ctx.store, park_id, rs, graph=ctx.road_graph()).to_feature_collection()
    return _pdf(content.siting_report(fc, ctx.store), f"siting_park_{park_id}")


@router.post("/siting", summary="Siting check report of a proposal (PDF) 拟选址检查报告",
             response_class=Response, responses=PDF_RESPONSE,
             openapi_extra=geojson_body(False, PROPOSAL_DOC, MAX_ANALYSIS_BODY_BYTES))
async def siting_proposal_report(request: Request,
                                 kind: Literal["park", "installation"] | None = Query(
                                     None, description="park | installation"),
                                 rule_set: str | None = RuleSetName,
                                 repair: bool = Query(False, description="repair an invalid polygon"),
                                 ctx: AppContext = Depends(get_context), _=Reader):
    """Body: a GeoJSON Feature (Polygon/MultiPolygon/Point), as for ``POST /analysis/siting``."""
    body = await read_limited_body(request)

    def work() -> Response:
        proposal = siting.proposal_from_geojson(body, ctx.store, kind=kind, repair=repair)
        rs = _rule_set(ctx, proposal.kind, rule_set)
        fc = siting.check(ctx.store, proposal, rs, graph=ctx.road_graph()).to_feature_collection()
        return _pdf(content.siting_report(fc, ctx.store), "siting_proposal")

    return await run_in_threadpool(work)


@router.get("/exposure/{layer}/{fid}.pdf", summary="Exposure report (PDF) 暴露分析报告",
            response_class=Response, responses=PDF_RESPONSE)
def exposure_report(layer: str, fid: FeatureId, params: ScenarioParams = Depends(scenario_query),
                    ctx: AppContext = Depends(get_context), _=Reader):
    scenarios.check_layer(layer)
    fc = exposure.feature_exposure(ctx.store, layer, fid, params).to_feature_collection(receptor_features=True)
    return _pdf(content.exposure_report(fc, ctx.store), f"exposure_{layer}_{fid}")


@router.get("/rescue.pdf", summary="Nearest rescue teams report (PDF) 救援队伍报告",
            response_class=Response, responses=PDF_RESPONSE)
def rescue_report(lon: float = Lon, lat: float = Lat,
                  incident: str = Query(..., max_length=200, pattern=NO_NUL, description=INCIDENT_DOC),
                  k: int = K, by: Literal["distance", "time"] = Query("time", description=BY_DOC),
                  ctx: AppContext = Depends(get_context), _=Reader):
    answer = rescue.nearest_teams(ctx.store, Point(lon, lat), incident, k=k, by=by, graph=ctx.graph_for(by),
                                  standards=ctx.rescue_standards)
    return _pdf(content.rescue_report(answer.to_feature_collection(), ctx.store), "rescue")


@router.get("/risk/{layer}/{fid}.pdf", summary="Quantitative risk report of an installation (PDF) 定量风险评价报告",
            response_class=Response, responses=PDF_RESPONSE)
def risk_report(layer: str, fid: FeatureId, params: QraParams = Depends(qra_query),
                ctx: AppContext = Depends(get_context), _=Reader):
    fc = qra.individual_risk(ctx.store, params, layer=layer, fid=fid, societal=True)
    return _pdf(content.risk_report(fc, ctx.store), f"risk_{layer}_{fid}")


@router.get("/risk.pdf", summary="Quantitative risk report of a chemical park (PDF) 园区定量风险评价报告",
            response_class=Response, responses={**PDF_RESPONSE, 404: {"description": "no such chemical park"}})
def risk_park_report(park_id: int = PARK, params: QraParams = Depends(qra_query),
                     ctx: AppContext = Depends(get_context), _=Reader):
    fc = qra.individual_risk(ctx.store, params, park_id=park_id, societal=True)
    return _pdf(content.risk_report(fc, ctx.store), f"risk_park_{park_id}")
