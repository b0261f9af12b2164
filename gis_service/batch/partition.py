"""Spatial partitions with halos: sources by 1° lon/lat tile, receptors by their bounds against the
partition's bounds grown by the analysis's reach.

Why 1° tiles rather than region codes or H3 cells: a tile key is a pure function of the coordinates (no
boundary layer to read, no extra dependency), tiles are equal in work per unit of population density, and the
population grid (:mod:`.popgrid`) is stored in the same tiles, so a partition reads at most its 3×3 block of
files. A region code would need the admin polygons at every worker and yields very unequal partitions (a
province vs a city district).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

TILE_DEG = 1.0
_MIN_M_PER_DEG_LAT = 110_500.0        # < 110,574 m, the shortest degree of latitude on WGS84
_M_PER_DEG_LON_EQUATOR = 111_320.0    # ≥ the length of a degree of longitude at the equator (111,319.5 m)


def tile_of(lon, lat, size: float = TILE_DEG) -> tuple[np.ndarray, np.ndarray]:
    """(column, row) of the tile holding each point."""
    return (np.floor((np.asarray(lon, float) + 180.0) / size).astype(np.int64),
            np.floor((np.asarray(lat, float) + 90.0) / size).astype(np.int64))


def tile_key(col: int, row: int) -> str:
    return f"c{int(col):04d}r{int(row):04d}"


def tile_bounds(col: int, row: int, size: float = TILE_DEG) -> tuple[float, float, float, float]:
    return col * size - 180.0, row * size - 90.0, (col + 1) * size - 180.0, (row + 1) * size - 90.0


def pad(bounds: tuple[float, float, float, float], metres: float) -> tuple[float, float, float, float]:
    """A lon/lat box certainly containing every point within ``metres`` (geodesic) of the box."""
    x0, y0, x1, y1 = bounds
    dlat = metres / _MIN_M_PER_DEG_LAT * 1.01 + 1e-9
    lat_edge = min(89.9, max(abs(y0), abs(y1)) + dlat)
    dlon = metres / (_M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat_edge))) * 1.01 + 1e-9
    return x0 - dlon, max(-90.0, y0 - dlat), x1 + dlon, min(90.0, y1 + dlat)


@dataclass
class Partition:
    key: str
    sources: pd.DataFrame          # rows of the hazard-source frame (index = id), geometry column of shapely
    bounds: tuple[float, float, float, float]   # of the sources' geometries


def partition_sources(frame: pd.DataFrame, size: float = TILE_DEG) -> list[Partition]:
    """The sources grouped by the tile of their bounds' centre, keys in order."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    if not len(geoms):
        return []
    b = shapely.bounds(geoms)
    col, row = tile_of((b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, size)
    code = col * 1_000_000 + row
    order = np.argsort(code, kind="stable")
    uniq, starts = np.unique(code[order], return_index=True)
    ends = np.append(starts[1:], len(order))
    out = []
    for c, s0, s1 in zip(uniq, starts, ends, strict=True):
        sel = order[s0:s1]
        bb = b[sel]
        out.append(Partition(tile_key(c // 1_000_000, c % 1_000_000), frame.iloc[sel],
                             (float(bb[:, 0].min()), float(bb[:, 1].min()), float(bb[:, 2].max()), float(bb[:, 3].max()))))
    return sorted(out, key=lambda p: p.key)


def near(tree: shapely.STRtree, bounds: tuple[float, float, float, float], metres: float) -> np.ndarray:
    """Positions (sorted) of the tree's geometries whose bounds meet ``bounds`` grown by ``metres``: a superset of
    every geometry within ``metres`` of anything inside ``bounds``."""
    return np.sort(tree.query(shapely.box(*pad(bounds, metres)), predicate="intersects"))
