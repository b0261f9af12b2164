"""Nearest capable rescue teams (straight line or road time) and coverage gaps of the hazards.

This module is the engine (nearest teams, isochrones, coverage); the capability table and request
checks live in :mod:`.inputs`, the answer types in :mod:`.results`; the road graph is given by the caller
(the rescue facade keeps it).

Capability matching is data: ``gis_service/data/incident_capabilities.csv`` says which team types
count for an incident type and the arrival standard of each team type with its source (mine
rescue 30 min AQ 1008 / 矿山救援规程; fire 5 min GB 51080-2015 §4.1.3; hazmat and medical
configurable, default 30 min). Several incident types can be asked at once (``"chemical,medical"``).

* :func:`nearest_teams` — the commander's query. ``by="distance"``: the store ranks capable teams by
  geodesic distance (PostGIS KNN + spheroid re-ranking; embedded STRtree + exact geodesic); bearing
  is the forward azimuth from the incident to the team, degrees clockwise from north.
  ``by="time"``: one bounded Dijkstra on the reversed road graph from the incident
  (:func:`gis_service.routing.nearest_by_time`); ETA includes the off-network access legs at
  20 km/h (see :mod:`gis_service.routing.graph`), ``meets_standard`` compares it with the team
  type's standard.
* :func:`coverage` — the planner's query: every hazard source, tailings dam and goaf area that no
  capable team reaches within the standard time, with a per-county summary. One bounded forward
  Dijkstra per capable team to all hazard points (no isochrone polygons involved).
* :func:`team_isochrones` — areas a team reaches within given minutes.

Incidents with a polygon geometry (goaf areas, tank farms) are routed from their representative
point (inside the polygon); straight-line distances are to the polygon itself.

Errors are :class:`~gis_service.validation.ValidationFailed` naming the field (the API maps them to
400, the CLI to exit code 1); an answer with no team carries ``reason``.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from ...geodesy import distance_and_bearing, geometry_distance_m
from ...routing import RoadGraph, isochrone, nearest_by_time, one_to_many
from ...stores.base import Feature, Store
from ...validation import Problem, ValidationFailed
from ..borders import AdminAreas, inside, team_border
from .inputs import (
    COVERAGE_HORIZON,
    COVERAGE_LAYERS,
    INCIDENT_BY_LAYER,
    ROUTING_NOTE,
    TEAM_TYPE_ZH,
    TEAMS,
    _check_args,
    arrival_standard_min,
    capable_team_types,
    check_location,
    parse_incident,
    parse_minutes,
    representative_point,
)
from .results import (
    CountyCoverage,
    CoverageReport,
    CoverageTotals,
    GapFeature,
    RescueAnswer,
    TeamHit,
    TeamStandard,
    _rounded,
)

# ---------------------------------------------------------------------------- nearest

def _team_filters(team_type: str, on_duty_only: bool) -> dict[str, Any]:
    f: dict[str, Any] = {"team_type": team_type}
    if on_duty_only:
        f["on_duty"] = True
    return f


def _enough_personnel(props: Mapping[str, Any], min_personnel: int) -> bool:
    if min_personnel <= 0:
        return True
    p = props.get("personnel")
    return p is not None and p >= min_personnel


NearestCall = tuple[str, BaseGeometry, int, dict[str, Any]]   # a store.nearest call: layer, geometry, k, filters


def _straight_search(geom: BaseGeometry, types: Sequence[str], k: int, min_personnel: int,
                     on_duty_only: bool) -> Generator[NearestCall, list[Feature], list[Feature]]:
    """The k nearest capable teams by geodesic distance, exact (the store ranks, per team type).

    Written without I/O: it yields each ``store.nearest`` call it needs and is sent the features found
    (:func:`_straight_candidates` runs it on the store), so a caller that awaits its store can drive the same
    search."""
    found: list[Feature] = []
    for t in types:
        ask = k
        while True:
            got = yield (TEAMS, geom, ask, _team_filters(t, on_duty_only))
            kept = [f for f in got if _enough_personnel(f.properties, min_personnel)]
            if len(kept) >= k or len(got) < ask:
                break
            ask *= 4   # personnel filter removed some: fetch more (still exact: nearest-first order)
        found += kept[:k]
    found.sort(key=lambda f: (f.distance_m, f.id))
    return found[:k]


def _straight_candidates(store: Store, geom: BaseGeometry, types: Sequence[str], k: int, min_personnel: int,
                         on_duty_only: bool) -> list[Feature]:
    search = _straight_search(geom, types, k, min_personnel, on_duty_only)
    try:
        call = next(search)
        while True:
            call = search.send(store.nearest(*call))
    except StopIteration as done:
        return done.value


def _standards_meta(types: Iterable[str], overrides: Mapping[str, float] | None) -> dict[str, TeamStandard]:
    out = {}
    for t in types:
        minutes, source = arrival_standard_min(t, overrides)
        out[t] = TeamStandard(standard_min=minutes, source=source, team_type_zh=TEAM_TYPE_ZH.get(t, t))
    return out


def _text(v: Any) -> str | None:
    """A text attribute as text (a missing value — None, or NaN from a data frame — is None)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return v if isinstance(v, str) else str(v)


