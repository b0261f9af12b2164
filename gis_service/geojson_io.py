"""Parsing GeoJSON request bodies (RFC 7946) into (geometry, properties) pairs with clear errors."""

from __future__ import annotations

from typing import Any

import orjson
import shapely
from shapely.geometry.base import BaseGeometry

from .validation import Problem, ValidationFailed

WGS84_NAMES = {"urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326", "EPSG:4326", "EPSG:4490",
               "urn:ogc:def:crs:EPSG::4490", "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
               "http://www.opengis.net/def/crs/EPSG/0/4326", "http://www.opengis.net/def/crs/EPSG/0/4490"}


def _fail(row: int | None, field: str, message: str) -> ValidationFailed:
    return ValidationFailed([Problem(row, field, message)])


def check_crs_member(doc: dict[str, Any]) -> None:
    """RFC 7946 GeoJSON is WGS84 lon/lat; a legacy ``crs`` member naming anything else is refused."""
    crs = doc.get("crs")
    if crs is None:
        return
    name = (crs.get("properties") or {}).get("name") if isinstance(crs, dict) else None
    if name not in WGS84_NAMES:
        raise _fail(None, "crs", f"GeoJSON must be WGS84 lon/lat (RFC 7946); got CRS {name!r}. "
                    "Reproject to EPSG:4326, or load the file with `gis-service load --crs`")


def parse_geometry(obj: Any, row: int | None = None, field: str = "geometry") -> BaseGeometry:
    if not isinstance(obj, dict) or "type" not in obj:
        raise _fail(row, field, "expected a GeoJSON geometry object with 'type' and 'coordinates'")
    try:
        return shapely.from_geojson(orjson.dumps(obj))
    except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
        raise _fail(row, field, f"unreadable GeoJSON geometry: {exc}") from None


def parse_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _fail(None, "body", f"request body is not valid JSON: {exc}") from None


def parse_feature_body(body: bytes, allow_collection: bool) -> list[tuple[BaseGeometry, dict[str, Any]]]:
    doc = parse_json(body)
    if not isinstance(doc, dict):
        raise _fail(None, "body", "expected a GeoJSON Feature" + (" or FeatureCollection" if allow_collection else ""))
    check_crs_member(doc)
    if doc.get("type") == "FeatureCollection":
        if not allow_collection:
            raise _fail(None, "type", "expected a single Feature here, got a FeatureCollection")
        feats = doc.get("features")
        if not isinstance(feats, list) or not feats:
            raise _fail(None, "features", "FeatureCollection has no features")
    elif doc.get("type") == "Feature":
        feats = [doc]
    else:
        raise _fail(None, "type", f"expected type Feature{' or FeatureCollection' if allow_collection else ''}, "
                    f"got {doc.get('type')!r}")
    out = []
    problems: list[Problem] = []
    for i, feat in enumerate(feats):
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            problems.append(Problem(i, "type", "each item must be a GeoJSON Feature"))
            continue
        try:
            geom = parse_geometry(feat.get("geometry"), i)
        except ValidationFailed as exc:
            problems.extend(exc.problems)
            continue
        props = feat.get("properties") or {}
        if not isinstance(props, dict):
            problems.append(Problem(i, "properties", "properties must be an object"))
            continue
        out.append((geom, props))
    if problems:
        raise ValidationFailed(problems)
    return out
