"""Siting checks on the Jilin sample, on both stores: each conflict fails with the right rule and evidence.

Positions are chosen from the data in the test (a goaf's representative point, a point inside a
dam's breach corridor, a school, an existing park, a spot far from everything), and the expected
numbers are computed here independently (geodesic areas of intersections, distances).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from conftest import services_for
from shapely.geometry import Point, box

from gis_service import geodesy
from gis_service.analysis.siting.results import OUTCOMES, Proposal
from gis_service.analysis.siting.rules import load_rule_sets, rule_set_for
from gis_service.models import goaf as goaf_model
from gis_service.models import tailings as tailings_model

ENGINES = ["embedded", "postgis"]


def square(lon: float, lat: float, side_m: float) -> shapely.Polygon:
    """A geodesic-ish square of ``side_m`` centred on (lon, lat), built in the local AEQD plane."""
    h = side_m / 2
    return geodesy.from_local(box(-h, -h, h, h), lon, lat)


def offset(lon: float, lat: float, az_deg: float, metres: float) -> tuple[float, float]:
    x, y, _ = geodesy.WGS84.fwd(lon, lat, az_deg, metres)
    return float(x), float(y)


def park(geom, name="test park") -> Proposal:
    return Proposal(geom, "park", name)


@pytest.fixture(params=ENGINES)
def store(request, sample_stores):
    return sample_stores[request.param]


def test_rule_sets_load_and_cover_every_issue_rule(catalog):
    sets = load_rule_sets(catalog)
    park_rules = {r.id for r in rule_set_for(sets, "park").rules}
    assert {"goaf_influence", "tailings_breach_corridor", "external_safety_distance", "protection_targets_inside",
            "domino_outgoing", "domino_incoming", "other_park_overlap", "drinking_water_zones", "nature_reserves",
            "ecological_redlines", "seismic_faults", "rescue_hazmat", "rescue_fire", "min_area"} <= park_rules
    inst = {r.id for r in rule_set_for(sets, "installation").rules}
    assert "min_area" not in inst and "protection_targets_inside" not in inst
    for rs in sets.values():
        for r in rs.rules:
            assert r.description_zh and r.description_en and r.source


def test_proposal_on_a_goaf_fails(store):
    goafs = store.frame("goaf_areas")
    gid = int(goafs.index[0])
    g = goafs.geometry.loc[gid]
    rp = g.representative_point()
    proposal = square(rp.x, rp.y, 1600)
    report = services_for(store).siting.check(park(proposal))
    out = report.outcome("goaf_influence")
    assert report.verdict == "fail" and out.outcome == "fail"
    ids = [o["id"] for o in out.offending]
    assert gid in ids
    # independent bounds: the zone contains the goaf outline, so the overlap is at least square ∩ goaf
    lower = geodesy.area_m2(shapely.intersection(proposal, g))
    assert lower > 0
    assert lower * 0.99 <= out.measured <= geodesy.area_m2(proposal) * 1.001
    assert out.unit == "m²"
    hit = next(o for o in out.offending if o["id"] == gid)
    depth = goafs.loc[gid, "mining_depth_m"]
    tb = goafs.loc[gid, "tan_beta"]
    tb = goaf_model.TAN_BETA if tb is None or (isinstance(tb, float) and math.isnan(tb)) else tb
    assert hit["influence_radius_m"] == pytest.approx(depth / tb, abs=0.01)
    assert any(c["properties"]["id"] == gid and c["geometry"]["type"] in ("Polygon", "MultiPolygon")
               for c in out.conflicts)


def test_point_just_outside_goaf_but_inside_influence_zone_fails(store):
    goafs = store.frame("goaf_areas")
    gid = int(goafs.index[1])
    g, depth = goafs.geometry.loc[gid], float(goafs.loc[gid, "mining_depth_m"])
    tb = goafs.loc[gid, "tan_beta"]
    r = depth / (goaf_model.TAN_BETA if tb is None or (isinstance(tb, float) and math.isnan(tb)) else tb)
    # a point at ~r/2 outside the outline: north of the northernmost vertex
    coords = shapely.get_coordinates(g)
    top = coords[np.argmax(coords[:, 1])]
    lon, lat = offset(top[0], top[1], 0.0, r / 2)
    inside = services_for(store).siting.check(Proposal(Point(lon, lat), "installation"), only=["goaf_influence"])
    assert inside.outcome("goaf_influence").outcome == "fail"
    lon, lat = offset(top[0], top[1], 0.0, r + 500)
    outside = services_for(store).siting.check(Proposal(Point(lon, lat), "installation"), only=["goaf_influence"])
    assert gid not in [o["id"] for o in outside.outcome("goaf_influence").offending]


def test_installation_inside_breach_corridor_fails(store):
    dams = store.frame("tailings_dams")
    did = int(dams.index[0])
    row = dams.loc[did]
    run = tailings_model.breach_runout(row["dam_height_m"], row["total_storage_1e4m3"])
    lon, lat = offset(row.geometry.x, row.geometry.y, row["downstream_azimuth_deg"], run.corridor_length_m / 2)
    report = services_for(store).siting.check(Proposal(Point(lon, lat), "installation", "pump house"))
    out = report.outcome("tailings_breach_corridor")
    assert out.outcome == "fail" and report.verdict == "fail"
    assert did in [o["id"] for o in out.offending]
    assert any(c["properties"]["id"] == did for c in out.conflicts)
    # upstream of the dam by the same distance is not in this dam's corridor
    lon2, lat2 = offset(row.geometry.x, row.geometry.y, (row["downstream_azimuth_deg"] + 180) % 360,
                        run.corridor_length_m / 2)
    up = services_for(store).siting.check(Proposal(Point(lon2, lat2), "installation"), only=["tailings_breach_corridor"])
    assert did not in [o["id"] for o in up.outcome("tailings_breach_corridor").offending]


def _isolated_school(store):
    """A point school with no park within 5 km (so the test park does not touch a park)."""
    schools = store.frame("receptors")
    schools = schools[(schools["receptor_class"] == "school") & (schools.geometry.geom_type == "Point")]
    for sid, g in zip(schools.index, schools.geometry, strict=True):
        if not store.within("chemical_parks", g, 5000):
            return int(sid), g
    pytest.fail("no isolated school in the sample: the deterministic sample data changed")


def test_park_next_to_a_school_fails_with_distance(store):
    sid, school = _isolated_school(store)
    side, gap = 1600.0, 300.0
    lon, lat = offset(school.x, school.y, 90.0, gap + side / 2)
    proposal = square(lon, lat, side)
    report = services_for(store).siting.check(park(proposal))
    out = report.outcome("external_safety_distance")
    assert out.outcome == "fail"
    ids = [o["id"] for o in out.offending]
    assert sid in ids
    hit = next(o for o in out.offending if o["id"] == sid)
    independent = float(geodesy.geometry_distance_m(school, [proposal])[0])
    assert hit["distance_m"] == pytest.approx(independent, abs=5.0)
    assert hit["distance_m"] == pytest.approx(gap, abs=25.0)
    assert out.measured <= hit["distance_m"] + 1e-6
    assert out.threshold == 1000 and "screening" in out.threshold_basis
    line = next(c for c in out.conflicts if c["properties"]["id"] == sid)
    assert line["geometry"]["type"] == "LineString"
    length = geodesy.length_m(shapely.geometry.shape(line["geometry"]))
    assert length == pytest.approx(hit["distance_m"], abs=5.0)


def test_installation_with_inventory_is_judged_by_individual_risk(store):
    """With an inventory the external safety distance comes from a QRA (GB/T 37243-2019): each protection
    target's IR against its GB 36894 class criterion (new installation), not from a screening distance."""
    from gis_service.analysis.qra import data as qra_data
    from gis_service.analysis.qra import engine as qra

    sid, school = _isolated_school(store)
    inv = [{"substance": "chlorine", "cas": "7782-50-5", "quantity_t": 20.0}]
    lon, lat = offset(school.x, school.y, 0.0, 150.0)
    p = Proposal(Point(lon, lat), "installation", "chlorine store", inv)
    out = services_for(store).siting.check(p, only=["external_safety_distance"]).outcome("external_safety_distance")
    assert "GB 36894" in out.threshold_basis and out.unit == "ratio"
    res = qra.compute([qra.Installation(None, None, "x", Point(lon, lat), inv, "storage")], qra_data.qra_params())
    ir_school = float(res.ir_at_lonlat([school.x], [school.y])[0])
    assert (sid in [o["id"] for o in out.offending]) == (ir_school > 3e-7)
    assert (out.outcome == "fail") == bool(out.offending)


