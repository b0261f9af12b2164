"""Benchmark: the batches on Dask distributed against the single process, side by side in one run.

1. **Province QRA** — every installation of the sample at ``--scale`` (default 10: 3,300 installations), each
   alone (10 m grid, 2 km; ``--resolution``/``--range`` to change), as ``batch-qra`` computes it:
   * single process: the same partitions one after the other in this process (``scheduler="inline"``);
   * Dask ``LocalCluster`` with 1 worker and with 2 workers (one thread each), cluster start-up included.
   Each ``--runs`` times into a fresh folder (no checkpoint reuse); medians, speed-up against the single
   process, and the Dask overhead (1 worker − single process). The records of every run must be identical.
2. **National regrade** (``--national GPKG --grid DIR``): every hazard source of the national GeoPackage
   (``gis-service make-sample national.gpkg --national``) against the population grid
   (``gis-service batch popgrid DIR --gpkg national.gpkg --points 100000000``), on Dask with ``--workers`` and in
   one process; seconds, partitions, receptors read by the widest partition, and the peak resident memory of a
   worker (``ru_maxrss`` of the process that ran the partitions) — bounded by the partition, not the country.

    .venv/bin/python bench/bench_batch.py --scale 10                         # province QRA
    .venv/bin/python bench/bench_batch.py --skip province --national sample_data/generated/national.gpkg \\
        --grid sample_data/generated/popgrid
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from gis_service.analysis.qra.data import qra_params  # noqa: E402
from gis_service.batch import batches  # noqa: E402
from gis_service.batch.tasks import peak_rss_mb  # noqa: E402
from gis_service.catalog import default_catalog  # noqa: E402
from gis_service.stores.embedded import EmbeddedStore  # noqa: E402


def _store(path: Path) -> EmbeddedStore:
    store = EmbeddedStore(default_catalog(), path)
    store.init()
    return store


def _records(res) -> pd.DataFrame:
    return pd.read_parquet(res.run_dir / "records.parquet")


def province(gpkg: Path, runs: int, resolution: float, reach: float) -> dict:
    store = _store(gpkg)
    p = qra_params(resolution_m=resolution, max_range_m=reach)
    n = len(store.frame("hazard_sources", []))
    configs = [("single process", "inline", 1), ("Dask, 1 worker", "local", 1), ("Dask, 2 workers", "local", 2)]
    times: dict[str, list[float]] = {name: [] for name, _, _ in configs}
    reference = None
    for r in range(runs):
        for name, sched, workers in configs:
            root = Path(tempfile.mkdtemp(prefix="bench_batch_"))
            t = time.perf_counter()
            res = batches.qra(store, root, p, sched, workers)
            times[name].append(time.perf_counter() - t)
            rec = _records(res).drop(columns="geometry")
            if reference is None:
                reference = rec
            elif not rec.equals(reference):
                print(f"DIFFERENT records from {name}", flush=True)
                sys.exit(1)
            print(f"  run {r + 1}: {name}: {times[name][-1]:.1f} s ({res.summary['partitions']} partitions)",
                  flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    single = med["single process"]
    return {"installations": n, "runs": runs, "resolution_m": resolution, "max_range_m": reach,
            "median_s": med, "speedup_vs_single": {k: single / v for k, v in med.items()},
            "dask_overhead_s": med["Dask, 1 worker"] - single,
            "per_installation_ms_single": 1000 * single / n}


def national(gpkg: Path, grid: Path, workers: int, single: bool) -> dict:
    store = _store(gpkg)
    meta = json.loads((grid / "_grid.json").read_text())
    out = {"sources": len(store.frame("hazard_sources", [])), "grid_points": meta["points"],
           "grid_tiles": meta["tiles"], "grid_population": meta["population"]}
    root = Path(tempfile.mkdtemp(prefix="bench_national_"))
    t = time.perf_counter()
    res = batches.regrade(store, root, "local", workers, grid,
                          progress=lambda d, n: print(f"\r  dask: {d}/{n} partitions", end="", flush=True))
    print()
    out["dask"] = {"workers": workers, "seconds": time.perf_counter() - t, **{k: res.summary[k] for k in (
        "partitions", "widest_partition_receptors", "worker_peak_rss_mb", "major_hazard_sources")}}
    out["dask"]["per_partition_s_core"] = out["dask"]["seconds"] * workers / res.summary["partitions"]
    if single:
        root2 = Path(tempfile.mkdtemp(prefix="bench_national_1_"))
        t = time.perf_counter()
        res2 = batches.regrade(store, root2, "inline", 1, grid,
                               progress=lambda d, n: print(f"\r  single: {d}/{n} partitions", end="", flush=True))
        print()
        out["single"] = {"seconds": time.perf_counter() - t, "peak_rss_mb_this_process": round(peak_rss_mb(), 1)}
        same = _records(res2).drop(columns="geometry").equals(_records(res).drop(columns="geometry"))
        out["identical"] = bool(same)
        out["ratio_single_over_dask"] = out["single"]["seconds"] / out["dask"]["seconds"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=10, help="sample scale for the province QRA")
    ap.add_argument("--gpkg", type=Path, default=None, help="province GeoPackage (default: built at --scale)")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--resolution", type=float, default=10.0)
    ap.add_argument("--range", type=float, default=2000.0)
    ap.add_argument("--national", type=Path, default=None)
    ap.add_argument("--grid", type=Path, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-single", action="store_true", help="national: skip the single-process run")
    ap.add_argument("--skip", default="", help="comma list: province, national")
    args = ap.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    if "province" not in skip:
        gpkg = args.gpkg
        if gpkg is None:
            gpkg = Path("sample_data/generated") / f"jilin_x{args.scale}.gpkg"
            if not gpkg.exists():
                from gis_service.cli import build_sample

                gpkg.parent.mkdir(parents=True, exist_ok=True)
                build_sample(gpkg, scale=args.scale)
        r = province(gpkg, args.runs, args.resolution, args.range)
        print(f"\nprovince QRA: {r['installations']} installations, {r['resolution_m']:g} m grid, "
              f"{r['max_range_m']:g} m, median of {r['runs']}")
        for k, v in r["median_s"].items():
            print(f"  {k:16s} {v:8.1f} s   speed-up ×{r['speedup_vs_single'][k]:.2f}")
        print(f"  Dask overhead (1 worker − single): {r['dask_overhead_s']:.1f} s; "
              f"{r['per_installation_ms_single']:.1f} ms per installation in one process")
    if "national" not in skip and args.national and args.grid:
        r = national(args.national, args.grid, args.workers, not args.no_single)
        print(f"\nnational regrade: {r['sources']:,} sources × {r['grid_points']:,} population points "
              f"({r['grid_tiles']} tiles)")
        d = r["dask"]
        print(f"  Dask, {d['workers']} workers: {d['seconds']:.1f} s, {d['partitions']} partitions, widest "
              f"{d['widest_partition_receptors']:,} points, worker peak RSS {d['worker_peak_rss_mb']:.0f} MiB, "
              f"{d['per_partition_s_core']:.2f} s per partition per core")
        if "single" in r:
            print(f"  single process: {r['single']['seconds']:.1f} s, peak RSS {r['single']['peak_rss_mb_this_process']:.0f}"
                  f" MiB; ratio single/Dask ×{r['ratio_single_over_dask']:.2f}; identical records: {r['identical']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
