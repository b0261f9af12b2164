"""Benchmark: 50 concurrent clients on a mix of cheap and heavy requests, on both stores; and
straight-line nearest rescue through HTTP vs the store's raw KNN query.

Part 1 — mixed load. ``--clients`` threads (default 50, keep-alive ``http.client`` connections) send,
for ``--seconds`` each, a fixed cycle of requests to uvicorn (``--workers``, default 1):

* items    ``GET /collections/hazard_sources/items?limit=20&offset=…``            (cheap)
* nearest  ``GET /analysis/rescue/nearest?lon&lat&incident=fire&k=5``            (cheap)
* exposure ``GET /analysis/exposure/hazard_sources/{id}``                         (heavy)
* siting   ``GET /analysis/siting/{park_id}``                                      (heavy)

in the proportions 8 : 8 : 3 : 1. Reported per store: requests per second, p50 and p99 latency and
errors (any non-200 or dropped connection), overall and per kind. The point of the hardening work
is that heavy requests no longer hold up cheap ones (blocking work off the event loop).

Part 2 — the rescue ratio: ``bench_rescue_api.py``'s comparison (HTTP nearest vs the raw PostGIS KNN
SQL the store sends, same clients) at 8 clients.

``--code DIR`` serves the code of another checkout (e.g. ``/work/main``) with the same data and
clients, for a before/after comparison. Server logging is set to WARNING for both (main has none).

    .venv/bin/python bench/bench_concurrency.py                       # both stores, 50 clients, 20 s
    .venv/bin/python bench/bench_concurrency.py --code /work/main     # the same against another checkout
    .venv/bin/python bench/bench_concurrency.py --small               # smoke run

Database: ``--dsn`` (default postgresql://postgres@127.0.0.1:5432/gis_bench_concurrency, created if
missing; its riskmap tables are replaced).
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

import bench_rescue_api as rescue_bench  # noqa: E402
from conftest import ServerProcess  # noqa: E402

MIX = ["items"] * 8 + ["nearest"] * 8 + ["exposure"] * 3 + ["siting"]
CHEAP = ("items", "nearest")


def _paths(kind: str, i: int, rng: np.random.Generator, n_hazards: int, n_parks: int) -> str:
    if kind == "items":
        return f"/collections/hazard_sources/items?limit=20&offset={int(rng.integers(0, max(1, n_hazards - 20)))}"
    if kind == "nearest":
        lon, lat = rng.uniform(rescue_bench.LON0, rescue_bench.LON1), rng.uniform(rescue_bench.LAT0, rescue_bench.LAT1)
        return f"/analysis/rescue/nearest?lon={lon:.5f}&lat={lat:.5f}&incident=fire&k=5"
    if kind == "exposure":
        return f"/analysis/exposure/hazard_sources/{int(rng.integers(1, n_hazards + 1))}"
    return f"/analysis/siting/{int(rng.integers(1, n_parks + 1))}"


def mixed_load(port: int, clients: int, seconds: float, n_hazards: int, n_parks: int) -> dict:
    results: list[tuple[str, float, bool]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    stop = threading.Event()

    def client(c: int) -> None:
        rng = np.random.default_rng(100 + c)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine: list[tuple[str, float, bool]] = []
        barrier.wait()
        i = c  # clients start at different places of the cycle
        while not stop.is_set():
            kind = MIX[i % len(MIX)]
            i += 1
            path = _paths(kind, i, rng, n_hazards, n_parks)
            t0 = time.perf_counter()
            ok = False
            try:
                conn.request("GET", path)
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            mine.append((kind, time.perf_counter() - t0, ok))
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    out = {"all": _stats([r for r in results], wall)}
    for kind in dict.fromkeys(MIX):
        out[kind] = _stats([r for r in results if r[0] == kind], wall)
    out["cheap"] = _stats([r for r in results if r[0] in CHEAP], wall)
    return out


def _stats(rows: list[tuple[str, float, bool]], wall: float) -> dict:
    lat = [r[1] for r in rows]
    return {"n": len(rows), "rate": len(rows) / wall, "errors": sum(not r[2] for r in rows),
            "p50_ms": 1000 * statistics.median(lat) if lat else float("nan"),
            "p99_ms": 1000 * float(np.percentile(lat, 99)) if lat else float("nan")}


def _print(store: str, res: dict) -> None:
    print(f"\n{store}: {'kind':<9} {'n':>6} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for kind in ("all", "cheap", *dict.fromkeys(MIX)):
        r = res[kind]
        print(f"{'':<{len(store) + 2}}{kind:<9} {r['n']:>6} {r['rate']:7.1f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} "
              f"{r['errors']:>6}")


def _warm(port: int, n_hazards: int, n_parks: int) -> None:
    rng = np.random.default_rng(1)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    for kind in dict.fromkeys(MIX):
        conn.request("GET", _paths(kind, 0, rng, n_hazards, n_parks))
        r = conn.getresponse()
        r.read()
    conn.close()


def _which_code(port: int) -> None:
    """Say which code answers: /healthz exists since the hardening work (issue 10)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/healthz")
    r = conn.getresponse()
    r.read()
    print(f"  (server code: {'with' if r.status == 200 else 'without'} the hardening changes; /healthz → {r.status})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/gis_bench_concurrency")
    ap.add_argument("--scale", type=int, default=1, help="build_sample scale")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--stores", default="embedded,postgis")
    ap.add_argument("--code", type=Path, default=None, help="serve the gis_service of this checkout instead")
    ap.add_argument("--no-knn", action="store_true", help="skip part 2 (HTTP nearest vs raw KNN)")
    ap.add_argument("--small", action="store_true", help="smoke run: 10 clients, 5 s")
    args = ap.parse_args()
    if args.small:
        args.clients, args.seconds = 10, 5.0

    t0 = time.perf_counter()
    counts = rescue_bench.load_sample(args.dsn, args.scale)
    n_hazards, n_parks = counts["hazard_sources"], counts["chemical_parks"]
    sa_url = args.dsn.replace("postgresql://", "postgresql+psycopg://", 1)
    # the code of --code comes first: PYTHONPATH, PYTHONSAFEPATH (no current directory on sys.path) and
    # uvicorn's --app-dir (which it puts first on sys.path; its default is the current directory)
    code_env = {"PYTHONPATH": str(args.code.resolve()), "PYTHONSAFEPATH": "1"} if args.code else {}

    def server(env: dict, workers: int) -> ServerProcess:
        srv = ServerProcess(env, workers=workers)
        if args.code:
            srv.cmd += ["--app-dir", str(args.code.resolve())]
        return srv

    print(f"sample scale {args.scale}: {n_hazards} hazard sources, {n_parks} parks, {counts['rescue_teams']} teams; "
          f"{args.clients} clients × {args.seconds:g} s, {args.workers} worker(s), code: {args.code or 'this checkout'}; "
          f"{os.cpu_count()} CPUs shared by clients, server and PostgreSQL")
    tmp = Path(tempfile.mkdtemp(prefix="bench_conc_"))
    try:
        from gis_service.cli import build_sample

        gpkg = tmp / "sample.gpkg"
        build_sample(gpkg, scale=args.scale)
        for store in args.stores.split(","):
            env = {"GIS_LOG_LEVEL": "WARNING", **code_env}
            if store == "postgis":
                env.update(GIS_STORE="postgis", GIS_DATABASE_URL=sa_url)
            else:
                copy = tmp / "served.gpkg"
                shutil.copyfile(gpkg, copy)
                env.update(GIS_STORE="embedded", GIS_GPKG_PATH=str(copy))
            with server(env, args.workers) as srv:
                _which_code(srv.port)
                _warm(srv.port, n_hazards, n_parks)
                _print(store, mixed_load(srv.port, args.clients, args.seconds, n_hazards, n_parks))
        if not args.no_knn:
            print("\nstraight-line nearest, 8 clients, 2000 requests, median of 3 rounds:")
            sql, params, probe = rescue_bench.capture_nearest_sql(args.dsn)
            rng = np.random.default_rng(11)
            pts = np.column_stack([rng.uniform(rescue_bench.LON0, rescue_bench.LON1, 2000),
                                   rng.uniform(rescue_bench.LAT0, rescue_bench.LAT1, 2000)])
            raw = rescue_bench.measure("raw PostGIS KNN (store SQL)", 3, 8, pts,
                                       rescue_bench.raw_worker(args.dsn, sql, params, probe))
            env = {"GIS_STORE": "postgis", "GIS_DATABASE_URL": sa_url, "GIS_LOG_LEVEL": "WARNING", **code_env}
            for w in sorted({1, args.workers}):
                with server(env, w) as srv:
                    _which_code(srv.port)
                    api = rescue_bench.measure(f"HTTP API, {w} worker(s)", 3, 8, pts,
                                               rescue_bench.api_worker(srv.port))
                print(f"  ratio HTTP/raw with {w} worker(s): {api['rate'] / raw['rate']:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"(total {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
