"""HTTP API: /analysis/exposure (GET feature, POST what-if) and bad input → 4xx naming the field."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from test_exposure import sample_pair

from gis_service.api.app import create_app
from gis_service.config import Settings


@pytest.fixture(scope="session")
def api_stores(postgis_url, sample_gpkg, catalog, tmp_path_factory):
    yield from sample_pair(postgis_url, sample_gpkg, catalog, tmp_path_factory, "gis_test_exposure_api")


@pytest.fixture(params=["embedded", "postgis"])
def client(request, api_stores):
    return TestClient(create_app(Settings(), api_stores[request.param]))


def _problem(resp, status=400):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["problems"], body
    return body["problems"][0]


def test_get_feature_exposure_geojson(client):
    r = client.get("/analysis/exposure/hazard_sources/2", params={"wind_dir_deg": 270, "wind_speed_m_s": 3,
                                                                   "stability": "d", "receptors": "true"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    zones = [f for f in fc["features"] if f["properties"]["feature_type"] == "zone"]
    assert zones and all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in zones)
    p = zones[0]["properties"]
    assert {"level", "label_zh", "label_en", "model", "threshold", "threshold_unit", "distance_m",
            "exposure"} <= set(p)
    meta = fc["metadata"]
    assert meta["parameters"]["stability"] == "D" and meta["parameters"]["wind_dir_deg"] == 270
    assert all("sources" in m and "limitations" in m for m in meta["models"])
    recs = [f for f in fc["features"] if f["properties"]["feature_type"] == "receptor"]
    assert len(recs) == meta["exposure"]["receptor_count"]


@pytest.mark.parametrize("layer", ["tailings_dams", "goaf_areas"])
def test_get_other_layers(client, layer):
    r = client.get(f"/analysis/exposure/{layer}/1")
    assert r.status_code == 200, r.text
    kinds = {f["properties"]["kind"] for f in r.json()["features"]}
    assert kinds == ({"tailings_runout"} if layer == "tailings_dams" else {"goaf_subsidence"})


def test_same_json_from_both_engines(api_stores):
    a = TestClient(create_app(Settings(), api_stores["embedded"]))
    b = TestClient(create_app(Settings(), api_stores["postgis"]))
    for url in ("/analysis/exposure/hazard_sources/7?wind_dir_deg=45", "/analysis/exposure/goaf_areas/3"):
        fa, fb = a.get(url).json(), b.get(url).json()
        ea = [(f["properties"]["level"], f["properties"]["exposure"]["receptor_count"],
               f["properties"]["exposure"]["total_population"]) for f in fa["features"]]
        eb = [(f["properties"]["level"], f["properties"]["exposure"]["receptor_count"],
               f["properties"]["exposure"]["total_population"]) for f in fb["features"]]
        assert ea == eb


@pytest.mark.parametrize("query,field,words", [
    ({"stability": "G"}, "stability", "A, B, C, D, E, F"),
    ({"wind_speed_m_s": 0}, "wind_speed_m_s", "greater than or equal to 1"),
    ({"wind_speed_m_s": "fast"}, "wind_speed_m_s", ""),
    ({"wind_dir_deg": -10}, "wind_dir_deg", "0–360"),
    ({"overpressure_kpa": "5,x"}, "overpressure_kpa", "comma-separated"),
    ({"kinds": "boom"}, "kinds", "explosion, fire, toxic"),
])
def test_bad_scenario_parameters(client, query, field, words):
    p = _problem(client.get("/analysis/exposure/hazard_sources/1", params=query))
    assert p["field"] == field
    assert words in p["problem"]


def test_wrong_layer_and_unknown_id(client):
    p = _problem(client.get("/analysis/exposure/roads/1"))
    assert p["field"] == "layer" and "hazard_sources, tailings_dams, goaf_areas" in p["problem"]
    p = _problem(client.get("/analysis/exposure/hazard_sources/99999999"), 404)
    assert "99999999" in p["problem"]
    p = _problem(client.get("/analysis/exposure/hazard_sources/abc"))
    assert p["field"] == "fid"


def test_post_what_if(client):
    body = {"point": {"type": "Point", "coordinates": [126.55, 43.84]}, "substance": "液氯", "quantity_t": 10,
            "release_type": "toxic", "scenario": {"wind_dir_deg": 90, "wind_speed_m_s": 2}}
    r = client.post("/analysis/exposure", json=body)
    assert r.status_code == 200, r.text
    fc = r.json()
    assert {f["properties"]["kind"] for f in fc["features"]} == {"toxic"}
    assert fc["metadata"]["source"]["substance"] == "chlorine"
    assert any(m.get("model", "").startswith("Britter") for m in fc["metadata"]["models"])
    r = client.post("/analysis/exposure", json={"point": [126.55, 43.84], "substance": "propane", "quantity_t": 30})
    assert {f["properties"]["kind"] for f in r.json()["features"]} == {"explosion", "fireball", "jet_fire"}


@pytest.mark.parametrize("patch,field,words", [
    ({"substance": "kryptonite"}, "substance", "chlorine"),
    ({"quantity_t": -5}, "quantity_t", "greater than 0"),
    ({"quantity_t": "lots"}, "quantity_t", ""),
    ({"release_type": "flood"}, "release_type", "auto, explosion, fire, toxic"),
    ({"point": [500, 43]}, "point", "WGS84"),
    ({"point": "here"}, "point", "[lon, lat]"),
    ({"scenario": {"stability": "Z"}}, "scenario.stability", "A, B, C, D, E, F"),
    ({"scenario": {"wind_speed_m_s": -1}}, "scenario.wind_speed_m_s", "greater than or equal to 1"),
])
def test_post_bad_input(client, patch, field, words):
    body = {"point": [126.55, 43.84], "substance": "chlorine", "quantity_t": 10, **patch}
    p = _problem(client.post("/analysis/exposure", json=body))
    assert p["field"] == field
    assert words in p["problem"]


@pytest.mark.parametrize("patch,field", [
    ({"quantity_t": 1e308}, "quantity_t"),
    ({"quantity_t": 2e6}, "quantity_t"),
    ({"scenario": {"kinds": 5}}, "scenario.kinds"),
    ({"scenario": {"wind_speed_m_s": 0.3}}, "scenario.wind_speed_m_s"),
    ({"storage": "underground"}, "storage"),
    ({"scenario": {"weather": "stormy"}}, "scenario.weather"),
])
def test_post_impossible_input_is_4xx_naming_the_field(client, patch, field):
    body = {"point": [126.55, 43.84], "substance": "chlorine", "quantity_t": 10, **patch}
    r = client.post("/analysis/exposure", json=body)
    assert 400 <= r.status_code < 500, r.text
    assert field in r.text


def test_post_mixed_kinds_say_which_model_and_why(client):
    r = client.post("/analysis/exposure", json={"point": [126.55, 43.84], "substance": "液化石油气",
                                                "quantity_t": 50, "scenario": {"weather": "typical"}})
    assert r.status_code == 200, r.text
    fc = r.json()
    kinds = {f["properties"]["kind"] for f in fc["features"] if f["properties"].get("feature_type") == "zone"}
    assert {"fireball", "jet_fire", "explosion"} <= kinds
    for f in fc["features"]:
        p = f["properties"]
        if p.get("feature_type") == "zone":
            assert p["model"] and p["model_reason"] and p["threshold_source"] and "truncated" in p
    assert "DOMAIN.md" not in r.text
    assert fc["metadata"]["parameters"]["stability"] == "D" and fc["metadata"]["parameters"]["wind_speed_m_s"] == 3


def test_get_typical_weather_and_bad_kinds(client):
    r = client.get("/analysis/exposure/hazard_sources/2", params={"weather": "typical"})
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["parameters"]["stability"] == "D"
    r = client.get("/analysis/exposure/hazard_sources/2", params={"kinds": "5"})
    assert r.status_code == 400 and "kinds" in r.text
    r = client.get("/analysis/exposure/hazard_sources/2", params={"wind_speed_m_s": "nan"})
    assert r.status_code == 400 and "wind_speed_m_s" in r.text
