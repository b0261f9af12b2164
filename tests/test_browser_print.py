# ruff: noqa: F811 - the shared browser fixtures are imported from test_browser_maps and used as arguments
"""Print on A4 from the viewer (Debian's Chromium): after the print button the map has its printed size and is
drawn, the legend and the result table print with it, the controls do not; Chromium's own PDF of the page
(print media, A4) holds the legend and the result. Also the legend on screen follows the layers and results.
Screenshots: artifacts/screenshots/print_*.png (print media)."""

from __future__ import annotations

import io

import pytest
from test_browser_maps import Watched, browser, server, wait_js  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"viewport": {"width": 1600, "height": 1000}},
         "phone": {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}}
MM = 96 / 25.4


@pytest.fixture(params=list(SIZES))
def person(request, browser, server):
    w = Watched(browser, (server.url,), **SIZES[request.param])
    w.name = request.param
    w.page.goto(f"{server.url}/viewer")
    w.page.wait_for_selector("body[data-ready='1']")
    yield w
    w.context.close()


def test_legend_follows_layers_and_results(person):
    page = person.page
    legend = page.locator("#viewer-legend")
    assert legend.is_visible()
    if person.name == "phone":                                   # folded on a phone; the title unfolds it
        assert "rm-folded" in legend.get_attribute("class")
        box = page.locator("#viewer-legend .rm-legend-title").bounding_box()
        page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        assert "rm-folded" not in legend.get_attribute("class")
    on = page.evaluate("Object.keys(viewer.state.rows).filter(n => viewer.state.rows[n].box.checked)")
    rows = page.evaluate("Array.from(document.querySelectorAll('#viewer-legend [data-layer]')).map(e => e.dataset.layer)")
    assert rows == on
    page.evaluate("viewer.exposure('hazard_sources', 1)")
    page.wait_for_selector("#result [data-kind='exposure'] table tr td")
    text = legend.inner_text()
    assert "红区 red zone" in text and "受体 receptor" in text
    person.check_clean()


def test_print_shows_map_legend_and_table_on_a4(person, tmp_path):
    import pypdf

    page = person.page
    page.evaluate("viewer.exposure('hazard_sources', 1)")
    page.wait_for_selector("#result [data-kind='exposure'] table tr td")
    page.evaluate("window.print = () => { window._printed = (window._printed || 0) + 1; }")   # no dialog in tests
    if person.name == "phone":
        page.evaluate("viewer.setSheet('half')")
        page.wait_for_timeout(300)
        page.locator("#print").scroll_into_view_if_needed()
        box = page.locator("#print").bounding_box()
        page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    else:
        page.click("#print")
    wait_js(page, "window._printed === 1")
    page.emulate_media(media="print")
    page.wait_for_timeout(300)
    size = page.evaluate("viewer.map.getSize()")
    assert abs(size["x"] - 186 * MM) < 3 and abs(size["y"] - 120 * MM) < 3   # the printed size, Leaflet knows it
    assert page.locator("#viewer-legend").is_visible() and "红区" in page.inner_text("#viewer-legend")
    assert page.locator("#result [data-kind='exposure'] .receptor-table").is_visible()
    for hidden in (".leaflet-control-zoom", "#panel-layers", "#panel-result .tools", "#sheet-handle"):
        assert not page.locator(hidden).first.is_visible(), hidden
    # the zones are drawn inside the printed map
    inside = page.evaluate("""() => { const m = document.getElementById('map').getBoundingClientRect();
        const ps = Array.from(document.querySelectorAll('.leaflet-overlay-pane path')).map(p => p.getBoundingClientRect())
          .filter(r => r.width > 0);
        return ps.length > 0 && ps.some(r => r.left >= m.left - 1 && r.right <= m.right + 1 && r.top >= m.top - 1); }""")
    assert inside
    page.set_viewport_size({"width": 794, "height": 1123})      # an A4 page at 96 dpi, for the screenshot
    page.wait_for_timeout(200)
    person.shot(f"print_{person.name}_a4")
    pdf = page.pdf(format="A4", print_background=True)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 1                                  # the notes print in full, so no upper bound
    first = reader.pages[0].extract_text().replace(" ", "").replace("\n", "")
    assert "图例" in first and "红区" in first                  # page 1: the map with its legend, not blank
    assert "暴露分析" in "".join(p.extract_text() for p in reader.pages).replace(" ", "")
    page.emulate_media(media="screen")
    page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    assert not page.evaluate("document.body.classList.contains('printing')")
    person.check_clean()
