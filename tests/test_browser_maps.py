"""The maps and the viewer in a real browser: Debian's Chromium driven by Playwright, no network.

The service runs in a subprocess (uvicorn) on a copy of the Jilin sample. Every page load goes
through a route handler that lets only the local server (and data: URIs) through and records
anything else; each test asserts that nothing left localhost and that the console shows no error.
Screenshots go to artifacts/screenshots/.

Skips without /usr/bin/chromium, Playwright or the npm web assets, unless GIS_REQUIRE_BROWSER=1
(CI), which turns the skip into a failure. Never downloads a browser.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import REQUIRE_BROWSER, ServerProcess

from gis_service.maps import assets

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("GIS_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
TIMEOUT_MS = 30_000


def _unavailable() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright; no browser download needed)"
    try:
        assets.check_installed()
    except assets.AssetsMissing as exc:
        return str(exc)
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _unavailable()
    if reason:
        if REQUIRE_BROWSER:
            pytest.fail(reason + " (GIS_REQUIRE_BROWSER=1 makes this a failure)")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(browser, sample_gpkg, tmp_path_factory):
    path = tmp_path_factory.mktemp("browser") / "sample.gpkg"
    shutil.copyfile(sample_gpkg, path)
    with ServerProcess({"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(path), "GIS_BASEMAP_URL": "",
                        "GIS_API_KEYS": "", "GIS_READ_REQUIRES_KEY": "false"}) as srv:
        yield srv


class Watched:
    """A page whose requests are confined to ``allowed`` prefixes and whose console is recorded."""

    def __init__(self, browser, allowed: tuple[str, ...], **context):
        context.setdefault("viewport", {"width": 1280, "height": 820})
        self.context = browser.new_context(service_workers="block", **context)
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.errors: list[str] = []
        self.escaped: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

        def route(r):
            url = r.request.url
            self.requests.append(url)
            if url.startswith(allowed) or url.startswith("data:"):
                return r.continue_()
            self.escaped.append(url)
            return r.abort()

        self.context.route("**/*", route)

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"))

    def check_clean(self) -> None:
        assert not self.escaped, f"requests left localhost: {self.escaped[:5]}"
        assert not self.errors, f"console errors: {self.errors[:5]}"


@pytest.fixture
def watched(browser, server):
    w = Watched(browser, (server.url,))
    yield w
    w.context.close()


HITTABLE = """sel => {
  const els = Array.from(document.querySelectorAll(sel));
  for (let i = 0; i < els.length; i++) {
    const r = els[i].getBoundingClientRect();
    const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
    if (hit && els[i].contains(hit)) { return i; }
  }
  return -1;
}"""


def wait_js(page, expression: str, timeout_s: float = 30.0) -> None:
    """Wait until a JS expression is truthy. Polled with page.evaluate (run over CDP): the service's
    Content-Security-Policy forbids eval, which wait_for_function's string predicates rely on."""
    import time

    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {expression}")
        page.wait_for_timeout(100)


def click_visible(page, selector: str) -> None:
    """Click the first element of ``selector`` that is on top at its own centre (markers overlap)."""
    i = page.evaluate(HITTABLE, selector)
    assert i >= 0, f"no clickable {selector}"
    page.locator(selector).nth(i).click()


def _layer_checkbox(page, title_part: str):
    label = page.locator(".leaflet-control-layers-overlays label", has_text=title_part)
    return label.locator("input")


# -- Folium maps --------------------------------------------------------------------------------

def test_overview_renders_offline(watched, server):
    page = watched.page
    page.goto(f"{server.url}/maps/overview", wait_until="networkidle")
    page.wait_for_selector(".leaflet-overlay-pane path")
    assert page.locator(".leaflet-marker-icon").count() > 10         # team icons + clusters
    assert page.locator(".rm-legend .rm-legend-row").count() == len(json.loads(
        urllib.request.urlopen(f"{server.url}/viewer/config.json").read())["layers"])
    watched.shot("overview")
    watched.check_clean()


