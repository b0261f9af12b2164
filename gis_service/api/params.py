"""Request parameters and bodies declared once, with their limits, so OpenAPI states what is accepted.

Every bad value is answered with 400 and the JSON error body (see :mod:`.errors`). The limits are
fair-use bounds for callers without a key as much as sanity checks: ids are 64-bit integers (the
stores' id type), free text carries no NUL character (PostgreSQL text cannot hold one), analysis
bodies are small.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold U+0000

FeatureId = Annotated[int, Path(ge=INT64_MIN, le=INT64_MAX, description="feature id (64-bit integer)")]

# -- fair use for the analysis endpoints -------------------------------------------------------------
MAX_ANALYSIS_BODY_BYTES = 1024 * 1024     # a siting proposal or what-if body
MAX_POLYGON_VERTICES = 20_000             # vertices of a proposed site (all rings and parts)
MAX_LIST_ITEMS = 20                       # comma-separated lists in query parameters (levels, types)

GEOMETRY_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["type"],
    "description": "GeoJSON geometry (RFC 7946), WGS84 lon/lat",
    "properties": {
        "type": {"type": "string", "enum": ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                                            "MultiPolygon", "GeometryCollection"]},
        "coordinates": {"type": "array", "description": "positions [lon, lat] nested per geometry type"},
    },
}
FEATURE_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["type", "geometry"],
    "properties": {"type": {"type": "string", "enum": ["Feature"]}, "geometry": GEOMETRY_SCHEMA,
                   "properties": {"type": ["object", "null"]}, "id": {}},
}
COLLECTION_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["type", "features"],
    "properties": {"type": {"type": "string", "enum": ["FeatureCollection"]},
                   "features": {"type": "array", "items": FEATURE_SCHEMA, "minItems": 1}},
}


def geojson_body(collection: bool, description: str, limit_bytes: int | None = None) -> dict[str, Any]:
    """``openapi_extra`` declaring a GeoJSON request body read by the handler itself."""
    schema = {"oneOf": [FEATURE_SCHEMA, COLLECTION_SCHEMA]} if collection else FEATURE_SCHEMA
    if limit_bytes:
        description += f" At most {limit_bytes // 1024} kB."
    return {"requestBody": {"required": True, "description": description,
                            "content": {"application/geo+json": {"schema": schema},
                                        "application/json": {"schema": schema}}}}


def polygon_vertices(geom) -> int:
    import shapely

    return int(shapely.get_num_coordinates(geom))

