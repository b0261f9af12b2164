"""Benchmark: the per-request work the issue-24 hardening adds, each piece timed on its own, beside the
request it is part of — so "no measurable cost" does not rest on two noisy end-to-end medians alone.

The end-to-end side by side (``bench/bench_security_cost.py``) compares a whole older checkout with this
one, so every other change since then is in its ratio too; this one isolates the hardening's own pieces:

* ``RefuseRepeatedParams`` (api/edges.py), on every request: the middleware around a no-op app, against
  the no-op app alone, for the query strings of the three benchmarked requests;
* the PostGIS statement guards (stores/watchdog.py): ``WATCHDOG.deadline`` + ``Liveness.call`` entered
  and left once per SQL statement;
* the header/body deadlines (api/server.py): one ``loop.call_later`` + ``cancel`` pair per request phase
  (two per request), against nothing;
* map data kept out of the template engine (maps/elements.py): the time inside ``fill`` (the one-pass
  token swap after Folium rendered) during real renders of ``/maps/layer/chemical_parks``.

Each is the median of ``--rounds`` rounds of ``--n`` calls, in microseconds, then shown as a share of the
request's median time measured end to end (pass them with ``--items-ms`` etc. from
bench_security_cost.py's "after" column; defaults are the numbers of the last recorded run).

    .venv/bin/python bench/bench_security_parts.py
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable

from gis_service.api.edges import RefuseRepeatedParams
from gis_service.stores.watchdog import WATCHDOG, Liveness

QUERIES = {"items": b"limit=100&offset=137",
           "nearest": b"lon=125.3210&lat=43.8170&incident=chemical&k=5",
           "map": b""}


def per_call_us(fn: Callable[[], None], n: int, rounds: int) -> float:
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        out.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(out)


def middleware_us(query: bytes, n: int, rounds: int) -> float:
    async def inner(scope, receive, send):
        return None

    wrapped = RefuseRepeatedParams(inner)
    scope = {"type": "http", "query_string": query}
    loop = asyncio.new_event_loop()

    def bare():
        loop.run_until_complete(inner(scope, None, None))

    def guarded():
        loop.run_until_complete(wrapped(scope, None, None))

    try:
        return per_call_us(guarded, n, rounds) - per_call_us(bare, n, rounds)
    finally:
        loop.close()


def statement_guards_us(n: int, rounds: int) -> float:
    liveness = Liveness(lambda timeout_s: None, deadline_s=3.0)

    def guards():
        with WATCHDOG.deadline(7, 31.0), liveness.call(7):
            pass

    return per_call_us(guards, n, rounds)


def timer_pair_us(n: int, rounds: int) -> float:
    loop = asyncio.new_event_loop()

    def pair():
        loop.call_later(5.0, print).cancel()

    try:
        return 2 * per_call_us(pair, n, rounds)
    finally:
        loop.close()


def map_fill_us(rounds: int) -> tuple[float, float]:
    """Time inside maps.elements.fill (the token swap that keeps data out of the template engine) while
    the service renders /maps/layer/chemical_parks on the sample: (µs in fill, µs per whole render)."""
    import tempfile
    from pathlib import Path

    from fastapi.testclient import TestClient

    from gis_service.api.app import create_app
    from gis_service.cli import build_sample
    from gis_service.config import Settings
    from gis_service.maps import base

    spent: list[float] = []
    real = base.fill

    def timed_fill(root, html):
        t0 = time.perf_counter()
        try:
            return real(root, html)
        finally:
            spent.append(time.perf_counter() - t0)

    base.fill = timed_fill
    try:
        gpkg = Path(tempfile.mkdtemp(prefix="bench_parts_")) / "sample.gpkg"
        build_sample(gpkg)
        with TestClient(create_app(Settings(store="embedded", gpkg_path=gpkg))) as client:
            whole = []
            for _ in range(rounds + 2):
                t0 = time.perf_counter()
                assert client.get("/maps/layer/chemical_parks").status_code == 200
                whole.append(time.perf_counter() - t0)
        return statistics.median(spent[2:]) * 1e6, statistics.median(whole[2:]) * 1e6
    finally:
        base.fill = real


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--items-ms", type=float, default=11.37, help="PostGIS items page, median ms end to end")
    ap.add_argument("--nearest-ms", type=float, default=2.47, help="PostGIS nearest rescue, median ms")
    ap.add_argument("--map-ms", type=float, default=151.6, help="PostGIS chemical-parks map, median ms")
    args = ap.parse_args()

    guards = statement_guards_us(args.n, args.rounds)
    timers = timer_pair_us(args.n, args.rounds)
    fill_us, render_us = map_fill_us(args.rounds)
    escape = fill_us
    print(f"statement guards (per SQL statement) {guards:7.2f} µs")
    print(f"header+body deadline timers          {timers:7.2f} µs per request")
    print(f"map data tokens swapped (maps.elements.fill) {fill_us:9.1f} µs of a {render_us / 1000:.1f} ms in-process "
          f"render of /maps/layer/chemical_parks ({fill_us / render_us * 100:.2f} %)")
    for kind, ms in (("items", args.items_ms), ("nearest", args.nearest_ms), ("map", args.map_ms)):
        mw = middleware_us(QUERIES[kind], args.n, args.rounds)
        statements = 1  # one SQL statement per answer on these paths (tests/test_service_layer_sql)
        extra = mw + timers + statements * guards + (escape if kind == "map" else 0.0)
        print(f"{kind:8s} repeated-param check {mw:6.2f} µs; hardening in all {extra:7.2f} µs "
              f"= {extra / (ms * 1000) * 100:5.2f} % of the {ms:.2f} ms request")


if __name__ == "__main__":
    main()