def test_layer_toggle_hides_and_shows_a_layer(watched, server):
    page = watched.page
    page.goto(f"{server.url}/maps/overview", wait_until="networkidle")
    icons = page.locator(".leaflet-marker-pane .fa-plus")            # rescue teams (icon: plus)
    page.wait_for_selector(".leaflet-marker-pane .fa-plus")
    before = icons.count()
    assert before > 0
    box = _layer_checkbox(page, "Rescue teams")
    box.uncheck()
    assert icons.count() == 0
    box.check()
    wait_js(page, f"document.querySelectorAll('.leaflet-marker-pane .fa-plus').length === {before}")
    watched.check_clean()


def test_clicking_a_rescue_team_opens_its_popup(watched, server, sample_gpkg):
    from gis_service.catalog import default_catalog
    from gis_service.maps.style import popup_text

    page = watched.page
    page.goto(f"{server.url}/maps/layer/rescue_teams", wait_until="networkidle")
    click_visible(page, ".leaflet-marker-pane .rm-icon")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    name = popup.locator(".rm-popup-title").inner_text().strip()
    # the popup shows the catalogue's labels and AttributeSpec.display of this team's values
    doc = json.loads(urllib.request.urlopen(
        f"{server.url}/collections/rescue_teams/items?limit=1&q={urllib.parse.quote(name)}").read())
    team = doc["features"][0]["properties"]
    spec = default_catalog()["rescue_teams"]
    for label, value in popup_text(spec, team):
        assert label in text
        assert value in text, (label, value)
    page.wait_for_timeout(400)  # let the popup's fade-in and auto-pan finish before the screenshot
    watched.shot("rescue_team_popup")
    watched.check_clean()


def test_rescue_result_map_labels_teams_with_eta(watched, server):
    page = watched.page
    page.goto(f"{server.url}/maps/rescue?lon=126.55&lat=43.85&incident=chemical&by=time&k=3&isochrones=15",
              wait_until="networkidle")
    page.wait_for_selector(".rm-label")
    labels = page.locator(".rm-label").all_inner_texts()
    assert len([t for t in labels if "min" in t]) >= 3
    click_visible(page, ".leaflet-marker-pane .rm-role-team")
    page.wait_for_selector(".leaflet-popup-content")
    assert "到达时间 min ETA min" in page.locator(".leaflet-popup-content").inner_text()   # labelled field
    watched.shot("rescue_map")
    watched.check_clean()


FOLIUM_MAP = "window[Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map)]"


