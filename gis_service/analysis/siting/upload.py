"""An uploaded proposal (GeoJSON, a zipped Shapefile or a GeoPackage) as one WGS84 GeoJSON Feature,
read with pyogrio (GDAL). Bad files are refused with 400 naming the ``file`` field."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import shapely

from ...validation import Problem, ValidationFailed

SUFFIXES = (".geojson", ".json", ".zip", ".gpkg")
MAX_FEATURES = 1000


def _refuse(msg: str) -> ValidationFailed:
    return ValidationFailed([Problem(None, "file", msg)])


def proposal_feature(filename: str, data: bytes) -> dict[str, Any]:
    import pyogrio

    suffix = Path(filename).suffix.lower()
    if suffix not in SUFFIXES:
        raise _refuse(f"unsupported file type {suffix or filename!r}; accepted: {', '.join(SUFFIXES)}")
    if not data:
        raise _refuse("the file is empty")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        source = f"/vsizip/{path}" if suffix == ".zip" else str(path)
        try:
            frame = pyogrio.read_dataframe(source, max_features=MAX_FEATURES)
        except Exception as exc:  # noqa: BLE001 - GDAL's many error types: all mean "unreadable"
            raise _refuse(f"cannot read the file as {suffix[1:]}: {str(exc)[:200]}") from None
    if frame.empty or frame.geometry.isna().all():
        raise _refuse("the file holds no features with a geometry")
    if frame.crs is None:
        if suffix not in (".geojson", ".json"):
            raise _refuse("the file has no coordinate reference system (.prj); expected WGS84 or CGCS2000")
    elif frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    geom = shapely.union_all([g for g in frame.geometry.values if g is not None and not g.is_empty])
    if geom.geom_type not in ("Polygon", "MultiPolygon", "Point"):
        raise _refuse(f"expected polygons (or one point), got {geom.geom_type}")
    names = [v for v in frame.get("name", []) if isinstance(v, str) and v] if "name" in frame else []
    return {"type": "Feature",
            "properties": {"name": names[0] if names else Path(filename).stem, "source_file": filename,
                           "features_merged": int(len(frame))},
            "geometry": shapely.geometry.mapping(geom)}
