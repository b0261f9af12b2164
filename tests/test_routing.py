"""Routing engine: graph build, snapping, nearest-by-time against networkx, isochrones."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import shapely
from pyproj import Geod

from gis_service.routing import (
    DEFAULT_ACCESS_SPEED_KMH,
    RoadGraph,
    default_speeds,
    isochrone,
    many_to_one,
    nearest_by_time,
    node_times,
    one_to_many,
    route,
)

GEOD = Geod(ellps="WGS84")
SPEEDS = default_speeds()
CLASSES = ["motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential", "service"]


def glen(lon1, lat1, lon2, lat2) -> float:
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def random_network(seed: int, n_nodes: int = 60, n_lines: int = 120):
    """Random road lines between random nodes: two clusters (disconnected), one-ways, parallels."""
    rng = np.random.default_rng(seed)
    lon = np.where(np.arange(n_nodes) < n_nodes * 0.8, rng.uniform(125.0, 125.3, n_nodes),
                   rng.uniform(126.0, 126.1, n_nodes))
    lat = rng.uniform(43.0, 43.3, n_nodes)
    cluster = (np.arange(n_nodes) >= n_nodes * 0.8).astype(int)
    lines, cls, spd, ow, ref = [], [], [], [], nx.DiGraph()
    ref.add_nodes_from(range(n_nodes))
    for _ in range(n_lines):
        c = rng.integers(0, 2)
        pool = np.flatnonzero(cluster == c)
        path = rng.choice(pool, size=int(rng.integers(2, 5)), replace=False)
        rc = CLASSES[int(rng.integers(len(CLASSES)))]
        speed = float(rng.choice([30.0, 50.0])) if rng.random() < 0.2 else None
        one = bool(rng.random() < 0.3)
        lines.append(shapely.LineString(np.column_stack([lon[path], lat[path]])))
        cls.append(rc)
        spd.append(speed)
        ow.append(one)
        v = (speed if speed else SPEEDS[rc]) / 3.6
        for a, b in zip(path[:-1], path[1:], strict=True):
            t = glen(lon[a], lat[a], lon[b], lat[b]) / v
            for u, w in ((a, b),) if one else ((a, b), (b, a)):
                if not ref.has_edge(u, w) or ref[u][w]["t"] > t:
                    ref.add_edge(int(u), int(w), t=t)
    return lon, lat, lines, cls, spd, ow, ref


# ------------------------------------------------------------------ graph build
def test_lines_sharing_endpoints_connect_and_weights_are_geodesic_time():
    a = shapely.LineString([(125.0, 43.0), (125.01, 43.0)])
    b = shapely.LineString([(125.01, 43.0), (125.01, 43.01)])
    g = RoadGraph.from_lines([a, b], ["primary", "residential"], [None, 40.0], [False, True])
    assert g.n_nodes == 3
    assert g.n_arcs == 3                                    # 2 (two-way) + 1 (one-way)
    la = glen(125.0, 43.0, 125.01, 43.0)
    lb = glen(125.01, 43.0, 125.01, 43.01)
    i = g.arc_ids(g.snap(125.0, 43.0).node, g.snap(125.01, 43.0).node)[0]
    assert g.length_m[i] == pytest.approx(la, rel=1e-12)
    assert g.time_s[i] == pytest.approx(la / (SPEEDS["primary"] / 3.6), rel=1e-12)
    j = g.arc_ids(g.snap(125.01, 43.0).node, g.snap(125.01, 43.01).node)[0]
    assert g.time_s[j] == pytest.approx(lb / (40 / 3.6), rel=1e-12)
    assert g.arc_ids(g.snap(125.01, 43.01).node, g.snap(125.01, 43.0).node)[0] == -1


def test_parallel_lines_keep_fastest_multilines_and_geodataframe():
    import geopandas as gpd

    slow = shapely.LineString([(125.0, 43.0), (125.02, 43.0)])
    fast = shapely.LineString([(125.0, 43.0), (125.02, 43.0)])
    multi = shapely.MultiLineString([[(125.02, 43.0), (125.03, 43.0)], [(125.05, 43.0), (125.06, 43.0)]])
    df = gpd.GeoDataFrame({"road_class": ["service", "motorway", "tertiary"], "speed_kmh": [None, None, None],
                           "oneway": [False, False, None]}, geometry=[slow, fast, multi], crs="EPSG:4326")
    g = RoadGraph.from_lines(df)
    assert g.n_nodes == 5
    assert g.n_arcs == 6
    i = g.arc_ids(g.snap(125.0, 43.0).node, g.snap(125.02, 43.0).node)[0]
    assert g.time_s[i] == pytest.approx(glen(125.0, 43.0, 125.02, 43.0) / (SPEEDS["motorway"] / 3.6))


def test_unknown_class_without_speed_is_an_error_naming_the_line():
    with pytest.raises(ValueError, match="line 1.*'dirt'"):
        RoadGraph.from_lines([shapely.LineString([(125, 43), (125.1, 43)])] * 2, ["primary", "dirt"])
    g = RoadGraph.from_lines([shapely.LineString([(125, 43), (125.1, 43)])], ["dirt"], [35.0])
    assert g.time_s[0] == pytest.approx(glen(125, 43, 125.1, 43) / (35 / 3.6))


def test_save_load_roundtrip(tmp_path):
    lon, lat, lines, cls, spd, ow, _ = random_network(3)
    g = RoadGraph.from_lines(lines, cls, spd, ow)
    g.save(tmp_path / "g.npz")
    h = RoadGraph.load(tmp_path / "g.npz")
    for name in ("lon", "lat", "src", "dst", "time_s", "length_m", "line"):
        np.testing.assert_array_equal(getattr(g, name), getattr(h, name))
    assert h.meta == g.meta


def test_snap_is_nearest_node_with_access_leg():
    lon, lat, lines, cls, spd, ow, _ = random_network(5)
    g = RoadGraph.from_lines(lines, cls, spd, ow)
    rng = np.random.default_rng(0)
    plon, plat = rng.uniform(124.9, 126.2, 300), rng.uniform(42.9, 43.4, 300)
    s = g.snap(plon, plat)
    for i in range(len(plon)):
        d = GEOD.inv(np.full(g.n_nodes, plon[i]), np.full(g.n_nodes, plat[i]), g.lon, g.lat)[2]
        assert s.access_m[i] <= d.min() * (1 + 1e-3) + 1e-6
        assert s.access_s[i] == pytest.approx(s.access_m[i] / (DEFAULT_ACCESS_SPEED_KMH / 3.6))
    slow = g.snap(plon, plat, access_speed_kmh=10)
    np.testing.assert_allclose(slow.access_s, 2 * s.access_s)


# ------------------------------------------------------------------ searches vs networkx
@pytest.mark.parametrize("seed", range(25))
def test_nearest_by_time_matches_networkx(seed):
    lon, lat, lines, cls, spd, ow, ref = random_network(seed)
    g = RoadGraph.from_lines(lines, cls, spd, ow)
    rng = np.random.default_rng(seed + 1000)
    used = np.array(sorted({int(n) for n in ref.nodes if ref.degree(n) > 0}))
    node_of = {int(n): int(g.snap(lon[n], lat[n]).node[0]) for n in used}
    teams = rng.choice(used, size=min(12, len(used)), replace=False)
    # team points a little off their node (access leg), incident off its node too
    tlon = lon[teams] + rng.uniform(-0.002, 0.002, len(teams))
    tlat = lat[teams] + rng.uniform(-0.002, 0.002, len(teams))
    snapped = g.snap(tlon, tlat)
    for inc in rng.choice(used, size=4, replace=False):
        ilon, ilat = lon[inc] + 0.001, lat[inc] - 0.001
        isnap = g.snap(ilon, ilat)
        inc_ref = next(n for n in used if node_of[n] == isnap.node[0])
        dist_to = nx.single_source_dijkstra_path_length(ref.reverse(copy=False), inc_ref, weight="t")
        ref_eta = []
        for j in range(len(teams)):
            tnode = next(n for n in used if node_of[n] == snapped.node[j])
            d = dist_to.get(tnode, math.inf)
            ref_eta.append(snapped.access_s[j] + d + isnap.access_s[0])
        ref_eta = np.array(ref_eta)
        k = 5
        got = nearest_by_time(g, ilon, ilat, (tlon, tlat), k=k)
        assert len(got) == k
        expect = np.sort(ref_eta)[:k]
        np.testing.assert_allclose([r.eta_s for r in got], expect, rtol=1e-9)
        for r in got:
            assert r.eta_s == pytest.approx(ref_eta[r.target], rel=1e-9) or not r.reachable
            if not r.reachable:
                assert math.isinf(ref_eta[r.target])
                assert r.geometry is None
        # all-targets helper agrees as well
        mt = many_to_one(g, (tlon, tlat), ilon, ilat)
        np.testing.assert_allclose(mt.eta_s, ref_eta, rtol=1e-9)


@pytest.mark.parametrize("seed", range(10))
def test_one_to_many_matches_networkx(seed):
    lon, lat, lines, cls, spd, ow, ref = random_network(seed + 50)
    g = RoadGraph.from_lines(lines, cls, spd, ow)
    used = [int(n) for n in ref.nodes if ref.degree(n) > 0]
    o = used[0]
    d = nx.single_source_dijkstra_path_length(ref, o, weight="t")
    res = one_to_many(g, lon[o], lat[o], (lon[used], lat[used]))
    expect = np.array([d.get(n, math.inf) for n in used])
    np.testing.assert_allclose(res.eta_s, expect, rtol=1e-9)
    assert np.isinf(res.road_m[np.isinf(expect)]).all()


def test_eta_equals_hand_sum_and_route_geometry():
    # team at A' (off-road) → A —primary→ B —secondary→ C → incident C' (off-road)
    a, b, c = (125.0, 43.0), (125.05, 43.0), (125.05, 43.04)
    g = RoadGraph.from_lines([shapely.LineString([a, b]), shapely.LineString([b, c])],
                             ["primary", "secondary"], [None, 50.0], [False, False])
    team = (124.999, 43.001)
    inc = (125.0505, 43.0405)
    r = nearest_by_time(g, inc[0], inc[1], ([team[0]], [team[1]]), k=1)[0]
    v_acc = DEFAULT_ACCESS_SPEED_KMH / 3.6
    hand = (glen(*team, *a) / v_acc + glen(*a, *b) / (SPEEDS["primary"] / 3.6) + glen(*b, *c) / (50 / 3.6)
            + glen(*c, *inc) / v_acc)
    assert r.reachable
    assert r.eta_s == pytest.approx(hand, rel=1e-12)
    assert r.road_m == pytest.approx(glen(*a, *b) + glen(*b, *c), rel=1e-12)
    assert r.access_from_m == pytest.approx(glen(*team, *a))
    assert r.access_to_m == pytest.approx(glen(*c, *inc))
    assert list(r.geometry.coords) == [team, a, b, c, inc]
    assert r.eta_min == pytest.approx(hand / 60)
    assert route(g, *team, *inc).eta_s == pytest.approx(hand, rel=1e-12)


def test_unreachable_targets_are_reported_not_raised():
    a, b, c = (125.0, 43.0), (125.05, 43.0), (125.1, 43.0)
    island = [(126.0, 44.0), (126.05, 44.0)]
    g = RoadGraph.from_lines([shapely.LineString([a, b]), shapely.LineString([b, c]), shapely.LineString(island)],
                             ["primary", "primary", "primary"], None, [False, True, False])
    teams = ([125.0, 126.0, 125.1], [43.0, 44.0, 43.0])      # A, island, C (C → nowhere: one-way B→C)
    res = nearest_by_time(g, a[0], a[1], teams, k=5)
    assert len(res) == 3                                       # k capped at the number of teams
    assert [r.target for r in res] == [0, 1, 2]
    assert res[0].reachable and res[0].eta_s == 0.0
    assert not res[1].reachable and not res[2].reachable
    assert all(math.isinf(r.eta_s) and r.geometry is None for r in res[1:])
    # the one-way is fine the other way round: from A to C
    r = nearest_by_time(g, c[0], c[1], ([a[0]], [a[1]]), k=1)[0]
    assert r.reachable
    # a time cap makes far teams unreachable
    far = nearest_by_time(g, c[0], c[1], ([a[0]], [a[1]]), k=1, max_seconds=r.eta_s * 0.9)[0]
    assert not far.reachable
    assert nearest_by_time(g, c[0], c[1], ([a[0]], [a[1]]), k=1, max_seconds=r.eta_s * 1.01)[0].reachable
    with pytest.raises(ValueError):
        nearest_by_time(g, a[0], a[1], teams, k=0)
    assert nearest_by_time(g, a[0], a[1], ([], []), k=3) == []


def test_several_teams_on_one_node_and_bounded_search_exact_on_grid():
    # grid with a fast ring: exercises the limit-doubling stop rule against the exhaustive answer
    rng = np.random.default_rng(11)
    n = 30
    xs = 125 + np.arange(n) * 0.01
    ys = 43 + np.arange(n) * 0.01
    lines, cls = [], []
    for i in range(n):
        for j in range(n - 1):
            lines.append(shapely.LineString([(xs[j], ys[i]), (xs[j + 1], ys[i])]))
            lines.append(shapely.LineString([(xs[i], ys[j]), (xs[i], ys[j + 1])]))
            fast = i in (0, n - 1)
            cls += ["motorway" if fast else "residential"] * 2
    g = RoadGraph.from_lines(lines, cls)
    tl = rng.uniform(125, 125.29, 40)
    ta = rng.uniform(43, 43.29, 40)
    tl[5], ta[5] = tl[6], ta[6]                                # two teams at the same place
    for _ in range(10):
        ilon, ilat = rng.uniform(125, 125.29), rng.uniform(43, 43.29)
        full = many_to_one(g, (tl, ta), ilon, ilat)
        got = nearest_by_time(g, ilon, ilat, (tl, ta), k=7)
        np.testing.assert_allclose([r.eta_s for r in got], np.sort(full.eta_s)[:7], rtol=1e-12)
        for r in got:
            assert r.road_m == pytest.approx(full.road_m[r.target], rel=1e-9)
            # drawn route: road part equals the road distance
            xy = np.asarray(r.geometry.coords)
            assert tuple(xy[0]) == (tl[r.target], ta[r.target]) and tuple(xy[-1]) == (ilon, ilat)
            seg = GEOD.inv(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])[2].sum()
            assert seg == pytest.approx(r.total_m, rel=1e-6)
    assert len(g.snap(tl, ta).node) == 40


# ------------------------------------------------------------------ isochrones
def test_isochrone_on_a_straight_road():
    # 20 km east-west primary road; 5 minutes at 65 km/h ≈ 5.4 km
    road = shapely.LineString([(125.0 + i * 0.01, 43.0) for i in range(25)])
    g = RoadGraph.from_lines([road], ["primary"])
    iso = isochrone(g, 125.0, 43.0, 5)
    reach_m = 5 * 60 * SPEEDS["primary"] / 3.6
    deg_per_m = 0.01 / glen(125.0, 43.0, 125.01, 43.0)
    inside = shapely.Point(125.0 + (reach_m - 300) * deg_per_m, 43.0)
    outside = shapely.Point(125.0 + (reach_m + 700) * deg_per_m, 43.0)
    assert iso.geometry.contains(inside)
    assert not iso.geometry.contains(outside)
    # 500 m buffer sideways, not 1 km
    assert iso.geometry.contains(shapely.Point(125.02, 43.0 + 400 / 111_000))
    assert not iso.geometry.contains(shapely.Point(125.02, 43.0 + 700 / 111_000))
    # too far off the network to reach it in time: empty
    assert isochrone(g, 125.0, 43.2, 5).geometry.is_empty


@pytest.mark.parametrize("seed", range(5))
def test_isochrone_contains_reachable_nodes_only(seed):
    from gis_service.geodesy import to_local

    lon, lat, lines, cls, spd, ow, ref = random_network(seed + 200, n_nodes=80, n_lines=200)
    g = RoadGraph.from_lines(lines, cls, spd, ow)
    used = [int(n) for n in ref.nodes if ref.degree(n) > 0]
    o = used[0]
    minutes, width = 6.0, 300.0
    budget = minutes * 60
    iso = isochrone(g, lon[o], lat[o], minutes, width_m=width)
    d = nx.single_source_dijkstra_path_length(ref, o, weight="t")
    t, _, _ = node_times(g, lon[o], lat[o], budget)
    # reference reachable network from networkx times: arcs cut in proportion to the time left
    pieces = []
    for u, v, data in ref.edges(data=True):
        if d.get(u, math.inf) <= budget:
            f = min(1.0, (budget - d[u]) / data["t"])
            pieces.append(shapely.LineString([(lon[u], lat[u]),
                                              (lon[u] + f * (lon[v] - lon[u]), lat[u] + f * (lat[v] - lat[u]))]))
    reach_local = to_local(shapely.MultiLineString(pieces), lon[o], lat[o])
    n_in = n_out = 0
    for n in used:
        p = shapely.Point(lon[n], lat[n])
        ref_t = d.get(n, math.inf)
        if ref_t <= budget:
            assert iso.geometry.buffer(1e-7).contains(p), n
            assert t[g.snap(lon[n], lat[n]).node[0]] == pytest.approx(ref_t, rel=1e-9, abs=1e-9)
            n_in += 1
        elif reach_local.distance(to_local(p, lon[o], lat[o])) > width * 1.02 + 1:
            assert not iso.geometry.contains(p), n       # not reachable and not beside a reached road
            n_out += 1
    assert n_in >= 1 and n_out >= 1


def test_main_component_snapping_avoids_islands():
    main = shapely.LineString([(125.0, 43.0), (125.1, 43.0), (125.2, 43.0)])
    island = shapely.LineString([(125.1, 43.05), (125.101, 43.05)])
    g = RoadGraph.from_lines([main, island], ["primary", "service"])
    assert g.component.max() == 1
    inc = (125.1, 43.049)                        # nearest node is on the island
    team = ([125.0], [43.0])
    assert not nearest_by_time(g, *inc, team, k=1)[0].reachable
    r = nearest_by_time(g, *inc, team, k=1, main_component_only=True)[0]
    assert r.reachable and r.access_to_m == pytest.approx(glen(125.1, 43.0, *inc))
