"""The nearest-teams answer awaited on the event loop (issue 23, performance) keeps every guarantee of the thread path.

``GET /analysis/rescue/nearest`` is an ``async`` route: the rescue facade runs the straight-line analysis on the event
loop and awaits only the store's ranking (``Store.nearest_async``; on PostGIS a psycopg_pool async pool opened in the
app's lifespan). Checked here on both stores: the same rows under every jurisdiction (row-level security on the
regulated layers), the same JSON as the synchronous facade, the frozen-server refusal (503) and the client-side
statement deadline on the async connections, and a broken connection replaced.
"""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point

from gis_service import access
from gis_service.api.app import create_app
from gis_service.stores.pg_driver import DriverStatement

POINTS = [(126.55, 43.85), (125.3, 43.9), (124.8, 43.2), (126.2, 44.5)]
QUERIES = [{"incident": "fire"}, {"incident": "chemical", "k": 3}, {"incident": "chemical,medical", "k": 7},
           {"incident": "mine", "min_personnel": 40, "k": 2}, {"incident": "chemical", "team_types": "hazmat",
                                                                 "on_duty": "false"}]


def _ids(features) -> list[tuple[int, float | None]]:
    return [(f.id, f.distance_m) for f in features]


@pytest.mark.parametrize("jurisdiction", ["", "22", "2201", "220102", "220202"])
def test_nearest_async_finds_what_nearest_finds_under_every_scope(store, jurisdiction):
    """Failed before: no ``nearest_async``. On PostGIS the second call runs on the async pool (the first makes the
    caller's role on the synchronous path)."""
    async def run():
        await store.open_async()
        try:
            for layer in ("hazard_sources", "rescue_teams"):
                for lon, lat in POINTS:
                    with access.scoped(jurisdiction):
                        want = _ids(store.nearest(layer, Point(lon, lat), 12))
                        for _ in range(2):
                            assert _ids(await store.nearest_async(layer, Point(lon, lat), 12)) == want
                        filt = {"team_type": "fire", "on_duty": True} if layer == "rescue_teams" else None
                        assert (_ids(await store.nearest_async(layer, Point(lon, lat), 3, filt, 50_000.0))
                                == _ids(store.nearest(layer, Point(lon, lat), 3, filt, 50_000.0)))
            reads = getattr(store, "_async_reads", None)
            if reads is not None:
                assert reads.serves() and reads.pool.get_stats()["requests_num"] > 0
        finally:
            await store.close_async()

    asyncio.run(run())


def test_the_route_answers_what_the_facade_answers(store):
    app = create_app(store=store)
    svc = app.state.services
    with TestClient(app, raise_server_exceptions=False) as client:
        before = _pool_requests(store)
        for lon, lat in POINTS:
            for q in QUERIES:
                r = client.get("/analysis/rescue/nearest", params={"lon": lon, "lat": lat, **q})
                assert r.status_code == 200, r.text
                types = q.get("team_types")
                want = svc.rescue.nearest(lon, lat, q["incident"], k=int(q.get("k", 5)),
                                          min_personnel=int(q.get("min_personnel", 0)),
                                          on_duty=q.get("on_duty") != "false",
                                          team_types=None if types is None else [types])
                assert r.content == want.to_feature_collection().json_bytes()
        far = client.get("/analysis/rescue/nearest", params={"lon": 10.0, "lat": 10.0, "incident": "fire"})
        assert far.status_code == 400 and far.json()["problems"][0]["field"] == "lon"
        if store.kind == "postgis":
            assert _pool_requests(store) > before   # the loop path served (not only the worker-thread path)


def _pool_requests(store) -> int:
    reads = getattr(store, "_async_reads", None)
    return 0 if reads is None or reads.pool is None else reads.pool.get_stats().get("requests_num", 0)


class _Frozen:
    frozen = True

    def call(self, fd):
        raise AssertionError("no call may start while the server is frozen")


def test_a_frozen_server_is_refused_at_once_on_the_async_path(postgis_store, monkeypatch):
    with TestClient(create_app(store=postgis_store), raise_server_exceptions=False) as client:
        params = {"lon": 126.55, "lat": 43.85, "incident": "fire"}
        assert client.get("/analysis/rescue/nearest", params=params).status_code == 200
        monkeypatch.setattr(postgis_store._async_reads, "liveness", _Frozen())
        t0 = time.monotonic()
        r = client.get("/analysis/rescue/nearest", params=params)
        assert r.status_code == 503 and "retry-after" in r.headers and r.json()["code"] == "ServiceUnavailable"
        assert time.monotonic() - t0 < 2
        monkeypatch.undo()
        assert client.get("/analysis/rescue/nearest", params=params).status_code == 200


def test_the_deadline_cuts_an_async_statement_off_and_the_pool_replaces_the_connection(postgis_store):
    reads = postgis_store._async_reads
    sleep = DriverStatement("SELECT pg_sleep(%(s)s) AS slept", {}, {})

    async def run():
        await postgis_store.open_async()
        try:
            reads.deadline_s = 0.5
            t0 = time.monotonic()
            with pytest.raises(psycopg.OperationalError):
                await reads.fetch(sleep, {"s": 10}, ("none", "", ""))
            assert time.monotonic() - t0 < 3       # the watchdog's tick is 0.2 s
            reads.deadline_s = 30.0
            assert await reads.fetch(sleep, {"s": 0}, ("none", "", "")) == [{"slept": ""}]
        finally:
            reads.deadline_s = postgis_store._deadline_s
            await postgis_store.close_async()

    asyncio.run(run())


def test_two_apps_on_one_store_each_answer(postgis_store):
    """A pool belongs to the loop that opened it: a second app's loop (here a second TestClient on the same store)
    neither takes it over nor closes it; its reads take the synchronous path, and both keep answering."""
    params = {"lon": 126.55, "lat": 43.85, "incident": "fire"}
    with TestClient(create_app(store=postgis_store)) as outer:
        pool = postgis_store._async_reads.pool
        with TestClient(create_app(store=postgis_store)) as inner:
            assert inner.get("/analysis/rescue/nearest", params=params).status_code == 200
            assert outer.get("/analysis/rescue/nearest", params=params).status_code == 200
        assert postgis_store._async_reads.pool is pool
        before = _pool_requests(postgis_store)
        assert outer.get("/analysis/rescue/nearest", params=params).status_code == 200
        assert _pool_requests(postgis_store) > before
    assert postgis_store._async_reads.pool is None
