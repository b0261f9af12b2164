# ruff: noqa: F811 - the shared browser fixtures are imported from test_browser_maps and used as arguments
"""Issue 18's journeys in Debian's Chromium at 1600×1000, 768×1024 and 390×844 (touch on the two small ones):

* commander: D°M′S″ → the hazard there → exposure with the wind → rescue from the same source's popup, both
  results on the map together (results as layers: toggled, listed) → the one-page brief PDF.

Clicks go through the page as a person's would (mouse on the desktop, taps on touch screens); screenshots in
artifacts/screenshots/journey18_*.png.
"""

from __future__ import annotations

import io
import json
import urllib.request

import pytest
from test_browser_maps import Watched, browser, server, wait_js  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.browser

SIZES = {
    "desktop": {"viewport": {"width": 1600, "height": 1000}},
    "tablet": {"viewport": {"width": 768, "height": 1024}, "has_touch": True, "is_mobile": True},
    "phone": {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True},
}


def _api(server, path):
    return json.loads(urllib.request.urlopen(f"{server.url}{path}").read())


@pytest.fixture(params=list(SIZES))
def person(request, browser, server):
    w = Watched(browser, (server.url,), **SIZES[request.param])
    w.name = request.param
    w.touch = request.param != "desktop"
    w.page.goto(f"{server.url}/viewer")
    w.page.wait_for_selector("body[data-ready='1']")
    yield w
    w.context.close()


def _press(person, selector):
    """Tap (touch screens) or click (desktop) the first visible element of ``selector``."""
    page = person.page
    loc = page.locator(selector).first
    loc.scroll_into_view_if_needed()
    page.wait_for_timeout(150)
    if person.touch:
        # in the bottom sheet the sticky handle may sit over an element scrolled to the top: scroll it clear
        covered = loc.evaluate("""el => { const r = el.getBoundingClientRect();
            const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2); return !(hit && el.contains(hit)); }""")
        if covered:
            page.evaluate("document.getElementById('side').scrollTop -= 70")
            page.wait_for_timeout(100)
        box = loc.bounding_box()
        page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    else:
        loc.click()


def _press_at(person, x, y):
    if person.touch:
        person.page.touchscreen.tap(x, y)
    else:
        person.page.mouse.click(x, y)


def _xy(page, lat, lon):
    return page.evaluate("([lat, lon]) => { const p = viewer.map.latLngToContainerPoint([lat, lon]);"
                         " const r = viewer.map.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }",
                         [lat, lon])


def _open_panel(person):
    if person.touch and person.page.evaluate("document.body.dataset.sheet") == "peek":
        _press(person, "#sheet-toggle")
        person.page.wait_for_timeout(400)


def _dms(v, pos):
    d = int(v)
    m = int((v - d) * 60)
    s = ((v - d) * 60 - m) * 60
    return f"{d}°{m:02d}′{s:04.1f}″{pos}"


def _sheet_top(page):
    return page.evaluate("document.body.classList.contains('compact') ? document.getElementById('side')"
                         ".getBoundingClientRect().top : window.innerHeight")


