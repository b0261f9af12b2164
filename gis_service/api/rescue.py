"""Rescue analysis endpoints: nearest capable teams, team isochrones, coverage gaps (GeoJSON out).

Units are in the property names (``distance_m``, ``road_distance_m``, ``eta_min``, ``bearing_deg``)
and restated in ``metadata.units``; standards carry their sources in ``metadata.standards``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from ..analysis.rescue.inputs import INCIDENT_BY_LAYER, MAX_ISOCHRONES, MAX_K
from ..analysis.rescue.results import CoverageGaps, IncidentFeature, NearestTeams
from ..models.rescue_standards import MAX_MINUTES, incident_types
from ..services.container import Services
from .deps import Heavy, Reader, Svc
from .params import NO_NUL, FeatureId, query_model, query_parameters
from .schemas import FeatureCollection, geojson

router = APIRouter(prefix="/analysis/rescue", tags=["Rescue"])
GEOJSON = "application/geo+json"

K_DOC = f"number of teams, 1..{MAX_K}"
INCIDENT_DOC = ("incident type: " + ", ".join(incident_types())
                + "; several with commas, e.g. chemical,medical")
BY_DOC = "distance (geodesic straight line) or time (road travel time)"
TEAM_TYPES_DOC = "only these of the capable team types, comma separated, e.g. hazmat"
MAX_PERSONNEL = 1_000_000

Lon = Query(..., ge=-180, le=180, allow_inf_nan=False, description="incident longitude (WGS84)")
Lat = Query(..., ge=-90, le=90, allow_inf_nan=False, description="incident latitude (WGS84)")
K = Query(5, ge=1, le=MAX_K, description=K_DOC)

# the query fields both nearest-teams routes read (one declaration: limits and descriptions stay the same on both)
KField = Annotated[int, Field(ge=1, le=MAX_K, description=K_DOC)]
ByField = Annotated[Literal["distance", "time"], Field(description=BY_DOC)]
MinPersonnelField = Annotated[int, Field(ge=0, le=MAX_PERSONNEL, description="only teams with at least this many people")]
OnDutyField = Annotated[bool, Field(description="only teams on duty")]
TeamTypesField = Annotated[str | None, Field(max_length=500, pattern=NO_NUL, description=TEAM_TYPES_DOC)]


class NearestQuery(BaseModel):
    """The query of ``GET /analysis/rescue/nearest``, validated in one call (:func:`.params.query_model`)."""

    lon: float = Field(..., ge=-180, le=180, allow_inf_nan=False, description="incident longitude (WGS84)")
    lat: float = Field(..., ge=-90, le=90, allow_inf_nan=False, description="incident latitude (WGS84)")
    incident: str = Field(..., max_length=200, pattern=NO_NUL, description=INCIDENT_DOC)
    k: KField = 5
    by: ByField = "distance"
    min_personnel: MinPersonnelField = 0
    on_duty: OnDutyField = True
    team_types: TeamTypesField = None


class NearestToFeatureQuery(BaseModel):
    """The query of ``GET /analysis/rescue/nearest/{layer}/{fid}``, validated in one call like :class:`NearestQuery`."""

    k: KField = 5
    by: ByField = "distance"
    incident: str | None = Field(None, max_length=200, pattern=NO_NUL,
                                 description=INCIDENT_DOC + "; default from the layer: "
                                 + ", ".join(f"{a}→{b}" for a, b in INCIDENT_BY_LAYER.items()))
    min_personnel: MinPersonnelField = 0
    on_duty: OnDutyField = True
    team_types: TeamTypesField = None


NearestParams = Depends(query_model(NearestQuery))
NearestToFeatureParams = Depends(query_model(NearestToFeatureQuery))


def _team_types(text: str | None) -> list[str] | None:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


def _geojson(doc: dict[str, Any]) -> Response:
    return Response(orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY), media_type=GEOJSON)


def _typed(doc: BaseModel) -> Response:
    """A typed result as GeoJSON: the route's response model serialised once (FastAPI's own path would dump it to
    a dict, validate that dict against the same model again and then encode it). The nearest-teams routes write
    the answer's own JSON (:meth:`RescueAnswer.json_bytes`: the same document, without building the model first)."""
    return Response(doc.model_dump_json(), media_type=GEOJSON)


@router.get("/nearest", response_model=NearestTeams, summary="Nearest capable rescue teams to a point",
            responses=geojson(NearestTeams), openapi_extra={"parameters": query_parameters(NearestQuery)})
def nearest(q: NearestQuery = NearestParams, svc: Services = Svc, _=Reader):
    answer = svc.rescue.nearest(q.lon, q.lat, q.incident, k=q.k, by=q.by, min_personnel=q.min_personnel,
                                on_duty=q.on_duty, team_types=_team_types(q.team_types))
    return Response(answer.json_bytes(), media_type=GEOJSON)   # NearestTeams' JSON (RescueAnswer.json_bytes)


@router.get("/nearest/{layer}/{fid}", response_model=NearestTeams, summary="Nearest capable rescue teams to a hazard feature",
            responses=geojson(NearestTeams), openapi_extra={"parameters": query_parameters(NearestToFeatureQuery)})
def nearest_to_feature(layer: str, fid: FeatureId, q: NearestToFeatureQuery = NearestToFeatureParams,
                       svc: Services = Svc, _=Reader):
    feature, answer = svc.rescue.nearest_to_feature(layer, fid, q.incident, k=q.k, by=q.by,
                                                    min_personnel=q.min_personnel, on_duty=q.on_duty,
                                                    team_types=_team_types(q.team_types))
    name = feature.properties.get("name")
    return Response(answer.json_bytes(IncidentFeature(layer=layer, id=feature.id, name=None if name is None else str(name))),
                    media_type=GEOJSON)


@router.get("/isochrone/{team_id}", response_model=FeatureCollection, summary="Areas a team reaches within given minutes", responses=geojson(),
            dependencies=[Heavy])
def team_isochrone(team_id: FeatureId,
                   minutes: str = Query("10,20,30", max_length=200, pattern=NO_NUL,
                                        description="minutes, e.g. 10,20,30 "
                                        f"(1 to {MAX_ISOCHRONES} values)"),
                   svc: Services = Svc, _=Reader):
    return _geojson(svc.rescue.isochrones(team_id, minutes))


@router.get("/coverage", response_model=CoverageGaps, summary="Hazards with no capable team within the arrival standard",
            responses=geojson(CoverageGaps),
            dependencies=[Heavy])
def coverage(incident: str | None = Query(None, max_length=200, pattern=NO_NUL,
                                          description=INCIDENT_DOC + "; default: each layer's own type"),
             minutes: float | None = Query(None, gt=0, le=MAX_MINUTES, allow_inf_nan=False,
                                           description="one time limit for all team types instead of "
                                           "their standards"),
             svc: Services = Svc, _=Reader):
    report = svc.rescue.coverage(incident, minutes)
    return _typed(report.to_feature_collection())
