"""Maps without a browser: offline assets, catalogue styles and labels, large layers, basemap policy,
the /maps and /viewer endpoints, and the analysis maps (answers compared with the analyses themselves)."""

from __future__ import annotations

import re
import shutil

import numpy as np
import orjson
import pytest
from conftest import REQUIRE_BROWSER, services_for
from fastapi.testclient import TestClient
from shapely.geometry import Point

from gis_service.api.app import create_app
from gis_service.config import Settings
from gis_service.maps import assets
from gis_service.maps.base import basemap_for, finish
from gis_service.maps.overview import layer_map, overview_map
from gis_service.maps.style import attribute_meta, layer_meta, popup_text
from gis_service.stores.base import WriteBatch
from gis_service.stores.embedded import EmbeddedStore
from gis_service.validation import validate_rows

ASSETS_OK = all(assets.resolve(u) is not None for urls in assets.LOCAL_ASSETS.values() for u in urls)
needs_assets = pytest.mark.skipif(not ASSETS_OK and not REQUIRE_BROWSER,
                                  reason="web assets not installed: run scripts/setup_web_assets.sh")


@pytest.fixture(scope="module")
def sample_store(sample_gpkg, tmp_path_factory, catalog):
    path = tmp_path_factory.mktemp("maps") / "sample.gpkg"
    shutil.copyfile(sample_gpkg, path)
    store = EmbeddedStore(catalog, path)
    store.init()
    return store


@pytest.fixture(scope="module")
def client(sample_store):
    app = create_app(Settings(gpkg_path=sample_store.path), store=sample_store)
    with TestClient(app) as c:
        yield c


# -- catalogue-driven styles and labels ----------------------------------------------------

def test_attribute_meta_carries_display_of_every_enum_and_boolean(catalog):
    for spec in catalog:
        for attr in spec.attributes:
            meta = attribute_meta(attr)
            assert meta["label"] == attr.label()
            for value in list(attr.enum or ()) + ([True, False] if attr.type == "boolean" else []):
                key = ("true" if value else "false") if isinstance(value, bool) else str(value)
                assert meta["values"][key] == attr.display(value)


def test_layer_meta_uses_the_yaml_style_and_popup_order(catalog):
    for spec in catalog:
        meta = layer_meta(spec)
        assert [a["name"] for a in meta["popup"]] == [a for a in spec.popup if spec.has_attribute(a)]
        assert meta["style"]["color"] == spec.style.get("color", meta["style"]["color"])
        if "fill_color" in spec.style:
            assert meta["style"]["fillColor"] == spec.style["fill_color"]
        elif "color" in spec.style:
            assert meta["style"]["fillColor"] == spec.style["color"]


def test_popup_text_has_units_and_chinese_enum_labels(catalog):
    spec = catalog["rescue_teams"]
    rows = dict(popup_text(spec, {"name": "甲队", "team_type": "hazmat", "personnel": 12, "on_duty": True}))
    assert rows[spec.attribute("personnel").label()] == "12 人"
    assert rows[spec.attribute("team_type").label()] == spec.attribute("team_type").display("hazmat")
    assert rows[spec.attribute("on_duty").label()] == "是"
    assert rows[spec.attribute("parent_org").label()] == "—"


# -- basemap policy ------------------------------------------------------------------------

def test_basemap_none_means_vector_basemap():
    b = basemap_for(Settings(basemap_url=""))
    assert b.url is None and b.notice is None


def test_basemap_gcj02_is_refused_with_a_message():
    b = basemap_for(Settings(basemap_url="https://tiles.example/{z}/{x}/{y}.png", basemap_crs="GCJ-02"))
    assert b.url is None
    assert "GCJ-02" in b.notice and "WGS84" in b.notice


