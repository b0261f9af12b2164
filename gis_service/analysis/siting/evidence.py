"""GeoJSON evidence of the siting rules: conflict features, offending-feature references, shortest lines,
zones drawn around a geometry and overlap areas (geodesic)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from ... import geodesy
from ...stores.base import Feature


def _round(x: float | None, nd: int = 3) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), nd)


def _geojson(geom: BaseGeometry) -> dict[str, Any]:
    g = shapely.orient_polygons(geom, exterior_cw=False) if geom.geom_type in ("Polygon", "MultiPolygon") else geom
    return mapping(shapely.set_precision(g, 1e-7) if not g.is_empty else g)


def _feature(geom: BaseGeometry, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": _geojson(geom), "properties": props}


def _ref(layer: str, f: Feature, **extra: Any) -> dict[str, Any]:
    out = {"layer": layer, "id": f.id, "name": f.properties.get("name")}
    out.update({k: _round(v, 2) if isinstance(v, float) else v for k, v in extra.items()})
    return out


def _line_between(a: BaseGeometry, b: BaseGeometry) -> BaseGeometry:
    """Shortest line from ``a`` to ``b``, computed in the AEQD plane around ``a`` (geodesic-accurate)."""
    lon0, lat0 = geodesy.anchor(a)
    line = shapely.shortest_line(geodesy.to_local(a, lon0, lat0), geodesy.to_local(b, lon0, lat0))
    return geodesy.from_local(line, lon0, lat0)


def _lines_from(a: BaseGeometry, geoms: list[BaseGeometry]) -> list[BaseGeometry]:
    """Shortest lines from ``a`` to each geometry, vectorised in one AEQD plane around ``a``."""
    if not geoms:
        return []
    lon0, lat0 = geodesy.anchor(a)
    local = geodesy.to_local(np.asarray(geoms, dtype=object), lon0, lat0)
    lines = shapely.shortest_line(geodesy.to_local(a, lon0, lat0), local)
    return list(geodesy.from_local(lines, lon0, lat0))


def _zone_around(geom: BaseGeometry, metres: float) -> BaseGeometry:
    """Everything within ``metres`` (geodesic) of ``geom``, for drawing."""
    if geom.geom_type == "Point":
        return geodesy.geodesic_circle(geom.x, geom.y, metres)
    return geodesy.geodesic_buffer(geom, metres)


def _overlap(a: BaseGeometry, b: BaseGeometry) -> tuple[BaseGeometry, float]:
    inter = shapely.intersection(a, b)
    if inter.is_empty or inter.geom_type not in ("Polygon", "MultiPolygon", "GeometryCollection"):
        return inter, 0.0
    return inter, geodesy.area_m2(inter)
