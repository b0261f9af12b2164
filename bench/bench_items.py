"""Benchmark: an OGC API items page of 1,000 hazard sources, our API vs the raw SQL.

Both sides run in one go on the same PostGIS database:

* ours: ``GET /collections/hazard_sources/items?limit=1000&offset=…`` through uvicorn (a
  subprocess, PostGIS store), the full HTTP round trip including numberMatched and links;
* raw: one SQL statement that makes the same GeoJSON FeatureCollection in the database
  (``ST_AsGeoJSON(record)`` per row, joined by the client), fetched with psycopg — the floor any API on
  PostGIS can reach.

Prints medians, p90 and the ratio ours / raw (the issue asks for ≤ 2×).

    .venv/bin/python bench/bench_items.py [--features 100000] [--rounds 60]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import psycopg
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import ADMIN_URL, ServerProcess  # noqa: E402

from gis_service.catalog import default_catalog  # noqa: E402
from gis_service.stores.postgis import SCHEMA, PostGISStore  # noqa: E402

DB = "gis_bench_items"
SUBSTANCES = [("chlorine", "7782-50-5"), ("ammonia", "7664-41-7"), ("lpg", "68476-85-7"),
              ("methanol", "67-56-1"), ("benzene", "71-43-2")]


def database() -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone():
            conn.execute(f'CREATE DATABASE "{DB}"')
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{DB}"


def populate(url: str, n: int) -> None:
    store = PostGISStore(default_catalog(), url.replace("postgresql://", "postgresql+psycopg://"))
    store.drop_all()
    store.init()
    store.close()
    rng = np.random.default_rng(1)
    lon = rng.uniform(121.6, 131.3, n)
    lat = rng.uniform(40.8, 46.3, n)
    wkb = shapely.to_wkb(shapely.points(lon, lat), hex=True)
    import json

    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY {SCHEMA}.hazard_sources (name, enterprise, unit_type, inventory, park_id, county, "
                      "data_source, geom) FROM STDIN") as copy:
            for i in range(n):
                sub, cas = SUBSTANCES[i % len(SUBSTANCES)]
                inv = json.dumps([{"substance": sub, "cas": cas, "quantity_t": float(round(rng.uniform(1, 500), 1))}])
                copy.write_row((f"储罐区{i:06d}", f"企业{i % 997:03d}", "storage" if i % 2 else "production", inv,
                                None, "示例县", "synthetic (bench)", f"SRID=4326;{shapely.from_wkb(wkb[i]).wkt}"))
        cur.execute(f"ANALYZE {SCHEMA}.hazard_sources")
        conn.commit()


RAW_SQL = (
    "SELECT ST_AsGeoJSON(page.*, 'geom', 7, false) AS feature FROM "
    "(SELECT * FROM riskmap.hazard_sources ORDER BY id LIMIT 1000 OFFSET %s) AS page"
)


def raw_page(conn, offset: int) -> bytes:
    """The raw path: the database makes each Feature; the client only joins them."""
    rows = conn.execute(RAW_SQL, (offset,)).fetchall()
    return b'{"type":"FeatureCollection","features":[' + b",".join(r[0].encode() for r in rows) + b"]}"


def pctl(values, q):
    return float(np.percentile(values, q))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--features", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=60)
    args = ap.parse_args()
    url = database()
    print(f"populating {args.features} hazard sources …", flush=True)
    populate(url, args.features)
    offsets = np.random.default_rng(2).integers(0, max(1, args.features - 1000), args.rounds).tolist()
    env = {"GIS_STORE": "postgis", "GIS_DATABASE_URL": url.replace("postgresql://", "postgresql+psycopg://")}
    ours, raw = [], []
    with ServerProcess(env) as srv, httpx.Client(base_url=srv.url, timeout=30) as http, psycopg.connect(url) as conn:
        for _ in range(5):  # warm both paths
            http.get("/collections/hazard_sources/items", params={"limit": 1000})
            raw_page(conn, 0)
        for off in offsets:  # interleave so machine noise hits both alike
            t = time.perf_counter()
            r = http.get("/collections/hazard_sources/items", params={"limit": 1000, "offset": off})
            body = r.content
            ours.append(time.perf_counter() - t)
            assert r.status_code == 200 and body.count(b'"type":"Feature"') == 1000
            t = time.perf_counter()
            body = raw_page(conn, off)
            raw.append(time.perf_counter() - t)
            assert body.count(b'"type": "Feature"') + body.count(b'"type":"Feature"') == 1000
    m_ours, m_raw = statistics.median(ours) * 1000, statistics.median(raw) * 1000
    print(f"items page of 1000 hazard sources ({args.features} in the table, {args.rounds} rounds)")
    print(f"  our API (HTTP, PostGIS store): median {m_ours:7.1f} ms   p90 {pctl(ours, 90) * 1000:7.1f} ms")
    print(f"  raw SQL (ST_AsGeoJSON(row))     : median {m_raw:7.1f} ms   p90 {pctl(raw, 90) * 1000:7.1f} ms")
    print(f"  ratio ours / raw (median): {m_ours / m_raw:.2f}×  (target ≤ 2×)")


if __name__ == "__main__":
    main()
