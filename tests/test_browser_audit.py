"""A county editor in the viewer (issue 20, item 6), in Debian's Chromium, on a desktop, a phone (390×844, touch)
and a tablet (768×1024, touch): type the county's key → the jurisdiction badge names the county → open a hazard
source of the county → edit its name → its history shows the edit → restore the version before it → the map
shows the restored name; open a rescue team of another county (shared: readable) → edit is greyed with a
Chinese reason; rescue from the county's hazard source → the panel's 跨辖区 note and a neighbour team's popup
line; no hazard source of another county is drawn. Screenshots: artifacts/screenshots/audit_*.png."""

from __future__ import annotations

import json
import shutil
import urllib.request

import pytest
from conftest import ServerProcess
from test_browser_maps import Watched, browser, wait_js  # noqa: F401 - the browser fixture

pytestmark = pytest.mark.browser
COUNTY = "220203"                    # 龙潭区 (吉林市) in the sample: most of its hazard sources
KEY = "b-c0unty-edit"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 820}},
    "phone": {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True},
    "tablet": {"viewport": {"width": 768, "height": 1024}, "has_touch": True},
}


@pytest.fixture(scope="module")
def audit_server(browser, sample_gpkg, tmp_path_factory):  # noqa: F811
    path = tmp_path_factory.mktemp("browser_audit") / "sample.gpkg"
    shutil.copyfile(sample_gpkg, path)
    with ServerProcess({"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(path), "GIS_BASEMAP_URL": "",
                        "GIS_API_KEYS": f"{KEY}:editor:{COUNTY}", "GIS_READ_REQUIRES_KEY": "false"}) as srv:
        yield srv


def _api(server, path):
    req = urllib.request.Request(f"{server.url}{path}", headers={"X-API-Key": KEY})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def _press(w, name, selector):
    loc = w.page.locator(selector).first
    loc.scroll_into_view_if_needed()
    if VIEWPORTS[name].get("has_touch"):
        loc.tap()
    else:
        loc.click()


def _open_feature(w, name, layer, fid, lat, lon):
    """Zoom to the feature, wait for the layer's features and click (tap) the feature itself."""
    page = w.page
    page.evaluate("() => { if (viewer.setSheet && viewer.isCompact()) viewer.setSheet('peek'); viewer.map.closePopup(); }")
    page.evaluate(f"void viewer.map.setView([{lat}, {lon}], 17, {{ animate: false }})")
    wait_js(page, f"(() => {{ const l = viewer.state.layers.{layer}; return l && l.state === 'features'; }})()")
    page.wait_for_timeout(450)
    x, y = page.evaluate("([a, b]) => { const p = viewer.map.latLngToContainerPoint([a, b]);"
                         " const r = viewer.map.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }",
                         [lat, lon])
    if VIEWPORTS[name].get("has_touch"):
        page.touchscreen.tap(x, y)
    else:
        page.mouse.click(x, y)
    page.wait_for_selector(f".leaflet-popup .rm-popup-layer:has-text('id {fid}')")
    page.wait_for_timeout(400)       # the popup's auto-pan