def _hit(fid: int, props: Mapping[str, Any], lon: float, lat: float, dist: float, bearing: float,
         overrides: Mapping[str, float] | None) -> TeamHit:
    minutes, source = arrival_standard_min(props["team_type"], overrides)
    return TeamHit(id=int(fid), name=_text(props.get("name")), team_type=props["team_type"],
                   personnel=None if props.get("personnel") is None else int(props["personnel"]),
                   on_duty=None if props.get("on_duty") is None else bool(props["on_duty"]),
                   county=_text(props.get("county")), lon=float(lon), lat=float(lat), distance_m=float(dist),
                   bearing_deg=float(bearing), standard_min=minutes, standard_source=source,
                   admin_code=_text(props.get("admin_code")))


def _empty_reason(types: Sequence[str], min_personnel: int, on_duty_only: bool) -> str:
    cond = []
    if on_duty_only:
        cond.append("on duty")
    if min_personnel > 0:
        cond.append(f"with ≥ {min_personnel} personnel")
    extra = f" ({', '.join(cond)})" if cond else ""
    return f"no rescue team of type {', '.join(types)}{extra} in the rescue_teams layer"


def _start(geom: BaseGeometry, incident: str, k: int, by: str, min_personnel: int, on_duty_only: bool,
           standards: Mapping[str, float] | None, extent: tuple[float, float, float, float] | None,
           team_types: Sequence[str] | None) -> RescueAnswer:
    """The request checked and the answer without teams yet (capable types, standards, filters, origin)."""
    _check_args(k, by, min_personnel)
    inc = parse_incident(incident)
    types = capable_team_types(inc)
    if team_types is not None:
        wrong = [t for t in team_types if t not in types]
        if wrong or not team_types:
            raise ValidationFailed([Problem(None, "team_types", f"{', '.join(wrong) or 'none given'}: "
                                            f"capable team types for {inc} are {', '.join(types)}")])
        types = [t for t in types if t in team_types]
    check_location(geom, extent)
    origin = representative_point(geom)
    return RescueAnswer(incident=inc, team_types=types, by=by, k=int(k), origin=(origin.x, origin.y), teams=[],
                        standards=_standards_meta(types, standards),
                        filters={"on_duty_only": on_duty_only, "min_personnel": min_personnel})


def _straight_answer(answer: RescueAnswer, feats: list[Feature], standards: Mapping[str, float] | None) -> RescueAnswer:
    """The straight-line answer from the ranked teams: bearings and arrival standards (or why there are none)."""
    if feats:
        ox, oy = answer.origin
        # the teams' representative points, parsed and taken in one vectorised call each (as representative_point
        # of each Feature.geometry: point_on_surface, the point itself for a point)
        xy = shapely.get_coordinates(shapely.point_on_surface(shapely.from_geojson([f.geometry_json for f in feats])))
        _, bearing = distance_and_bearing(np.full(len(feats), ox), np.full(len(feats), oy), xy[:, 0], xy[:, 1])
        answer.teams = [_hit(f.id, f.properties, xy[i, 0], xy[i, 1], float(f.distance_m or 0.0), bearing[i], standards)
                        for i, f in enumerate(feats)]
    else:
        answer.reason = _empty_reason(answer.team_types, int(answer.filters["min_personnel"]),
                                      bool(answer.filters["on_duty_only"]))
    return answer


