"""Bulk download: the service's streamed downloads (GeoPackage, FlatGeobuf, CSV) vs the obvious alternative (read the
whole selection into one GeoDataFrame, ``to_file`` it), side by side, on the national-size set's 300,000 hazard
sources.

    python bench/bench_downloads.py --gpkg /work/national/national.gpkg \
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/gis_national] [--layer hazard_sources] \
        [--stores embedded,postgis] [--paths ours-gpkg,ours-fgb,ours-csv,frame-gpkg] [--repeat 3] [--filter CQL2]

Each path runs in a fresh process (so one path's caches and heap cannot help or hurt the next), ``--repeat`` times,
alternating paths. Printed per store and path: median seconds, MB written, MB/s, and the peak resident memory the
download added to the process (ru_maxrss of that process minus its RSS once the libraries (GDAL, Arrow) were loaded and the
store opened,
so GDAL's, numpy's and the driver's buffers all count), then the ratio of the GeoPackage paths. The embedded store
opens the layer before the clock starts (it serves from memory); the PostGIS store reads from the database in both
paths (``store.frame`` is one ``SELECT`` of the whole layer). Every output file is read back (feature count).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PATHS = ("ours-gpkg", "ours-fgb", "ours-csv", "frame-gpkg")


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1e3
    return 0.0


def run_one(args) -> dict:
    """One download in this process (the child's side)."""
    from gis_service import crs as crsmod
    from gis_service.catalog import default_catalog
    from gis_service.cql2 import parse_filter
    from gis_service.services.downloads import DownloadsService
    from gis_service.stores.base import Query

    catalog = default_catalog()
    if args.store == "postgis":
        from gis_service.stores.postgis import PostGISStore

        store = PostGISStore(catalog, args.pg_url)
    else:
        from gis_service.stores.embedded import EmbeddedStore

        store = EmbeddedStore(catalog, args.gpkg)
    store.count(args.layer)  # opened (embedded: the layer loaded into memory)
    query = Query(cql=parse_filter(store.spec(args.layer), args.filter)) if args.filter else Query()
    kind, fmt = args.one.split("-")
    out = os.path.join(args.dir, f"{args.store}-{args.one}.{fmt}")
    import pyarrow  # noqa: F401 - libraries loaded before the baseline: their code is not the download's memory
    import pyogrio

    pyogrio.list_drivers()
    base = _rss_mb()
    t0 = time.perf_counter()
    if kind == "ours":
        with open(out, "wb") as fh:
            for block in DownloadsService(store).stream(args.layer, query, fmt, crsmod.CRS84_CRS):
                fh.write(block)
    else:
        frame = store.frame(args.layer)
        if query.cql is not None:  # the alternative filters after reading (as a script would)
            keep = {int(i) for c in store.export(args.layer, query) for i in c.ids}
            frame = frame[frame.index.isin(keep)]
        for a in store.spec(args.layer).attributes:
            if a.type == "json":
                frame[a.name] = [None if v is None else json.dumps(v, ensure_ascii=False) for v in frame[a.name]]
        frame.reset_index().to_file(out, layer=args.layer, driver="GPKG", engine="pyogrio")
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    rows = sum(1 for _ in open(out, encoding="utf-8-sig")) - 1 if fmt == "csv" else \
        pyogrio.read_info(out, layer=args.layer)["features"]
    size = os.path.getsize(out)
    os.unlink(out)
    return {"s": dt, "bytes": size, "added_mb": max(0.0, peak - base), "rows": rows}


def bench(args, store: str) -> None:
    import pyogrio

    n = pyogrio.read_info(args.gpkg, layer=args.layer)["features"]
    print(f"\n== {store}: {args.layer} ({n:,} features in the layer){' filter: ' + args.filter if args.filter else ''}"
          f"; load average {os.getloadavg()[0]:.2f}")
    print(f"{'path':<12} {'median s':>9} {'MB':>7} {'MB/s':>7} {'+RSS MB':>8} {'rows':>9}  runs (s)")
    results: dict[str, list[dict]] = {p: [] for p in args.paths}
    with tempfile.TemporaryDirectory() as d:
        gpkg = args.gpkg
        if store == "embedded":  # the embedded store loads every layer of its file: give it the benchmarked one
            gpkg = Path(d) / "one-layer.gpkg"
            with pyogrio.open_arrow(args.gpkg, layer=args.layer, use_pyarrow=True) as (meta, reader):
                pyogrio.write_arrow(reader, gpkg, layer=args.layer, driver="GPKG", geometry_name="geom",
                                    geometry_type=meta["geometry_type"], crs=meta["crs"])
        for _ in range(args.repeat):
            for path in args.paths:
                cmd = [sys.executable, __file__, "--one", path, "--store", store, "--dir", d, "--gpkg", str(gpkg),
                       "--layer", args.layer, "--filter", args.filter or ""]
                if args.pg_url:
                    cmd += ["--pg-url", args.pg_url]
                done = subprocess.run(cmd, capture_output=True, text=True, check=True)
                results[path].append(json.loads(done.stdout.strip().splitlines()[-1]))
    med = {}
    for path, runs in results.items():
        s = statistics.median(r["s"] for r in runs)
        mb = runs[0]["bytes"] / 1e6
        added = statistics.median(r["added_mb"] for r in runs)
        med[path] = s
        print(f"{path:<12} {s:>9.2f} {mb:>7.1f} {mb / s:>7.1f} {added:>8.0f} {runs[0]['rows']:>9,}  "
              + " ".join(f"{r['s']:.2f}" for r in runs))
    if "ours-gpkg" in med and "frame-gpkg" in med:
        print(f"GeoPackage: ours / whole frame (time) = {med['ours-gpkg'] / med['frame-gpkg']:.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gpkg", type=Path, required=True)
    ap.add_argument("--pg-url", default=None)
    ap.add_argument("--layer", default="hazard_sources")
    ap.add_argument("--stores", default="embedded,postgis")
    ap.add_argument("--paths", default=",".join(PATHS))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--filter", default="")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--store", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--dir", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args)))
        return 0
    args.paths = [p for p in args.paths.split(",") if p]
    for store in args.stores.split(","):
        if store == "postgis" and not args.pg_url:
            continue
        bench(args, store)
    return 0


if __name__ == "__main__":
    sys.exit(main())
