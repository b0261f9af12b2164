"""Benchmark: the viewer's first load, and PDF report rendering.

**Viewer first load** — headless Chromium (Debian's ``/usr/bin/chromium`` via Playwright, nothing
downloaded, no request may leave localhost), a fresh browser context per run (empty cache), the Jilin
sample in the embedded store. Measured from the page's own Resource Timing entries: bytes transferred
(``transferSize``: compressed body + headers, the navigation included), number of requests, and time
from navigation start to the last response of the load (the viewer is ready and the network idle:
every layer shown). Side by side:

* **ours** — this checkout: gzip on the wire, only the checked layers' grid counts and the features
  the view needs;
* **baseline** — the same service built from another git ref (default ``main``, extracted with
  ``git archive`` into a temporary folder, sharing this checkout's ``web/node_modules``).

**PDF reports** — wall time of ``GET /reports/siting/1.pdf``, ``/reports/exposure/hazard_sources/1.pdf``
and ``/reports/rescue.pdf`` over HTTP (warm server), p50 against the 2 s target.

**National-size set** (``--national``, issue 19) — the national generator's set at the browser test's size
(30,000 hazard sources, 200,000 receptors, 83,131 road segments; built once into ``bench/out/`` and reused) on
the embedded store, ours and the baseline served at the same time and visited in turn (the load of this shared
machine then falls on both alike). Per visit, a fresh browser context (empty browser cache; the servers' tile
caches are warmed by one visit first): the time to the first map (navigation start → every tile of the first
view drawn: the viewer's ``viewer.tiles.firstLoadMs``, at least ``domInteractive``), the number of requests made
until then, and the frame intervals (``requestAnimationFrame`` timestamps in the page) while the map is panned by
script at national (z 4), province (z 7) and city (z 11) zoom — the browser test's aims: first map < 2 s, frame
p95 < 50 ms (tests/test_browser_national.py).

Medians of ``--runs`` runs. Run::

    .venv/bin/python bench/bench_viewer_load.py                     # 5 runs, baseline main
    .venv/bin/python bench/bench_viewer_load.py --runs 3 --baseline-ref none   # ours only
    .venv/bin/python bench/bench_viewer_load.py --national --runs 5 --baseline-ref main
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import ServerProcess  # noqa: E402

CHROMIUM = os.environ.get("GIS_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
REPORTS = ("/reports/siting/1.pdf", "/reports/exposure/hazard_sources/1.pdf",
           "/reports/rescue.pdf?lon=126.55&lat=43.85&incident=chemical")

LOAD_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  const all = [nav].concat(res);
  return { bytes: all.reduce((s, e) => s + (e.transferSize || 0), 0), requests: all.length,
           ms: Math.max.apply(null, all.map(e => e.responseEnd)) };
}"""


def _env(gpkg: Path) -> dict[str, str]:
    return {"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(gpkg), "GIS_BASEMAP_URL": "", "GIS_API_KEYS": "",
            "GIS_READ_REQUIRES_KEY": "false"}


def measure_load(browser, url: str, runs: int) -> dict[str, float]:
    out = {"bytes": [], "requests": [], "ms": []}
    for _ in range(runs):
        ctx = browser.new_context(viewport={"width": 1280, "height": 820}, service_workers="block")
        escaped: list[str] = []

        def route(r, escaped=escaped):
            if r.request.url.startswith(url.split("/viewer")[0]) or r.request.url.startswith("data:"):
                return r.continue_()
            escaped.append(r.request.url)
            return r.abort()

        ctx.route("**/*", route)
        page = ctx.new_page()
        page.goto(url, wait_until="load")
        page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        page.wait_for_load_state("networkidle")
        m = page.evaluate(LOAD_JS)
        ctx.close()
        assert not escaped, f"requests left localhost: {escaped[:3]}"
        for k in out:
            out[k].append(m[k])
    return {k: statistics.median(v) for k, v in out.items()}


def measure_reports(base: str, runs: int) -> dict[str, float]:
    times: dict[str, list[float]] = {p: [] for p in REPORTS}
    for path in REPORTS:                              # warm-up: road graph, fonts, imports
        urllib.request.urlopen(base + path, timeout=120).read()
    for _ in range(runs):
        for path in REPORTS:
            t = time.perf_counter()
            data = urllib.request.urlopen(base + path, timeout=120).read()
            times[path].append(time.perf_counter() - t)
            assert data.startswith(b"%PDF")
    return {p: statistics.median(v) for p, v in times.items()}


