"""Blocking work runs off the event loop: a large write must not stall cheap requests.

Review finding: one 20,000-feature POST made ``/conformance`` wait 0.74 s (embedded) because the store
write ran inside ``async def``. Now parsing, validation and the write run in the thread pool, so the
loop keeps answering while the write proceeds.
"""

from __future__ import annotations

import statistics
import threading
import time

import httpx
from conftest import ServerProcess

from gis_service.stores.embedded import EmbeddedStore


def test_big_write_does_not_block_cheap_requests(tmp_path, catalog):
    path = tmp_path / "loop.gpkg"
    EmbeddedStore(catalog, path).init()
    body = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [125 + (i % 1000) * 1e-3, 43 + i // 1000 * 1e-2]},
         "properties": {"name": f"目标{i}", "receptor_class": "residential", "population": 10}}
        for i in range(20_000)]}
    env = {"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(path), "GIS_API_KEYS": "k:editor", "GIS_LOG_LEVEL": "WARNING"}
    with ServerProcess(env) as srv, httpx.Client(base_url=srv.url, timeout=120) as http:
        done = threading.Event()
        result = {}

        def write():
            t0 = time.perf_counter()
            result["status"] = httpx.post(f"{srv.url}/collections/receptors/items", json=body,
                                          headers={"X-API-Key": "k"}, timeout=300).status_code
            result["seconds"] = time.perf_counter() - t0
            done.set()

        threading.Thread(target=write, daemon=True).start()
        waits = []
        while not done.is_set():
            t0 = time.perf_counter()
            assert http.get("/healthz").status_code == 200
            waits.append(time.perf_counter() - t0)
            time.sleep(0.02)
        assert result["status"] == 201
    # a blocked loop makes a cheap request wait for the whole write (seconds); a loop that is not blocked still
    # shares the interpreter with the write's thread, and on a shared 2-core machine under load single waits of
    # ~0.6 s were seen (CI, load 8). So the bound is a fraction of the write, at most 1.5 s, at least 0.6 s.
    bound = min(1.5, max(0.6, 0.25 * result["seconds"]))
    print(f"write {result['seconds']:.1f} s; cheap requests: {len(waits)}, max wait {max(waits):.3f} s, "
          f"median {statistics.median(waits):.3f} s")
    assert max(waits) < bound, (max(waits), result["seconds"])
    assert len(waits) >= 10, "the write finished too fast to measure anything"
    assert statistics.median(waits) < 0.1, statistics.median(waits)
