"""Basemaps as data (issue 18 item 9): a local MBTiles/PMTiles file served at /basemap/{z}/{x}/{y} (content, TMS row
flip, 404 outside, 400 off the matrix, ETag/304), refused at start-up when it is not a tile file; Tianditu URL
templates (c and w sets, levels of c from 1; no internet); the offers in /viewer/config.json with attribution and
审图号; GCJ-02 still refused; the Folium maps and the PDF reports carry the credit, and the PDF map is drawn over
the file's tiles."""

from __future__ import annotations

import io
import sqlite3
import sys
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from gis_service.api.app import create_app
from gis_service.basemaps import tianditu
from gis_service.basemaps.archive import TileArchiveError, open_archive
from gis_service.basemaps.offers import offers
from gis_service.config import Settings
from gis_service.services.container import Services

sys.path.insert(0, str(Path(__file__).parent))
from basemap_files import JILIN, colour, make_mbtiles, make_pmtiles, png, tile_range  # noqa: E402

REVIEW = "吉S(2024)001号"


@pytest.fixture(scope="module", params=["mbtiles", "pmtiles"])
def tile_file(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("basemap")
    make = make_mbtiles if request.param == "mbtiles" else make_pmtiles
    return make(d / f"jilin.{request.param}")


@pytest.fixture(scope="module")
def client(tile_file, embedded_store):
    settings = Settings(basemap_file=tile_file, basemap_review_no=REVIEW)
    with TestClient(create_app(settings, store=embedded_store)) as c:
        yield c


def _pixel(body: bytes, xy=(100, 60)) -> tuple[int, int, int]:
    return Image.open(io.BytesIO(body)).convert("RGB").getpixel(xy)


def test_tiles_are_served_with_the_right_content(client):
    for z in (4, 6, 8):
        xs, ys = tile_range(JILIN, z)
        for x, y in ((xs[0], ys[0]), (xs[-1], ys[-1]), (xs[len(xs) // 2], ys[0])):
            r = client.get(f"/basemap/{z}/{x}/{y}")
            assert r.status_code == 200, r.text
            assert r.headers["content-type"] == "image/png"
            assert r.content == png(z, x, y)                     # this tile, not its TMS mirror row
            assert _pixel(r.content) == colour(z, x, y)
            assert "max-age" in r.headers["cache-control"]


def test_outside_the_file_is_404_and_off_the_matrix_is_400(client):
    xs, ys = tile_range(JILIN, 8)
    for path in ("/basemap/9/430/180", "/basemap/3/6/2", f"/basemap/8/{xs[0] - 3}/{ys[0]}", "/basemap/8/0/0"):
        r = client.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert "basemap file" in r.json()["description"]
    for path, field in (("/basemap/8/256/0", "x"), ("/basemap/2/0/4", "y"), ("/basemap/31/0/0", "z"),
                        ("/basemap/-1/0/0", "z")):
        r = client.get(path)
        assert r.status_code == 400, (path, r.status_code)
        assert r.json()["problems"][0]["field"] == field


def test_etag_and_304(client):
    xs, ys = tile_range(JILIN, 7)
    url = f"/basemap/7/{xs[0]}/{ys[0]}"
    first = client.get(url)
    etag = first.headers["etag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    other = client.get(f"/basemap/7/{xs[-1]}/{ys[0]}")
    assert other.headers["etag"] != etag
    assert client.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200


def test_viewer_config_offers_the_file_first_with_its_credit_and_review_number(client):
    cfg = client.get("/viewer/config.json").json()
    found = cfg["basemaps"]["offers"]
    assert [o["key"] for o in found] == ["file", "own"]
    f = found[0]
    assert f["url"] == "/basemap/{z}/{x}/{y}" and (f["min_zoom"], f["max_zoom"]) == (4, 8)
    assert "吉林省测绘" in f["attribution"] and f"审图号 {REVIEW}" in f["attribution"]
    assert "<a" not in f["attribution"]                                    # the file's HTML is not passed on
    assert f["bounds"] == pytest.approx(list(JILIN), abs=1e-6)


def test_no_file_configured_is_404_naming_the_setting(embedded_store):
    with TestClient(create_app(Settings(), store=embedded_store)) as c:
        r = c.get("/basemap/5/26/11")
        assert r.status_code == 404 and "GIS_BASEMAP_FILE" in r.json()["description"]
        assert [o["key"] for o in c.get("/viewer/config.json").json()["basemaps"]["offers"]] == ["own"]


# -- files that are not tile archives ------------------------------------------------------------

def _bad_files(d: Path) -> dict[str, Path]:
    (d / "notes.mbtiles").write_text("just text, not a tile file")
    (d / "roads.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    (d / "empty.pmtiles").write_bytes(b"")
    db = sqlite3.connect(d / "other.sqlite")
    db.execute("CREATE TABLE things (a)")
    db.commit()
    db.close()
    vec = make_mbtiles(d / "vector.mbtiles", zooms=range(4, 5))
    db = sqlite3.connect(vec)
    db.execute("UPDATE metadata SET value='pbf' WHERE name='format'")
    db.commit()
    db.close()
    return {"text": d / "notes.mbtiles", "geojson": d / "roads.geojson", "empty": d / "empty.pmtiles",
            "sqlite": d / "other.sqlite", "vector": vec, "missing": d / "nothing.mbtiles"}


def test_a_file_that_is_not_mbtiles_or_pmtiles_stops_the_start_with_a_clear_message(tmp_path, embedded_store):
    for what, path in _bad_files(tmp_path).items():
        with pytest.raises(TileArchiveError) as exc:
            Services.build(Settings(basemap_file=path), embedded_store)
        msg = str(exc.value)
        assert "GIS_BASEMAP_FILE" in msg and str(path) in msg, (what, msg)
        if what == "vector":
            assert "vector tiles" in msg and "raster" in msg
        else:
            assert "MBTiles" in msg and "PMTiles" in msg, (what, msg)


def test_serve_refuses_a_bad_file_with_exit_2(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from gis_service import cli
    from gis_service.config import get_settings

    bad = tmp_path / "map.mbtiles"
    bad.write_text("<html>not tiles</html>")
    monkeypatch.setenv("GIS_BASEMAP_FILE", str(bad))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["serve", "--port", "1"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    assert "GIS_BASEMAP_FILE" in result.output and "neither an MBTiles" in result.output


def test_archive_reads_metadata(tmp_path):
    a = open_archive(make_pmtiles(tmp_path / "x.pmtiles", zooms=range(5, 7)))
    assert (a.info.kind, a.info.format, a.info.min_zoom, a.info.max_zoom) == ("pmtiles", "png", 5, 6)
    assert a.tile(4, 13, 5) is None                      # a zoom the file has not
    assert a.tile(4, 26, 11) is None                     # off the matrix: nothing, not an error
    a.close()


# -- Tianditu ----------------------------------------------------------------------------------

def test_tianditu_w_template_is_the_wmts_kvp_request():
    t = tianditu.layers("vec_w", "abc123")
    url = tianditu.tile_url(t.base, 9, 432, 187, host=3)
    assert url == ("https://t3.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec"
                   "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX=9&TILEROW=187&TILECOL=432&tk=abc123")
    labels = tianditu.tile_url(t.labels, 9, 432, 187, host=0)
    assert "t0.tianditu.gov.cn/cva_w/wmts?" in labels and "LAYER=cva" in labels
    hosts = {tianditu.tile_url(t.base, 5, x, 11)[8:10] for x in range(8)}
    assert hosts == {f"t{i}" for i in range(8)}                  # t0–t7 spread over the tiles


def test_tianditu_imagery_and_c_set():
    t = tianditu.layers("img_c", "k")
    assert "/img_c/wmts?" in t.base and "LAYER=img" in t.base and "TILEMATRIXSET=c" in t.base
    assert "/cia_c/wmts?" in t.labels and "LAYER=cia" in t.labels
    assert t.min_level == 1
    # level 1 of the c set: two 180° tiles side by side
    assert tianditu.c_tile_bounds(1, 0, 0) == (-180.0, -90.0, 0.0, 90.0)
    assert tianditu.c_tile_bounds(1, 1, 0) == (0.0, -90.0, 180.0, 90.0)
    assert tianditu.c_tile(125.3, 43.9, 1) == (1, 0)
    # Changchun at level 10: tiles of 180/512 degrees from (-180, 90)
    col, row = tianditu.c_tile(125.3, 43.9, 10)
    w, s, e, n = tianditu.c_tile_bounds(10, col, row)
    assert w <= 125.3 < e and s < 43.9 <= n and e - w == pytest.approx(180 / 512)
    with pytest.raises(ValueError):
        tianditu.c_tile(125.3, 43.9, 0)
    with pytest.raises(ValueError):
        tianditu.template("vec", "x", "k")
    assert "tk=a%2Fb" in tianditu.template("vec", "w", "a/b")


def test_tianditu_needs_a_review_number_and_a_valid_set():
    with pytest.raises(ValueError, match="GIS_BASEMAP_REVIEW_NO"):
        Settings(tianditu_key="abc")
    with pytest.raises(ValueError):
        Settings(tianditu_key="abc", basemap_review_no=REVIEW, tianditu_set="vec_x")
    with pytest.raises(ValueError):
        Settings(basemap_review_no="<script>")


def test_tianditu_offer_in_the_viewer_config(embedded_store):
    settings = Settings(tianditu_key="abc123", basemap_review_no="GS(2024)0650号", tianditu_set="img_c")
    with TestClient(create_app(settings, store=embedded_store)) as c:
        cfg = c.get("/viewer/config.json").json()["basemaps"]
    offer = next(o for o in cfg["offers"] if o["key"] == "tianditu")
    assert "/img_w/wmts?" in offer["url"] and "/cia_w/wmts?" in offer["labels_url"]   # the viewer draws w
    assert offer["subdomains"] == "01234567" and "tk=abc123" in offer["url"]
    assert "TILEMATRIXSET=c" in offer["extra"]["templates"]["base"] and offer["extra"]["min_level"] == 1
    assert "天地图" in offer["attribution"] and "审图号 GS(2024)0650号" in offer["attribution"]
    assert any("c 矩阵集" in n and "w set" in n for n in cfg["notices"])


def test_gcj02_is_still_refused_in_the_offers():
    found, notices = offers(Settings(basemap_url="https://gaode.example/{z}/{x}/{y}.png", basemap_crs="GCJ02"))
    assert [o.key for o in found] == ["own"]
    assert any("GCJ-02" in n for n in notices)


# -- maps and reports ----------------------------------------------------------------------------

def test_folium_map_uses_the_file_with_its_credit(tile_file, embedded_store):
    from gis_service.maps.base import finish
    from gis_service.maps.overview import layer_map

    svc = Services.build(Settings(basemap_file=tile_file, basemap_review_no=REVIEW), embedded_store)
    html = finish(layer_map(svc.layers, svc.settings, "rescue_teams"))
    assert '"/basemap/{z}/{x}/{y}"' in html
    assert f"审图号 {REVIEW}" in html and "吉林省测绘" in html
    own = finish(layer_map(svc.layers, Settings(), "rescue_teams"))
    assert "addAttribution" in own and "本服务的行政区划与道路图层" in own


def test_pdf_map_drawn_over_the_file_tiles():
    from gis_service.reports.mapimage import render_png
    from gis_service.reports.tileimage import pick_zoom
    from gis_service.services.basemaps import FileTiles

    class Context:
        def __init__(self, archive):
            self.tiles = FileTiles(archive)

        def context_features(self, layer, bbox, columns):
            return []

    import tempfile

    with tempfile.TemporaryDirectory() as d:
        archive = open_archive(make_mbtiles(Path(d) / "m.mbtiles"))
        fc = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"role": "incident"},
             "geometry": {"type": "Polygon", "coordinates": [[[125.0, 43.6], [125.6, 43.6], [125.6, 44.1],
                                                              [125.0, 44.1], [125.0, 43.6]]]}}]}
        with_tiles = np.asarray(Image.open(io.BytesIO(render_png(fc, Context(archive)))).convert("RGB"))
        without = np.asarray(Image.open(io.BytesIO(render_png(fc, None))).convert("RGB"))
        archive.close()
    z = pick_zoom((124.8, 43.4, 125.8, 44.3), 800, 4, 8)
    xs, ys = tile_range((125.0, 43.6, 125.6, 44.1), z)
    want = np.array(colour(z, xs[0], ys[0]))
    hits = int((np.abs(with_tiles.astype(int) - want).sum(axis=2) <= 3).sum())
    assert hits > 2000                                        # the tile's colour fills part of the map
    assert int((np.abs(without.astype(int) - want).sum(axis=2) <= 3).sum()) < 50


def test_pdf_report_prints_the_credit_and_review_number(tile_file, sample_gpkg, catalog, tmp_path):
    import shutil

    import pypdf

    from gis_service.stores.embedded import EmbeddedStore

    path = tmp_path / "s.gpkg"
    shutil.copyfile(sample_gpkg, path)
    store = EmbeddedStore(catalog, path)
    store.init()
    svc = Services.build(Settings(store="embedded", gpkg_path=str(path), basemap_file=tile_file,
                                  basemap_review_no=REVIEW), store)
    for body in (svc.reports.rescue(125.32, 43.88, "chemical"), svc.reports.brief_point(125.32, 43.88, "chemical")):
        reader = pypdf.PdfReader(io.BytesIO(body))
        text = " ".join("".join(p.extract_text() for p in reader.pages).split())
        assert f"审图号 {REVIEW}" in text and "吉林省测绘" in text
    assert len(pypdf.PdfReader(io.BytesIO(svc.reports.brief_point(125.32, 43.88, "chemical"))).pages) == 1
