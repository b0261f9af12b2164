"""Benchmark: the overview map at 100,000 features — our map vs a naive Folium map embedding every feature.

Data: the Jilin sample (``sample_data/jilin_sample.py``) with its ``receptors`` layer replaced by
``--features`` synthetic points spread over the province's bounding box (names, classes, populations,
data source as in the sample), so the map has ~``--features`` + 1,400 features in all.

* **ours** — ``gis_service.maps.overview.overview_map`` as served at ``/maps/overview``: layers above
  the embed limit are grid counts (features load by bbox once zoomed in), small layers embedded in a
  packed column-wise form, clustered where the catalogue says so;
* **naive** — ``folium.Map`` + one ``folium.GeoJson`` per layer with every feature and its popup
  attributes (``GeoJsonPopup``), the obvious way to put a GeoDataFrame on a Folium map. Its assets
  are pointed at the same local copies so neither map touches the network.

Measured per run: server-side build time (Python, render to HTML), HTML size, and time to first
render in headless Chromium (Debian's ``/usr/bin/chromium`` via Playwright, no network): navigation
start → the map's layers are in the DOM and two animation frames have passed. Medians of ``--runs``
runs (the naive page is slow; its build is timed once per run too). Run::

    .venv/bin/python bench/bench_overview_map.py                   # 100,000 features, 3 runs
    .venv/bin/python bench/bench_overview_map.py --features 20000 --runs 1   # smoke run
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from shapely.geometry import Point

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import ServerProcess  # noqa: E402

from gis_service.catalog import default_catalog  # noqa: E402
from gis_service.config import Settings  # noqa: E402
from gis_service.maps import assets  # noqa: E402
from gis_service.maps.base import finish  # noqa: E402
from gis_service.maps.overview import overview_map  # noqa: E402
from gis_service.services.container import Services  # noqa: E402
from gis_service.stores.embedded import EmbeddedStore  # noqa: E402
from gis_service.validation import validate_rows  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
CLASSES = ["residential", "residential", "residential", "school", "hospital", "care_home"]
DRAWN = ("document.querySelectorAll('.leaflet-overlay-pane path, .leaflet-overlay-pane canvas, "
         ".leaflet-marker-icon').length > 0")
PAINTED = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))"


def make_store(path: Path, n: int, seed: int = 11) -> EmbeddedStore:
    from gis_service.cli import build_sample

    sample = path.parent / "sample.gpkg"
    if not sample.exists():
        build_sample(sample)
    shutil.copyfile(sample, path)
    catalog = default_catalog()
    store = EmbeddedStore(catalog, path)
    store.init()
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = store.extent("admin_areas")
    lon, lat = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
    src = f"synthetic (bench_overview_map, seed {seed})"
    pairs = [(Point(a, b), {"name": f"受体{i:06d}", "receptor_class": CLASSES[i % len(CLASSES)],
                            "population": int(rng.integers(0, 3000)), "county": f"县{i % 60:02d}",
                            "data_source": src})
             for i, (a, b) in enumerate(zip(lon, lat, strict=True))]
    store.replace_all("receptors", validate_rows(catalog["receptors"], pairs))
    return store


def naive_map(store: EmbeddedStore) -> str:
    import folium

    x0, y0, x1, y1 = store.extent("admin_areas")
    m = folium.Map(location=[(y0 + y1) / 2, (x0 + x1) / 2], zoom_start=7, tiles=None)
    for spec in store.catalog:
        cols = [a for a in spec.popup if spec.attribute(a).type != "json"]
        frame = store.frame(spec.name, cols).reset_index()
        style = spec.style
        folium.GeoJson(
            frame, name=spec.title,
            style_function=lambda _f, s=style: {"color": s.get("color", "#3388ff"),
                                                "fillColor": s.get("fill_color", s.get("color", "#3388ff")),
                                                "weight": s.get("weight", 2)},
            marker=folium.CircleMarker(radius=4),
            popup=folium.GeoJsonPopup(fields=cols, aliases=[spec.attribute(c).label() for c in cols]),
        ).add_to(m)
    folium.LayerControl().add_to(m)
    assets.localize(m)
    return m.get_root().render()


def ours(store: EmbeddedStore) -> str:
    return finish(overview_map(Services.build(Settings(), store).layers, Settings()))


def first_render_ms(browser, url: str, html: str | None, timeout_s: float) -> float:
    page = browser.new_page(viewport={"width": 1280, "height": 820})
    page.set_default_timeout(timeout_s * 1000)

    origin = "/".join(url.split("/")[:3])

    def route(r):
        if html is not None and r.request.url == url:
            return r.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)
        if r.request.url.startswith((origin + "/", "data:")):
            return r.continue_()
        return r.abort()  # no request leaves localhost

    page.route("**/*", route)
    try:
        page.goto(url, wait_until="commit")
        page.wait_for_function(DRAWN, polling=50)
        return float(page.evaluate(PAINTED))
    finally:
        page.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--features", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds allowed for one naive render")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    assets.check_installed()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.gpkg"
        t = time.perf_counter()
        store = make_store(path, args.features)
        total = sum(store.count(s.name) for s in store.catalog)
        print(f"data: {total:,} features ({args.features:,} receptors) in {time.perf_counter() - t:.1f} s")
        res = {"ours": {"build": [], "size": 0, "render": []}, "naive": {"build": [], "size": 0, "render": []}}
        with ServerProcess({"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(path), "GIS_BASEMAP_URL": ""}) as srv, \
                sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=ARGS)
            for run in range(args.runs):
                t = time.perf_counter()
                html = ours(store)
                res["ours"]["build"].append(time.perf_counter() - t)
                res["ours"]["size"] = len(html.encode())
                res["ours"]["render"].append(first_render_ms(browser, f"{srv.url}/maps/overview", None, 60))
                t = time.perf_counter()
                naive = naive_map(store)
                res["naive"]["build"].append(time.perf_counter() - t)
                res["naive"]["size"] = len(naive.encode())
                res["naive"]["render"].append(first_render_ms(browser, f"{srv.url}/bench/naive.html", naive,
                                                              args.timeout))
                print(f"run {run + 1}: ours {res['ours']['render'][-1]:,.0f} ms, "
                      f"naive {res['naive']['render'][-1]:,.0f} ms", flush=True)
            browser.close()
    med = {k: {m: statistics.median(v[m]) for m in ("build", "render")} | {"size": v["size"]} for k, v in res.items()}
    print(f"\noverview map, {total:,} features, median of {args.runs} run(s)")
    print(f"{'':8}{'HTML size':>14}{'build (Python)':>17}{'first render':>15}")
    for k in ("ours", "naive"):
        print(f"{k:8}{med[k]['size'] / 1e6:>11.2f} MB{med[k]['build']:>15.2f} s{med[k]['render'] / 1000:>13.2f} s")
    print(f"{'ratio':8}{med['naive']['size'] / med['ours']['size']:>13.1f}×{med['naive']['build'] / med['ours']['build']:>16.1f}×"
          f"{med['naive']['render'] / med['ours']['render']:>14.1f}×   (naive / ours)")
    print(f"ours under 2 MB: {med['ours']['size'] < 2_000_000}")


if __name__ == "__main__":
    main()
