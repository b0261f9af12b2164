"""Benchmark: nearest-5 rescue teams by road time — our engine vs pgRouting on the same graph.

Synthetic Jilin road network: a jittered grid over lon 121.6–131.3, lat 40.8–46.3 with a road-class
hierarchy (motorway every 40th line, trunk every 20th, primary every 10th, secondary every 5th,
the rest tertiary/unclassified/residential), ~3% of segments removed (irregular blocks, some dead
ends and isolated bits) and ~5% of minor segments one-way. Every grid segment is one road line.

For each of ``--queries`` random incidents we time ``nearest_by_time(k=5)`` against ``--teams``
random team points (snapped once, as the service does). For the first ``--pg-queries`` incidents
the same question goes to pgRouting on the same arcs (COPY-loaded into PostgreSQL):

* ``pgr_dijkstraNear`` many-to-one with ``cap => 5`` (pgRouting's own nearest-k, early stopping);
* ``pgr_dijkstraCost`` many-to-one from all team nodes, ORDER BY agg_cost LIMIT 5.

The comparable part is node-to-node road time: the five team nodes and their costs must agree to
1e-6 relative (access legs are added outside the database identically). The ratio uses the faster
pgRouting variant. Run::

    .venv/bin/python bench/bench_routing.py                 # ≥ 1,000,000 road segments
    .venv/bin/python bench/bench_routing.py --edges 50000   # smoke run
    .venv/bin/python bench/bench_routing.py --no-pg         # engine only

Database: ``--dsn`` (default postgresql://postgres@127.0.0.1:5432/gis_bench, created if missing).
"""

from __future__ import annotations

import argparse
import io
import math
import sys
import time

import numpy as np
import shapely

from gis_service.routing.graph import RoadGraph
from gis_service.routing.search import nearest_by_time

LON0, LON1, LAT0, LAT1 = 121.6, 131.3, 40.8, 46.3


def synthetic_lines(n_edges: int, seed: int = 7):
    """Jittered grid road lines with classes and one-way flags; about ``n_edges`` segments."""
    rng = np.random.default_rng(seed)
    aspect = (LON1 - LON0) * math.cos(math.radians(43.5)) / (LAT1 - LAT0)
    # segments ≈ 2·nx·ny (minus 3% removed)
    ny = int(math.ceil(math.sqrt(n_edges / 0.97 / 2 / aspect)))
    nx = int(math.ceil(n_edges / 0.97 / 2 / ny)) + 1
    dx, dy = (LON1 - LON0) / (nx - 1), (LAT1 - LAT0) / (ny - 1)
    gx, gy = np.meshgrid(np.arange(nx), np.arange(ny))           # (ny, nx)
    lon = LON0 + gx * dx + rng.uniform(-0.3, 0.3, gx.shape) * dx
    lat = LAT0 + gy * dy + rng.uniform(-0.3, 0.3, gy.shape) * dy
    node = np.arange(nx * ny).reshape(ny, nx)
    # horizontal segments (along a row j) and vertical ones (along a column i)
    ha, hb = node[:, :-1].ravel(), node[:, 1:].ravel()
    hline = np.repeat(np.arange(ny), nx - 1)
    va, vb = node[:-1, :].ravel(), node[1:, :].ravel()
    vline = np.tile(np.arange(nx), ny - 1)
    a = np.concatenate([ha, va])
    b = np.concatenate([hb, vb])
    idx = np.concatenate([hline, vline])
    cls = np.full(len(a), "", dtype=object)
    minor = rng.choice(np.array(["tertiary", "unclassified", "residential"], dtype=object), len(a),
                       p=[0.4, 0.35, 0.25])
    cls[:] = minor
    cls[idx % 5 == 0] = "secondary"
    cls[idx % 10 == 0] = "primary"
    cls[idx % 20 == 0] = "trunk"
    cls[idx % 40 == 0] = "motorway"
    keep = rng.random(len(a)) > 0.03
    keep |= cls != minor          # keep the main roads continuous
    a, b, cls = a[keep], b[keep], cls[keep]
    oneway = (rng.random(len(a)) < 0.05) & np.isin(cls, ["residential", "unclassified"])
    flip = rng.random(len(a)) < 0.5
    a2 = np.where(flip, b, a)
    b2 = np.where(flip, a, b)
    xy = np.stack([np.column_stack([lon.ravel()[a2], lat.ravel()[a2]]),
                   np.column_stack([lon.ravel()[b2], lat.ravel()[b2]])], axis=1)
    geoms = shapely.linestrings(xy)
    speed = np.full(len(a), np.nan)      # class defaults, except a few signed speeds
    signed = rng.random(len(a)) < 0.02
    speed[signed] = rng.choice([30.0, 40.0, 60.0], signed.sum())
    return geoms, cls, speed, oneway


