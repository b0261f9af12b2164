"""Rescue result types (pydantic): the nearest-teams answer with its teams, and the coverage report.

Each answer renders itself as a typed GeoJSON FeatureCollection (geojson-pydantic ``Feature`` /
``FeatureCollection`` with typed ``properties`` and a typed ``metadata`` member: units, standards and
sources) — the very model the API declares as its response model and serialises, and the one the map and
the PDF renderers read by attribute."""

from __future__ import annotations

from typing import Any, Literal

import orjson
import shapely
from geojson_pydantic import Feature, FeatureCollection, LineString, MultiLineString, Point
from geojson_pydantic.geometries import Geometry
from pydantic import BaseModel, ConfigDict, Field
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from ...models.rescue_standards import capabilities
from ..borders import BorderInfo
from .inputs import (
    COVERAGE_HORIZON,
    COVERAGE_LAYERS,
    INCIDENT_BY_LAYER,
    LIMITATIONS,
    ROUTING_NOTE,
    TEAM_TYPE_ZH,
)

NEAREST_UNITS = {"distance_m": "metres (geodesic, WGS84)", "road_distance_m": "metres along the route",
                 "eta_min": "minutes", "bearing_deg": "degrees clockwise from north, incident → team",
                 "standard_min": "minutes"}


def _r(v: float | None, nd: int) -> float | None:
    return None if v is None else round(v, nd)


# ---------------------------------------------------------------------------- shared parts

class Label(BaseModel):
    zh: str
    en: str


class LonLat(BaseModel):
    lon: float
    lat: float


class TeamStandard(BaseModel):
    """The arrival standard of one team type with its published source (``applied_min``: the coverage
    request's one time limit for all types, when given)."""

    standard_min: float
    source: str
    team_type_zh: str
    applied_min: float | None = Field(None, exclude_if=lambda v: v is None)


# ---------------------------------------------------------------------------- the nearest-teams document

class TeamProperties(BaseModel):
    kind: Literal["team"] = "team"
    rank: int
    team_id: int
    name: str | None
    team_type: str
    team_type_zh: str
    personnel: int | None
    on_duty: bool | None
    county: str | None
    distance_m: float = Field(..., description="geodesic metres, incident → team")
    bearing_deg: float = Field(..., description="degrees clockwise from north, incident → team")
    standard_min: float
    standard_source: str
    admin_code: str | None = Field(None, description="the team's jurisdiction (GB/T 2260 admin code)")
    other_jurisdiction: bool | None = Field(None, description="the team lies outside the incident's jurisdiction "
                                            "(null: the incident lies in no admin area)")


class TimedTeamProperties(TeamProperties):
    """A team ranked by road time: reachability, ETA, road distance and whether it meets the standard."""

    reachable: bool
    eta_min: float | None
    road_distance_m: float | None
    access_m: float | None
    meets_standard: bool | None


class RouteProperties(BaseModel):
    kind: Literal["route"] = "route"
    rank: int
    team_id: int
    name: str | None
    eta_min: float | None
    road_distance_m: float | None
    meets_standard: bool | None


TeamFeature = Feature[Point, TimedTeamProperties | TeamProperties]
RouteFeature = Feature[LineString | MultiLineString, RouteProperties]


class IncidentFeature(BaseModel):
    layer: str
    id: int
    name: str | None


class RescueMetadata(BaseModel):
    analysis: Literal["nearest_rescue_teams"] = "nearest_rescue_teams"
    incident: str = Field(..., description="incident type(s), comma separated")
    incident_label: dict[str, Label]
    capable_team_types: list[str]
    by: Literal["distance", "time"]
    k: int
    origin: LonLat = Field(..., description="the point bearings and routes start from (WGS84)")
    filters: dict[str, Any]
    standards: dict[str, TeamStandard]
    returned: int
    reason: str | None = Field(..., description="why fewer teams than asked (or none) were returned")
    units: dict[str, str]
    limitations: list[str]
    incident_feature: IncidentFeature | None = Field(
        None, exclude_if=lambda v: v is None, description="the stored feature the incident is (nearest to a feature)")
    border: BorderInfo | None = Field(None, exclude_if=lambda v: v is None,
                                      description="crossing a border: teams of other jurisdictions than the incident's")


class TimedRescueMetadata(RescueMetadata):
    """Ranked by road time: the routing method and the road network it ran on."""

    method: str
    network: str | None


