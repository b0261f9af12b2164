"""Tianditu (天地图, the national platform of China's Ministry of Natural Resources) WMTS tile URLs.

Its KVP GetTile request (one host of ``t0``–``t7``, a developer key ``tk``):

    https://t{0-7}.tianditu.gov.cn/{layer}_{set}/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}
        &STYLE=default&TILEMATRIXSET={set}&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}

* layers: ``vec`` vector map with its Chinese label layer ``cva``; ``img`` imagery with its label layer ``cia``;
* matrix sets: ``w`` — spherical Web Mercator (EPSG:3857; the same tiling as XYZ, rows from the north), and ``c``
  — geographic CGCS2000 lon/lat (EPSG:4490), top-left corner (−180°, 90°), whose levels start at **1**: level
  ``z`` has 2^z columns and 2^(z−1) rows of 180/2^(z−1)° square tiles (level 1: two tiles of 180°).

Both are CGCS2000 (≈ WGS84 at map scale), so our WGS84 data sit on them without a shift — unlike GCJ-02
basemaps, which are refused (:mod:`.offers`). The ``c`` set cannot be drawn in a Web Mercator Leaflet map (it
needs a lon/lat CRS and a tile grid starting at level 1); the viewer and the HTML maps draw the ``w`` set of the
same layer, and the ``c`` templates are listed for GIS clients."""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import quote

HOSTS = "01234567"
LABELS = {"vec": "cva", "img": "cia"}
TITLES = {"vec": "天地图矢量 Tianditu vector", "img": "天地图影像 Tianditu imagery"}
MIN_LEVEL = {"c": 1, "w": 1}
MAX_LEVEL = 18
ATTRIBUTION = "天地图 © 国家地理信息公共服务平台 Tianditu, Ministry of Natural Resources of China"


@dataclass(frozen=True)
class TiandituLayers:
    base: str          # URL template of the map ({s} host digit, {z}, {x}, {y})
    labels: str        # URL template of its label layer
    matrix_set: str    # "c" | "w"
    layer: str         # "vec" | "img"
    min_level: int
    max_level: int


def template(layer: str, matrix_set: str, key: str, host: str = "{s}") -> str:
    """The GetTile URL template of ``layer`` (vec, cva, img, cia) in ``matrix_set`` (c or w)."""
    if matrix_set not in MIN_LEVEL:
        raise ValueError(f"Tianditu matrix set {matrix_set!r}: c or w")
    if layer not in ("vec", "cva", "img", "cia"):
        raise ValueError(f"Tianditu layer {layer!r}: vec, cva, img or cia")
    return (f"https://t{host}.tianditu.gov.cn/{layer}_{matrix_set}/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
            f"&LAYER={layer}&STYLE=default&TILEMATRIXSET={matrix_set}&FORMAT=tiles"
            f"&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={quote(key, safe='')}")


def layers(kind: str, key: str) -> TiandituLayers:
    """The map and label templates of ``kind`` = ``vec_w``, ``vec_c``, ``img_w`` or ``img_c``."""
    layer, _, matrix_set = kind.partition("_")
    if layer not in LABELS:
        raise ValueError(f"GIS_TIANDITU_SET={kind!r}: vec_w, vec_c, img_w or img_c")
    return TiandituLayers(template(layer, matrix_set, key), template(LABELS[layer], matrix_set, key), matrix_set,
                          layer, MIN_LEVEL[matrix_set], MAX_LEVEL)


def tile_url(tmpl: str, z: int, x: int, y: int, host: int | None = None) -> str:
    """A template filled in as Leaflet does (``{s}`` by one host, by default the one the tile hashes to)."""
    s = HOSTS[(x + y) % len(HOSTS)] if host is None else str(host)
    return tmpl.replace("{s}", s).replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))


def c_tile(lon: float, lat: float, level: int) -> tuple[int, int]:
    """(column, row) of the ``c``-set tile holding a point at ``level`` (≥ 1)."""
    if level < 1:
        raise ValueError("the c matrix set's levels start at 1")
    size = 180.0 / 2 ** (level - 1)
    col = min(int(math.floor((lon + 180.0) / size)), 2 ** level - 1)
    row = min(int(math.floor((90.0 - lat) / size)), 2 ** (level - 1) - 1)
    return col, row


def c_tile_bounds(level: int, col: int, row: int) -> tuple[float, float, float, float]:
    """west, south, east, north (degrees) of a ``c``-set tile."""
    if level < 1:
        raise ValueError("the c matrix set's levels start at 1")
    size = 180.0 / 2 ** (level - 1)
    west, north = -180.0 + col * size, 90.0 - row * size
    return west, north - size, west + size, north
