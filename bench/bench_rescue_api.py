"""Benchmark: straight-line nearest rescue teams through the HTTP API vs the raw PostGIS KNN query.

Both sides answer the same question on the same PostGIS data (the Jilin sample scaled up with
``build_sample(scale=N)``) under the same number of concurrent clients (default 8):

* **API**: ``GET /analysis/rescue/nearest?lon=&lat=&incident=fire&k=5`` served by uvicorn in a
  subprocess (``GIS_STORE=postgis``), clients are threads with keep-alive ``http.client``
  connections (stdlib: the lightest Python HTTP client, so the client costs as little CPU as possible
  on a small machine). Run with 1 worker and, with ``--workers 1,2``, with several.
* **raw PostGIS**: the *same ranking SQL the store sends for that request* — captured from
  ``PostGISStore.nearest`` with a SQLAlchemy ``before_cursor_execute`` hook and replayed with only the
  incident point's WKB swapped — over one psycopg connection per client thread.

Reported: per-request latency medians, throughput (median of ``--rounds`` rounds) and the ratio
API / raw. Everything (server, clients, PostgreSQL) shares this machine's cores, as in a one-box
deployment; the ratio is what the HTTP layer + analysis cost on top of the database query.

    .venv/bin/python bench/bench_rescue_api.py                  # scale 10 (1000 teams), 8 clients
    .venv/bin/python bench/bench_rescue_api.py --small          # smoke run (scale 1, short)
    .venv/bin/python bench/bench_rescue_api.py --workers 1,2    # also uvicorn with 2 workers
    .venv/bin/python bench/bench_rescue_api.py --no-load --checkout /work/wt/base   # the server of another checkout
                                                                 # (before/after: alternate runs with and without)

Database: ``--dsn`` (default postgresql://postgres@127.0.0.1:5432/gis_bench_rescue, created if missing;
its riskmap tables are replaced).
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import psycopg
import shapely
from shapely.geometry import Point

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from conftest import ServerProcess  # noqa: E402

from gis_service.catalog import default_catalog  # noqa: E402
from gis_service.loading import rows_from_frame  # noqa: E402
from gis_service.stores.postgis import PostGISStore  # noqa: E402

LON0, LON1, LAT0, LAT1 = 122.5, 130.5, 41.5, 45.8     # inside Jilin's extent
INCIDENT, TEAM_TYPE, K = "fire", "fire", 5


# ------------------------------------------------------------------ data

def ensure_database(dsn: str) -> None:
    base, name = dsn.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')  # noqa: S608 - benchmark database name from the CLI
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def load_sample(dsn: str, scale: int) -> dict[str, int]:
    import pyogrio

    from gis_service.cli import build_sample

    ensure_database(dsn)
    store = PostGISStore(default_catalog(), dsn.replace("postgresql://", "postgresql+psycopg://", 1))
    store.drop_all()
    store.init()
    counts = {}
    with tempfile.TemporaryDirectory() as tmp:
        gpkg = Path(tmp) / "sample.gpkg"
        build_sample(gpkg, scale=scale)
        for spec in store.catalog:
            frame = pyogrio.read_dataframe(gpkg, layer=spec.name)
            rows = rows_from_frame(spec, frame, keep_ids=True).rows
            store.replace_all(spec.name, rows)
            counts[spec.name] = len(rows)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    store.close()
    return counts


def capture_nearest_sql(dsn: str) -> tuple[str, dict, bytes]:
    """The SQL and parameters PostGISStore.nearest sends for one fire-team KNN query."""
    from sqlalchemy import event

    store = PostGISStore(default_catalog(), dsn.replace("postgresql://", "postgresql+psycopg://", 1))
    seen: list[tuple[str, dict]] = []

    def hook(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, dict(parameters)))

    probe = Point(126.55, 43.85)
    event.listen(store.engine, "before_cursor_execute", hook)
    store.nearest("rescue_teams", probe, K, filters={"team_type": TEAM_TYPE, "on_duty": True})
    event.remove(store.engine, "before_cursor_execute", hook)
    store.close()
    sql, params = next((s, p) for s, p in seen if "<->" in s)
    return sql, params, shapely.to_wkb(probe)


# ------------------------------------------------------------------ load generators

def run_threads(n_clients: int, points: np.ndarray, make_worker) -> tuple[float, list[float]]:
    """Split the points over n_clients threads; returns (requests per second, latencies s)."""
    chunks = np.array_split(points, n_clients)
    lat: list[list[float]] = [[] for _ in range(n_clients)]
    barrier = threading.Barrier(n_clients + 1)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            call = make_worker()
            barrier.wait()
            out = lat[i]
            for lon, la in chunks[i]:
                t0 = time.perf_counter()
                call(float(lon), float(la))
                out.append(time.perf_counter() - t0)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n_clients)]
    for t in threads:
        t.start()
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        for t in threads:
            t.join()
        raise errors[0] if errors else RuntimeError("a client failed to start") from None
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise errors[0]
    flat = [x for xs in lat for x in xs]
    return len(flat) / wall, flat


def _raw_bytes(v) -> bytes | None:
    v = getattr(v, "obj", v)                 # psycopg.Binary wraps the bytes
    return bytes(v) if isinstance(v, bytes | bytearray | memoryview) else None


def raw_worker(dsn: str, sql: str, params: dict, probe_wkb: bytes):
    def make():
        conn = psycopg.connect(dsn, autocommit=True)
        keys = [k for k, v in params.items() if _raw_bytes(v) == probe_wkb]
        assert keys, "the captured query has no point parameter"

        def call(lon: float, lat: float) -> None:
            p = dict(params)
            wkb = shapely.to_wkb(Point(lon, lat))
            for key in keys:
                p[key] = wkb
            rows = conn.execute(sql, p).fetchall()
            assert rows

        return call
    return make


def api_worker(port: int, trivial: bool = False):
    def make():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def call(lon: float, lat: float) -> None:
            q = urlencode({"lon": f"{lon:.6f}", "lat": f"{lat:.6f}", "incident": INCIDENT, "k": K})
            conn.request("GET", "/conformance" if trivial else f"/analysis/rescue/nearest?{q}")
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                raise RuntimeError(f"HTTP {r.status}: {body[:300]!r}")

        return call
    return make


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and its waited-for children (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def measure(name: str, rounds: int, clients: int, points: np.ndarray, make, server_pid: int | None = None) -> dict:
    """Throughput (median of rounds), latency percentiles and, with ``server_pid``, the server's CPU per request
    (a figure the machine's other load disturbs less than throughput does)."""
    run_threads(clients, points[: max(clients * 20, len(points) // 5)], make)        # warm-up
    rates, lats = [], []
    cpu0 = process_cpu_s(server_pid) if server_pid else 0.0
    for _ in range(rounds):
        rate, lat = run_threads(clients, points, make)
        rates.append(rate)
        lats += lat
    res = {"name": name, "rate": statistics.median(rates), "rates": rates,
           "p50_ms": 1000 * statistics.median(lats), "p95_ms": 1000 * float(np.percentile(lats, 95)),
           "cpu_ms": 1000 * (process_cpu_s(server_pid) - cpu0) / len(lats) if server_pid else None}
    cpu = f", server CPU {res['cpu_ms']:.2f} ms/request" if server_pid else ""
    print(f"  {name:<28} {res['rate']:8.0f} req/s (rounds: {', '.join(f'{r:.0f}' for r in rates)})  "
          f"latency p50 {res['p50_ms']:.2f} ms, p95 {res['p95_ms']:.2f} ms{cpu}", flush=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/gis_bench_rescue")
    ap.add_argument("--scale", type=int, default=10, help="build_sample scale (10 → 1000 teams)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=4000, help="requests per round (split over the clients)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", default="1", help="uvicorn worker counts to try, e.g. 1,2")
    ap.add_argument("--no-load", action="store_true", help="reuse the data already in --dsn")
    ap.add_argument("--small", action="store_true", help="smoke run: scale 1, 400 requests, 1 round")
    ap.add_argument("--checkout", help="serve the API from this checkout of the project (default: this one)")
    args = ap.parse_args()
    if args.small:
        args.scale, args.requests, args.rounds = 1, 400, 1

    t0 = time.perf_counter()
    if not args.no_load:
        counts = load_sample(args.dsn, args.scale)
        print(f"loaded sample scale {args.scale} into {args.dsn}: rescue_teams {counts['rescue_teams']}, "
              f"admin_areas {counts['admin_areas']}, roads {counts['roads']} ({time.perf_counter() - t0:.0f} s)")
    sql, params, probe = capture_nearest_sql(args.dsn)
    rng = np.random.default_rng(11)
    points = np.column_stack([rng.uniform(LON0, LON1, args.requests), rng.uniform(LAT0, LAT1, args.requests)])
    print(f"{args.clients} concurrent clients, {args.requests} requests per round, {args.rounds} rounds, "
          f"incident={INCIDENT} k={K}; machine: {os.cpu_count()} CPUs shared by clients, server and PostgreSQL")
    raw = measure("raw PostGIS KNN (store SQL)", args.rounds, args.clients, points,
                  raw_worker(args.dsn, sql, params, probe))
    results, ceiling = [], None
    for w in [int(x) for x in args.workers.split(",")]:
        env = {"GIS_STORE": "postgis", "GIS_DATABASE_URL": args.dsn.replace("postgresql://", "postgresql+psycopg://", 1)}
        if args.checkout:
            env["PYTHONPATH"] = str(Path(args.checkout).resolve())
        with ServerProcess(env, workers=w, cwd=args.checkout) as srv:
            results.append((w, measure(f"HTTP API, {w} worker(s)", args.rounds, args.clients, points,
                                       api_worker(srv.port), server_pid=srv.proc.pid)))
            if w == 1:   # what the web stack alone costs: a static endpoint, no database
                ceiling = measure("HTTP /conformance, 1 worker", args.rounds, args.clients, points,
                                  api_worker(srv.port, trivial=True), server_pid=srv.proc.pid)
    print()
    print(f"{'':<28} {'req/s':>8} {'p50 ms':>8} {'ratio to raw':>13} {'server CPU ms/req':>18}")
    print(f"{'raw PostGIS KNN':<28} {raw['rate']:8.0f} {raw['p50_ms']:8.2f} {1.0:13.2f}")
    for w, r in results:
        print(f"{f'HTTP API, {w} worker(s)':<28} {r['rate']:8.0f} {r['p50_ms']:8.2f} {r['rate'] / raw['rate']:13.2f} "
              f"{r['cpu_ms']:18.2f}")
    if ceiling is not None:
        print(f"{'HTTP /conformance (no DB)':<28} {ceiling['rate']:8.0f} {ceiling['p50_ms']:8.2f} "
              f"{ceiling['rate'] / raw['rate']:13.2f} {ceiling['cpu_ms']:18.2f}   ← web-stack ceiling on this machine")
    print(f"(target ratio ≥ 0.5; server from {args.checkout or 'this checkout'}; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; total {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