class NearestTeams(FeatureCollection[TeamFeature | RouteFeature]):
    """``GET /analysis/rescue/nearest``: one Point feature per team (ranked), then one route per reachable team."""

    metadata: TimedRescueMetadata | RescueMetadata

    def json_bytes(self) -> bytes:
        """The document's JSON, as ``model_dump_json()`` writes it, without geojson-pydantic's per-object Python
        serializers on the team features: on the nearest-teams hot path they cost several times what the answer's
        own work does (bench/bench_rescue_api.py). Team features are flat (a point and scalar properties); routes and
        the metadata go through pydantic. tests/test_rescue_api.py checks the two writers give the same document."""
        feats: list[Any] = []
        for f in self.features:
            if isinstance(f.properties, TeamProperties) and isinstance(f.geometry, Point):
                feats.append(_team_feature(f.id, list(f.geometry.coordinates), f.properties))
            else:
                feats.append(orjson.Fragment(f.model_dump_json()))
        return _collection_bytes(feats, self.metadata)

    @property
    def teams(self) -> list[TimedTeamProperties | TeamProperties]:
        return [f.properties for f in self.features if isinstance(f.properties, TeamProperties)]

    @property
    def routes(self) -> list[RouteFeature]:
        return [f for f in self.features if isinstance(f.properties, RouteProperties)]

    def team_features(self) -> list[TeamFeature]:
        return [f for f in self.features if isinstance(f.properties, TeamProperties)]


def _team_feature(fid: Any, coordinates: list[float], properties: TeamProperties) -> dict[str, Any]:
    """A team's Point feature as ``model_dump_json`` writes it (members in the model's order; the properties' fields
    are validated scalars)."""
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": coordinates},
            "properties": properties.__dict__, "id": fid}


def _collection_bytes(features: list[Any], metadata: BaseModel) -> bytes:
    return orjson.dumps({"type": "FeatureCollection", "features": features,
                         "metadata": orjson.Fragment(metadata.model_dump_json())})


# ---------------------------------------------------------------------------- the analysis' answer