def test_proposal_inside_another_park_fails(store):
    parks = store.frame("chemical_parks")
    pid = int(parks.index[2])
    pg = parks.geometry.loc[pid]
    rp = pg.representative_point()
    proposal = square(rp.x, rp.y, 800)
    out = services_for(store).siting.check(park(proposal)).outcome("other_park_overlap")
    assert out.outcome == "fail"
    hit = next(o for o in out.offending if o["id"] == pid)
    expected = geodesy.area_m2(shapely.intersection(proposal, pg))
    assert hit["overlap_area_m2"] == pytest.approx(expected, rel=1e-3)
    assert out.measured == pytest.approx(expected, rel=1e-3)
    assert any(c["properties"]["id"] == pid for c in out.conflicts)
    # the same square as an existing park's self-check does not conflict with itself
    own = services_for(store).siting.check_park(pid).outcome("other_park_overlap")
    assert pid not in [o["id"] for o in own.offending]


def _open_land(store) -> tuple[float, float]:
    """A spot in the province far from every hazard, receptor and park (searched on a grid)."""
    x0, y0, x1, y1 = store.extent("admin_areas")
    prov = [f for f in store.intersecting("admin_areas", box(x0, y0, x1, y1)) if f.properties["level"] == "province"]
    province = prov[0].geometry
    far = {"receptors": 3000, "chemical_parks": 6000, "hazard_sources": 8000, "goaf_areas": 8000,
           "tailings_dams": 25000}
    for lat in np.arange(y0 + 0.3, y1 - 0.3, 0.25):
        for lon in np.arange(x0 + 0.3, x1 - 0.3, 0.25):
            p = Point(lon, lat)
            if not province.contains(geodesy.geodesic_circle(lon, lat, 3000)):
                continue
            if all(not store.nearest(layer, p, 1, max_distance_m=d) for layer, d in far.items()):
                return float(lon), float(lat)
    pytest.fail("no open land found in the sample: the deterministic sample data changed")


