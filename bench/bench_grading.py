"""Benchmark: GB 18218 α people count (people within 500 m of every hazard source) — our grading path
vs one PostGIS ``ST_DWithin`` join, on the same PostGIS data, in one run.

Data (generated, seed 18218) over Jilin (lon 121.6–131.3, lat 40.8–46.3), COPY-loaded into the
service's own tables (``riskmap.hazard_sources``, ``riskmap.receptors``, with the store's GiST indexes
on geometry and on ``geom::geography``) in database ``--db`` (default gis_bench_grading):

* ``--sources`` hazard sources (default 100,000): 60 % clustered around 400 "parks" (σ 1.5 km), the
  rest uniform; 1 % are ~120 m square tank-farm polygons;
* ``--receptors`` receptors (default 1,000,000): 70 % clustered around 3,000 towns (σ 2 km), the rest
  uniform; 1 % are ~150 m square residential polygons; population 0–2,000.

The same data is also written to a GeoPackage (``--gpkg``) and opened with the embedded store (its
one-time load is reported, not timed against the join: a running service has it loaded).

Timed, ``--repeat`` times each, medians printed:

* ours, embedded store: ``store.frame("hazard_sources", [])`` + ``frame("receptors", ["population"])``
  (both layers read through the Store contract) + :func:`gis_service.analysis.grading.people_within_each`
  (k-d tree on unit-sphere xyz, exact ellipsoidal check) — the grading run's people count;
* ours, PostGIS store: the same code, where ``frame`` pulls both layers out of PostGIS over the wire
  (reported separately: reading 1M rows through SQLAlchemy dominates it);
* count only (layers in memory);
* PostGIS: ``SELECT h.id, sum(r.population) FROM hazard_sources h LEFT JOIN receptors r ON
  ST_DWithin(h.geom::geography, r.geom::geography, 500) GROUP BY h.id`` (uses the geography index).

The per-source counts of every path must be identical (the script prints any difference and exits 1).

    .venv/bin/python bench/bench_grading.py           # 100k sources × 1M receptors (~5–8 min incl. load)
    .venv/bin/python bench/bench_grading.py --small   # 10k × 100k, under a minute
    .venv/bin/python bench/bench_grading.py --reuse   # keep already-loaded data of the same size
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time

import numpy as np
import psycopg
import shapely

from gis_service.analysis.grading import people_within_each
from gis_service.catalog import default_catalog
from gis_service.stores.embedded import EmbeddedStore
from gis_service.stores.postgis import PostGISStore

LON0, LON1, LAT0, LAT1 = 121.6, 131.3, 40.8, 46.3
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
CLASSES = np.array(["residential", "school", "hospital", "care_home"], dtype=object)


def _points(rng, n, n_centres, sigma_m, clustered_share):
    """lon, lat arrays: a share clustered around random centres (Gaussian, sigma metres), the rest uniform."""
    nc = int(n * clustered_share)
    cx = rng.uniform(LON0 + 0.2, LON1 - 0.2, n_centres)
    cy = rng.uniform(LAT0 + 0.2, LAT1 - 0.2, n_centres)
    pick = rng.integers(0, n_centres, nc)
    lat_c = cy[pick] + rng.normal(0, sigma_m, nc) / 111_000.0
    lon_c = cx[pick] + rng.normal(0, sigma_m, nc) / (111_000.0 * np.cos(np.radians(cy[pick])))
    lon = np.concatenate([lon_c, rng.uniform(LON0, LON1, n - nc)])
    lat = np.concatenate([lat_c, rng.uniform(LAT0, LAT1, n - nc)])
    return np.clip(lon, LON0, LON1), np.clip(lat, LAT0, LAT1)


def _geoms(rng, lon, lat, poly_share, side_m):
    geoms = shapely.points(lon, lat)
    k = np.flatnonzero(rng.random(len(lon)) < poly_share)
    dy = side_m / 2 / 111_000.0
    dx = side_m / 2 / (111_000.0 * np.cos(np.radians(lat[k])))
    geoms[k] = shapely.box(lon[k] - dx, lat[k] - dy, lon[k] + dx, lat[k] + dy)
    return geoms


def generate(n_src: int, n_rec: int, seed: int = 18218):
    rng = np.random.default_rng(seed)
    s_lon, s_lat = _points(rng, n_src, 400, 1500.0, 0.6)
    r_lon, r_lat = _points(rng, n_rec, 3000, 2000.0, 0.7)
    src = _geoms(rng, s_lon, s_lat, 0.01, 120.0)
    rec = _geoms(rng, r_lon, r_lat, 0.01, 150.0)
    pop = rng.integers(0, 2001, n_rec)
    cls = CLASSES[rng.choice(4, n_rec, p=[0.85, 0.1, 0.02, 0.03])]
    return src, rec, pop, cls


def ensure_db(name: str) -> str:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')  # noqa: S608 - fixed bench identifier
    url = ADMIN.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return url


def _copy(conn, table: str, columns: list[str], rows_text: io.StringIO) -> None:
    cols = ", ".join(columns)
    with conn.cursor().copy(f"COPY riskmap.{table} ({cols}) FROM STDIN") as cp:  # fixed identifiers
        while chunk := rows_text.read(1 << 20):
            cp.write(chunk)


# A mixed inventory (toxic dense gas, pressurised flammable gas, flammable liquid): every scenario kind runs.
INVENTORY = ('[{"substance": "chlorine", "cas": "7782-50-5", "quantity_t": 10.0}, '
             '{"substance": "lpg", "quantity_t": 20.0}, {"substance": "gasoline", "quantity_t": 50.0}]')


def load(url: str, src, rec, pop, cls) -> None:
    store = PostGISStore(default_catalog(), url.replace("postgresql://", "postgresql+psycopg://", 1))
    store.drop_all()
    store.init()
    store.close()
    t = time.perf_counter()
    inv = INVENTORY
    with psycopg.connect(url) as conn:
        conn.execute("DROP INDEX IF EXISTS riskmap.hazard_sources_geom_gist, riskmap.hazard_sources_geog_gist, "
                     "riskmap.receptors_geom_gist, riskmap.receptors_geog_gist")
        buf = io.StringIO()
        for i, w in enumerate(shapely.to_wkb(src, hex=True, include_srid=False)):
            buf.write(f"bench-{i}\tbench\tstorage\t{inv}\tSRID=4326;{w}\n")
        buf.seek(0)
        _copy(conn, "hazard_sources", ["name", "enterprise", "unit_type", "inventory", "geom"], buf)
        buf = io.StringIO()
        for i, (w, p, c) in enumerate(zip(shapely.to_wkb(rec, hex=True), pop.tolist(), cls.tolist(), strict=True)):
            buf.write(f"r-{i}\t{c}\t{p}\tSRID=4326;{w}\n")
        buf.seek(0)
        _copy(conn, "receptors", ["name", "receptor_class", "population", "geom"], buf)
        print(f"  COPY {time.perf_counter() - t:.1f} s; building indexes …", flush=True)
        for table in ("hazard_sources", "receptors"):
            conn.execute(f"CREATE INDEX {table}_geom_gist ON riskmap.{table} USING gist (geom)")
            # the same expression the store indexes and queries (PostGISStore: geography(Geometry,4326))
            conn.execute(f"CREATE INDEX {table}_geog_gist ON riskmap.{table} USING gist "
                         "((geom::geography(Geometry,4326)))")
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE riskmap.hazard_sources")
        conn.execute("VACUUM ANALYZE riskmap.receptors")
    print(f"  loaded in {time.perf_counter() - t:.1f} s", flush=True)


def write_gpkg(path: str, src, rec, pop, cls) -> None:
    """The generated layers as a GeoPackage in the layout the embedded store reads (ids 1..n)."""
    import geopandas as gpd
    import pyogrio

    inv = INVENTORY
    n = len(src)
    hs = gpd.GeoDataFrame({"id": np.arange(1, n + 1), "name": [f"bench-{i}" for i in range(n)],
                           "enterprise": "bench", "unit_type": "storage", "inventory": inv},
                          geometry=src, crs="EPSG:4326")
    rc = gpd.GeoDataFrame({"id": np.arange(1, len(rec) + 1), "name": [f"r-{i}" for i in range(len(rec))],
                           "receptor_class": cls, "population": pop}, geometry=rec, crs="EPSG:4326")
    pyogrio.write_dataframe(hs, path, layer="hazard_sources", driver="GPKG")
    pyogrio.write_dataframe(rc, path, layer="receptors", driver="GPKG", append=False)


POSTGIS_JOIN = """
SELECT h.id, coalesce(sum(r.population), 0)::bigint AS people
FROM riskmap.hazard_sources h
LEFT JOIN riskmap.receptors r
  ON ST_DWithin(h.geom::geography(Geometry,4326), r.geom::geography(Geometry,4326), %s)
