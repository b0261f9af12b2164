"""Opt-in sound and browser notification for new alarms (issue 18, item 7), in Debian's Chromium at 1600×1000
and, with a touch screen, 768×1024 and 390×844. Off by default: an alarm raised before the operator ticks
声音/通知 makes a toast but no sound and no notification. After the tick (the notification permission is
granted in the browser context), the next alarm starts a WebAudio oscillator and constructs a Notification.
An init script wraps window.Notification and OscillatorNode.prototype.start to record the calls."""

from __future__ import annotations

import json
import shutil
import time
import urllib.request

import pytest
from conftest import ServerProcess
from test_browser_maps import Watched, browser, wait_js  # noqa: F401 - the browser fixture

pytestmark = pytest.mark.browser
KEY = "b-ring0"
SIZES = {
    "desktop": {"viewport": {"width": 1600, "height": 1000}},
    "tablet": {"viewport": {"width": 768, "height": 1024}, "has_touch": True, "is_mobile": True},
    "phone": {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2},
}
RECORD = """(() => {
  window.__notes = []; window.__osc = 0;
  const N = window.Notification;
  if (N) {
    const Rec = function (title, options) {
      window.__notes.push({ title: title, body: options && options.body, tag: options && options.tag });
      try { return new N(title, options); } catch (e) { return { close() {} }; }
    };
    Object.defineProperty(Rec, 'permission', { get: () => N.permission });
    Rec.requestPermission = function () { window.__asked = (window.__asked || 0) + 1; return N.requestPermission(); };
    window.Notification = Rec;
  }
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function () { window.__osc++; return start.apply(this, arguments); };
})();"""


@pytest.fixture(scope="module")
def ring_server(browser, sample_gpkg, tmp_path_factory):  # noqa: F811
    path = tmp_path_factory.mktemp("browser_ring") / "sample.gpkg"
    shutil.copyfile(sample_gpkg, path)
    with ServerProcess({"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(path), "GIS_BASEMAP_URL": "",
                        "GIS_API_KEYS": f"{KEY}:sensor", "GIS_READ_REQUIRES_KEY": "false"}) as srv:
        with urllib.request.urlopen(f"{srv.url}/collections/sensors/items?kind=toxic_gas&limit=7") as r:
            srv.sensors = json.loads(r.read())["features"]
        yield srv


