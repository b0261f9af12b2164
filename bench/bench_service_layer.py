"""Benchmark: the service-layer work (issue 23) side by side with the code before it — no endpoint slower.

The same data is served by two checkouts at once (uvicorn subprocesses, one worker each): ``--after``
(default: this checkout) and ``--before`` (default ``/work/wt/old23``, made with
``git worktree add /work/wt/old23 071c749``, main before issue 23). One client sends each request to both,
alternating which goes first, so a machine shared with other work loads both sides alike. Part 1, on both
stores, median latency of ``--n`` requests of each kind:

* items    ``GET /collections/hazard_sources/items?limit=20&offset=…``
* nearest  ``GET /analysis/rescue/nearest?lon&lat&incident=fire&k=5`` (straight line)
* exposure ``GET /analysis/exposure/hazard_sources/{id}``
* siting   ``GET /analysis/siting/{park_id}``
* qra      ``GET /analysis/risk/individual/hazard_sources/{id}``

Part 2 — the rescue ratio (PostGIS): ``bench_rescue_api.py``'s comparison, 8 clients: the HTTP nearest-teams
answer vs the raw KNN SQL the store sends (replayed over psycopg), as throughput ratio API / raw, for both
checkouts. Everything shares this machine's cores (clients, servers, PostgreSQL).

    .venv/bin/python bench/bench_service_layer.py                 # both stores, both checkouts
    .venv/bin/python bench/bench_service_layer.py --small         # smoke run
    .venv/bin/python bench/bench_service_layer.py --stores postgis --no-knn
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

import bench_rescue_api as rescue_bench  # noqa: E402
from conftest import ServerProcess  # noqa: E402

KINDS = ("items", "nearest", "exposure", "siting", "qra")
SHARE = {"items": 1.0, "nearest": 1.0, "exposure": 0.4, "siting": 0.2, "qra": 0.1}  # of --n (heavy ones fewer)


def _path(kind: str, rng: np.random.Generator, n_hazards: int, n_parks: int) -> str:
    if kind == "items":
        return f"/collections/hazard_sources/items?limit=20&offset={int(rng.integers(0, max(1, n_hazards - 20)))}"
    if kind == "nearest":
        lon, lat = rng.uniform(rescue_bench.LON0, rescue_bench.LON1), rng.uniform(rescue_bench.LAT0, rescue_bench.LAT1)
        return f"/analysis/rescue/nearest?lon={lon:.5f}&lat={lat:.5f}&incident=fire&k=5"
    if kind == "exposure":
        return f"/analysis/exposure/hazard_sources/{int(rng.integers(1, n_hazards + 1))}"
    if kind == "siting":
        return f"/analysis/siting/{int(rng.integers(1, n_parks + 1))}"
    return f"/analysis/risk/individual/hazard_sources/{int(rng.integers(1, n_hazards + 1))}"


def _get(conn: http.client.HTTPConnection, path: str) -> http.client.HTTPResponse:
    conn.request("GET", path)
    r = conn.getresponse()
    r.read()
    return r


def latencies(ports: dict[str, int], kind: str, n: int, n_hazards: int, n_parks: int) -> tuple[dict, dict]:
    """n requests of one kind, each sent to every server (alternating the order); per label the latencies (s)
    of the 200s and the count of other statuses."""
    rng = np.random.default_rng(7)
    conns = {label: http.client.HTTPConnection("127.0.0.1", port, timeout=300) for label, port in ports.items()}
    out: dict[str, list[float]] = {label: [] for label in ports}
    bad = dict.fromkeys(ports, 0)
    labels = list(ports)
    for i in range(n + 2):
        path = _path(kind, rng, n_hazards, n_parks)
        for label in (labels if i % 2 == 0 else labels[::-1]):
            t0 = time.perf_counter()
            try:
                r = _get(conns[label], path)
            except (http.client.RemoteDisconnected, ConnectionError):
                # the server closed a keep-alive connection left idle while the other one worked: reconnect
                conns[label] = http.client.HTTPConnection("127.0.0.1", ports[label], timeout=300)
                t0 = time.perf_counter()
                r = _get(conns[label], path)
            dt = time.perf_counter() - t0
            if i < 2:
                continue   # warm-up (caches, first connection)
            if r.status == 200:
                out[label].append(dt)
            else:
                bad[label] += 1
    for conn in conns.values():
        conn.close()
    return out, bad


def server(code: Path, env: dict[str, str]) -> ServerProcess:
    """uvicorn serving the gis_service package of ``code`` (first on sys.path, not the installed one)."""
    srv = ServerProcess({**env, "PYTHONPATH": str(code), "PYTHONSAFEPATH": "1", "GIS_LOG_LEVEL": "WARNING"})
    srv.cmd += ["--app-dir", str(code)]
    return srv


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/gis_bench_service_layer")
    ap.add_argument("--scale", type=int, default=1, help="build_sample scale")
    ap.add_argument("--n", type=int, default=200, help="requests per cheap kind (heavy kinds get fewer)")
    ap.add_argument("--stores", default="embedded,postgis")
    ap.add_argument("--before", type=Path, default=Path("/work/wt/old23"))
    ap.add_argument("--after", type=Path, default=HERE.parent)
    ap.add_argument("--no-knn", action="store_true", help="skip part 2 (HTTP nearest vs raw KNN)")
    ap.add_argument("--small", action="store_true", help="smoke run: 40 requests per cheap kind")
    args = ap.parse_args()
    if args.small:
        args.n = 40
    codes = {"before": args.before.resolve(), "after": args.after.resolve()}
    t_start = time.perf_counter()
    counts = rescue_bench.load_sample(args.dsn, args.scale)
    n_hazards, n_parks = counts["hazard_sources"], counts["chemical_parks"]
    sa_url = args.dsn.replace("postgresql://", "postgresql+psycopg://", 1)
    print(f"sample scale {args.scale}: {n_hazards} hazard sources, {n_parks} parks, {counts['rescue_teams']} teams; "
          f"before = {codes['before']}, after = {codes['after']}; {os.cpu_count()} CPUs shared")
    tmp = Path(tempfile.mkdtemp(prefix="bench_layer_"))
    try:
        from gis_service.cli import build_sample

        gpkg = tmp / "sample.gpkg"
        build_sample(gpkg, scale=args.scale)
        print(f"\n{'store':<9} {'kind':<9} {'n':>4} {'before ms':>10} {'after ms':>10} {'after/before':>13}  non-200 b/a")
        for store in args.stores.split(","):
            servers = {}
            for label, code in codes.items():
                env = {"GIS_STORE": "postgis", "GIS_DATABASE_URL": sa_url}
                if store == "embedded":
                    copy = tmp / f"served_{label}.gpkg"
                    shutil.copyfile(gpkg, copy)
                    env = {"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(copy)}
                servers[label] = server(code, env)
            with servers["before"] as before, servers["after"] as after:
                ports = {"before": before.port, "after": after.port}
                for kind in KINDS:
                    n = max(5, int(args.n * SHARE[kind]))
                    lat, bad = latencies(ports, kind, n, n_hazards, n_parks)
                    b, a = (1000 * statistics.median(lat[k]) if lat[k] else float("nan") for k in ("before", "after"))
                    print(f"{store:<9} {kind:<9} {n:>4} {b:10.2f} {a:10.2f} {a / b:12.2f}×  "
                          f"{bad['before']}/{bad['after']}", flush=True)
        if not args.no_knn:
            print("\nrescue ratio (PostGIS, straight line, 8 clients, 2000 requests, median of 3 rounds):")
            sql, params, probe = rescue_bench.capture_nearest_sql(args.dsn)
            rng = np.random.default_rng(11)
            pts = np.column_stack([rng.uniform(rescue_bench.LON0, rescue_bench.LON1, 2000),
                                   rng.uniform(rescue_bench.LAT0, rescue_bench.LAT1, 2000)])
            raw = rescue_bench.measure("raw PostGIS KNN (store SQL)", 3, 8, pts,
                                       rescue_bench.raw_worker(args.dsn, sql, params, probe))
            for label, code in codes.items():
                with server(code, {"GIS_STORE": "postgis", "GIS_DATABASE_URL": sa_url}) as srv:
                    api = rescue_bench.measure(f"HTTP API ({label})", 3, 8, pts, rescue_bench.api_worker(srv.port))
                print(f"  ratio HTTP/raw, {label}: {api['rate'] / raw['rate']:.2f}×")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"(total {time.perf_counter() - t_start:.0f} s)")


if __name__ == "__main__":
    main()
