"""One regression test per defect of the hardening review (issue 10): each bad input gets a 4xx with the
JSON error body naming the field — never a 5xx — on both stores, and unexpected errors are JSON too."""

from __future__ import annotations

import math

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from gis_service.api.app import create_app
from gis_service.config import Settings

EDITOR = {"X-API-Key": "edit-key"}
KEYS = "edit-key:editor,view-key:viewer"
BIG = str(2**63)  # one above int64
BOTH = pytest.mark.parametrize("fresh_store", ["embedded", "postgis"], indirect=True)


@pytest.fixture
def client(store):
    with TestClient(create_app(Settings(api_keys=KEYS), store=store), raise_server_exceptions=False) as c:
        yield c


def error_field(r, status: int = 400) -> str:
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert set(doc) >= {"code", "description", "problems"}
    return ",".join(p["field"] for p in doc["problems"])


def test_ids_above_int64(client):
    assert "fid" in error_field(client.get(f"/collections/receptors/items/{BIG}"))
    assert "fid" in error_field(client.get(f"/collections/receptors/items/-{int(BIG) + 1}"))
    assert "fid" in error_field(client.delete(f"/collections/receptors/items/{BIG}", headers=EDITOR))
    assert "fid" in error_field(client.get(f"/analysis/exposure/hazard_sources/{BIG}"))


def test_offset_and_limit_above_int64(client):
    assert "offset" in error_field(client.get(f"/collections/receptors/items?offset={BIG}"))
    assert "limit" in error_field(client.get(f"/collections/receptors/items?limit={BIG}"))
    r = client.get(f"/collections/receptors/items?offset={2**63 - 1}")  # largest allowed: empty page
    assert r.status_code == 200 and r.json()["features"] == []


def test_nul_byte_in_q_and_filters(client):
    assert "q" in error_field(client.get("/collections/receptors/items", params={"q": "a\x00b"}))
    assert "name" in error_field(client.get("/collections/receptors/items", params={"name": "a\x00b"}))
    assert "sortby" in error_field(client.get("/collections/receptors/items", params={"sortby": "\x00"}))


@BOTH
def test_nul_byte_in_string_and_json_attributes(fresh_store):
    with TestClient(create_app(Settings(api_keys=KEYS), store=fresh_store), raise_server_exceptions=False) as c:
        before = fresh_store.count("hazard_sources")
        feat = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [125.3, 43.9]},
                "properties": {"name": "罐\x00区", "inventory": [{"substance": "chlorine", "quantity_t": 1}]}}
        assert "name" in error_field(c.post("/collections/hazard_sources/items", json=feat, headers=EDITOR))
        feat["properties"] = {"name": "罐区", "inventory": [{"substance": "chlor\x00ine", "quantity_t": 1}]}
        assert "inventory" in error_field(c.post("/collections/hazard_sources/items", json=feat, headers=EDITOR))
        assert fresh_store.count("hazard_sources") == before  # nothing written


def test_sortby_on_json_attribute(client):
    assert "sortby" in error_field(client.get("/collections/hazard_sources/items?sortby=inventory"))
    assert "sortby" in error_field(client.get("/collections/hazard_sources/items?sortby=-inventory"))


def test_what_if_quantity_1e308(client):
    body = {"point": [125.3, 43.9], "substance": "chlorine", "quantity_t": 1e308}
    assert "quantity_t" in error_field(client.post("/analysis/exposure", json=body))
    body["quantity_t"] = float("inf")
    assert client.post("/analysis/exposure", content=str(body).replace("'", '"').replace("inf", "Infinity"),
                       headers={"content-type": "application/json"}).status_code == 400


def test_scenario_kinds_as_a_number(client):
    body = {"point": [125.3, 43.9], "substance": "chlorine", "quantity_t": 5, "scenario": {"kinds": 5}}
    assert "kinds" in error_field(client.post("/analysis/exposure", json=body))
    assert "kinds" in error_field(client.get("/analysis/exposure/hazard_sources/1?kinds=5"))


def test_too_many_levels(client):
    levels = ",".join(str(1 + i / 100) for i in range(6000))
    assert "overpressure_kpa" in error_field(client.get(f"/analysis/exposure/hazard_sources/1?overpressure_kpa={levels}"))


def test_min_personnel_above_int64(client):
    r = client.get(f"/analysis/rescue/nearest?lon=125.3&lat=43.9&incident=chemical&min_personnel={BIG}")
    assert "min_personnel" in error_field(r)
    r = client.get(f"/analysis/rescue/nearest/hazard_sources/1?min_personnel={BIG}")
    assert "min_personnel" in error_field(r)


def test_nul_byte_in_viewer_asset_path(client):
    assert client.get("/viewer/a%00b.js").status_code == 404
    assert client.get("/static/vendor/jquery/dist/a%00b.js").status_code in (400, 404)


