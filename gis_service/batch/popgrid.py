"""A national population grid as partitioned GeoParquet: one file per 1° tile (``tile=<key>/part-0.parquet``),
each row a grid point (cell centre) with its population, geometry in GeoParquet 1.1's native point encoding
(a struct of x and y: no WKB to decode), ``geo`` metadata in every file.

Synthetic [A]: the tiles holding hazard sources are covered by a regular grid; each point's population is drawn
from a lognormal distribution (median 8, σ 1.2, seeded per tile), so 10⁸ points hold ≈ 1.6×10⁹ people, the
order of China's population. It stands in for a gridded census product (e.g. GHS-POP, WorldPop) for scale
tests; it is not data about any place.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .partition import TILE_DEG, tile_bounds, tile_key

GEO_META = {"version": "1.1.0", "primary_column": "geometry",
            "columns": {"geometry": {"encoding": "point", "geometry_types": ["Point"],
                                     "crs": None}}}  # crs null = OGC:CRS84 (GeoParquet 1.1)
NOTE = ("synthetic population grid [A]: regular points over the tiles that hold hazard sources, population "
        "lognormal (median 8, σ 1.2) per point; stands in for a gridded census product")


def write_grid(out: Path | str, tiles: list[tuple[int, int]], points: int, seed: int = 2012,
               progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Write ≈ ``points`` grid points over ``tiles`` ((col, row) of 1° tiles). Returns counts."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    side = max(1, math.ceil(math.sqrt(points / max(1, len(tiles)))))
    total = people = 0
    schema = pa.schema([("geometry", pa.struct([("x", pa.float64()), ("y", pa.float64())])),
                        ("population", pa.int32())], metadata={b"geo": json.dumps(GEO_META).encode()})
    for col, row in sorted(tiles):
        x0, y0, x1, y1 = tile_bounds(col, row)
        step = TILE_DEG / side
        xs = x0 + (np.arange(side) + 0.5) * step
        ys = y0 + (np.arange(side) + 0.5) * step
        gx, gy = np.meshgrid(xs, ys)
        rng = np.random.default_rng(np.random.SeedSequence([seed, int(col), int(row)]))
        pop = np.rint(rng.lognormal(math.log(8.0), 1.2, gx.size)).astype(np.int32)
        geom = pa.StructArray.from_arrays([pa.array(gx.ravel()), pa.array(gy.ravel())], names=["x", "y"])
        table = pa.Table.from_arrays([geom, pa.array(pop)], schema=schema)
        folder = out / f"tile={tile_key(col, row)}"
        folder.mkdir(exist_ok=True)
        tmp = folder / "part-0.parquet.tmp"
        pq.write_table(table, tmp, compression="zstd", row_group_size=1 << 20)
        os.replace(tmp, folder / "part-0.parquet")
        total += gx.size
        people += int(pop.sum())
        if progress:
            progress(gx.size)
    (out / "_grid.json").write_text(json.dumps({"tiles": len(tiles), "points": total, "population": people,
                                                "points_per_tile_side": side, "note": NOTE}, ensure_ascii=False))
    return {"tiles": len(tiles), "points": total, "population": people}


def read_points(grid: Path | str, bounds: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lon, lat, population) of the grid points inside ``bounds``, reading only the tiles it meets."""
    grid = Path(grid)
    x0, y0, x1, y1 = bounds
    c0, c1 = math.floor((x0 + 180.0) / TILE_DEG), math.floor((x1 + 180.0) / TILE_DEG)
    r0, r1 = math.floor((y0 + 90.0) / TILE_DEG), math.floor((y1 + 90.0) / TILE_DEG)
    lons, lats, pops = [], [], []
    for c in range(c0, c1 + 1):
        for r in range(r0, r1 + 1):
            path = grid / f"tile={tile_key(c, r)}" / "part-0.parquet"
            if not path.exists():
                continue
            t = pq.read_table(path)
            g = t.column("geometry").combine_chunks()
            x = g.field("x").to_numpy()
            y = g.field("y").to_numpy()
            p = t.column("population").to_numpy()
            keep = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
            lons.append(x[keep])
            lats.append(y[keep])
            pops.append(p[keep])
    if not lons:
        return np.zeros(0), np.zeros(0), np.zeros(0, np.int32)
    return np.concatenate(lons), np.concatenate(lats), np.concatenate(pops)