def nearest_teams(store: Store, geom: BaseGeometry, incident: str, k: int = 5, by: str = "distance",
                  min_personnel: int = 0, on_duty_only: bool = True, graph: RoadGraph | None = None, *,
                  standards: Mapping[str, float] | None = None,
                  extent: tuple[float, float, float, float] | None = None,
                  team_types: Sequence[str] | None = None) -> RescueAnswer:
    """The ``k`` nearest teams able to handle ``incident`` at ``geom``, by straight line or road time.

    ``standards`` overrides arrival standards (minutes per team type; default GIS_RESCUE_STANDARD_MIN).
    ``graph`` is the road graph for ``by="time"`` (required then). ``extent`` (the data's bbox) refuses an
    incident far outside the data; None checks only the lon/lat range.
    ``team_types`` narrows the capable team types to a subset (e.g. only ``hazmat`` for a chemical
    incident); a type that cannot handle the incident is refused.
    """
    answer = _start(geom, incident, k, by, min_personnel, on_duty_only, standards, extent, team_types)
    if by == "distance":
        feats = _straight_candidates(store, geom, answer.team_types, int(k), min_personnel, on_duty_only)
        return _straight_answer(answer, feats, standards)
    return _nearest_by_road(store, geom, representative_point(geom), answer, min_personnel, on_duty_only, graph, standards)


def with_border(answer: RescueAnswer, geom: BaseGeometry, areas: AdminAreas) -> RescueAnswer:
    """Say which listed teams lie outside the incident's jurisdiction (rescue crosses borders; issue 20)."""
    note = team_border(areas, geom, [t.admin_code for t in answer.teams])
    answer.border = note.model()
    if note.incident_code is not None:
        for t in answer.teams:
            t.other_jurisdiction = not inside(note.incident_code, t.admin_code)
    return answer


def capable_teams_frame(store: Store, types: Sequence[str], min_personnel: int = 0, on_duty_only: bool = True):
    """All teams of the given types passing the filters (GeoDataFrame, index = id)."""
    teams = store.frame(TEAMS, ["name", "team_type", "personnel", "on_duty", "county", "admin_code"])
    mask = teams["team_type"].isin(list(types)).to_numpy().copy()
    if on_duty_only:
        mask &= teams["on_duty"].map(lambda v: v is True or v == 1).to_numpy(dtype=bool)
    if min_personnel > 0:
        mask &= (teams["personnel"].astype(float).fillna(-1.0) >= min_personnel).to_numpy(dtype=bool)
    return teams[mask]


def _need_graph(graph: RoadGraph | None) -> RoadGraph:
    if graph is None:
        raise ValueError("a road graph is needed for road times (the rescue facade provides it)")
    return graph


def data_extent(store: Store) -> tuple[float, float, float, float] | None:
    """Union of the admin_areas and roads extents (rescue_teams if both are empty): where incidents can be."""
    boxes = [b for b in (store.extent("admin_areas"), store.extent("roads")) if b is not None]
    if not boxes:
        boxes = [b for b in (store.extent(TEAMS),) if b is not None]
    if not boxes:
        return None
    arr = np.asarray(boxes, dtype=float)
    return (float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 2].max()), float(arr[:, 3].max()))


