"""PostGIS vector tiles: our statement vs tipg's query shape, interleaved, on the same table.

    python bench/bench_tile_sql.py --pg-url postgresql+psycopg://…/db [--zooms 10,14,6] [--clients 8] [--n 40] [--rounds 3]

Load a national-size set first (``bench/load_national_pg.py``). For each zoom, tiles centred on receptors drawn
with seed 19 (as ``bench_tiles.py``) are requested by ``--clients`` threads, the three paths taking turns round by
round (so machine load hits them alike); the tiles facade's cache is off, so every request builds its tile:

* **ours** — ``TilesService`` → ``mvt_sql.tile_bytes``: a bounded count of the candidates (``LIMIT cap + 1``), then
  the plain statement when they are within ``GIS_TILE_MAX_FEATURES`` or the thinning one (window functions) over it;
* **ours, always thinning** — the thinning statement for every tile (the shape before the bounded count);
* **tipg-style** — the statement tipg issues (``bench_tiles.tipg_style``): ``ST_Intersects`` with the envelope
  transformed to 4326, ``LIMIT 10000``, no simplification, no thinning.

Printed: median over rounds of each path's p50 and p95 (ms) and throughput, and ours / path (p50), with the load
average at the start and the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_tiles import LAYER, run, tile_addresses, tipg_style  # noqa: E402

from gis_service.config import Settings  # noqa: E402
from gis_service.services.tiles import TilesService  # noqa: E402
from gis_service.stores import mvt_sql  # noqa: E402
from gis_service.stores.base import TileRequest  # noqa: E402


def always_thinning(store, svc):
    spec = store.spec(LAYER)
    table = store.tables[LAYER]

    def fn(tile):
        req = TileRequest(tile, svc.columns(spec, tile.z), svc.settings.tile_max_features)
        with store.reader.connect() as conn:
            return bytes(conn.execute(mvt_sql.tile_statement(table, LAYER, req, True)).scalar_one() or b"")

    return fn


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-url", required=True)
    ap.add_argument("--zooms", default="10,14,6")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    from gis_service.catalog import default_catalog
    from gis_service.stores.postgis import PostGISStore

    store = PostGISStore(default_catalog(), args.pg_url)
    svc = TilesService(store, Settings(tile_cache_tiles=0))
    print(f"postgis: {store.count(LAYER):,} {LAYER}, {args.clients} clients, {args.n} tiles per zoom and round, "
          f"{args.rounds} rounds; load average {os.getloadavg()[0]:.1f}")
    paths = {"ours": lambda t: svc.tile([LAYER], t), "ours-always-thin": always_thinning(store, svc),
             "tipg-style": tipg_style(store)}
    print(f"{'zoom':>4} {'path':<17} {'p50 ms':>9} {'p95 ms':>9} {'tiles/s':>8} {'KB':>8}  ours/path (p50)")
    for z in (int(v) for v in args.zooms.split(",")):
        addrs = tile_addresses(store, z, args.n)
        got: dict[str, list[dict]] = {k: [] for k in paths}
        for _ in range(args.rounds):
            for k, fn in paths.items():
                got[k].append(run(fn, addrs, args.clients))
        med = {k: {m: statistics.median(r[m] for r in rs) for m in ("p50", "p95", "tps", "bytes")}
               for k, rs in got.items()}
        for k, r in med.items():
            ratio = "" if k == "ours" else f"{med['ours']['p50'] / r['p50']:.2f}"
            print(f"{z:>4} {k:<17} {r['p50']:>9.1f} {r['p95']:>9.1f} {r['tps']:>8.1f} {r['bytes'] / 1024:>8.1f}  {ratio}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
