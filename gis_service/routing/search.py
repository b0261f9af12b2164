"""Shortest travel-time searches on a :class:`RoadGraph` (scipy.sparse.csgraph Dijkstra, in C).

* :func:`nearest_by_time` — the commander's query: the k targets (rescue teams) that reach an
  incident first. Teams drive *to* the incident, so it is **one** Dijkstra from the incident node on
  the **reversed** graph. The search is bounded: it runs with ``limit = L`` seconds, and stops as
  soon as the k-th best complete ETA (road time + the team's access leg) is ≤ L — every target not
  yet settled then needs more than L, so the ranking is exact. Otherwise L doubles (a first guess
  comes from the straight-line distance of the k-th nearest target), until the cap
  (``max_seconds``) or until the search has exhausted the incident's component.
* :func:`many_to_one` / :func:`one_to_many` — all targets' times to / from one point.

ETAs include both off-network access legs (see :mod:`gis_service.routing.graph`):
``eta = team access + road time (team node → incident node) + incident access``.
Unreachable targets (other component, one-way trap, beyond ``max_seconds``) come back with
``reachable=False`` and ``eta_s = inf`` — never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra

from .graph import DEFAULT_ACCESS_SPEED_KMH, WGS84, RoadGraph, Snap

GUESS_SPEED_KMH = 60.0   # only for the first search radius guess; correctness never depends on it
GUESS_DETOUR = 1.4


@dataclass
class RouteResult:
    target: int                 # index into the targets given
    reachable: bool
    eta_s: float                # team access + road + incident access (inf if unreachable)
    road_s: float               # node-to-node road time
    road_m: float               # road distance along the fastest route
    access_from_m: float        # straight access leg at the start (team point → its node)
    access_to_m: float          # straight access leg at the end (node → incident point)
    nodes: np.ndarray | None = None
    geometry: shapely.LineString | None = None   # lon/lat, start point → end point

    @property
    def eta_min(self) -> float:
        return self.eta_s / 60.0

    @property
    def total_m(self) -> float:
        return self.road_m + self.access_from_m + self.access_to_m


@dataclass
class TravelTimes:
    eta_s: np.ndarray           # per target, incl. both access legs (inf = unreachable)
    road_s: np.ndarray          # node-to-node road time
    road_m: np.ndarray | None   # road distance along the fastest route (if asked for)
    targets: Snap
    origin: Snap


def _snap_points(graph: RoadGraph, pts, access_speed_kmh: float, main: bool = False) -> Snap:
    if isinstance(pts, Snap):
        return pts
    if hasattr(pts, "geometry") and hasattr(pts, "columns"):
        pts = pts.geometry.to_numpy()
    if isinstance(pts, tuple) and len(pts) == 2:
        lon, lat = pts
    else:
        arr = np.asarray(pts)
        if arr.dtype == object:
            lon, lat = shapely.get_x(arr), shapely.get_y(arr)
        else:
            arr = np.atleast_2d(arr.astype(float))
            lon, lat = arr[:, 0], arr[:, 1]
    return graph.snap(lon, lat, access_speed_kmh=access_speed_kmh, main_component_only=main)


def _run(csr, node: int, limit: float):
    dist, pred = dijkstra(csr, directed=True, indices=int(node), return_predecessors=True,
                          limit=limit if np.isfinite(limit) else np.inf)
    return dist, pred


def _has_frontier(csr, dist: np.ndarray) -> bool:
    """True if some settled node has an arc to an unsettled one (the search was cut by its limit)."""
    settled = np.flatnonzero(np.isfinite(dist))
    start = csr.indptr[settled]
    cnt = csr.indptr[settled + 1] - start
    total = int(cnt.sum())
    if total == 0:
        return False
    offs = np.repeat(start - (np.cumsum(cnt) - cnt), cnt) + np.arange(total)
    return not bool(np.isfinite(dist[csr.indices[offs]]).all())


def _walk(graph: RoadGraph, pred: np.ndarray, root: int, nodes: np.ndarray, toward_root: bool,
          keep_paths: bool):
    """Follow predecessors from each node to the search root, all at once.

    ``toward_root=True``: reverse search (pred = next node toward root, arcs node → pred);
    else forward search (pred = previous node, arcs pred → node). Returns (road_m, paths) where
    paths[i] lists nodes in travel order.
    """
    n = len(nodes)
    length = np.zeros(n)
    cur = nodes.astype(np.int64).copy()
    active = cur != root
    steps = [cur.copy()]  # used only with keep_paths
    while active.any():
        idx = np.flatnonzero(active)
        nxt = pred[cur[idx]].astype(np.int64)
        if toward_root:
            arcs = graph.arc_ids(cur[idx], nxt)
        else:
            arcs = graph.arc_ids(nxt, cur[idx])
        length[idx] += graph.length_m[arcs]
        cur[idx] = nxt
        active[idx] = nxt != root
        if keep_paths:
            steps.append(cur.copy())
    paths = None
    if keep_paths:
        mat = np.vstack(steps)                       # (steps, n)
        paths = []
        for i in range(n):
            col = mat[:, i]
            end = int(np.argmax(col == root)) if nodes[i] != root else 0
            p = col[:end + 1]
            paths.append(p if toward_root else p[::-1])
    return length, paths


def _times(graph, origin: Snap, targets: Snap, reverse: bool, max_seconds, with_distance):
    csr = graph.reverse if reverse else graph.forward
    o = int(origin.node[0])
    cap = np.inf if max_seconds is None else max(float(max_seconds) - float(origin.access_s[0]), 0.0)
    ok = targets.node >= 0
    dist, pred = _run(csr, o, cap)
    road_s = np.full(len(targets), np.inf)
    road_s[ok] = dist[targets.node[ok]]
    eta = road_s + targets.access_s + origin.access_s[0]
    if max_seconds is not None:
        road_s = np.where(eta <= max_seconds, road_s, np.inf)
        eta = np.where(eta <= max_seconds, eta, np.inf)
    road_m = None
    if with_distance:
        road_m = np.full(len(targets), np.inf)
        fin = np.flatnonzero(np.isfinite(road_s))
        if len(fin):
            road_m[fin], _ = _walk(graph, pred, o, targets.node[fin], toward_root=reverse, keep_paths=False)
    return TravelTimes(eta, road_s, road_m, targets, origin)


def many_to_one(graph: RoadGraph, sources, lon: float, lat: float, *, max_seconds: float | None = None,
                access_speed_kmh: float = DEFAULT_ACCESS_SPEED_KMH, with_distance: bool = True,
                main_component_only: bool = False) -> TravelTimes:
    """Travel time from every source point to (lon, lat): one Dijkstra on the reversed graph."""
    dest = graph.snap(lon, lat, access_speed_kmh=access_speed_kmh, main_component_only=main_component_only)
    src = _snap_points(graph, sources, access_speed_kmh, main_component_only)
    return _times(graph, dest, src, True, max_seconds, with_distance)


def one_to_many(graph: RoadGraph, lon: float, lat: float, targets, *, max_seconds: float | None = None,
                access_speed_kmh: float = DEFAULT_ACCESS_SPEED_KMH, with_distance: bool = True,
                main_component_only: bool = False) -> TravelTimes:
    """Travel time from (lon, lat) to every target point: one Dijkstra on the forward graph."""
    orig = graph.snap(lon, lat, access_speed_kmh=access_speed_kmh, main_component_only=main_component_only)
    dst = _snap_points(graph, targets, access_speed_kmh, main_component_only)
    return _times(graph, orig, dst, False, max_seconds, with_distance)


def nearest_by_time(graph: RoadGraph, lon: float, lat: float, targets, k: int = 5, *,
                    max_seconds: float | None = None, access_speed_kmh: float = DEFAULT_ACCESS_SPEED_KMH,
                    with_geometry: bool = True, main_component_only: bool = False) -> list[RouteResult]:
    """The ``k`` targets (teams) with the smallest ETA *to* the incident at (lon, lat).

    ``targets``: a :class:`Snap` (snap teams once and reuse), a ``(lons, lats)`` tuple, an (n, 2)
    array, or shapely points / a GeoDataFrame. Returns ``min(k, n)`` results sorted by ETA;
    reachable ones first, then unreachable ones (``reachable=False``, ETA inf) to fill up to k.
    ``max_seconds`` caps the complete ETA (e.g. the 30-min mine-rescue standard).
    ``main_component_only`` snaps points (not a given :class:`Snap`) to the largest component only.
    """
    if k <= 0:
        raise ValueError("k must be positive")
    tg = _snap_points(graph, targets, access_speed_kmh, main_component_only)
    n = len(tg)
    if n == 0:
        return []
    kk = min(int(k), n)
    inc = graph.snap(lon, lat, access_speed_kmh=access_speed_kmh, main_component_only=main_component_only)
    o = int(inc.node[0])
    inc_access_s = float(inc.access_s[0])
    if o < 0:
        return [_unreachable(i, tg, inc) for i in range(kk)]
    cap = np.inf if max_seconds is None else float(max_seconds) - inc_access_s
    ok = tg.node >= 0
    csr = graph.reverse
    if cap < 0:
        return [_unreachable(i, tg, inc) for i in range(kk)]

    # first guess of the search radius: k-th straight-line distance at a typical speed, with detour
    straight = np.asarray(WGS84.inv(np.full(n, graph.lon[o]), np.full(n, graph.lat[o]),
                                    graph.lon[np.maximum(tg.node, 0)], graph.lat[np.maximum(tg.node, 0)])[2])
    straight = np.where(ok, straight, np.inf)
    dk = np.partition(straight, kk - 1)[kk - 1]
    limit = dk * GUESS_DETOUR / (GUESS_SPEED_KMH / 3.6) + 60.0 if np.isfinite(dk) else np.inf
    while True:
        lim = min(limit, cap)
        dist, pred = _run(csr, o, lim)
        road = np.full(n, np.inf)
        road[ok] = dist[tg.node[ok]]
        total = road + tg.access_s            # ranking key (incident access is common to all)
        fin = np.isfinite(total)
        if fin.sum() >= kk and np.partition(total[fin], kk - 1)[kk - 1] <= lim:
            break                             # k-th best is within the explored radius: exact
        if lim >= cap or not np.isfinite(lim) or not _has_frontier(csr, dist):
            break                             # hit the cap, or explored everything reachable
        limit = lim * 2.0
    if np.isfinite(cap):
        total = np.where(total <= cap, total, np.inf)   # ETA must also fit the cap with the access
    order = np.lexsort((np.arange(n), total))[:kk]     # ties broken by target index
    reach = order[np.isfinite(total[order])]
    road_m, paths = (np.zeros(0), [])
    if len(reach):
        road_m, paths = _walk(graph, pred, o, tg.node[reach], toward_root=True, keep_paths=True)
    out: list[RouteResult] = []
    for j, i in enumerate(reach):
        path = paths[j]
        geom = None
        if with_geometry:
            xy = np.column_stack([
                np.concatenate([[tg.lon[i]], graph.lon[path], [inc.lon[0]]]),
                np.concatenate([[tg.lat[i]], graph.lat[path], [inc.lat[0]]])])
            keep = np.ones(len(xy), dtype=bool)
            keep[1:] = np.any(xy[1:] != xy[:-1], axis=1)
            xy = xy[keep]
            geom = shapely.LineString(xy if len(xy) > 1 else np.vstack([xy, xy]))
        out.append(RouteResult(target=int(i), reachable=True, eta_s=float(total[i] + inc_access_s),
                               road_s=float(road[i]), road_m=float(road_m[j]),
                               access_from_m=float(tg.access_m[i]), access_to_m=float(inc.access_m[0]),
                               nodes=path, geometry=geom))
    for i in order[~np.isfinite(total[order])]:
        out.append(_unreachable(int(i), tg, inc))
    return out


def _unreachable(i: int, tg: Snap, inc: Snap) -> RouteResult:
    return RouteResult(target=int(i), reachable=False, eta_s=float("inf"), road_s=float("inf"),
                       road_m=float("inf"), access_from_m=float(tg.access_m[i]),
                       access_to_m=float(inc.access_m[0]))


def route(graph: RoadGraph, from_lon: float, from_lat: float, to_lon: float, to_lat: float, *,
          access_speed_kmh: float = DEFAULT_ACCESS_SPEED_KMH) -> RouteResult:
    """Fastest route between two points (a 1-target :func:`nearest_by_time`)."""
    return nearest_by_time(graph, to_lon, to_lat, (np.array([from_lon]), np.array([from_lat])), k=1,
                           access_speed_kmh=access_speed_kmh)[0]
