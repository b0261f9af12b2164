# ruff: noqa: F811 - the shared browser fixtures are imported from test_browser_maps and used as arguments
"""The viewer's user journeys in real Chromium (Debian's, driven by Playwright; no browser download).

1. the commander places an incident by coordinates and gets teams that meet or miss the standard;
2. clicks a hazard on the map, sets the wind and gets a plume with its exposed receptors listed;
3. the planner draws a proposal, runs the siting check and downloads its PDF report;
4. anyone measures a distance and an area (geodesic);
5. a shared link restores the view and the analysis.

Each test asserts that no request left localhost and that the console shows no error; screenshots
go to artifacts/screenshots/.
"""

from __future__ import annotations

import io
import json
import urllib.parse
import urllib.request
from decimal import ROUND_HALF_UP, Decimal

import pytest
from test_browser_maps import SHOTS, Watched, browser, click_visible, server, wait_js  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.browser


@pytest.fixture
def watched(browser, server):
    w = Watched(browser, (server.url,))
    yield w
    w.context.close()


def _open(watched, server, path="/viewer"):
    page = watched.page
    page.goto(f"{server.url}{path}")
    page.wait_for_selector("body[data-ready='1']")
    return page


def _api(server, path):
    return json.loads(urllib.request.urlopen(f"{server.url}{path}").read())


def _click_latlng(page, lat, lon):
    """Click the map at a geographic position (through the page, as a user would)."""
    pt = page.evaluate("([lat, lon]) => { const p = viewer.map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
                       [lat, lon])
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + pt[0], box["y"] + pt[1])


def _rescue_requests(watched):
    return [u for u in watched.requests if "/analysis/rescue/" in u]


# -- 1. incident by coordinates ------------------------------------------------------------------

def test_parse_coordinates_decimal_and_dms(watched, server):
    page = _open(watched, server)
    cases = {"43.85, 126.55": [43.85, 126.55], "126.55 43.85": [43.85, 126.55],
             "43°51′00″N 126°33′00″E": [43.85, 126.55], "N43 51 30 E126 33 0": [43.858333, 126.55],
             "北纬43度51分 东经126度33分": [43.85, 126.55], "43°51'S, 126°33'W": [-43.85, -126.55]}
    for text, (lat, lon) in cases.items():
        got = page.evaluate("t => { const p = viewer.parseCoords(t); return p && [p.lat, p.lng]; }", text)
        assert got is not None, text
        assert got == pytest.approx([lat, lon], abs=1e-5), text
    for bad in ["abc", "43.85", "95, 200", "43°75′N 126°E"]:
        assert page.evaluate("t => viewer.parseCoords(t)", bad) is None, bad
    watched.check_clean()


def test_incident_by_coordinates_lists_teams_against_the_standard(watched, server):
    page = _open(watched, server)
    page.fill("#goto-text", "43°51′00″N 126°33′00″E")
    page.click("#goto-form button")
    page.click(".leaflet-popup .btn-incident")
    page.wait_for_selector("#result [data-kind='rescue'] table tr td")
    result = page.evaluate("viewer.state.result")
    meta = result["metadata"]
    assert meta["by"] == "time"                                   # road time by default
    assert meta["origin"] == {"lon": 126.55, "lat": 43.85}
    direct = _api(server, "/analysis/rescue/nearest?lon=126.55&lat=43.85&incident=chemical&k=5&by=time")
    teams = [f["properties"] for f in direct["features"] if f["properties"]["kind"] == "team"]
    assert [f["properties"]["team_id"] for f in result["features"] if f["properties"]["kind"] == "team"] == \
        [t["team_id"] for t in teams]
    # the standard is shown, with its source, for each capable team type
    standards = page.locator("#result .standard").all_inner_texts()
    assert len(standards) == len(meta["standards"])
    for key, s in meta["standards"].items():
        assert any(key in t and f"{s['standard_min']:g} min" in t for t in standards)
    # each row: straight-line km beside road km, ETA beside standard, meets / misses in Chinese and English
    rows = page.locator("#result [data-kind='rescue'] table tr:has(td)")
    assert rows.count() == len(teams)
    for i, t in enumerate(teams):
        cells = rows.nth(i).locator("td").all_inner_texts()
        assert cells[2].replace("\n", " ") == f"{t['distance_m'] / 1000:.1f} / {t['road_distance_m'] / 1000:.1f}"
        assert cells[4] == ("达标 meets" if t["meets_standard"] else "未达标 misses")
    assert {t["meets_standard"] for t in teams} == {True, False}   # this incident has both
    # one label per team on the map (routes carry none)
    labels = page.locator(".leaflet-tooltip.rm-label").all_inner_texts()
    half_up = [int(Decimal(repr(t["eta_min"])).quantize(Decimal(1), ROUND_HALF_UP)) for t in teams]  # as toFixed(0)
    assert sorted(labels) == sorted(f"{t['rank']} · {m} min" for t, m in zip(teams, half_up, strict=True))
    page.wait_for_timeout(600)                                           # the fit-to-result animation
    watched.shot("journey1_incident_by_coordinates")
    click_visible(page, ".leaflet-marker-pane .rm-role-team")             # result popups: labelled fields
    popup = page.locator(".leaflet-popup-content").inner_text()
    assert "到达时间 min ETA min" in popup and "是否达标 meets standard" in popup and "eta_min" not in popup
    watched.check_clean()


