"""Emergency resources: the equipment catalogue and inventories, assembling what an incident needs (against
brute force on generated small cases, and against the nearest-first baseline), the API on both stores, bad
input → 400, writes need the editor role."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from gis_service.analysis.resources import solver
from gis_service.analysis.resources.assembly import free_stock, source_table
from gis_service.api.app import create_app
from gis_service.config import Settings
from gis_service.models.equipment import check_equipment, equipment_types

BASE = "/analysis/resources"
EDITOR = {"X-API-Key": "edit"}
VIEWER = {"X-API-Key": "view"}
KEYS = "edit:editor,view:viewer"
MINE = {"drainage_pump_300m3h": 4, "drilling_rig": 1, "personnel_mine_rescue": 30}
LIAOYUAN = [125.20, 42.95]   # the 吉煤 Liaoyuan mining district


# ---------------------------------------------------------------- the solver against brute force

@st.composite
def small_case(draw):
    n = draw(st.integers(1, 8))
    m = draw(st.integers(1, 3))
    eta = np.array([draw(st.sampled_from([np.inf, *range(60, 3600, 60)])) for _ in range(n)], dtype=float)
    stock = np.array([[draw(st.integers(0, 4)) for _ in range(m)] for _ in range(n)], dtype=np.int64)
    need = np.array([draw(st.integers(1, 6)) for _ in range(m)], dtype=np.int64)
    return eta, stock, need


@settings(max_examples=300, deadline=None)
@given(small_case())
def test_assembly_equals_brute_force_on_small_cases(case):
    eta, stock, need = case
    cover = solver.coverable(eta, stock, need)
    best = solver.brute_force(eta, stock, cover) if cover.any() else None
    if best is None:
        return
    got = solver.optimal(eta, stock, cover)
    assert got.optimal
    key = got.key(eta)
    assert key[0] == best[0] and key[1] == best[1]          # time until all met, then number of sources
    assert key[2] == pytest.approx(best[2])                  # then the sum of their ETAs
    assert np.array_equal(got.met, cover)                    # every (coverable) need met exactly
    for j, s in enumerate(got.sources):                      # never more than a source holds
        assert np.all(got.take[j] <= stock[s])


@settings(max_examples=200, deadline=None)
@given(small_case())
def test_greedy_is_never_better_and_has_the_same_bottleneck_time(case):
    eta, stock, need = case
    cover = solver.coverable(eta, stock, need)
    if not cover.any():
        return
    opt, base = solver.optimal(eta, stock, cover), solver.greedy(eta, stock, cover)
    assert base.time_s == opt.time_s and len(base.sources) >= len(opt.sources)


def test_a_case_where_nearest_first_sends_more_sources():
    # a near source with a pump, a farther one with a rig, and one as far holding both: nearest-first sends the
    # first two (all there at 20 min); the optimum has everything there at 20 min too, from one source.
    eta = np.array([600.0, 1200.0, 1200.0])
    stock = np.array([[1, 0], [0, 1], [1, 1]])
    need = np.array([1, 1])
    opt, base = solver.optimal(eta, stock, need), solver.greedy(eta, stock, need)
    assert opt.time_s == base.time_s == 1200.0
    assert opt.sources == [2] and base.sources == [0, 1]


def test_an_earlier_time_beats_fewer_sources():
    eta = np.array([300.0, 300.0, 3000.0])
    stock = np.array([[1, 0], [0, 1], [1, 1]])
    opt = solver.optimal(eta, stock, np.array([1, 1]))
    assert opt.time_s == 300.0 and opt.sources == [0, 1]


# ---------------------------------------------------------------- catalogue and inventories

def test_equipment_catalogue_has_the_policy_categories_with_sources():
    types = equipment_types()
    for t in ("drilling_rig", "support_equipment", "refuge_capsule", "life_detector", "positioning_system"):
        assert types[t].confidence == "V" and "吉政发〔2012〕8号" in types[t].source
    assert all(e.unit_zh and e.zh for e in types.values())


@pytest.mark.parametrize("bad, word", [({"warp_drive": 1}, "warp_drive"), ({"drilling_rig": -1}, "negative"),
                                       ({"drilling_rig": 1.5}, "whole"), ({"drilling_rig": "2"}, "whole"),
                                       ([1, 2], "object")])
def test_bad_inventories_are_refused_naming_the_key(bad, word):
    with pytest.raises(ValueError, match=word):
        check_equipment(bad)


def test_committed_units_are_not_sent(sample_stores):
    table = source_table(sample_stores["embedded"])
    k = table.index[("rescue_teams", 1)]
    d = table.index[("supply_depots", 1)]
    col = table.types.index("drilling_rig")
    rigs = int(table.stock[d, col])
    assert rigs >= 1
    free = free_stock(table, {("rescue_teams", 1): None, ("supply_depots", 1): {"drilling_rig": 1}})
    assert free[k].sum() == 0 and free[d, col] == rigs - 1


# ---------------------------------------------------------------- the API on both stores

@pytest.fixture(scope="module", params=["embedded", "postgis"])
def client(request, sample_stores):
    return TestClient(create_app(Settings(api_keys=KEYS), sample_stores[request.param]))


def test_assemble_meets_the_needs_soonest_with_routes(client):
    r = client.post(f"{BASE}/assemble", json={"point": LIAOYUAN, "needs": MINE})
    assert r.status_code == 200, r.text
    doc = r.json()
    meta = doc["metadata"]
    assert meta["all_met"] and meta["met"] == MINE and meta["optimal"]
    sources = [f for f in doc["features"] if f["properties"]["role"] == "source"]
    assert len(sources) == meta["sources"] >= 1
    assert meta["time_until_all_met_min"] == max(f["properties"]["eta_min"] for f in sources)
    assert meta["greedy_nearest_first"]["time_until_all_met_min"] == meta["time_until_all_met_min"]
    assert meta["greedy_nearest_first"]["sources"] >= meta["sources"]
    for f in sources:
        assert f["geometry"]["type"] == "LineString" and f["properties"]["road_distance_m"] > 0
        assert all(i["quantity"] > 0 and i["zh"] for i in f["properties"]["items"])


def test_both_stores_give_the_same_plan(sample_stores):
    plans = []
    for kind in ("embedded", "postgis"):
        c = TestClient(create_app(Settings(), sample_stores[kind]))
        doc = c.post(f"{BASE}/assemble", json={"point": LIAOYUAN, "needs": MINE}).json()
        plans.append([(f["properties"]["layer"], f["properties"]["id"], f["properties"]["eta_min"])
                      for f in doc["features"] if f["properties"]["role"] == "source"])
    assert plans[0] == plans[1]


def test_what_cannot_be_met_is_named_with_the_nearest_place_it_exists(client):
    r = client.post(f"{BASE}/assemble", json={"point": LIAOYUAN, "needs": {"drilling_rig": 10_000, "sandbag": 10}})
    assert r.status_code == 200
    meta = r.json()["metadata"]
    assert not meta["all_met"]
    (miss,) = meta["unmet"]
    assert miss["type"] == "drilling_rig" and miss["missing"] == 10_000 - miss["available"] > 0
    assert miss["held_in_total"] >= miss["available"] > 0
    assert meta["met"]["sandbag"] == 10


@pytest.mark.parametrize("body, field", [
    ({"point": LIAOYUAN, "needs": {"warp_drive": 1}}, "needs.warp_drive"),
    ({"point": LIAOYUAN, "needs": {"drilling_rig": -2}}, "needs.drilling_rig"),
    ({"point": LIAOYUAN, "needs": {"drilling_rig": 0.5}}, "needs.drilling_rig"),
    ({"point": LIAOYUAN, "needs": {}}, "needs"),
    ({"point": [500, 43], "needs": {"drilling_rig": 1}}, "point"),
    ({"point": [10.0, 50.0], "needs": {"drilling_rig": 1}}, "lon"),
    ({"point": LIAOYUAN}, "needs"),
])
def test_bad_assembly_input_is_a_400_naming_the_field(client, body, field):
    r = client.post(f"{BASE}/assemble", json=body)
    assert r.status_code == 400, r.text
    assert field in {p["field"] for p in r.json()["problems"]} or field in r.text


def test_types_lists_equipment_and_personnel(client):
    types = {t["type"]: t for t in client.get(f"{BASE}/types").json()}
    assert "drainage_pump_300m3h" in types and types["personnel_mine_rescue"]["unit_zh"] == "人"


# ---------------------------------------------------------------- writes: typed inventories, capacities, roles

@pytest.mark.parametrize("fresh_store", ["embedded", "postgis"], indirect=True)
def test_depot_and_shelter_writes_are_checked_and_need_the_editor_role(fresh_store):
    c = TestClient(create_app(Settings(api_keys=KEYS), fresh_store))
    depot = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [125.3, 43.8]},
             "properties": {"name": "测试储备库", "level": "county", "equipment": {"drilling_rig": 2}}}
    assert c.post("/collections/supply_depots/items", json=depot).status_code == 401
    assert c.post("/collections/supply_depots/items", json=depot, headers=VIEWER).status_code == 403
    bad = {**depot, "properties": {**depot["properties"], "equipment": {"unobtainium": 2}}}
    r = c.post("/collections/supply_depots/items", json=bad, headers=EDITOR)
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "equipment"
    assert c.post("/collections/supply_depots/items", json=depot, headers=EDITOR).status_code == 201
    shelter = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [125.3, 43.8]},
               "properties": {"name": "测试避难场所", "shelter_class": "class_3", "capacity": 0}}
    r = c.post("/collections/shelters/items", json=shelter, headers=EDITOR)
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "capacity"


# ---------------------------------------------------------------- emergency-plan coverage

def test_plan_coverage_lists_the_sources_without_a_filed_current_plan_per_county(client, sample_stores):
    r = client.get(f"{BASE}/plans/coverage", params={"as_of": "2026-07-01"})
    assert r.status_code == 200, r.text
    doc = r.json()
    listed = {f["properties"]["hazard_source_id"]: f["properties"] for f in doc["features"]}
    # an independent reading of the plans layer: which sources have a filed plan reviewed on or after the day
    plans = sample_stores["embedded"].frame("emergency_plans", ["hazard_source_ids", "filing_status", "review_date"])
    good = {h for _, p in plans.iterrows() if p["filing_status"] == "filed" and str(p["review_date"]) >= "2026-07-01"
            for h in (p["hazard_source_ids"] or [])}
    hazards = sample_stores["embedded"].frame("hazard_sources", ["county"])
    assert set(listed) == set(hazards.index) - good
    assert {"no_plan", "not_filed", "expired"} <= {p["reason"] for p in listed.values()}
    by_county = {c["county"]: c for c in doc["metadata"]["by_county"]}
    for hid, p in listed.items():
        assert hid in by_county[p["county"]]["without"]
    assert sum(c["hazard_sources"] for c in by_county.values()) == len(hazards)
    later = client.get(f"{BASE}/plans/coverage", params={"as_of": "2040-01-01"}).json()
    assert later["metadata"]["without_current_plan"] == len(hazards)       # every review date has passed


def test_plan_coverage_bad_date_is_400(client):
    assert client.get(f"{BASE}/plans/coverage", params={"as_of": "yesterday"}).status_code == 400


@pytest.mark.parametrize("fresh_store", ["embedded", "postgis"], indirect=True)
def test_a_plan_with_a_bad_review_date_or_ids_is_refused(fresh_store):
    c = TestClient(create_app(Settings(api_keys=KEYS), fresh_store))
    plan = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [125.3, 43.8]},
            "properties": {"name": "预案", "level": "enterprise", "filing_status": "filed", "review_date": "2027-13-01",
                           "hazard_source_ids": [1, -2]}}
    r = c.post("/collections/emergency_plans/items", json=plan, headers=EDITOR)
    assert r.status_code == 400
    assert {p["field"] for p in r.json()["problems"]} == {"review_date", "hazard_source_ids"}


# ---------------------------------------------------------------- the CLI (same facade)

def test_cli_assemble_and_plan_coverage(sample_gpkg, tmp_path):
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "GIS_STORE": "embedded", "GIS_GPKG_PATH": str(sample_gpkg)}

    def gis(*args):
        return subprocess.run([sys.executable, "-m", "gis_service.cli", *args], capture_output=True, text=True,
                              env=env, timeout=300)

    out = tmp_path / "plan.json"
    r = gis("assemble", "--lon", "125.2", "--lat", "42.95", "--needs", json.dumps(MINE), "--json", str(out))
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())["metadata"]["met"] == MINE
    r = gis("assemble", "--lon", "125.2", "--lat", "42.95", "--needs", '{"warp_drive": 1}')
    assert r.returncode == 1 and "needs.warp_drive" in r.stderr
    r = gis("plan-coverage", "--as-of", "2026-07-01", "--json", "-")
    assert r.returncode == 0 and json.loads(r.stdout)["metadata"]["without_current_plan"] > 0
    assert gis("plan-coverage", "--as-of", "someday").returncode == 1
