"""The commander's incident journey in the viewer, in Debian's Chromium (Playwright, nothing beyond the local
server), on a desktop, a phone (390×844, touch) and a tablet (768×1024, touch): report an incident at a point,
assemble drainage pumps and a drilling rig by road time, dispatch the plan, move a unit through
en route → on scene → released, print the after-action PDF and close the incident. Screenshots go to
artifacts/screenshots/incidents_*.png."""

from __future__ import annotations

import json
import shutil
import urllib.request

import pytest
from conftest import ServerProcess
from test_browser_maps import Watched, browser, wait_js  # noqa: F401 - the browser fixture

pytestmark = pytest.mark.browser
KEY = "b-c0mmand"
LIAOYUAN = (42.95, 125.20)          # lat, lon: the 吉煤 Liaoyuan mining district
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 820}},
    "phone": {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True},
    "tablet": {"viewport": {"width": 768, "height": 1024}, "has_touch": True},
}


@pytest.fixture(scope="module")
def inc_server(browser, sample_gpkg, tmp_path_factory):  # noqa: F811
    path = tmp_path_factory.mktemp("browser_inc") / "sample.gpkg"
    shutil.copyfile(sample_gpkg, path)
    with ServerProcess({"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(path), "GIS_BASEMAP_URL": "",
                        "GIS_API_KEYS": f"{KEY}:editor", "GIS_READ_REQUIRES_KEY": "false"}) as srv:
        yield srv


def _press(w, name, selector):
    loc = w.page.locator(selector).first
    loc.scroll_into_view_if_needed()
    if VIEWPORTS[name].get("has_touch"):
        loc.tap()
    else:
        loc.click()


def _report_at(w, name, lat, lon):
    """Click the map there and take the popup's "report incident here"; where the map has no room (the phone
    layout is issue 18's), type the coordinates into the panel as a commander would."""
    page = w.page
    box = page.locator("#map").bounding_box()
    if box["width"] >= 200 and box["height"] >= 200:
        page.evaluate(f"void viewer.map.setView([{lat}, {lon}], 11)")
        page.evaluate("""() => { for (const box of document.querySelectorAll('input[data-layer]')) {
            if (box.checked) box.click(); } }""")      # a click on a feature would open the feature's popup
        page.wait_for_timeout(400)
        pt = page.evaluate("([a, b]) => { const p = viewer.map.latLngToContainerPoint([a, b]); return [p.x, p.y]; }",
                           [lat, lon])
        x, y = box["x"] + pt[0], box["y"] + pt[1]
        if VIEWPORTS[name].get("has_touch"):
            page.touchscreen.tap(x, y)
        else:
            page.mouse.click(x, y)
        page.wait_for_selector(".leaflet-popup .btn-report")
        w.shot(f"incidents_popup_{name}")
        _press(w, name, ".leaflet-popup .btn-report")
        assert abs(float(page.input_value("#inc-lat")) - lat) < 0.01
        assert abs(float(page.input_value("#inc-lon")) - lon) < 0.01
    else:
        page.fill("#inc-lat", str(lat))
        page.fill("#inc-lon", str(lon))


@pytest.mark.parametrize("name", list(VIEWPORTS))
def test_commander_reports_assembles_dispatches_moves_units_and_prints(browser, inc_server, name):  # noqa: F811
    w = Watched(browser, (inc_server.url,), accept_downloads=True, **VIEWPORTS[name])
    try:
        page = w.page
        page.goto(f"{inc_server.url}/viewer")
        page.wait_for_selector("body[data-ready='1']")
        page.wait_for_selector("body[data-incidents='1']")
        page.evaluate("() => { document.querySelector('#api-key').closest('details').open = true; }")
        page.fill("#api-key", KEY)
        _report_at(w, name, *LIAOYUAN)
        page.select_option("#inc-type", "mine")
        page.fill("#inc-title", f"辽源矿区透水（演练 {name}）")
        _press(w, name, "#inc-create")
        card = page.wait_for_selector(".inc-card[data-status='active']")
        iid = int(card.get_attribute("data-incident"))
        # needs: the defaults are 4 pumps of 300 m³/h, 1 drilling rig and 30 mine-rescue personnel
        assert page.locator("#inc-needs .inc-need").count() == 3
        _press(w, name, "#inc-assemble")
        page.wait_for_selector("#inc-plan table.inc-plan tbody tr")
        plan_text = page.inner_text("#inc-plan")
        assert "高效快速救援钻机" in plan_text and "大型排水泵" in plan_text
        page.locator("#inc-plan").scroll_into_view_if_needed()
        w.shot(f"incidents_plan_{name}")
        _press(w, name, "#inc-dispatch")
        page.wait_for_selector(".inc-units tr[data-state='dispatched']")
        n_units = page.locator(".inc-units tbody tr").count()
        assert n_units >= 1
        first = page.locator(".inc-units tbody tr").first.get_attribute("data-dispatch")
        for state in ("en_route", "on_scene", "released"):
            _press(w, name, f".inc-units tr[data-dispatch='{first}'] button[data-step='{state}']")
            page.wait_for_selector(f".inc-units tr[data-dispatch='{first}'][data-state='{state}']")
            if state == "on_scene":
                w.shot(f"incidents_units_{name}")
        with page.expect_download() as dl:
            _press(w, name, "#inc-pdf")
        path = dl.value.path()
        with open(path, "rb") as f:
            assert f.read(5) == b"%PDF-"
        wait_js(page, f"() => window.incidents.state.lastPdf && window.incidents.state.lastPdf.id === {iid}")
        _press(w, name, "#inc-close")
        page.wait_for_selector(".inc-card[data-status='closed']")
        w.shot(f"incidents_closed_{name}")
        with urllib.request.urlopen(f"{inc_server.url}/incidents/{iid}") as r:
            doc = json.loads(r.read())
        kinds = [e["kind"] for e in doc["timeline"]]
        assert kinds[:3] == ["created", "analysis", "dispatch"] and kinds[-1] == "closed"
        steps = [e["data"]["state"] for e in doc["timeline"] if e["kind"] == "unit_state"
                 and e["data"]["dispatch_id"] == int(first)]
        assert steps == ["en_route", "on_scene", "released"]
        assert len(doc["units"]) == n_units and all(u["state"] == "released" for u in doc["units"])
        w.check_clean()
    finally:
        w.context.close()


def test_plan_coverage_by_county_in_the_viewer(browser, inc_server):  # noqa: F811
    w = Watched(browser, (inc_server.url,), **VIEWPORTS["desktop"])
    try:
        page = w.page
        page.goto(f"{inc_server.url}/viewer")
        page.wait_for_selector("body[data-incidents='1']")
        page.locator("#inc-coverage").click()
        page.wait_for_selector("#inc-coverage-out table.inc-coverage tbody tr")
        with urllib.request.urlopen(f"{inc_server.url}/analysis/resources/plans/coverage") as r:
            meta = json.loads(r.read())["metadata"]
        counties = [c for c in meta["by_county"] if c["hazard_sources"] > c["covered"]]
        assert page.locator("#inc-coverage-out tbody tr").count() == len(counties)
        assert page.locator("path.inc-uncovered").count() == meta["without_current_plan"] > 0
        page.locator("#inc-coverage-out").scroll_into_view_if_needed()
        w.shot("incidents_plan_coverage_desktop")
        w.check_clean()
    finally:
        w.context.close()