def test_double_click_zooms_without_a_rescue_query(watched, server):
    page = _open(watched, server)
    zoom = page.evaluate("viewer.map.getZoom()")
    box = page.locator("#map").bounding_box()
    page.mouse.dblclick(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
    wait_js(page, f"viewer.map.getZoom() > {zoom}")
    page.wait_for_timeout(700)
    assert not _rescue_requests(watched)
    assert page.locator(".leaflet-popup .btn-incident").count() == 0
    # a single click offers "incident here" but asks nothing until chosen
    page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
    page.wait_for_selector(".leaflet-popup .btn-incident")
    assert not _rescue_requests(watched)
    watched.check_clean()


# -- 2. hazard popup → scenario → plume and exposed receptors ---------------------------------------

def test_hazard_popup_scenario_plume_and_exposed_list(watched, server):
    page = _open(watched, server)
    hz = _api(server, "/collections/hazard_sources/items/1")
    lon, lat = hz["geometry"]["coordinates"]
    # scenario: wind from the west (compass point), 3 m/s, class from day + 7/8 cloud (Turner: C)
    page.click("#panel-scenario summary")
    page.select_option("#sc-weather", "custom")
    page.fill("#sc-wind-from", "W")
    page.fill("#sc-wind-speed", "3")
    page.select_option("#sc-stability", "")
    page.select_option("#sc-daynight", "day")
    page.fill("#sc-cloud", "7")
    page.locator("#sc-cloud").dispatch_event("change")
    assert "稳定度 C" in page.inner_text("#sc-class-note")
    page.evaluate(f"void viewer.map.setView([{lat}, {lon}], 18)")
    wait_js(page, """() => { const l = viewer.state.layers.hazard_sources; return l && l.state === 'features'; }""")
    page.wait_for_timeout(400)
    _click_latlng(page, lat, lon)
    popup = page.locator(".leaflet-popup")
    popup.locator(".btn-exposure").wait_for()
    assert popup.locator(".btn-rescue").count() == 1                # both analyses from the map
    assert hz["properties"]["name"] in popup.inner_text()
    popup.locator(".btn-exposure").click()
    page.wait_for_selector("#result [data-kind='exposure'] .receptor-table tr td")
    sent = [u for u in watched.requests if "/analysis/exposure/hazard_sources/1?" in u][-1]
    q = urllib.parse.parse_qs(urllib.parse.urlparse(sent).query)
    assert q["wind_dir_deg"] == ["270"] and q["wind_speed_m_s"] == ["3"] and q["stability"] == ["C"]
    result = page.evaluate("viewer.state.result")
    zones = [f["properties"] for f in result["features"] if f["properties"].get("feature_type") == "zone"]
    receptors = [f["properties"] for f in result["features"] if f["properties"].get("feature_type") == "receptor"]
    assert receptors and any(z["kind"] == "toxic" for z in zones)
    box = page.locator("#result [data-kind='exposure']")
    text = box.inner_text()
    for z in zones:                                                # model, threshold and driving substance
        assert z["label_zh"] in text and z["model"] in text and z["substance"] in text
    assert "局限 Limitations" in text
    for z in zones:                                                # truncation stated, with its reason
        if z.get("truncated"):
            assert "截断 truncated" in text and z["truncation_reason"] in text
    rows = box.locator(".receptor-table tr:has(td)")
    assert rows.count() == len(receptors)
    # sortable: population descending after two clicks on its header
    header = box.locator(".receptor-table th", has_text="人口")
    header.click()
    header.click()
    pops = [int(rows.nth(i).locator("td").nth(3).inner_text()) for i in range(rows.count())]
    assert pops == sorted(pops, reverse=True)
    # click to zoom: the map centres on the receptor
    first = rows.first.locator("td").nth(1).inner_text()
    target = next(r for r in receptors if r["name"] == first)
    rows.first.click()
    page.wait_for_timeout(600)
    feat = _api(server, f"/collections/receptors/items/{target['id']}")
    c = page.evaluate("(() => { const c = viewer.map.getCenter(); return [c.lat, c.lng]; })()")
    gx, gy = feat["geometry"]["coordinates"] if feat["geometry"]["type"] == "Point" else c[::-1]
    assert c == pytest.approx([gy, gx], abs=0.01)
    watched.shot("journey2_exposure_plume")
    watched.check_clean()


def test_default_scenario_is_the_services_worst_case(watched, server):
    page = _open(watched, server)
    page.evaluate("viewer.exposure('hazard_sources', 1)")
    page.wait_for_selector("#result [data-kind='exposure'] table tr td")
    sent = [u for u in watched.requests if "/analysis/exposure/hazard_sources/1?" in u][-1]
    assert "weather=worst" in sent and "stability=" not in sent
    params = page.evaluate("viewer.state.result.metadata.parameters")
    assert params["stability"] == "F" and params["wind_speed_m_s"] == 1.5
    watched.check_clean()


# -- 3. draw a proposal, check it, download the PDF ------------------------------------------------

def test_draw_proposal_siting_table_and_pdf(watched, server, tmp_path):
    import pypdf

    page = _open(watched, server)
    assert "多边形" in page.get_attribute(".leaflet-draw-draw-polygon", "title")      # drawing tools in Chinese
    page.evaluate("void viewer.map.setView([43.80, 126.63], 13)")
    page.click(".leaflet-draw-draw-polygon")
    assert "单击" in page.inner_text(".leaflet-draw-tooltip")
    box = page.locator("#map").bounding_box()
    cx, cy = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5
    for dx, dy in [(0, 0), (90, 0), (90, 70), (0, 70)]:
        page.mouse.click(cx + dx, cy + dy)
        page.wait_for_timeout(150)
    page.mouse.click(cx, cy)
    page.wait_for_selector("#result [data-kind='siting'] .rm-verdict")
    result = page.evaluate("viewer.state.result")
    rules = result["metadata"]["rules"]
    table = page.locator("#result .rule-table")
    assert table.locator("tr.rule-row").count() == len(rules) > 10
    # readable: nothing overflows the side panel
    widths = page.evaluate("""() => { const s = document.getElementById('side'), t = document.querySelector('#result .rule-table');
        return [s.scrollWidth, s.clientWidth, t.getBoundingClientRect().right, s.getBoundingClientRect().right]; }""")
    assert widths[0] <= widths[1] and widths[2] <= widths[3]
    text = table.inner_text()
    labels = {"pass": "通过 pass", "fail": "不通过 fail", "warn": "警示 warning", "not_evaluated": "未评估 not evaluated"}
    for r in rules:
        assert labels[r["outcome"]] in text
        assert r["description"]["zh"] in text
    assert table.locator("tr.rule-detail").first.is_visible() and "依据 source" in text
    verdict_zh = {"pass": "通过", "conditional": "有条件通过", "fail": "不通过"}[result["metadata"]["verdict"]]
    assert verdict_zh in page.inner_text("#result .rm-verdict")
    watched.shot("journey3_siting_table")
    with page.expect_download() as dl:
        page.click("#export-pdf")
    path = tmp_path / "report.pdf"
    dl.value.save_as(path)
    reader = pypdf.PdfReader(io.BytesIO(path.read_bytes()))
    pdf_text = "".join(p.extract_text() for p in reader.pages)
    assert f"结论 Verdict: {verdict_zh}" in pdf_text and sum(len(p.images) for p in reader.pages) >= 1
    # the drawn proposal downloads as GeoJSON and uploads again to the same verdict
    page.locator("#panel-siting summary").click()
    with page.expect_download() as dl2:
        page.click("#proposal-download")
    gj = tmp_path / "proposal.geojson"
    dl2.value.save_as(gj)
    feature = json.loads(gj.read_text())
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Polygon"
    page.click("#clear-result")
    page.set_input_files("#proposal-file", str(gj))
    page.wait_for_selector("#result [data-kind='siting'] .rm-verdict")
    assert page.evaluate("viewer.state.result.metadata.verdict") == result["metadata"]["verdict"]
    watched.check_clean()


def test_park_popup_offers_siting(watched, server):
    page = _open(watched, server)
    park = _api(server, "/collections/chemical_parks/items/2")
    from shapely.geometry import shape

    c = shape(park["geometry"]).representative_point()
    page.evaluate(f"void viewer.map.setView([{c.y}, {c.x}], 14)")
    wait_js(page, "() => viewer.state.layers.chemical_parks.state === 'features'")
    page.wait_for_timeout(300)
    page.check("input[data-layer='receptors']")
    page.uncheck("input[data-layer='receptors']")
    page.uncheck("input[data-layer='hazard_sources']")
    _click_latlng(page, c.y, c.x)
    page.locator(".leaflet-popup .btn-siting").click()
    page.wait_for_selector("#result [data-kind='siting'] .rm-verdict")
    assert page.evaluate("viewer.state.analysis") == {"type": "siting_park", "id": 2}
    watched.check_clean()


# -- 4. measure ---------------------------------------------------------------------------------

def test_measure_distance_and_area_geodesic(watched, server):
    from pyproj import Geod

    page = _open(watched, server)
    page.uncheck("input[data-layer='receptors']")
    page.uncheck("input[data-layer='hazard_sources']")
    page.click(".rm-measure .measure-distance")
    box = page.locator("#map").bounding_box()
    for fx, fy in [(0.3, 0.3), (0.7, 0.6)]:
        page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
        page.wait_for_timeout(120)
    m = page.evaluate("viewer.state.measuring")
    (a, b) = m["points"]
    geod = Geod(ellps="WGS84")
    _, _, dist = geod.inv(a["lng"], a["lat"], b["lng"], b["lat"])
    assert m["values"]["distance_m"] == pytest.approx(dist, rel=1e-9, abs=1e-3)
    shown = page.inner_text("#measure-out .measure-value")
    assert f"{dist / 1000:.3f} km" in shown
    assert page.locator(".leaflet-popup").count() == 0 and not _rescue_requests(watched)
    watched.shot("journey4_measure_distance")
    page.click(".rm-measure .measure-area")
    for fx, fy in [(0.3, 0.3), (0.7, 0.3), (0.7, 0.7), (0.3, 0.7)]:
        page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
        page.wait_for_timeout(120)
    m = page.evaluate("viewer.state.measuring")
    lons = [p["lng"] for p in m["points"]]
    lats = [p["lat"] for p in m["points"]]
    area, perimeter = geod.polygon_area_perimeter(lons, lats)
    assert m["values"]["area_m2"] == pytest.approx(abs(area), rel=2e-3)
    assert m["values"]["perimeter_m"] == pytest.approx(perimeter, rel=1e-6)
    assert "km²" in page.inner_text("#measure-out")
    # the scale bar is metric only
    assert page.locator(".leaflet-control-scale-line").count() == 1
    assert "mi" not in page.inner_text(".leaflet-control-scale") and "ft" not in page.inner_text(".leaflet-control-scale")
    watched.shot("journey4_measure_area")
    page.click("#measure-out .measure-stop")
    watched.check_clean()


# -- 5. shared link ------------------------------------------------------------------------------

def test_shared_link_restores_view_and_analysis(watched, server, browser):
    page = _open(watched, server)
    page.evaluate("viewer.exposure('hazard_sources', 1, {wind_dir_deg: 45, wind_speed_m_s: 2, stability: 'E'})")
    page.wait_for_selector("#result [data-kind='exposure'] table tr td")
    page.evaluate("void viewer.map.setView([43.95, 126.52], 12)")
    page.uncheck("input[data-layer='receptors']")
    # the address follows the map 400 ms after it stops moving (the result's fit may still be animating when
    # setView is called): wait until it names the view the map shows, as a person copying the link would
    page.wait_for_function("""() => { const c = viewer.map.getCenter();
        return location.hash.includes('v=' + viewer.map.getZoom() + '/' + c.lat.toFixed(5) + '/' + c.lng.toFixed(5)); }""")
    url = page.url
    first = page.evaluate("viewer.state.result")
    view = page.evaluate("(() => { const c = viewer.map.getCenter(); return [viewer.map.getZoom(), c.lat, c.lng]; })()")
    assert f"#v=12/{view[1]:.5f}/{view[2]:.5f}" in url and "a=" in url

    other = Watched(browser, (server.url,))
    try:
        p2 = other.page
        p2.goto(url)
        p2.wait_for_selector("body[data-ready='1']")
        p2.wait_for_selector("#result [data-kind='exposure'] table tr td")
        assert p2.evaluate("viewer.state.analysis") == {"type": "exposure", "layer": "hazard_sources", "id": 1,
                                                        "params": {"wind_dir_deg": 45, "wind_speed_m_s": 2,
                                                                   "stability": "E"}}
        again = p2.evaluate("viewer.state.result")
        assert [f["properties"].get("distance_m") for f in again["features"]] == \
            [f["properties"].get("distance_m") for f in first["features"]]
        assert p2.evaluate("viewer.map.getZoom()") == 12
        c = p2.evaluate("(() => { const c = viewer.map.getCenter(); return [c.lat, c.lng]; })()")
        assert c == pytest.approx(view[1:], abs=1e-4)
        assert not p2.is_checked("input[data-layer='receptors']") and p2.is_checked("input[data-layer='hazard_sources']")
        assert p2.input_value("#sc-wind-from") == "45"
        other.shot("journey5_shared_link")
        other.check_clean()
    finally:
        other.context.close()
    watched.check_clean()


# -- the rest: search, attribute table, exports, print, basemap ----------------------------------

def test_search_disambiguates_and_counts(watched, server):
    page = _open(watched, server)
    page.fill("#search-text", "区")
    page.click("#search-form button")
    page.wait_for_selector("#search-results li")
    assert not any(u for u in watched.requests if "/collections/roads/items?q=" in u)     # no road segments
    note = page.inner_text("#search-note")
    assert "显示前 10 / 共" in note                                              # more than shown is said
    items = page.locator("#search-results li").all_inner_texts()
    names = [t.split(" — ")[0] for t in items]
    for t in items:                                        # duplicates carry their county / level
        if names.count(t.split(" — ")[0]) > 1:
            assert " · " in t.split(" — ")[1]
    watched.check_clean()


def test_attribute_table_filter_zoom_and_exports(watched, server, tmp_path):
    """The full-width attribute table (issue 18): name filter, row click zooms, exports of the filtered rows."""
    page = _open(watched, server)
    page.click("button[data-table='rescue_teams']")
    page.wait_for_selector("#attr-sheet .attr-table tr[data-id]")
    total = _api(server, "/collections/rescue_teams/items?limit=1")["numberMatched"]
    assert f"共 {total} 条" in page.inner_text("#attr-sheet .attr-count")
    page.fill("#attr-sheet .attr-q", "消防")
    page.click("#attr-sheet .attr-apply")
    wait_js(page, f"() => !document.querySelector('#attr-sheet .attr-count').textContent.includes('共 {total} 条')")
    rows = page.locator("#attr-sheet .attr-table tr[data-id]")
    assert rows.count() > 0 and all("消防" in rows.nth(i).inner_text() for i in range(rows.count()))
    matched = _api(server, "/collections/rescue_teams/items?limit=1&q=%E6%B6%88%E9%98%B2")["numberMatched"]
    assert f"共 {matched} 条" in page.inner_text("#attr-sheet .attr-count")
    rows.first.click()
    wait_js(page, "viewer.map.getZoom() >= 14")
    with page.expect_download() as dl:
        page.click("#attr-sheet .attr-export-csv")
    csv = tmp_path / "t.csv"
    dl.value.save_as(csv)
    lines = csv.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("id,") and len(lines) == matched + 1          # every filtered row, not one page
    with page.expect_download() as dl:
        page.click("#attr-sheet .attr-export-geojson")
    gj = tmp_path / "t.geojson"
    dl.value.save_as(gj)
    doc = json.loads(gj.read_text())
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == matched
    page.click("#attr-sheet .attr-close")
    assert page.locator("#attr-sheet").is_hidden()
    watched.check_clean()


def test_print_stylesheet_and_offline_basemap(watched, server):
    page = _open(watched, server)
    assert page.is_checked("input[name='basemap'][value='offline']")        # no XYZ configured here
    page.wait_for_selector(".rm-place-label")                               # county names as labels
    page.wait_for_selector("path.rm-mask")                                  # outside-province mask
    page.evaluate("viewer.nearestRescue(43.85, 126.55)")
    page.wait_for_selector("#result [data-kind='rescue'] table tr td")
    page.emulate_media(media="print")
    assert not page.is_visible("#panel-layers") and not page.is_visible(".leaflet-control-zoom")
    assert page.is_visible("#result [data-kind='rescue'] table")
    watched.shot("viewer_print")
    page.emulate_media(media="screen")
    watched.check_clean()


def test_html_map_result_panel_collapses_and_leaves_the_answer_clear(watched, server):
    page = watched.page
    page.goto(f"{server.url}/maps/exposure/hazard_sources/1?wind_dir_deg=270", wait_until="networkidle")
    page.wait_for_selector(".rm-panel .rm-panel-toggle")
    panel = page.locator(".rm-panel").first
    # the zones are fitted into the part of the map the open panel does not cover
    geo = page.evaluate("""() => {
      const p = document.querySelector('.rm-panel').getBoundingClientRect();
      const zone = ['#d7191c', '#fd8d3c', '#fecc5c'];
      const paths = Array.from(document.querySelectorAll('.leaflet-overlay-pane path'))
        .filter(e => zone.includes(e.getAttribute('stroke'))).map(e => e.getBoundingClientRect());
      return { panelLeft: p.left, right: Math.max(...paths.map(r => r.right)), collapsed: document.querySelector('.rm-panel').classList.contains('rm-collapsed') };
    }""")
    if not geo["collapsed"]:
        assert geo["right"] <= geo["panelLeft"] + 2
    assert "mi" not in page.inner_text(".leaflet-control-scale")                 # metric-only scale
    before = panel.bounding_box()["height"]
    page.click(".rm-panel .rm-panel-title")
    after = panel.bounding_box()["height"]
    assert (after < before) != geo["collapsed"] or after != before
    watched.shot("exposure_map_panel")
    watched.check_clean()


def test_tailings_popup_offers_exposure_and_rescue_and_opacity_applies(watched, server):
    page = _open(watched, server)
    dam = _api(server, "/collections/tailings_dams/items?limit=1")["features"][0]
    lon, lat = dam["geometry"]["coordinates"] if dam["geometry"]["type"] == "Point" else (None, None)
    if lon is None:
        from shapely.geometry import shape

        c = shape(dam["geometry"]).representative_point()
        lon, lat = c.x, c.y
    for name in ("receptors", "hazard_sources", "rescue_teams", "goaf_areas", "chemical_parks"):
        page.uncheck(f"input[data-layer='{name}']")
    page.evaluate(f"void viewer.map.setView([{lat}, {lon}], 17)")
    wait_js(page, "() => viewer.state.layers.tailings_dams.state === 'features'")
    page.wait_for_timeout(400)
    _click_latlng(page, lat, lon)
    popup = page.locator(".leaflet-popup")
    popup.locator(".btn-exposure").wait_for()
    assert popup.locator(".btn-rescue").count() == 1 and dam["properties"]["name"] in popup.inner_text()
    popup.locator(".btn-rescue").click()                          # incident type implied by the layer
    page.wait_for_selector("#result [data-kind='rescue'] table tr td")
    meta = page.evaluate("viewer.state.result.metadata")
    assert meta["incident"] == "tailings_dam" and meta["by"] == "time"
    assert meta["incident_feature"]["id"] == dam["id"]
    # layer opacity: the slider scales the layer's drawing
    page.fill("input[data-opacity='tailings_dams']", "0.3")
    page.locator("input[data-opacity='tailings_dams']").dispatch_event("input")
    op = page.evaluate("""() => { let v = null; viewer.state.layers.tailings_dams.eachLayer(function f(l) {
        if (l.eachLayer) { l.eachLayer(f); } else if (v === null) { v = l.options.opacity !== undefined && l.setStyle ? l.options.opacity
          : (l.options.opacity !== undefined ? l.options.opacity : null); } }); return v; }""")
    assert op is not None and op <= 0.31
    watched.check_clean()