def _nearest_by_road(store, geom, origin, answer: RescueAnswer, min_personnel, on_duty_only, graph,
                     standards) -> RescueAnswer:
    teams = capable_teams_frame(store, answer.team_types, min_personnel, on_duty_only)
    if not len(teams):
        answer.reason = _empty_reason(answer.team_types, min_personnel, on_duty_only)
        return answer
    g = _need_graph(graph)
    answer.network = f"{g.meta.get('source', 'road graph')}: {g.n_nodes} nodes, {g.n_arcs} arcs"
    if g.n_arcs == 0:
        answer.reason = "no road network: the roads layer is empty (use by=distance or load roads)"
        return answer
    pts = [representative_point(p) for p in teams.geometry.to_numpy()]
    xy = shapely.get_coordinates(pts)
    snap = g.snap(xy[:, 0], xy[:, 1], main_component_only=True)
    results = nearest_by_time(g, origin.x, origin.y, snap, k=answer.k, main_component_only=True)
    dist: Any = geometry_distance_m(geom, [Point(xy[r.target]) for r in results]) if results else []
    ids = teams.index.to_numpy()
    records = teams.drop(columns=teams.geometry.name).to_dict("records")
    hits = []
    for r, d in zip(results, dist, strict=True):
        i = r.target
        _, bearing = distance_and_bearing(origin.x, origin.y, xy[i, 0], xy[i, 1])
        h = _hit(ids[i], records[i], xy[i, 0], xy[i, 1], float(d), float(bearing), standards)
        h.reachable = bool(r.reachable)
        h.access_m = float(r.access_from_m + r.access_to_m) if r.reachable else float(r.access_from_m)
        if r.reachable:
            h.eta_min, h.road_distance_m, h.route = r.eta_min, r.total_m, r.geometry
            h.meets_standard = bool(h.eta_min <= h.standard_min + 1e-9)
        else:
            h.meets_standard = False
        hits.append(h)
    answer.teams = hits
    if hits and not any(h.reachable for h in hits):
        answer.reason = ("no capable team can reach the incident by road (the incident and the teams are on "
                         "unconnected parts of the road network)")
    return answer


# ---------------------------------------------------------------------------- isochrones


def team_isochrones(store: Store, team_id: int, minutes: str | Sequence[float],
                    graph: RoadGraph | None = None, standards: Mapping[str, float] | None = None) -> dict[str, Any]:
    """GeoJSON FeatureCollection of the areas the team reaches within each of ``minutes`` (largest first)."""
    mins = parse_minutes(minutes)
    team = store.get(TEAMS, int(team_id))
    g = _need_graph(graph)
    pt = representative_point(team.geometry)
    std_min, std_src = arrival_standard_min(team.properties["team_type"], standards)
    feats = []
    for m in sorted(mins, reverse=True):
        iso = isochrone(g, pt.x, pt.y, m) if g.n_arcs else None
        geom = iso.geometry if iso is not None else shapely.Polygon()
        feats.append({"type": "Feature", "id": f"isochrone-{team.id}-{m:g}", "geometry": _rounded(geom),
                      "properties": {"team_id": team.id, "name": team.properties.get("name"),
                                     "team_type": team.properties["team_type"], "minutes": m,
                                     "width_m": iso.width_m if iso else None,
                                     "access_m": round(iso.access_m, 1) if iso else None,
                                     "empty": geom.is_empty}})
    return {"type": "FeatureCollection", "features": feats,
            "metadata": {"analysis": "team_isochrones", "team_id": team.id, "minutes": mins,
                         "standard_min": std_min, "standard_source": std_src,
                         "method": (iso.method if iso is not None and feats and g.n_arcs else "no road network") + "; " + ROUTING_NOTE,
                         "direction": "outbound (from the team's station)",
                         "network": f"{g.meta.get('source', 'road graph')}: {g.n_nodes} nodes, {g.n_arcs} arcs",
                         "reason": None if g.n_arcs else "no road network: the roads layer is empty"}}


# ---------------------------------------------------------------------------- coverage

def _county_lookup(store: Store, points: np.ndarray) -> np.ndarray:
    """County name per point from the admin_areas polygons of level county (None outside all)."""
    admin = store.frame("admin_areas", ["name", "level"])
    admin = admin[admin["level"] == "county"]
    out = np.full(len(points), None, dtype=object)
    if not len(admin) or not len(points):
        return out
    tree = shapely.STRtree(admin.geometry.to_numpy())
    pi, ai = tree.query(points, predicate="intersects")
    names = admin["name"].to_numpy()
    first = np.unique(pi, return_index=True)[1]
    out[pi[first]] = names[ai[first]]
    return out


