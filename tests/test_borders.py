"""Crossing a border (issue 20): rescue and exposure answers say when a team or a zone lies in another
jurisdiction than the incident — a typed ``metadata.border`` (codes, names, a Chinese note) and per team /
zone fields — on both stores, and for a county caller over HTTP (the neighbour's team is still offered).

The fixture is test_jurisdiction's province: counties 220102 | 220103 | 220202 side by side (0.5° boxes), with
hazmat teams in each. Which county a team or a point is in comes from the fixture's boxes, not from the code
under test."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point
from test_jurisdiction import COUNTIES, emb, pg  # noqa: F401 - the two stores of the fixture province

from gis_service import access
from gis_service.api.app import create_app
from gis_service.config import Settings
from gis_service.services.container import Services

EDGE = 125.5                       # the border between 220102 (west) and 220103 (east)


def _county(lon: float, lat: float) -> str:
    return next(c for c, g in COUNTIES.items() if g.contains(Point(lon, lat)))


@pytest.fixture(params=["emb", "pg"])
def province(request):
    store, truth = request.getfixturevalue(request.param)
    return Services.build(Settings(), store), truth


def test_rescue_names_teams_of_another_county(province):
    svc, _ = province
    lon, lat = EDGE - 0.02, 43.25                  # in 220102, 1.6 km from 220103
    with access.scoped("220102"):                  # a county caller: rescue still looks across the border
        answer = svc.rescue.nearest(lon, lat, "chemical", k=8)
    doc = answer.to_dict()
    border = doc["metadata"]["border"]
    assert border["incident_admin_code"] == "220102" and border["subject"] == "team"
    teams = [f["properties"] for f in doc["features"] if f["properties"]["kind"] == "team"]
    truth = {t["team_id"]: _county(*next(f["geometry"]["coordinates"] for f in doc["features"]
                                         if f["id"] == f"team-{t['team_id']}")) for t in teams}
    outside = {c for c in truth.values() if c != "220102"}
    assert outside, "the fixture should put a neighbour's team among the 8 nearest"
    assert border["crosses"] is True
    assert {o["code"] for o in border["other_jurisdictions"]} == outside
    assert all(o["name"] == f"县{o['code']}" for o in border["other_jurisdictions"])
    for t in teams:
        assert t["other_jurisdiction"] is (truth[t["team_id"]] != "220102")
    assert border["note_zh"].startswith("跨辖区：事故点位于县220102（220102）")
    assert all(f"县{c}（{c}）" in border["note_zh"] for c in outside)


def test_rescue_within_one_county_says_no_crossing(province):
    svc, _ = province
    answer = svc.rescue.nearest(125.25, 43.25, "chemical", k=1)      # the middle of 220102, its own team nearest
    border = answer.to_dict()["metadata"]["border"]
    assert border["crosses"] is False and border["note_zh"] is None and border["other_jurisdictions"] == []


def test_exposure_zone_reaching_the_neighbour_is_named(province):
    svc, _ = province
    near = svc.exposure.what_if(EDGE - 0.005, 43.25, "chlorine", 20.0)   # 400 m from 220103
    doc = near.to_feature_collection()
    border = doc["metadata"]["border"]
    assert border["incident_admin_code"] == "220102" and border["subject"] == "zone"
    assert border["crosses"] is True and [o["code"] for o in border["other_jurisdictions"]] == ["220103"]
    assert "波及县220103（220103）" in border["note_zh"]
    zones = [f for f in doc["features"] if f["properties"]["feature_type"] == "zone"]
    from shapely.geometry import shape
    for z in zones:                                   # each zone's own list, checked against the county box
        reaches = shape(z["geometry"]).intersects(COUNTIES["220103"])
        assert z["properties"]["other_jurisdictions"] == (["220103"] if reaches else [])

    far = svc.exposure.what_if(125.25, 43.25, "chlorine", 0.05)          # the middle of the county, a small one
    border = far.to_feature_collection()["metadata"]["border"]
    assert border["crosses"] is False and border["note_zh"] is None


def test_county_caller_gets_the_note_over_http(emb):  # noqa: F811
    store, _ = emb
    settings = Settings(api_keys="county:viewer:220102", read_requires_key=False)
    app = create_app(settings=settings, store=store)
    with TestClient(app) as client:
        r = client.get("/analysis/rescue/nearest", params={"lon": EDGE - 0.02, "lat": 43.25, "incident": "chemical",
                                                           "k": 8}, headers={"X-API-Key": "county"})
        assert r.status_code == 200, r.text
        border = r.json()["metadata"]["border"]
        assert border["crosses"] is True and "跨辖区" in border["note_zh"]
        assert any(f["properties"].get("other_jurisdiction") for f in r.json()["features"])
