"""Benchmark: emergency resources on the province road graph of the Jilin sample (embedded store).

1. **Assembly** of 20 needs across 500 supply depots and 1,000 rescue teams (generated, typed kits):
   ``POST /analysis/resources/assemble`` through HTTP (uvicorn, one worker) — p50 / p99 — and, in process on
   the same ETAs, our solver (bottleneck time + fewest sources by ``scipy.optimize.milp``) against the greedy
   nearest-first baseline: median solve time of each, the ratio, and how often greedy is worse (time until
   everything is there — equal by construction, see ``analysis/resources/solver.py`` — and number of sources).
2. **Evacuation** of 100,000 people in 500 origins to 200 shelters: our path (max flow + bottleneck +
   min-cost transport LP) with and without routes, against networkx's min-cost flow on the same pairs
   (the obvious library alternative, which alone does not minimise the time until the last person is out),
   and against "nearest shelter with room" (greedy) for the time until the last person is out.

    .venv/bin/python bench/bench_resources.py            # 100 assembly queries, 5 evacuation runs
    .venv/bin/python bench/bench_resources.py --small    # 30 queries, 3 runs
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
from shapely.geometry import Point

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from conftest import free_port  # noqa: E402

from gis_service.analysis.rescue.network import build_from_store  # noqa: E402
from gis_service.analysis.resources import evacuation as ev  # noqa: E402
from gis_service.analysis.resources import solver  # noqa: E402
from gis_service.analysis.resources.assembly import free_stock, source_table  # noqa: E402
from gis_service.catalog import default_catalog  # noqa: E402
from gis_service.models.equipment import equipment_types  # noqa: E402
from gis_service.routing import many_to_one  # noqa: E402
from gis_service.stores.embedded import EmbeddedStore  # noqa: E402
from gis_service.validation import validate_rows  # noqa: E402

GPKG = Path("/tmp/gis_bench_resources.gpkg")
TEAM_TYPES = ("mine_rescue", "hazmat", "fire", "medical")


def _points(rng, store, n):
    """Random points near road nodes of the sample (so they are in the province and on the network)."""
    roads = store.frame("roads", ["road_class"])
    import shapely

    coords = shapely.get_coordinates(roads.geometry.to_numpy())
    pick = coords[rng.integers(0, len(coords), n)]
    return pick + rng.normal(0, 0.01, (n, 2))


def build(rng) -> EmbeddedStore:
    sample = ROOT / "sample_data" / "jilin_sample.gpkg"
    if not sample.exists():
        subprocess.run([sys.executable, str(ROOT / "sample_data" / "make_sample.py")], check=True)
    shutil.copyfile(sample, GPKG)
    store = EmbeddedStore(default_catalog(), GPKG)
    types = list(equipment_types())
    depots = []
    for i, (x, y) in enumerate(_points(rng, store, 500)):
        kit = {t: int(rng.integers(1, 6)) for t in rng.choice(types, int(rng.integers(3, 9)), replace=False)}
        depots.append((Point(x, y), {"name": f"bench depot {i}", "level": "county", "equipment": kit}))
    teams = []
    for i, (x, y) in enumerate(_points(rng, store, 1000)):
        kit = {t: int(rng.integers(1, 4)) for t in rng.choice(types, int(rng.integers(1, 5)), replace=False)}
        teams.append((Point(x, y), {"name": f"bench team {i}", "team_type": TEAM_TYPES[i % 4],
                                    "personnel": int(rng.integers(10, 80)), "on_duty": True, "equipment": kit}))
    shelters = [(Point(x, y), {"name": f"bench shelter {i}", "shelter_class": "class_3",
                               "capacity": int(rng.integers(300, 1000))})
                for i, (x, y) in enumerate(_points(rng, store, 200))]
    cat = default_catalog()
    for layer, rows in (("supply_depots", depots), ("rescue_teams", teams), ("shelters", shelters)):
        store.replace_all(layer, validate_rows(cat[layer], rows))
    return store


def needs(rng) -> dict[str, int]:
    types = list(equipment_types())
    out = {t: int(rng.integers(1, 6)) for t in rng.choice(types, 18, replace=False)}
    out["personnel_mine_rescue"] = int(rng.integers(20, 60))
    out["personnel_hazmat"] = int(rng.integers(20, 60))
    return out


def start(env):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "gis_service.api.app:create_app",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
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


def bench_assembly(store, rng, n):
    pts = _points(rng, store, n)
    asks = [needs(rng) for _ in range(n)]
    proc, url = start({"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(GPKG), "GIS_LOG_LEVEL": "WARNING"})
    lat = []
    try:
        body = json.dumps({"point": [float(pts[0, 0]), float(pts[0, 1])], "needs": asks[0]}).encode()
        urllib.request.urlopen(urllib.request.Request(f"{url}/analysis/resources/assemble", data=body,
                               headers={"Content-Type": "application/json"}), timeout=120).read()   # warm-up
        for (x, y), need in zip(pts, asks, strict=True):
            body = json.dumps({"point": [float(x), float(y)], "needs": need}).encode()
            t = time.perf_counter()
            with urllib.request.urlopen(urllib.request.Request(f"{url}/analysis/resources/assemble", data=body,
                                        headers={"Content-Type": "application/json"}), timeout=120) as r:
                json.loads(r.read())
            lat.append(time.perf_counter() - t)
    finally:
        proc.terminate()
        proc.wait(10)
    # in process: the two solvers on the same road times
    graph = build_from_store(store)
    table = source_table(store)
    snap = graph.snap(table.lon, table.lat)
    t_opt, t_greedy, worse_sources, worse_time, extra = [], [], 0, 0, []
    for (x, y), need in zip(pts, asks, strict=True):
        cols = [table.types.index(k) for k in need]
        stock = free_stock(table, {})[:, cols]
        nv = np.array(list(need.values()))
        eta = many_to_one(graph, snap, float(x), float(y), with_distance=False).eta_s
        eta = np.where(stock.sum(axis=1) > 0, eta, np.inf)
        cover = solver.coverable(eta, stock, nv)
        t = time.perf_counter()
        o = solver.optimal(eta, stock, cover)
        t_opt.append(time.perf_counter() - t)
        t = time.perf_counter()
        g = solver.greedy(eta, stock, cover)
        t_greedy.append(time.perf_counter() - t)
        worse_time += g.time_s > o.time_s + 1e-9
        worse_sources += len(g.sources) > len(o.sources)
        extra.append(len(g.sources) - len(o.sources))
    p = np.percentile(np.array(lat) * 1000, [50, 99])
    print(f"assembly, 20 needs, {len(table)} sources ({graph.n_nodes} road nodes), {n} queries through HTTP: "
          f"p50 {p[0]:.1f} ms, p99 {p[1]:.1f} ms")
    mo, mg = statistics.median(t_opt) * 1000, statistics.median(t_greedy) * 1000
    print(f"  solver in process: ours (bottleneck + milp) median {mo:.2f} ms vs greedy nearest-first {mg:.2f} ms "
          f"(ratio {mo / mg:.1f}×)")
    print(f"  greedy worse on time-until-all-met: {worse_time}/{n}; on number of sources: {worse_sources}/{n} "
          f"(median extra sources {statistics.median(extra):.0f}, max {max(extra)})")


def bench_evacuation(store, rng, runs):
    graph = build_from_store(store)
    pts = _points(rng, store, 500)
    people = rng.multinomial(100_000, np.ones(500) / 500)
    origins = [ev.Origin(f"o/{i}", f"o{i}", float(x), float(y), int(p)) for i, ((x, y), p) in enumerate(zip(pts, people,
                                                                                                      strict=True))]
    shelters = ev.shelters_of(store)
    ours, ours_routes = [], []
    for _ in range(runs):
        t = time.perf_counter()
        res = ev.evacuate(graph, origins, shelters, routes=False)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        ev.evacuate(graph, origins, shelters, routes=True)
        ours_routes.append(time.perf_counter() - t)
    cap_ok = all(r["assigned"] <= r["capacity"] for r in res.shelter_rows)
    # the alternatives on the same travel times
    o_snap = graph.snap(np.array([o.lon for o in origins]), np.array([o.lat for o in origins]))
    times = ev.travel_times(graph, o_snap, graph.snap(shelters.lon, shelters.lat))
    import networkx as nx

    nxt = []
    for _ in range(max(1, runs // 2)):
        t = time.perf_counter()
        g = nx.DiGraph()
        placed = res.placed
        g.add_node("src", demand=-placed)
        g.add_node("sink", demand=placed)
        for i, p in enumerate(people):
            g.add_edge("src", ("o", i), capacity=int(p), weight=0)
        for j, c in enumerate(shelters.capacity):
            g.add_edge(("s", j), "sink", capacity=int(c), weight=0)
        fi, fj = np.nonzero(np.isfinite(times))
        for i, j in zip(fi, fj, strict=True):
            g.add_edge(("o", int(i)), ("s", int(j)), weight=int(times[i, j]))
        flow = nx.min_cost_flow(g)
        nxt.append(time.perf_counter() - t)
    nx_last = max(times[i, j] for i in range(len(people)) for j in range(len(shelters.ids))
                  if flow[("o", i)].get(("s", j), 0) > 0) / 60
    left = shelters.capacity.copy()
    last = 0.0
    for i in np.argsort(-people):   # greedy: biggest origin first, each to its nearest shelter with room
        need = int(people[i])
        for j in np.argsort(times[i]):
            if need == 0 or not np.isfinite(times[i, j]):
                break
            take = min(need, int(left[j]))
            if take:
                left[j] -= take
                need -= take
                last = max(last, times[i, j])
    mo, mr, mn = statistics.median(ours), statistics.median(ours_routes), statistics.median(nxt)
    print(f"evacuation, {people.sum()} people, {len(origins)} origins → {len(shelters.ids)} shelters "
          f"(capacity {int(shelters.capacity.sum())}): ours median {mo:.2f} s ({mr:.2f} s with routes); "
          f"networkx min_cost_flow {mn:.2f} s (ratio {mn / mo:.1f}×)")
    print(f"  placed {res.placed}, capacities respected: {cap_ok}; last person out: ours {res.time_min:.1f} min, "
          f"networkx min-cost {nx_last:.1f} min, greedy nearest-with-room {last / 60:.1f} min")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(22)
    store = build(rng)
    bench_assembly(store, rng, 30 if args.small else args.queries)
    bench_evacuation(store, rng, 3 if args.small else args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
