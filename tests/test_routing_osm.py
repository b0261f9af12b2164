"""OSM PBF import: the test writes a small PBF with pyosmium, imports it, routes across it."""

from __future__ import annotations

import pytest
import shapely
from pyproj import Geod

osmium = pytest.importorskip("osmium")
from osmium.osm.mutable import Node, Way  # noqa: E402

from gis_service.routing import (  # noqa: E402
    DEFAULT_ACCESS_SPEED_KMH,
    RoadGraph,
    default_speeds,
    graph_from_osm,
    nearest_by_time,
    read_osm_roads,
)
from gis_service.routing.osm import parse_maxspeed  # noqa: E402

GEOD = Geod(ellps="WGS84")
SPEEDS = default_speeds()
P = {1: (125.00, 43.00), 2: (125.01, 43.00), 3: (125.02, 43.00), 4: (125.02, 43.01), 5: (125.00, 43.01),
     6: (125.03, 43.02), 7: (125.04, 43.02)}


def glen(a, b) -> float:
    return float(GEOD.inv(P[a][0], P[a][1], P[b][0], P[b][1])[2])


@pytest.fixture(scope="module")
def pbf(tmp_path_factory):
    path = tmp_path_factory.mktemp("osm") / "jilin_small.osm.pbf"
    with osmium.SimpleWriter(str(path)) as w:
        for nid, (x, y) in P.items():
            w.add_node(Node(id=nid, location=(x, y), tags={}))
        w.add_way(Way(id=100, nodes=[1, 2, 3], tags={"highway": "primary", "maxspeed": "60", "name": "长春路"}))
        w.add_way(Way(id=101, nodes=[3, 4], tags={"highway": "residential", "oneway": "yes"}))
        w.add_way(Way(id=102, nodes=[5, 4], tags={"highway": "secondary", "oneway": "-1", "maxspeed": "25 mph"}))
        w.add_way(Way(id=103, nodes=[1, 5], tags={"highway": "footway"}))             # skipped
        w.add_way(Way(id=104, nodes=[5, 1], tags={"highway": "motorway_link"}))       # implied one-way
        w.add_way(Way(id=105, nodes=[6, 7], tags={"highway": "service", "access": "private"}))  # skipped
        w.add_way(Way(id=106, nodes=[2, 5], tags={"building": "yes"}))                # not a road
    return path


def test_read_osm_roads_rows(pbf):
    rows = read_osm_roads(pbf).set_index("osm_id")
    assert sorted(rows.index) == [100, 101, 102, 104]
    assert rows.crs.to_epsg() == 4326
    r = rows.loc[100]
    assert (r.road_class, r.speed_kmh, bool(r.oneway), r["name"]) == ("primary", 60.0, False, "长春路")
    assert list(r.geometry.coords) == [P[1], P[2], P[3]]
    r = rows.loc[101]
    assert r.road_class == "residential" and bool(r.oneway) and r.speed_kmh != r.speed_kmh   # NaN → class
    r = rows.loc[102]                                   # oneway=-1: geometry reversed, one-way
    assert bool(r.oneway) and list(r.geometry.coords) == [P[4], P[5]]
    assert r.speed_kmh == pytest.approx(25 * 1.609344)
    r = rows.loc[104]
    assert r.road_class == "motorway" and bool(r.oneway) and r.speed_kmh == SPEEDS["motorway_link"]
    assert set(rows.columns) >= {"name", "road_class", "speed_kmh", "oneway", "data_source", "geometry"}


def test_route_across_imported_pbf_matches_hand_times(pbf):
    g = graph_from_osm(pbf)
    assert isinstance(g, RoadGraph)
    assert g.n_nodes == 5
    assert g.n_arcs == 4 + 1 + 1 + 1          # primary both ways (2 segments), 3 one-way arcs
    v = {n: s / 3.6 for n, s in (("primary", 60), ("res", SPEEDS["residential"]), ("sec", 25 * 1.609344),
                                   ("link", SPEEDS["motorway_link"]))}
    # 1 → 5: primary 1-2-3, residential 3→4 (one-way ok), secondary 4→5 (oneway=-1 way 5-4)
    r = nearest_by_time(g, *P[5], ([P[1][0]], [P[1][1]]), k=1)[0]
    hand = (glen(1, 2) + glen(2, 3)) / v["primary"] + glen(3, 4) / v["res"] + glen(4, 5) / v["sec"]
    assert r.reachable
    assert r.eta_s == pytest.approx(hand, rel=1e-9)
    assert r.road_m == pytest.approx(glen(1, 2) + glen(2, 3) + glen(3, 4) + glen(4, 5), rel=1e-9)
    assert list(r.geometry.coords) == [P[1], P[2], P[3], P[4], P[5]]
    # 5 → 3: 5→4 is against the one-way; must take the link 5→1 then the primary 1→2→3
    r = nearest_by_time(g, *P[3], ([P[5][0]], [P[5][1]]), k=1)[0]
    hand = glen(5, 1) / v["link"] + (glen(1, 2) + glen(2, 3)) / v["primary"]
    assert r.eta_s == pytest.approx(hand, rel=1e-9)
    assert list(r.geometry.coords) == [P[5], P[1], P[2], P[3]]
    # with access legs: a team 200 m-ish off node 1, incident off node 5
    team = (125.0, 42.998)
    inc = (125.001, 43.011)
    r = nearest_by_time(g, *inc, ([team[0]], [team[1]]), k=1)[0]
    acc = (GEOD.inv(*team, *P[1])[2] + GEOD.inv(*P[5], *inc)[2]) / (DEFAULT_ACCESS_SPEED_KMH / 3.6)
    hand = (glen(1, 2) + glen(2, 3)) / v["primary"] + glen(3, 4) / v["res"] + glen(4, 5) / v["sec"] + acc
    assert r.eta_s == pytest.approx(hand, rel=1e-9)
    assert shapely.get_num_points(r.geometry) == 7


@pytest.mark.parametrize("raw, kmh", [("60", 60.0), ("60 km/h", 60.0), ("30 mph", 30 * 1.609344),
                                       ("40;60", 40.0), ("none", None), ("CN:urban", None), ("signals", None),
                                       (None, None), ("0", None), ("300", 150.0)])
def test_parse_maxspeed(raw, kmh):
    assert parse_maxspeed(raw) == (pytest.approx(kmh) if kmh else None)
