"""Coordinate reference systems offered by the OGC API (Features Part 2, "Coordinate Reference Systems by
Reference", OGC 18-058r1).

Storage stays CRS84 (WGS84 lon/lat). A request may ask for another CRS for the answer (``crs``), for its
bbox (``bbox-crs``), for a CQL2 filter's geometries (``filter-crs``) or for a written body (``Content-Crs``):
every transformation is pyproj's, and coordinates are given **in the axis order of the CRS's definition**
(OGC 18-058r1 §6.2): EPSG:4326 and EPSG:4490 are latitude, longitude; the CGCS2000 3-degree Gauss-Krüger
zones (EPSG:4513–4533 "zone 25–45" with the zone number before the easting, EPSG:4534–4554 "CM 75E–135E"
without) are northing (X), easting (Y); EPSG:3857 is easting, northing; CRS84 is longitude, latitude.

CGCS2000 and WGS84 differ by centimetres (the datum shift pyproj applies is its "ballpark" null transformation
— the two frames agree to a few cm at epoch 2000 [S: CGCS2000 definition, GB/T 2260-aligned national notice
2008]); this service treats them as equal, as the loader does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{code}"
BASE_CODES = (4326, 4490, 3857)
GK_ZONE_FIRST, GK_CM_FIRST = 4513, 4534  # zone 25 / CM 75E; 21 zones each, 3° apart
GK_ZONES = 21
_URI = re.compile(r"^(?:\[?EPSG:(\d{1,6})\]?|https?://www\.opengis\.net/def/crs/EPSG/0/(\d{1,6}))$")
_CRS84_NAMES = {CRS84, "OGC:CRS84", "CRS84", "[OGC:CRS84]", "http://www.opengis.net/def/crs/OGC/0/CRS84"}


class UnsupportedCrs(ValueError):
    """A CRS the service does not offer (the API answers 400 naming the parameter)."""


@dataclass(frozen=True)
class Crs:
    """One offered CRS: its URI, EPSG code (None = CRS84) and whether its first axis is latitude/northing."""

    uri: str
    code: int | None

    @property
    def is_crs84(self) -> bool:
        return self.code is None

    @property
    def epsg_or_crs84(self) -> str:
        return "OGC:CRS84" if self.code is None else f"EPSG:{self.code}"

    @property
    def header(self) -> str:
        """The value of a ``Content-Crs`` header (OGC 18-058r1 §7.6: the URI in angle brackets)."""
        return f"<{self.uri}>"


CRS84_CRS = Crs(CRS84, None)


def gk_codes(bounds: Sequence[float] | None) -> list[int]:
    """EPSG codes of the CGCS2000 3-degree Gauss-Krüger zones (both numbering styles) whose 3° strip
    meets the lon/lat ``bounds``; all 21 zones when the bounds are unknown."""
    if bounds is None:
        first, last = 0, GK_ZONES - 1
    else:
        first = max(0, min(GK_ZONES - 1, math.floor((bounds[0] - 73.5) / 3)))
        last = max(0, min(GK_ZONES - 1, math.floor((bounds[2] - 73.5) / 3)))
    zones = range(first, last + 1)
    return [GK_CM_FIRST + z for z in zones] + [GK_ZONE_FIRST + z for z in zones]


def offered(bounds: Sequence[float] | None) -> list[str]:
    """The CRS URIs a collection with these lon/lat bounds lists (its ``crs`` member)."""
    return [CRS84] + [EPSG_URI.format(code=c) for c in (*BASE_CODES, *gk_codes(bounds))]


def parse(text: str | None, bounds: Sequence[float] | None = None) -> Crs:
    """A CRS from its URI (``http://www.opengis.net/def/crs/EPSG/0/4490``) or CURIE (``EPSG:4490``,
    ``[EPSG:4490]``); None or empty = CRS84. Anything not offered raises :class:`UnsupportedCrs`."""
    if text is None or text.strip() == "" or text.strip() in _CRS84_NAMES:
        return CRS84_CRS
    m = _URI.match(text.strip())
    code = int(m.group(1) or m.group(2)) if m else None
    if code is None or code not in (*BASE_CODES, *gk_codes(None)):
        raise UnsupportedCrs(f"unsupported CRS {text[:100]!r}; offered: {', '.join(offered(bounds))}")
    return Crs(EPSG_URI.format(code=code), code)


@lru_cache(maxsize=64)
def _transformer(src: int | None, dst: int | None) -> pyproj.Transformer:
    a = "OGC:CRS84" if src is None else f"EPSG:{src}"
    b = "OGC:CRS84" if dst is None else f"EPSG:{dst}"
    return pyproj.Transformer.from_crs(a, b)  # authority axis order on both sides


def _apply(t: pyproj.Transformer, geoms: np.ndarray) -> np.ndarray:
    def fn(xy: np.ndarray) -> np.ndarray:
        if not len(xy):
            return xy
        x, y = t.transform(xy[:, 0], xy[:, 1], errcheck=False)
        return np.column_stack([x, y])

    out = shapely.transform(geoms, fn)
    return out


@lru_cache(maxsize=64)
def _transformer_xy(dst: int) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs("OGC:CRS84", f"EPSG:{dst}", always_xy=True)


def from_crs84_xy(geoms: np.ndarray, crs: Crs) -> np.ndarray:
    """CRS84 geometries → ``crs`` with x = longitude/easting, y = latitude/northing (the order GIS files use)."""
    return geoms if crs.is_crs84 else _apply(_transformer_xy(crs.code), geoms)


def from_crs84(geoms: np.ndarray, crs: Crs) -> np.ndarray:
    """CRS84 geometries → ``crs`` (its axis order)."""
    return geoms if crs.is_crs84 else _apply(_transformer(None, crs.code), geoms)


def to_crs84(geoms: np.ndarray, crs: Crs) -> np.ndarray:
    """Geometries in ``crs`` (its axis order) → CRS84; non-finite results (a point outside the CRS's
    domain) raise UnsupportedCrs's sibling ValueError."""
    if crs.is_crs84:
        return geoms
    out = _apply(_transformer(crs.code, None), geoms)
    coords = shapely.get_coordinates(out)
    if len(coords) and not np.isfinite(coords).all():
        raise ValueError(f"coordinates outside the domain of {crs.uri}")
    return out


