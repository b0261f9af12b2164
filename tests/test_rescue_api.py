"""Rescue endpoints and CLI: GeoJSON shape, bad input → 4xx / exit codes, OSM import through the loader."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import database_url
from fastapi.testclient import TestClient

from gis_service.api.app import create_app
from gis_service.config import Settings

BASE = "/analysis/rescue"


@pytest.fixture(scope="module", params=["embedded", "postgis"])
def client(request, sample_stores):
    return TestClient(create_app(Settings(), sample_stores[request.param]))


def test_nearest_geojson_has_units_and_sources(client):
    r = client.get(f"{BASE}/nearest", params={"lon": 126.55, "lat": 43.85, "incident": "chemical", "k": 3})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    doc = r.json()
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 3
    props = [f["properties"] for f in doc["features"]]
    assert [p["rank"] for p in props] == [1, 2, 3]
    assert all(p["team_type"] in ("hazmat", "fire") for p in props)
    d = [p["distance_m"] for p in props]
    assert d == sorted(d) and all("bearing_deg" in p for p in props)
    meta = doc["metadata"]
    assert set(meta["standards"]) == {"hazmat", "fire"} and "GB 51080" in meta["standards"]["fire"]["source"]
    assert meta["units"]["distance_m"].startswith("metres")


def test_nearest_by_time_has_routes(client):
    r = client.get(f"{BASE}/nearest", params={"lon": 126.55, "lat": 43.85, "incident": "mine", "k": 2, "by": "time"})
    assert r.status_code == 200, r.text
    feats = r.json()["features"]
    teams = [f for f in feats if f["properties"]["kind"] == "team"]
    routes = [f for f in feats if f["properties"]["kind"] == "route"]
    assert len(teams) == 2 and len(routes) == 2
    assert all(f["geometry"]["type"] == "LineString" for f in routes)
    for t in teams:
        p = t["properties"]
        assert p["eta_min"] > 0 and p["road_distance_m"] >= p["distance_m"] * 0.999
        assert p["standard_min"] == 30 and "AQ 1008" in p["standard_source"]
        assert p["meets_standard"] == (p["eta_min"] <= 30)


@pytest.mark.parametrize("params, field", [
    ({"lon": 100.0, "lat": 43.8, "incident": "mine"}, "lon"),
    ({"lon": 126.5, "lat": 30.0, "incident": "mine"}, "lat"),
    ({"lon": 126.5, "lat": 43.8, "incident": "volcano"}, "incident"),
    ({"lon": 126.5, "lat": 43.8}, "incident"),
    ({"lon": 126.5, "lat": 43.8, "incident": "mine", "k": 0}, "k"),
    ({"lon": 126.5, "lat": 43.8, "incident": "mine", "k": 1000}, "k"),
    ({"lon": 126.5, "lat": 43.8, "incident": "mine", "k": "two"}, "k"),
    ({"lon": 126.5, "lat": 43.8, "incident": "mine", "by": "helicopter"}, "by"),
    ({"lon": "east", "lat": 43.8, "incident": "mine"}, "lon"),
])
def test_bad_input_is_400_naming_the_field(client, params, field):
    r = client.get(f"{BASE}/nearest", params=params)
    assert r.status_code == 400, r.text
    assert field in {p["field"] for p in r.json()["problems"]}


def test_no_team_is_an_empty_answer_that_says_why(client):
    r = client.get(f"{BASE}/nearest", params={"lon": 126.5, "lat": 43.8, "incident": "mine",
                                              "min_personnel": 100000})
    assert r.status_code == 200
    doc = r.json()
    assert doc["features"] == [] and "100000" in doc["metadata"]["reason"]


def test_nearest_to_feature_infers_the_incident(client):
    r = client.get(f"{BASE}/nearest/hazard_sources/1", params={"k": 2})
    assert r.status_code == 200
    meta = r.json()["metadata"]
    assert meta["incident"] == "chemical" and meta["incident_feature"]["id"] == 1
    r = client.get(f"{BASE}/nearest/tailings_dams/1", params={"k": 2, "by": "time"})
    assert r.json()["metadata"]["capable_team_types"] == ["mine_rescue"]
    r = client.get(f"{BASE}/nearest/tailings_dams/1", params={"k": 2, "incident": "medical"})
    assert r.json()["metadata"]["capable_team_types"] == ["medical"]
    assert client.get(f"{BASE}/nearest/receptors/1").status_code == 400
    assert client.get(f"{BASE}/nearest/no_such_layer/1").status_code == 404
    assert client.get(f"{BASE}/nearest/goaf_areas/999999").status_code == 404


def test_isochrones_and_their_errors(client):
    r = client.get(f"{BASE}/isochrone/1", params={"minutes": "10,20,30"})
    assert r.status_code == 200
    feats = r.json()["features"]
    assert [f["properties"]["minutes"] for f in feats] == [30, 20, 10]
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in feats)
    for bad in ("0", "10,abc", "1,2,3,4,5,6,7", "999"):
        r = client.get(f"{BASE}/isochrone/1", params={"minutes": bad})
        assert r.status_code == 400 and r.json()["problems"][0]["field"] == "minutes"
    assert client.get(f"{BASE}/isochrone/999999").status_code == 404


def test_coverage_endpoint(client):
    r = client.get(f"{BASE}/coverage")
    assert r.status_code == 200
    doc = r.json()
    meta = doc["metadata"]
    assert meta["totals"]["gaps"] == len(doc["features"]) > 0
    assert {c["county"] for c in meta["counties"] if c["gaps"]} == {f["properties"]["county"] for f in doc["features"]}
    r = client.get(f"{BASE}/coverage", params={"incident": "fire", "minutes": 15})
    assert r.status_code == 200 and r.json()["metadata"]["standards"]["fire"]["applied_min"] == 15
    assert client.get(f"{BASE}/coverage", params={"incident": "x"}).status_code == 400
    assert client.get(f"{BASE}/coverage", params={"minutes": -1}).status_code == 400


def test_configured_standard_reaches_the_answer(sample_stores):
    c = TestClient(create_app(Settings(rescue_standard_min="hazmat:12"), sample_stores["embedded"]))
    r = c.get(f"{BASE}/nearest", params={"lon": 126.55, "lat": 43.85, "incident": "chemical", "k": 5, "by": "time"})
    std = r.json()["metadata"]["standards"]["hazmat"]
    assert std["standard_min"] == 12 and "GIS_RESCUE_STANDARD_MIN" in std["source"]
    for f in r.json()["features"]:
        p = f["properties"]
        if p["kind"] == "team" and p["team_type"] == "hazmat":
            assert p["meets_standard"] == (p["eta_min"] <= 12)


# ------------------------------------------------------------------ CLI and OSM import

def gis(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gis_service.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200", **env}, timeout=120)


@pytest.fixture(scope="module")
def small_pbf(tmp_path_factory) -> Path:
    osmium = pytest.importorskip("osmium")
    from osmium.osm.mutable import Node, Way

    path = tmp_path_factory.mktemp("osm") / "roads.osm.pbf"
    pts = {1: (126.50, 43.80), 2: (126.52, 43.80), 3: (126.54, 43.81), 4: (126.54, 43.83), 5: (126.50, 43.83)}
    with osmium.SimpleWriter(str(path)) as w:
        for nid, xy in pts.items():
            w.add_node(Node(id=nid, location=xy, tags={}))
        w.add_way(Way(id=10, nodes=[1, 2, 3], tags={"highway": "primary", "maxspeed": "60", "name": "吉林大街"}))
        w.add_way(Way(id=11, nodes=[3, 4], tags={"highway": "secondary"}))
        w.add_way(Way(id=12, nodes=[4, 5, 1], tags={"highway": "residential", "oneway": "yes"}))
        w.add_way(Way(id=13, nodes=[2, 5], tags={"highway": "footway"}))
    return path


def test_cli_nearest_and_coverage(sample_gpkg, tmp_path):
    env = {"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(sample_gpkg)}
    r = gis(["nearest", "--lon", "126.55", "--lat", "43.85", "--incident", "chemical", "--by", "time",
             "--k", "3", "--json", "-"], env)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert len([f for f in doc["features"] if f["properties"]["kind"] == "team"]) == 3
    r = gis(["nearest", "--lon", "100", "--lat", "43.85", "--incident", "mine"], env)
    assert r.returncode == 1 and "lon" in r.stderr
    r = gis(["nearest", "--lon", "126.5", "--lat", "43.85", "--incident", "volcano"], env)
    assert r.returncode == 1 and "incident" in r.stderr
    out = tmp_path / "coverage.geojson"
    r = gis(["coverage", "--json", str(out)], env)
    assert r.returncode == 0, r.stderr
    assert "hazards have no capable team" in r.stdout
    assert json.loads(out.read_text())["metadata"]["totals"]["gaps"] > 0


@pytest.mark.parametrize("engine", ["embedded", "postgis"])
def test_cli_import_osm_loads_roads_through_validation(engine, small_pbf, tmp_path, request, catalog):
    if engine == "postgis":
        url = database_url(request.getfixturevalue("postgis_url"), "gis_test_rescue")
        env = {"GIS_STORE": "postgis", "GIS_DATABASE_URL": url}
    else:
        env = {"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(tmp_path / "osm.gpkg")}
    r = gis(["import-osm", str(small_pbf)], env)
    assert r.returncode == 0, r.stderr
    assert "loaded 3 road(s)" in r.stdout
    from gis_service.stores import make_store

    store = make_store(Settings(**{k[4:].lower(): v for k, v in env.items()}))
    store.init()
    roads = store.frame("roads")
    assert sorted(roads["road_class"]) == ["primary", "residential", "secondary"]
    assert set(roads["data_source"].str.startswith("OpenStreetMap way"))== {True}
    from gis_service.analysis.rescue.network import build_from_store

    g = build_from_store(store)
    assert g.n_nodes == 5 and g.n_arcs == 2 * 3 + 2     # two-way primary(2 seg)+secondary, one-way 2 seg
    store.close()
    bad = tmp_path / "not.pbf"
    bad.write_bytes(b"garbage")
    r = gis(["import-osm", str(bad)], env)
    assert r.returncode == 1


def test_api_routes_on_a_configured_pbf(embedded_store, small_pbf):
    c = TestClient(create_app(Settings(road_pbf=small_pbf), embedded_store))
    r = c.get(f"{BASE}/nearest", params={"lon": 126.51, "lat": 43.80, "incident": "fire", "k": 1, "by": "time"})
    assert r.status_code == 200, r.text
    assert "OpenStreetMap" in r.json()["metadata"]["network"]


def test_team_types_parameter(client):
    r = client.get("/analysis/rescue/nearest", params={"lon": 126.55, "lat": 43.85, "incident": "chemical",
                                                       "team_types": "hazmat", "k": 2})
    assert r.status_code == 200
    kinds = [f["properties"]["team_type"] for f in r.json()["features"] if "team_type" in f["properties"]]
    assert kinds == ["hazmat", "hazmat"]
    r = client.get("/analysis/rescue/nearest", params={"lon": 126.55, "lat": 43.85, "incident": "mine",
                                                       "team_types": "hazmat"})
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "team_types"


@pytest.mark.parametrize("params", [
    {"incident": "chemical", "k": 4},                                   # by distance
    {"incident": "chemical,medical", "k": 3, "by": "time"},             # by road time: routes, method, network
    {"incident": "mine", "min_personnel": 100000, "by": "time"},        # empty answer with a reason
    {"incident": "mine", "min_personnel": 100000},                      # empty by distance
])
def test_the_nearest_teams_writer_gives_the_typed_document(sample_stores, params):
    """The API writes the nearest-teams document with its own fast writer (NearestTeams.json_bytes); it must be
    the typed response model's JSON, and that JSON must validate against the model (issue 23)."""
    from conftest import services_for

    from gis_service.analysis.rescue.results import IncidentFeature, NearestTeams

    svc = services_for(sample_stores["embedded"])
    params = dict(params)
    answer = svc.rescue.nearest(126.55, 43.85, params.pop("incident"), **params)
    for doc in (answer.to_feature_collection(),
                answer.to_feature_collection(IncidentFeature(layer="hazard_sources", id=3, name="x"))):
        fast = json.loads(doc.json_bytes())
        assert fast == json.loads(doc.model_dump_json())
        # the answer's own writer (the routes' path) gives the same bytes
        assert answer.json_bytes(doc.metadata.incident_feature) == doc.json_bytes()
        assert NearestTeams.model_validate(fast).model_dump_json() == doc.model_dump_json()