def test_commander_dms_exposure_with_wind_rescue_both_on_the_map_then_brief(person, server, tmp_path):
    import pypdf

    page = person.page
    hz = _api(server, "/collections/hazard_sources/items/1")
    lon, lat = hz["geometry"]["coordinates"]
    # the wind, in the scenario panel
    _open_panel(person)
    _press(person, "#panel-scenario summary")
    page.select_option("#sc-weather", "custom")
    page.fill("#sc-wind-from", "W")
    page.fill("#sc-wind-speed", "3")
    page.select_option("#sc-stability", "D")
    # D°M′S″ in the go-to box
    page.fill("#goto-text", f"{_dms(lat, 'N')} {_dms(lon, 'E')}")
    _press(person, "#goto-form button")
    page.wait_for_selector(".leaflet-popup .btn-incident")
    assert page.evaluate("([lat, lon]) => viewer.map.getCenter().distanceTo([lat, lon])", [lat, lon]) < 5
    # zoom in on the place (as a person would) and press the hazard marker
    if person.touch:
        page.evaluate("viewer.setSheet('peek')")
    page.evaluate(f"void viewer.map.setView([{lat}, {lon}], 17, {{ animate: false }})")
    wait_js(page, "(() => { const l = viewer.state.layers.hazard_sources; return l && l.state === 'features'; })()")
    page.wait_for_timeout(500)
    _press_at(person, *_xy(page, lat, lon))
    page.locator(".leaflet-popup .btn-exposure").wait_for()
    page.wait_for_timeout(500)
    _press(person, ".leaflet-popup .btn-exposure")
    page.wait_for_selector("#result [data-kind='exposure'] table tr td")
    sent = [u for u in person.requests if "/analysis/exposure/hazard_sources/1?" in u][-1]
    assert "wind_dir_deg=270" in sent and "stability=D" in sent
    page.wait_for_timeout(600)
    # the source on the result layer keeps its action buttons: rescue from there
    if person.touch:
        page.evaluate("viewer.setSheet('peek')")
        page.wait_for_timeout(400)
    _press_at(person, *_xy(page, lat, lon))
    page.locator(".leaflet-popup .btn-rescue").wait_for()
    page.wait_for_timeout(500)
    _press(person, ".leaflet-popup .btn-rescue")
    page.wait_for_selector("#result [data-kind='rescue'] table tr td")
    page.wait_for_timeout(800)
    # both results listed and both on the map
    results = page.evaluate("viewer.resultsList()")
    assert [r["kind"] for r in results] == ["exposure", "rescue"] and all(r["visible"] for r in results)
    assert page.locator("#results-list li").count() == 2
    n_zones = page.evaluate("document.querySelectorAll('.leaflet-overlay-pane path').length")
    assert n_zones > 0 and page.locator(".leaflet-marker-pane .rm-role-team").count() > 0
    person.shot(f"journey18_commander_{person.name}_both")
    # hide the exposure: its zones leave the map, the teams stay; show it again
    _open_panel(person)
    box = page.locator("#results-list li[data-kind='exposure'] input[type=checkbox]")
    _press(person, "#results-list li[data-kind='exposure'] input[type=checkbox]")
    assert not box.is_checked()
    assert page.locator(".leaflet-marker-pane .rm-role-team").count() > 0
    _press(person, "#results-list li[data-kind='exposure'] input[type=checkbox]")
    assert box.is_checked()
    # back to the exposure's panel, then its one-page brief
    _press(person, "#results-list li[data-kind='exposure'] .result-title")
    page.wait_for_selector("#result [data-kind='exposure']")
    assert page.locator("#result [data-kind='rescue']").count() == 0       # one panel at a time, never stale
    with page.expect_download() as dl:
        _press(person, "#export-brief")
    path = tmp_path / "brief.pdf"
    dl.value.save_as(path)
    reader = pypdf.PdfReader(io.BytesIO(path.read_bytes()))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text().replace(" ", "").replace("\n", "")
    assert "北京时间" in text and "风从windfrom270°" in text
    rescue = page.evaluate("viewer.resultsList().length")
    assert rescue == 2
    teams = _api(server, "/analysis/rescue/nearest/hazard_sources/1?by=time&k=5")
    for t in [f["properties"] for f in teams["features"] if f["properties"]["kind"] == "team"]:
        assert t["name"].replace(" ", "") in text
    page.wait_for_timeout(300)
    person.shot(f"journey18_commander_{person.name}_brief")
    person.check_clean()


# -- control room: toast → decision package → acknowledge → brief ------------------------------------

SENSOR_KEY, EDITOR_KEY = "j-sens0r", "j-ed1tor"


@pytest.fixture(scope="module")
def alarm_server(browser, sample_gpkg, tmp_path_factory):  # noqa: F811
    import shutil

    from conftest import ServerProcess

    path = tmp_path_factory.mktemp("journey_alarm") / "sample.gpkg"
    shutil.copyfile(sample_gpkg, path)
    with ServerProcess({"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(path), "GIS_BASEMAP_URL": "",
                        "GIS_API_KEYS": f"{SENSOR_KEY}:sensor,{EDITOR_KEY}:editor",
                        "GIS_READ_REQUIRES_KEY": "false"}) as srv:
        yield srv


