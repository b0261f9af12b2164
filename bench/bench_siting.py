"""Benchmark: siting reports on province-scale data (the Jilin sample scaled 10×) in PostGIS.

1. **One report through the API**: ``GET /analysis/siting/{park_id}`` (in-process FastAPI TestClient,
   PostGIS store) for every park in turn after one warm-up request; p50 / p95 latency (target < 200 ms).
2. **Batch over all parks**: our path (``siting.check_park`` per park, the same code the API runs)
   vs **one set-based PostGIS query per rule** over all parks at once (the SQL is below). Both
   sides run the same spatial rules: goaf influence overlap, tailings breach corridor, receptors within
   the default external safety distance, protection targets inside, domino incoming, overlap with
   another park, minimum area. Rescue-time rules need road routing (no pgRouting in the SQL side), so
   they are left out of the comparison and our full batch (with them) is reported separately.
   Domino radii come from each source's inventory via the Python consequence model, written to a
   temporary table once (its time is reported and included in the SQL total).
   Findings of both sides are compared rule by rule (pairs of park id → offending feature id).

Run::

    .venv/bin/python bench/bench_siting.py            # scale 10 (about 3–5 min including data build)
    .venv/bin/python bench/bench_siting.py --small    # scale 2 smoke run

Database: ``--dsn`` (default postgresql://postgres@127.0.0.1:5432/gis_bench_siting, created if missing;
its riskmap schema is dropped and reloaded).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson
import psycopg

from gis_service.analysis.consequence.params import ScenarioParams
from gis_service.analysis.siting.context import Context, SitingCaches
from gis_service.analysis.siting.results import Proposal
from gis_service.analysis.siting.runners import explosion_radius_m
from gis_service.catalog import default_catalog
from gis_service.cli import build_sample
from gis_service.config import Settings
from gis_service.loading import read_frame, rows_from_frame
from gis_service.services.container import Services
from gis_service.stores.postgis import PostGISStore

SPATIAL_RULES = ["goaf_influence", "tailings_breach_corridor", "external_safety_distance",
                 "protection_targets_inside", "domino_incoming", "other_park_overlap", "min_area"]

# -- one set-based query per rule (all parks at once) ------------------------------------------------
# Bound parameters: %(classes)s receptor classes, %(dist)s default distance, %(search)s domino search,
# %(tan_beta)s default tanβ, %(cap)s corridor cap, %(w0)s/%(w1)s corridor widths, %(min_km2)s.

SQL = {
    "goaf_influence": """
        SELECT p.id, g.id
        FROM riskmap.chemical_parks p
        JOIN riskmap.goaf_areas g
          ON ST_DWithin(p.geom::geography(Geometry,4326), g.geom::geography(Geometry,4326),
                        g.mining_depth_m / COALESCE(g.tan_beta, %(tan_beta)s))
        WHERE ST_Area(ST_Intersection(p.geom, ST_Buffer(g.geom::geography(Geometry,4326),
                      g.mining_depth_m / COALESCE(g.tan_beta, %(tan_beta)s))::geometry)::geography(Geometry,4326)) > 0""",
    # Rico et al. (2008): V_F = 0.354·V_T^1.01, H_f = H·(V_F/V_T)·V_F, D = 14.45·H_f^0.76 km;
    # corridor = trapezoid along the downstream azimuth, w0 at the dam to w1 at min(D, cap).
    "tailings_breach_corridor": """
        WITH d AS (
          SELECT t.id, t.geom::geography(Geometry,4326) AS g, radians(t.downstream_azimuth_deg) AS az,
                 LEAST(1000.0 * 14.45 * power(t.dam_height_m * power(0.354 * power(t.total_storage_1e4m3 / 100.0,
                       1.01), 2) / (t.total_storage_1e4m3 / 100.0), 0.76), %(cap)s) AS len
          FROM riskmap.tailings_dams t),
        c AS (
          SELECT id, ST_MakePolygon(ST_MakeLine(ARRAY[
                   ST_Project(g, %(w0)s / 2, az - pi() / 2)::geometry,
                   ST_Project(ST_Project(g, len, az), %(w1)s / 2, az - pi() / 2)::geometry,
                   ST_Project(ST_Project(g, len, az), %(w1)s / 2, az + pi() / 2)::geometry,
                   ST_Project(g, %(w0)s / 2, az + pi() / 2)::geometry,
                   ST_Project(g, %(w0)s / 2, az - pi() / 2)::geometry])) AS corridor
          FROM d)
        SELECT p.id, c.id FROM riskmap.chemical_parks p JOIN c ON ST_Intersects(p.geom, c.corridor)
        WHERE ST_Area(ST_Intersection(p.geom, c.corridor)::geography(Geometry,4326)) > 0""",
    "external_safety_distance": """
        SELECT p.id, r.id FROM riskmap.chemical_parks p
        JOIN riskmap.receptors r ON ST_DWithin(p.geom::geography(Geometry,4326), r.geom::geography(Geometry,4326), %(dist)s)
        WHERE r.receptor_class = ANY(%(classes)s) AND NOT ST_Intersects(p.geom, r.geom)""",
    "protection_targets_inside": """
        SELECT p.id, r.id FROM riskmap.chemical_parks p
        JOIN riskmap.receptors r ON ST_Intersects(p.geom, r.geom)
        WHERE r.receptor_class = ANY(%(classes)s)""",
    "domino_incoming": """
        WITH cand AS MATERIALIZED (
          SELECT p.id AS pid, h.id AS hid,
                 ST_Distance(p.geom::geography(Geometry,4326), h.geom::geography(Geometry,4326)) AS d
          FROM riskmap.chemical_parks p
          JOIN riskmap.hazard_sources h
            ON ST_DWithin(p.geom::geography(Geometry,4326), h.geom::geography(Geometry,4326), %(search)s)
          WHERE h.park_id IS DISTINCT FROM p.id)
        SELECT pid, hid FROM cand JOIN bench_radius b ON b.id = cand.hid WHERE cand.d <= b.radius_m""",
    "other_park_overlap": """
        SELECT p.id, q.id FROM riskmap.chemical_parks p
        JOIN riskmap.chemical_parks q ON p.id <> q.id AND ST_Intersects(p.geom, q.geom)
        WHERE ST_Area(ST_Intersection(p.geom, q.geom)::geography(Geometry,4326)) > 0""",
    "min_area": """
        SELECT p.id, p.id FROM riskmap.chemical_parks p
        WHERE ST_Area(p.geom::geography(Geometry,4326)) / 1e6 < %(min_km2)s""",
}


def load(dsn: str, scale: int, workdir: Path) -> tuple[PostGISStore, dict[str, int]]:
    gpkg = workdir / f"jilin_x{scale}.gpkg"
    t = time.perf_counter()
    counts = build_sample(gpkg, scale=scale)
    print(f"built sample ×{scale} in {time.perf_counter() - t:.1f} s: "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))
    admin = dsn.rsplit("/", 1)[0] + "/postgres"
    name = dsn.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')  # noqa: S608 - fixed benchmark identifier
    store = PostGISStore(default_catalog(), dsn.replace("postgresql://", "postgresql+psycopg://", 1))
    store.drop_all()
    store.init()
    t = time.perf_counter()
    for spec in store.catalog:
        store.replace_all(spec.name, rows_from_frame(spec, read_frame(gpkg, layer=spec.name), keep_ids=True).rows)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE")
    print(f"loaded into PostGIS in {time.perf_counter() - t:.1f} s")
    return store, counts


def api_latency(store: PostGISStore, park_ids: list[int], repeats: int) -> list[float]:
    from fastapi.testclient import TestClient

    from gis_service.api.app import create_app
    from gis_service.config import Settings

    times = []
    with TestClient(create_app(Settings(), store=store)) as client:
        t = time.perf_counter()
        assert client.get(f"/analysis/siting/{park_ids[0]}").status_code == 200
        print(f"first request (cold: road graph, rule files, caches): {(time.perf_counter() - t) * 1000:.0f} ms")
        for _ in range(repeats):
            for pid in park_ids:
                t = time.perf_counter()
                r = client.get(f"/analysis/siting/{pid}")
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.text
    return times


_SERVICES: dict[int, Services] = {}


def _services(store) -> Services:
    if id(store) not in _SERVICES:
        _SERVICES[id(store)] = Services.build(Settings(), store)
    return _SERVICES[id(store)]


def python_batch(store, park_ids, rs, only=None) -> tuple[float, dict[str, set]]:
    t = time.perf_counter()
    found: dict[str, set] = {r: set() for r in SPATIAL_RULES}
    for pid in park_ids:
        svc = _services(store)
        rep = svc.siting.check_park(pid, rs) if only is None else svc.siting.check(
            Proposal(store.get("chemical_parks", pid).geometry, "park", None, None,
                     {"layer": "chemical_parks", "id": pid}), rs, only=only)
        for o in rep.outcomes:
            if o.rule.id in found and o.outcome in ("fail", "warn"):
                found[o.rule.id] |= {(pid, x["id"]) for x in o.offending} if o.offending else {(pid, pid)}
    return time.perf_counter() - t, found


def sql_batch(dsn: str, store, rs) -> tuple[float, float, dict[str, set], dict[str, float]]:
    rule = {r.id: r for r in rs.rules}
    params = {"classes": list(rule["external_safety_distance"].params["classes"]),
              "dist": rule["external_safety_distance"].threshold,
              "search": float(rule["domino_incoming"].params.get("search_radius_m", 5000)),
              "tan_beta": 1.5, "cap": ScenarioParams().max_corridor_m, "w0": 200.0, "w1": 500.0,
              "min_km2": rule["min_area"].threshold}
    # domino radii per source from the same consequence model (Python), into a temp table
    t = time.perf_counter()
    dom = ScenarioParams(kinds=("explosion",), overpressure_kpa=(rule["domino_incoming"].threshold,))
    hz = store.frame("hazard_sources", ["inventory"])
    ctx = Context(store, Proposal(store.get("chemical_parks", 1).geometry, "park"), ScenarioParams(),
                  caches=SitingCaches())
    radii = []
    for fid, inv in zip(hz.index, hz["inventory"], strict=True):
        r, _ = explosion_radius_m(ctx, inv if not isinstance(inv, str) else orjson.loads(inv), dom)
        if r is not None:
            radii.append((int(fid), float(r)))
    prep = time.perf_counter() - t
    found: dict[str, set] = {}
    per_rule: dict[str, float] = {}
    t0 = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TEMP TABLE bench_radius (id bigint PRIMARY KEY, radius_m double precision)")
        with conn.cursor().copy("COPY bench_radius (id, radius_m) FROM STDIN") as cp:
            for row in radii:
                cp.write_row(row)
        conn.execute("ANALYZE bench_radius")
        for rid, sql in SQL.items():
            t = time.perf_counter()
            rows = conn.execute(sql, params).fetchall()
            per_rule[rid] = time.perf_counter() - t
            found[rid] = {(int(a), int(b)) for a, b in rows}
    return time.perf_counter() - t0 + prep, prep, found, per_rule


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true", help="scale 2 instead of 10 (smoke run)")
    ap.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/gis_bench_siting")
    ap.add_argument("--repeats", type=int, default=3, help="passes over all parks for the latency sample")
    ap.add_argument("--batch-repeats", type=int, default=3, help="repeats of each batch (median reported)")
    args = ap.parse_args(argv)
    scale = 2 if args.small else 10
    with tempfile.TemporaryDirectory() as tmp:
        store, counts = load(args.dsn, scale, Path(tmp))
    park_ids = sorted(int(i) for i in store.frame("chemical_parks", ["name"]).index)
    rs = _services(store).siting.rule_set("park")

    lat = api_latency(store, park_ids, args.repeats)
    q = statistics.quantiles(lat, n=20)
    print(f"\nAPI GET /analysis/siting/{{park_id}}, PostGIS, {len(park_ids)} parks × {args.repeats}: "
          f"p50 {statistics.median(lat):.0f} ms, p95 {q[18]:.0f} ms, max {max(lat):.0f} ms (target p50 < 200 ms)")

    full = [python_batch(store, park_ids, rs)[0] for _ in range(args.batch_repeats)]
    ours, ours_found = [], None
    for _ in range(args.batch_repeats):
        secs, ours_found = python_batch(store, park_ids, rs, only=SPATIAL_RULES)
        ours.append(secs)
    sql, sql_found, per_rule = [], None, None
    for _ in range(args.batch_repeats):
        secs, prep, sql_found, per_rule = sql_batch(args.dsn, store, rs)
        sql.append(secs)
    print(f"\nbatch over all {len(park_ids)} parks (median of {args.batch_repeats}):")
    print(f"  our path, all rules incl. rescue road times:  {statistics.median(full):8.2f} s")
    print(f"  our path, the {len(SPATIAL_RULES)} spatial rules:             {statistics.median(ours):8.2f} s")
    print(f"  set-based SQL, one query per rule:            {statistics.median(sql):8.2f} s "
          f"(incl. {prep:.2f} s domino radii in Python)")
    for rid, secs in per_rule.items():
        print(f"    {rid:28s} {secs * 1000:8.0f} ms  findings {len(sql_found[rid]):5d}  "
              f"ours {len(ours_found[rid]):5d}  {'agree' if sql_found[rid] == ours_found[rid] else 'DIFFER'}")
    print(f"  ratio our path / set-based SQL: {statistics.median(ours) / statistics.median(sql):.2f}")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
