"""Rescue analysis endpoints: nearest capable teams, team isochrones, coverage gaps (GeoJSON out).

Units are in the property names (``distance_m``, ``road_distance_m``, ``eta_min``, ``bearing_deg``)
and restated in ``metadata.units``; standards carry their sources in ``metadata.standards``.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Response
from shapely.geometry import Point

from ..analysis import rescue
from ..analysis.road_network import road_graph
from ..config import Settings
from ..routing import RoadGraph
from ..stores.base import Store
from ..validation import Problem, ValidationFailed
from .deps import Reader, get_settings, get_store

router = APIRouter(prefix="/analysis/rescue", tags=["Rescue"])
GEOJSON = "application/geo+json"

K_DOC = f"number of teams, 1..{rescue.MAX_K}"
INCIDENT_DOC = ("incident type: " + ", ".join(rescue.incident_types())
                + "; several with commas, e.g. chemical,medical")
BY_DOC = "distance (geodesic straight line) or time (road travel time)"
TEAM_TYPES_DOC = "only these of the capable team types, comma separated, e.g. hazmat"


def _team_types(text: str | None) -> list[str] | None:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


def _geojson(doc: dict[str, Any]) -> Response:
    return Response(orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY), media_type=GEOJSON)


def _overrides(settings: Settings) -> dict[str, float]:
    try:
        return rescue.parse_overrides(settings.rescue_standard_min)
    except ValueError as exc:
        raise ValidationFailed([Problem(None, "GIS_RESCUE_STANDARD_MIN", str(exc))]) from exc


def _graph(store: Store, settings: Settings, by: str) -> RoadGraph | None:
    if by != "time":
        return None
    return road_graph(store, pbf=settings.road_pbf)


@router.get("/nearest", summary="Nearest capable rescue teams to a point")
def nearest(lon: float = Query(..., description="incident longitude (WGS84)"),
            lat: float = Query(..., description="incident latitude (WGS84)"),
            incident: str = Query(..., description=INCIDENT_DOC),
            k: int = Query(5, description=K_DOC), by: str = Query("distance", description=BY_DOC),
            min_personnel: int = Query(0, description="only teams with at least this many people"),
            on_duty: bool = Query(True, description="only teams on duty"),
            team_types: str | None = Query(None, description=TEAM_TYPES_DOC),
            store: Store = Depends(get_store), settings: Settings = Depends(get_settings), _=Reader):
    answer = rescue.nearest_teams(store, Point(lon, lat), incident, k=k, by=by, min_personnel=min_personnel,
                                  on_duty_only=on_duty, graph=_graph(store, settings, by),
                                  standards=_overrides(settings), team_types=_team_types(team_types))
    return _geojson(answer.to_feature_collection())


@router.get("/nearest/{layer}/{fid}", summary="Nearest capable rescue teams to a hazard feature")
def nearest_to_feature(layer: str, fid: int, k: int = Query(5, description=K_DOC),
                       by: str = Query("distance", description=BY_DOC),
                       incident: str | None = Query(None, description=INCIDENT_DOC + "; default from the layer: "
                                                    + ", ".join(f"{a}→{b}" for a, b in
                                                                rescue.INCIDENT_BY_LAYER.items())),
                       min_personnel: int = Query(0), on_duty: bool = Query(True),
                       team_types: str | None = Query(None, description=TEAM_TYPES_DOC),
                       store: Store = Depends(get_store), settings: Settings = Depends(get_settings), _=Reader):
    store.spec(layer)                                   # unknown layer → 404
    if incident is None:
        incident = rescue.INCIDENT_BY_LAYER.get(layer)
        if incident is None:
            raise ValidationFailed([Problem(None, "incident", f"layer {layer!r} has no default incident type; "
                                            f"give incident= ({', '.join(rescue.incident_types())})")])
    feature = store.get(layer, fid)                     # missing → 404
    answer = rescue.nearest_teams(store, feature.geometry, incident, k=k, by=by, min_personnel=min_personnel,
                                  on_duty_only=on_duty, graph=_graph(store, settings, by),
                                  standards=_overrides(settings), check_extent=False,
                                  team_types=_team_types(team_types))
    doc = answer.to_feature_collection()
    doc["metadata"]["incident_feature"] = {"layer": layer, "id": feature.id, "name": feature.properties.get("name")}
    return _geojson(doc)


@router.get("/isochrone/{team_id}", summary="Areas a team reaches within given minutes")
def team_isochrone(team_id: int, minutes: str = Query("10,20,30", description="minutes, e.g. 10,20,30 "
                                                       f"(1 to {rescue.MAX_ISOCHRONES} values)"),
                   store: Store = Depends(get_store), settings: Settings = Depends(get_settings), _=Reader):
    mins = rescue.parse_minutes(minutes)
    return _geojson(rescue.team_isochrones(store, team_id, mins, graph=road_graph(store, pbf=settings.road_pbf)))


@router.get("/coverage", summary="Hazards with no capable team within the arrival standard")
def coverage(incident: str | None = Query(None, description=INCIDENT_DOC + "; default: each layer's own type"),
             minutes: float | None = Query(None, description="one time limit for all team types instead of "
                                           "their standards"),
             store: Store = Depends(get_store), settings: Settings = Depends(get_settings), _=Reader):
    report = rescue.coverage(store, incident, minutes, graph=road_graph(store, pbf=settings.road_pbf),
                             standards=_overrides(settings))
    return _geojson(report.to_feature_collection())