@pytest.mark.parametrize("name", list(VIEWPORTS))
def test_county_editor_sees_badge_edits_restores_and_is_greyed_outside(browser, audit_server, name):  # noqa: F811
    srv = audit_server
    mine = _api(srv, f"/collections/hazard_sources/items?limit=1&admin_code={COUNTY}")["features"][0]
    hid = mine["id"]
    original = _api(srv, f"/collections/hazard_sources/items/{hid}")["properties"]["name"]
    teams = _api(srv, "/collections/rescue_teams/items?limit=500")["features"]
    other = next(t for t in teams if not str(t["properties"]["admin_code"]).startswith(COUNTY))
    w = Watched(browser, (srv.url,), **VIEWPORTS[name])
    try:
        page = w.page
        page.goto(f"{srv.url}/viewer")
        page.wait_for_selector("body[data-ready='1']")
        badge = page.locator("#jurisdiction-badge")
        assert "匿名" in badge.inner_text()                       # no key yet: anonymous, read only
        page.evaluate("() => { document.querySelector('#api-key').closest('details').open = true; }")
        page.locator("#api-key").scroll_into_view_if_needed()
        page.fill("#api-key", KEY)
        page.locator("#api-key").press("Tab")                      # the key box's change → GET /identity
        page.wait_for_selector(f"#jurisdiction-badge[data-jurisdiction='{COUNTY}']")
        text = badge.inner_text()
        assert "龙潭区" in text and COUNTY in text and "编辑" in text
        w.shot(f"audit_badge_{name}")

        # a hazard source of the county: editable; rename it in the popup's form
        lon, lat = mine["geometry"]["coordinates"]
        _open_feature(w, name, "hazard_sources", hid, lat, lon)
        assert page.locator(".leaflet-popup .audit-box").get_attribute("data-editable") == "1"
        assert page.locator(".leaflet-popup .btn-edit").is_enabled()
        _press(w, name, ".leaflet-popup .btn-edit")
        renamed = f"演练改名 {name}"
        page.fill(".leaflet-popup .audit-edit input[name='name']", renamed)
        w.shot(f"audit_edit_{name}")
        _press(w, name, ".leaflet-popup .btn-save")
        wait_js(page, "document.getElementById('status').textContent.indexOf('已保存') >= 0")
        assert _api(srv, f"/collections/hazard_sources/items/{hid}")["properties"]["name"] == renamed

        # its history: the edit (current) with before → after, and a restorable earlier version
        _open_feature(w, name, "hazard_sources", hid, lat, lon)
        assert renamed in page.inner_text(".leaflet-popup .rm-popup-title")     # the map shows the edit
        _press(w, name, ".leaflet-popup .btn-history")
        page.wait_for_selector(".leaflet-popup .audit-history li")
        first = page.locator(".leaflet-popup .audit-history li").first
        assert "修改" in first.inner_text() and renamed in first.inner_text() and "当前版本" in first.inner_text()
        assert page.locator(".leaflet-popup .audit-history li").nth(1).locator(".btn-restore").is_enabled()
        w.shot(f"audit_history_{name}")
        _press(w, name, ".leaflet-popup .audit-history li:nth-child(2) .btn-restore")
        wait_js(page, f"viewer.state.lastRestore && viewer.state.lastRestore.id === {hid}")
        assert _api(srv, f"/collections/hazard_sources/items/{hid}")["properties"]["name"] == original
        _open_feature(w, name, "hazard_sources", hid, lat, lon)                # the map shows the restored one
        assert original in page.inner_text(".leaflet-popup .rm-popup-title")
        w.shot(f"audit_restored_{name}")

        # a rescue team of another county: readable (shared layer) but edit greyed, with the reason in Chinese
        tlon, tlat = other["geometry"]["coordinates"]
        _open_feature(w, name, "rescue_teams", other["id"], tlat, tlon)
        assert page.locator(".leaflet-popup .audit-box").get_attribute("data-editable") == "0"
        assert page.locator(".leaflet-popup .btn-edit").is_disabled()
        why = page.inner_text(".leaflet-popup .audit-why")
        assert "不在您的辖区" in why and "龙潭区" in why and other["properties"]["admin_code"] in why
        w.shot(f"audit_greyed_{name}")

        # rescue from the county's hazard source crosses the border: the panel says so in Chinese, and the popup of
        # a neighbour's team carries its 跨辖区 line
        _open_feature(w, name, "hazard_sources", hid, lat, lon)
        _press(w, name, ".leaflet-popup .btn-rescue")
        note = page.wait_for_selector("#result .border-note")
        assert "跨辖区：事故点位于龙潭区（220203）" in note.inner_text()
        doc = page.evaluate("viewer.state.result")
        crossing = [f for f in doc["features"] if f["properties"].get("other_jurisdiction")]
        assert crossing and all(not f["properties"]["admin_code"].startswith(COUNTY) for f in crossing)
        w.shot(f"audit_border_panel_{name}")
        clon, clat = crossing[0]["geometry"]["coordinates"]
        page.evaluate("() => { if (viewer.setSheet && viewer.isCompact()) viewer.setSheet('peek'); "
                      "for (const box of document.querySelectorAll('input[data-layer]')) { if (box.checked) box.click(); } }")
        page.evaluate(f"void viewer.map.setView([{clat}, {clon}], 15, {{ animate: false }})")
        page.wait_for_timeout(450)
        x, y = page.evaluate("([a, b]) => { const p = viewer.map.latLngToContainerPoint([a, b]);"
                             " const r = viewer.map.getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }",
                             [clat, clon])
        if VIEWPORTS[name].get("has_touch"):
            page.touchscreen.tap(x, y)
        else:
            page.mouse.click(x, y)
        popup = page.wait_for_selector(".leaflet-popup:has-text('跨辖区')")
        assert "不在事故点所在辖区" in popup.inner_text()
        w.shot(f"audit_border_popup_{name}")

        # no regulated feature of another county reaches the page
        page.evaluate("() => { const b = document.querySelector('input[data-layer=hazard_sources]'); if (!b.checked) b.click(); }")
        codes = page.evaluate("""() => { const out = []; const l = viewer.state.layers.hazard_sources;
            l.eachLayer(function g(x) { if (x.feature) out.push(x.feature.properties.admin_code);
                                       else if (x.eachLayer) x.eachLayer(g); }); return out; }""")
        assert all(str(c).startswith(COUNTY) for c in codes)
        w.check_clean()
    finally:
        w.context.close()