GROUP BY h.id ORDER BY h.id
"""


def run_postgis(url: str, metres: float) -> tuple[np.ndarray, np.ndarray]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(POSTGIS_JOIN, (metres,)).fetchall()
    a = np.array(rows, dtype=np.int64).reshape(-1, 2)
    return a[:, 0], a[:, 1]


def run_ours(store, metres: float) -> tuple[np.ndarray, np.ndarray, float]:
    units = store.frame("hazard_sources", [])
    receptors = store.frame("receptors", ["population"])
    t = time.perf_counter()
    people = people_within_each(units.geometry.values, receptors.geometry.values,
                                receptors["population"].values, metres)
    return units.index.values.astype(np.int64), people, time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=int, default=100_000)
    ap.add_argument("--receptors", type=int, default=1_000_000)
    ap.add_argument("--small", action="store_true", help="10,000 sources × 100,000 receptors")
    ap.add_argument("--db", default="gis_bench_grading")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--reuse", action="store_true", help="skip loading when the tables already hold the sizes")
    ap.add_argument("--metres", type=float, default=500.0)
    ap.add_argument("--gpkg", default="/tmp/gis_bench_grading.gpkg", help="GeoPackage for the embedded store")
    args = ap.parse_args(argv)
    if args.small:
        args.sources, args.receptors = 10_000, 100_000
    import os

    data = generate(args.sources, args.receptors)
    if os.path.exists(args.gpkg):
        os.remove(args.gpkg)
    t = time.perf_counter()
    write_gpkg(args.gpkg, *data)
    emb = EmbeddedStore(default_catalog(), args.gpkg)
    emb.init()
    print(f"embedded store: wrote and opened {args.gpkg} in {time.perf_counter() - t:.1f} s (one-time load)",
          flush=True)
    url = ensure_db(args.db)
    sa_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    store = PostGISStore(default_catalog(), sa_url)
    have = None
    if args.reuse:
        try:
            have = (store.count("hazard_sources"), store.count("receptors"))
        except Exception:  # noqa: BLE001 - not loaded yet
            have = None
    if have != (args.sources, args.receptors):
        print(f"loading {args.sources:,} hazard sources and {args.receptors:,} receptors into PostGIS …", flush=True)
        load(url, *data)
    print(f"database {args.db}: {store.count('hazard_sources'):,} hazard sources, "
          f"{store.count('receptors'):,} receptors; radius {args.metres:g} m; repeat {args.repeat}", flush=True)

    t_emb, t_pgs, t_count, t_join = [], [], [], []
    answers = {}
    for k in range(args.repeat):
        t = time.perf_counter()
        answers["embedded store"] = run_ours(emb, args.metres)[:2]
        t_emb.append(time.perf_counter() - t)
        t = time.perf_counter()
        *answers["PostGIS store"], tc = run_ours(store, args.metres)
        t_pgs.append(time.perf_counter() - t)
        t_count.append(tc)
        t = time.perf_counter()
        answers["PostGIS join"] = run_postgis(url, args.metres)
        t_join.append(time.perf_counter() - t)
        print(f"  run {k + 1}: ours/embedded {t_emb[-1]:.2f} s | ours/PostGIS store {t_pgs[-1]:.2f} s "
              f"(count {tc:.2f} s) | PostGIS join {t_join[-1]:.2f} s", flush=True)
    store.close()

    ids_p, people_p = answers["PostGIS join"]
    bad = False
    for name in ("embedded store", "PostGIS store"):
        ids_o, people_o = answers[name]
        order = np.argsort(ids_o)
        same = np.array_equal(ids_o[order], ids_p)
        diff = np.flatnonzero(people_o[order] != people_p) if same else np.arange(len(ids_p))
        bad |= bool(len(diff))
        print(f"identical per-source counts, {name} vs PostGIS join: {not len(diff)}"
              + (f" ({len(diff)} differ, e.g. ids {ids_p[diff[:5]].tolist()})" if len(diff) else ""))
    med = {k: statistics.median(v) for k, v in
           (("emb", t_emb), ("pgs", t_pgs), ("count", t_count), ("join", t_join))}
    print(f"sources with people within {args.metres:g} m: {(people_p > 0).sum():,} of {len(people_p):,}; "
          f"people counted {people_p.sum():,}")
    print(f"median ours, embedded store (frame + count):     {med['emb']:.3f} s")
    print(f"median ours, PostGIS store (frame over the wire + count): {med['pgs']:.3f} s")
    print(f"median count only (layers in memory):            {med['count']:.3f} s")
    print(f"median PostGIS ST_DWithin(geography, {args.metres:g} m) join: {med['join']:.3f} s")
    print(f"RATIO PostGIS join / ours (embedded store): {med['join'] / med['emb']:.1f}x   "
          f"(count only: {med['join'] / med['count']:.1f}x; via PostGIS store incl. reading: "
          f"{med['join'] / med['pgs']:.1f}x)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
