"""Tile matrix sets (OGC Two Dimensional Tile Matrix Set and Tile Set Metadata 2.0, OGC 17-083r4): the
WebMercatorQuad set (EPSG:3857, 256-pixel tiles, the scale denominators of its annex) and the checks of a
tile address. Pure functions; the stores build the tiles, the tiles facade caches them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

WEB_MERCATOR_QUAD = "WebMercatorQuad"
ORIGIN = 20037508.342789244  # πR, R = 6378137 m (EPSG:3857)
MAX_ZOOM = 24
EXTENT = 4096  # MVT tile extent (internal integer grid), the Mapbox Vector Tile 2.1 default
BUFFER = 64    # pixels of the 4096 grid kept around a tile so lines and symbols join across edges
# OGC 17-083r4 Annex D.1: scale denominator of zoom 0 (0.28 mm pixels), halving with each zoom
SCALE_DENOMINATOR_0 = 559082264.0287178


class TileError(ValueError):
    """A tile address outside the matrix set (the API answers 400 naming the parameter)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Tile:
    z: int
    x: int
    y: int

    @property
    def bounds_3857(self) -> tuple[float, float, float, float]:
        size = 2 * ORIGIN / (1 << self.z)
        minx = -ORIGIN + self.x * size
        maxy = ORIGIN - self.y * size
        return (minx, maxy - size, minx + size, maxy)

    @property
    def bounds_lonlat(self) -> tuple[float, float, float, float]:
        return Tile.lonlat_of(*self.bounds_3857)

    @staticmethod
    def lonlat_of(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        return (_lon(x0), _lat(y0), _lon(x1), _lat(y1))

    @property
    def pixel_m(self) -> float:
        """Size of one of the 4096 grid units in metres (EPSG:3857 units)."""
        return 2 * ORIGIN / (1 << self.z) / EXTENT


def _lon(x: float) -> float:
    return x / ORIGIN * 180.0


def _lat(y: float) -> float:
    return math.degrees(2 * math.atan(math.exp(y / 6378137.0)) - math.pi / 2)


def check_tile(tms: str, z: int, x: int, y: int, max_zoom: int = MAX_ZOOM) -> Tile:
    """The tile, or TileError naming the parameter that is outside the WebMercatorQuad matrix."""
    if tms != WEB_MERCATOR_QUAD:
        raise TileError("tileMatrixSetId", f"unknown tile matrix set {tms[:40]!r}; offered: {WEB_MERCATOR_QUAD}")
    if not 0 <= z <= max_zoom:
        raise TileError("tileMatrix", f"zoom {z} is outside 0–{max_zoom}")
    n = 1 << z
    if not 0 <= x < n:
        raise TileError("tileCol", f"column {x} is outside 0–{n - 1} at zoom {z}")
    if not 0 <= y < n:
        raise TileError("tileRow", f"row {y} is outside 0–{n - 1} at zoom {z}")
    return Tile(z, x, y)


def tile_matrix_set() -> dict[str, Any]:
    """The WebMercatorQuad tile matrix set document (OGC 17-083r4 JSON encoding)."""
    matrices = []
    for z in range(MAX_ZOOM + 1):
        n = 1 << z
        scale = SCALE_DENOMINATOR_0 / n
        matrices.append({"id": str(z), "scaleDenominator": scale, "cellSize": scale * 0.00028,
                         "cornerOfOrigin": "topLeft", "pointOfOrigin": [-ORIGIN, ORIGIN],
                         "tileWidth": 256, "tileHeight": 256, "matrixWidth": n, "matrixHeight": n})
    return {"id": WEB_MERCATOR_QUAD, "title": "Google Maps Compatible for the World",
            "uri": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
            "crs": "http://www.opengis.net/def/crs/EPSG/0/3857", "orderedAxes": ["X", "Y"],
            "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
            "tileMatrices": matrices}


def to_3857(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Spherical Mercator (EPSG:3857) of lon/lat arrays; latitude clamped to the square's ±85.0511°."""
    import numpy as np

    lat = np.clip(lat, -85.05112878, 85.05112878)
    return np.asarray(lon) * ORIGIN / 180.0, np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) * 6378137.0