def test_basemap_wgs84_template_is_used_and_bad_template_is_refused():
    url = "http://t0.example/vec_w/wmts?TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=KEY"
    b = basemap_for(Settings(basemap_url=url, basemap_crs="CGCS2000", basemap_attribution="天地图"))
    assert b.url == url and b.attribution == "天地图" and b.notice is None
    assert basemap_for(Settings(basemap_url="http://x/tile.png")).notice
    assert basemap_for(Settings(basemap_url=url, basemap_crs="EPSG:3857")).notice


def test_configured_basemap_is_the_only_remote_reference(sample_store):
    url = "https://tiles.example/{z}/{x}/{y}.png"
    html = finish(layer_map(services_for(sample_store).layers, Settings(basemap_url=url), "rescue_teams"))
    assert url in html
    assert "L.tileLayer" in html
    assert not assets.remote_references(html)  # tiles are fetched by Leaflet, not as page assets


# -- offline assets ------------------------------------------------------------------------

def test_every_folium_default_asset_is_mapped_or_deliberately_dropped():
    import folium
    import folium.plugins as plugins

    for cls in (folium.Map, plugins.MarkerCluster, plugins.Draw):
        for name, _url in list(cls.default_js) + list(cls.default_css):
            assert name in assets.LOCAL_ASSETS, name


def test_localize_refuses_unknown_cdn_assets():
    import folium
    from folium.elements import JSCSSMixin

    class Plugin(JSCSSMixin):
        default_js = [("mystery", "https://cdn.example/mystery.js")]

    m = folium.Map(tiles=None)
    m.add_child(Plugin())
    with pytest.raises(assets.OfflineAssetError, match="mystery"):
        assets.localize(m)


def test_resolve_refuses_escapes_and_unlisted_packages():
    assert assets.resolve("/static/vendor/../package.json") is None
    assert assets.resolve("/static/vendor/leaflet.markercluster/../../package-lock.json") is None
    assert assets.resolve("/viewer/node_modules/jquery/dist/jquery.js") is None
    assert assets.resolve("/viewer/../pyproject.toml") is None
    assert assets.resolve("/static/leaflet/leaflet.js") is not None
    # the viewer's ES modules: web/js/ one level deep, nothing else below web/
    assert assets.resolve("/viewer/js/state.js") is not None
    assert assets.resolve("/viewer/js/../../pyproject.toml") is None
    assert assets.resolve("/viewer/js/a/b.js") is None
    assert assets.resolve("/viewer/scripts/setup.sh") is None


@needs_assets
def test_overview_html_references_only_local_assets_that_exist(sample_store):
    html = finish(overview_map(services_for(sample_store).layers, Settings()))
    assert not assets.remote_references(html)
    srcs = re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', html)
    assert srcs and all(s.startswith("/") for s in srcs)
    for s in srcs:
        assert assets.resolve(s) is not None, s


@needs_assets
def test_standalone_export_inlines_everything(sample_store):
    html = finish(overview_map(services_for(sample_store).layers, Settings(), live=False), standalone=True)
    assert not re.search(r'<script[^>]+src=', html)
    assert not re.search(r'<link[^>]+stylesheet', html)
    assert "url(../" not in html and "url(images/" not in html
    assert "data:font/woff2;base64," in html  # icon font embedded


# -- overview and layer maps ---------------------------------------------------------------

def test_overview_embeds_every_layer_with_its_title(sample_store):
    html = finish(overview_map(services_for(sample_store).layers, Settings()))
    for spec in sample_store.catalog:
        assert orjson.dumps(spec.title).decode() in html or spec.title in html
    # every rescue team is embedded (ids in the packed collection)
    teams = sample_store.items("rescue_teams", _all(sample_store, "rescue_teams")).features
    assert teams and all(f.properties["name"] in html for f in teams[:20])
    assert "LayerControl" in html or "L.control.layers" in html
    assert "RiskMap.legend" in html


def _all(store, layer):
    from gis_service.stores.base import Query

    return Query(limit=store.count(layer))