def _coverage_types(store: Store, layers: Sequence[str], incident: str | None, minutes: float | None,
                    standards: Mapping[str, float] | None) -> tuple[dict, dict[str, list[str]], list[str], dict]:
    """(incident types per layer, capable team types per layer, all of them, time limit in s per type)."""
    if minutes is not None:
        minutes = parse_minutes([minutes], max_count=1)[0]
    inc_of = {}
    for layer in layers:
        store.spec(layer)
        if incident is None and layer not in INCIDENT_BY_LAYER:
            raise ValidationFailed([Problem(None, "layers", f"no default incident type for layer {layer!r}")])
        inc_of[layer] = parse_incident(incident if incident is not None else INCIDENT_BY_LAYER[layer])
    types_of = {layer: capable_team_types(inc) for layer, inc in inc_of.items()}
    all_types = list(dict.fromkeys(t for ts in types_of.values() for t in ts))
    limit_s = {t: 60.0 * (minutes if minutes is not None else arrival_standard_min(t, standards)[0]) for t in all_types}
    return inc_of, types_of, all_types, limit_s


@dataclass
class CoverageSweep:
    """Per target point and capable team type: the fastest team by road (``best`` s, ``best_team`` id; inf / -1
    beyond ``COVERAGE_HORIZON`` × the standard) and the nearest by straight line (``near_d`` m, ``near_id``)."""

    best: dict[str, np.ndarray]
    best_team: dict[str, np.ndarray]
    near_d: dict[str, np.ndarray]
    near_id: dict[str, np.ndarray]

    @classmethod
    def empty(cls, n: int, types: Sequence[str]) -> CoverageSweep:
        return cls({t: np.full(n, np.inf) for t in types}, {t: np.full(n, -1, dtype=np.int64) for t in types},
                   {t: np.full(n, np.inf) for t in types}, {t: np.full(n, -1, dtype=np.int64) for t in types})


@dataclass
class CoverageTargets:
    """Every hazard feature of the coverage layers as one target set (representative points)."""

    layers: tuple[str, ...]
    frames: list[tuple[str, Any]]
    pts: np.ndarray
    layer_of: np.ndarray
    xy: np.ndarray


def coverage_targets(store: Store, layers: Sequence[str] = COVERAGE_LAYERS) -> CoverageTargets:
    frames = [(layer, store.frame(layer, ["name", "county"])) for layer in layers]
    pts = np.concatenate([np.asarray([representative_point(x) for x in fr.geometry.to_numpy()], dtype=object)
                          for _, fr in frames]) if frames else np.zeros(0, dtype=object)
    layer_of = np.concatenate([np.full(len(fr), layer, dtype=object) for layer, fr in frames]) if frames \
        else np.zeros(0, dtype=object)
    xy = shapely.get_coordinates(pts) if len(pts) else np.zeros((0, 2))
    return CoverageTargets(tuple(layers), frames, pts, layer_of, xy)


def sweep_road(g: RoadGraph, teams, xy: np.ndarray, limit_s: Mapping[str, float], sweep: CoverageSweep) -> None:
    """For every target, keep the fastest team by road per team type (in place; teams in frame order, the first
    of equal times kept): one bounded forward Dijkstra per team to all targets."""
    if not g.n_arcs or not len(xy) or not len(teams):
        return
    target_snap = g.snap(xy[:, 0], xy[:, 1], main_component_only=True)
    t_xy = shapely.get_coordinates([representative_point(p) for p in teams.geometry.to_numpy()])
    for fid, (tx, ty), ttype in zip(teams.index.to_numpy(), t_xy, teams["team_type"].to_numpy(), strict=True):
        tt = one_to_many(g, tx, ty, target_snap, max_seconds=limit_s[ttype] * COVERAGE_HORIZON,
                         with_distance=False, main_component_only=True)
        better = tt.eta_s < sweep.best[ttype]
        sweep.best[ttype][better] = tt.eta_s[better]
        sweep.best_team[ttype][better] = fid


