"""The 5xx reproducers of the hostile-user probe (issue 24, deliverable 2): each answers a clear 4xx
(or a 200 where the input is valid) on both stores — never a 500.

Each test failed on the code before its fix (TypeError, OverflowError, ZeroDivisionError/inf,
PostGIS "year 0 is out of range" and "Antipodal edge")."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from gis_service.api.app import create_app
from gis_service.config import Settings

KEYS = "edit-key:editor,view-key:viewer,sensor-key:sensor"
EDITOR = {"X-API-Key": "edit-key"}
SENSOR = {"X-API-Key": "sensor-key"}
BIG = 2**63  # one above int64


@pytest.fixture(scope="module", params=["embedded", "postgis"])
def client(request, catalog, dataset, tmp_path_factory):
    from conftest import database_url, fill

    if request.param == "postgis":
        from gis_service.stores.postgis import PostGISStore

        store = PostGISStore(catalog, database_url(request.getfixturevalue("postgis_url"), "gis_test_secreg"))
        store.drop_all()
    else:
        from gis_service.stores.embedded import EmbeddedStore

        store = EmbeddedStore(catalog, tmp_path_factory.mktemp("secreg") / "store.gpkg")
    store.init()
    fill(store, catalog, dataset)
    with TestClient(create_app(Settings(api_keys=KEYS), store=store), raise_server_exceptions=False) as c:
        c.store_kind = request.param
        yield c
    store.close()


def refused(r, field: str | None = None, status: int = 400) -> dict:
    assert r.status_code == status, (r.request.method, r.request.url, r.status_code, r.text[:400])
    assert r.headers["content-type"].startswith("application/json"), r.headers["content-type"]
    doc = r.json()
    if field is not None:
        assert field in ",".join(str(p.get("field")) for p in doc.get("problems", [])) + doc.get("description", ""), doc
    return doc


def not_5xx(r) -> None:
    assert r.status_code < 500, (r.request.method, r.request.url, r.status_code, r.text[:400])


def first_id(client, layer: str) -> int:
    return client.get(f"/collections/{layer}/items", params={"limit": 1}).json()["features"][0]["id"]


# -- siting with non-array coordinates (TypeError) -------------------------------------------------------

@pytest.mark.parametrize("coords", ["abc", 5, {"a": 1}, None, True, [1, "x"], [[1, 2], 3], [[[1, 2]]]])
@pytest.mark.parametrize("gtype", ["Point", "Polygon", "MultiPolygon"])
def test_siting_with_non_array_coordinates(client, gtype, coords):
    body = {"type": "Feature", "geometry": {"type": gtype, "coordinates": coords}, "properties": {"name": "x"}}
    for path in ("/analysis/siting", "/maps/siting", "/reports/siting"):
        refused(client.post(path, json=body), "geometry")


# -- QRA with a subnormal pool area; exposure with a huge duration -------------------------------------

def hazard_id(client) -> int:
    doc = client.get("/collections/hazard_sources/items", params={"limit": 1000}).json()
    return next(f["id"] for f in doc["features"]
                if any(i["substance"] in ("chlorine", "ammonia", "lpg", "propane") for i in f["properties"]["inventory"]))


@pytest.mark.parametrize("area", ["5e-324", "1e-300", "1e308", "1e-6"])
def test_qra_with_degenerate_pool_area(client, area):
    hid = hazard_id(client)
    q = {"pool_area_m2": area, "resolution_m": 100}
    for path in (f"/analysis/risk/individual/hazard_sources/{hid}", f"/analysis/risk/societal/hazard_sources/{hid}",
                 f"/maps/risk/hazard_sources/{hid}", f"/reports/risk/hazard_sources/{hid}.pdf"):
        refused(client.get(path, params=q), "pool_area_m2")


def test_qra_with_a_reasonable_pool_area_still_works(client):
    hid = hazard_id(client)
    r = client.get(f"/analysis/risk/individual/hazard_sources/{hid}", params={"pool_area_m2": 50, "resolution_m": 100})
    assert r.status_code == 200, r.text[:300]


@pytest.mark.parametrize("value", ["1e308", "5e-324", "1e-300", "1441"])
def test_exposure_with_a_degenerate_release_duration(client, value):
    hid = hazard_id(client)
    for path in (f"/analysis/exposure/hazard_sources/{hid}", f"/maps/exposure/hazard_sources/{hid}",
                 f"/reports/exposure/hazard_sources/{hid}.pdf"):
        refused(client.get(path, params={"release_duration_min": value}), "release_duration_min")
    assert client.get(f"/analysis/exposure/hazard_sources/{hid}", params={"release_duration_min": 30}).status_code == 200


@pytest.mark.parametrize(("name", "value"), [("release_rate_g_s", "1e308"), ("max_plume_m", "1e308"),
                                             ("release_height_m", "1e308"), ("hole_diameter_mm", "1e308"),
                                             ("jet_pressure_mpa", "1e308"), ("burning_rate_kg_m2_s", "5e-324"),
                                             ("max_corridor_m", "1e308"), ("wind_speed_m_s", "1e308"),
                                             ("pool_area_m2", "5e-324")])
def test_exposure_with_extreme_scenario_values_is_never_a_5xx(client, name, value):
    hid = hazard_id(client)
    not_5xx(client.get(f"/analysis/exposure/hazard_sources/{hid}", params={name: value}))


# -- monitoring: ids above int64, far-past times ------------------------------------------------------

def test_alarm_ids_above_int64(client):
    refused(client.get(f"/monitoring/alarms/{BIG}"), "alarm_id")
    refused(client.post(f"/monitoring/alarms/{BIG}/acknowledge", headers=EDITOR), "alarm_id")
    refused(client.get("/monitoring/alarms", params={"sensor_id": BIG}), "sensor_id")
    refused(client.get(f"/monitoring/sensors/{BIG}/readings"), "sensor_id")
    assert client.get(f"/monitoring/alarms/{2**63 - 1}").status_code == 404


def a_sensor(client) -> int:
    """A sensor of the test store (the small dataset has none): created once per store."""
    got = client.get("/collections/sensors/items", params={"limit": 1}).json()["features"]
    if got:
        return got[0]["id"]
    feat = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [125.3, 43.9]},
            "properties": {"name": "p1", "kind": "tank_level", "unit": "m", "source_layer": "hazard_sources",
                           "source_id": hazard_id(client)}}
    r = client.post("/collections/sensors/items", json=feat, headers=EDITOR)
    assert r.status_code == 201, r.text[:300]
    return r.json()["created"][0]


def test_reading_with_sensor_id_above_int64(client):
    sid = a_sensor(client)
    r = client.post("/monitoring/readings", headers=SENSOR,
                    json={"readings": [{"sensor_id": BIG, "time": time.time() - 5, "value": 1.0}]})
    doc = refused(r)
    assert doc["problems"][0]["field"] == "sensor_id"
    r = client.post("/monitoring/readings", headers=SENSOR,
                    json={"readings": [{"sensor_id": BIG, "time": time.time() - 5, "value": 1.0},
                                       {"sensor_id": sid, "time": time.time() - 5, "value": 1.0}]})
    not_5xx(r)
    assert r.json()["problems"][0]["row"] == 0


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59Z",
                                  "-62135596800", "1e300"])
def test_readings_series_at_the_ends_of_time(client, when):
    sid = a_sensor(client)
    r = client.get(f"/monitoring/sensors/{sid}/readings", params={"from": when})
    not_5xx(r)
    r = client.get(f"/monitoring/sensors/{sid}/readings", params={"from": "0001-01-01T00:00:00Z", "to": when})
    not_5xx(r)


def test_readings_series_from_year_one(client):
    sid = a_sensor(client)
    r = client.get(f"/monitoring/sensors/{sid}/readings",
                   params={"from": "0001-01-01T00:00:00Z", "to": "2000-01-01T00:00:00Z"})
    assert r.status_code in (200, 400), r.text[:300]


# -- geometry PostGIS cannot use ---------------------------------------------------------------------

WORLD = {"type": "Polygon", "coordinates": [[[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]]}


def count(client, layer: str) -> int:
    return client.get(f"/collections/{layer}/items", params={"limit": 1}).json()["numberMatched"]


def square(x0: float, y0: float, x1: float, y1: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


@pytest.mark.parametrize(("geometry", "why"), [
    (WORLD, "antimeridian"),
    (square(-179.5, 50, 179.5, 51), "antimeridian"),          # a park across 180° written the wrong way round
    (square(120, 40, 130, 48), "maximum"),                      # ~1200 km: no park is that big
    (square(-10, -80, 169, 80), "maximum"),                     # nearly antipodal corners
])
def test_geometry_a_park_cannot_be_is_refused_on_write(client, geometry, why):
    before = count(client, "chemical_parks")
    feat = {"type": "Feature", "geometry": geometry, "properties": {"name": "world", "level": "provincial"}}
    doc = refused(client.post("/collections/chemical_parks/items", json=feat, headers=EDITOR), "geometry")
    assert why in str(doc), doc
    fid = first_id(client, "chemical_parks")
    r = client.put(f"/collections/chemical_parks/items/{fid}", json={**feat, "id": fid}, headers=EDITOR)
    assert why in str(refused(r, "geometry"))
    assert count(client, "chemical_parks") == before
    for path in ("/analysis/siting", "/reports/siting"):
        refused(client.post(path, json=feat), "geometry")


def test_a_park_of_ordinary_size_is_still_accepted(client):
    feat = {"type": "Feature", "geometry": square(125.30, 43.90, 125.40, 43.95),
            "properties": {"name": "ordinary", "level": "provincial"}}
    r = client.post("/collections/chemical_parks/items", json=feat, headers=EDITOR)
    assert r.status_code == 201, r.text[:300]


def test_readings_body_is_declared_in_openapi(client):
    op = client.get("/openapi.json").json()["paths"]["/monitoring/readings"]["post"]
    body = op["requestBody"]["content"]["application/json"]["schema"]
    assert "readings" in str(body) and "sensor_id" in str(body)


# -- 503 bodies name no host, port, user or path (deliverable 5) ---------------------------------------

def test_unavailable_database_is_a_503_that_names_nothing(postgis_url):
    from conftest import free_port

    port = free_port()  # nothing listens there
    settings = Settings(store="postgis", database_url=f"postgresql+psycopg://secretuser@127.0.0.1:{port}/secretdb",
                        db_connect_timeout_s=2, db_deadline_s=2)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        for path in ("/collections/receptors/items", "/readyz", "/monitoring/alarms", "/monitoring/sensors",
                     "/analysis/rescue/nearest?lon=125.5&lat=43.8&incident=chemical"):
            r = c.get(path)
            assert r.status_code == 503 and r.headers.get("retry-after"), (path, r.status_code, r.text[:300])
            for secret in ("secretuser", "secretdb", "127.0.0.1", str(port), "psycopg"):
                assert secret not in r.text, (path, secret, r.text)


# -- hardened edges (deliverable 5) -----------------------------------------------------------------

@pytest.mark.parametrize("query", ["limit=1&limit=100000", "bbox=1,2,3,4&bbox=5,6,7,8&limit=2", "q=a&q=b",
                                   "name=x&name=y"])
def test_repeated_query_parameters_are_refused(client, query):
    doc = refused(client.get(f"/collections/receptors/items?{query}"))
    keys = [kv.split("=")[0] for kv in query.split("&")]
    assert [p["field"] for p in doc["problems"]] == [k for k in dict.fromkeys(keys) if keys.count(k) > 1]
    refused(client.get("/analysis/rescue/nearest?lon=125.5&lat=43.8&incident=chemical&k=1&k=50"), "k")
    refused(client.get("/collections/receptors/items?limit=2&q=a&limit=2&q=b"), "q")


def test_a_parameter_repeated_with_the_same_value_is_one_parameter(client):
    """GDAL's OAPIF driver appends its URL's own parameters to each next link (which carries them already)."""
    flt = "population%20%3E%20100"
    once = client.get(f"/collections/receptors/items?filter={flt}&limit=3")
    twice = client.get(f"/collections/receptors/items?filter={flt}&limit=3&filter=population > 100&limit=3")
    assert once.status_code == twice.status_code == 200, twice.text[:300]
    assert [f["id"] for f in once.json()["features"]] == [f["id"] for f in twice.json()["features"]]


def test_put_whose_body_id_differs_from_the_path_is_refused(client):
    fid = first_id(client, "rescue_teams")
    other = client.get("/collections/rescue_teams/items", params={"limit": 2}).json()["features"][1]["id"]
    feat = client.get(f"/collections/rescue_teams/items/{fid}").json()
    feat.pop("links", None)
    before = dict(feat["properties"])
    for wrong in (other, str(other), "abc", fid + 2**40):
        r = client.put(f"/collections/rescue_teams/items/{fid}", json={**feat, "id": wrong,
                       "properties": {**before, "name": "changed"}}, headers=EDITOR)
        refused(r, "id")
    assert client.get(f"/collections/rescue_teams/items/{fid}").json()["properties"]["name"] == before["name"]
    for same in (fid, str(fid)):
        r = client.put(f"/collections/rescue_teams/items/{fid}", json={**feat, "id": same}, headers=EDITOR)
        assert r.status_code == 204, r.text[:300]
    feat.pop("id")
    assert client.put(f"/collections/rescue_teams/items/{fid}", json=feat, headers=EDITOR).status_code == 204


def _two_layer_gpkg(path) -> bytes:
    import geopandas as gpd
    from shapely.geometry import box

    for name, x in (("site_a", 125.30), ("site_b", 125.50)):
        gpd.GeoDataFrame({"name": [name]}, geometry=[box(x, 43.90, x + 0.01, 43.91)], crs="EPSG:4326") \
            .to_file(path, layer=name, driver="GPKG")
    return path.read_bytes()


def test_multi_layer_geopackage_proposal_asks_which_layer(client, tmp_path):
    data = _two_layer_gpkg(tmp_path / "two.gpkg")
    r = client.post("/viewer/proposal", files={"file": ("two.gpkg", data, "application/geopackage+sqlite3")})
    doc = refused(r, "layer")
    assert "site_a" in str(doc) and "site_b" in str(doc)
    r = client.post("/viewer/proposal?layer=site_b", files={"file": ("two.gpkg", data, "application/geopackage+sqlite3")})
    assert r.status_code == 200 and r.json()["properties"]["name"] == "site_b", r.text[:300]
    refused(client.post("/viewer/proposal?layer=nope", files={"file": ("two.gpkg", data, "application/x-sqlite3")}),
            "layer")


def test_upload_and_item_writes_agree_on_the_legacy_crs_member(client):
    sq = [[[13950000, 5450000], [13951000, 5450000], [13951000, 5451000], [13950000, 5451000], [13950000, 5450000]]]
    feat = {"type": "Feature", "properties": {"name": "p", "level": "provincial"},
            "geometry": {"type": "Polygon", "coordinates": sq}}
    legacy = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:3857"}},
              "features": [feat]}
    up = client.post("/viewer/proposal", files={"file": ("p.geojson", json.dumps(legacy).encode(), "application/geo+json")})
    write = client.post("/collections/chemical_parks/items", json=legacy, headers=EDITOR)
    assert up.status_code == write.status_code == 400, (up.text[:300], write.text[:300])
    assert "3857" in up.text and "3857" in write.text
    wgs = {**legacy, "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
           "features": [{**feat, "geometry": {"type": "Polygon", "coordinates": [[[125.3, 43.9], [125.31, 43.9],
                                                                                  [125.31, 43.91], [125.3, 43.9]]]}}]}
    up = client.post("/viewer/proposal", files={"file": ("p.geojson", json.dumps(wgs).encode(), "application/geo+json")})
    write = client.post("/collections/chemical_parks/items", json=wgs, headers=EDITOR)
    assert up.status_code == 200 and write.status_code == 201, (up.text[:300], write.text[:300])


def test_upload_errors_name_no_server_path(client):
    for name, data in (("bad.gpkg", b"SQLite format 3\x00" + b"\x00" * 100), ("bad.zip", b"PK\x03\x04nonsense"),
                       ("bad.geojson", b"{not json")):
        r = client.post("/viewer/proposal", files={"file": (name, data, "application/octet-stream")})
        refused(r, "file")
        assert "/tmp" not in r.text and "upload." not in r.text and "/vsizip" not in r.text, r.text


def test_geopackage_keeps_its_file_mode(catalog, dataset, tmp_path):
    import os
    import stat

    from conftest import fill

    from gis_service.stores.embedded import EmbeddedStore

    path = tmp_path / "mode.gpkg"
    store = EmbeddedStore(catalog, path)
    store.init()
    fill(store, catalog, dataset)
    os.chmod(path, 0o640)
    with TestClient(create_app(Settings(api_keys=KEYS), store=store), raise_server_exceptions=False) as c:
        feat = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [125.3, 43.9]},
                "properties": {"name": "t", "team_type": "hazmat", "personnel": 10, "on_duty": True}}
        r = c.post("/collections/rescue_teams/items", json=feat, headers=EDITOR)
        assert r.status_code == 201, r.text[:300]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    store.close()


def test_docs_and_viewer_page_are_public_and_hold_no_data(catalog, dataset, tmp_path):
    """With reads behind a key, the API description and the viewer page stay public (documented in the
    README) and hold no feature; every data path needs the key."""
    from conftest import fill

    from gis_service.stores.base import Query
    from gis_service.stores.embedded import EmbeddedStore

    store = EmbeddedStore(catalog, tmp_path / "pub.gpkg")
    store.init()
    fill(store, catalog, dataset)
    names = [f.properties["name"] for f in store.items("rescue_teams", Query(limit=5)).features]
    with TestClient(create_app(Settings(api_keys=KEYS, read_requires_key=True), store=store),
                    raise_server_exceptions=False) as c:
        for path in ("/docs", "/openapi.json", "/viewer", "/healthz"):
            r = c.get(path)
            assert r.status_code == 200, (path, r.status_code)
            assert not any(n in r.text for n in names), path
        for path in ("/collections/rescue_teams/items", "/viewer/config.json", "/viewer/basemap/admin_areas",
                     "/maps/overview", "/monitoring/sensors", "/analysis/rescue/nearest?lon=125&lat=43&incident=fire"):
            assert c.get(path).status_code == 401, path
            assert c.get(path, headers={"X-API-Key": "view-key"}).status_code < 400, path
    store.close()


def test_audit_filter_naming_no_layer_is_a_400(client):
    """Fuzz (100 examples, viewer key): ``GET /audit?layer=<unknown>`` answered 404, a status the document
    does not declare for a query parameter; an unknown layer in a filter is a bad parameter."""
    doc = refused(client.get("/audit", params={"layer": "no_such_layer", "limit": 5}, headers=EDITOR), "layer")
    assert "hazard_sources" in doc["description"]
    assert client.get("/audit", params={"layer": "hazard_sources", "limit": 5}, headers=EDITOR).status_code == 200
