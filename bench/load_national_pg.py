"""Load layers of the national-size GeoPackage into an initialised PostGIS database quickly, for the benchmarks.

    GIS_STORE=postgis GIS_DATABASE_URL=… gis-service init-db
    python bench/load_national_pg.py --gpkg /tmp/national.gpkg --pg-url postgresql+psycopg://…/db receptors hazard_sources

``gis-service load-sample`` is the service's path (every row validated, inserted in batches: ≈ 20 min for the
300,000 hazard sources on this shared 2-core machine, over an hour for 2,000,000 receptors). This harness copies the
rows the generator already validated with one binary ``COPY`` per layer (rows read with pyogrio in chunks), then
``ANALYZE``; the layer's triggers keep the feature count and the revision as for any write.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pyogrio
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gis_service.catalog import default_catalog  # noqa: E402

CHUNK = 200_000


def load(conn, gpkg: Path, layer: str) -> int:
    spec = default_catalog()[layer]
    names = ["id", *spec.attribute_names]
    info = pyogrio.read_info(gpkg, layer=layer)
    total = int(info["features"])
    with conn.cursor() as cur:
        cur.execute(f"TRUNCATE riskmap.{layer}")  # noqa: S608 - layer from the catalogue
        cols = ", ".join([*names, "geom"])
        with cur.copy(f"COPY riskmap.{layer} ({cols}) FROM STDIN") as copy:  # noqa: S608
            for start in range(0, total, CHUNK):
                df = pyogrio.read_dataframe(gpkg, layer=layer, skip_features=start, max_features=CHUNK)
                wkb = shapely.to_wkb(shapely.set_srid(df.geometry.values, 4326), hex=True, include_srid=True)
                for rec, g in zip(df[names].itertuples(index=False), wkb, strict=True):
                    row = []
                    for name, v in zip(names, rec, strict=True):
                        a = None if name == "id" else spec.attribute(name)
                        if v is None or (isinstance(v, float) and v != v):
                            row.append(None)
                        elif a is not None and a.type == "json":
                            row.append(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
                        elif a is not None and a.type == "integer" or name == "id":
                            row.append(int(v))
                        else:
                            row.append(v)
                    row.append(g)
                    copy.write_row(row)
                print(f"  {layer}: {min(start + CHUNK, total):,}/{total:,}", flush=True)
        cur.execute(f"SELECT setval(pg_get_serial_sequence('riskmap.{layer}', 'id'), (SELECT max(id) FROM riskmap.{layer}))")  # noqa: S608,E501
        cur.execute(f"ANALYZE riskmap.{layer}")  # noqa: S608
    conn.commit()
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gpkg", type=Path, required=True)
    ap.add_argument("--pg-url", required=True)
    ap.add_argument("layers", nargs="+")
    args = ap.parse_args()
    import psycopg

    url = args.pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        for layer in args.layers:
            t0 = time.perf_counter()
            n = load(conn, args.gpkg, layer)
            print(f"{layer}: {n:,} rows in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
