"""Bulk downloads (f=gpkg, f=fgb, f=csv) of a layer or a filtered selection, in a chosen CRS, on both stores;
read back with GDAL (pyogrio) and compared with the items answer; chunked keyset reading covers every row once."""

from __future__ import annotations

import csv
import io

import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient

from gis_service.api.app import create_app
from gis_service.config import Settings
from gis_service.services import downloads

FLT = "population > 800 AND S_INTERSECTS(geometry, BBOX(125.0, 43.5, 126.0, 44.2))"


@pytest.fixture
def client(store):
    with TestClient(create_app(Settings(), store=store)) as c:
        yield c


def _expected(client):
    doc = client.get("/collections/receptors/items", params={"filter": FLT, "limit": 10000}).json()
    return {f["id"]: f for f in doc["features"]}


@pytest.mark.parametrize("fmt", ["gpkg", "fgb"])
def test_file_downloads_read_back_with_gdal(client, tmp_path, fmt, monkeypatch):
    monkeypatch.setattr(downloads, "CHUNK", 37)  # several keyset chunks
    want = _expected(client)
    assert 37 < len(want) < 300
    r = client.get("/collections/receptors/items", params={"filter": FLT, "f": fmt, "crs": "EPSG:4490"})
    assert r.status_code == 200, r.text
    assert f"receptors-epsg4490.{fmt}" in r.headers["content-disposition"]
    path = tmp_path / f"x.{fmt}"
    path.write_bytes(r.content)
    df = pyogrio.read_dataframe(path)
    assert df.crs.to_epsg() == 4490
    assert sorted(df["id"]) == sorted(want)
    for fid, geom, pop in zip(df["id"], df.geometry, df["population"], strict=True):
        src = shapely.geometry.shape(want[fid]["geometry"])
        assert geom.equals_exact(src, 1e-6)  # x = longitude in files
        assert pop == want[fid]["properties"]["population"]


def test_csv_download_streams_every_row_once(client, monkeypatch):
    monkeypatch.setattr(downloads, "CHUNK", 25)
    want = _expected(client)
    r = client.get("/collections/receptors/items", params={"filter": FLT, "f": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [int(row["id"]) for row in rows] == sorted(want)
    for row in rows:
        assert shapely.from_wkt(row["wkt"]).equals_exact(shapely.geometry.shape(want[int(row["id"])]["geometry"]), 1e-6)
    gk = client.get("/collections/receptors/items", params={"filter": FLT, "f": "csv", "crs": "EPSG:4551"})
    first = next(csv.DictReader(io.StringIO(gk.content.decode("utf-8-sig"))))
    x, y = shapely.from_wkt(first["wkt"]).coords[0]
    assert 300_000 < x < 700_000 and 4_700_000 < y < 5_000_000  # easting, northing of CM 126E


def test_download_of_a_whole_layer_and_bad_input(client):
    r = client.get("/collections/hazard_sources/items", params={"f": "gpkg"})
    assert r.status_code == 200 and len(r.content) > 1000
    assert client.get("/collections/receptors/items", params={"f": "shp"}).status_code == 400
    assert client.get("/collections/receptors/items", params={"f": "csv", "crs": "EPSG:2154"}).status_code == 400
    assert client.get("/collections/receptors/items", params={"f": "fgb", "filter": "nosuch = 1"}).status_code == 400