@pytest.mark.parametrize("size", list(SIZES))
def test_alarm_toast_package_acknowledge_brief(browser, alarm_server, size, tmp_path):
    import time

    import pypdf

    w = Watched(browser, (alarm_server.url,), **SIZES[size])
    w.name, w.touch = size, size != "desktop"
    try:
        page = w.page
        page.goto(f"{alarm_server.url}/viewer")
        page.wait_for_selector("body[data-ready='1']")
        page.wait_for_selector("body[data-monitoring='1']")
        wait_js(page, "window.monitoring.state.connected === true")
        sensors = _api(alarm_server, "/collections/sensors/items?kind=toxic_gas&limit=3")["features"]
        sensor = sensors[list(SIZES).index(size)]                  # a sensor of its own per screen size
        now = time.time()
        rows = [{"sensor_id": sensor["id"], "time": now - 60 + 10 * i, "value": v}
                for i, v in enumerate([20.0, 40.0, 70.0, 90.0, 130.0, 240.0])]
        req = urllib.request.Request(f"{alarm_server.url}/monitoring/readings", data=json.dumps({"readings": rows}).encode(),
                                     headers={"Content-Type": "application/json", "X-API-Key": SENSOR_KEY}, method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            assert json.loads(r.read())["alarm_changes"][0]["kind"] == "open"
        toast = page.wait_for_selector(".mon-toast[data-alarm]")
        aid = int(toast.get_attribute("data-alarm"))
        w.shot(f"journey18_alarm_{size}_toast")
        _press(w, f".mon-toast[data-alarm='{aid}'] button.mon-open-package")
        page.wait_for_selector("#mon-package .mon-teams tr:nth-child(2)")
        # no stale result in the side panel
        assert page.inner_text("#result").strip() == "" and "决策包" in page.inner_text("#status")
        # acknowledge without a key: told what to do; with the editor key: acknowledged
        _press(w, "#mon-package .mon-ack")
        page.wait_for_selector("#mon-package .mon-msg.mon-bad")
        assert "API key" in page.inner_text("#mon-package .mon-msg")
        _open_panel(w)
        _press(w, "#panel-key summary")
        page.fill("#api-key", EDITOR_KEY)
        _press(w, "#mon-package .mon-ack")
        page.wait_for_selector("#mon-package .mon-msg:not(.mon-bad)")
        assert _api(alarm_server, f"/monitoring/alarms/{aid}?package=false")["alarm"]["status"] == "acknowledged"
        assert page.locator("#mon-package .mon-ack").is_disabled()
        w.shot(f"journey18_alarm_{size}_acknowledged")
        with page.expect_download() as dl:
            _press(w, "#mon-package .mon-brief")
        path = tmp_path / "alarm.pdf"
        dl.value.save_as(path)
        reader = pypdf.PdfReader(io.BytesIO(path.read_bytes()))
        assert len(reader.pages) == 1
        text = reader.pages[0].extract_text().replace(" ", "").replace("\n", "")
        assert f"报警alarm#{aid}" in text and "北京时间" in text and "acknowledged" in text
        w.check_clean()
    finally:
        w.context.close()


# -- planner: upload with inventory → siting with QRA → PDF ------------------------------------------

def _proposal_file(server, path):
    """A footprint 1 km east of hazard source 1 (residents within the QRA's reach): one feature with an inventory
    list, one with the flat columns substance / quantity_t — the two ways a file carries an inventory."""
    lon, lat = _api(server, "/collections/hazard_sources/items/1")["geometry"]["coordinates"]
    lon += 0.01

    def sq(x, y, d=0.001):
        return {"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]}

    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": sq(lon, lat),
         "properties": {"name": "液氯罐区 chlorine tank farm", "unit_type": "storage",
                        "inventory": [{"substance": "chlorine", "quantity_t": 20}]}},
        {"type": "Feature", "geometry": sq(lon + 0.0005, lat), "properties": {"substance": "氨", "quantity_t": 50}}]},
        ensure_ascii=False))
    return lon, lat


