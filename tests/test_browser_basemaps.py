# ruff: noqa: F811 - the shared browser fixtures are imported from test_browser_maps and used as arguments
"""Basemaps in the viewer (issue 18 item 9), in Debian's Chromium at 1600×1000, 768×1024 and 390×844 (touch on the
two small ones): the chooser lists the local file, Tianditu and the own layers; the local MBTiles file's tiles load
from /basemap/ and the attribution corner shows the file's credit with the 审图号; Tianditu draws its map and label
layers (t0–t7, tk, the w set) — its requests are answered by a stub here (no internet) — with its credit and 审图号;
the own layers show their credit. Screenshots in artifacts/screenshots/basemap18_*.png."""

from __future__ import annotations

import base64
import shutil

import pytest
from basemap_files import make_mbtiles
from conftest import ServerProcess
from test_browser_journeys import SIZES, _open_panel, _press
from test_browser_maps import Watched, browser, wait_js  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.browser
REVIEW = "吉S(2024)001号"
KEY = "testkey0123"
# a 1×1 grey PNG: what the stub answers for every Tianditu tile
GREY = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNoaGgAAAMEAYFL09IQAAAAAElFTkSuQmCC")


@pytest.fixture(scope="module")
def tile_server(browser, sample_gpkg, tmp_path_factory):
    d = tmp_path_factory.mktemp("basemap_browser")
    path = d / "sample.gpkg"
    shutil.copyfile(sample_gpkg, path)
    tiles = make_mbtiles(d / "jilin.mbtiles", zooms=range(3, 10))
    with ServerProcess({"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(path), "GIS_BASEMAP_URL": "",
                        "GIS_API_KEYS": "", "GIS_READ_REQUIRES_KEY": "false", "GIS_BASEMAP_FILE": str(tiles),
                        "GIS_TIANDITU_KEY": KEY, "GIS_TIANDITU_SET": "vec_w",
                        "GIS_BASEMAP_REVIEW_NO": REVIEW}) as srv:
        yield srv


@pytest.fixture(params=list(SIZES))
def person(request, browser, tile_server):
    w = Watched(browser, (tile_server.url,), **SIZES[request.param])
    w.name = request.param
    w.touch = request.param != "desktop"
    w.tianditu = []

    def stub(route):   # registered after Watched's catch-all, so it answers first: nothing leaves the machine
        w.tianditu.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=GREY)

    w.context.route("https://*.tianditu.gov.cn/**", stub)
    w.page.goto(f"{tile_server.url}/viewer")
    w.page.wait_for_selector("body[data-ready='1']")
    yield w
    w.context.close()


def _attribution(page) -> str:
    return page.evaluate("document.querySelector('.leaflet-control-attribution').innerText")


def _attribution_visible(page) -> bool:
    """The attribution corner is on screen and on top (not under a panel or the bottom sheet)."""
    return page.evaluate("""(() => { const el = document.querySelector('.leaflet-control-attribution');
        const r = el.getBoundingClientRect(); if (!r.width || r.bottom > innerHeight || r.right > innerWidth + 1) return false;
        const hit = document.elementFromPoint(r.left + Math.min(20, r.width / 2), r.top + r.height / 2);
        return !!hit && el.contains(hit); })()""")


def _choose(person, key):
    _open_panel(person)
    _press(person, f"#basemaps input[value='{key}']")
    if person.touch:
        person.page.evaluate("viewer.setSheet && viewer.setSheet('peek')")
    person.page.wait_for_timeout(300)


def _loaded_tiles(page, fragment) -> int:
    return page.evaluate("(f) => [...document.querySelectorAll('img.leaflet-tile-loaded')]"
                         ".filter(i => i.src.includes(f)).length", fragment)


def test_choose_the_local_file_basemap_then_tianditu(person, tile_server):
    page = person.page
    rows = page.locator("#basemaps .basemap-row").all_inner_texts()
    assert any("本地底图" in r for r in rows) and any("天地图" in r for r in rows) and any("本地图层" in r for r in rows)
    # Tianditu: its map and label layers from t0–t7 with the key, in the w set; its credit and 审图号
    _choose(person, "tianditu")
    wait_js(page, "[...document.querySelectorAll('img.leaflet-tile-loaded')].filter(i => i.src.includes('cva_w')).length > 0")
    assert any("/vec_w/wmts?" in u and f"tk={KEY}" in u and "TILEMATRIXSET=w" in u for u in person.tianditu)
    assert any("/cva_w/wmts?" in u for u in person.tianditu)
    assert {u.split(".tianditu")[0][-2:] for u in person.tianditu} <= {f"t{i}" for i in range(8)}
    text = _attribution(page)
    assert "天地图" in text and f"审图号 {REVIEW}" in text
    assert _attribution_visible(page), "the credit line must be visible, not under a panel"
    person.shot(f"basemap18_tianditu_{person.name}")
    # the local file: tiles from /basemap/, the file's credit (its HTML link dropped) and the 审图号
    _choose(person, "file")
    wait_js(page, "[...document.querySelectorAll('img.leaflet-tile-loaded')].filter(i => i.src.includes('/basemap/')).length >= 2")
    assert _loaded_tiles(page, "tianditu") == 0
    text = _attribution(page)
    assert "吉林省测绘" in text and f"审图号 {REVIEW}" in text and "天地图" not in text
    assert _attribution_visible(page), "the credit line must be visible, not under a panel"
    assert page.evaluate("location.hash").find("base=file") >= 0
    person.shot(f"basemap18_file_{person.name}")
    # the own layers: their credit, no tiles of the file drawn
    _choose(person, "offline")
    wait_js(page, "document.querySelector('.leaflet-control-attribution').innerText.includes('本服务')")
    assert "审图号" not in _attribution(page)
    assert page.evaluate("document.querySelectorAll('.rm-basemap-file').length") == 0
    person.check_clean()
