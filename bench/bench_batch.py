"""Benchmark: the batches on Dask distributed against the single process, side by side in one run.

1. **Province batches** (``--kinds regrade,qra,exposure,coverage``) on the sample at ``--scale`` (default 10: 3,300
   hazard sources): the regrade; the QRA of every installation, each alone (10 m grid, 2 km;
   ``--resolution``/``--range`` to change); the exposure of every source (default scenario); the rescue coverage
   gaps (default standards). Each as:
   * single process: the same partitions one after the other in this process (``scheduler="inline"``);
   * Dask ``LocalCluster`` with 1 worker and with 2 workers (one thread each), cluster start-up included.
   ``--runs`` rounds, each round running every kind in every configuration in turn (interleaved, so the machine's
   load falls on all alike), each into a fresh folder (no checkpoint reuse); the 1-minute load average before
   and after each run is kept. Medians, speed-up against the single process, and the Dask overhead (1 worker −
   single process). The records of every run of a kind must be identical. ``--out FILE.jsonl`` appends every
   run as it ends (a cut-short bench keeps its runs; ``--summarise FILE.jsonl`` prints the table from it).
2. **National regrade** (``--national GPKG --grid DIR``): every hazard source of the national GeoPackage
   (``gis-service make-sample national.gpkg --national``) against the population grid
   (``gis-service batch popgrid DIR --gpkg national.gpkg --points 100000000``), on Dask with ``--workers`` and in
   one process; seconds, partitions, receptors read by the widest partition, and the peak resident memory of a
   worker (``ru_maxrss`` of the process that ran the partitions) — bounded by the partition, not the country.

    nice -n 10 .venv/bin/python bench/bench_batch.py --scale 10 --runs 3 --out bench_batch.jsonl   # province
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


CONFIGS = [("single process", "inline", 1), ("Dask, 1 worker", "local", 1), ("Dask, 2 workers", "local", 2)]
KINDS = ("regrade", "qra", "exposure", "coverage")


def _run_kind(kind: str, store, root: Path, sched: str, workers: int, qp, graph, standards):
    from gis_service.analysis.consequence.params import ScenarioParams

    if kind == "regrade":
        return batches.regrade(store, root, sched, workers)
    if kind == "qra":
        return batches.qra(store, root, qp, sched, workers)
    if kind == "exposure":
        return batches.exposure(store, root, ScenarioParams(), sched, workers)
    return batches.coverage(store, root, graph, sched, workers, standards=standards)


def province(gpkg: Path, runs: int, resolution: float, reach: float, kinds: list[str], out: Path | None) -> list[dict]:
    from gis_service.config import Settings
    from gis_service.services.container import Services

    store = _store(gpkg)
    svc = Services.build(Settings(), store)
    graph, standards = svc.rescue.road_graph(), svc.rescue.standards
    qp = qra_params(resolution_m=resolution, max_range_m=reach)
    n = len(store.frame("hazard_sources", []))
    reference: dict[str, pd.DataFrame] = {}
    rows = []
    for r in range(runs):
        for kind in kinds:
            for name, sched, workers in CONFIGS:
                root = Path(tempfile.mkdtemp(prefix="bench_batch_"))
                load0 = os.getloadavg()[0]
                t = time.perf_counter()
                res = _run_kind(kind, store, root, sched, workers, qp, graph, standards)
                secs = time.perf_counter() - t
                rec = _records(res).drop(columns="geometry")
                if kind not in reference:
                    reference[kind] = rec
                elif not rec.equals(reference[kind]):
                    print(f"DIFFERENT records from {kind} {name}", flush=True)
                    sys.exit(1)
                row = {"kind": kind, "config": name, "round": r + 1, "seconds": round(secs, 2),
                       "partitions": res.summary["partitions"], "records": len(rec), "hazard_sources": n,
                       "load1_before": round(load0, 2), "load1_after": round(os.getloadavg()[0], 2),
                       "resolution_m": resolution, "max_range_m": reach}
                rows.append(row)
                if out is not None:
                    with out.open("a") as fh:
                        fh.write(json.dumps(row) + "\n")
                print(f"  round {r + 1}: {kind:9s} {name:16s} {secs:7.1f} s ({row['partitions']} partitions, "
                      f"load {row['load1_before']:.1f}→{row['load1_after']:.1f})", flush=True)
    return rows


def summarise(rows: list[dict]) -> str:
    """The scaling table (Markdown): median seconds per kind and configuration, speed-ups, Dask overhead, load."""
    lines = ["| batch | records | single process | Dask 1 worker | Dask 2 workers | ×(2 workers vs single) | "
             "Dask overhead (1 worker − single) | runs | load average (1 min) during |",
             "|---|---|---|---|---|---|---|---|---|"]
    for kind in KINDS:
        of = [r for r in rows if r["kind"] == kind]
        if not of:
            continue
        med = {name: statistics.median([r["seconds"] for r in of if r["config"] == name] or [float("nan")])
               for name, _, _ in CONFIGS}
        n_runs = min(sum(r["config"] == name for r in of) for name, _, _ in CONFIGS)
        loads = [v for r in of for v in (r["load1_before"], r["load1_after"])]
        single, one, two = med["single process"], med["Dask, 1 worker"], med["Dask, 2 workers"]
        lines.append(f"| {kind} | {of[0]['records']:,} | {single:.1f} s | {one:.1f} s | {two:.1f} s | "
                     f"×{single / two:.2f} | {one - single:+.1f} s | {n_runs} | "
                     f"{min(loads):.1f}–{max(loads):.1f} (median {statistics.median(loads):.1f}) |")
    return "\n".join(lines)


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
    ap.add_argument("--kinds", default="regrade,qra,exposure,coverage", help="province batches to run")
    ap.add_argument("--out", type=Path, default=None, help="append every run to this JSON-lines file")
    ap.add_argument("--summarise", type=Path, default=None, help="print the table from a --out file and stop")
    args = ap.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    if args.summarise is not None:
        print(summarise([json.loads(line) for line in args.summarise.read_text().splitlines() if line.strip()]))
        return 0
    if "province" not in skip:
        gpkg = args.gpkg
        if gpkg is None:
            gpkg = Path("sample_data/generated") / f"jilin_x{args.scale}.gpkg"
            if not gpkg.exists():
                from gis_service.cli import build_sample

                gpkg.parent.mkdir(parents=True, exist_ok=True)
                build_sample(gpkg, scale=args.scale)
        kinds = [k for k in args.kinds.split(",") if k]
        bad = [k for k in kinds if k not in KINDS]
        if bad:
            ap.error(f"unknown kind(s) {bad}; known: {', '.join(KINDS)}")
        rows = province(gpkg, args.runs, args.resolution, args.range, kinds, args.out)
        print(f"\nprovince batches on {gpkg}, median of {args.runs} (QRA {args.resolution:g} m grid, {args.range:g} m)")
        print(summarise(rows))
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
