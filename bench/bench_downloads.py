"""Bulk download: the streamed GeoPackage (keyset chunks, constant memory) vs the obvious alternative (read the whole
selection into one GeoDataFrame, write it), side by side, on the national-size set's 300,000 hazard sources.

    python bench/bench_downloads.py --gpkg /tmp/national.gpkg [--pg-url postgresql+psycopg://…/db] [--layer hazard_sources]

Printed per store and path: seconds, MB written, MB/s and the peak of Python allocations (tracemalloc) during the
download — numpy/shapely/GDAL buffers outside Python's allocator are not counted, so the peak is a lower bound
for both paths alike. The output file is read back (row count) so nothing is lost on the way.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gis_service import crs as crsmod  # noqa: E402
from gis_service.catalog import default_catalog  # noqa: E402
from gis_service.services.downloads import DownloadsService  # noqa: E402
from gis_service.stores.base import Query  # noqa: E402


def measure(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return dt, peak / 1e6, out


def ours(store, layer, path):
    def fn():
        with open(path, "wb") as fh:
            for block in DownloadsService(store).stream(layer, Query(), "gpkg", crsmod.CRS84_CRS):
                fh.write(block)
        return os.path.getsize(path)
    return fn


def whole_frame(store, layer, path):
    def fn():
        frame = store.frame(layer)
        for a in store.spec(layer).attributes:
            if a.type == "json":
                import json

                frame[a.name] = [None if v is None else json.dumps(v, ensure_ascii=False) for v in frame[a.name]]
        frame.reset_index().to_file(path, layer=layer, driver="GPKG", engine="pyogrio")
        return os.path.getsize(path)
    return fn


def bench(name, store, layer):
    import pyogrio

    n = store.count(layer)
    print(f"\n== {name}: {layer}, {n:,} features")
    print(f"{'path':<22} {'s':>7} {'MB':>7} {'MB/s':>7} {'peak py MB':>11} rows read back")
    with tempfile.TemporaryDirectory() as d:
        res = {}
        for label, make in (("ours (streamed gpkg)", ours), ("whole frame → gpkg", whole_frame)):
            path = os.path.join(d, f"{label[:4]}.gpkg")
            dt, peak, size = measure(make(store, layer, path))
            rows = pyogrio.read_info(path, layer=layer)["features"]
            res[label] = dt
            print(f"{label:<22} {dt:>7.1f} {size / 1e6:>7.1f} {size / 1e6 / dt:>7.1f} {peak:>11.0f} {rows:>8}")
            os.unlink(path)
        print(f"ratio ours / whole frame (time): {res['ours (streamed gpkg)'] / res['whole frame → gpkg']:.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gpkg", type=Path, required=True)
    ap.add_argument("--pg-url", default=None)
    ap.add_argument("--layer", default="hazard_sources")
    args = ap.parse_args()
    from gis_service.stores.embedded import EmbeddedStore

    bench("embedded", EmbeddedStore(default_catalog(), args.gpkg), args.layer)
    if args.pg_url:
        from gis_service.stores.postgis import PostGISStore

        bench("postgis", PostGISStore(default_catalog(), args.pg_url), args.layer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