class TeamHit(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: int
    name: str | None
    team_type: str
    personnel: int | None
    on_duty: bool | None
    county: str | None
    lon: float
    lat: float
    distance_m: float
    bearing_deg: float
    standard_min: float
    standard_source: str
    eta_min: float | None = None
    road_distance_m: float | None = None
    access_m: float | None = None
    reachable: bool | None = None
    meets_standard: bool | None = None
    route: BaseGeometry | None = None
    admin_code: str | None = None               # the team's jurisdiction (GB/T 2260)
    other_jurisdiction: bool | None = None      # outside the incident's (None: the incident lies in no admin area)

    def properties(self, rank: int) -> TeamProperties:
        common: dict[str, Any] = dict(rank=rank, team_id=self.id, name=self.name, team_type=self.team_type,
                      team_type_zh=TEAM_TYPE_ZH.get(self.team_type, self.team_type), personnel=self.personnel,
                      on_duty=self.on_duty, county=self.county, distance_m=round(self.distance_m, 1),
                      bearing_deg=round(self.bearing_deg, 1), standard_min=self.standard_min,
                      standard_source=self.standard_source, admin_code=self.admin_code,
                      other_jurisdiction=self.other_jurisdiction)
        if self.reachable is None:
            return TeamProperties(**common)
        return TimedTeamProperties(**
            common | dict(reachable=self.reachable, eta_min=_r(self.eta_min, 2),
                          road_distance_m=_r(self.road_distance_m, 1), access_m=_r(self.access_m, 1),
                          meets_standard=self.meets_standard))


class RescueAnswer(BaseModel):
    incident: tuple[str, ...]
    team_types: list[str]
    by: Literal["distance", "time"]
    k: int
    origin: tuple[float, float]            # lon, lat of the point used for bearings/routing
    teams: list[TeamHit]
    reason: str | None = None
    standards: dict[str, TeamStandard] = Field(default_factory=dict)
    filters: dict[str, Any] = Field(default_factory=dict)
    network: str | None = None
    border: BorderInfo | None = None            # crossing a border: teams of other jurisdictions (issue 20)

    def metadata(self, incident_feature: IncidentFeature | None = None) -> RescueMetadata:
        caps = capabilities()
        meta: dict[str, Any] = {
            "incident": ",".join(self.incident),
            "incident_label": {i: Label(zh=caps.labels[i][0], en=caps.labels[i][1]) for i in self.incident},
            "capable_team_types": self.team_types, "by": self.by, "k": self.k,
            "origin": LonLat(lon=round(self.origin[0], 7), lat=round(self.origin[1], 7)),
            "filters": self.filters, "standards": self.standards, "returned": len(self.teams),
            "reason": self.reason, "units": NEAREST_UNITS, "limitations": LIMITATIONS,
            "incident_feature": incident_feature,
        }
        if self.border is not None:
            meta["border"] = self.border
        if self.by == "time":
            return TimedRescueMetadata(**meta, method=ROUTING_NOTE, network=self.network)
        return RescueMetadata(**meta)

    def to_feature_collection(self, incident_feature: IncidentFeature | None = None) -> NearestTeams:
        """GeoJSON: one Point feature per team (ranked), then one LineString route per reachable team."""
        # validated in pydantic-core (model_construct, pure Python, costs more than validating; a Point instance
        # would be dumped through its __geo_interface__ and validated again: the geometry goes in as data)
        feats: list[TeamFeature | RouteFeature] = [
            TeamFeature(type="Feature", id=f"team-{t.id}", properties=t.properties(i),
                        geometry={"type": "Point", "coordinates": (round(t.lon, 7), round(t.lat, 7))})
            for i, t in enumerate(self.teams, 1)]
        for i, t in enumerate(self.teams, 1):
            if t.route is not None:
                feats.append(RouteFeature.model_validate(
                    {"type": "Feature", "id": f"route-{t.id}", "geometry": _rounded(t.route),
                     "properties": RouteProperties(rank=i, team_id=t.id, name=t.name, eta_min=_r(t.eta_min, 2),
                                                   road_distance_m=_r(t.road_distance_m, 1),
                                                   meets_standard=t.meets_standard)}))
        return NearestTeams(type="FeatureCollection", features=feats, metadata=self.metadata(incident_feature))

    def json_bytes(self, incident_feature: IncidentFeature | None = None) -> bytes:
        """The JSON of :meth:`to_feature_collection` (byte for byte, as :meth:`NearestTeams.json_bytes` writes it),
        for an answer without routes written from its teams' validated properties, without building the
        geojson-pydantic features first (the API's nearest-teams hot path; tests/test_rescue_api.py compares)."""
        if any(t.route is not None for t in self.teams):
            return self.to_feature_collection(incident_feature).json_bytes()
        return _collection_bytes([_team_feature(f"team-{t.id}", [round(t.lon, 7), round(t.lat, 7)], t.properties(i))
                                  for i, t in enumerate(self.teams, 1)], self.metadata(incident_feature))

    def to_dict(self) -> dict[str, Any]:
        return self.to_feature_collection().model_dump(mode="json")


def _rounded(geom: BaseGeometry) -> dict[str, Any]:
    return mapping(shapely.set_precision(geom, 1e-7)) if not geom.is_empty else mapping(geom)


# ---------------------------------------------------------------------------- coverage

class GapByType(BaseModel):
    best_eta_min: float | None
    standard_min: float
    team_id: int | None


class GapProperties(BaseModel):
    layer: str
    feature_id: int
    name: str | None
    county: str
    incident: str
    capable_team_types: list[str]
    best_eta_min: float | None
    by_team_type: dict[str, GapByType]
    nearest_team_id: int | None
    nearest_team_name: str | None
    nearest_team_distance_m: float | None


GapFeature = Feature[Geometry, GapProperties]


class LayerCount(BaseModel):
    features: int
    gaps: int


class CountyCoverage(BaseModel):
    county: str
    features: int
    gaps: int
    by_layer: dict[str, LayerCount]


class CoverageTotals(BaseModel):
    features: int
    gaps: int
    teams_considered: int
    by_layer: dict[str, LayerCount]


class CoverageMetadata(BaseModel):
    analysis: Literal["rescue_coverage"] = "rescue_coverage"
    incident: str
    minutes_override: float | None
    standards: dict[str, TeamStandard]
    totals: CoverageTotals
    counties: list[CountyCoverage]
    method: str
    network: str
    units: dict[str, str]
    limitations: list[str]


class CoverageGaps(FeatureCollection[GapFeature]):
    """``GET /analysis/rescue/coverage``: the hazards no capable team reaches in time, per-county totals."""

    metadata: CoverageMetadata


class CoverageReport(BaseModel):
    gaps: list[GapFeature]                         # the uncovered hazards
    counties: list[CountyCoverage]
    totals: CoverageTotals
    standards: dict[str, TeamStandard]
    incident: str | None
    minutes: float | None
    network: str

    def to_feature_collection(self) -> CoverageGaps:
        incident = self.incident or "by layer " + ", ".join(
            f"{k}→{v}" for k, v in INCIDENT_BY_LAYER.items() if k in COVERAGE_LAYERS)
        return CoverageGaps(type="FeatureCollection", features=self.gaps, metadata=CoverageMetadata(
            incident=incident, minutes_override=self.minutes, standards=self.standards, totals=self.totals,
            counties=self.counties, method=ROUTING_NOTE + (
                "; a hazard is covered when at least one capable on-duty team reaches its "
                "representative point within that team type's standard (or `minutes`)"),
            network=self.network,
            units={"best_eta_min": f"minutes (null: beyond {COVERAGE_HORIZON:g}× the standard or unreachable)",
                   "nearest_team_distance_m": "metres (geodesic)"},
            limitations=LIMITATIONS))
