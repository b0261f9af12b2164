"""Evacuation to shelters: the people to move per origin (the receptors of an exposure result, or given
points), assigned to open shelters by road time within each shelter's capacity.

Objective, in this order (the commander's): **everyone who can be placed is placed** (a maximum flow),
**the last person is out as early as possible** (the bottleneck time T*: the smallest travel time such that
the origin→shelter pairs no slower than T* still carry that maximum flow — binary search over the distinct
pair times, each step one ``scipy.sparse.csgraph.maximum_flow``), then **the fewest person-minutes** among
those assignments (a min-cost transportation problem on the pairs ≤ T*, solved as a linear programme by
``scipy.optimize.linprog`` with the HiGHS dual simplex; the constraint matrix of a transportation problem is
totally unimodular, so the vertex solution is whole people — checked, with ``scipy.optimize.milp`` as the
fallback).

Travel times: one Dijkstra per shelter node on the reversed road graph (``scipy.sparse.csgraph.dijkstra``),
with the off-network access legs at 20 km/h at both ends. Assumptions [A]: everyone leaves at once and roads
run at free-flow speed (no congestion, no walking-only evacuees); a shelter's capacity is its ``capacity``
attribute; each origin's people may be split over several shelters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import LinearConstraint, linprog, milp
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra, maximum_flow
from shapely.geometry import Point, mapping

from ...routing import RoadGraph, Snap, nearest_by_time
from ...stores.base import Store
from ...validation import Problem, ValidationFailed
from ..consequence.exposure import ExposureResult
from .inputs import SHELTERS

ASSUMPTIONS = [
    "[A] everyone leaves at once and drives at free-flow road speed: no congestion, no staged departure",
    "[A] an origin's people may be split over several shelters; a shelter takes at most its capacity",
    "[A] travel time = access leg (20 km/h straight line) + fastest road time + access leg at the shelter",
]
CHUNK = 32   # shelter nodes per Dijkstra call (bounds memory to CHUNK × nodes)


@dataclass
class Origin:
    key: str            # e.g. "receptors/17"
    name: str
    lon: float
    lat: float
    people: int


@dataclass
class Shelters:
    ids: np.ndarray
    names: list[str]
    lon: np.ndarray
    lat: np.ndarray
    capacity: np.ndarray
    shelter_class: list[str] = field(default_factory=list)


def travel_times(graph: RoadGraph, origins: Snap, shelters: Snap) -> np.ndarray:
    """(origins × shelters) seconds, inf where a shelter cannot be reached."""
    out = np.full((len(origins), len(shelters)), np.inf)
    ok_o = origins.node >= 0
    nodes, inverse = np.unique(np.where(shelters.node >= 0, shelters.node, -1), return_inverse=True)
    valid = nodes >= 0
    road = np.full((len(nodes), len(origins)), np.inf)
    for start in range(0, int(valid.sum()), CHUNK):
        chunk = nodes[valid][start:start + CHUNK]
        dist = dijkstra(graph.reverse, directed=True, indices=chunk)          # (chunk, nodes): node → shelter
        rows = np.flatnonzero(valid)[start:start + CHUNK]
        road[np.ix_(rows, np.flatnonzero(ok_o))] = dist[:, origins.node[ok_o]]
    out[:] = road[inverse].T
    return out + origins.access_s[:, None] + shelters.access_s[None, :]


def _max_flow(allowed: np.ndarray, people: np.ndarray, cap: np.ndarray) -> int:
    """Maximum number of people placed using only the allowed (origin, shelter) pairs."""
    r, s = len(people), len(cap)
    src, sink = r + s, r + s + 1
    oi, sj = np.nonzero(allowed)
    big = int(people.sum())
    rows = np.concatenate([np.full(r, src), oi, r + np.arange(s)])
    cols = np.concatenate([np.arange(r), r + sj, np.full(s, sink)])
    caps = np.concatenate([people, np.full(len(oi), big), cap]).astype(np.int32)
    g = csr_matrix((caps, (rows, cols)), shape=(r + s + 2, r + s + 2))
    return int(maximum_flow(g, src, sink).flow_value)


def bottleneck(times: np.ndarray, people: np.ndarray, cap: np.ndarray) -> tuple[float, int]:
    """(T*, people placed): the earliest time by which the maximum placeable number of people can be out."""
    finite = np.isfinite(times)
    best = _max_flow(finite, people, cap)
    if best == 0:
        return float("inf"), 0
    cand = np.unique(times[finite])
    lo, hi = 0, len(cand) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if _max_flow(times <= cand[mid], people, cap) >= best:
            hi = mid
        else:
            lo = mid + 1
    return float(cand[lo]), best


def assign(times: np.ndarray, people: np.ndarray, cap: np.ndarray) -> tuple[np.ndarray, float, str]:
    """Whole people per (origin, shelter): maximum placed, earliest last arrival, least person-seconds."""
    people = np.asarray(people, dtype=np.int64)
    cap = np.asarray(cap, dtype=np.int64)
    x = np.zeros(times.shape, dtype=np.int64)
    t_star, placed = bottleneck(times, people, cap)
    if placed == 0:
        return x, float("inf"), "none"
    oi, sj = np.nonzero(times <= t_star)
    n = len(oi)
    r, s = times.shape
    a_rows = coo_matrix((np.ones(n), (oi, np.arange(n))), shape=(r, n)).tocsr()
    a_cols = coo_matrix((np.ones(n), (sj, np.arange(n))), shape=(s, n)).tocsr()
    from scipy.sparse import vstack
    # placed = total: each origin sends exactly its people; else each at most, and the total equals placed
    a_ub = vstack([a_rows, a_cols]).tocsr()
    b_ub = np.concatenate([people, cap]).astype(float)
    total = np.ones((1, n))
    cost = times[oi, sj] / max(t_star, 1.0)
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=total, b_eq=[float(placed)], bounds=(0, None),
                  method="highs-ds")
    method = "max flow + bottleneck (scipy.sparse.csgraph.maximum_flow) + min-cost transport (linprog HiGHS)"
    vals = res.x if res.status == 0 else None
    if vals is None or np.abs(vals - np.round(vals)).max() > 1e-6:
        res2 = milp(cost, constraints=[LinearConstraint(a_ub, ub=b_ub), LinearConstraint(total, placed, placed)],
                    integrality=np.ones(n), bounds=(0, np.inf))
        vals, method = res2.x, method.replace("linprog HiGHS", "milp HiGHS")
    x[oi, sj] = np.round(vals).astype(np.int64)
    return x, t_star, method


@dataclass
class Evacuation:
    origins: list[Origin]
    shelters: Shelters
    flows: list[dict[str, Any]]
    shelter_rows: list[dict[str, Any]]
    time_min: float | None
    people: int
    placed: int
    method: str
    network: str
    source: dict[str, Any]

    def to_feature_collection(self) -> dict[str, Any]:
        feats: list[dict[str, Any]] = []
        for f in self.flows:
            geom = f.get("route")
            feats.append({"type": "Feature", "properties": {"role": "flow", **{k: v for k, v in f.items()
                                                                               if k != "route"}},
                          "geometry": mapping(geom) if geom is not None else None})
        for row in self.shelter_rows:
            feats.append({"type": "Feature", "geometry": mapping(Point(row["lon"], row["lat"])),
                          "properties": {"role": "shelter", **row}})
        fill = [r for r in self.shelter_rows if r["full"]]
        fill.sort(key=lambda r: (r["fills_at_min"], r["id"]))
        return {"type": "FeatureCollection", "features": feats, "metadata": {
            "analysis": "evacuation 疏散安置", "source": self.source, "people": self.people, "placed": self.placed,
            "not_placed": self.people - self.placed, "time_until_last_out_min": self.time_min,
            "shelters_used": sum(1 for r in self.shelter_rows if r["assigned"] > 0),
            "shelters_fill_first": [{"id": r["id"], "name": r["name"], "fills_at_min": r["fills_at_min"]}
                                    for r in fill],
            "method": self.method, "network": self.network, "assumptions": ASSUMPTIONS,
            "units": {"eta_min": "minutes", "people": "persons"}}}


def evacuate(graph: RoadGraph, origins: list[Origin], shelters: Shelters, *, routes: bool = True,
             source: dict[str, Any] | None = None) -> Evacuation:
    people = np.array([o.people for o in origins], dtype=np.int64)
    network = f"{graph.meta.get('source', 'road graph')}: {graph.n_nodes} nodes, {graph.n_arcs} arcs"
    if not origins or not len(shelters.ids) or graph.n_arcs == 0:
        return Evacuation(origins, shelters, [], [], None, int(people.sum()), 0, "none", network, source or {})
    o_snap = graph.snap(np.array([o.lon for o in origins]), np.array([o.lat for o in origins]))
    s_snap = graph.snap(shelters.lon, shelters.lat)
    times = travel_times(graph, o_snap, s_snap)
    x, t_star, method = assign(times, people, shelters.capacity)
    flows = []
    oi, sj = np.nonzero(x)
    geoms: dict[tuple[int, int], Any] = {}
    if routes:
        for j in np.unique(sj):
            members = oi[sj == j]
            got = nearest_by_time(graph, float(shelters.lon[j]), float(shelters.lat[j]), o_snap.subset(members),
                                  k=len(members))
            for rr in got:
                if rr.reachable:
                    geoms[(int(members[rr.target]), int(j))] = rr.geometry
    for i, j in zip(oi, sj, strict=True):
        o = origins[i]
        flows.append({"origin": o.key, "origin_name": o.name, "shelter_id": int(shelters.ids[j]),
                      "shelter_name": shelters.names[j], "people": int(x[i, j]),
                      "eta_min": round(float(times[i, j]) / 60, 2), "route": geoms.get((int(i), int(j)))})
    assigned = x.sum(axis=0)
    rows = []
    for j in range(len(shelters.ids)):
        used = x[:, j] > 0
        full = bool(assigned[j] >= shelters.capacity[j])
        rows.append({"id": int(shelters.ids[j]), "name": shelters.names[j], "lon": float(shelters.lon[j]),
                     "lat": float(shelters.lat[j]), "capacity": int(shelters.capacity[j]),
                     "assigned": int(assigned[j]), "full": full,
                     "fills_at_min": round(float(times[used, j].max()) / 60, 2) if full and used.any() else None})
    return Evacuation(origins, shelters, flows, rows,
                      round(t_star / 60, 2) if np.isfinite(t_star) else None, int(people.sum()), int(x.sum()),
                      method, network, source or {})


def shelters_of(store: Store) -> Shelters:
    """The open shelters of the store (``open`` false = not usable now), at their representative point."""
    frame = store.frame(SHELTERS, ["name", "capacity", "open", "shelter_class"])
    if len(frame):
        frame = frame[frame["open"].astype(object).map(lambda v: v is not False and v is not np.False_)]
    pts = frame.geometry.representative_point() if len(frame) else frame.geometry
    return Shelters(np.asarray(frame.index, dtype=np.int64), [str(n) for n in frame["name"]],
                    np.asarray(pts.x, dtype=float) if len(frame) else np.zeros(0),
                    np.asarray(pts.y, dtype=float) if len(frame) else np.zeros(0),
                    np.asarray(frame["capacity"], dtype=np.int64) if len(frame) else np.zeros(0, dtype=np.int64),
                    [str(c) for c in frame["shelter_class"]])


LEVELS = ("red", "orange", "yellow")


def origins_from_exposure(result: ExposureResult, levels: Any = None) -> tuple[list[Origin], dict[str, Any]]:
    """The people to move: each receptor inside the chosen zones (default all), with its population."""
    if levels is None:
        levels = list(LEVELS)
    if not isinstance(levels, list) or not levels or any(lv not in LEVELS for lv in levels):
        raise ValidationFailed([Problem(None, "params.levels", f"a non-empty list of {', '.join(LEVELS)}")])
    keep: set[int] = set()
    for ze in result.zones:
        if ze.zone.level in levels:
            keep.update(int(r["id"]) for r in ze.receptors)
    origins = []
    for f in result.receptor_features:
        rid = int(f["id"])
        p = f["properties"]
        if rid in keep and int(p.get("population") or 0) > 0:
            from shapely.geometry import shape

            pt = shape(f["geometry"]).representative_point()
            origins.append(Origin(f"receptors/{rid}", str(p.get("name")), pt.x, pt.y, int(p["population"])))
    return origins, {"levels": levels, "receptors": len(origins)}
