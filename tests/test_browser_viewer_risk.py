# ruff: noqa: F811 - the shared browser fixtures are imported from test_browser_maps and used as arguments
"""The planner's quantitative-risk journey in the viewer (Debian's Chromium via Playwright, no network):

click a hazard source holding a toxic gas → 定量风险 QRA → the IR contours are drawn as nested polygons with
their levels, the protection targets are listed against their GB 36894 criterion, the F-N chart is drawn
beside them; the PDF report downloads; a park's QRA (from the park's popup) gives its F-N curve; a shared link
restores the analysis. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import io

import pytest
from test_browser_maps import browser, server, wait_js  # noqa: F401 - shared fixtures
from test_browser_viewer import _api, _click_latlng, _open, watched  # noqa: F401

pytestmark = pytest.mark.browser


def _toxic_source(server) -> dict:
    doc = _api(server, "/collections/hazard_sources/items?limit=400")
    return next(f for f in doc["features"]
                if any(i["substance"] in ("chlorine", "ammonia") for i in f["properties"]["inventory"]))


def _settled(page):
    """Wait until the map has finished its zoom animation (a screenshot mid-zoom shows the clipped SVG layer)."""
    wait_js(page, "() => !viewer.map._animatingZoom && !viewer.state.busy")
    page.wait_for_timeout(500)


def _open_popup(page, layer, lat, lon, selector):
    page.evaluate(f"void viewer.map.setView([{lat}, {lon}], 17)")
    wait_js(page, f"() => {{ const l = viewer.state.layers.{layer}; return l && l.state === 'features'; }}")
    page.wait_for_timeout(400)
    _click_latlng(page, lat, lon)
    page.locator(f".leaflet-popup {selector}").wait_for()


def test_hazard_qra_contours_targets_fn_chart_and_pdf(watched, server, tmp_path):
    import pypdf

    page = _open(watched, server)
    hz = _toxic_source(server)
    lon, lat = hz["geometry"]["coordinates"]
    _open_popup(page, "hazard_sources", lat, lon, ".btn-risk")
    page.locator(".leaflet-popup .btn-risk").click()
    # one source's QRA: ~2 s alone, but it shares the server with the batch jobs of test_browser_batch (a dismissed
    # job stops at its next partition), and the default 30 s wait was exceeded once in CI
    page.wait_for_selector("#result [data-kind='risk'] .risk-fn-chart svg", timeout=120_000)
    doc = page.evaluate("viewer.state.result")
    assert page.evaluate("viewer.state.analysis") == {"type": "risk", "layer": "hazard_sources", "id": hz["id"]}
    assert doc["metadata"]["parameters"]["installation"] == "existing"     # stored sources are in service (在役)
    contours = doc["features"]
    assert contours, "a toxic store has at least the 3e-7 contour"
    # nested coloured polygons on the map, one per level, the colour of its level in the legend
    colours = {lv["level"]: lv["color"] for lv in page.evaluate("viewer.state.config.risk_levels")}
    drawn = page.evaluate("""() => { const out = []; viewer.map.eachLayer(l => { if (l.feature && l.feature.properties
        && l.feature.properties.level_per_year !== undefined && l.options) out.push([l.feature.properties.level_per_year,
        l.options.fillColor]); }); return out; }""")
    assert sorted(d[0] for d in drawn) == sorted(f["properties"]["level_per_year"] for f in contours)
    assert all(colours[lv] == c for lv, c in drawn)
    box = page.locator("#result [data-kind='risk']")
    text = box.inner_text()
    for f in contours:
        assert f["properties"]["label_zh"] in text
    targets = doc["metadata"]["receptors"]
    rows = box.locator(".risk-targets tr:has(td)")
    assert rows.count() == len(targets) >= 1
    failing = sum(1 for t in targets if t["verdict"] == "fail")
    assert f"{failing}/{len(targets)}" in page.inner_text("#result .rm-verdict")
    first = max(targets, key=lambda t: t["ir_per_year"])          # sorted by IR, highest first
    assert rows.first.locator("td").nth(3).inner_text() == f"{first['ir_per_year']:.2e}"
    # the F-N chart: the curve (or its "no event" note) and both criterion lines
    chart = box.locator(".risk-fn-chart svg")
    cb = chart.bounding_box()
    assert cb and cb["width"] > 200 and cb["height"] > 150
    assert chart.locator(".fn-line-upper").count() == 1 and chart.locator(".fn-line-lower").count() == 1
    fn = doc["metadata"]["societal"]
    assert chart.locator(".fn-curve").count() == (1 if fn["fn_curve"] else 0)
    assert fn["assessment"]["region_zh"] in chart.inner_html()
    _settled(page)
    watched.shot("journey6_qra_installation")
    # the printable report: same contours, targets and the F-N chart
    with page.expect_download() as dl:
        page.click("#export-pdf")
    path = tmp_path / "risk.pdf"
    dl.value.save_as(path)
    reader = pypdf.PdfReader(io.BytesIO(path.read_bytes()))
    pdf_text = "".join(p.extract_text() for p in reader.pages).replace(" ", "").replace("\n", "")
    assert "定量风险评价报告" in pdf_text and "社会风险" in pdf_text and sum(len(p.images) for p in reader.pages) >= 2
    # click a protection target: the map centres on it
    rows.first.click()
    page.wait_for_timeout(800)
    feat = _api(server, f"/collections/receptors/items/{first['id']}")
    if feat["geometry"]["type"] == "Point":
        c = page.evaluate("(() => { const c = viewer.map.getCenter(); return [c.lng, c.lat]; })()")
        assert c == pytest.approx(feat["geometry"]["coordinates"], abs=0.01)
    watched.check_clean()


def test_park_qra_from_popup_and_shared_link(watched, server, browser):
    from shapely.geometry import shape
    from test_browser_maps import Watched

    page = _open(watched, server)
    park = _api(server, "/collections/chemical_parks/items/1")
    c = shape(park["geometry"]).representative_point()
    page.evaluate(f"void viewer.map.setView([{c.y}, {c.x}], 14)")
    wait_js(page, "() => viewer.state.layers.chemical_parks.state === 'features'")
    page.uncheck("input[data-layer='hazard_sources']")
    page.wait_for_timeout(300)
    _click_latlng(page, c.y, c.x)
    page.locator(".leaflet-popup .btn-risk").click()
    page.wait_for_selector("#result [data-kind='risk'] .risk-fn-chart svg", timeout=60_000)
    assert page.evaluate("viewer.state.analysis") == {"type": "risk", "park_id": 1}
    doc = page.evaluate("viewer.state.result")
    assert len(doc["metadata"]["installations"]) > 1 and doc["metadata"]["societal"]["fn_curve"]
    assert page.locator("#result .risk-fn-chart .fn-curve").count() == 1
    _settled(page)
    watched.shot("journey6_qra_park")
    watched.check_clean()
    link = page.evaluate("(viewer.updateHash(), location.href)")
    other = Watched(browser, (server.url,))
    try:
        p2 = other.page
        p2.goto(link)
        # the page is ready once the linked analysis is restored: the park's QRA runs again first (the first run
        # took up to 60 s on a loaded CI machine; the default 30 s wait failed there once)
        p2.wait_for_selector("body[data-ready='1']", timeout=120_000)
        p2.wait_for_selector("#result [data-kind='risk'] .risk-fn-chart svg", timeout=60_000)
        assert p2.evaluate("viewer.state.analysis") == {"type": "risk", "park_id": 1}
        _settled(p2)
        other.shot("journey6_qra_shared_link")
        other.check_clean()
    finally:
        other.context.close()