def test_open_land_passes_or_is_conditional_only_on_rescue(store):
    lon, lat = _open_land(store)
    report = services_for(store).siting.check(park(square(lon, lat, 2000), "open land"))
    d = report.to_dict()
    assert d["summary"]["fail"] == [], d["summary"]
    assert report.verdict in ("pass", "conditional")
    assert set(d["summary"]["warn"]) <= {"rescue_hazmat", "rescue_fire"}
    assert set(d["summary"]["not_evaluated"]) == {"domino_outgoing", "drinking_water_zones", "nature_reserves",
                                                   "ecological_redlines", "seismic_faults"}
    assert report.outcome("min_area").measured == pytest.approx(4.0, rel=0.01)
    for rid in ("drinking_water_zones", "seismic_faults"):
        assert "layer absent" in report.outcome(rid).notes[0]


def test_small_park_fails_min_area(store):
    lon, lat = _open_land(store)
    out = services_for(store).siting.check(park(square(lon, lat, 1000)), only=["min_area"]).outcome("min_area")
    assert out.outcome == "fail" and out.measured == pytest.approx(1.0, rel=0.01) and out.unit == "km²"


def test_existing_park_check_excludes_itself_and_its_own_sources(store):
    parks = store.frame("chemical_parks")
    receptors = store.frame("receptors")
    hazards = store.frame("hazard_sources")
    with_settlement = [int(pid) for pid, g in zip(parks.index, parks.geometry, strict=True)
                       if shapely.intersects(g, receptors.geometry.to_numpy()).any()]
    assert with_settlement, "the sample puts legacy settlements inside parks"
    pid = with_settlement[0]
    report = services_for(store).siting.check_park(pid)
    inside = report.outcome("protection_targets_inside")
    assert inside.outcome == "fail" and inside.measured >= 1
    for o in inside.offending:
        assert shapely.intersects(parks.geometry.loc[pid], receptors.geometry.loc[o["id"]])
    own = set(hazards.index[hazards["park_id"] == pid])
    assert own, "the park has its own hazard sources"
    assert not own & {o["id"] for o in report.outcome("domino_incoming").offending}
    assert report.proposal.source == {"layer": "chemical_parks", "id": pid, "name": parks.loc[pid, "name"]}