def test_planner_upload_with_inventory_siting_with_qra_then_pdf(person, server, tmp_path):
    import pypdf

    page = person.page
    src = tmp_path / "proposal.geojson"
    _proposal_file(server, src)
    _open_panel(person)
    _press(person, "#panel-siting summary")
    page.set_input_files("#proposal-file", str(src))          # the planner picks the file
    page.wait_for_selector("#result [data-kind='siting'] .rm-verdict")
    # the file's inventory is in the form, and the check ran the QRA with it
    rows = page.evaluate("""Array.from(document.querySelectorAll('#inv-rows .inv-row')).map(tr =>
        [tr.querySelector('.inv-substance').value, tr.querySelector('.inv-q').value, tr.querySelector('.inv-cond').textContent])""")
    assert [r[:2] for r in rows] == [["chlorine", "20"], ["氨", "50"]], rows
    assert "加压液化" in rows[0][2] and "bar" in rows[0][2]           # the QRA's storage condition shown
    assert page.input_value("#siting-kind") == "installation"
    meta = page.evaluate("viewer.state.result.metadata")
    rule = next(r for r in meta["rules"] if r["id"] == "external_safety_distance")
    assert rule["measured"]["unit"] == "ratio" and rule["societal"]
    assert page.locator("#result [data-kind='siting'] .risk-fn-chart svg").count() == 1
    assert "氯 Chlorine 20 t" in page.inner_text("#result .siting-inventory")
    assert page.evaluate("viewer.state.result.features.filter(f => f.properties.kind === 'risk').length") >= 1
    # the legend explains the QRA contours drawn for the siting check
    assert page.locator("#viewer-legend .rm-legend-row[data-result='siting_ir']").count() == 3
    assert "IR ≥ 1×10⁻⁵" in page.evaluate("document.getElementById('viewer-legend').textContent")
    page.wait_for_timeout(600)
    person.shot(f"journey18_planner_{person.name}_qra")
    # the planner adds propane in the form and checks again
    _press(person, "#inv-add")
    last = page.locator("#inv-rows .inv-row").last
    last.locator(".inv-substance").fill("propane")
    last.locator(".inv-q").fill("30")
    n_before = len(person.requests)
    _press(person, "#siting-run")
    wait_js(page, "(() => { const el = document.querySelector('#result .siting-inventory');"
                  " return !!el && el.textContent.includes('丙烷'); })()")
    assert len(page.evaluate("viewer.state.analysis.feature.properties.inventory")) == 3
    assert any("/analysis/siting" in u for u in person.requests[n_before:])
    assert page.locator("#results-list li[data-kind='siting']").count() == 1      # the re-check replaced it
    # the PDF report with the inventory and the QRA's F-N curve
    with page.expect_download() as dl:
        _press(person, "#export-pdf")
    path = tmp_path / "siting.pdf"
    dl.value.save_as(path)
    text = " ".join("".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(path.read_bytes())).pages).split())
    assert "定量风险评价输入 QRA input" in text and "氯 Chlorine" in text and "丙烷" in text
    assert "社会风险 Societal risk (F-N)" in text and "GB 36894" in text
    page.wait_for_timeout(300)
    person.shot(f"journey18_planner_{person.name}_pdf")
    person.check_clean()


def test_planner_file_without_inventory_is_told_what_to_do(browser, server, tmp_path):
    w = Watched(browser, (server.url,), **SIZES["phone"])
    w.name, w.touch = "phone", True
    try:
        page = w.page
        page.goto(f"{server.url}/viewer")
        page.wait_for_selector("body[data-ready='1']")
        lon, lat = _api(server, "/collections/hazard_sources/items/1")["geometry"]["coordinates"]
        src = tmp_path / "bare.geojson"
        src.write_text(json.dumps({"type": "Feature", "properties": {"name": "只有边界", "kind": "installation"},
                                   "geometry": {"type": "Polygon", "coordinates": [[[lon + 0.01, lat], [lon + 0.011, lat],
                                                [lon + 0.011, lat + 0.001], [lon + 0.01, lat]]]}}))
        _open_panel(w)
        _press(w, "#panel-siting summary")
        page.set_input_files("#proposal-file", str(src))
        page.wait_for_selector("#result [data-kind='siting'] .rm-verdict")
        note = page.inner_text("#inv-note")
        assert "没有存量" in note and "screening distance" in note and "Check proposal" in note
        rule = next(r for r in page.evaluate("viewer.state.result.metadata.rules") if r["id"] == "external_safety_distance")
        assert rule["measured"]["unit"] == "m"
        page.locator("#inv-note").scroll_into_view_if_needed()
        w.shot("journey18_planner_phone_no_inventory")
        w.check_clean()
    finally:
        w.context.close()


