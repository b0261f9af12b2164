"""Rescue report types: the nearest-teams answer with its teams, and the coverage report; each
renders itself as a GeoJSON FeatureCollection with units, standards and sources in ``metadata``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from ...models.rescue_standards import capabilities
from ..borders import BorderNote
from .inputs import (
    COVERAGE_HORIZON,
    COVERAGE_LAYERS,
    INCIDENT_BY_LAYER,
    LIMITATIONS,
    ROUTING_NOTE,
    TEAM_TYPE_ZH,
)

# ---------------------------------------------------------------------------- results

@dataclass
class TeamHit:
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

    def properties(self, rank: int) -> dict[str, Any]:
        p: dict[str, Any] = {
            "rank": rank, "team_id": self.id, "name": self.name, "team_type": self.team_type,
            "team_type_zh": TEAM_TYPE_ZH.get(self.team_type, self.team_type), "personnel": self.personnel,
            "on_duty": self.on_duty, "county": self.county, "distance_m": round(self.distance_m, 1),
            "bearing_deg": round(self.bearing_deg, 1), "standard_min": self.standard_min,
            "standard_source": self.standard_source, "admin_code": self.admin_code,
            "other_jurisdiction": self.other_jurisdiction,
        }
        if self.reachable is not None:
            p.update(reachable=self.reachable,
                     eta_min=None if self.eta_min is None else round(self.eta_min, 2),
                     road_distance_m=None if self.road_distance_m is None else round(self.road_distance_m, 1),
                     access_m=None if self.access_m is None else round(self.access_m, 1),
                     meets_standard=self.meets_standard)
        return p


@dataclass
class RescueAnswer:
    incident: tuple[str, ...]
    team_types: list[str]
    by: str
    k: int
    origin: tuple[float, float]            # lon, lat of the point used for bearings/routing
    teams: list[TeamHit]
    reason: str | None = None
    standards: dict[str, dict[str, Any]] = field(default_factory=dict)
    filters: dict[str, Any] = field(default_factory=dict)
    network: str | None = None
    border: BorderNote | None = None            # crossing a border: teams of other jurisdictions (issue 20)

    def metadata(self) -> dict[str, Any]:
        caps = capabilities()
        meta: dict[str, Any] = {
            "analysis": "nearest_rescue_teams",
            "incident": ",".join(self.incident),
            "incident_label": {i: {"zh": caps.labels[i][0], "en": caps.labels[i][1]} for i in self.incident},
            "capable_team_types": self.team_types, "by": self.by, "k": self.k,
            "origin": {"lon": round(self.origin[0], 7), "lat": round(self.origin[1], 7)},
            "filters": self.filters, "standards": self.standards, "returned": len(self.teams),
            "reason": self.reason,
            "units": {"distance_m": "metres (geodesic, WGS84)", "road_distance_m": "metres along the route",
                      "eta_min": "minutes", "bearing_deg": "degrees clockwise from north, incident → team",
                      "standard_min": "minutes"},
            "limitations": LIMITATIONS,
        }
        if self.border is not None:
            meta["border"] = self.border.to_dict()
        if self.by == "time":
            meta["method"] = ROUTING_NOTE
            meta["network"] = self.network
        return meta

    def to_feature_collection(self) -> dict[str, Any]:
        """GeoJSON: one Point feature per team (ranked), then one LineString route per reachable team."""
        feats: list[dict[str, Any]] = []
        for i, t in enumerate(self.teams, 1):
            feats.append({"type": "Feature", "id": f"team-{t.id}",
                          "geometry": {"type": "Point", "coordinates": [round(t.lon, 7), round(t.lat, 7)]},
                          "properties": {"kind": "team", **t.properties(i)}})
        for i, t in enumerate(self.teams, 1):
            if t.route is not None:
                feats.append({"type": "Feature", "id": f"route-{t.id}", "geometry": _rounded(t.route),
                              "properties": {"kind": "route", "rank": i, "team_id": t.id, "name": t.name,
                                             "eta_min": None if t.eta_min is None else round(t.eta_min, 2),
                                             "road_distance_m": None if t.road_distance_m is None
                                             else round(t.road_distance_m, 1),
                                             "meets_standard": t.meets_standard}})
        return {"type": "FeatureCollection", "features": feats, "metadata": self.metadata()}

    def to_dict(self) -> dict[str, Any]:
        return self.to_feature_collection()


def _rounded(geom: BaseGeometry) -> dict[str, Any]:
    return mapping(shapely.set_precision(geom, 1e-7)) if not geom.is_empty else mapping(geom)


@dataclass
class CoverageReport:
    gaps: list[dict[str, Any]]                     # GeoJSON features of uncovered hazards
    counties: list[dict[str, Any]]
    totals: dict[str, Any]
    standards: dict[str, dict[str, Any]]
    incident: str | None
    minutes: float | None
    network: str

    def to_feature_collection(self) -> dict[str, Any]:
        return {"type": "FeatureCollection", "features": self.gaps,
                "metadata": {"analysis": "rescue_coverage", "incident": self.incident or "by layer "
                             + ", ".join(f"{k}→{v}" for k, v in INCIDENT_BY_LAYER.items() if k in COVERAGE_LAYERS),
                             "minutes_override": self.minutes, "standards": self.standards,
                             "totals": self.totals, "counties": self.counties, "method": ROUTING_NOTE + (
                                 "; a hazard is covered when at least one capable on-duty team reaches its "
                                 "representative point within that team type's standard (or `minutes`)"),
                             "network": self.network,
                             "units": {"best_eta_min": "minutes (null: beyond "
                                       f"{COVERAGE_HORIZON:g}× the standard or unreachable)",
                                       "nearest_team_distance_m": "metres (geodesic)"},
                             "limitations": LIMITATIONS}}