def test_static_files_do_not_escape(client):
    r = client.get("/static/vendor/jquery/..%2f@scarf%2fscarf%2freport.js")
    assert r.status_code == 404
    assert client.get("/static/vendor/jquery/../@scarf/scarf/report.js").status_code == 404
    assert client.get("/static/vendor/..%2f..%2fpyproject.toml").status_code == 404


def test_whole_world_siting_polygon(client):
    world = {"type": "Feature", "properties": {},
             "geometry": {"type": "Polygon", "coordinates": [[[-180, -90], [180, -90], [180, 90], [-180, 90],
                                                              [-180, -90]]]}}
    r = client.post("/analysis/siting", json=world)
    assert r.status_code in (200, 400), r.text[:300]
    if r.status_code == 400:
        error_field(r)


def test_unexpected_error_is_json_with_request_id(store):
    app = create_app(Settings(), store=store)
    boom = APIRouter()

    @boom.get("/boom")
    def _boom():
        raise RuntimeError("kaboom")

    app.include_router(boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom", headers={"X-Request-ID": "req-42"})
    assert r.status_code == 500
    assert r.headers["x-request-id"] == "req-42"
    doc = r.json()
    assert doc["code"] == "InternalError" and doc["request_id"] == "req-42"
    assert "kaboom" not in r.text  # no internals leak to the client


def test_openapi_declares_400_not_422(client):
    doc = client.get("/openapi.json").json()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert "422" not in op["responses"], (method, path)
            assert "400" in op["responses"], (method, path)
    writes = doc["paths"]["/collections/{collectionId}/items"]["post"]["responses"]
    assert {"201", "401", "403", "413", "503"} <= set(writes)  # the statuses a write can answer
    # FastAPI's own validation answers 400 too (a wrong type)
    assert error_field(client.get("/collections/receptors/items?limit=abc")) == "limit"


def test_siting_body_and_vertex_limits(client):
    big = b'{"type": "Feature", "properties": {"name": "' + b"x" * (2 * 1024 * 1024) + b'"}}'
    r = client.post("/analysis/siting", content=big, headers={"content-type": "application/json"})
    assert error_field(r, 413) == "body"
    n = 21_000  # a ring of 21,000 vertices, ~300 kB: under the body limit, over the vertex limit
    ring = [[round(125.3 + 0.01 * math.cos(6.283 * i / n), 5),
             round(43.9 + 0.01 * math.sin(6.283 * i / n), 5)] for i in range(n)]
    ring.append(ring[0])
    body = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
    r = client.post("/analysis/siting", json=body)
    assert error_field(r) == "geometry" and "vertices" in r.json()["problems"][0]["problem"]


# -- issue 23: typed request bodies and ids end the last 500s the fuzzer found ----------------------------
BAD_MULTIPOLYGONS = [
    [1, 2],                                   # numbers where polygons belong
    [[1, 2]],                                 # numbers where rings belong
    [[[1, 2]]],                               # numbers where positions' rings belong (a ring of numbers)
    [[[[125.3, 43.9], [125.4, 43.9], [125.4]]]],  # a position with one number
    [[[[125.3, 43.9, "x"]]]],                 # a position with text
    [[]],                                     # an empty polygon
]


@pytest.mark.parametrize("coords", BAD_MULTIPOLYGONS)
@pytest.mark.parametrize("path", ["/analysis/siting", "/reports/siting"])
def test_multipolygon_with_numbers_where_rings_belong(client, path, coords):
    body = {"type": "Feature", "properties": {}, "geometry": {"type": "MultiPolygon", "coordinates": coords}}
    assert "geometry" in error_field(client.post(path, json=body))


def test_alarm_id_above_int64(client):
    assert "alarm_id" in error_field(client.get(f"/monitoring/alarms/{BIG}"))
    assert "alarm_id" in error_field(client.post(f"/monitoring/alarms/{BIG}/acknowledge", headers=EDITOR))
    assert "alarm_id" in error_field(client.get(f"/monitoring/alarms/-{int(BIG) + 1}"))


def test_missing_web_asset_folder_is_404_and_named_at_start(store, tmp_path, monkeypatch):
    import logging

    import gis_service.maps.assets as assets

    monkeypatch.setattr(assets, "VENDOR_DIR", tmp_path / "node_modules")  # not built
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("gis_service.api.app").addHandler(handler)  # the service's root does not propagate
    try:
        app = create_app(Settings(), store=store)
    finally:
        logging.getLogger("gis_service.api.app").removeHandler(handler)
    assert any("web assets missing" in m and "setup_web_assets.sh" in m for m in seen), seen
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/static/vendor/jquery/dist/jquery.min.js")
        assert r.status_code == 404, r.text[:200]
        assert r.headers["content-type"].startswith("application/json")
        assert c.get("/collections").status_code == 200  # the API still answers
