"""Benchmark: quantitative risk (IR contours, F-N) — vectorised fields against a per-point Python loop.

1. **Park of 30 installations**, 10 m grid within 2 km: the first 30 hazard sources of the sample park with the
   most sources; time of ``service.compute`` (polar fields + wind rose + grid + 5 contour levels), median of runs.
2. **Baseline**: the straightforward per-point loop (``analysis.qra.reference.ir_at_point``: every outcome case ×
   weather × one-degree wind direction per point, the same field functions called with scalars) on a random
   sample of the same grid's cells; its per-point time × number of cells is the loop's time for the grid.
   The sampled values are compared with the vectorised grid (max relative difference).
3. **Province batch**: every hazard source of the sample at ``--scale`` (default 10, i.e. 10× the sample's
   sources), grouped by park (one grid per park) and alone for sources outside parks; 10 m grid, 2 km.
4. **API p50** for one installation: ``GET /analysis/risk/individual/hazard_sources/{id}`` through uvicorn (one
   worker, embedded store on the sample GeoPackage), ``--queries`` random ids.

    .venv/bin/python bench/bench_risk.py                 # full
    .venv/bin/python bench/bench_risk.py --scale 1 --compare-points 100 --queries 20   # quicker
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
sys.path.insert(0, os.path.dirname(__file__))
from bench_exposure_api import start  # noqa: E402

from gis_service.analysis.qra import (  # noqa: E402
    assessment,  # noqa: E402
    data,
    reference,
)
from gis_service.analysis.qra import engine as service  # noqa: E402
from gis_service.analysis.qra.fields import directional, radial, weather_dependent  # noqa: E402
from gis_service.analysis.qra.grid import ir_at, rose_toward_pmf  # noqa: E402
from gis_service.catalog import default_catalog  # noqa: E402
from gis_service.cli import build_sample  # noqa: E402
from gis_service.stores.base import Query  # noqa: E402
from gis_service.stores.embedded import EmbeddedStore  # noqa: E402


def _installations(store) -> list[service.Installation]:
    feats = store.items("hazard_sources", Query(limit=1_000_000)).features
    return [assessment._installation("hazard_sources", f) for f in feats]


def _park_of(inst: service.Installation, store_feats: dict[int, dict]) -> int | None:
    return store_feats[inst.id].get("park_id")


def ir_point_dirs(groups, x: float, y: float, p, r_max: float) -> float:
    """A stronger alternative: still one point at a time, but each case's field over all 360 wind directions in
    one numpy call."""
    pmf = rose_toward_pmf(p.rose())
    t = np.radians(np.arange(360))
    total = 0.0
    for px, py, cases in groups:
        dx, dy = x - px, y - py
        dist = float(np.hypot(dx, dy))
        if dist > r_max:
            continue
        delta = np.radians(np.degrees(np.arctan2(dx, dy))) - t
        xd, yc = dist * np.cos(delta), dist * np.sin(delta)
        for case in cases:
            ws = p.weather if weather_dependent(case) else p.weather[:1]
            for w in ws:
                pw = w.probability if weather_dependent(case) else 1.0
                if case.directional:
                    total += case.frequency_per_year * pw * float(directional(case, w, xd, yc, p) @ pmf)
                else:
                    total += case.frequency_per_year * pw * float(radial(case, w, dist, p, r_max))
    return total


def park_bench(insts, props, p, runs: int, loop_points: int, compare_points: int) -> dict:
    by_park = defaultdict(list)
    for i in insts:
        if props[i.id].get("park_id"):
            by_park[props[i.id]["park_id"]].append(i)
    pid, members = max(by_park.items(), key=lambda kv: len(kv[1]))
    park = members[:30]
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        res = service.compute(park, p)
        times.append(time.perf_counter() - t)
    vec = statistics.median(times)
    cells = res.grid.ir.size
    rng = np.random.default_rng(1)
    groups = [(float(px), float(py), cases) for (px, py), cases in res.case_groups]
    gx = rng.choice(res.grid.xs, loop_points)
    gy = rng.choice(res.grid.ys, loop_points)
    t = time.perf_counter()
    ref = np.array([reference.ir_at_point(groups, x, y, p, p.max_range_m) for x, y in zip(gx, gy, strict=True)])
    per_point = (time.perf_counter() - t) / loop_points
    cx = rng.choice(res.grid.xs, compare_points)
    cy = rng.choice(res.grid.ys, compare_points)
    t = time.perf_counter()
    ref2 = np.array([ir_point_dirs(groups, x, y, p, p.max_range_m) for x, y in zip(cx, cy, strict=True)])
    per_point2 = (time.perf_counter() - t) / compare_points
    same = np.array([ir_point_dirs(groups, x, y, p, p.max_range_m) for x, y in zip(gx, gy, strict=True)])
    assert np.allclose(same, ref, rtol=1e-6, atol=1e-15)  # the two loops agree
    got = ir_at(res.grid, cx, cy)
    diff = np.abs(got - ref2) / np.where(ref2 > 0, ref2, 1.0)
    mask = ref2 > 1e-9
    rel = float(diff[mask].max()) if mask.any() else 0.0
    rel7 = float(diff[ref2 >= 1e-7].max()) if (ref2 >= 1e-7).any() else 0.0
    med7 = float(np.median(diff[ref2 >= 1e-7])) if (ref2 >= 1e-7).any() else 0.0
    return {"park_id": pid, "installations": len(park), "cases": len(res.cases), "cells": cells,
            "vectorised_s": vec, "loop_per_point_ms": per_point * 1000, "loop_s_extrapolated": per_point * cells,
            "ratio": per_point * cells / vec, "dirs_per_point_ms": per_point2 * 1000,
            "ratio_dirs": per_point2 * cells / vec, "max_rel_diff": rel, "points_compared": int(mask.sum()), "loop_points": loop_points,
            "max_rel_diff_1e7": rel7, "median_rel_diff_1e7": med7, "points_1e7": int((ref2 >= 1e-7).sum()),
            "contour_levels": sum(g is not None for _l, g in res.contours)}


def batch_bench(gpkg: str, p) -> dict:
    store = EmbeddedStore(default_catalog(), gpkg)
    store.init()
    feats = store.items("hazard_sources", Query(limit=10_000_000)).features
    groups = defaultdict(list)
    alone = []
    for f in feats:
        inst = assessment._installation("hazard_sources", f)
        if f.properties.get("park_id"):
            groups[f.properties["park_id"]].append(inst)
        else:
            alone.append([inst])
    jobs = list(groups.values()) + alone
    t = time.perf_counter()
    cells = cases = 0
    for k, job in enumerate(jobs):
        res = service.compute(job, p)
        cells += res.grid.ir.size
        cases += len(res.cases)
        if k % 50 == 0:
            print(f"    batch {k + 1}/{len(jobs)} jobs, {time.perf_counter() - t:.0f} s", flush=True)
    return {"installations": len(feats), "jobs": len(jobs), "parks": len(groups), "cells": cells, "cases": cases,
            "seconds": time.perf_counter() - t}


def api_bench(gpkg: str, queries: int) -> dict:
    proc, url = start({"GIS_STORE": "embedded", "GIS_GPKG_PATH": gpkg})
    try:
        with urllib.request.urlopen(f"{url}/collections/hazard_sources/items?limit=1", timeout=60) as r:
            import json

            n = json.loads(r.read())["numberMatched"]
        ids = np.random.default_rng(7).integers(1, n + 1, queries + 3).tolist()
        lat = []
        for k, fid in enumerate(ids):
            t = time.perf_counter()
            with urllib.request.urlopen(f"{url}/analysis/risk/individual/hazard_sources/{fid}", timeout=120) as r:
                r.read()
            if k >= 3:  # warm-up
                lat.append(time.perf_counter() - t)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    ms = np.array(lat) * 1000
    return {"queries": queries, "p50_ms": float(np.percentile(ms, 50)), "p90_ms": float(np.percentile(ms, 90)),
            "max_ms": float(ms.max())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=10, help="sample scale for the province batch (×N sources)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--loop-points", type=int, default=20, help="cells timed with the scalar loop")
    ap.add_argument("--compare-points", type=int, default=300, help="cells compared (and timed) with the "
                    "per-point loop over wind directions")
    ap.add_argument("--queries", type=int, default=30)
    ap.add_argument("--skip", default="", help="comma list of parts to skip: park, batch, api")
    args = ap.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    p = data.qra_params(resolution_m=10, max_range_m=2000)
    tmp = tempfile.mkdtemp(prefix="bench_risk_")
    base = os.path.join(tmp, "sample.gpkg")
    build_sample(base)
    store = EmbeddedStore(default_catalog(), base)
    store.init()
    insts = _installations(store)
    props = {f.id: f.properties for f in store.items("hazard_sources", Query(limit=1_000_000)).features}
    print(f"sample: {len(insts)} hazard sources; grid 10 m, range 2 km; weather {len(p.weather)} classes, "
          f"rose {len(p.rose())} sectors", flush=True)
    if "park" not in skip:
        r = park_bench(insts, props, p, args.runs, args.loop_points, args.compare_points)
        print(f"park {r['park_id']}: {r['installations']} installations, {r['cases']} outcome cases, "
              f"{r['cells']:,} cells, {r['contour_levels']} contour levels")
        print(f"  vectorised: {r['vectorised_s']:.2f} s (median of {args.runs})")
        print(f"  per-point loop: {r['loop_per_point_ms']:.1f} ms/point × {r['cells']:,} cells = "
              f"{r['loop_s_extrapolated'] / 3600:.1f} h (extrapolated from {r['loop_points']} points)")
        print(f"  per-point loop, numpy over the 360 wind directions: {r['dirs_per_point_ms']:.1f} ms/point → "
              f"{r['dirs_per_point_ms'] * r['cells'] / 3.6e6:.1f} h; ratio {r['ratio_dirs']:,.0f}×")
        print(f"  ratio loop / vectorised: {r['ratio']:,.0f}×; max relative difference at "
              f"{r['points_compared']} sampled points with IR > 1e-9: {r['max_rel_diff']:.2%}; at the "
              f"{r['points_1e7']} with IR ≥ 1e-7: max {r['max_rel_diff_1e7']:.2%}, median "
              f"{r['median_rel_diff_1e7']:.2%}", flush=True)
    if "batch" not in skip:
        path = base
        if args.scale > 1:
            path = os.path.join(tmp, f"sample_x{args.scale}.gpkg")
            build_sample(path, scale=args.scale)
        r = batch_bench(path, p)
        print(f"province batch (×{args.scale}): {r['installations']:,} installations in {r['jobs']} jobs "
              f"({r['parks']} parks + lone sources), {r['cases']:,} outcome cases, {r['cells']:,} cells: "
              f"{r['seconds']:.0f} s", flush=True)
    if "api" not in skip:
        r = api_bench(base, args.queries)
        print(f"API one installation: p50 {r['p50_ms']:.0f} ms, p90 {r['p90_ms']:.0f} ms, max {r['max_ms']:.0f} ms "
              f"({r['queries']} queries)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
