"""Benchmark: what the issue-24 hardening costs — items page, nearest rescue and a map render, before
and after, side by side, on both stores.

"Before" is another checkout (``--before DIR``, e.g. a worktree of the commit before the map-token
fix: ``git worktree add /work/wt/old24 7c73dce^``), "after" this checkout. Each side is served by
uvicorn in its own process on the same data (a copy of the Jilin sample GeoPackage; the sample in a
PostGIS database); the two servers are asked in alternation, one request at a time over a kept-alive
connection, so machine load drifts hit both alike. Printed per store and request: the median of
``--n`` requests before and after and the ratio after/before (> 1 = slower).

    .venv/bin/python bench/bench_security_cost.py --before /work/wt/old24            # both stores
    .venv/bin/python bench/bench_security_cost.py --before /work/wt/old24 --n 20     # quicker

Requests: ``GET /collections/hazard_sources/items?limit=100&offset=…`` (items page),
``GET /analysis/rescue/nearest?lon&lat&incident=chemical&k=5`` (nearest rescue),
``GET /maps/layer/chemical_parks`` (a map render: Folium document, tokens filled).
"""

from __future__ import annotations

import argparse
import http.client
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from conftest import ServerProcess  # noqa: E402

KINDS = ("items", "nearest", "map")


def path_for(kind: str, rng: np.random.Generator) -> str:
    if kind == "items":
        return f"/collections/hazard_sources/items?limit=100&offset={int(rng.integers(0, 200))}"
    if kind == "nearest":
        lon, lat = rng.uniform(124.0, 129.5), rng.uniform(41.5, 45.5)
        return f"/analysis/rescue/nearest?lon={lon:.4f}&lat={lat:.4f}&incident=chemical&k=5"
    return "/maps/layer/chemical_parks"


def timed(conn: http.client.HTTPConnection, path: str) -> float:
    t0 = time.perf_counter()
    conn.request("GET", path)
    r = conn.getresponse()
    r.read()
    if r.status != 200:
        raise RuntimeError(f"{path}: {r.status}")
    return time.perf_counter() - t0


def server(env: dict[str, str], code: Path | None) -> ServerProcess:
    extra = {"PYTHONPATH": str(code.resolve()), "PYTHONSAFEPATH": "1"} if code else {}
    srv = ServerProcess({**env, **extra, "GIS_LOG_LEVEL": "WARNING"})
    if code:
        srv.cmd += ["--app-dir", str(code.resolve())]
    return srv


def compare(env: dict[str, str], before: Path, n: int) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    with server(env, before) as old, server(env, None) as new:
        conns = {"before": http.client.HTTPConnection("127.0.0.1", old.port, timeout=120),
                 "after": http.client.HTTPConnection("127.0.0.1", new.port, timeout=120)}
        for kind in KINDS:
            times: dict[str, list[float]] = {"before": [], "after": []}
            rng = np.random.default_rng(24)
            for side in conns:          # warm-up: caches, first map render
                for _ in range(3):
                    timed(conns[side], path_for(kind, rng))
            for i in range(n):
                path = path_for(kind, rng)
                order = ("before", "after") if i % 2 == 0 else ("after", "before")
                for side in order:
                    times[side].append(timed(conns[side], path))
            out[kind] = (statistics.median(times["before"]), statistics.median(times["after"]))
        for c in conns.values():
            c.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", type=Path, required=True, help="checkout with the code before the change")
    ap.add_argument("--n", type=int, default=60, help="requests per kind and side")
    ap.add_argument("--stores", default="embedded,postgis")
    ap.add_argument("--dsn", default="postgresql+psycopg://postgres@127.0.0.1:5432/gis_bench_security")
    args = ap.parse_args()

    from gis_service.cli import build_sample

    tmp = Path(tempfile.mkdtemp(prefix="bench_security_"))
    sample = tmp / "sample.gpkg"
    build_sample(sample)
    rows = []
    for store in args.stores.split(","):
        if store == "embedded":
            env = {"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(sample)}
        else:
            import psycopg

            from gis_service.catalog import default_catalog
            from gis_service.stores.postgis import PostGISStore

            admin = args.dsn.rsplit("/", 1)[0].replace("+psycopg", "") + "/postgres"
            name = args.dsn.rsplit("/", 1)[1]
            with psycopg.connect(admin, autocommit=True) as conn:
                if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                    conn.execute(f'CREATE DATABASE "{name}"')  # noqa: S608 - fixed bench identifier
            with psycopg.connect(args.dsn.replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            pg = PostGISStore(default_catalog(), args.dsn)
            pg.drop_all()
            pg.init()
            from conftest import load_gpkg_into

            load_gpkg_into(pg, sample)
            pg.close()
            env = {"GIS_STORE": "postgis", "GIS_DATABASE_URL": args.dsn}
        for kind, (b, a) in compare(env, args.before, args.n).items():
            rows.append((store, kind, b, a))
            print(f"{store:9s} {kind:8s} before {b * 1000:8.2f} ms   after {a * 1000:8.2f} ms   "
                  f"ratio after/before {a / b:5.2f}", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