def _many_points_store(tmp_path, catalog, n: int) -> EmbeddedStore:
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(122.0, 130.5, n), rng.uniform(41.0, 46.0, n)
    pairs = [(Point(x, y), {"name": f"测点{i:06d}", "receptor_class": "residential", "population": int(i % 500)})
             for i, (x, y) in enumerate(zip(lon, lat, strict=True))]
    store = EmbeddedStore(catalog, tmp_path / "many.gpkg")
    store.init()
    store.write("receptors", WriteBatch(creates=validate_rows(catalog["receptors"], pairs)))
    return store


def test_large_layer_is_drawn_from_tiles_when_served_and_counted_when_exported(tmp_path, catalog):
    n = 30_000
    store = _many_points_store(tmp_path, catalog, n)
    served = finish(overview_map(services_for(store).layers, Settings()))
    assert len(served.encode()) < 2_000_000
    assert "测点000123" not in served  # features are not in the HTML
    assert "RiskMap.tiledLayer" in served and "Leaflet.VectorGrid.bundled.min.js" in served
    assert "按矢量瓦片绘制" in served
    exported = finish(overview_map(services_for(store).layers, Settings(), live=False))
    assert "RiskMap.liveLayer" in exported and "RiskMap.tiledLayer" not in exported
    agg = services_for(store).layers.aggregate("receptors")
    assert agg["total"] == n and sum(c[2] for c in agg["cells"]) == n
    # the grid counts are what the exported page embeds
    assert orjson.dumps(agg["cells"][:3]).decode()[1:-1] in exported


def test_embed_limit_switches_small_layers_to_tiles(sample_store):
    html = finish(overview_map(services_for(sample_store).layers, Settings(), ["receptors"], embed_limit=100))
    assert "RiskMap.tiledLayer" in html and "RiskMap.catalogLayer" not in html
    assert sample_store.count("receptors") > 100
    assert '"name":"receptors"' in html


def test_maps_use_only_the_store_contract(store, catalog):
    """Same overview on both engines (small dataset): every team name, no engine-specific path."""
    html = finish(overview_map(services_for(store).layers, Settings()))
    for f in store.items("rescue_teams", _all(store, "rescue_teams")).features:
        assert f.properties["name"] in html


# -- endpoints -----------------------------------------------------------------------------

def test_overview_endpoint_and_download(client):
    r = client.get("/maps/overview")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "content-disposition" not in r.headers
    if ASSETS_OK:
        d = client.get("/maps/overview?download=1")
        assert d.status_code == 200
        assert d.headers["content-disposition"] == 'attachment; filename="overview.html"'
        assert "/static/" not in re.sub(r"/\* /static/[^*]*\*/", "", d.text).split("<body>")[0]


def test_map_endpoints_reject_bad_input_naming_the_field(client):
    r = client.get("/maps/overview?layers=hazard_sources,nope")
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "layers"
    assert client.get("/maps/layer/nope").status_code == 404
    r = client.get("/maps/overview?embed_limit=-1")
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "embed_limit"
    r = client.get("/maps/rescue?lon=126.5&lat=43.8&incident=volcano")
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "incident"
    r = client.get("/maps/exposure/roads/1")
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "layer"
    assert client.get("/maps/exposure/hazard_sources/999999").status_code == 404
    r = client.post("/maps/siting", content=b"{not json")
    assert r.status_code == 400


def test_viewer_and_assets_are_served(client):
    r = client.get("/viewer")
    # the page's one module entry: the esbuild bundle while it is fresh, the plain modules otherwise (maps/bundle.py)
    assert r.status_code == 200 and re.search(r'src="/viewer/(main\.js|dist/viewer\.bundle\.js)', r.text)
    assert not assets.remote_references(r.text)
    for src in re.findall(r'(?:src|href)="(/(?:static|viewer)/[^"]+)"', r.text):
        assert client.get(src).status_code == (200 if ASSETS_OK or src.startswith(("/viewer", "/static/leaflet"))
                                              else 404), src
    cfg = client.get("/viewer/config.json").json()
    assert [m["name"] for m in cfg["layers"]] == client.app.state.services.store.catalog.names()
    assert cfg["basemap"]["url"] is None
    assert {"chemical", "mine"} <= {i["key"] for i in cfg["incidents"]}
    assert client.get("/static/vendor/..%2F..%2Fpyproject.toml").status_code == 404
    assert client.get("/viewer/pyproject.toml").status_code == 404


