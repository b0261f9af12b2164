"""Response models of the JSON endpoints, for the OpenAPI document.

The handlers build their answers with orjson (GeoJSON geometry passes through as text), so these
models describe the answers rather than produce them; the schemathesis run checks the statuses.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Link(BaseModel):
    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class Landing(BaseModel):
    title: str
    description: str
    links: list[Link]


class Conformance(BaseModel):
    conformsTo: list[str]


class Collection(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    title: str
    description: str
    itemType: str = "feature"
    crs: list[str]
    links: list[Link]
    extent: dict[str, Any] | None = None


class Collections(BaseModel):
    links: list[Link]
    collections: list[Collection]


class GeoJSONFeature(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str = Field("Feature", description="Feature")
    id: int | str | None = None
    geometry: dict[str, Any] | None = Field(..., description="RFC 7946 geometry, WGS84 lon/lat")
    properties: dict[str, Any] | None


class FeatureCollection(BaseModel):
    """RFC 7946 FeatureCollection; analyses add ``metadata`` (model, parameters, units, sources)."""

    model_config = ConfigDict(extra="allow")
    type: str = Field("FeatureCollection", description="FeatureCollection")
    features: list[GeoJSONFeature]
    numberMatched: int | None = None
    numberReturned: int | None = None
    links: list[Link] | None = None
    metadata: dict[str, Any] | None = None


class Created(BaseModel):
    created: list[int] = Field(..., description="ids of the new features, in input order")
    count: int


def geojson(model: type[BaseModel] = FeatureCollection, html: bool = False) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a 200 answered as application/geo+json (and text/html with ``f=html``)."""
    content: dict[str, Any] = {"application/geo+json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}
    if html:
        content["text/html"] = {}
    return {200: {"description": "GeoJSON", "content": content, "model": model}}
