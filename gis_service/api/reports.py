"""Printable PDF reports of the analyses (Chinese text, embedded CJK font, offline map image).

- ``GET  /reports/siting/{park_id}.pdf`` — siting check of an existing chemical park;
- ``POST /reports/siting`` — siting check of a proposal (body and parameters as ``POST /analysis/siting``);
- ``GET  /reports/exposure/{layer}/{id}.pdf`` — zones and exposed receptors (scenario parameters as
  ``GET /analysis/exposure/{layer}/{id}``);
- ``GET  /reports/rescue.pdf?lon=&lat=&incident=`` — nearest teams, ETAs, routes, arrival standards
  (``by=time``, road time, by default);
- ``GET  /reports/risk/{layer}/{id}.pdf`` and ``GET /reports/risk.pdf?park_id=`` — quantitative risk: IR contours,
  protection targets against GB 36894, the F-N chart, outcome cases (QRA parameters as
  ``GET /analysis/risk/individual``);
- ``GET  /reports/brief.pdf?lon=&lat=&incident=`` (+ ``substance=&quantity_t=`` and the scenario parameters for a
  what-if release there), ``GET /reports/brief/{layer}/{id}.pdf`` and ``GET /reports/alarm/{alarm_id}.pdf`` — the
  one-page brief (简报): exactly one A4 page with the map, each zone's true reach, the exposed population and the
  most sensitive receptors, the nearest capable teams by road time against their standard, an alarm's reading
  and history, the assumptions, Beijing time, the data's as-of time and a document number.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ..analysis.consequence.params import MAX_QUANTITY_T, ScenarioParams
from ..analysis.qra.data import QraParams
from ..monitoring.storebase import MonitoringUnavailable, UnknownAlarm
from ..reports.fonts import FontMissing
from ..services.container import Services
from .deps import Reader, Svc
from .errors import ApiError
from .exposure import scenario_query
from .params import INT64_MAX, MAX_ANALYSIS_BODY_BYTES, NO_NUL, FeatureId, geojson_body
from .rescue import BY_DOC, INCIDENT_DOC, K, Lat, Lon
from .risk import PARK, qra_query
from .siting import PROPOSAL_DOC, RuleSetName, read_limited_body

router = APIRouter(prefix="/reports", tags=["Reports 报告"])
PDF = "application/pdf"
PDF_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {PDF: {}}, "description": "the report as PDF"}}


def _pdf(make: Callable[[], bytes], name: str) -> Response:
    try:
        data = make()
    except FontMissing as exc:
        raise ApiError(503, "font", str(exc), code="ServiceUnavailable") from None
    except MonitoringUnavailable as exc:
        raise ApiError(503, "store", str(exc), code="ServiceUnavailable") from None
    except UnknownAlarm as exc:
        raise ApiError(404, "alarm_id", f"no alarm with id {exc.args[0]}", code="NotFound") from None
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "report"
    return Response(data, media_type=PDF, headers={"Content-Disposition": f'inline; filename="{safe}.pdf"'})


@router.get("/siting/{park_id}.pdf", summary="Siting check report of a park (PDF) 园区选址检查报告",
            response_class=Response, responses=PDF_RESPONSE)
def siting_park_report(park_id: FeatureId, rule_set: str | None = RuleSetName,
                       svc: Services = Svc, _=Reader):
    return _pdf(lambda: svc.reports.siting_park(park_id, rule_set), f"siting_park_{park_id}")


@router.post("/siting", summary="Siting check report of a proposal (PDF) 拟选址检查报告",
             response_class=Response, responses=PDF_RESPONSE,
             openapi_extra=geojson_body(False, PROPOSAL_DOC, MAX_ANALYSIS_BODY_BYTES))
async def siting_proposal_report(request: Request,
                                 kind: Literal["park", "installation"] | None = Query(
                                     None, description="park | installation"),
                                 rule_set: str | None = RuleSetName,
                                 repair: bool = Query(False, description="repair an invalid polygon"),
                                 svc: Services = Svc, _=Reader):
    """Body: a GeoJSON Feature (Polygon/MultiPolygon/Point), as for ``POST /analysis/siting``."""
    body = await read_limited_body(request)

    def work() -> Response:
        return _pdf(lambda: svc.reports.siting_proposal(body, kind, rule_set, repair), "siting_proposal")

    return await run_in_threadpool(work)


@router.get("/exposure/{layer}/{fid}.pdf", summary="Exposure report (PDF) 暴露分析报告",
            response_class=Response, responses=PDF_RESPONSE)
def exposure_report(layer: str, fid: FeatureId, params: ScenarioParams = Depends(scenario_query),
                    svc: Services = Svc, _=Reader):
    return _pdf(lambda: svc.reports.exposure(layer, fid, params), f"exposure_{layer}_{fid}")


@router.get("/rescue.pdf", summary="Nearest rescue teams report (PDF) 救援队伍报告",
            response_class=Response, responses=PDF_RESPONSE)
def rescue_report(lon: float = Lon, lat: float = Lat,
                  incident: str = Query(..., max_length=200, pattern=NO_NUL, description=INCIDENT_DOC),
                  k: int = K, by: Literal["distance", "time"] = Query("time", description=BY_DOC),
                  svc: Services = Svc, _=Reader):
    return _pdf(lambda: svc.reports.rescue(lon, lat, incident, k=k, by=by), "rescue")


@router.get("/risk/{layer}/{fid}.pdf", summary="Quantitative risk report of an installation (PDF) 定量风险评价报告",
            response_class=Response, responses=PDF_RESPONSE)
def risk_report(layer: str, fid: FeatureId, params: QraParams = Depends(qra_query),
                svc: Services = Svc, _=Reader):
    return _pdf(lambda: svc.reports.risk(params, layer=layer, fid=fid), f"risk_{layer}_{fid}")


@router.get("/risk.pdf", summary="Quantitative risk report of a chemical park (PDF) 园区定量风险评价报告",
            response_class=Response, responses={**PDF_RESPONSE, 404: {"description": "no such chemical park"}})
def risk_park_report(park_id: int = PARK, params: QraParams = Depends(qra_query),
                     svc: Services = Svc, _=Reader):
    return _pdf(lambda: svc.reports.risk(params, park_id=park_id), f"risk_park_{park_id}")


# -- the one-page brief ---------------------------------------------------------------------------

STORAGE = Literal["pressurised", "refrigerated", "compressed", "atmospheric"]


@router.get("/brief.pdf", summary="One-page brief of an incident at a point (PDF) 应急简报",
            response_class=Response, responses=PDF_RESPONSE)
def brief_point(lon: float = Lon, lat: float = Lat,
                incident: str = Query("chemical", max_length=200, pattern=NO_NUL, description=INCIDENT_DOC),
                substance: str | None = Query(None, min_length=1, max_length=200, pattern=NO_NUL,
                                              description="what-if: substance released here (key, name, alias or CAS)"),
                quantity_t: float | None = Query(None, gt=0, le=MAX_QUANTITY_T, allow_inf_nan=False,
                                                 description="what-if: quantity in tonnes"),
                storage: STORAGE | None = Query(None, description="what-if: storage; default the substance's usual"),
                k: int = K, params: ScenarioParams = Depends(scenario_query), svc: Services = Svc, _=Reader):
    """Exactly one A4 page: the nearest capable teams by road time and, with ``substance`` and ``quantity_t``
    (a tanker on a road), the release's zones with their true reach and the exposed receptors."""
    if (substance is None) != (quantity_t is None):
        raise ApiError(400, "substance" if substance is None else "quantity_t",
                       "a what-if release needs both substance and quantity_t (or neither, for teams only)")
    return _pdf(lambda: svc.reports.brief_point(lon, lat, incident, substance=substance, quantity_t=quantity_t,
                                                storage=storage, params=params, k=k), "brief")


@router.get("/brief/{layer}/{fid}.pdf", summary="One-page brief of a hazard, tailings dam or goaf area (PDF) 应急简报",
            response_class=Response, responses=PDF_RESPONSE)
def brief_feature(layer: str, fid: FeatureId, params: ScenarioParams = Depends(scenario_query),
                  incident: str | None = Query(None, max_length=200, pattern=NO_NUL,
                                               description=INCIDENT_DOC + " (default: the layer's)"),
                  k: int = K, svc: Services = Svc, _=Reader):
    return _pdf(lambda: svc.reports.brief_feature(layer, fid, params, incident=incident, k=k), f"brief_{layer}_{fid}")


@router.get("/alarm/{alarm_id}.pdf", summary="One-page brief of an alarm (PDF) 报警简报",
            response_class=Response, responses={**PDF_RESPONSE, 404: {"description": "no such alarm"}})
def brief_alarm(alarm_id: int = Path(..., ge=1, le=INT64_MAX, description="alarm id"), svc: Services = Svc, _=Reader):
    """The alarm's reading, history and last hours of readings with its decision package (zones, teams)."""
    return _pdf(lambda: svc.reports.brief_alarm(alarm_id), f"alarm_{alarm_id}")
