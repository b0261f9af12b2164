"""Vector tiles: our MVT path vs the alternatives, side by side, on the national-size set.

    python bench/bench_tiles.py --gpkg /tmp/national.gpkg [--pg-url postgresql+psycopg://…/db] [--clients 1,8]

The national set: ``python sample_data/jilin_sample.py /tmp/national.gpkg --national`` (300,000 hazard sources,
2,000,000 receptors, 803,131 roads); PostGIS: ``GIS_STORE=postgis GIS_DATABASE_URL=… gis-service init-db`` then
``gis-service load-sample /tmp/national.gpkg``.

For each store and zoom 6, 10 and 14, tiles centred on randomly drawn receptors (seed 19) are requested by
``--clients`` threads through the tiles facade with its cache off (every request builds its tile):

* **ours** — ``TilesService`` (PostGIS: one ``ST_AsMVT`` statement with thinning over the cap; embedded:
  R-tree candidates + mapbox-vector-tile);
* **tipg-style** (PostGIS) — the statement tipg issues for a tile, rebuilt here (tipg is not installed in this
  environment): ``ST_AsMVT`` over ``ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(z,x,y))`` of the rows
  that ``ST_Intersects`` the tile's envelope transformed to 4326, ``LIMIT 10000``, no thinning;
* **GeoJSON bbox** — what the viewer did before tiles: the items page of the tile's bbox (≤ 10,000 features)
  serialised as GeoJSON.

Printed: p50/p95 per request (ms), throughput (tiles/s), mean bytes, and the ratio ours / alternative (p50).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gis_service import tiles  # noqa: E402
from gis_service.api.features import collection_bytes  # noqa: E402
from gis_service.config import Settings  # noqa: E402
from gis_service.services.tiles import TilesService  # noqa: E402
from gis_service.stores.base import Query  # noqa: E402

LAYER = "receptors"


def tile_addresses(store, z: int, n: int, seed: int = 19) -> list[tiles.Tile]:
    page = store.items(LAYER, Query(limit=20_000, properties=()))
    rng = np.random.default_rng(seed + z)
    pts = [page.features[i].geometry.coords[0] for i in rng.choice(len(page.features), n, replace=False)]
    out = []
    for lon, lat in pts:
        k = 1 << z
        x = int((lon + 180) / 360 * k)
        y = int((1 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2 * k)
        out.append(tiles.Tile(z, x, y))
    return out


def run(fn, addresses, clients: int) -> dict:
    times, sizes = [], []

    def one(t):
        t0 = time.perf_counter()
        body = fn(t)
        return time.perf_counter() - t0, len(body)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for dt, size in pool.map(one, addresses):
            times.append(dt * 1000)
            sizes.append(size)
    wall = time.perf_counter() - t0
    times.sort()
    return {"p50": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))],
            "tps": len(addresses) / wall, "bytes": statistics.mean(sizes)}


def tipg_style(store):
    from sqlalchemy import text

    # the shape of tipg's tile query (identifiers from its catalogue, values bound), for the receptors table
    sql = text(
        "WITH t AS (SELECT ST_TileEnvelope(:z, :x, :y) AS env) "
        "SELECT ST_AsMVT(q, :layer, 4096, 'geom') FROM ("
        "  SELECT id, name, receptor_class, ST_AsMVTGeom(ST_Transform(r.geom, 3857), t.env, 4096, 256, true) AS geom"
        "  FROM riskmap.receptors r, t WHERE ST_Intersects(r.geom, ST_Transform(t.env, 4326)) LIMIT 10000) q")

    def fn(tile):
        with store.reader.connect() as conn:
            return bytes(conn.execute(sql, {"z": tile.z, "x": tile.x, "y": tile.y, "layer": LAYER}).scalar_one() or b"")

    return fn


def geojson_bbox(store, svc):
    def fn(tile):
        spec = store.spec(LAYER)
        page = store.items(LAYER, Query(bbox=tile.bounds_lonlat, limit=10_000,
                                        properties=svc.columns(spec, tile.z)))
        return collection_bytes(page.features, {"numberMatched": page.number_matched})

    return fn


def bench_store(name, store, clients, n):
    svc = TilesService(store, Settings(tile_cache_tiles=0))
    store.count(LAYER)  # load
    print(f"\n== {name}: {store.count(LAYER):,} {LAYER}, {clients} clients, {n} tiles per zoom")
    print(f"{'zoom':>4} {'path':<14} {'p50 ms':>9} {'p95 ms':>9} {'tiles/s':>8} {'KB':>8}  ratio ours/path (p50)")
    for z in (6, 10, 14):
        addrs = tile_addresses(store, z, n)
        paths = {"ours": lambda t: svc.tile([LAYER], t)}
        if name == "postgis":
            paths["tipg-style"] = tipg_style(store)
        paths["geojson-bbox"] = geojson_bbox(store, svc)
        results = {k: run(fn, addrs, clients) for k, fn in paths.items()}
        for k, r in results.items():
            ratio = results["ours"]["p50"] / r["p50"] if r["p50"] else float("nan")
            print(f"{z:>4} {k:<14} {r['p50']:>9.1f} {r['p95']:>9.1f} {r['tps']:>8.1f} {r['bytes'] / 1024:>8.1f}  "
                  f"{'' if k == 'ours' else f'{ratio:.2f}'}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gpkg", type=Path, required=True)
    ap.add_argument("--pg-url", default=None)
    ap.add_argument("--clients", default="8", help="client threads; a list (e.g. 1,8) runs each in turn")
    ap.add_argument("--n", type=int, default=40)
    args = ap.parse_args()
    from gis_service.catalog import default_catalog
    from gis_service.stores.embedded import EmbeddedStore

    t0 = time.perf_counter()
    emb = EmbeddedStore(default_catalog(), args.gpkg)
    emb.count(LAYER)
    print(f"embedded store loaded in {time.perf_counter() - t0:.1f} s")
    clients = [int(c) for c in str(args.clients).split(",")]
    for c in clients:
        bench_store("embedded", emb, c, args.n)
    if args.pg_url:
        from gis_service.stores.postgis import PostGISStore

        pg = PostGISStore(default_catalog(), args.pg_url)
        for c in clients:
            bench_store("postgis", pg, c, args.n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