def test_aggregate_endpoint_counts_every_feature(client, sample_store):
    doc = client.get("/maps/aggregate/receptors").json()
    assert doc["total"] == sample_store.count("receptors") == sum(c[2] for c in doc["cells"])


# -- analysis maps: what the map shows is what the analysis answered -----------------------

def test_rescue_map_shows_the_analysis_teams(client, sample_store):

    answer = services_for(sample_store).rescue.nearest(126.55, 43.85, "chemical", k=4)
    r = client.get("/maps/rescue?lon=126.55&lat=43.85&incident=chemical&k=4")
    assert r.status_code == 200
    assert len(answer.teams) == 4
    for t in answer.teams:
        assert t.name in r.text


def test_exposure_map_shows_zones_and_receptors(client, sample_store):

    fc = services_for(sample_store).exposure.feature("hazard_sources", 1).to_feature_collection(receptor_features=True)
    r = client.get("/maps/exposure/hazard_sources/1")
    assert r.status_code == 200
    levels = {f["properties"]["level"] for f in fc["features"] if f["properties"].get("feature_type") == "zone"}
    assert levels and all(f'"level":"{lv}"' in r.text for lv in levels)
    receptors = [f for f in fc["features"] if f["properties"].get("feature_type") == "receptor"]
    assert f"Exposed receptors ({len(receptors)})" in r.text
    for note in fc["metadata"]["assumptions"][:2]:
        assert orjson.dumps(note).decode()[1:-1][:40] in r.text


def test_siting_map_shows_verdict_and_every_rule(client, sample_store):

    report = services_for(sample_store).siting.check_park(1).to_dict()
    r = client.get("/maps/siting/1")
    assert r.status_code == 200
    for rule in report["rules"]:
        assert f'"{rule["id"]}"' in r.text
    assert report["verdict_label"]["zh"] in r.text
    poly = {"type": "Feature", "properties": {"name": "测试"}, "geometry": {"type": "Polygon", "coordinates": [
        [[126.50, 43.90], [126.56, 43.90], [126.56, 43.94], [126.50, 43.94], [126.50, 43.90]]]}}
    r = client.post("/maps/siting", json=poly)
    assert r.status_code == 200 and "测试" in r.text


# -- CLI -----------------------------------------------------------------------------------

@needs_assets
def test_render_map_cli_writes_standalone_html_and_fails_on_bad_input(sample_store, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from gis_service import cli
    from gis_service.commands import maps as map_commands
    from gis_service.config import get_settings

    monkeypatch.setenv("GIS_GPKG_PATH", str(sample_store.path))
    get_settings.cache_clear()
    app = cli.typer.Typer()
    map_commands.register(app)
    app.command("noop")(lambda: None)
    runner = CliRunner()
    out = tmp_path / "o.html"
    try:
        r = runner.invoke(app, ["render-map", "rescue", "--lon", "126.55", "--lat", "43.85",
                                "--incident", "chemical", "-o", str(out)])
        assert r.exit_code == 0, r.output
        html = out.read_text(encoding="utf-8")
        assert not re.search(r'<script[^>]+src=', html) and "RiskMap.resultLayer" in html
        r = runner.invoke(app, ["render-map", "exposure", "--layer", "roads", "--id", "1", "-o", str(out)])
        assert r.exit_code == 1
        r = runner.invoke(app, ["render-map", "nonsense", "-o", str(out)])
        assert r.exit_code == 1
    finally:
        get_settings.cache_clear()
