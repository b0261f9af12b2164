"""OGC API – Tiles with Mapbox Vector Tiles on both stores: a tile decodes (with mapbox-vector-tile's own decoder
and with GDAL's MVT driver from the saved file) to exactly the features inside it; both stores agree; thinning
caps a crowded tile; ETag/304 and a write that changes the next tile; bad tile addresses are 400."""

from __future__ import annotations

import math

import mapbox_vector_tile
import numpy as np
import pyogrio
import pytest
from fastapi.testclient import TestClient

from gis_service.api.app import create_app
from gis_service.config import Settings

EDITOR = {"X-API-Key": "edit-key"}
R = 6378137.0


def tile_of(lon, lat, z):
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def bounds_3857(z, x, y):
    o = math.pi * R
    size = 2 * o / (1 << z)
    return -o + x * size, o - (y + 1) * size, -o + (x + 1) * size, o - y * size


def merc(lon, lat):
    return np.radians(lon) * R, np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) * R


@pytest.fixture
def client(store):
    with TestClient(create_app(Settings(api_keys="edit-key:editor"), store=store)) as c:
        yield c


def _decode(body):
    return mapbox_vector_tile.decode(body) if body else {}


def _points_inside(client, layer, z, x, y, pad_units=64):
    """Ids and EPSG:3857 positions of the layer's point features inside the tile and its buffer (from items)."""
    x0, y0, x1, y1 = bounds_3857(z, x, y)
    pad = (x1 - x0) / 4096 * pad_units
    feats = client.get(f"/collections/{layer}/items", params={"limit": 10000}).json()["features"]
    out = {}
    for f in feats:
        mx, my = merc(*f["geometry"]["coordinates"])
        if x0 - pad <= mx <= x1 + pad and y0 - pad <= my <= y1 + pad:
            out[f["id"]] = (float(mx), float(my))
    return out


@pytest.mark.parametrize("z", [7, 9])
def test_tile_decodes_to_the_features_inside_it(client, z):
    x, y = tile_of(125.6, 43.9, z)
    r = client.get(f"/collections/receptors/tiles/WebMercatorQuad/{z}/{y}/{x}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layer = _decode(r.content)["receptors"]
    want = _points_inside(client, "receptors", z, x, y)
    got = {f["id"]: f for f in layer["features"]}
    assert set(got) == set(want) and want
    x0, y0, x1, y1 = bounds_3857(z, x, y)
    unit = (x1 - x0) / 4096
    for fid, (mx, my) in want.items():  # decoded tile coordinates (y up) → metres: within one grid unit
        px, py = got[fid]["geometry"]["coordinates"]
        assert abs(x0 + px * unit - mx) <= unit and abs(y0 + py * unit - my) <= unit
    props = got[next(iter(got))]["properties"]
    assert "name" in props and "inventory" not in props


def test_both_stores_give_the_same_tiles(embedded_store, postgis_store):
    answers = []
    for st in (embedded_store, postgis_store):
        with TestClient(create_app(Settings(), store=st)) as c:
            ids = {}
            for layer, z in (("receptors", 8), ("roads", 8), ("chemical_parks", 10), ("receptors", 12)):
                x, y = tile_of(125.6, 43.9, z)
                dec = _decode(c.get(f"/collections/{layer}/tiles/WebMercatorQuad/{z}/{y}/{x}").content)
                ids[(layer, z)] = sorted(f["id"] for f in dec.get(layer, {}).get("features", []))
            answers.append(ids)
    assert answers[0] == answers[1]
    assert answers[0][("receptors", 8)] and answers[0][("roads", 8)]


def test_gdal_mvt_driver_reads_the_saved_tile(client, tmp_path):
    z = 8
    x, y = tile_of(125.6, 43.9, z)
    body = client.get(f"/collections/receptors/tiles/WebMercatorQuad/{z}/{y}/{x}").content
    path = tmp_path / "tile.pbf"
    path.write_bytes(body)
    df = pyogrio.read_dataframe(path, layer="receptors", X=x, Y=y, Z=z, CLIP="NO")  # keep the buffer
    want = _points_inside(client, "receptors", z, x, y)
    assert sorted(df["mvt_id"].astype(int)) == sorted(want)
    assert df.crs.to_epsg() == 3857
    for fid, gx, gy in zip(df["mvt_id"].astype(int), df.geometry.x, df.geometry.y, strict=True):
        mx, my = want[fid]
        assert abs(gx - mx) < 2 * 156543 / (1 << z) / 16 and abs(gy - my) < 2 * 156543 / (1 << z) / 16


def test_crowded_tile_is_thinned_one_feature_per_cell(store):
    with TestClient(create_app(Settings(tile_max_features=100), store=store)) as c:
        z = 6
        x, y = tile_of(125.6, 43.9, z)
        layer = _decode(c.get(f"/collections/receptors/tiles/WebMercatorQuad/{z}/{y}/{x}").content)["receptors"]
        n = len(layer["features"])
        assert 0 < n < 300
        cells = {(int(f["geometry"]["coordinates"][0]) // 64, int(f["geometry"]["coordinates"][1]) // 64)
                 for f in layer["features"]}
        assert len(cells) >= n - 2  # one feature per 64-unit cell (±1 unit of quantization at cell edges)


@pytest.mark.parametrize("fresh_store", ["embedded", "postgis"], indirect=True)
def test_etag_304_and_a_write_changes_the_next_tile(fresh_store):
    with TestClient(create_app(Settings(api_keys="edit-key:editor"), store=fresh_store)) as c:
        z = 9
        x, y = tile_of(125.6, 43.9, z)
        url = f"/collections/receptors/tiles/WebMercatorQuad/{z}/{y}/{x}"
        r1 = c.get(url)
        etag = r1.headers["etag"]
        assert "no-cache" in r1.headers["cache-control"]
        assert c.get(url, headers={"If-None-Match": etag}).status_code == 304
        body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [125.6, 43.9]},
                "properties": {"name": "新学校", "receptor_class": "school", "population": 500}}
        fid = c.post("/collections/receptors/items", json=body, headers=EDITOR).json()["created"][0]
        r2 = c.get(url, headers={"If-None-Match": etag})
        assert r2.status_code == 200 and r2.headers["etag"] != etag
        assert fid in {f["id"] for f in _decode(r2.content)["receptors"]["features"]}
        multi = c.get(f"/tiles/WebMercatorQuad/{z}/{y}/{x}", params={"collections": "receptors,roads"})
        assert set(_decode(multi.content)) <= {"receptors", "roads"} and "receptors" in _decode(multi.content)