def sweep_line(teams, xy: np.ndarray, sweep: CoverageSweep, rows: np.ndarray | None = None) -> None:
    """For every target (or the target positions ``rows``), keep the nearest team by straight line per team type
    (in place; the first of equal distances kept)."""
    rows = np.arange(len(xy)) if rows is None else rows
    n = len(rows)
    if not n or not len(teams):
        return
    t_xy = shapely.get_coordinates([representative_point(p) for p in teams.geometry.to_numpy()])
    for fid, (tx, ty), ttype in zip(teams.index.to_numpy(), t_xy, teams["team_type"].to_numpy(), strict=True):
        d, _ = distance_and_bearing(np.full(n, tx), np.full(n, ty), xy[rows, 0], xy[rows, 1])
        nd = sweep.near_d[ttype]
        closer = d < nd[rows]
        nd[rows[closer]], sweep.near_id[ttype][rows[closer]] = d[closer], fid


def coverage_setup(store: Store, incident: str | None = None, minutes: float | None = None, *,
                   layers: Sequence[str] = COVERAGE_LAYERS, on_duty_only: bool = True, min_personnel: int = 0,
                   standards: Mapping[str, float] | None = None):
    """What a coverage run needs before the sweep: (incident types per layer, capable team types per layer, all
    of them, time limit s per type, the capable teams)."""
    inc_of, types_of, all_types, limit_s = _coverage_types(store, layers, incident, minutes, standards)
    teams = capable_teams_frame(store, all_types, min_personnel, on_duty_only)
    return inc_of, types_of, all_types, limit_s, teams


def coverage(store: Store, incident: str | None = None, minutes: float | None = None, *,
             layers: Sequence[str] = COVERAGE_LAYERS, graph: RoadGraph | None = None, on_duty_only: bool = True,
             min_personnel: int = 0, standards: Mapping[str, float] | None = None) -> CoverageReport:
    """Hazards with no capable team within the standard time (or ``minutes``), with a county summary.

    ``incident`` None: each layer's own incident type (hazard_sources → chemical, tailings_dams →
    tailings_dam, goaf_areas → goaf); else that incident type for every layer.
    """
    inc_of, types_of, all_types, limit_s, teams = coverage_setup(
        store, incident, minutes, layers=layers, on_duty_only=on_duty_only, min_personnel=min_personnel,
        standards=standards)
    g = _need_graph(graph)
    targets = coverage_targets(store, layers)
    sweep = CoverageSweep.empty(len(targets.pts), all_types)
    if len(targets.pts) and len(teams):
        sweep_road(g, teams, targets.xy, limit_s, sweep)
        sweep_line(teams, targets.xy, sweep)
    return coverage_report(store, targets, sweep, inc_of, types_of, all_types, limit_s, teams, incident, minutes,
                           standards, g)


def covered_mask(targets: CoverageTargets, sweep: CoverageSweep, types_of: Mapping[str, list[str]],
                 limit_s: Mapping[str, float]) -> np.ndarray:
    """True where at least one capable team of the target's layer arrives within its type's limit."""
    covered = np.zeros(len(targets.pts), dtype=bool)
    for layer in targets.layers:
        sel = targets.layer_of == layer
        for t in types_of[layer]:
            covered[sel] |= sweep.best[t][sel] <= limit_s[t] + 1e-9
    return covered


def target_counties(store: Store, targets: CoverageTargets) -> np.ndarray:
    """The county of each target: its own attribute, else the admin_areas county polygon it lies in."""
    frames, pts = targets.frames, targets.pts
    county = np.concatenate([fr["county"].to_numpy(dtype=object) for _, fr in frames]) if frames else np.zeros(0)
    missing = np.array([c is None or (isinstance(c, float) and math.isnan(c)) or c == "" for c in county], dtype=bool)
    if missing.any():
        county[missing] = _county_lookup(store, pts[missing])
    return np.array(["未知 unknown" if c is None else c for c in county], dtype=object)


