"""Benchmark: what jurisdiction scoping and the audit trail cost (issue 20), both stores side by side.

* items page (limit 100, and 1000) of hazard sources: a city's caller (row-level security on PostGIS, the mask on
  the embedded store) vs the whole service (no scope) — the issue asks for ≤ 20 % more;
* nearest 5 rescue teams (a shared layer: RLS policy ``true`` for scoped roles) scoped vs unscoped;
* a feature write (replace one hazard source) with its audit record vs the same write without (the stores'
  ``_audit`` switch, used only here) — the issue asks for < 5 ms p50 added.

Data: the Jilin sample's admin areas and rescue teams, plus ``--features`` hazard sources at random points in
Jilin, each stamped with its county by the layers facade. Prints medians, p90 and ratios.

    .venv/bin/python bench/bench_jurisdiction.py [--features 20000] [--rounds 200] [--store both|embedded|postgis]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import ADMIN_URL  # noqa: E402

from gis_service import access  # noqa: E402
from gis_service.catalog import default_catalog  # noqa: E402
from gis_service.config import Settings  # noqa: E402
from gis_service.loading import read_frame, rows_from_frame  # noqa: E402
from gis_service.services.container import Services  # noqa: E402
from gis_service.stores.base import Query, WriteBatch  # noqa: E402
from gis_service.stores.embedded import EmbeddedStore  # noqa: E402
from gis_service.validation import validate_rows  # noqa: E402

DB = "gis_bench_scope"
SAMPLE = ROOT / "sample_data" / "jilin_sample.gpkg"
CITY = "2201"  # Changchun


def _postgis():
    from gis_service.stores.postgis import PostGISStore

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone():
            conn.execute(f'CREATE DATABASE "{DB}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{DB}"
    store = PostGISStore(default_catalog(), url.replace("postgresql://", "postgresql+psycopg://"))
    store.drop_all()
    store.init()
    return store


def fill(store, n: int) -> None:
    svc = Services.build(Settings(), store)
    for layer in ("admin_areas", "rescue_teams"):
        result = rows_from_frame(store.spec(layer), read_frame(SAMPLE, layer=layer), keep_ids=True)
        svc.layers.replace_all(layer, result.rows)
    rng = np.random.default_rng(20)
    lon, lat = rng.uniform(122.0, 130.5, n), rng.uniform(41.5, 46.0, n)
    props = {"name": "储罐区", "enterprise": "企业", "unit_type": "storage",
             "inventory": [{"substance": "chlorine", "cas": "7782-50-5", "quantity_t": 20.0}]}
    rows = validate_rows(store.spec("hazard_sources"), [(p, dict(props)) for p in shapely.points(lon, lat)])
    svc.layers.replace_all("hazard_sources", [])
    for i in range(0, len(rows), 5000):
        svc.layers.write("hazard_sources", WriteBatch(creates=rows[i:i + 5000]))
    if store.kind == "postgis":  # statistics, as autovacuum keeps them in service (the estimate picks the plan)
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE riskmap.hazard_sources, riskmap.rescue_teams")


def timed(fn, rounds: int) -> list[float]:
    fn()
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def interleaved(fn_a, fn_b, rounds: int) -> tuple[list[float], list[float]]:
    """Both sides in alternation (a, b, a, b, …), so drifts of a loaded machine hit both alike."""
    fn_a(), fn_b()
    a: list[float] = []
    b: list[float] = []
    for _ in range(rounds):
        for fn, out in ((fn_a, a), (fn_b, b)):
            t0 = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t0) * 1000)
    return a, b


def line(name: str, a: list[float], b: list[float], label_a: str, label_b: str) -> None:
    ma, mb = statistics.median(a), statistics.median(b)
    pa, pb = np.percentile(a, 90), np.percentile(b, 90)
    print(f"  {name:<34} {label_a} {ma:8.3f} ms (p90 {pa:7.3f})   {label_b} {mb:8.3f} ms (p90 {pb:7.3f})   "
          f"ratio {ma / mb:5.2f}   diff {ma - mb:+.3f} ms")


def run(store, rounds: int) -> None:
    svc = Services.build(Settings(), store)
    with access.scoped(CITY):
        n_city = store.count("hazard_sources")
    print(f"\n== {store.kind}: hazard sources {store.count('hazard_sources')}, of them in {CITY}: {n_city}")
    point = shapely.Point(125.3, 43.9)
    def as_city(fn):
        def run():
            with access.scoped(CITY):
                return fn()
        return run

    for limit in (100, 1000):
        def page(limit=limit):
            return store.items("hazard_sources", Query(limit=limit))

        line(f"items page limit={limit}", *interleaved(as_city(page), page, rounds), "scoped", "whole ")

    def nearest():
        return store.nearest("rescue_teams", point, 5)

    line("nearest 5 rescue teams", *interleaved(as_city(nearest), nearest, rounds), "scoped", "whole ")

    with access.scoped(CITY):
        fid = store.items("hazard_sources", Query(limit=1)).features[0].id
    spec = store.spec("hazard_sources")
    feature = store.get("hazard_sources", fid)
    k = [0]

    def write():
        k[0] += 1
        props = {**feature.properties, "inventory": [{"substance": "chlorine", "cas": "7782-50-5",
                                                      "quantity_t": 10.0 + k[0] % 50}]}
        svc.layers.write("hazard_sources", WriteBatch(replaces={fid: validate_rows(spec, [(feature.geometry,
                                                                                         props)])[0]}))

    def bare():
        store._audit = False
        try:
            write()
        finally:
            store._audit = True

    w_rounds = max(20, rounds // 4) if store.kind == "embedded" else rounds
    line("replace one feature", *interleaved(as_city(write), as_city(bare), w_rounds), "audit ", "none  ")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--features", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--store", choices=["both", "embedded", "postgis"], default="both")
    args = ap.parse_args()
    if args.store in ("both", "embedded"):
        with tempfile.TemporaryDirectory() as tmp:
            store = EmbeddedStore(default_catalog(), Path(tmp) / "bench.gpkg")
            store.init()
            fill(store, args.features)
            run(store, args.rounds)
    if args.store in ("both", "postgis"):
        store = _postgis()
        fill(store, args.features)
        run(store, args.rounds)
        store.close()


if __name__ == "__main__":
    main()
