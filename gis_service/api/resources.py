"""Emergency-resource endpoints: the equipment catalogue, assembling what an incident needs by road time,
evacuation to shelters and the emergency-plan coverage report."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from ..analysis.resources.inputs import MAX_NEEDS
from ..services.container import Services
from ..validation import Problem, ValidationFailed
from .deps import Heavy, Reader, Svc
from .schemas import FeatureCollection, geojson

router = APIRouter(prefix="/analysis/resources", tags=["Resources"])
GEOJSON = "application/geo+json"


def _geojson(doc: dict[str, Any]) -> Response:
    return Response(orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY), media_type=GEOJSON)


def point_of(value: Any, field: str = "point") -> tuple[float, float]:
    """[lon, lat] or a GeoJSON Point → (lon, lat), else a 400 naming ``field``."""
    coords = value.get("coordinates") if isinstance(value, dict) and value.get("type") == "Point" else value
    if (isinstance(coords, list | tuple) and len(coords) in (2, 3)
            and all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords)):
        lon, lat = float(coords[0]), float(coords[1])
        if -180 <= lon <= 180 and -90 <= lat <= 90:
            return lon, lat
    raise ValidationFailed([Problem(None, field, 'must be [lon, lat] or {"type": "Point", "coordinates": '
                                    "[lon, lat]} in WGS84 degrees")])


class AssembleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    point: Any = Field(..., description="incident location: [lon, lat] or a GeoJSON Point (WGS84)")
    needs: dict[str, Any] = Field(..., description=f"type → whole quantity ≥ 1 (≤ {MAX_NEEDS} types), e.g. "
                                  '{"drainage_pump_300m3h": 4, "drilling_rig": 1, "personnel_mine_rescue": 30}; '
                                  "types from GET /analysis/resources/types",
                                  json_schema_extra={"example": {"drainage_pump_300m3h": 4, "drilling_rig": 1}})


@router.get("/types", summary="Equipment types and units a depot or team may hold (the catalogue)")
def types(svc: Services = Svc, _=Reader) -> list[dict[str, Any]]:
    return svc.resources.types()


@router.post("/assemble", response_model=FeatureCollection, summary="Assemble what an incident needs from depots and teams, soonest by road",
             responses=geojson(), dependencies=[Heavy])
def assemble(body: AssembleRequest = Body(...), svc: Services = Svc, _=Reader):
    """The plan that has every need on scene soonest by road time, then from the fewest sources: per depot or
    team what, how many, ETA and route; what cannot be met with the nearest place it exists; the greedy
    nearest-first plan's time and source count beside it."""
    lon, lat = point_of(body.point)
    return _geojson(svc.resources.assemble(lon, lat, body.needs).to_feature_collection())


class EvacuateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    layer: str = Field(..., max_length=64, description="hazard_sources, tailings_dams or goaf_areas")
    id: int = Field(..., ge=1, le=2**63 - 1, description="the stored source whose exposure result is evacuated")
    scenario: dict[str, Any] = Field(default_factory=dict, description="exposure scenario (as GET /analysis/exposure)")
    levels: list[str] | None = Field(None, max_length=3, description="zones to evacuate: red, orange, yellow "
                                     "(default all)")
    routes: bool = Field(True, description="draw each group's route")


@router.post("/evacuate", response_model=FeatureCollection, summary="Evacuate an exposure result's people to shelters by road time",
             responses=geojson(), dependencies=[Heavy])
def evacuate(body: EvacuateRequest = Body(...), svc: Services = Svc, _=Reader):
    """People per receptor of the zones, assigned to open shelters within capacity: everyone placeable placed,
    the last person out as early as possible, then the fewest person-minutes; routes, the time until the last
    person is out and the shelters that fill first."""
    ev = svc.resources.evacuate_exposure(body.model_dump())
    return _geojson(ev.to_feature_collection())


@router.get("/plans/coverage", response_model=FeatureCollection, summary="Major hazard sources without a filed, current emergency plan, by county",
            responses=geojson())
def plan_coverage(as_of: date | None = Query(None, description="judge review dates on this day (default today)"),
                  svc: Services = Svc, _=Reader):
    return _geojson(svc.resources.plan_coverage(as_of))
