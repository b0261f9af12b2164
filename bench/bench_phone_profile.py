"""Benchmark: the viewer on a phone profile (issue 18's aim: usable in under 3 s with 4× CPU throttling).

Headless Chromium (Debian's ``/usr/bin/chromium`` via Playwright, nothing downloaded, no request may leave
localhost), the Jilin sample in the embedded store, a fresh browser context per visit (empty cache). Profiles:

* **phone** — 390×844 CSS px, device scale 3, mobile, touch;
* **tablet** — 768×1024 CSS px, device scale 2, mobile, touch;

both with Chromium's CPU throttling at 4× (DevTools ``Emulation.setCPUThrottlingRate``, as Lighthouse's mobile
profile does). The network is the loopback: this measures the page's own work (parse, run, draw), which is what
throttling slows.

Per visit, from navigation start: **usable** — the viewer says it is ready (``body[data-ready='1']``: the
configuration read, every checked layer loaded and drawn, the controls bound; recorded in the page by a
MutationObserver installed before any of the page's scripts run); **all shown** — the last response of the load
(network idle); the number of requests. Then a **tap** on the map ("nearest rescue teams here" is the first thing
a commander does): a touch tap in the middle of the map, timed until the popup opens.

Side by side, visited in turn so the machine's load falls on both alike:

* **bundle** — this checkout as served: the viewer's modules as one minified esbuild bundle (``web/dist``);
* **modules** — the same service with ``GIS_VIEWER_BUNDLE=false``: the ~40 ES modules fetched one by one (the
  obvious alternative, and what the page falls back to when the bundle is stale).

Medians of ``--runs`` visits per profile and side. Run::

    .venv/bin/python bench/bench_phone_profile.py              # 5 visits per profile and side
    .venv/bin/python bench/bench_phone_profile.py --runs 9 --throttle 6
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_viewer_load import ARGS, CHROMIUM, LOAD_JS, _env  # noqa: E402
from conftest import ServerProcess  # noqa: E402

PROFILES = {
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3},
    "tablet": {"viewport": {"width": 768, "height": 1024}, "device_scale_factor": 2},
}
AIM_MS = 3000.0

# Runs before the page's own scripts (DevTools' addScriptToEvaluateOnNewDocument, so the page's CSP does not
# apply): notes the moment the viewer marks itself ready.
READY_PROBE = """
window.__usableAt = null;
new MutationObserver(function (changes, obs) {
  if (document.body && document.body.dataset.ready === '1') { window.__usableAt = performance.now(); obs.disconnect(); }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-ready'] });
"""


def _poll(page, expression: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s   # polled: the service's CSP forbids wait_for_function's eval
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(expression)
        page.wait_for_timeout(50)


def visit(browser, base: str, profile: str, throttle: float) -> dict[str, float]:
    ctx = browser.new_context(**PROFILES[profile], is_mobile=True, has_touch=True, service_workers="block")
    escaped: list[str] = []
    ctx.route("**/*", lambda r: r.continue_() if r.request.url.startswith((base, "data:"))
              else (escaped.append(r.request.url), r.abort()))
    ctx.add_init_script(READY_PROBE)
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
    try:
        page.goto(f"{base}/viewer", wait_until="load")
        _poll(page, "() => window.__usableAt !== null")
        page.wait_for_load_state("networkidle")
        out = {"usable": page.evaluate("() => window.__usableAt"), **page.evaluate(LOAD_JS)}
        box = page.locator("#map").bounding_box()
        assert box and box["width"] >= PROFILES[profile]["viewport"]["width"] - 1, "the map does not fill the width"
        t = time.perf_counter()
        page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_selector(".leaflet-popup-content", timeout=60_000)
        out["tap"] = (time.perf_counter() - t) * 1000
    finally:
        ctx.close()
    assert not escaped, f"requests left localhost: {escaped[:3]}"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--throttle", type=float, default=4.0, help="Chromium CPU throttling rate (4 = 4× slower)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from gis_service.cli import build_sample

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        gpkg = Path(tmp) / "sample.gpkg"
        build_sample(gpkg)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        sides = {"bundle": ServerProcess(_env(gpkg)),
                 "modules": ServerProcess({**_env(gpkg), "GIS_VIEWER_BUNDLE": "false"})}
        got: dict[tuple[str, str], list[dict[str, float]]] = {}
        try:
            for srv in sides.values():
                srv.__enter__()
            for profile in PROFILES:
                for srv in sides.values():          # warm-up: the server's caches and the road graph
                    visit(browser, srv.url, profile, args.throttle)
                for _ in range(args.runs):
                    for name, srv in sides.items():
                        got.setdefault((profile, name), []).append(visit(browser, srv.url, profile, args.throttle))
        finally:
            for srv in sides.values():
                if srv.proc is not None:
                    srv.__exit__(None, None, None)
            browser.close()
    print(f"viewer on touch profiles, CPU throttled {args.throttle:g}×, medians of {args.runs} fresh-cache visits; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'profile':8} {'side':8} {'usable ms':>10} {'max':>7} {'all shown':>10} {'requests':>9} {'tap→popup':>10}"
          f"   (aim: usable < {AIM_MS:.0f} ms)")
    med = {}
    for (profile, name), runs in got.items():
        m = {k: statistics.median(r[k] for r in runs) for k in ("usable", "ms", "requests", "tap")}
        med[(profile, name)] = m
        print(f"{profile:8} {name:8} {m['usable']:10.0f} {max(r['usable'] for r in runs):7.0f} {m['ms']:10.0f} "
              f"{m['requests']:9.0f} {m['tap']:10.0f}   {'meets' if m['usable'] < AIM_MS else 'MISSES'} the aim")
    for profile in PROFILES:
        b, m = med[(profile, "bundle")], med[(profile, "modules")]
        print(f"ratio bundle/modules, {profile}: usable {b['usable'] / m['usable']:.2f}, requests "
              f"{b['requests'] / m['requests']:.2f}, tap {b['tap'] / m['tap']:.2f}")


if __name__ == "__main__":
    main()
