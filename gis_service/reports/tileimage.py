"""Raster basemap tiles under a report's map image: the Web Mercator (XYZ) tiles of the local basemap file that
cover the map's lon/lat box, stitched and resampled row by row onto the image's linear latitude axis (the map
image's axes are lon/lat; a Mercator tile's rows are not linear in latitude), then drawn below everything else.

The zoom is the one whose tile pixels are closest to the image's pixels (at most :data:`MAX_TILES` tiles), within
the file's zooms. Nothing is downloaded: the tiles come from a :class:`TileSource` (the basemaps facade)."""

from __future__ import annotations

import io
import math
from typing import Protocol

import numpy as np

MAX_TILES = 48
TILE = 256


class TileSource(Protocol):
    min_zoom: int
    max_zoom: int

    def tile(self, z: int, x: int, y: int) -> bytes | None: ...


def _merc_y(lat: float | np.ndarray, z: int):
    """Fractional XYZ tile row of a latitude at zoom ``z``."""
    lat = np.clip(lat, -85.0511, 85.0511)
    r = np.radians(lat)
    return (1 - np.log(np.tan(r) + 1 / np.cos(r)) / math.pi) / 2 * 2 ** z


def _tile_x(lon: float, z: int) -> float:
    return (lon + 180.0) / 360.0 * 2 ** z


def pick_zoom(bbox: tuple[float, float, float, float], width_px: int, lo: int, hi: int) -> int:
    """The zoom whose tiles match ``width_px`` pixels across ``bbox`` best, within lo–hi and MAX_TILES."""
    x0, y0, x1, y1 = bbox
    z = int(round(math.log2(max(width_px, 1) * 360.0 / (TILE * max(x1 - x0, 1e-9)))))
    z = max(lo, min(hi, z))
    while z > lo and _count(bbox, z) > MAX_TILES:
        z -= 1
    return z


def _span(bbox, z: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = bbox
    n = 2 ** z
    tx0, tx1 = int(math.floor(_tile_x(x0, z))), int(math.floor(_tile_x(x1, z)))
    ty0, ty1 = int(math.floor(float(_merc_y(y1, z)))), int(math.floor(float(_merc_y(y0, z))))
    return max(tx0, 0), min(tx1, n - 1), max(ty0, 0), min(ty1, n - 1)


def _count(bbox, z: int) -> int:
    a, b, c, d = _span(bbox, z)
    return (b - a + 1) * (d - c + 1)


def _decode(data: bytes) -> np.ndarray | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGBA").resize((TILE, TILE)))
    except (OSError, ValueError):   # a damaged tile leaves its square empty
        return None


def mosaic(source: TileSource, bbox: tuple[float, float, float, float], width_px: int,
           height_px: int) -> tuple[np.ndarray, tuple[float, float, float, float]] | None:
    """An RGBA image of ``bbox`` (rows linear in latitude, north first) and its extent (lon0, lon1, lat0, lat1),
    or None when the file has no tile there."""
    z = pick_zoom(bbox, width_px, source.min_zoom, source.max_zoom)
    tx0, tx1, ty0, ty1 = _span(bbox, z)
    big = np.zeros(((ty1 - ty0 + 1) * TILE, (tx1 - tx0 + 1) * TILE, 4), dtype=np.uint8)
    found = False
    for ty in range(ty0, ty1 + 1):
        for tx in range(tx0, tx1 + 1):
            data = source.tile(z, tx, ty)
            img = _decode(data) if data else None
            if img is not None:
                big[(ty - ty0) * TILE:(ty - ty0 + 1) * TILE, (tx - tx0) * TILE:(tx - tx0 + 1) * TILE] = img
                found = True
    if not found:
        return None
    x0, y0, x1, y1 = bbox
    rows = max(int(height_px), 2)
    cols = max(int(width_px), 2)
    lats = np.linspace(y1, y0, rows)                       # north first, linear in latitude
    lons = np.linspace(x0, x1, cols)
    iy = np.clip(((_merc_y(lats, z) - ty0) * TILE).astype(int), 0, big.shape[0] - 1)
    ix = np.clip(((np.array([_tile_x(v, z) for v in lons]) - tx0) * TILE).astype(int), 0, big.shape[1] - 1)
    return big[iy][:, ix], (x0, x1, y0, y1)
