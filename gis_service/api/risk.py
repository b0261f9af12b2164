"""Quantitative risk endpoints (GB 36894-2018 individual and societal risk) and the risk map.

- ``GET /analysis/risk/individual/{layer}/{id}`` and ``GET /analysis/risk/individual?park_id=`` — IR contours at
  3×10⁻⁵, 1×10⁻⁵, 3×10⁻⁶, 1×10⁻⁶ (reference) and 3×10⁻⁷ per year as GeoJSON polygons (nested), with the
  scenarios, the skipped ones and why, the protection targets' IR against their class criterion.
- ``GET /analysis/risk/societal/{layer}/{id}`` and ``?park_id=`` — the F-N curve and its region.
- ``GET /maps/risk/{layer}/{id}`` and ``/maps/risk?park_id=`` — Folium map with the contours and the F-N chart.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from ..analysis.consequence.params import POOL_AREA_RANGE_M2
from ..analysis.qra.data import QraParams, qra_params
from ..analysis.qra.results import FnCurve, IndividualRisk
from ..services.container import Services
from ..validation import Problem, ValidationFailed
from .deps import Reader, Svc
from .maps import DOWNLOAD, html_response
from .params import FeatureId
from .schemas import HTML_PAGE, geojson

router = APIRouter(tags=["Analysis: quantitative risk 定量风险"])


def _numbers(name: str, text: str | None, count: int | None = None) -> tuple[float, ...] | None:
    if text is None:
        return None
    if text.count(",") >= 360:
        raise ValidationFailed([Problem(None, name, "at most 360 values")])
    try:
        vals = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValidationFailed([Problem(None, name, f"must be comma-separated numbers (got {text!r})")]) from None
    if count is not None and len(vals) != count:
        raise ValidationFailed([Problem(None, name, f"must be {count} comma-separated numbers (got {text!r})")])
    return vals


def _weather(text: str | None) -> list[dict] | None:
    if text is None:
        return None
    if text.count(",") >= 20:
        raise ValidationFailed([Problem(None, "weather", "at most 20 weather classes")])
    out = []
    for part in text.split(","):
        bits = part.strip().split(":")
        try:
            out.append({"stability": bits[0], "wind_speed_m_s": float(bits[1]), "probability": float(bits[2])})
        except (IndexError, ValueError):
            raise ValidationFailed([Problem(None, "weather", "must be stability:speed:probability items separated "
                                            f"by commas, e.g. D:5:0.6,F:1.5:0.4 (got {text!r})")]) from None
    return out


def qra_query(
    resolution_m: float | None = Query(None, ge=1, le=500, description="grid cell size, m; default 10"),
    max_range_m: float | None = Query(None, ge=50, le=10_000, description="reach of each installation's risk, m; "
                                      "default 2000"),
    wind_rose: str | None = Query(None, max_length=4000, description="comma-separated probabilities of the wind blowing FROM N equal "
                                  "sectors clockwise from north (sum 1); default uniform"),
    weather: str | None = Query(None, max_length=400, description="stability:speed:probability,… e.g. D:5:0.6,F:1.5:0.4"),
    frequency_set: str | None = Query(None, max_length=400, description="purple_book | api581"),
    overpressure_model: str | None = Query(None, max_length=400, description="purple_book | eisenberg"),
    thermal_model: str | None = Query(None, max_length=400, description="eisenberg | purple_book (thermal probit)"),
    probit_set: str | None = Query(None, max_length=400, description="preferred toxic probit set, e.g. withers_lees (chlorine)"),
    installation: str | None = Query(None, max_length=400, description="new | existing (GB 36894 column)"),
    terrain: str | None = Query(None, max_length=400, description="rural | urban"),
    pool_area_m2: float | None = Query(None, ge=POOL_AREA_RANGE_M2[0], le=POOL_AREA_RANGE_M2[1],
                                       description="bund area, m²: the largest a pool can be (polygon units: the "
                                       "smaller of this and the polygon); pools are sized by the release"),
    min_pool_thickness_mm: float | None = Query(None, ge=0.5, le=100, description="layer thickness an unbunded "
                                                "spill spreads to, mm; default 5 [M]"),
    day_fraction: float | None = Query(None, ge=0, le=1, description="share of the year that is day"),
    fn_upper: str | None = Query(None, max_length=400, description="upper F-N line c,k (F = c/N^k)"),
    fn_lower: str | None = Query(None, max_length=400, description="lower F-N line c,k (F = c/N^k)"),
) -> QraParams:
    values = dict(locals())
    values["wind_rose"] = _numbers("wind_rose", wind_rose)
    values["weather"] = _weather(weather)
    values["fn_upper"] = _numbers("fn_upper", fn_upper, 2)
    values["fn_lower"] = _numbers("fn_lower", fn_lower, 2)
    return qra_params(**values)


def _json(fn: FnCurve) -> Response:
    return Response(orjson.dumps(fn.document()), media_type="application/json")


def _geojson(ir: IndividualRisk) -> Response:
    return Response(orjson.dumps(ir.document()), media_type="application/geo+json")


NO_PARK: dict[int | str, dict[str, Any]] = {404: {"description": "no such chemical park"}}
PARK = Query(..., ge=1, le=2**63 - 1, description="chemical park id: all its hazard sources")
SOCIETAL = Query(False, description="also the F-N curve of the same run in metadata.societal (one QRA for the map and "
                 "the chart)")


@router.get("/analysis/risk/individual/{layer}/{fid}", response_model=IndividualRisk, responses=geojson(IndividualRisk),
            summary="Individual-risk contours of an installation")
async def individual_one(layer: str, fid: FeatureId, params: QraParams = Depends(qra_query),
                         societal: bool = SOCIETAL, svc: Services = Svc, _=Reader):
    return _geojson(await run_in_threadpool(svc.risk.individual, params, layer=layer, fid=fid,
                                            societal=societal))


@router.get("/analysis/risk/individual", response_model=IndividualRisk, summary="Individual-risk contours of a chemical park",
            responses={**NO_PARK, **geojson(IndividualRisk)})
async def individual_park(park_id: int = PARK, params: QraParams = Depends(qra_query),
                          societal: bool = SOCIETAL, svc: Services = Svc, _=Reader):
    return _geojson(await run_in_threadpool(svc.risk.individual, params, park_id=park_id,
                                            societal=societal))


@router.get("/analysis/risk/societal/{layer}/{fid}", response_model=FnCurve, summary="F-N curve of an installation")
async def societal_one(layer: str, fid: FeatureId, params: QraParams = Depends(qra_query),
                       svc: Services = Svc, _=Reader):
    return _json(await run_in_threadpool(svc.risk.societal, params, layer=layer, fid=fid))


@router.get("/analysis/risk/societal", response_model=FnCurve, summary="F-N curve of a chemical park", responses=NO_PARK)
async def societal_park(park_id: int = PARK, params: QraParams = Depends(qra_query),
                        svc: Services = Svc, _=Reader):
    return _json(await run_in_threadpool(svc.risk.societal, params, park_id=park_id))


@router.get("/maps/risk/{layer}/{fid}", responses=HTML_PAGE, response_class=HTMLResponse, tags=["Maps 地图"],
            summary="Risk map of an installation 个人风险与社会风险图")
async def risk_map_one(layer: str, fid: FeatureId, params: QraParams = Depends(qra_query), download: bool = DOWNLOAD,
                       svc: Services = Svc, _=Reader):
    def work():
        return html_response(svc, svc.maps.risk(params, layer=layer, fid=fid), f"risk_{layer}_{fid}", download)

    return await run_in_threadpool(work)


@router.get("/maps/risk", response_class=HTMLResponse, tags=["Maps 地图"], summary="Risk map of a chemical park",
            responses={**NO_PARK, **HTML_PAGE})
async def risk_map_park(park_id: int = PARK, params: QraParams = Depends(qra_query), download: bool = DOWNLOAD,
                        svc: Services = Svc, _=Reader):
    def work():
        return html_response(svc, svc.maps.risk(params, park_id=park_id), f"risk_park_{park_id}", download)

    return await run_in_threadpool(work)