# -- viewer: search a city → legend → filtered attribute table → export ------------------------------

def test_viewer_search_city_legend_filtered_table_export(person, server, tmp_path):
    import csv
    import urllib.parse

    page = person.page
    # search "长春": the city (an admin area, prefecture level) comes first, before schools and stores named after it
    _open_panel(person)
    page.fill("#search-text", "长春")
    _press(person, "#search-form button")
    page.wait_for_selector("#search-results li")
    items = page.locator("#search-results li").all_inner_texts()
    assert items[0].startswith("长春市 — 行政区划") and "地级" in items[0], items[:3]
    assert len(items) > 5                                    # and the other features follow
    _press(person, "#search-results li")
    page.wait_for_selector(".leaflet-popup .rm-popup-title")
    assert page.inner_text(".leaflet-popup .rm-popup-title") == "长春市"
    city = _api(server, "/collections/admin_areas/items?limit=1&q=" + urllib.parse.quote("长春市"))["features"][0]
    from shapely.geometry import shape
    c = shape(city["geometry"]).centroid
    wait_js(page, f"viewer.map.getBounds().contains([{c.y}, {c.x}])")
    page.wait_for_timeout(500)
    person.shot(f"journey18_viewer_{person.name}_search")
    # the legend: folded on touch screens, opened with a tap; a row per layer on the map
    legend = page.locator("#viewer-legend")
    if "rm-folded" in (legend.get_attribute("class") or ""):
        if person.touch:
            page.evaluate("viewer.setSheet('peek')")
            page.wait_for_timeout(300)
        _press(person, "#viewer-legend .rm-legend-title")
    rows = page.locator("#viewer-legend .rm-legend-row[data-layer]").all_inner_texts()
    assert "重大危险源 Major hazard sources" in rows and "救援队伍 Rescue teams" in rows, rows
    assert legend.is_visible()
    person.shot(f"journey18_viewer_{person.name}_legend")
    # the attribute table: full width, every row by server paging, filtered on the queryables
    _open_panel(person)
    _press(person, "#panel-layers summary") if not page.locator("button[data-table='hazard_sources']").is_visible() else None
    _press(person, "button[data-table='hazard_sources']")
    sheet = page.locator("#attr-sheet")
    page.wait_for_selector("#attr-sheet .attr-table tr[data-id]")
    total = _api(server, "/collections/hazard_sources/items?limit=1")["numberMatched"]
    assert f"共 {total} 条" in page.inner_text("#attr-sheet .attr-count")
    box = sheet.bounding_box()
    assert box["x"] == 0 and abs(box["width"] - page.viewport_size["width"]) < 2      # full width
    assert page.locator("#attr-sheet .attr-table tr[data-id]").count() == 50
    _press(person, "#attr-sheet .attr-next")
    wait_js(page, "document.querySelector('#attr-sheet .attr-range').textContent.startsWith('第 51–100')")
    ids_page2 = page.evaluate("Array.from(document.querySelectorAll('#attr-sheet tr[data-id]')).map(r => +r.dataset.id)")
    api_page2 = [f["id"] for f in _api(server, "/collections/hazard_sources/items?limit=50&offset=50&properties=name")["features"]]
    assert ids_page2 == api_page2
    # filter: county = 龙潭区 and unit type = storage (the queryables' enum as a select)
    _press(person, "#attr-sheet .attr-add")
    cond = page.locator("#attr-sheet .attr-cond").nth(0)
    cond.locator(".attr-prop").select_option("county")
    cond.locator(".attr-value").fill("龙潭区")
    _press(person, "#attr-sheet .attr-add")
    cond2 = page.locator("#attr-sheet .attr-cond").nth(1)
    cond2.locator(".attr-prop").select_option("unit_type")
    cond2.locator(".attr-value").select_option("storage")
    _press(person, "#attr-sheet .attr-apply")
    cql = "county = '龙潭区' AND unit_type = 'storage'"
    want = _api(server, "/collections/hazard_sources/items?limit=1000&filter=" + urllib.parse.quote(cql))
    n = want["numberMatched"]
    assert 0 < n < total
    wait_js(page, f"document.querySelector('#attr-sheet .attr-count').textContent.includes('共 {n} 条')")
    cells = page.locator("#attr-sheet .attr-table tr[data-id]")
    assert cells.count() == min(n, 50)
    assert all("龙潭区" in cells.nth(i).inner_text() for i in range(cells.count()))
    assert any("filter=" in u and "cql2-text" in u for u in person.requests)
    page.wait_for_timeout(300)
    person.shot(f"journey18_viewer_{person.name}_table")
    # export the filtered rows: CSV (the service's f=csv of the selection) and GeoJSON
    with page.expect_download() as dl:
        _press(person, "#attr-sheet .attr-export-csv")
    path = tmp_path / "rows.csv"
    dl.value.save_as(path)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == n and {r["county"] for r in table} == {"龙潭区"} and {r["unit_type"] for r in table} == {"storage"}
    with page.expect_download() as dl:
        _press(person, "#attr-sheet .attr-export-geojson")
    gj = tmp_path / "rows.geojson"
    dl.value.save_as(gj)
    doc = json.loads(gj.read_text())
    assert doc["type"] == "FeatureCollection" and sorted(f["id"] for f in doc["features"]) == sorted(f["id"] for f in want["features"])
    # a row zooms to its feature, clear of the table
    _press(person, "#attr-sheet .attr-table tr[data-id]")
    fid = int(page.locator("#attr-sheet .attr-table tr[data-id]").first.get_attribute("data-id"))
    lon, lat = _api(server, f"/collections/hazard_sources/items/{fid}")["geometry"]["coordinates"]
    page.wait_for_timeout(900)
    x, y = _xy(page, lat, lon)
    assert 0 <= x <= page.viewport_size["width"] and 0 <= y < sheet.bounding_box()["y"], (x, y)
    person.shot(f"journey18_viewer_{person.name}_zoomed")
    person.check_clean()