def random_points(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    return rng.uniform(LON0 + 0.05, LON1 - 0.05, n), rng.uniform(LAT0 + 0.05, LAT1 - 0.05, n)


def pct(a, q):
    return float(np.percentile(np.asarray(a), q))


# ------------------------------------------------------------------ pgRouting side
def pg_load(dsn: str, g: RoadGraph):
    import psycopg
    base, _, dbname = dsn.rpartition("/")
    with psycopg.connect(base + "/postgres", autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
            c.execute(f'CREATE DATABASE "{dbname}"')
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute("CREATE EXTENSION IF NOT EXISTS pgrouting CASCADE")
    # pair the two directions of a two-way segment into one row (cost, reverse_cost); a one-way
    # arc gets reverse_cost = -1 — the usual pgRouting edge table.
    rev = g.arc_ids(g.dst, g.src)
    lead = (rev < 0) | (g.src < g.dst)
    i = np.flatnonzero(lead)
    r = rev[i]
    rc = np.where(r >= 0, g.time_s[np.maximum(r, 0)], -1.0)
    conn.execute("DROP TABLE IF EXISTS bench_edges")
    conn.execute("CREATE UNLOGGED TABLE bench_edges (id bigint PRIMARY KEY, source bigint, target bigint,"
                 " cost float8, reverse_cost float8)")
    t0 = time.perf_counter()
    buf = io.StringIO()
    np.savetxt(buf, np.column_stack([np.arange(1, len(i) + 1), g.src[i] + 1, g.dst[i] + 1]), fmt="%d",
               delimiter="\t")
    ids = buf.getvalue().splitlines()
    # repr-exact float text so both engines sum identical weights
    costs = [f"{a!r}\t{b!r}" for a, b in zip(g.time_s[i].tolist(), rc.tolist(), strict=True)]
    with conn.cursor() as cur, cur.copy("COPY bench_edges (id, source, target, cost, reverse_cost) FROM STDIN") as cp:
        chunk = []
        for a, b in zip(ids, costs, strict=True):
            chunk.append(f"{a}\t{b}\n")
            if len(chunk) >= 100_000:
                cp.write("".join(chunk))
                chunk = []
        if chunk:
            cp.write("".join(chunk))
    conn.execute("ANALYZE bench_edges")
    print(f"pgRouting: loaded {len(i):,} edge rows ({g.n_arcs:,} arcs) in {time.perf_counter() - t0:.1f} s")
    return conn


EDGES_SQL = "SELECT id, source, target, cost, reverse_cost FROM bench_edges"


def pg_near(conn, team_nodes: np.ndarray, inc_node: int, k: int):
    rows = conn.execute(
        "SELECT start_vid, agg_cost FROM pgr_dijkstraNear(%s, %s::bigint[], %s::bigint, directed => true,"
        " cap => %s) WHERE edge = -1 ORDER BY agg_cost",
        (EDGES_SQL, [int(x) + 1 for x in np.unique(team_nodes)], int(inc_node) + 1, k)).fetchall()
    return [(int(a) - 1, float(c)) for a, c in rows]


def pg_cost(conn, team_nodes: np.ndarray, inc_node: int, k: int):
    rows = conn.execute(
        "SELECT start_vid, agg_cost FROM pgr_dijkstraCost(%s, %s::bigint[], %s::bigint, directed => true)"
        " ORDER BY agg_cost LIMIT %s",
        (EDGES_SQL, [int(x) + 1 for x in np.unique(team_nodes)], int(inc_node) + 1, k)).fetchall()
    return [(int(a) - 1, float(c)) for a, c in rows]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--edges", type=int, default=1_000_000, help="road segments (default 1,000,000)")
    ap.add_argument("--teams", type=int, default=60)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--pg-queries", type=int, default=20, help="incidents also asked to pgRouting")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/gis_bench")
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--cache", default=None, help="optional .npz graph cache path")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    t0 = time.perf_counter()
    geoms, cls, speed, oneway = synthetic_lines(args.edges)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    g = RoadGraph.from_lines(geoms, cls, speed, oneway)
    _ = g.reverse
    t_build = time.perf_counter() - t0
    print(f"graph: {len(geoms):,} road segments → {g.n_nodes:,} nodes, {g.n_arcs:,} directed arcs; "
          f"generated in {t_gen:.1f} s, built (incl. CSR + reverse) in {t_build:.1f} s")
    if args.cache:
        t0 = time.perf_counter()
        g.save(args.cache)
        t_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        g = RoadGraph.load(args.cache)
        _ = g.reverse
        print(f"cache: saved in {t_s:.1f} s, loaded (+CSR) in {time.perf_counter() - t0:.1f} s")

    tlon, tlat = random_points(args.teams, rng)
    t0 = time.perf_counter()
    teams = g.snap(tlon, tlat)
    print(f"snap: {args.teams} teams in {(time.perf_counter() - t0) * 1e3:.1f} ms (incl. KD-tree build)")
    ilon, ilat = random_points(args.queries, rng)
    nearest_by_time(g, ilon[0], ilat[0], teams, k=args.k)         # warm-up
    times, results = [], []
    for q in range(args.queries):
        t0 = time.perf_counter()
        res = nearest_by_time(g, ilon[q], ilat[q], teams, k=args.k)
        times.append(time.perf_counter() - t0)
        results.append(res)
    ms = np.array(times) * 1e3
    print(f"engine nearest-{args.k} by road time over {args.queries} incidents: "
          f"p50 {pct(ms, 50):.1f} ms, p90 {pct(ms, 90):.1f} ms, p99 {pct(ms, 99):.1f} ms, max {ms.max():.1f} ms "
          f"(incl. snapping, ranking, road distance and route geometry)")
    n_unr = sum(1 for res in results for r in res if not r.reachable)
    print(f"engine: mean ETA of the nearest team {np.mean([res[0].eta_min for res in results]):.1f} min; "
          f"unreachable slots {n_unr}")
    from gis_service.routing.isochrone import isochrone
    t0 = time.perf_counter()
    iso = isochrone(g, tlon[0], tlat[0], 30)
    print(f"isochrone 30 min around team 0: {time.perf_counter() - t0:.2f} s "
          f"({shapely.get_num_coordinates(iso.geometry):,} vertices)")
    if args.no_pg or args.pg_queries <= 0:
        return 0

    conn = pg_load(args.dsn, g)
    inc_nodes = g.snap(ilon, ilat).node
    nq = min(args.pg_queries, args.queries)
    # warm-up (plans, extension load, shared buffers)
    pg_near(conn, teams.node, int(inc_nodes[0]), args.k)
    t_near, t_cost, t_eng = [], [], []
    mismatches = 0
    max_rel = 0.0
    for q in range(nq):
        inc = int(inc_nodes[q])
        # the comparable engine query: node-to-node road time from team nodes (no access legs)
        node_snap = g.snap(g.lon[teams.node], g.lat[teams.node])
        t0 = time.perf_counter()
        eng = nearest_by_time(g, g.lon[inc], g.lat[inc], node_snap, k=args.k)
        t_eng.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        near = pg_near(conn, teams.node, inc, args.k)
        t_near.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        cost = pg_cost(conn, teams.node, inc, args.k)
        t_cost.append(time.perf_counter() - t0)
        # compare: the multiset of the k best node-to-node costs (several teams may share a node)
        eng_costs = sorted({(int(teams.node[r.target]), r.road_s) for r in eng if r.reachable}, key=lambda x: x[1])
        eng_k = [c for _, c in eng_costs][: len(cost)]
        for name, pg in (("near", near), ("cost", cost)):
            pg_k = [c for _, c in pg][: len(eng_k)]
            if len(pg_k) != len(eng_k):
                mismatches += 1
                print(f"  incident {q}: {name} returned {len(pg_k)} teams, engine {len(eng_k)}", file=sys.stderr)
                continue
            for a, b in zip(eng_k, pg_k, strict=True):
                rel = abs(a - b) / max(abs(b), 1e-9)
                max_rel = max(max_rel, rel)
                if rel > 1e-6:
                    mismatches += 1
                    print(f"  incident {q}: {name} cost {b} vs engine {a}", file=sys.stderr)
    e, n_, c_ = (np.array(x) * 1e3 for x in (t_eng, t_near, t_cost))
    best_pg = min(pct(n_, 50), pct(c_, 50))
    print(f"pgRouting over {nq} incidents: pgr_dijkstraNear(cap={args.k}) p50 {pct(n_, 50):.0f} ms, "
          f"pgr_dijkstraCost+LIMIT p50 {pct(c_, 50):.0f} ms; engine on the same incidents p50 {pct(e, 50):.1f} ms")
    print(f"ETA check (node-to-node costs of the {args.k} nearest): {'IDENTICAL' if mismatches == 0 else 'MISMATCH'}"
          f" — max relative difference {max_rel:.2e} over {nq} incidents")
    print(f"ratio pgRouting (faster variant) / engine, medians: {best_pg / pct(e, 50):.0f}×")
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
