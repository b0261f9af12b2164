"""Vector tiles over HTTP: our service vs tipg itself, on the same PostGIS table, side by side.

    python -m venv /tmp/tipg && /tmp/tipg/bin/pip install tipg "uvicorn[standard]"     # once (tipg is not ours)
    python bench/bench_tiles_tipg.py --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/gis_national \\
        --tipg-python /tmp/tipg/bin/python [--zooms 6,10,14] [--clients 8] [--n 40] [--rounds 3]

Load a national-size set first (``gis-service make-sample /tmp/national.gpkg --national``, then
``bench/load_national_pg.py``). Both servers run under uvicorn with one worker on this machine, reading the same
``riskmap.receptors`` table (2,000,000 points):

* **ours** — ``/collections/receptors/tiles/WebMercatorQuad/{z}/{y}/{x}`` with the tile cache off
  (``GIS_TILE_CACHE_TILES=0``), so every request builds its tile (bounded candidate count, thinning above
  ``GIS_TILE_MAX_FEATURES``, the layer's per-zoom properties);
* **tipg 1.6** — ``/collections/riskmap.receptors/tiles/WebMercatorQuad/{z}/{x}/{y}`` with its defaults
  (every column, at most 10,000 features per tile, no thinning, no cache).

Clients are threads with keep-alive ``http.client`` connections asking ``Accept-Encoding: gzip`` as a browser
does; the tiles (centred on receptors drawn with seed 19, as ``bench_tiles.py``) are the same for both. The two
servers take turns round by round, so machine load hits them alike. Printed per zoom: the median over rounds of
p50/p95 (ms), throughput (tiles/s), bytes on the wire and features per tile, and ours / tipg.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import mapbox_vector_tile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_tiles import LAYER, tile_addresses  # noqa: E402
from conftest import ServerProcess, free_port  # noqa: E402


class Tipg:
    """tipg's own app under uvicorn in its own virtualenv (a subprocess)."""

    def __init__(self, python: str, dsn: str):
        self.port = free_port()
        self.cmd = [python, "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1", "--port", str(self.port),
                    "--log-level", "warning", "--no-access-log"]
        self.env = {**os.environ, "DATABASE_URL": dsn, "TIPG_DB_SCHEMAS": '["riskmap"]'}

    def __enter__(self):
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/collections", timeout=2):
                    return self
            except OSError:
                time.sleep(0.3)
        self.proc.kill()
        raise RuntimeError("tipg did not start")

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


def fetch_all(port: int, paths: list[str], clients: int) -> dict:
    """Every path once, spread over ``clients`` keep-alive connections; per-request latency and sizes."""
    times: list[float] = []
    sizes: list[int] = []
    counts: list[int] = []
    lock = threading.Lock()
    queue = list(paths)

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                if not queue:
                    break
                path = queue.pop()
            t0 = time.perf_counter()
            conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
            resp = conn.getresponse()
            body = resp.read()
            dt = time.perf_counter() - t0
            if resp.status not in (200, 204):
                raise RuntimeError(f"{path}: HTTP {resp.status} {body[:200]!r}")
            raw = gzip.decompress(body) if resp.getheader("Content-Encoding") == "gzip" else body
            layers = mapbox_vector_tile.decode(raw) if raw else {}
            with lock:
                times.append(dt)
                sizes.append(len(body))
                counts.append(sum(len(v["features"]) for v in layers.values()))
        conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    q = statistics.quantiles(times, n=20)
    return {"p50": statistics.median(times) * 1000, "p95": q[18] * 1000, "tps": len(times) / wall,
            "kb": statistics.mean(sizes) / 1024, "features": statistics.mean(counts)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-url", required=True, help="postgresql+psycopg://… of the database holding riskmap.*")
    ap.add_argument("--tipg-python", required=True, help="the python of a virtualenv with tipg and uvicorn")
    ap.add_argument("--zooms", default="6,10,14")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--n", type=int, default=40, help="tiles per zoom per round")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    from gis_service.catalog import default_catalog
    from gis_service.stores.postgis import PostGISStore

    store = PostGISStore(default_catalog(), args.pg_url)
    zooms = [int(z) for z in args.zooms.split(",")]
    addresses = {z: tile_addresses(store, z, args.n) for z in zooms}
    store.dispose() if hasattr(store, "dispose") else None
    ours_env = {"GIS_STORE": "postgis", "GIS_DATABASE_URL": args.pg_url, "GIS_TILE_CACHE_TILES": "0"}
    plain_dsn = args.pg_url.replace("postgresql+psycopg://", "postgresql://", 1)
    print(f"load average at start: {os.getloadavg()[0]:.1f}; {args.clients} clients, {args.n} tiles per zoom, "
          f"{args.rounds} rounds")
    rows = []
    with ServerProcess(ours_env) as ours, Tipg(args.tipg_python, plain_dsn) as tipg:
        paths = {
            "ours": {z: [f"/collections/{LAYER}/tiles/WebMercatorQuad/{t.z}/{t.y}/{t.x}" for t in addresses[z]]
                     for z in zooms},
            "tipg": {z: [f"/collections/riskmap.{LAYER}/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}" for t in addresses[z]]
                     for z in zooms},
        }
        ports = {"ours": ours.port, "tipg": tipg.port}
        for name in ports:   # warm: connections, catalogues, plans
            fetch_all(ports[name], paths[name][zooms[0]][:4], 2)
        for z in zooms:
            got: dict[str, list[dict]] = {"ours": [], "tipg": []}
            for r in range(args.rounds):
                order = ("ours", "tipg") if r % 2 == 0 else ("tipg", "ours")
                for name in order:
                    got[name].append(fetch_all(ports[name], paths[name][z], args.clients))
            med = {name: {k: statistics.median(d[k] for d in runs) for k in runs[0]} for name, runs in got.items()}
            rows.append((z, med))
            o, t = med["ours"], med["tipg"]
            print(f"z{z:<2} ours  p50 {o['p50']:8.1f} ms  p95 {o['p95']:8.1f} ms  {o['tps']:7.1f} tiles/s  "
                  f"{o['kb']:7.1f} KB  {o['features']:7.0f} features")
            print(f"    tipg  p50 {t['p50']:8.1f} ms  p95 {t['p95']:8.1f} ms  {t['tps']:7.1f} tiles/s  "
                  f"{t['kb']:7.1f} KB  {t['features']:7.0f} features")
            print(f"    ours/tipg: p50 {o['p50'] / t['p50']:.2f}×, throughput {o['tps'] / t['tps']:.2f}×")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