def extract_ref(ref: str, dest: Path) -> Path:
    archive = dest / "src.tar"
    with archive.open("wb") as fh:
        subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, stdout=fh)
    with tarfile.open(archive) as tar:
        tar.extractall(dest / "src", filter="data")
    src = dest / "src"
    if (ROOT / "web" / "node_modules").exists() and not (src / "web" / "node_modules").exists():
        (src / "web" / "node_modules").symlink_to(ROOT / "web" / "node_modules")
    if (ROOT / "web" / "dist" / "viewer.bundle.js").exists():   # bundle vs bundle: web/dist/ is not committed
        subprocess.run(["bash", str(src / "scripts" / "setup_web_assets.sh")], check=True, stdout=subprocess.DEVNULL)
    return src


# -- the national-size set: first map and panning frames ----------------------------------------------

NATIONAL_SIZE = (30_000, 200_000)   # hazard sources, receptors: tests/test_browser_national.py's default
NATIONAL_VIEWS = {"national": (35.5, 104.0, 4), "province": (43.8, 126.5, 7), "city": (43.85, 126.55, 11)}
FIRST_MAP_JS = """() => ({ ms: Math.max(viewer.tiles.firstLoadMs,
                                     performance.getEntriesByType('navigation')[0].domInteractive),
                          requests: performance.getEntriesByType('resource')
                            .filter(e => e.startTime <= viewer.tiles.firstLoadMs).length + 1 })"""
PAN_JS = """async ([steps, dx, dy]) => {
  const m = viewer.map, frames = [];
  let on = true;
  function tick(t) { frames.push(t); if (on) { requestAnimationFrame(tick); } }
  requestAnimationFrame(tick);
  for (let i = 0; i < steps; i++) {
    await new Promise(r => { m.once('moveend', r); m.panBy([dx * (i % 2 ? -1 : 1), dy], { animate: true, duration: 0.5 }); });
    await new Promise(r => setTimeout(r, 150));
  }
  on = false;
  const d = [];
  for (let i = 1; i < frames.length; i++) { d.push(frames[i] - frames[i - 1]); }
  return d;
}"""


def national_gpkg(path: Path) -> Path:
    """The national set at the browser test's size (the same seed), built once (≈ 3–5 min on 2 busy cores)."""
    if path.exists():
        return path
    from gis_service.cli import _sample_module

    jilin = _sample_module()
    size = jilin._national_module().NationalSize(hazard_sources=NATIONAL_SIZE[0], receptors=NATIONAL_SIZE[1])
    path.parent.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    jilin.build_sample(path, seed=2012, national=size)
    print(f"built {path} in {time.perf_counter() - t:.0f} s", flush=True)
    return path


def _wait(page, expression: str, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s   # polled: the service's CSP forbids wait_for_function's eval
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(expression)
        page.wait_for_timeout(50)


def national_visit(browser, base: str, pan: bool) -> dict:
    ctx = browser.new_context(viewport={"width": 1280, "height": 820}, service_workers="block")
    escaped: list[str] = []
    ctx.route("**/*", lambda r: r.continue_() if r.request.url.startswith((base, "data:"))
              else (escaped.append(r.request.url), r.abort()))
    page = ctx.new_page()
    page.goto(f"{base}/viewer")
    _wait(page, "() => window.viewer && viewer.tiles && viewer.tiles.firstLoadMs !== null")
    out = page.evaluate(FIRST_MAP_JS)
    _wait(page, "() => document.body.dataset.ready === '1'")
    if pan:
        for name, (lat, lon, z) in NATIONAL_VIEWS.items():
            page.evaluate(f"() => viewer.map.setView([{lat}, {lon}], {z}, {{ animate: false }})")
            page.wait_for_timeout(100)
            _wait(page, "() => viewer.tilesIdle()")
            page.wait_for_timeout(800)
            out[name] = page.evaluate(PAN_JS, [6, 260, 60])
    ctx.close()
    assert not escaped, f"requests left localhost: {escaped[:3]}"
    return out


def _p95(values: list[float]) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * 0.95))]