@dataclass
class TargetProperties:
    """The properties of one target's coverage answer (a gap feature's ``properties``; the batch's record)."""

    targets: CoverageTargets
    sweep: CoverageSweep
    county: np.ndarray
    names: np.ndarray
    ids: np.ndarray
    inc_of: Mapping[str, Sequence[str]]
    types_of: Mapping[str, list[str]]
    limit_s: Mapping[str, float]
    team_name: Mapping[int, Any]

    def __call__(self, i: int) -> dict[str, Any]:
        layer, sw = self.targets.layer_of[i], self.sweep
        per_type = {}
        for t in self.types_of[layer]:
            eta = sw.best[t][i]
            per_type[t] = {"best_eta_min": round(eta / 60.0, 2) if np.isfinite(eta) else None,
                           "standard_min": round(self.limit_s[t] / 60.0, 2),
                           "team_id": int(sw.best_team[t][i]) if sw.best_team[t][i] >= 0 else None}
        etas = [v["best_eta_min"] for v in per_type.values() if v["best_eta_min"] is not None]
        nt = min(self.types_of[layer], key=lambda t: sw.near_d[t][i])
        nd, nid = sw.near_d[nt][i], int(sw.near_id[nt][i])
        return {"layer": layer, "feature_id": int(self.ids[i]), "name": _text(self.names[i]),
                "county": self.county[i], "incident": ",".join(self.inc_of[layer]),
                "capable_team_types": self.types_of[layer],
                "best_eta_min": min(etas) if etas else None, "by_team_type": per_type,
                "nearest_team_id": nid if nid >= 0 else None,
                "nearest_team_name": _text(self.team_name.get(nid)),
                "nearest_team_distance_m": round(float(nd), 1) if np.isfinite(nd) else None}


def coverage_report(store: Store, targets: CoverageTargets, sweep: CoverageSweep, inc_of, types_of, all_types,
                    limit_s, teams, incident: str | None, minutes: float | None,
                    standards: Mapping[str, float] | None, g: RoadGraph) -> CoverageReport:
    """The gaps (GeoJSON) and the county summary from a finished sweep."""
    layers, frames, pts, layer_of = targets.layers, targets.frames, targets.pts, targets.layer_of
    n = len(pts)
    covered = covered_mask(targets, sweep, types_of, limit_s)
    county = target_counties(store, targets)
    names = np.concatenate([fr["name"].to_numpy(dtype=object) for _, fr in frames]) if frames else np.zeros(0)
    ids = np.concatenate([fr.index.to_numpy() for _, fr in frames]) if frames else np.zeros(0, dtype=np.int64)
    geoms = np.concatenate([fr.geometry.to_numpy() for _, fr in frames]) if frames else np.zeros(0, dtype=object)

    props = TargetProperties(targets, sweep, county, names, ids, inc_of, types_of, limit_s,
                             teams["name"].to_dict() if len(teams) else {})
    gaps = [GapFeature.model_validate({"type": "Feature", "id": f"{layer_of[i]}-{int(ids[i])}",
                                       "geometry": _rounded(geoms[i]), "properties": props(i)})
            for i in np.flatnonzero(~covered).tolist()]

    summary: dict[str, dict[str, Any]] = {}
    for i in range(n):
        s = summary.setdefault(county[i], {"county": county[i], "features": 0, "gaps": 0,
                                           "by_layer": {layer: {"features": 0, "gaps": 0} for layer in layers}})
        s["features"] += 1
        s["by_layer"][layer_of[i]]["features"] += 1
        if not covered[i]:
            s["gaps"] += 1
            s["by_layer"][layer_of[i]]["gaps"] += 1
    counties = [CountyCoverage.model_validate(s) for s in sorted(summary.values(), key=lambda s: (-s["gaps"], s["county"]))]
    totals = CoverageTotals.model_validate({"features": int(n), "gaps": int((~covered).sum()), "teams_considered": int(len(teams)),
              "by_layer": {layer: {"features": int((layer_of == layer).sum()),
                                   "gaps": int(((layer_of == layer) & ~covered).sum())} for layer in layers}})
    std_meta = _standards_meta(all_types, standards)
    if minutes is not None:
        for v in std_meta.values():
            v.applied_min = minutes
    network = f"{g.meta.get('source', 'road graph')}: {g.n_nodes} nodes, {g.n_arcs} arcs"
    return CoverageReport(gaps=gaps, counties=counties, totals=totals, standards=std_meta, incident=incident,
                          minutes=minutes, network=network)