def test_domino_both_ways_with_an_lpg_installation(store):
    """An LPG store next to an existing source: outgoing finds it; incoming only where its radius reaches."""
    hazards = store.frame("hazard_sources")
    pts = hazards[hazards.geometry.geom_type == "Point"]
    hid = int(pts.index[0])
    h = pts.geometry.loc[hid]
    lon, lat = offset(h.x, h.y, 45.0, 100.0)
    inv = [{"substance": "propane", "cas": "74-98-6", "quantity_t": 200.0}]
    p = Proposal(Point(lon, lat), "installation", "LPG depot", inv)
    report = services_for(store).siting.check(p, only=["domino_outgoing", "domino_incoming"])
    out = report.outcome("domino_outgoing")
    assert out.outcome == "fail"
    assert hid in [o["id"] for o in out.offending]
    radius = out.threshold
    assert radius > 100.0 and "explosion radius" in out.threshold_basis
    for o in out.offending:
        assert o["distance_m"] <= radius + 1e-6
    inc = report.outcome("domino_incoming")
    for o in inc.offending:
        assert o["distance_m"] <= o["explosion_radius_m"] + 1e-6


def test_engines_agree_on_every_park(sample_stores):
    emb, pg = sample_stores["embedded"], sample_stores["postgis"]
    for pid in emb.frame("chemical_parks").index[:6]:
        a, b = services_for(emb).siting.check_park(int(pid)), services_for(pg).siting.check_park(int(pid))
        assert a.verdict == b.verdict
        for oa, ob in zip(a.outcomes, b.outcomes, strict=True):
            assert oa.outcome == ob.outcome, (pid, oa.rule.id)
            assert sorted(o["id"] for o in oa.offending) == sorted(o["id"] for o in ob.offending), (pid, oa.rule.id)


def test_report_json_and_feature_collection(store):
    import orjson

    report = services_for(store).siting.check_park(1)
    doc = orjson.loads(orjson.dumps(report.to_dict()))
    assert doc["verdict"] in ("pass", "conditional", "fail")
    assert {"rules", "summary", "proposal", "rule_set", "verdict_label"} <= set(doc)
    for r in doc["rules"]:
        assert r["outcome"] in OUTCOMES
        assert {"value", "unit", "quantity"} == set(r["measured"])
        assert r["source"]
    fc = report.to_feature_collection().model_dump(mode="json")   # typed (issue 23); its JSON form here
    assert fc["type"] == "FeatureCollection"
    assert fc["features"][0]["properties"]["role"] == "proposal"
    roles = {f["properties"]["role"] for f in fc["features"]}
    assert "conflict" in roles
    for f in fc["features"]:
        shapely.geometry.shape(f["geometry"])  # every geometry is valid GeoJSON
