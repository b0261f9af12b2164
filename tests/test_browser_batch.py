# ruff: noqa: F811 - the shared browser fixtures are imported from test_browser_maps and used as arguments
"""The batch journey in the viewer (Debian's Chromium via Playwright, no network): open 批量任务, start the
province QRA as an OGC API – Processes job, watch its progress bar move, read its records (a collection) into the
result table and onto the map; on a phone (390×844, touch) the regrade; on a tablet (768×1024, touch) start a job
and dismiss it; the exposure of every hazard source and the rescue coverage gaps at desktop, tablet and phone size.
Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import pytest
from test_browser_maps import Watched, browser, server, wait_js  # noqa: F401 - shared fixtures
from test_browser_viewer import _api

pytestmark = pytest.mark.browser


def _open(w, server):
    page = w.page
    page.goto(f"{server.url}/viewer")
    page.wait_for_selector("body[data-ready='1']")
    page.evaluate("sessionStorage.clear()")
    return page


def _tap(page, selector):
    box = page.locator(selector).bounding_box()
    assert box, selector
    page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def _open_sheet(page):
    if page.evaluate("!!(viewer.isCompact && viewer.isCompact())"):   # phone/tablet: the panel is a bottom sheet
        _tap(page, "#sheet-toggle")
        page.wait_for_timeout(450)
        _tap(page, "#sheet-full")
        page.wait_for_timeout(450)


def _open_details(page, touch: bool, panel: str, inside: str):
    summary = page.locator(f"#{panel} summary")
    summary.scroll_into_view_if_needed()
    summary.tap() if touch else summary.click()
    page.locator(inside).wait_for(state="visible")


def _open_panel(page, touch: bool):
    _open_sheet(page)
    _open_details(page, touch, "panel-batch", "#batch-start")


def test_province_qra_job_progress_and_records(browser, server):
    w = Watched(browser, (server.url,))
    try:
        page = _open(w, server)
        _open_panel(page, False)
        page.select_option("#batch-process", "batch-qra")
        page.fill("#batch-resolution", "100")
        page.click("#batch-start")
        wait_js(page, "() => +document.getElementById('batch-progress').value > 0", 240)
        w.shot("batch_qra_running")
        progress_seen = page.evaluate("+document.getElementById('batch-progress').value")
        page.wait_for_selector("#result [data-kind='batch'] .batch-records tr:has(td)", timeout=300_000)
        wait_js(page, "() => !viewer.state.busy")
        job = page.evaluate("sessionStorage.getItem('batchJob')")
        st = _api(server, f"/jobs/{job}")
        assert st["status"] == "successful" and st["progress"] == 100 and 0 < progress_seen <= 100
        res = _api(server, f"/jobs/{job}/results")["result"]
        n = res["summary"]["installations"]
        rows = page.locator("#result .batch-records tr:has(td)")
        assert rows.count() == min(n, 2000)
        text = page.inner_text("#result [data-kind='batch']")
        assert f"{n} 个风险源" in text and f"{min(n, 2000)} / {n}" in text
        assert page.evaluate("viewer.state.result.numberMatched") == n
        drawn = page.evaluate("""() => { let k = 0; viewer.map.eachLayer(l => { if (l.feature && l.feature.properties
            && l.feature.properties.max_ir_per_year !== undefined) k++; }); return k; }""")
        assert drawn == min(n, 2000)
        assert not page.is_disabled("#export-csv")
        w.shot("batch_qra_done")
        w.check_clean()
    finally:
        w.context.close()


def test_regrade_job_on_a_phone(browser, server):
    w = Watched(browser, (server.url,), viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    try:
        page = _open(w, server)
        _open_panel(page, True)
        page.select_option("#batch-process", "batch-regrade")
        assert page.locator("#batch-qra-options").is_hidden()
        page.locator("#batch-start").tap()
        page.wait_for_selector("#result [data-kind='batch'] .batch-records tr:has(td)", timeout=300_000)
        n = _api(server, "/collections/hazard_sources/items?limit=1")["numberMatched"]
        assert page.locator("#result .batch-records tr:has(td)").count() == n
        assert "重大危险源" in page.inner_text("#result [data-kind='batch']")
        page.locator("#result .batch-records tr:has(td)").first.scroll_into_view_if_needed()
        w.shot("batch_regrade_phone")
        w.check_clean()
    finally:
        w.context.close()


def test_dismiss_a_job_on_a_tablet(browser, server):
    w = Watched(browser, (server.url,), viewport={"width": 768, "height": 1024}, has_touch=True, is_mobile=True)
    try:
        page = _open(w, server)
        _open_panel(page, True)
        page.select_option("#batch-process", "batch-qra")
        page.fill("#batch-resolution", "10")
        page.locator("#batch-start").tap()
        wait_js(page, "() => !document.getElementById('batch-dismiss').disabled", 60)
        job = page.evaluate("sessionStorage.getItem('batchJob')")
        page.locator("#batch-dismiss").tap()
        wait_js(page, "() => document.getElementById('batch-status').textContent.indexOf('dismissed') >= 0", 60)
        w.shot("batch_dismissed_tablet")
        import urllib.error
        import urllib.request

        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{server.url}/jobs/{job}")
        assert err.value.code == 404
        assert page.is_enabled("#batch-start")
        w.check_clean()
    finally:
        w.context.close()


SIZES = {"desktop": {"viewport": {"width": 1600, "height": 1000}},
         "tablet": {"viewport": {"width": 768, "height": 1024}, "has_touch": True, "is_mobile": True},
         "phone": {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}}


def _run_batch(page, touch: bool):
    page.locator("#batch-start").tap() if touch else page.click("#batch-start")
    page.wait_for_selector("#result [data-kind='batch'] .batch-records tr:has(td)", timeout=300_000)
    wait_js(page, "() => !viewer.state.busy")
    return page.evaluate("sessionStorage.getItem('batchJob')")


@pytest.mark.parametrize("size", list(SIZES))
def test_exposure_of_every_source_as_a_job(browser, server, size):
    """The scenario panel's wind and weather go to the batch; its rows are one per hazard source, ranked by the
    people exposed as the records say."""
    touch = size != "desktop"
    w = Watched(browser, (server.url,), **SIZES[size])
    try:
        page = _open(w, server)
        _open_sheet(page)
        _open_details(page, touch, "panel-scenario", "#sc-wind-from")    # the wind, in the scenario panel
        page.fill("#sc-wind-from", "225")
        _open_details(page, touch, "panel-batch", "#batch-start")
        page.select_option("#batch-process", "batch-exposure")
        assert page.locator("#batch-exposure-options").is_visible() and page.locator("#batch-qra-options").is_hidden()
        job = _run_batch(page, touch)
        assert _api(server, f"/jobs/{job}")["status"] == "successful"
        res = _api(server, f"/jobs/{job}/results")["result"]
        s = res["summary"]
        assert s["kind"] == "exposure" and s["parameters"]["wind_dir_deg"] == 225
        n = _api(server, "/collections/hazard_sources/items?limit=1")["numberMatched"]
        assert s["count"] == n
        rows = page.locator("#result .batch-records tr:has(td)")
        assert rows.count() == n
        text = page.inner_text("#result [data-kind='batch']")
        assert f"{n} 个风险源" in text and f"{s['sources_with_receptors_exposed']} 个有受体暴露" in text
        page.click("#result .batch-records th:nth-child(2)")       # sort by the population exposed
        page.click("#result .batch-records th:nth-child(2)")
        first = rows.first.locator("td").nth(1).inner_text()
        most = max(f["properties"]["total_population"] or 0 for f in page.evaluate("viewer.state.result.features"))
        assert int(first) == most
        rows.first.scroll_into_view_if_needed()
        w.shot(f"batch_exposure_{size}")
        w.check_clean()
    finally:
        w.context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_rescue_coverage_gaps_as_a_job(browser, server, size):
    """An incident type and one time limit go to the batch; the gaps are the rows marked 盲区, as many as the
    summary counts, and the county with most gaps is named."""
    touch = size != "desktop"
    w = Watched(browser, (server.url,), **SIZES[size])
    try:
        page = _open(w, server)
        _open_panel(page, touch)
        page.select_option("#batch-process", "batch-coverage")
        assert page.locator("#batch-coverage-options").is_visible()
        page.select_option("#batch-incident", "chemical")
        page.fill("#batch-minutes", "15")
        job = _run_batch(page, touch)
        res = _api(server, f"/jobs/{job}/results")["result"]
        s = res["summary"]
        assert s["kind"] == "coverage" and s["minutes_override"] == 15 and s["incident"] == "chemical"
        rows = page.locator("#result .batch-records tr:has(td)")
        assert rows.count() == min(s["totals"]["features"], 2000)
        gaps = page.locator("#result .batch-records tr:has(td):has-text('盲区')").count()
        assert gaps == s["totals"]["gaps"] > 0
        worst = s["counties"][0]
        assert f"盲区最多 most gaps: {worst['county']} ({worst['gaps']} / {worst['features']})" in \
            page.inner_text("#result [data-kind='batch']")
        w.shot(f"batch_coverage_{size}")
        w.check_clean()
    finally:
        w.context.close()
