"""Heavy endpoints wait for one of GIS_HEAVY_CONCURRENCY slots; cheap ones never wait for them."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
from fastapi import APIRouter

from gis_service.api.app import HEAVY_ROUTERS, create_app
from gis_service.api.deps import Heavy
from gis_service.api.errors import api_routes
from gis_service.config import Settings


def test_at_most_n_heavy_requests_run_at_once_and_cheap_ones_pass(embedded_store):
    app = create_app(Settings(heavy_concurrency=2), store=embedded_store)
    running, peak, lock = [0], [0], threading.Lock()
    probe = APIRouter()

    @probe.get("/heavy-probe", dependencies=[Heavy])
    def heavy():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        return {"ok": True}

    app.include_router(probe)

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            heavy_calls = [asyncio.create_task(client.get("/heavy-probe")) for _ in range(6)]
            await asyncio.sleep(0.05)
            t0 = time.perf_counter()
            cheap = await client.get("/collections/rescue_teams/items?limit=1")
            cheap_s = time.perf_counter() - t0
            answers = await asyncio.gather(*heavy_calls)
        return cheap, cheap_s, answers

    cheap, cheap_s, answers = asyncio.run(scenario())
    assert all(a.status_code == 200 for a in answers)
    assert peak[0] == 2                      # six waiting, never more than two at once
    assert cheap.status_code == 200 and cheap_s < 0.5  # did not queue behind ~0.6 s of heavy work


def test_analysis_routers_are_heavy():
    assert {"exposure", "siting", "maps"} <= {m.__name__.rsplit(".", 1)[-1] for m in HEAVY_ROUTERS}
    app = create_app(Settings())
    heavy_paths = {path for path, _methods, dependant in api_routes(app)
                   if any(getattr(d.call, "__name__", "") == "heavy_slot" for d in dependant.dependencies)}
    assert "/analysis/siting/{park_id}" in heavy_paths and "/analysis/rescue/coverage" in heavy_paths
    assert "/analysis/rescue/nearest" not in heavy_paths and "/collections/{collectionId}/items" not in heavy_paths
