# ruff: noqa: F811 - the shared browser fixtures are imported from test_browser_maps and used as arguments
"""The viewer on a phone (390×844) and a tablet (768×1024) with a touch screen, in Debian's Chromium.

The map fills the screen, the side panel is a bottom sheet (peek / half / full) over it; every step is a
tap (Playwright's touchscreen) or a long press (Chrome DevTools touch events), never a mouse click.
Screenshots: artifacts/screenshots/mobile_*.png.
"""

from __future__ import annotations

import json
import urllib.request

import pytest
from test_browser_maps import Watched, browser, server, wait_js  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2}
TABLET = {"viewport": {"width": 768, "height": 1024}, "has_touch": True, "is_mobile": True}


def _api(server, path):
    return json.loads(urllib.request.urlopen(f"{server.url}{path}").read())


@pytest.fixture(params=["phone", "tablet"])
def device(request, browser, server):
    w = Watched(browser, (server.url,), **(PHONE if request.param == "phone" else TABLET))
    w.name = request.param
    page = w.page
    page.goto(f"{server.url}/viewer")
    page.wait_for_selector("body[data-ready='1']")
    yield w
    w.context.close()


def _tap(page, selector):
    box = page.locator(selector).first.bounding_box()
    assert box, selector
    page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def _screen_xy(page, lat, lon):
    return page.evaluate("([lat, lon]) => { const p = viewer.map.latLngToContainerPoint([lat, lon]);"
                         " const r = viewer.map.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }",
                         [lat, lon])


def _sheet_top(page):
    return page.evaluate("document.getElementById('side').getBoundingClientRect().top")


def _settle(page):
    page.wait_for_timeout(450)   # sheet transition and map animation


EMPTY_SPOT = """() => {
  const side = document.getElementById('side').getBoundingClientRect();
  for (let lat = 44.6; lat > 42.2; lat -= 0.2) {
    for (let lon = 124.0; lon < 129.0; lon += 0.25) {
      const p = viewer.map.latLngToContainerPoint([lat, lon]), r = viewer.map.getContainer().getBoundingClientRect();
      const x = p.x + r.left, y = p.y + r.top;
      if (y < 80 || y > side.top - 20 || x < 70 || x > r.right - 20) { continue; }
      const el = document.elementFromPoint(x, y);
      if (el && !el.closest('.leaflet-marker-icon, .leaflet-interactive, .leaflet-control, .leaflet-tooltip, #side')) { return [x, y]; }
    }
  }
  return null;
}"""


def _empty_spot(page):
    """A point of the map inside the province with no feature, label or control on it."""
    xy = page.evaluate(EMPTY_SPOT)
    assert xy, "no empty spot on the map"
    return xy


def _long_press(page, x, y, ms=800):
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    page.wait_for_timeout(ms)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def test_map_fills_the_screen_and_the_panel_is_a_sheet(device):
    page = device.page
    vw, vh = page.viewport_size["width"], page.viewport_size["height"]
    box = page.locator("#map").bounding_box()
    assert box["width"] == vw and box["height"] == vh                # the map is the whole screen
    assert page.evaluate("viewer.isCompact()")
    assert vh - 60 <= _sheet_top(page) < vh                            # peek: only the handle shows
    assert page.locator("#sheet-toggle").is_visible()
    # the visible map is drawn (tiles of the offline basemap or layers), not 0 px
    assert page.evaluate("viewer.map.getSize().x") == vw
    _settle(page)
    device.shot(f"mobile_{device.name}_peek")
    _tap(page, "#sheet-toggle")
    _settle(page)
    top = _sheet_top(page)
    assert vh * 0.4 < top < vh * 0.65                                  # half: the map stays visible above
    _tap(page, "#sheet-full")
    _settle(page)
    assert _sheet_top(page) < vh * 0.15
    device.shot(f"mobile_{device.name}_full")
    _tap(page, "#sheet-toggle")                                        # back down
    _settle(page)
    assert _sheet_top(page) >= vh - 60
    # nothing overflows sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= vw
    device.check_clean()


def test_incident_by_coordinates_by_touch(device):
    page = device.page
    vh = page.viewport_size["height"]
    _tap(page, "#sheet-toggle")
    _settle(page)
    _tap(page, "#goto-text")
    page.keyboard.type("43°51′00″N 126°33′00″E")
    _tap(page, "#goto-form button")
    page.wait_for_selector(".leaflet-popup .btn-incident")
    _settle(page)
    pop = page.locator(".leaflet-popup").bounding_box()
    assert pop["y"] + pop["height"] <= _sheet_top(page) + 1              # the popup is not under the sheet
    _tap(page, ".leaflet-popup .btn-incident")
    page.wait_for_selector("#result [data-kind='rescue'] table tr td")
    _settle(page)
    assert page.evaluate("document.body.dataset.sheet") in ("half", "full")
    # the incident and its teams are framed above the sheet
    top = _sheet_top(page)
    x, y = _screen_xy(page, 43.85, 126.55)
    assert 0 <= y < top and 0 <= x <= page.viewport_size["width"]
    teams = page.evaluate("viewer.state.result.features.filter(f => f.properties.kind === 'team')"
                          ".map(f => f.geometry.coordinates)")
    assert teams
    for lon, lat in teams:
        tx, ty = _screen_xy(page, lat, lon)
        assert -2 <= ty <= top + 2, (lat, lon, ty, top)
    assert page.locator("#result [data-kind='rescue'] table").is_visible()
    assert vh > top
    device.shot(f"mobile_{device.name}_rescue")
    device.check_clean()


def test_long_press_offers_incident_here(device):
    page = device.page
    x, y = _empty_spot(page)
    _long_press(page, x, y)
    page.wait_for_selector(".leaflet-popup .btn-incident")
    _settle(page)
    device.shot(f"mobile_{device.name}_long_press")
    _tap(page, ".leaflet-popup .btn-incident")
    page.wait_for_selector("#result [data-kind='rescue'] table tr td")
    device.check_clean()


def test_tap_a_hazard_for_exposure(device, server):
    page = device.page
    hz = _api(server, "/collections/hazard_sources/items/1")
    lon, lat = hz["geometry"]["coordinates"]
    page.evaluate(f"void viewer.map.setView([{lat}, {lon}], 17, {{ animate: false }})")
    wait_js(page, "(() => { const l = viewer.state.layers.hazard_sources; return l && l.state === 'features'; })()")
    _settle(page)
    x, y = _screen_xy(page, lat, lon)
    page.touchscreen.tap(x, y)
    page.locator(".leaflet-popup .btn-exposure").wait_for()
    _settle(page)                                                      # the popup's auto-pan
    _tap(page, ".leaflet-popup .btn-exposure")
    page.wait_for_selector("#result [data-kind='exposure'] table tr td")
    _settle(page)
    top = _sheet_top(page)
    sx, sy = _screen_xy(page, lat, lon)
    assert 0 <= sy < top                                               # the source is above the sheet
    device.shot(f"mobile_{device.name}_exposure")
    device.check_clean()
