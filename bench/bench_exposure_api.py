"""Benchmark: one exposure query (zones + receptors) through the HTTP API on the grading bench data.

Needs the data of bench/bench_grading.py (PostGIS database ``gis_bench_grading`` and the GeoPackage
``/tmp/gis_bench_grading.gpkg``; run that first, same size flags). Starts the service in a
subprocess (uvicorn, one worker) for each engine and times ``--queries`` sequential requests:

* ``GET /analysis/exposure/hazard_sources/{id}`` for random ids (every unit holds a mixed inventory:
  10 t chlorine, 20 t pressurised LPG, 50 t gasoline — so each query runs the dense-gas toxic model,
  the BLEVE fireball, the jet fire, the VCE and the pool fire, builds ~16 zones and finds the receptors
  in each among 1,000,000);
* alternating with and without ``wind_dir_deg`` (circles → ``store.within``; plumes →
  ``store.intersecting``).

Prints p50, p99 and mean latency per engine, and the median number of receptors returned.

    .venv/bin/python bench/bench_exposure_api.py            # 200 queries per engine
    .venv/bin/python bench/bench_exposure_api.py --small    # 50 queries
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from conftest import free_port  # noqa: E402


def start(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "gis_service.api.app:create_app", "--host", "127.0.0.1",
           "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 300
    while True:
        if proc.poll() is not None:
            raise RuntimeError(proc.stdout.read().decode(errors="replace"))
        try:
            with urllib.request.urlopen(f"{url}/conformance", timeout=5):
                return proc, url
        except OSError:
            if time.time() > deadline:
                proc.kill()
                raise RuntimeError("server did not start") from None
            time.sleep(0.5)


def run(url: str, ids: list[int], rng) -> tuple[list[float], list[int]]:
    lat, nrec = [], []
    for k, fid in enumerate(ids):
        q = f"{url}/analysis/exposure/hazard_sources/{fid}"
        if k % 2:
            q += f"?wind_dir_deg={int(rng.integers(0, 360))}&wind_speed_m_s=3&stability=D"
        t = time.perf_counter()
        with urllib.request.urlopen(q, timeout=120) as r:
            body = r.read()
        lat.append(time.perf_counter() - t)
        nrec.append(json.loads(body)["metadata"]["exposure"]["receptor_count"])
    return lat, nrec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--small", action="store_true", help="50 queries")
    ap.add_argument("--db", default="gis_bench_grading")
    ap.add_argument("--gpkg", default="/tmp/gis_bench_grading.gpkg")
    ap.add_argument("--engines", default="postgis,embedded")
    args = ap.parse_args(argv)
    n = 50 if args.small else args.queries
    envs = {
        "postgis": {"GIS_STORE": "postgis",
                    "GIS_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{args.db}"},
        "embedded": {"GIS_STORE": "embedded", "GIS_GPKG_PATH": args.gpkg},
    }
    for engine in args.engines.split(","):
        t0 = time.perf_counter()
        proc, url = start(envs[engine])
        try:
            with urllib.request.urlopen(f"{url}/collections/hazard_sources", timeout=60) as r:
                json.loads(r.read())
            with urllib.request.urlopen(f"{url}/collections/receptors/items?limit=1", timeout=60) as r:
                total = json.loads(r.read()).get("numberMatched")
            print(f"{engine}: service up in {time.perf_counter() - t0:.1f} s; receptors: {total:,}", flush=True)
            rng = np.random.default_rng(42)
            with urllib.request.urlopen(f"{url}/collections/hazard_sources/items?limit=1", timeout=60) as r:
                n_src = json.loads(r.read())["numberMatched"]
            ids = rng.integers(1, n_src + 1, n).tolist()
            run(url, ids[:5], rng)  # warm-up
            lat, nrec = run(url, ids, rng)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        ms = np.array(lat) * 1000
        print(f"  {engine}: {n} exposure queries — p50 {np.percentile(ms, 50):.0f} ms, p99 {np.percentile(ms, 99):.0f} ms, "
              f"mean {ms.mean():.0f} ms; receptors per answer: median {statistics.median(nrec):.0f}, "
              f"max {max(nrec)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