def _raise_alarm(srv, sensor_id: int) -> None:
    now = time.time()
    rows = [{"sensor_id": sensor_id, "time": now - 60 + 10 * i, "value": v}
            for i, v in enumerate([20.0, 40.0, 70.0, 90.0, 130.0, 240.0])]
    req = urllib.request.Request(f"{srv.url}/monitoring/readings", data=json.dumps({"readings": rows}).encode(),
                                 headers={"Content-Type": "application/json", "X-API-Key": KEY}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        doc = json.loads(r.read())
    assert any(c["kind"] == "open" for c in doc["alarm_changes"]), doc


def _press(page, sel: str, touch: bool) -> None:
    if touch:
        box = page.locator(sel).bounding_box()
        assert box, sel
        page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    else:
        page.click(sel)


@pytest.mark.parametrize("size", list(SIZES))
def test_alarm_sound_and_notification_only_after_opt_in(browser, ring_server, size):  # noqa: F811
    touch = size != "desktop"
    i = list(SIZES).index(size)
    first, second = ring_server.sensors[2 * i]["id"], ring_server.sensors[2 * i + 1]["id"]
    w = Watched(browser, (ring_server.url,), **SIZES[size])
    try:
        w.context.grant_permissions(["notifications"], origin=ring_server.url)
        w.context.add_init_script(RECORD)
        page = w.page
        page.goto(f"{ring_server.url}/viewer")
        page.wait_for_selector("body[data-ready='1']")
        page.wait_for_selector("body[data-monitoring='1']")
        wait_js(page, "window.monitoring.state.connected === true")
        assert page.is_checked("#mon-notify") is False                      # off by default

        _raise_alarm(ring_server, first)                                    # before opting in
        page.wait_for_selector(".mon-toast[data-alarm] >> text=新报警")
        page.wait_for_timeout(500)
        assert page.evaluate("window.__notes.length") == 0
        assert page.evaluate("window.__osc") == 0
        assert page.evaluate("window.__asked || 0") == 0                    # no permission prompt on load

        if touch and page.locator("#mon-panel.mon-collapsed").count():      # folded over the map on a phone
            _press(page, "#mon-panel .mon-head", touch)
        _press(page, "#mon-notify", touch)
        assert page.is_checked("#mon-notify")
        wait_js(page, "(document.getElementById('mon-notify-note').textContent || '').indexOf('通知已开启') >= 0")
        assert page.evaluate("window.__asked || 0") <= 1
        w.shot(f"alarm_alert_optin_{size}")

        n_toasts = page.locator(".mon-toast").count()
        _raise_alarm(ring_server, second)                                   # after opting in
        wait_js(page, "window.__notes.length >= 1")
        notes = page.evaluate("window.__notes")
        assert len(notes) == 1 and "新报警" in notes[0]["title"], notes
        assert notes[0]["tag"].startswith("rm-alarm-")
        name = next(f["properties"]["name"] for f in ring_server.sensors if f["id"] == second)
        assert name in notes[0]["body"], notes
        assert page.evaluate("window.__osc") >= 1                           # the WebAudio oscillator started
        assert page.evaluate("window.monitoring.state.ring.sounded") == 1
        assert page.locator(".mon-toast").count() >= min(n_toasts + 1, 4)
        w.shot(f"alarm_alert_fired_{size}")
        w.check_clean()
    finally:
        w.context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_last_24h_of_alarms_replayed_with_a_time_slider(browser, ring_server, size):  # noqa: F811
    """An alarm raised a minute ago shows red at the slider's end (now), not 10 minutes earlier and not at
    its start (24 h ago); the slider is moved with the keyboard (desktop) or by tapping it (touch)."""
    touch = size != "desktop"
    w = Watched(browser, (ring_server.url,), **SIZES[size])
    try:
        page = w.page
        page.goto(f"{ring_server.url}/viewer")
        page.wait_for_selector("body[data-ready='1']")
        page.wait_for_selector("body[data-monitoring='1']")
        sid = ring_server.sensors[6]["id"]
        with urllib.request.urlopen(f"{ring_server.url}/monitoring/alarms?status=live&sensor_id={sid}") as r:
            if not json.loads(r.read())["count"]:                             # the first size raises it
                _raise_alarm(ring_server, sid)
        if touch and page.locator("#mon-panel.mon-collapsed").count():
            _press(page, "#mon-panel .mon-head", touch)
        _press(page, "#mon-replay-open", touch)
        page.wait_for_selector("body[data-replay='1']")
        n_open = page.evaluate("window.monitoring.replay.alarms.filter(a => a.close === null).length")
        assert n_open >= 1
        assert page.locator(".mon-replay-sensor.mon-replay-2").count() >= 1   # now: in alarm
        assert page.locator(".mon-sensor").count() == 0                       # the live layer is hidden
        assert "北京时间" in page.inner_text("#mon-replay-time")
        # readings too: the alarming sensor's last reading (240 %OEL ≥ high-high 200) at the slider's end, in its tooltip
        cls = f"window.monitoring.replay.markers[{sid}].options.className"
        assert "mon-replay-r2" in page.evaluate(cls)
        assert page.evaluate("window.monitoring.replay.reporting") >= 1
        assert "有读数" in page.inner_text("#mon-replay-time")
        tip = page.evaluate(f"""() => {{ const m = window.monitoring.replay.markers[{sid}]; m.openTooltip();
                                         return m.getTooltip().getElement().innerText; }}""")
        assert "240" in tip and "%OEL" in tip, tip
        page.evaluate(f"() => {{ window.monitoring.replay.markers[{sid}].closeTooltip(); }}")
        if not touch:                                                         # the sensors checkbox hides the replay
            page.uncheck("input[data-layer='sensors']")
            assert page.locator(".mon-replay-sensor").count() == 0
            page.check("input[data-layer='sensors']")
            assert page.locator(".mon-replay-sensor.mon-replay-2").count() >= 1
        w.shot(f"alarm_replay_now_{size}")
        if touch:                                                             # tap the slider's left end: 24 h ago
            box = page.locator("#mon-replay-slider").bounding_box()
            page.touchscreen.tap(box["x"] + 2, box["y"] + box["height"] / 2)
        else:
            page.focus("#mon-replay-slider")
            page.keyboard.press("ArrowLeft")
            page.keyboard.press("ArrowLeft")                                  # 10 min ago: before the alarm
            assert page.locator(".mon-replay-sensor.mon-replay-2").count() == 0
            assert "mon-replay-rnone" in page.evaluate(cls)                   # and before its first reading
            page.keyboard.press("Home")
        assert int(page.input_value("#mon-replay-slider")) <= 15
        assert page.locator(".mon-replay-sensor.mon-replay-2").count() == 0
        assert page.locator(".mon-replay-sensor:not(.mon-replay-rnone)").count() == 0   # nothing had reported yet
        w.shot(f"alarm_replay_24h_ago_{size}")
        frames = page.evaluate("window.monitoring.replay.frames")
        print(size, "replay frames ms", sorted(frames)[-3:], "sensors", page.evaluate("window.monitoring.replay.sensors.length"))
        _press(page, "#mon-replay-exit", touch)
        page.wait_for_selector("body[data-replay='0']")
        page.wait_for_selector(".mon-sensor")                                 # live again
        w.check_clean()
    finally:
        w.context.close()
