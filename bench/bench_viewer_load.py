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

Medians of ``--runs`` runs. Run::

    .venv/bin/python bench/bench_viewer_load.py                     # 5 runs, baseline main
    .venv/bin/python bench/bench_viewer_load.py --runs 3 --baseline-ref none   # ours only
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
    return src


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--baseline-ref", default="main", help="git ref to compare with, or 'none'")
    args = ap.parse_args()
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
