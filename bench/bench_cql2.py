"""CQL2 filters: pushed down (bound SQL on PostGIS, vectorised masks on the embedded store) vs filtering in Python
(read the bbox's rows, evaluate the same predicate per feature), side by side on the national-size set.

    python bench/bench_cql2.py --gpkg /tmp/national.gpkg [--pg-url postgresql+psycopg://…/db] [--repeat 7]
        [--stores embedded,postgis]

tipg's CQL2 could not be run here (tipg is not installed in this environment); the Python path is the "obvious
alternative" the project's rules ask for. Printed: median ms per filtered page (limit 100) as the API reads it
(numberMatched counted up to GIS_MATCHED_COUNT_CAP, ``api``) and with an exact COUNT of the selection (``exact``, what
every filtered page did before the cap), the Python path, and the ratio api / python. ``matched`` is the exact count,
or ">cap" where the API omits numberMatched. The embedded store loads every layer of the file (minutes for the
national set).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gis_service.catalog import default_catalog  # noqa: E402
from gis_service.config import Settings  # noqa: E402
from gis_service.cql2 import parse_filter  # noqa: E402
from gis_service.stores.base import Query  # noqa: E402

CASES = [  # (layer, filter, bbox the Python path reads, Python predicate)
    ("receptors", "population > 20000 AND receptor_class = 'residential' AND S_INTERSECTS(geometry, BBOX(112,22,118,26))",
     (112, 22, 118, 26), lambda p: (p["population"] or 0) > 20000 and p["receptor_class"] == "residential"),
    ("hazard_sources", "unit_type = 'storage' AND county LIKE '%县' AND S_INTERSECTS(geometry, BBOX(100,25,110,35))",
     (100, 25, 110, 35), lambda p: p["unit_type"] == "storage" and (p["county"] or "").endswith("县")),
    ("receptors", "receptor_class IN ('school','hospital') AND population BETWEEN 1000 AND 1500 AND "
     "S_INTERSECTS(geometry, BBOX(120,30,123,33))", (120, 30, 123, 33),
     lambda p: p["receptor_class"] in ("school", "hospital") and 1000 <= (p["population"] or -1) <= 1500),
    # broad selections (over a million receptors): the page is cheap, an exact count of the selection is not
    ("receptors", "S_INTERSECTS(geometry, BBOX(100,20,125,45))", (100, 20, 125, 45), lambda p: True),
    ("receptors", "receptor_class = 'residential' AND S_INTERSECTS(geometry, BBOX(73,18,135,54))", (73, 18, 135, 54),
     lambda p: p["receptor_class"] == "residential"),
]


def timed(fn, repeat):
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = fn()
        out.append((time.perf_counter() - t0) * 1000)
    return statistics.median(out), res


def bench(name, store, repeat):
    print(f"\n== {name}; load average {os.getloadavg()[0]:.2f}")
    print(f"{'layer':<15} {'api ms':>8} {'exact ms':>9} {'python ms':>10} {'ratio':>7}  {'matched':>8}  filter")
    for layer, text, bbox, pred in CASES:
        one_case(store, layer, text, bbox, pred, repeat)


def one_case(store, layer, text, bbox, pred, repeat):
    expr = parse_filter(store.spec(layer), text)
    cap = Settings().matched_count_cap
    times: dict[str, list[float]] = {"api": [], "exact": []}
    pages = {}
    queries = [("api", Query(cql=expr, limit=100, count_cap=cap)), ("exact", Query(cql=expr, limit=100))]
    for i in range(repeat):   # alternated, so neither runs alone on the cache the other warmed
        for name, q in queries if i % 2 else queries[::-1]:
            t0 = time.perf_counter()
            pages[name] = store.items(layer, q)
            times[name].append((time.perf_counter() - t0) * 1000)
    page, counted = pages["api"], pages["exact"]
    ours, exact = statistics.median(times["api"]), statistics.median(times["exact"])

    def python_path():
        got, offset = [], 0
        while True:  # page through the bbox (10,000 at a time) and filter in Python
            pg = store.items(layer, Query(bbox=bbox, limit=10_000, offset=offset))
            got += [f for f in pg.features if pred(f.properties)]
            if len(pg.features) < 10_000 or len(got) >= 100:
                return got[:100]
            offset += 10_000

    theirs, rows = timed(python_path, max(1, repeat // 2))
    assert [f.id for f in page.features] == [f.id for f in rows], "the two paths disagree"
    matched = str(counted.number_matched) if page.matched_exact else f">{cap}"
    print(f"{layer:<15} {ours:>8.1f} {exact:>9.1f} {theirs:>10.1f} {ours / theirs:>7.2f}  {matched:>8}  {text[:60]}",
          flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gpkg", type=Path, required=True)
    ap.add_argument("--pg-url", default=None)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--stores", default="embedded,postgis")
    args = ap.parse_args()
    from gis_service.stores.embedded import EmbeddedStore

    if "embedded" in args.stores:
        bench("embedded", EmbeddedStore(default_catalog(), args.gpkg), args.repeat)
    if args.pg_url and "postgis" in args.stores:
        from gis_service.stores.postgis import PostGISStore

        bench("postgis", PostGISStore(default_catalog(), args.pg_url), args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
