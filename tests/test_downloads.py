"""Bulk downloads (f=gpkg, f=fgb, f=csv) of a layer or a filtered selection, in a chosen CRS, on both stores;
read back with GDAL (pyogrio) and compared with the items answer; chunked keyset reading covers every row once."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

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
    monkeypatch.setattr(downloads.DownloadsService, "rows", 37)  # several keyset chunks
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
    monkeypatch.setattr(downloads.DownloadsService, "rows", 25)
    want = _expected(client)
    r = client.get("/collections/receptors/items", params={"filter": FLT, "f": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [int(row["id"]) for row in rows] == sorted(want)
    for row in rows:
        pop = want[int(row["id"])]["properties"]["population"]
        assert row["population"] == ("" if pop is None else str(pop))   # an integer as one, whichever store
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


def _selection(store, query):
    return sorted(f.id for f in store.items("receptors", replace(query, limit=100_000)).features)


def test_export_is_one_pass_that_counts_nothing(store, monkeypatch):
    """The bulk read never goes through the items path (whose pages count their matches) and, on PostGIS, is one
    statement (a server-side cursor) however many chunks it yields."""
    from gis_service.api.features import parse_items_query

    query = parse_items_query(store.spec("receptors"), {"filter": FLT}, Settings())
    want = _selection(store, query)
    assert len(want) > 3 * 7
    statements: list[str] = []
    if store.kind == "postgis":
        from sqlalchemy import event

        def seen(conn, cursor, statement, *_):
            statements.append(statement)
        event.listen(store.engine, "before_cursor_execute", seen)
    monkeypatch.setattr(store, "items", lambda *a, **k: pytest.fail("export went through items()"))
    try:
        chunks = list(store.export("receptors", query, rows=7))
    finally:
        if store.kind == "postgis":
            event.remove(store.engine, "before_cursor_execute", seen)
    ids = [int(i) for c in chunks for i in c.ids]
    assert ids == want and [len(c) for c in chunks[:-1]] == [7] * (len(chunks) - 1)
    assert all(set(c.columns) == set(store.spec("receptors").attribute_names) for c in chunks)
    if store.kind == "postgis":
        reads = [s for s in statements if "riskmap.receptors" in s]
        assert len(reads) == 1 and "count(" not in reads[0].lower(), statements


def test_gpkg_download_has_its_spatial_index_and_json_attributes(client, tmp_path):
    import sqlite3

    want = client.get("/collections/hazard_sources/items", params={"limit": 10000}).json()["features"]
    r = client.get("/collections/hazard_sources/items", params={"f": "gpkg"})
    path = tmp_path / "h.gpkg"
    path.write_bytes(r.content)
    with sqlite3.connect(path) as db:
        (table,) = db.execute("SELECT table_name FROM gpkg_extensions WHERE extension_name = 'gpkg_rtree_index'") \
            .fetchone()
        assert table == "hazard_sources"
        (indexed,) = db.execute("SELECT count(*) FROM rtree_hazard_sources_geom").fetchone()
    assert indexed == len(want)
    df = pyogrio.read_dataframe(path)
    by_id = {f["id"]: f["properties"] for f in want}
    assert sorted(df["id"]) == sorted(by_id)
    for fid, inventory in zip(df["id"], df["inventory"], strict=True):
        assert json.loads(inventory) == by_id[fid]["inventory"]


@pytest.mark.parametrize("fmt", ["gpkg", "fgb", "csv"])
def test_an_empty_selection_is_a_valid_empty_file(client, tmp_path, fmt):
    r = client.get("/collections/receptors/items", params={"f": fmt, "filter": "population < -1"})
    assert r.status_code == 200
    if fmt == "csv":
        assert r.content.decode("utf-8-sig").splitlines()[0].startswith("id,")
        assert len(r.content.decode("utf-8-sig").splitlines()) == 1
        return
    path = tmp_path / f"e.{fmt}"
    path.write_bytes(r.content)
    df = pyogrio.read_dataframe(path)
    assert len(df) == 0 and "population" in df.columns



def test_csv_integers_with_missing_values_stay_integers(tmp_path, catalog):
    """A nullable integer attribute written as 12 or empty, never as 12.0 or nan (the embedded store keeps a column of
    integers with missing values as floats with NaN)."""
    from shapely.geometry import Point

    from gis_service import crs as crsmod
    from gis_service.stores.base import Query, WriteBatch
    from gis_service.stores.embedded import EmbeddedStore
    from gis_service.validation import validate_rows

    store = EmbeddedStore(catalog, tmp_path / "s.gpkg")
    store.init()
    hazard = {"name": "h", "enterprise": "e", "unit_type": "storage",
              "inventory": [{"substance": "chlorine", "cas": "7782-50-5", "quantity_t": 1.0}]}
    rows = validate_rows(catalog["hazard_sources"], [(Point(125.3, 43.8), {**hazard, "park_id": 12}),
                                                      (Point(125.4, 43.8), hazard)])
    store.write("hazard_sources", WriteBatch(creates=rows))
    body = b"".join(downloads.DownloadsService(store).stream("hazard_sources", Query(), "csv", crsmod.CRS84_CRS))
    got = [row["park_id"] for row in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))]
    assert got == ["12", ""]


@pytest.mark.parametrize("fmt", ["gpkg", "fgb", "csv"])
def test_a_read_that_fails_is_an_http_error_not_a_cut_off_file(store, fmt, monkeypatch):
    """The file is finished (CSV: its first chunk read) before the answer starts, so a database that fails mid-read
    gives 503 rather than a 200 whose body stops short; GDAL's own error does not hide the cause."""
    from gis_service.stores.base import StoreError

    real = store.export

    def failing(layer, query, rows):
        chunks = real(layer, query, rows=rows)
        if fmt != "csv":
            yield next(chunks)   # the file fails after a chunk went in
        raise StoreError("connection lost")

    monkeypatch.setattr(store, "export", failing)
    with TestClient(create_app(Settings(), store=store), raise_server_exceptions=False) as c:
        r = c.get("/collections/receptors/items", params={"f": fmt})
    assert r.status_code == 503 and r.headers.get("retry-after"), (r.status_code, r.content[:200])
