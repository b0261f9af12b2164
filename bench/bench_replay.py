"""Benchmark: the viewer's 24 h replay of alarms and readings (web/js/replay.js) with every sensor of the sample
(923) in headless Chromium (Debian's ``/usr/bin/chromium`` via Playwright), desktop 1600×1000, without and with 4×
CPU throttling (Chrome DevTools ``Emulation.setCPUThrottlingRate``), the replayed sensors drawn as SVG circles (the
default) and on one canvas (``replay.canvas``), interleaved. ``--alarms`` toxic-gas sensors get an alarm opened at
times spread over the last 23 h (readings posted with a sensor key; every other one closed again later), so the
slider's state changes along the day; every other sensor gets a reading every ``--every-min`` minutes from a random
time of the last 24 h on (values inside its normal band: no alarms from them), which the
replay loads from ``GET /monitoring/readings/replay`` (5-minute bins) and forward-fills once. The slider is then
swept over all 289 positions (5 min steps), one step per animation frame: the frame time is the interval between
consecutive requestAnimationFrame timestamps (a step's restyle, style/layout/paint of the map included; 16.7 ms
at 60 Hz when nothing is slow), and the JS restyle time alone (``replay.frames``). Reports p50/p95/max, and the
replay's load (the readings answer's size and fetch time).
Issue 18's target: frame p95 under 50 ms.

    nice -n 10 .venv/bin/python bench/bench_replay.py --alarms 200 --every-min 10
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
SEEDED: set[int] = set()   # the sensors seed_alarms drove
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
    SEEDED.update(f["id"] for f in sensors)
    for j, f in enumerate(sensors):
        t0 = now - 23 * 3600 * (1 - j / max(1, len(sensors)))
        rows = [{"sensor_id": f["id"], "time": t0 + 10 * i, "value": v} for i, v in enumerate([20.0, 40.0, 240.0])]
        if j % 2:   # closed again two hours later (or just now)
            rows += [{"sensor_id": f["id"], "time": min(now - 5, t0 + 7200 + 10 * i), "value": 10.0} for i in range(3)]
        doc = _post(url, rows)
        opened += sum(1 for c in doc.get("alarm_changes", []) if c.get("kind") == "open")
    return opened


def _value(kind: dict, rng) -> float:
    """A reading inside the kind's normal band (no alarm: thousands of open alarms escalating would swamp the live
    panel, which is not what this measures)."""
    hi, lo = kind.get("high"), kind.get("low")
    if hi:
        return round(hi * rng.uniform(0.2, 0.9), 3)
    if lo:
        return round(lo * rng.uniform(1.1, 1.6), 3)
    return round(rng.uniform(0.0, 10.0), 3)


def seed_readings(url: str, every_min: float, skip: set[int]) -> int:
    """A reading every ``every_min`` minutes over the last 24 h for every sensor not in ``skip``."""
    import random

    rng = random.Random(18)
    with urllib.request.urlopen(f"{url}/monitoring/kinds") as r:
        kinds = {k["kind"]: k for k in json.loads(r.read())["kinds"]}
    with urllib.request.urlopen(f"{url}/collections/sensors/items?limit=10000") as r:
        sensors = [f for f in json.loads(r.read())["features"] if f["id"] not in skip]
    now = time.time()
    times = [now - 24 * 3600 + 60 + i * every_min * 60 for i in range(int(24 * 60 / every_min) - 1)]
    sent = 0
    for j in range(0, len(sensors), 25):   # each sensor comes online at a random time of the day
        rows = [{"sensor_id": f["id"], "time": t, "value": _value(kinds[f["properties"]["kind"]], rng)}
                for f in sensors[j:j + 25] for t in times[rng.randrange(len(times) * 5 // 6):]]
        doc = _post(url, rows)
        sent += int(doc.get("accepted", len(rows)))
    return sent


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alarms", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--every-min", type=float, default=10.0, help="reading interval of the other sensors (0: none)")
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
            if a.every_min > 0:
                t = time.perf_counter()
                print("readings posted:", seed_readings(srv.url, a.every_min, SEEDED),
                      f"in {time.perf_counter() - t:.0f} s")
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
            page.goto(f"{srv.url}/viewer")
            page.wait_for_selector("body[data-monitoring='1']", timeout=180_000)
            page.wait_for_selector("#mon-replay-open", state="attached", timeout=180_000)
            cdp = page.context.new_cdp_session(page)
            for run in range(a.runs):
                for svg in (True, False):     # interleaved: SVG circles (the default) and one canvas
                    page.evaluate(f"window.monitoring.replay.canvas = {'false' if svg else 'true'}")
                    if page.evaluate("document.body.dataset.replay") == "1":
                        page.click("#mon-replay-exit")
                    page.click("#mon-replay-open", timeout=180_000)
                    page.wait_for_selector("body[data-replay='1']", timeout=180_000)
                    if run == 0 and svg:
                        print("sensors:", page.evaluate("window.monitoring.replay.sensors.length"),
                              "alarms in 24 h:", page.evaluate("window.monitoring.replay.alarms.length"),
                              "sensors with readings:", page.evaluate("Object.keys(window.monitoring.replay.readings).length"))
                        res = page.evaluate("""() => performance.getEntriesByType('resource')
                            .filter(e => e.name.indexOf('/monitoring/readings/replay') >= 0)
                            .map(e => ({ ms: e.duration, kb: e.encodedBodySize / 1024, raw_kb: e.decodedBodySize / 1024 }))""")
                        for e in res[-1:]:
                            print(f"readings answer: {e['raw_kb']:.0f} KB ({e['kb']:.0f} KB on the wire), "
                                  f"fetched in {e['ms']:.0f} ms")
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
