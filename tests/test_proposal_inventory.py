"""The planner's uploaded proposal keeps its inventory (issue 18): ``POST /viewer/proposal`` returns it in
``properties.inventory`` (from an ``inventory`` list or the flat columns substance / quantity_t, one item per
feature), the siting check then runs the QRA with it (not the screening distance), and the siting PDF lists it
beside the QRA's F-N curve. A bad inventory in a file is a 400 naming it; a file with none says so (0 items)."""

from __future__ import annotations

import io
import json

import pytest
from fastapi.testclient import TestClient

from gis_service.api.app import create_app
from gis_service.config import Settings

pypdf = pytest.importorskip("pypdf")


@pytest.fixture(params=["embedded", "postgis"])
def client(request, sample_stores):
    with TestClient(create_app(Settings(), store=sample_stores[request.param])) as c:
        yield c


def _square(lon: float, lat: float, d: float = 0.001) -> dict:
    return {"type": "Polygon", "coordinates": [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]}


def _site(client) -> tuple[float, float]:
    """1 km east of hazard source 1 of the sample (a residential target lies within the QRA's reach)."""
    lon, lat = client.get("/collections/hazard_sources/items/1").json()["geometry"]["coordinates"]
    return lon + 0.01, lat


def _upload(client, name: str, data: bytes):
    return client.post("/viewer/proposal", files={"file": (name, data, "application/octet-stream")})


def _geojson(lon, lat, *props) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": p, "geometry": _square(lon, lat)} for p in props]}).encode()


def test_upload_keeps_the_inventory_and_the_check_runs_the_qra(client):
    lon, lat = _site(client)
    data = _geojson(lon, lat, {"name": "新装置", "unit_type": "storage",
                               "inventory": [{"substance": "chlorine", "quantity_t": 20}]},
                    {"substance": "氨", "quantity_t": 50})
    r = _upload(client, "p.geojson", data)
    assert r.status_code == 200, r.text
    props = r.json()["properties"]
    assert props["inventory"] == [{"substance": "chlorine", "quantity_t": 20.0}, {"substance": "氨", "quantity_t": 50.0}]
    assert props["inventory_items"] == 2 and props["unit_type"] == "storage"
    doc = client.post("/analysis/siting", json=r.json()).json()
    assert doc["proposal"]["kind"] == "installation" and doc["proposal"]["inventory"] == props["inventory"]
    rule = next(x for x in doc["rules"] if x["id"] == "external_safety_distance")
    # the QRA ran (IR / criterion ratio), not the 1000 m screening distance; its F-N curve is there
    assert rule["measured"]["unit"] == "ratio" and "screening" not in json.dumps(rule["notes"])
    assert rule["societal"]["fn_curve"] and rule["societal"]["assessment"]["region"]
    # without the inventory the same site falls back to the screening distance
    bare = client.post("/analysis/siting?kind=installation",
                       json={**r.json(), "properties": {"name": "新装置"}}).json()
    bare_rule = next(x for x in bare["rules"] if x["id"] == "external_safety_distance")
    assert bare_rule["measured"]["unit"] == "m" and "screening" in json.dumps(bare_rule)


def test_production_unit_changes_the_qra(client):
    lon, lat = _site(client)
    ratios = {}
    for unit in ("storage", "production"):
        body = {"type": "Feature", "geometry": _square(lon, lat),
                "properties": {"unit_type": unit, "inventory": [{"substance": "chlorine", "quantity_t": 20}]}}
        doc = client.post("/analysis/siting", json=body).json()
        ratios[unit] = next(x for x in doc["rules"] if x["id"] == "external_safety_distance")["measured"]["value"]
    assert ratios["storage"] != ratios["production"]          # pressure vessel vs process vessel LOCs (CPR 18E)
    bad = client.post("/analysis/siting", json={"type": "Feature", "geometry": _square(lon, lat),
                                                "properties": {"unit_type": "tank"}})
    assert bad.status_code == 400 and bad.json()["problems"][0]["field"] == "unit_type"


def test_geopackage_columns_become_the_inventory(client, tmp_path):
    import geopandas as gpd
    from shapely.geometry import shape

    lon, lat = _site(client)
    frame = gpd.GeoDataFrame({"name": ["罐区", "罐区"], "substance": ["chlorine", "propane"], "quantity_t": [20.0, 30.0],
                              "operating_temp_c": [None, 15.0]},
                             geometry=[shape(_square(lon, lat)), shape(_square(lon + 0.0005, lat))], crs=4326)
    path = tmp_path / "p.gpkg"
    frame.to_file(path, driver="GPKG")
    r = _upload(client, "p.gpkg", path.read_bytes())
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["inventory"] == [{"substance": "chlorine", "quantity_t": 20.0},
                                                   {"substance": "propane", "quantity_t": 30.0, "operating_temp_c": 15.0}]


def test_bad_inventory_in_a_file_is_refused_naming_it(client):
    lon, lat = _site(client)
    cases = [({"inventory": "not json ["}, "inventory"),
             ({"inventory": [{"substance": "unobtainium", "quantity_t": 3}]}, "inventory"),
             ({"substance": "chlorine", "quantity_t": -4}, "inventory"),
             ({"substance": "chlorine", "quantity_t": 4, "unit_type": "tank"}, "unit_type")]
    for props, field in cases:
        r = _upload(client, "p.geojson", _geojson(lon, lat, props))
        assert r.status_code == 400, (props, r.text)
        assert r.json()["problems"][0]["field"] == field, r.text


def test_a_file_without_inventory_says_so(client):
    lon, lat = _site(client)
    r = _upload(client, "p.geojson", _geojson(lon, lat, {"name": "只有边界"}))
    assert r.status_code == 200 and r.json()["properties"]["inventory_items"] == 0
    assert "inventory" not in r.json()["properties"]


def test_siting_pdf_lists_the_inventory_and_the_fn_curve(client):
    lon, lat = _site(client)
    body = {"type": "Feature", "geometry": _square(lon, lat),
            "properties": {"name": "新装置", "inventory": [{"substance": "chlorine", "quantity_t": 20}]}}
    r = client.post("/reports/siting", json=body)
    assert r.status_code == 200, r.text[:300]
    text = " ".join("".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(r.content)).pages).split())
    assert "定量风险评价输入 QRA input" in text and "氯 Chlorine" in text and "储存单元" in text
    assert "社会风险 Societal risk (F-N)" in text
    bare = client.post("/reports/siting?kind=installation", json={**body, "properties": {"name": "新装置"}})
    bare_text = " ".join("".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(bare.content)).pages).split())
    assert "未提供存量" in bare_text and "QRA input" not in bare_text