def geometry_to_crs84(geom: BaseGeometry, crs: Crs) -> BaseGeometry:
    return to_crs84(np.array([geom], dtype=object), crs)[0]


def bbox_to_crs84(bbox: tuple[float, float, float, float], crs: Crs) -> tuple[float, float, float, float]:
    """A bbox given in ``crs`` (its axis order: lower corner, upper corner) → a CRS84 lon/lat bbox that holds
    it (edges densified, so a projected box's curved sides are covered). Raises ValueError when the box
    lies outside the CRS's domain (e.g. lon/lat numbers given in a lat/lon CRS)."""
    if crs.is_crs84:
        return bbox
    a0, b0, a1, b1 = bbox
    if a0 > a1 or b0 > b1:
        raise ValueError("the lower corner must come first (in the CRS's axis order)")
    t = _transformer(crs.code, None)
    x0, y0, x1, y1 = t.transform_bounds(a0, b0, a1, b1, densify_pts=21, errcheck=True)
    vals = (x0, y0, x1, y1)
    if not all(math.isfinite(v) for v in vals) or not (-180 <= x0 <= 180 and -180 <= x1 <= 180
                                                       and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        raise ValueError(f"bbox lies outside the domain of {crs.uri}")
    return (float(x0), float(y0), float(x1), float(y1))


def geojson_texts(texts: Sequence[str], crs: Crs, precision: int) -> list[str]:
    """Pre-serialised CRS84 GeoJSON geometries → the same geometries in ``crs`` (axis order of the CRS),
    ``precision`` decimals (7 for degrees, 3 — millimetres — for projected CRSs is passed by the caller)."""
    if crs.is_crs84 or not texts:
        return list(texts)
    geoms = from_crs84(shapely.from_geojson(np.asarray(texts, dtype=object)), crs)
    geoms = shapely.set_precision(geoms, 10.0 ** -precision, mode="pointwise")
    return [str(t) for t in shapely.to_geojson(geoms)]


def precision(crs: Crs) -> int:
    """Decimals to write: 7 for degrees (≈ 1 cm), 3 for metres."""
    return 7 if crs.is_crs84 or crs.code in (4326, 4490) else 3
