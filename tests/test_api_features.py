"""OGC API Features over HTTP on both stores: reads, paging, HTML, writes, auth and bad input."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from gis_service.api.app import create_app
from gis_service.config import Settings
from gis_service.stores.base import Query

EDITOR = {"X-API-Key": "edit-key"}
VIEWER = {"X-API-Key": "view-key"}
KEYS = "edit-key:editor,view-key:viewer"


def client_for(store, **settings) -> TestClient:
    return TestClient(create_app(Settings(api_keys=KEYS, **settings), store=store))


@pytest.fixture
def client(store):
    with client_for(store) as c:
        yield c


BOTH = pytest.mark.parametrize("fresh_store", ["embedded", "postgis"], indirect=True)


@pytest.fixture
def writable(fresh_store):
    with client_for(fresh_store) as c:
        yield c, fresh_store


def test_landing_conformance_collections(client, catalog):
    doc = client.get("/").json()
    rels = {link["rel"] for link in doc["links"]}
    assert {"service-desc", "service-doc", "conformance", "data"} <= rels
    conf = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conf
    cols = client.get("/collections").json()["collections"]
    assert [c["id"] for c in cols] == catalog.names()
    teams = client.get("/collections/rescue_teams").json()
    assert teams["title"] == "救援队伍 Rescue teams"
    assert len(teams["extent"]["spatial"]["bbox"][0]) == 4
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200


def test_items_geojson_paging_with_next_links(client, dataset):
    url = "/collections/receptors/items?limit=120"
    ids = []
    while url:
        r = client.get(url)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/geo+json")
        doc = r.json()
        assert doc["type"] == "FeatureCollection"
        assert doc["numberMatched"] == len(dataset["receptors"])
        assert doc["numberReturned"] == len(doc["features"])
        ids += [f["id"] for f in doc["features"]]
        nxt = [link["href"] for link in doc["links"] if link["rel"] == "next"]
        url = nxt[0].replace("http://testserver", "") if nxt else None
    assert sorted(ids) == list(range(1, len(dataset["receptors"]) + 1))


def test_filters_properties_bbox_sortby(client, dataset):
    doc = client.get("/collections/rescue_teams/items",
                     params={"team_type": "fire", "on_duty": "true", "properties": "name,personnel",
                             "sortby": "-personnel", "bbox": "124,43,127,45", "limit": 100}).json()
    expected = [p for _, p in dataset["rescue_teams"] if p["team_type"] == "fire" and p["on_duty"]]
    assert doc["numberMatched"] == len(expected)
    assert all(set(f["properties"]) == {"name", "personnel"} for f in doc["features"])
    pers = [f["properties"]["personnel"] for f in doc["features"]]
    assert pers == sorted(pers, reverse=True)


def test_item_and_html(client):
    r = client.get("/collections/rescue_teams/items/5")
    assert r.status_code == 200 and r.json()["id"] == 5
    assert r.json()["geometry"]["type"] == "Point"
    html = client.get("/collections/rescue_teams/items?f=html")
    assert html.status_code == 200 and "救援队伍" in html.text and "/static/leaflet/leaflet.js" in html.text
    assert "人数" in client.get("/collections/rescue_teams?f=html").text
    assert client.get("/collections/rescue_teams/items/5", headers={"Accept": "text/html"}).text.count("救援队") >= 1
    assert client.get("/static/leaflet/leaflet.js").status_code == 200


@pytest.mark.parametrize("url,field,status", [
    ("/collections/nope/items", "collectionId", 404),
    ("/collections/rescue_teams/items/999999", "featureId", 404),
    ("/collections/rescue_teams/items?limit=0", "limit", 400),
    ("/collections/rescue_teams/items?limit=abc", "limit", 400),
    ("/collections/rescue_teams/items?bbox=1,2,3", "bbox", 400),
    ("/collections/rescue_teams/items?bbox=200,0,210,10", "bbox", 400),
    ("/collections/rescue_teams/items?personnel=many", "personnel", 400),
    ("/collections/rescue_teams/items?team_type=pilot", "team_type", 400),
    ("/collections/rescue_teams/items?properties=name,password", "properties", 400),
    ("/collections/rescue_teams/items?sortby=name;DROP", "sortby", 400),
    ("/collections/rescue_teams/items?1%3D1--=x", "1=1--", 400),
    ("/collections/rescue_teams/items?f=xml", "f", 400),
    ("/collections/rescue_teams/items?bbox-crs=EPSG:2154&bbox=1,1,2,2", "bbox-crs", 400),  # not offered
])
def test_bad_requests_name_the_field(client, url, field, status):
    r = client.get(url)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["problems"] and body["problems"][0]["field"] == field


def test_injection_in_filter_values_changes_nothing(client, store):
    before = store.count("rescue_teams")
    r = client.get("/collections/rescue_teams/items", params={"name": "x'; DELETE FROM riskmap.rescue_teams; --"})
    assert r.status_code == 200 and r.json()["numberMatched"] == 0
    r = client.get("/collections/rescue_teams/items", params={"q": "%' OR '1'='1"})
    assert r.status_code == 200 and r.json()["numberMatched"] == 0
    assert store.count("rescue_teams") == before


def _team(name="新救援队", lon=125.5, lat=43.9, **props):
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"name": name, "team_type": "hazmat", "personnel": 30, "on_duty": True, **props}}


@BOTH
def test_writes_need_editor_key(writable):
    client, store = writable
    assert client.post("/collections/rescue_teams/items", json=_team()).status_code == 401
    assert client.post("/collections/rescue_teams/items", json=_team(), headers={"X-API-Key": "bad"}).status_code == 401
    assert client.post("/collections/rescue_teams/items", json=_team(), headers=VIEWER).status_code == 403
    assert client.delete("/collections/rescue_teams/items/1", headers=VIEWER).status_code == 403
    assert store.count("rescue_teams") == 40


@BOTH
def test_create_replace_delete(writable):
    client, store = writable
    r = client.post("/collections/rescue_teams/items", json=_team(), headers=EDITOR)
    assert r.status_code == 201
    fid = r.json()["created"][0]
    assert r.headers["location"].endswith(f"/collections/rescue_teams/items/{fid}")
    got = client.get(f"/collections/rescue_teams/items/{fid}").json()
    assert got["properties"]["name"] == "新救援队" and got["geometry"]["coordinates"] == [125.5, 43.9]
    r = client.put(f"/collections/rescue_teams/items/{fid}", json=_team("改名队", personnel=45), headers=EDITOR)
    assert r.status_code == 204
    assert client.get(f"/collections/rescue_teams/items/{fid}").json()["properties"]["personnel"] == 45
    assert client.delete(f"/collections/rescue_teams/items/{fid}", headers=EDITOR).status_code == 204
    assert client.get(f"/collections/rescue_teams/items/{fid}").status_code == 404
    assert client.put("/collections/rescue_teams/items/999999", json=_team(), headers=EDITOR).status_code == 404


BOWTIE = {"type": "Polygon", "coordinates": [[[125.0, 43.0], [125.1, 43.1], [125.1, 43.0], [125.0, 43.1],
                                              [125.0, 43.0]]]}


@BOTH
@pytest.mark.parametrize("body,field,fragment", [
    ({"type": "FeatureCollection", "features": [_team(), _team(lon=190)]}, "geometry", "longitude out of range"),
    ({"type": "FeatureCollection", "features": [_team(), _team(team_type="pilot")]}, "team_type", "not allowed"),
    ({"type": "FeatureCollection", "features": [_team(), {**_team(), "properties": {"name": "x"}}]},
     "team_type", "required"),
    ({"type": "FeatureCollection", "features": [_team(), {**_team(), "geometry": BOWTIE}]}, "geometry",
     "geometry type Polygon not allowed"),
    ({**_team(), "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}}, "crs", "WGS84"),
    ({"type": "FeatureCollection", "features": [_team(), _team(colour="red")]}, "colour", "unknown attribute"),
    ({"type": "FeatureCollection", "features": [_team(), {**_team(), "geometry": {"type": "Point"}}]},
     "geometry", "unreadable"),
])
def test_bad_writes_rejected_whole(writable, body, field, fragment):
    client, store = writable
    before = store.items("rescue_teams", Query(limit=1000))
    r = client.post("/collections/rescue_teams/items", json=body, headers=EDITOR)
    assert r.status_code == 400, r.text
    problems = r.json()["problems"]
    assert any(p["field"] == field and fragment in p["problem"] for p in problems), problems
    after = store.items("rescue_teams", Query(limit=1000))
    assert [f.to_dict() for f in after.features] == [f.to_dict() for f in before.features]


@BOTH
def test_invalid_polygon_named(writable):
    client, store = writable
    park = {"type": "Feature", "geometry": BOWTIE,
            "properties": {"name": "坏园区", "level": "provincial", "planned_area_km2": 3}}
    r = client.post("/collections/chemical_parks/items", json=park, headers=EDITOR)
    assert r.status_code == 400
    assert "Self-intersection" in r.json()["problems"][0]["problem"]
    assert store.count("chemical_parks") == 5


def test_oversized_and_malformed_payloads(store, tmp_path):
    with client_for(store, max_body_bytes=1000) as client:
        big = json.dumps({"type": "FeatureCollection", "features": [_team()] * 50})
        r = client.post("/collections/rescue_teams/items", content=big, headers={**EDITOR,
                                                                               "content-type": "application/json"})
        assert r.status_code == 413 and r.json()["problems"][0]["field"] == "body"
        r = client.post("/collections/rescue_teams/items", content=b"{not json", headers=EDITOR)
        assert r.status_code == 400 and r.json()["problems"][0]["field"] == "body"


def test_reads_can_require_a_key(store):
    with client_for(store, read_requires_key=True) as client:
        assert client.get("/collections").status_code == 401
        assert client.get("/collections", headers=VIEWER).status_code == 200
