"""Live monitoring in the viewer, in Debian's Chromium (Playwright, no network beyond the local server):
a reading posted while the viewer is open raises an alarm that pops up (SSE), the sensor turns red, one
click opens the decision package (zones, receptors, rescue teams by road time) with the plotted series."""

from __future__ import annotations

import json
import shutil
import time
import urllib.request

import pytest
from conftest import ServerProcess
from test_browser_maps import Watched, browser, wait_js  # noqa: F401 - the browser fixture

pytestmark = pytest.mark.browser
KEY = "b-sens0r"


@pytest.fixture(scope="module")
def mon_server(browser, sample_gpkg, tmp_path_factory):  # noqa: F811
    path = tmp_path_factory.mktemp("browser_mon") / "sample.gpkg"
    shutil.copyfile(sample_gpkg, path)
    with ServerProcess({"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(path), "GIS_BASEMAP_URL": "",
                        "GIS_API_KEYS": f"{KEY}:sensor", "GIS_READ_REQUIRES_KEY": "false"}) as srv:
        yield srv


def _post(srv, rows):
    req = urllib.request.Request(f"{srv.url}/monitoring/readings", data=json.dumps({"readings": rows}).encode(),
                                 headers={"Content-Type": "application/json", "X-API-Key": KEY}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def test_new_alarm_pops_up_and_opens_its_decision_package(browser, mon_server):  # noqa: F811
    w = Watched(browser, (mon_server.url,))
    try:
        page = w.page
        page.goto(f"{mon_server.url}/viewer")
        page.wait_for_selector("body[data-ready='1']")
        page.wait_for_selector("body[data-monitoring='1']")
        wait_js(page, "window.monitoring.state.connected === true")   # polled over CDP: the CSP forbids eval
        with urllib.request.urlopen(f"{mon_server.url}/collections/sensors/items?kind=toxic_gas&limit=1") as r:
            sensor = json.loads(r.read())["features"][0]
        now = time.time()
        rows = [{"sensor_id": sensor["id"], "time": now - 60 + 10 * i, "value": v}
                for i, v in enumerate([20.0, 40.0, 70.0, 90.0, 130.0, 240.0])]
        assert _post(mon_server, rows)["alarm_changes"][0]["kind"] == "open"
        toast = page.wait_for_selector(".mon-toast[data-alarm]")
        assert "新报警" in toast.inner_text()
        page.wait_for_selector(".mon-sensor.mon-state-alarm")              # the sensor turned red
        w.shot("monitoring_alarm_popup")
        toast.query_selector("button.mon-open-package").click()              # one click
        page.wait_for_selector("#mon-package .mon-teams tr:nth-child(2)")
        page.wait_for_selector("#mon-series svg.mon-chart path")
        doc = page.evaluate("window.monitoring.state.packageDoc")
        assert doc["alarm"]["sensor_id"] == sensor["id"] and doc["alarm"]["level"] == 2
        assert doc["source"]["id"] == sensor["properties"]["source_id"]
        assert page.locator("#mon-package .mon-zones tr").count() >= 2
        series = page.evaluate("window.monitoring.state.series")
        assert [p["value"] for p in series["readings"]] == [r["value"] for r in rows]
        assert page.locator("#mon-alarms li.mon-alarm").count() >= 1
        w.shot("monitoring_decision_package")
        w.check_clean()
    finally:
        w.context.close()


def test_an_alarm_storm_turns_each_sensor_red_at_once_and_rereads_the_layer_rarely(browser, mon_server):  # noqa: F811
    """Twelve sensors alarm in one post: each turns red from its own SSE event, while the 900-sensor layer is
    re-read at most once per 2 s (it was re-read and redrawn once per event)."""
    w = Watched(browser, (mon_server.url,))
    try:
        page = w.page
        page.goto(f"{mon_server.url}/viewer")
        page.wait_for_selector("body[data-monitoring='1']")
        wait_js(page, "window.monitoring.state.connected === true")
        with urllib.request.urlopen(f"{mon_server.url}/collections/sensors/items?kind=toxic_gas&limit=14") as r:
            sensors = [f for f in json.loads(r.read())["features"]][2:]     # the first test's sensor is red already
        before = len(w.requests)
        now = time.time()
        rows = [{"sensor_id": s["id"], "time": now - 60 + 10 * i, "value": v}
                for s in sensors for i, v in enumerate([20.0, 90.0, 240.0])]
        opened = [c for c in _post(mon_server, rows)["alarm_changes"] if c["kind"] == "open"]
        assert len({c["sensor_id"] for c in opened}) == len(sensors)
        wait_js(page, f"Object.keys(window.monitoring.state.alarms).length >= {len(sensors)}")
        for s in sensors:                                  # red from the event itself
            wait_js(page, f"window.monitoring.state.sensors[{s['id']}].properties.state === 'alarm'")
        page.wait_for_timeout(2500)                         # one throttled re-read falls in this window
        reads = [u for u in w.requests[before:] if u.split("?")[0].endswith("/monitoring/sensors")]
        assert 1 <= len(reads) <= 2, reads
        assert page.locator(".mon-sensor.mon-state-alarm").count() >= len(sensors)
        w.check_clean()
    finally:
        w.context.close()
