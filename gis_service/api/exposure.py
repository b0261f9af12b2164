"""Exposure and grading endpoints.

- ``GET  /analysis/exposure/{layer}/{id}`` — consequence zones of a hazard source, tailings dam or goaf
  area and the receptors inside each (GeoJSON FeatureCollection; model, parameters, units, sources and
  limitations in ``metadata``; per-zone exposure in ``properties.exposure``).
- ``POST /analysis/exposure`` — the same for a what-if release: point, substance, quantity, release type.
- ``GET  /analysis/grading/{id}`` — the full GB 18218-2018 record of one hazard source.
- ``POST /analysis/grading/recompute`` — editor role: regrade the whole layer, write ``grade`` back
  (all or nothing).
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi import APIRouter, Body, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from ..analysis.consequence.params import KINDS, MAX_QUANTITY_T, ScenarioParams, scenario_params
from ..analysis.consequence.results import ExposureZones
from ..services.container import Services
from ..validation import Problem, ValidationFailed
from .deps import Editor, Reader, Svc
from .params import MAX_LIST_ITEMS, FeatureId
from .schemas import GradingRecord, GradingRun, geojson

router = APIRouter(tags=["Analysis: exposure and grading 暴露与分级"])
GEOJSON = "application/geo+json"


def _floats(name: str, text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    if text.count(",") >= MAX_LIST_ITEMS:
        raise ValidationFailed([Problem(None, name, f"at most {MAX_LIST_ITEMS} values")])
    try:
        return tuple(float(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise ValidationFailed([Problem(None, name, f"must be comma-separated numbers, e.g. 34.5,13.8,2.07 "
                                        f"(got {text!r})")]) from None


def scenario_query(
    wind_dir_deg: float | None = Query(None, description="direction the wind blows FROM, ° (0–360); "
                                       "omit for all-directions circles"),
    weather: str | None = Query(None, description="worst (F, 1.5 m/s; default) | typical (D, 3 m/s)"),
    wind_speed_m_s: float | None = Query(None, description="wind speed m/s (1–30); default from weather"),
    stability: str | None = Query(None, description="stability class A–F; default from weather"),
    terrain: str | None = Query(None, description="rural | urban"),
    release_rate_g_s: float | None = Query(None, description="toxic release rate g/s (> 0)"),
    release_fraction: float | None = Query(None, description="fraction of the inventory released (0–1]"),
    release_duration_min: float | None = Query(None, description="release duration min (> 0); default 10"),
    release_height_m: float | None = Query(None, description="release height m (≥ 0)"),
    max_plume_m: float | None = Query(None, description="farthest plume distance m; default 10000"),
    overpressure_kpa: str | None = Query(None, max_length=400, description="comma-separated kPa levels; default 34.5,13.8,2.07"),
    heat_flux_kw_m2: str | None = Query(None, max_length=400, description="comma-separated kW/m² levels; default 10,5,2"),
    kinds: str | None = Query(None, description="comma-separated: explosion, fire, toxic, fireball, jet_fire"),
    vce_low_reactivity: bool | None = Query(None, description="also run the hydrocarbon VCE for ammonia / H₂S"),
    burning_rate_kg_m2_s: float | None = Query(None, description="pool burning rate override kg/m²/s"),
    hole_diameter_mm: float | None = Query(None, description="jet fire hole diameter mm; default 25"),
    jet_pressure_mpa: float | None = Query(None, description="jet fire upstream pressure MPa; default 1.0"),
    tan_beta: float | None = Query(None, description="goaf tan β override (0.5–4)"),
    max_corridor_m: float | None = Query(None, description="tailings corridor drawing limit m; default 200000"),
    downstream_important: bool | None = Query(None, description="tailings: important targets downstream"),
) -> ScenarioParams:
    values = dict(locals())
    values["overpressure_kpa"] = _floats("overpressure_kpa", overpressure_kpa)
    values["heat_flux_kw_m2"] = _floats("heat_flux_kw_m2", heat_flux_kw_m2)
    return scenario_params(**values)


def _geojson(doc: dict[str, Any]) -> Response:
    return Response(orjson.dumps(doc), media_type=GEOJSON)


@router.get("/analysis/exposure/{layer}/{fid}", response_model=ExposureZones, responses=geojson(ExposureZones),
            summary="Consequence zones and exposed receptors of a feature")
def feature_exposure(layer: str, fid: FeatureId, params: ScenarioParams = Depends(scenario_query),
                     receptors: bool = Query(False, description="also return each exposed receptor as a Feature"),
                     svc: Services = Svc, _=Reader):
    """``layer`` ∈ hazard_sources, tailings_dams, goaf_areas."""
    result = svc.exposure.feature(layer, fid, params)
    return _geojson(result.to_feature_collection(receptor_features=receptors))


RELEASE_TYPES = ("auto", *KINDS)


class WhatIf(BaseModel):
    model_config = ConfigDict(extra="forbid")

    point: Any = Field(..., description="[lon, lat] or a GeoJSON Point (WGS84)")
    substance: str = Field(..., min_length=1, max_length=200,
                           description="substance key, Chinese or English name, alias or CAS number")
    quantity_t: float = Field(..., gt=0, le=MAX_QUANTITY_T, allow_inf_nan=False,
                              description=f"quantity in tonnes (> 0, ≤ {MAX_QUANTITY_T:g}: no single "
                              "storage unit holds more)")
    release_type: str = Field("auto", description=" | ".join(RELEASE_TYPES))
    storage: Literal["pressurised", "refrigerated", "compressed", "atmospheric"] | None = Field(
        None, description="storage of the released substance; default: the substance's usual storage")
    scenario: dict[str, Any] = Field(default_factory=dict, description="ScenarioParams fields (see GET parameters)")
    receptor_features: bool = False


def _point(value: Any) -> tuple[float, float]:
    coords = value.get("coordinates") if isinstance(value, dict) and value.get("type") == "Point" else value
    if (isinstance(coords, (list, tuple)) and len(coords) in (2, 3)
            and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in coords)):
        return float(coords[0]), float(coords[1])
    raise ValidationFailed([Problem(None, "point", 'must be [lon, lat] or {"type": "Point", "coordinates": '
                                    f"[lon, lat]}} in WGS84 (got {value!r})")])


@router.post("/analysis/exposure", response_model=ExposureZones, responses=geojson(ExposureZones),
             summary="What-if release: zones and exposed receptors")
def what_if(body: WhatIf = Body(...), svc: Services = Svc, _=Reader):
    lon, lat = _point(body.point)
    if body.release_type not in RELEASE_TYPES:
        raise ValidationFailed([Problem(None, "release_type", f"must be one of {', '.join(RELEASE_TYPES)} "
                                        f"(got {body.release_type!r})")])
    values = dict(body.scenario)
    long = [k for k, v in values.items() if isinstance(v, list | tuple) and len(v) > MAX_LIST_ITEMS]
    if long:
        raise ValidationFailed([Problem(None, f"scenario.{k}", f"at most {MAX_LIST_ITEMS} values") for k in long])
    if body.release_type != "auto":
        values["kinds"] = (body.release_type,)
    try:
        params = scenario_params(**values)
    except ValidationFailed as exc:
        raise ValidationFailed([Problem(p.row, f"scenario.{p.field}", p.message) for p in exc.problems]) from None
    result = svc.exposure.what_if(lon, lat, body.substance, body.quantity_t, params, storage=body.storage)
    return _geojson(result.to_feature_collection(receptor_features=body.receptor_features))


@router.get("/analysis/grading/{fid}", response_model=GradingRecord, summary="GB 18218-2018 grading record of a hazard source")
def grading_record(fid: FeatureId, svc: Services = Svc, _=Reader):
    return Response(orjson.dumps(svc.exposure.grading_record(fid)), media_type="application/json")


@router.post("/analysis/grading/recompute", response_model=GradingRun, summary="Regrade every hazard source and store the grades (editor)")
def grading_recompute(dry_run: bool = Query(False, description="compute and report, write nothing"),
                      records: bool = Query(False, description="include every unit's S, R, α and grade"),
                      svc: Services = Svc, _=Editor):
    summary = svc.exposure.regrade(write=not dry_run)
    return Response(orjson.dumps(summary.to_dict(with_records=records)), media_type="application/json")
