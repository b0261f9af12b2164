"""Request parameters and bodies declared once, with their limits, so OpenAPI states what is accepted.

Every bad value is answered with 400 and the JSON error body (see :mod:`.errors`). The limits are
fair-use bounds for callers without a key as much as sanity checks: ids are 64-bit integers (the
stores' id type), free text carries no NUL character (PostgreSQL text cannot hold one), analysis
bodies are small.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Path, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold U+0000

M = TypeVar("M", bound=BaseModel)

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



# -- query parameters read as one model ------------------------------------------------------------------
def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """OpenAPI parameter objects for the fields of ``model`` read from the query string, as FastAPI writes them
    for ``Query()`` parameters (name, in, required, the field's schema with its title, the description)."""
    schema = model.model_json_schema(mode="validation")
    out = []
    for name, field in model.model_fields.items():
        prop = {k: v for k, v in schema["properties"][name].items() if v is not None}  # FastAPI leaves out nulls
        param: dict[str, Any] = {"name": name, "in": "query", "required": field.is_required(), "schema": prop}
        if field.description:
            param["description"] = field.description
        out.append(param)
    return out


def query_model(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """A dependency reading the query string into ``model`` with one validation call.

    FastAPI validates each ``Query()`` parameter on its own (a look-up, a type check and a validator call per
    parameter); for an operation with many parameters that is a large part of a cheap request's cost. This reads
    them all at once; the errors are FastAPI's own (``RequestValidationError``, each located at
    ``("query", name)``), so the 400 bodies are the same. The route states the parameters in OpenAPI with
    ``openapi_extra={"parameters": query_parameters(model)}``. Repeated parameters never reach here
    (:class:`.edges.RefuseRepeatedParams`)."""
    validate = model.model_validate

    async def read(request: Request) -> M:
        try:
            return validate(dict(request.query_params))
        except ValidationError as exc:
            raise RequestValidationError([{**e, "loc": ("query", *e["loc"])} for e in exc.errors(include_url=False)]) from None

    return read