def test_large_layer_is_drawn_from_vector_tiles_and_its_features_open_popups(watched, server):
    """A layer above the embed limit is drawn from /collections/{layer}/tiles (issue 19), not embedded and not
    fetched as GeoJSON; a click on one of its features opens the catalogue popup with the feature's record."""
    page = watched.page
    page.goto(f"{server.url}/maps/overview?layers=receptors&embed_limit=100", wait_until="networkidle")
    wait_js(page, "document.querySelector('.rm-status') && document.querySelector('.rm-status').textContent.includes('矢量瓦片')")
    assert any("/collections/receptors/tiles/WebMercatorQuad/" in u for u in watched.requests)
    assert not any("/collections/receptors/items?" in u for u in watched.requests)
    rec = json.loads(urllib.request.urlopen(f"{server.url}/collections/receptors/items?limit=1").read())["features"][0]
    lon, lat = rec["geometry"]["coordinates"]
    page.evaluate(f"{FOLIUM_MAP}.setView([{lat}, {lon}], 16, {{ animate: false }})")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    x, y = page.evaluate(f"(() => {{ const p = {FOLIUM_MAP}.latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }})()")
    box = page.locator(".folium-map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_selector(".leaflet-popup-content .rm-popup-title")
    text = page.inner_text(".leaflet-popup-content")
    assert rec["properties"]["name"] in text and f"id {rec['id']}" in text
    watched.shot("overview_tiled_layer_popup")
    watched.check_clean()


# -- the viewer ----------------------------------------------------------------------------------

def _open_viewer(watched, server):
    page = watched.page
    page.goto(f"{server.url}/viewer")
    page.wait_for_selector("body[data-ready='1']")
    return page


def test_viewer_layer_switcher(watched, server):
    page = _open_viewer(watched, server)
    page.wait_for_selector(".leaflet-marker-pane .fa-plus")
    page.uncheck("input[data-layer='rescue_teams']")
    assert page.locator(".leaflet-marker-pane .fa-plus").count() == 0
    page.check("input[data-layer='rescue_teams']")
    page.wait_for_selector(".leaflet-marker-pane .fa-plus")
    watched.check_clean()


def test_viewer_click_returns_nearest_teams(watched, server):
    page = _open_viewer(watched, server)
    page.click("#panel-rescue summary")
    page.select_option("#incident", "chemical")
    page.fill("#rescue-k", "4")
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.45)
    page.click(".leaflet-popup .btn-incident")                      # "incident here", then the query
    page.wait_for_selector("#result [data-kind='rescue'] table tr td")
    result = page.evaluate("window.viewer.state.result")
    origin = result["metadata"]["origin"]
    # the same question asked of the API directly gives the same teams, in the same order
    url = f"{server.url}/analysis/rescue/nearest?lon={origin['lon']}&lat={origin['lat']}&incident=chemical&k=4&by=time"
    direct = json.loads(urllib.request.urlopen(url).read())
    ids = [f["properties"]["team_id"] for f in direct["features"] if f["properties"]["kind"] == "team"]
    assert [f["properties"]["team_id"] for f in result["features"] if f["properties"]["kind"] == "team"] == ids
    rows = page.locator("#result [data-kind='rescue'] table").first.locator("tr:has(td)")
    assert rows.count() == len(ids) == 4
    assert page.locator(".leaflet-marker-pane .rm-role-team").count() == 4
    watched.shot("viewer_rescue")
    watched.check_clean()


def test_viewer_search_then_exposure(watched, server):
    page = _open_viewer(watched, server)
    page.select_option("#search-layer", "hazard_sources")
    page.fill("#search-text", "吉化")
    page.click("#search-form button")
    page.wait_for_selector("#search-results li")
    items = page.locator("#search-results li").all_inner_texts()
    assert items and all("吉化" in t for t in items)
    page.locator("#search-results li").first.click()
    page.locator(".leaflet-popup .btn-exposure").click()
    page.wait_for_selector("#result [data-kind='exposure'] table tr td")
    result = page.evaluate("window.viewer.state.result")
    levels = {f["properties"].get("level") for f in result["features"] if f["properties"].get("feature_type") == "zone"}
    assert levels <= {"red", "orange", "yellow"} and levels
    watched.shot("viewer_exposure")
    watched.check_clean()


# -- standalone export ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/maps/overview", "/maps/rescue?lon=126.55&lat=43.85&incident=chemical",
                                  "/maps/siting/1"])
def test_downloaded_map_opens_from_disk_with_no_server(browser, server, tmp_path, path):
    sep = "&" if "?" in path else "?"
    html = urllib.request.urlopen(f"{server.url}{path}{sep}download=1").read()
    file = tmp_path / "map.html"
    file.write_bytes(html)
    w = Watched(browser, (file.as_uri(),))
    try:
        w.page.goto(file.as_uri(), wait_until="load")
        w.page.wait_for_selector(".leaflet-overlay-pane path, .leaflet-marker-icon")
        w.page.wait_for_selector(".rm-legend")
        assert w.requests == [file.as_uri()]  # nothing else was even requested
        w.shot("export_" + path.strip("/").split("?")[0].replace("/", "_"))
        w.check_clean()
    finally:
        w.context.close()


# -- the API documentation works offline too -------------------------------------------------------

def test_openapi_docs_render_offline(watched, server):
    page = watched.page
    page.goto(f"{server.url}/docs", wait_until="networkidle")
    page.wait_for_selector(".opblock-summary-path")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/collections/{collectionId}/items" in [p.replace("\u200b", "") for p in paths]
    watched.shot("openapi_docs")
    watched.check_clean()