@pytest.mark.parametrize("url, field, status", [
    ("/collections/receptors/tiles/WebMercatorQuad/40/0/0", "tileMatrix", 400),
    ("/collections/receptors/tiles/WebMercatorQuad/-1/0/0", "tileMatrix", 400),
    ("/collections/receptors/tiles/WebMercatorQuad/3/0/8", "tileCol", 400),
    ("/collections/receptors/tiles/WebMercatorQuad/3/9/0", "tileRow", 400),
    ("/collections/receptors/tiles/WebMercatorQuad/3/a/0", "tileRow", 400),
    ("/collections/receptors/tiles/WorldCRS84Quad/3/0/0", "tileMatrixSetId", 400),
    ("/collections/nosuch/tiles/WebMercatorQuad/3/0/0", None, 404),
    ("/collections/receptors/tiles/WebMercatorQuad/3/0/0?filter=nosuch%3D1", "filter", 400),
    ("/tiles/WebMercatorQuad/3/0/0?collections=receptors,nosuch", None, 404),
    ("/tileMatrixSets/Nope", "tileMatrixSetId", 404),
])
def test_bad_tile_addresses(client, url, field, status):
    r = client.get(url)
    assert r.status_code == status, r.text
    if field:
        assert field in r.text


def test_tileset_tilejson_and_matrix_set(client):
    ts = client.get("/collections/receptors/tiles/WebMercatorQuad").json()
    assert any(link["rel"] == "item" and link["templated"] for link in ts["links"])
    tj = client.get("/collections/receptors/tiles/WebMercatorQuad", params={"f": "tilejson"}).json()
    assert tj["tilejson"] == "3.0.0" and tj["tiles"][0].endswith("/{z}/{y}/{x}")
    assert tj["vector_layers"][0]["id"] == "receptors" and "population" in tj["vector_layers"][0]["fields"]
    tms = client.get("/tileMatrixSets/WebMercatorQuad").json()
    assert tms["tileMatrices"][0]["matrixWidth"] == 1 and tms["tileMatrices"][10]["matrixWidth"] == 1024
    assert abs(tms["tileMatrices"][0]["scaleDenominator"] - 559082264.0287178) < 1e-6
    conf = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt" in conf
    filtered = client.get("/collections/receptors/tiles/WebMercatorQuad/6/23/54",
                          params={"filter": "receptor_class = 'school'"})
    dec = _decode(filtered.content)
    assert all(f["properties"].get("receptor_class", "school") == "school" for f in dec.get("receptors", {}).get("features", []))



