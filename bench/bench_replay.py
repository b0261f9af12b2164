"""Benchmark: the viewer's 24 h alarm replay (web/js/replay.js) with every sensor of the sample (899) in headless
Chromium (Debian's ``/usr/bin/chromium`` via Playwright), desktop 1600×1000, without and with 4× CPU throttling
(Chrome DevTools ``Emulation.setCPUThrottlingRate``), the replayed sensors drawn as SVG circles (the default)
and on one canvas (``replay.canvas``), interleaved. ``--alarms`` toxic-gas sensors get an alarm opened at times
spread over the last 23 h (readings posted with a sensor key; every other one closed again later), so the
slider's state changes along the day. The slider is then swept over all 289 positions (5 min steps), one step
per animation frame: the frame time is the interval between consecutive requestAnimationFrame timestamps (a
step's restyle, style/layout/paint of the map included; 16.7 ms at 60 Hz when nothing is slow), and the JS
restyle time alone (``replay.frames``). Reports p50/p95/max.
Issue 18's target: frame p95 under 50 ms.

    nice -n 10 .venv/bin/python bench/bench_replay.py --alarms 200
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from conftest import ServerProcess  # noqa: E402

CHROMIUM = os.environ.get("GIS_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
KEY = "bench-sens0r"
SWEEP = """async () => {
  const s = document.getElementById('mon-replay-slider');
  window.monitoring.replay.frames = [];
  const stamps = [];
  await new Promise(r => requestAnimationFrame(t => { stamps.push(t); r(); }));
  for (let v = 0; v <= 1440; v += 5) {
    s.value = v;
    s.dispatchEvent(new Event('input'));                     // as a drag of the slider sends
    await new Promise(r => requestAnimationFrame(t => { stamps.push(t); r(); }));
  }
  const frame = stamps.slice(1).map((t, i) => t - stamps[i]);
  return { frame: frame, js: window.monitoring.replay.frames.slice() };
}"""


def _post(url: str, rows: list[dict]) -> dict:
    req = urllib.request.Request(f"{url}/monitoring/readings", data=json.dumps({"readings": rows}).encode(),
                                 headers={"Content-Type": "application/json", "X-API-Key": KEY}, method="POST")
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


def seed_alarms(url: str, n: int) -> int:
    with urllib.request.urlopen(f"{url}/collections/sensors/items?kind=toxic_gas&limit={n}") as r:
        sensors = json.loads(r.read())["features"]
    now = time.time()
    opened = 0
    for j, f in enumerate(sensors):
        t0 = now - 23 * 3600 * (1 - j / max(1, len(sensors)))
        rows = [{"sensor_id": f["id"], "time": t0 + 10 * i, "value": v} for i, v in enumerate([20.0, 40.0, 240.0])]
        if j % 2:   # closed again two hours later (or just now)
            rows += [{"sensor_id": f["id"], "time": min(now - 5, t0 + 7200 + 10 * i), "value": 10.0} for i in range(3)]
        doc = _post(url, rows)
        opened += sum(1 for c in doc.get("alarm_changes", []) if c.get("kind") == "open")
    return opened


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alarms", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from gis_service.cli import build_sample

    with tempfile.TemporaryDirectory() as d:
        gpkg = Path(d) / "sample.gpkg"
        build_sample(gpkg)
        env = {"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(gpkg), "GIS_BASEMAP_URL": "",
               "GIS_API_KEYS": f"{KEY}:sensor", "GIS_READ_REQUIRES_KEY": "false"}
        with ServerProcess(env) as srv, sync_playwright() as p:
            print("alarms opened:", seed_alarms(srv.url, a.alarms))
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
            page.goto(f"{srv.url}/viewer")
            page.wait_for_selector("body[data-monitoring='1']")
            cdp = page.context.new_cdp_session(page)
            for run in range(a.runs):
                for svg in (True, False):     # interleaved: SVG circles (the default) and one canvas
                    page.evaluate(f"window.monitoring.replay.canvas = {'false' if svg else 'true'}")
                    if page.evaluate("document.body.dataset.replay") == "1":
                        page.click("#mon-replay-exit")
                    page.click("#mon-replay-open")
                    page.wait_for_selector("body[data-replay='1']")
                    if run == 0 and svg:
                        print("sensors:", page.evaluate("window.monitoring.replay.sensors.length"),
                              "alarms in 24 h:", page.evaluate("window.monitoring.replay.alarms.length"))
                    for rate in (1, 4):
                        cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
                        r = page.evaluate(SWEEP)
                        print(f"{'svg   ' if svg else 'canvas'} cpu÷{rate}: frame p50 {statistics.median(r['frame']):.1f} ms p95 {pct(r['frame'], .95):.1f} "
                              f"max {max(r['frame']):.1f}; JS restyle p50 {statistics.median(r['js']):.2f} "
                              f"p95 {pct(r['js'], .95):.2f} max {max(r['js']):.2f} ms ({len(r['frame'])} frames)")
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
            browser.close()
    print("load average:", os.getloadavg())


if __name__ == "__main__":
    main()
