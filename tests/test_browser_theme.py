"""The viewer's dark theme for control rooms (issue 18, item 7), in Debian's Chromium at 1600×1000 and, with
a touch screen, 768×1024 and 390×844: the toggle in the panel's header switches the page to dark colours,
the choice survives a reload (localStorage), a first visit follows prefers-color-scheme, the basemap is
dimmed, and text on the panel, the legend, the monitoring panel and the attribute table keeps a WCAG
contrast ratio of at least 4.5:1 against what it is drawn on."""

from __future__ import annotations

import pytest
from test_browser_maps import Watched, browser, server, wait_js  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

SIZES = {
    "desktop": {"viewport": {"width": 1600, "height": 1000}},
    "tablet": {"viewport": {"width": 768, "height": 1024}, "has_touch": True, "is_mobile": True},
    "phone": {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2},
}

# WCAG 2.1 relative luminance and contrast ratio of an element's text against its effective background
# (the first opaque background up the tree, semi-transparent ones composited over it).
CONTRAST = """sel => {
  const el = document.querySelector(sel);
  if (!el) { return null; }
  const rgba = s => { const m = s.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    const c = rgba(getComputedStyle(e).backgroundColor);
    if (c[3] > 0) { layers.push(c); if (c[3] >= 1) { break; } }
  }
  let bg = [255, 255, 255];
  for (let i = layers.length - 1; i >= 0; i--) {
    const c = layers[i]; bg = [0, 1, 2].map(k => c[k] * c[3] + bg[k] * (1 - c[3]));
  }
  const fg = rgba(getComputedStyle(el).color);
  const lum = c => { const v = c.slice(0, 3).map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const a = lum(fg), b = lum(bg);
  return { ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05), fg: fg, bg: bg, bgLum: b };
}"""


def _press(page, sel: str, touch: bool) -> None:
    if touch:
        box = page.locator(sel).bounding_box()
        assert box, sel
        page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    else:
        page.click(sel)


def _open(page, url: str, touch: bool) -> None:
    page.goto(f"{url}/viewer")
    page.wait_for_selector("body[data-ready='1']")
    if touch:   # the header with the toggle is inside the bottom sheet
        page.evaluate("window.viewer.setSheet('half')")
        page.wait_for_timeout(300)


@pytest.mark.parametrize("size", list(SIZES))
def test_dark_theme_toggle_is_remembered_and_readable(browser, server, size):  # noqa: F811
    touch = size != "desktop"
    w = Watched(browser, (server.url,), color_scheme="light", **SIZES[size])
    try:
        page = w.page
        _open(page, server.url, touch)
        assert page.evaluate("document.documentElement.dataset.theme") == "light"
        light_side = page.evaluate(CONTRAST, "#side summary")
        assert light_side["bgLum"] > 0.8                       # light by default when the system is light
        w.shot(f"theme_light_{size}")

        _press(page, "#theme-toggle", touch)
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        assert page.evaluate("localStorage.getItem('rm-theme')") == "dark"
        assert page.get_attribute("#theme-toggle", "aria-pressed") == "true"
        dark_side = page.evaluate(CONTRAST, "#side summary")
        assert dark_side["bg"] != light_side["bg"] and dark_side["bgLum"] < 0.05, dark_side
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(255, 255, 255)"
        # the basemap is dimmed (own-layers pane and raster tiles)
        assert "brightness" in page.evaluate("getComputedStyle(document.querySelector('.leaflet-basemap-pane')).filter")
        assert "brightness" in page.evaluate("getComputedStyle(document.querySelector('.leaflet-tile-pane')).filter")
        # the attribute table (full-width sheet) in the dark theme
        page.evaluate("window.viewer.attributeTable('hazard_sources')")
        page.wait_for_selector("#attr-sheet .attr-table td")
        checks = ["#side summary", "#side .panel .muted", "#theme-toggle", ".viewer-legend .rm-legend-title",
                  "#attr-sheet .attr-table th", "#attr-sheet .attr-table td", "#attr-sheet .attr-title"]
        if page.locator("#mon-panel").count():
            checks.append("#mon-panel .mon-head b")
        ratios = {}
        for sel in checks:
            r = page.evaluate(CONTRAST, sel)
            assert r is not None, sel
            ratios[sel] = round(r["ratio"], 2)
            assert r["ratio"] >= 4.5, (sel, r)
        print(size, ratios)
        w.shot(f"theme_dark_{size}")

        page.reload()                                          # remembered
        page.wait_for_selector("body[data-ready='1']")
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        if touch:
            page.evaluate("window.viewer.setSheet('half')")
            page.wait_for_timeout(300)
        _press(page, "#theme-toggle", touch)                   # and back
        assert page.evaluate("document.documentElement.dataset.theme") == "light"
        assert page.evaluate("localStorage.getItem('rm-theme')") == "light"
        assert page.evaluate(CONTRAST, "#side summary")["bgLum"] > 0.8
        w.check_clean()
    finally:
        w.context.close()


def test_first_visit_follows_prefers_color_scheme(browser, server):  # noqa: F811
    w = Watched(browser, (server.url,), color_scheme="dark", viewport={"width": 1600, "height": 1000})
    try:
        page = w.page
        _open(page, server.url, False)
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        assert page.evaluate("localStorage.getItem('rm-theme')") is None     # not stored until the user picks
        w.shot("theme_dark_first_visit")
        w.check_clean()
    finally:
        w.context.close()