def main_national(args) -> None:
    from playwright.sync_api import sync_playwright

    gpkg = national_gpkg(Path(args.national_gpkg))
    env = {**_env(gpkg), "GIS_VIEWER_TILE_THRESHOLD": "20000"}
    sides: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        servers = {"ours": ServerProcess(env, start_timeout=300)}
        if args.baseline_ref != "none":
            src = extract_ref(args.baseline_ref, Path(tmp))
            servers["baseline"] = ServerProcess({**env, "PYTHONPATH": str(src)}, start_timeout=300, cwd=src)
        try:
            for name, srv in servers.items():
                srv.__enter__()
                national_visit(browser, srv.url, pan=False)   # warms the server's tile cache
                sides[name] = {"first": [], "requests": [], **{v: [] for v in NATIONAL_VIEWS}}
            for _ in range(args.runs):   # in turn: both sides see the same load of the machine
                for name, srv in servers.items():
                    r = national_visit(browser, srv.url, pan=True)
                    sides[name]["first"].append(r["ms"])
                    sides[name]["requests"].append(r["requests"])
                    for v in NATIONAL_VIEWS:
                        sides[name][v].extend(r[v])
        finally:
            for srv in servers.values():
                if srv.proc is not None:
                    srv.__exit__(None, None, None)
            browser.close()
    print(f"national set ({NATIONAL_SIZE[0]:,} hazard sources, {NATIONAL_SIZE[1]:,} receptors), {args.runs} visits "
          f"each, fresh browser cache, warm tile cache; load average {os.getloadavg()[0]:.1f}")
    print(f"{'':10} {'first map p50':>14} {'max':>7} {'requests':>9}" +
          "".join(f" {v + ' p50/p95':>20}" for v in NATIONAL_VIEWS) + "   (ms; aims: first < 2000, p95 < 50)")
    for name, r in sides.items():
        print(f"{name:10} {statistics.median(r['first']):14.0f} {max(r['first']):7.0f} {statistics.median(r['requests']):9.0f}" +
              "".join(f" {statistics.median(r[v]):9.1f}/{_p95(r[v]):<10.1f}" for v in NATIONAL_VIEWS))
    if "baseline" in sides:
        o, b = sides["ours"], sides["baseline"]
        print("ratio ours/baseline: first map p50 {:.2f}; ".format(statistics.median(o["first"]) / statistics.median(b["first"])) +
              ", ".join(f"{v} p95 {_p95(o[v]) / _p95(b[v]):.2f}" for v in NATIONAL_VIEWS))
    # p95 moves in whole frames (16.7, 33.3, 50 ms …): the share of long frames compares finer
    print("frames of 50 ms or more (% of all): " + "; ".join(
        f"{name} " + ", ".join(f"{v} {_long_share(r[v]):.1f}" for v in NATIONAL_VIEWS) for name, r in sides.items()))


def _long_share(frames: list[float], ms: float = 49.0) -> float:
    return 100.0 * sum(1 for f in frames if f >= ms) / max(1, len(frames))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--baseline-ref", default="main", help="git ref to compare with, or 'none'")
    ap.add_argument("--national", action="store_true", help="the national-size set: first map and panning frames")
    ap.add_argument("--national-gpkg", default=str(ROOT / "bench" / "out" / "national_30k_200k.gpkg"),
                    help="where the national set is built once and reused")
    args = ap.parse_args()
    if args.national:
        main_national(args)
        return
    from playwright.sync_api import sync_playwright

    from gis_service.cli import build_sample

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        gpkg = tmp / "sample.gpkg"
        build_sample(gpkg)
        results = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            with ServerProcess(_env(gpkg)) as srv:
                results["ours"] = measure_load(browser, f"{srv.url}/viewer", args.runs)
                reports = measure_reports(srv.url, args.runs)
            if args.baseline_ref != "none":
                src = extract_ref(args.baseline_ref, tmp)
                env = {**_env(gpkg), "PYTHONPATH": str(src)}
                old = os.getcwd()
                os.chdir(src)
                try:
                    with ServerProcess(env) as srv:
                        results["baseline"] = measure_load(browser, f"{srv.url}/viewer", args.runs)
                finally:
                    os.chdir(old)
            browser.close()
    print(f"viewer first load, medians of {args.runs} runs (fresh cache each run):")
    print(f"{'':10} {'bytes':>12} {'requests':>9} {'ms to all shown':>16}")
    for name, r in results.items():
        print(f"{name:10} {r['bytes']:12,.0f} {r['requests']:9.0f} {r['ms']:16.0f}")
    if "baseline" in results:
        b, o = results["baseline"], results["ours"]
        print(f"ratio ours/baseline: bytes {o['bytes'] / b['bytes']:.2f}, requests {o['requests'] / b['requests']:.2f}, "
              f"time {o['ms'] / b['ms']:.2f}")
    print("PDF reports, p50 wall time over HTTP (target < 2 s):")
    for path, sec in reports.items():
        print(f"  {path:60} {sec * 1000:7.0f} ms  ({sec / 2.0:.2f} of the target)")


if __name__ == "__main__":
    main()
