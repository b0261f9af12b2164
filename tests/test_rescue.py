"""Rescue analysis: capability table, straight-line ranking vs brute force, road times vs networkx,
coverage gaps checked independently — on the Jilin sample in both stores."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely
from conftest import services_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import LineString, Point

from gis_service.analysis.rescue.engine import nearest_teams
from gis_service.analysis.rescue.inputs import (
    COVERAGE_LAYERS,
    INCIDENT_BY_LAYER,
    arrival_standard_min,
    capable_team_types,
    representative_point,
)
from gis_service.models.rescue_standards import parse_overrides
from gis_service.routing import DEFAULT_ACCESS_SPEED_KMH, RoadGraph, default_speeds
from gis_service.stores.base import WriteBatch
from gis_service.validation import ValidationFailed, validate_rows

GEOD = Geod(ellps="WGS84")
ENGINES = ["embedded", "postgis"]


# ------------------------------------------------------------------ capability table

def test_capability_matching_follows_the_brief():
    assert capable_team_types("mine") == ["mine_rescue"]
    assert capable_team_types("goaf") == ["mine_rescue"]
    assert capable_team_types("tailings_dam") == ["mine_rescue"]
    assert capable_team_types("chemical") == ["hazmat", "fire"]
    assert capable_team_types("fire") == ["fire"]
    assert capable_team_types("medical") == ["medical"]
    assert capable_team_types("chemical,medical") == ["hazmat", "fire", "medical"]


def test_arrival_standards_name_their_sources():
    m, src = arrival_standard_min("mine_rescue", {})
    assert m == 30 and "AQ 1008" in src
    m, src = arrival_standard_min("fire", {})
    assert m == 5 and "GB 51080" in src
    m, src = arrival_standard_min("hazmat", {})
    assert m == 30 and "configurable" in src
    m, src = arrival_standard_min("hazmat", {"hazmat": 20})
    assert m == 20 and "GIS_RESCUE_STANDARD_MIN" in src and "30" in src


def test_bad_incident_and_override_are_rejected():
    with pytest.raises(ValidationFailed) as e:
        capable_team_types("volcano")
    assert e.value.problems[0].field == "incident" and "volcano" in e.value.problems[0].message
    with pytest.raises(ValueError, match="GIS_RESCUE_STANDARD_MIN"):
        parse_overrides("hazmat:-3")
    with pytest.raises(ValueError):
        parse_overrides("dragons:10")
    assert parse_overrides("hazmat:20, medical:15") == {"hazmat": 20.0, "medical": 15.0}


@pytest.mark.parametrize("kwargs, field", [({"k": 0}, "k"), ({"k": 51}, "k"), ({"by": "fly"}, "by"),
                                           ({"min_personnel": -1}, "min_personnel"),
                                           ({"incident": "volcano"}, "incident")])
def test_bad_arguments_name_the_field(embedded_store, kwargs, field):
    args = {"incident": "mine", **kwargs}
    with pytest.raises(ValidationFailed) as e:
        nearest_teams(embedded_store, Point(125.5, 43.8), **args)
    assert field in {p.field for p in e.value.problems}


def test_point_outside_the_data_is_rejected(embedded_store):
    with pytest.raises(ValidationFailed) as e:
        services_for(embedded_store).rescue.nearest(116.4, 39.9, "mine")   # Beijing (outside the data)
    assert {p.field for p in e.value.problems} == {"lon", "lat"}


# ------------------------------------------------------------------ straight line vs brute force

def brute_force(store, geom, incident, k, min_personnel, on_duty_only):
    teams = store.frame("rescue_teams")
    types = capable_team_types(incident)
    keep = [i for i, r in teams.iterrows()
            if r.team_type in types and (not on_duty_only or r.on_duty is True or r.on_duty == 1)
            and (min_personnel <= 0 or (r.personnel is not None and r.personnel >= min_personnel))]
    p = geom if geom.geom_type == "Point" else None
    rows = []
    for fid in keep:
        t = teams.geometry[fid]
        if p is not None:
            d = GEOD.inv(p.x, p.y, t.x, t.y)[2]
        else:  # polygon incident: 0 inside, else geodesic distance to the nearest boundary point
            d = 0.0 if geom.covers(t) else _distance_to_boundary(geom, t)
        rows.append((d, fid))
    rows.sort()
    return rows[:k]


def _distance_to_boundary(poly, pt) -> float:
    # dense geodesic sampling of the boundary (the polygons are small): fine reference
    ring = poly.exterior
    pts = [ring.interpolate(f, normalized=True) for f in np.linspace(0, 1, 4001)]
    return min(GEOD.inv(pt.x, pt.y, q.x, q.y)[2] for q in pts)


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lon=st.floats(121.8, 131.0), lat=st.floats(41.0, 46.2),
       incident=st.sampled_from(["mine", "chemical", "fire", "medical", "chemical,medical"]),
       k=st.integers(1, 12), min_personnel=st.sampled_from([0, 0, 40, 80]), on_duty=st.booleans())
def test_straight_line_ranking_equals_brute_force(sample_stores, engine, lon, lat, incident, k, min_personnel,
                                                  on_duty):
    store = sample_stores[engine]
    ans = nearest_teams(store, Point(lon, lat), incident, k=k, min_personnel=min_personnel,
                               on_duty_only=on_duty)
    ref = brute_force(store, Point(lon, lat), incident, k, min_personnel, on_duty)
    assert [t.id for t in ans.teams] == [fid for _, fid in ref]
    for t, (d, _) in zip(ans.teams, ref, strict=True):
        assert t.distance_m == pytest.approx(d, rel=1e-7, abs=1e-3)
        az = GEOD.inv(lon, lat, t.lon, t.lat)[0] % 360
        assert abs((t.bearing_deg - az + 180) % 360 - 180) < 1e-6
        assert t.team_type in capable_team_types(incident)
    assert (ans.reason is None) == bool(ref)


@pytest.mark.parametrize("engine", ENGINES)
def test_polygon_incident_distance_is_to_the_polygon(sample_stores, engine):
    store = sample_stores[engine]
    goaf = store.get("goaf_areas", 3)
    ans = nearest_teams(store, goaf.geometry, "goaf", k=3)
    ref = brute_force(store, goaf.geometry, "goaf", 3, 0, True)
    assert [t.id for t in ans.teams] == [fid for _, fid in ref]
    for t, (d, _) in zip(ans.teams, ref, strict=True):
        assert t.distance_m == pytest.approx(d, rel=1e-4, abs=1.0)


def test_empty_answer_says_why(embedded_store):
    ans = nearest_teams(embedded_store, Point(125.5, 43.8), "mine", min_personnel=100000)
    assert ans.teams == [] and "mine_rescue" in ans.reason and "100000" in ans.reason
    fc = ans.to_feature_collection()            # typed (issue 23): attributes, and the same in its JSON
    assert fc.features == [] and fc.metadata.reason == ans.reason
    assert ans.to_dict()["metadata"]["reason"] == ans.reason
    ans = nearest_teams(embedded_store, Point(125.5, 43.8), "mine", by="time",
                               graph=RoadGraph.from_lines([]))
    assert ans.teams == [] and "road" in ans.reason


# ------------------------------------------------------------------ independent networkx reference

def reference_graph(roads) -> tuple[nx.DiGraph, dict]:
    """Road lines → networkx graph written from scratch: nodes = rounded vertex coordinates."""
    speeds = default_speeds()
    g = nx.DiGraph()
    coords: dict = {}
    for _, r in roads.iterrows():
        v = r.speed_kmh if r.speed_kmh is not None and r.speed_kmh == r.speed_kmh and r.speed_kmh > 0 \
            else speeds[r.road_class]
        pts = list(r.geometry.coords)
        for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:], strict=True):
            a, b = (round(x0, 7), round(y0, 7)), (round(x1, 7), round(y1, 7))
            if a == b:
                continue
            coords[a], coords[b] = (x0, y0), (x1, y1)
            t = GEOD.inv(x0, y0, x1, y1)[2] / (v / 3.6)
            for u, w in ((a, b), (b, a)) if not r.oneway else ((a, b),):
                if not g.has_edge(u, w) or g[u][w]["weight"] > t:
                    g.add_edge(u, w, weight=t)
    main = max(nx.weakly_connected_components(g), key=len)
    return g, {n: coords[n] for n in main}


def ref_snap(nodes: dict, x: float, y: float) -> tuple[tuple, float]:
    keys = list(nodes)
    xy = np.array([nodes[n] for n in keys])
    d = GEOD.inv(np.full(len(xy), x), np.full(len(xy), y), xy[:, 0], xy[:, 1])[2]
    i = int(np.argmin(d))
    return keys[i], float(d[i]) / (DEFAULT_ACCESS_SPEED_KMH / 3.6)


@pytest.fixture(scope="module")
def reference(sample_stores):
    return reference_graph(sample_stores["embedded"].frame("roads"))


def ref_etas_to(reference, teams, x, y) -> dict[int, float]:
    """ETA (s) of each team to (x, y) by networkx: team access + Dijkstra + incident access."""
    g, nodes = reference
    inc, inc_acc = ref_snap(nodes, x, y)
    to_inc = nx.single_source_dijkstra_path_length(g.reverse(copy=False), inc, weight="weight")
    out = {}
    for fid, geom in teams.geometry.items():
        node, acc = ref_snap(nodes, geom.x, geom.y)
        if node in to_inc:
            out[int(fid)] = acc + to_inc[node] + inc_acc
    return out


@pytest.mark.parametrize("engine", ENGINES)
def test_road_times_through_the_api_equal_networkx(sample_stores, reference, engine):
    from fastapi.testclient import TestClient

    from gis_service.api.app import create_app
    from gis_service.config import Settings

    store = sample_stores[engine]
    client = TestClient(create_app(Settings(), store))
    teams_all = store.frame("rescue_teams")
    checked = 0
    for layer, fid in [("hazard_sources", 1), ("hazard_sources", 200), ("tailings_dams", 5), ("goaf_areas", 10),
                       ("tailings_dams", 60)]:
        r = client.get(f"/analysis/rescue/nearest/{layer}/{fid}", params={"k": 4, "by": "time"})
        assert r.status_code == 200, r.text
        doc = r.json()
        teams = [f for f in doc["features"] if f["properties"]["kind"] == "team"]
        routes = {f["properties"]["team_id"]: f for f in doc["features"] if f["properties"]["kind"] == "route"}
        o = doc["metadata"]["origin"]
        types = doc["metadata"]["capable_team_types"]
        cand = teams_all[teams_all.team_type.isin(types) & teams_all.on_duty.astype(bool)]
        ref = ref_etas_to(reference, cand, o["lon"], o["lat"])
        ranked = sorted(ref.items(), key=lambda kv: (kv[1], kv[0]))[:4]
        assert [f["properties"]["team_id"] for f in teams] == [fid for fid, _ in ranked]
        for f, (_, eta_s) in zip(teams, ranked, strict=True):
            p = f["properties"]
            assert p["eta_min"] == pytest.approx(eta_s / 60, abs=0.006)      # API rounds to 0.01 min
            assert p["meets_standard"] == (eta_s / 60 <= p["standard_min"])
            route = shapely.geometry.shape(routes[p["team_id"]]["geometry"])
            assert route.coords[0] == pytest.approx(tuple(f["geometry"]["coordinates"]), abs=1e-6)
            assert route.coords[-1] == pytest.approx((o["lon"], o["lat"]), abs=1e-6)
            assert GEOD.geometry_length(route) == pytest.approx(p["road_distance_m"], rel=1e-6, abs=0.2)
            checked += 1
    assert checked == 20


# ------------------------------------------------------------------ coverage

@pytest.fixture(scope="module")
def coverage_reports(sample_stores):
    return {e: services_for(sample_stores[e]).rescue.coverage() for e in ENGINES}


def test_coverage_is_the_same_on_both_stores(coverage_reports):
    a, b = (coverage_reports[e].to_feature_collection() for e in ENGINES)
    assert [f.id for f in a.features] == [f.id for f in b.features]
    assert a.metadata.counties == b.metadata.counties


def test_coverage_lists_real_gaps_checked_by_networkx(sample_stores, coverage_reports, reference):
    store = sample_stores["embedded"]
    rep = coverage_reports["embedded"]
    assert rep.totals.gaps > 0
    by_layer = rep.totals.by_layer
    assert all(v.gaps > 0 for v in by_layer.values()), by_layer    # gaps in every hazard layer
    assert sum(c.gaps for c in rep.counties) == rep.totals.gaps == len(rep.gaps)
    assert sum(c.features for c in rep.counties) == rep.totals.features
    teams = store.frame("rescue_teams")
    teams = teams[teams.on_duty.astype(bool)]
    g, nodes = reference
    gap_keys = {(f.properties.layer, f.properties.feature_id) for f in rep.gaps}

    def best_within_standard(layer, fid) -> bool:
        geom = store.get(layer, fid).geometry
        p = representative_point(geom)
        target, acc_t = ref_snap(nodes, p.x, p.y)
        for team_type in capable_team_types(INCIDENT_BY_LAYER[layer]):
            std_s = 60 * arrival_standard_min(team_type, {})[0]
            for _, t in teams[teams.team_type == team_type].iterrows():
                src, acc_s = ref_snap(nodes, t.geometry.x, t.geometry.y)
                try:
                    road = nx.dijkstra_path_length(g, src, target, weight="weight")
                except nx.NetworkXNoPath:
                    continue
                if acc_s + road + acc_t <= std_s:
                    return True
        return False

    rng = np.random.default_rng(4)
    for layer in COVERAGE_LAYERS:
        frame = store.frame(layer, ["name"])
        gaps = [fid for (lay, fid) in gap_keys if lay == layer]
        covered = [fid for fid in frame.index if (layer, fid) not in gap_keys]
        for fid in rng.choice(gaps, size=min(2, len(gaps)), replace=False):
            assert not best_within_standard(layer, int(fid)), (layer, fid)
        for fid in rng.choice(covered, size=min(2, len(covered)), replace=False):
            assert best_within_standard(layer, int(fid)), (layer, fid)


def test_coverage_county_from_attribute_or_admin_polygon(sample_stores, coverage_reports):
    store = sample_stores["embedded"]
    admin = store.frame("admin_areas")
    counties = set(admin[admin.level == "county"]["name"])
    for f in coverage_reports["embedded"].gaps[:30]:
        p = f.properties
        own = store.get(p.layer, p.feature_id).properties.get("county")
        if own:
            assert p.county == own
        else:
            assert p.county in counties | {"未知 unknown"}


def test_coverage_minutes_override_is_monotone(sample_stores):
    store = sample_stores["embedded"]
    tight = services_for(store).rescue.coverage("mine", 10)
    loose = services_for(store).rescue.coverage("mine", 120)
    t_ids = {f.id for f in tight.gaps}
    l_ids = {f.id for f in loose.gaps}
    assert l_ids < t_ids
    with pytest.raises(ValidationFailed):
        services_for(store).rescue.coverage("mine", -5)


# ------------------------------------------------------------------ isochrones and the graph cache

def test_isochrones_nest_and_contain_the_team(sample_stores):
    store = sample_stores["embedded"]
    doc = services_for(store).rescue.isochrones(1, "10,30,20")
    feats = doc["features"]
    assert [f["properties"]["minutes"] for f in feats] == [30, 20, 10]
    shapes = [shapely.geometry.shape(f["geometry"]) for f in feats]
    team = store.get("rescue_teams", 1).geometry
    assert all(s.buffer(1e-6).contains(team) for s in shapes)
    assert shapes[0].area > shapes[1].area > shapes[2].area > 0
    # nested up to the simplification tolerance of the isochrone outline (width_m / 10)
    assert shapes[1].difference(shapes[0]).area < 0.01 * shapes[1].area
    with pytest.raises(ValidationFailed):
        services_for(store).rescue.isochrones(1, "10,x")


def test_road_graph_cache_follows_writes(fresh_store, catalog):
    """The rescue facade keeps one graph per roads revision: a written road is routed on at the next request."""
    rescue = services_for(fresh_store).rescue
    g1 = rescue.road_graph()
    assert rescue.road_graph() is g1
    rev = fresh_store.revision("roads")
    rows = validate_rows(catalog["roads"], [(LineString([(125.0, 44.5), (125.3, 44.6)]),
                                             {"road_class": "tertiary", "oneway": False})])
    new = fresh_store.write("roads", WriteBatch(creates=rows))
    assert fresh_store.revision("roads") != rev
    g2 = rescue.road_graph()
    assert g2 is not g1 and g2.n_arcs == g1.n_arcs + 2
    fresh_store.write("roads", WriteBatch(deletes=new))
    g3 = rescue.road_graph()
    assert g3.n_arcs == g1.n_arcs
    assert rescue.road_graph() is g3


def _one_way(x0, x1, lat=43.9) -> RoadGraph:
    return RoadGraph.from_lines([LineString([(x0, lat), (x1, lat)])], ["primary"], [60.0], [True])


def test_teams_behind_a_one_way_road_are_unreachable(embedded_store):
    # one road, one-way west → east; the incident sits at its west end: teams snapped to the east
    # end can never arrive, teams snapped to the west end arrive over their access leg only
    g = _one_way(125.0, 126.2)
    ans = nearest_teams(embedded_store, Point(125.0, 43.9), "mine", k=50, by="time", graph=g,
                               on_duty_only=False, standards={})
    assert ans.reason is None and ans.teams
    for t in ans.teams:
        west = GEOD.inv(t.lon, t.lat, 125.0, 43.9)[2] < GEOD.inv(t.lon, t.lat, 126.2, 43.9)[2]
        assert t.reachable is west
        if west:
            access = GEOD.inv(t.lon, t.lat, 125.0, 43.9)[2]
            assert t.eta_min == pytest.approx(access / (DEFAULT_ACCESS_SPEED_KMH / 3.6) / 60, rel=1e-9)
        else:
            assert t.eta_min is None and t.meets_standard is False and t.route is None
    etas = [t.eta_min for t in ans.teams if t.reachable]
    assert etas == sorted(etas) and ans.teams[: len(etas)] == [t for t in ans.teams if t.reachable]


def test_no_reachable_team_says_why(embedded_store):
    g = _one_way(124.55, 125.3)                   # every team is nearer the east end
    ans = nearest_teams(embedded_store, Point(124.55, 43.9), "mine", k=3, by="time", graph=g)
    assert ans.teams and not any(t.reachable for t in ans.teams)
    assert "reach" in ans.reason


@pytest.mark.parametrize("engine", ["embedded", "postgis"])
def test_team_types_narrow_the_search(sample_stores, engine):
    store = sample_stores[engine]
    geom = Point(126.55, 43.85)
    hazmat = nearest_teams(store, geom, "chemical", k=3, team_types=["hazmat"])
    kinds = store.frame("rescue_teams", ["team_type"])["team_type"]
    want = [fid for _, fid in brute_force(store, geom, "chemical", 1000, 0, True) if kinds[fid] == "hazmat"][:3]
    assert [t.id for t in hazmat.teams] == want
    by_time = services_for(store).rescue.nearest_to(geom, "chemical", k=2, by="time", team_types=["fire"])
    assert by_time.teams and all(t.team_type == "fire" for t in by_time.teams)
    with pytest.raises(ValidationFailed) as exc:
        nearest_teams(store, geom, "mine", team_types=["hazmat"])
    assert exc.value.problems[0].field == "team_types"