# -- what-if at any point: a tanker on a road → substance, quantity, storage → exposure + rescue → brief --------

def test_whatif_tanker_on_a_road_exposure_and_rescue_then_brief(person, server, tmp_path):
    import pypdf

    page = person.page
    road = _api(server, "/collections/roads/items?limit=1&offset=40")["features"][0]
    coords = road["geometry"]["coordinates"]
    line = coords[0] if road["geometry"]["type"] == "MultiLineString" else coords
    lon, lat = line[len(line) // 2]
    _open_panel(person)
    page.fill("#goto-text", f"{lat:.6f}, {lon:.6f}")
    _press(person, "#goto-form button")
    page.locator(".leaflet-popup .btn-whatif").wait_for()
    if person.touch:                               # the sheet down, as the commander pulls it to see the map
        page.evaluate("viewer.setSheet('peek')")
    page.wait_for_timeout(500)
    _press(person, ".leaflet-popup .btn-whatif")
    wait_js(page, "document.getElementById('panel-whatif').open")
    assert page.inner_text("#wi-point").startswith(f"{abs(lat):.4f}"[:5]) or "N" in page.inner_text("#wi-point")
    page.fill("#wi-substance", "chlorine")
    page.fill("#wi-quantity", "20")
    page.select_option("#wi-storage", "pressurised")
    # what was typed stays where it was typed (the form's delayed first-field focus once stole the quantity's keys)
    assert page.input_value("#wi-substance") == "chlorine" and page.input_value("#wi-quantity") == "20"
    wait_js(page, "document.getElementById('wi-cond').innerText.includes('氯')")  # filled after the substance lookup
    _press(person, "#wi-run")
    page.wait_for_selector("#result [data-kind='rescue'] table tr td")
    results = page.evaluate("viewer.resultsList()")
    assert [r["kind"] for r in results] == ["exposure", "rescue"] and all(r["visible"] for r in results)
    assert any(u.endswith("/analysis/exposure") for u in person.requests)
    sent = [u for u in person.requests if "/analysis/rescue/nearest?" in u][-1]
    assert f"lon={lon:.6f}" in sent and "incident=chemical" in sent
    n_zones = page.evaluate("document.querySelectorAll('.leaflet-overlay-pane path').length")
    assert n_zones > 0 and page.locator(".leaflet-marker-pane .rm-role-team").count() > 0
    page.wait_for_timeout(600)
    person.shot(f"journey18_whatif_{person.name}_both")
    # the what-if's panel, then its one-page brief (zones of chlorine at this point, the teams, Beijing time)
    _open_panel(person)
    _press(person, "#results-list li[data-kind='exposure'] .result-title")
    page.wait_for_selector("#result [data-kind='exposure']")
    assert "假设泄漏 What-if — 氯" in page.inner_text("#result [data-kind='exposure'] .rm-panel-title")
    assert "假设泄漏 What-if — 氯 Chlorine 20 t" in page.inner_text("#results-list li[data-kind='exposure']")
    zones = page.evaluate("viewer.state.result.features.filter(f => f.properties.feature_type === 'zone').length")
    assert zones > 0
    with page.expect_download() as dl:
        _press(person, "#export-brief")
    path = tmp_path / "brief.pdf"
    dl.value.save_as(path)
    reader = pypdf.PdfReader(io.BytesIO(path.read_bytes()))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text().replace(" ", "").replace("\n", "")
    assert "北京时间" in text and "chlorine20t" in text
    teams = _api(server, f"/analysis/rescue/nearest?lon={lon:.6f}&lat={lat:.6f}&incident=chemical&by=time&k=5")
    for t in [f["properties"] for f in teams["features"] if f["properties"]["kind"] == "team"][:3]:
        assert t["name"].replace(" ", "") in text
    person.shot(f"journey18_whatif_{person.name}_brief")
    person.check_clean()


# -- readable inventories in popups ---------------------------------------------------------------------------

def test_hazard_popup_shows_its_inventory_as_a_table(person, server):
    page = person.page
    hz = _api(server, "/collections/hazard_sources/items/1")
    lon, lat = hz["geometry"]["coordinates"]
    inventory = hz["properties"]["inventory"]
    if person.touch:
        page.evaluate("viewer.setSheet('peek')")
    page.evaluate(f"void viewer.map.setView([{lat}, {lon}], 17, {{ animate: false }})")
    wait_js(page, "(() => { const l = viewer.state.layers.hazard_sources; return l && l.state === 'features'; })()")
    page.wait_for_timeout(500)
    _press_at(person, *_xy(page, lat, lon))
    page.wait_for_selector(".leaflet-popup .rm-inventory")
    rows = page.locator(".leaflet-popup .rm-inventory tr").all_inner_texts()
    assert len(rows) == len(inventory) + 1 and rows[0].split()[0] == "物质"
    names = _api(server, "/viewer/config.json")["substances"]
    zh = {s["key"]: s["zh"] for s in names}
    for item, row in zip(inventory, rows[1:], strict=True):
        assert zh[item["substance"]] in row and f"{item['quantity_t']:g}" in row
        assert "quantity_t" not in row and "substance:" not in row
    if any("pipe_length_m" in i for i in inventory):
        assert "管长 pipe length" in page.inner_text(".leaflet-popup .rm-inventory")
    box = page.locator(".leaflet-popup .rm-inventory").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]
    person.shot(f"journey18_popup_inventory_{person.name}")
    person.check_clean()


def test_whatif_form_keeps_keys_typed_at_once(browser, server):
    """A person who taps the quantity field the moment the what-if form opens types into it: the form's delayed
    first-field focus must not pull the keys into the substance field (it did, and failed the journey under load)."""
    w = Watched(browser, (server.url,), **SIZES["desktop"])
    page = w.page
    page.goto(f"{server.url}/viewer")
    page.wait_for_selector("body[data-ready='1']")
    page.fill("#goto-text", "43.900000, 125.300000")
    page.click("#goto-form button")
    page.locator(".leaflet-popup .btn-whatif").click()
    page.focus("#wi-quantity")
    page.wait_for_timeout(150)                     # past the form's 50 ms focus timer
    page.keyboard.insert_text("20")
    assert (page.input_value("#wi-substance"), page.input_value("#wi-quantity")) == ("", "20")
    w.check_clean()
    w.context.close()