@pytest.mark.parametrize("fresh_store", ["embedded", "postgis"], indirect=True)
def test_layer_spec_leaves_classes_out_below_their_zoom(fresh_store):
    """The layer specs' tile_min_zoom on both stores: county outlines from zoom 6 on, tertiary roads from 9, a class
    not listed (primary, province) in every zoom — and a layer's own tile and the multi-layer tile agree."""
    with TestClient(create_app(Settings(api_keys="edit-key:editor"), store=fresh_store)) as c:
        def post(layer, geometry, props):
            r = c.post(f"/collections/{layer}/items", headers=EDITOR,
                       json={"type": "Feature", "geometry": geometry, "properties": props})
            assert r.status_code < 300, r.text
            return r.json()["created"][0]

        box = [[[125.5, 43.8], [125.7, 43.8], [125.7, 44.0], [125.5, 44.0], [125.5, 43.8]]]
        prov = post("admin_areas", {"type": "Polygon", "coordinates": box}, {"name": "省", "level": "province", "code": "220000"})
        county = post("admin_areas", {"type": "Polygon", "coordinates": box}, {"name": "县", "level": "county", "code": "220102"})
        line = {"type": "LineString", "coordinates": [[125.55, 43.9], [125.65, 43.91]]}
        tertiary = post("roads", line, {"name": "乡道", "road_class": "tertiary"})
        primary = post("roads", line, {"name": "省道", "road_class": "primary"})

        def ids(layer, z):
            x, y = tile_of(125.6, 43.9, z)
            own = _decode(c.get(f"/collections/{layer}/tiles/WebMercatorQuad/{z}/{y}/{x}").content)
            multi = _decode(c.get(f"/tiles/WebMercatorQuad/{z}/{y}/{x}", params={"collections": layer}).content)
            got = {f["id"] for f in own.get(layer, {}).get("features", [])}
            assert got == {f["id"] for f in multi.get(layer, {}).get("features", [])}
            return got

        assert prov in ids("admin_areas", 5) and county not in ids("admin_areas", 5)
        assert {prov, county} <= ids("admin_areas", 6)
        assert primary in ids("roads", 8) and tertiary not in ids("roads", 8)
        assert {primary, tertiary} <= ids("roads", 9)


@pytest.mark.parametrize("fresh_store", ["embedded", "postgis"], indirect=True)
def test_a_spec_change_that_shapes_tiles_changes_their_etag(fresh_store):
    """The service restarted with an edited layer spec (tiles of roads at zoom 8 now carry tertiary roads): a client's
    If-None-Match from before gets the new tile, not 304; an edit that leaves tiles alone (the title) keeps the ETag."""
    from dataclasses import replace

    from gis_service.catalog import Catalog

    def reopened(catalog):
        if fresh_store.kind == "postgis":
            from gis_service.stores.postgis import PostGISStore

            return PostGISStore(catalog, fresh_store.url)
        from gis_service.stores.embedded import EmbeddedStore

        return EmbeddedStore(catalog, fresh_store.path)

    z = 8
    x, y = tile_of(125.6, 43.9, z)
    url = f"/collections/roads/tiles/WebMercatorQuad/{z}/{y}/{x}"
    line = {"type": "LineString", "coordinates": [[125.55, 43.9], [125.65, 43.91]]}
    with TestClient(create_app(Settings(api_keys="edit-key:editor"), store=fresh_store)) as c:
        r = c.post("/collections/roads/items", headers=EDITOR, json={"type": "Feature", "geometry": line,
                                                                       "properties": {"name": "乡道", "road_class": "tertiary"}})
        tertiary = r.json()["created"][0]
        before = c.get(url)
        assert tertiary not in {f["id"] for f in _decode(before.content).get("roads", {}).get("features", [])}
        etag = before.headers["etag"]
        multi_etag = c.get(f"/tiles/WebMercatorQuad/{z}/{y}/{x}").headers["etag"]
    spec = fresh_store.catalog["roads"]
    attr, zooms = spec.tile_min_zoom
    retitled = Catalog({**fresh_store.catalog.layers, "roads": replace(spec, title_en=spec.title_en + " (edited)")})
    with TestClient(create_app(Settings(api_keys="edit-key:editor"), store=reopened(retitled))) as c:
        assert c.get(url, headers={"If-None-Match": etag}).status_code == 304
    edited = Catalog({**fresh_store.catalog.layers, "roads": replace(
        spec, tile_min_zoom=(attr, tuple((v, 8 if v == "tertiary" else mz) for v, mz in zooms)))})
    for popup in (False, True):
        if popup:   # and the properties carried at this zoom: the popup's first two attributes
            edited = Catalog({**edited.layers, "roads": replace(edited["roads"], popup=("road_class", "name"))})
        with TestClient(create_app(Settings(api_keys="edit-key:editor"), store=reopened(edited))) as c:
            after = c.get(url, headers={"If-None-Match": etag})
            assert after.status_code == 200 and after.headers["etag"] != etag
            assert tertiary in {f["id"] for f in _decode(after.content)["roads"]["features"]}
            assert c.get(f"/tiles/WebMercatorQuad/{z}/{y}/{x}", headers={"If-None-Match": multi_etag}).status_code == 200
            assert c.get(url, headers={"If-None-Match": after.headers["etag"]}).status_code == 304
            etag = after.headers["etag"]
