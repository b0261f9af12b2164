"""Exposure result types (pydantic): the zones of a hazard source or a what-if release with the receptors inside
them, as a typed GeoJSON FeatureCollection (geojson-pydantic ``Feature`` / ``FeatureCollection``).

:meth:`.exposure.ExposureResult.to_model` validates the answer's GeoJSON document into :class:`ExposureZones` — the
response model the exposure routes declare and the object the exposure map and PDF read by attribute. The
document the API writes is the same JSON (the routes serialise the document this model is validated from; the
members a model family adds — its level names, truncation notes, the what-if source's substance — are kept as
extra members, never dropped)."""

from __future__ import annotations

from typing import Any, Literal

from geojson_pydantic import Feature, FeatureCollection
from geojson_pydantic.geometries import Geometry
from pydantic import BaseModel, ConfigDict, Field

from ..borders import BorderInfo
from ..documents import Documented


class _Open(BaseModel):
    """A record with the members every answer has, typed; a model family's further members kept as they are."""

    model_config = ConfigDict(extra="allow")


class ReceptorRow(_Open):
    """One receptor inside a zone (``properties.exposure.receptors[]``)."""

    id: int
    name: str | None
    receptor_class: str | None
    class_zh: str | None
    population: int = Field(..., description="people (the receptor's population attribute)")
    distance_m: float = Field(..., description="geodesic metres from the source")


class ZoneExposure(_Open):
    receptor_count: int
    total_population: int
    counts_by_class: dict[str, int]
    population_by_class: dict[str, int]
    receptors: list[ReceptorRow]


class ZoneProperties(_Open):
    """One consequence zone: level, model (and why), threshold with unit and source, distance, truncation, and
    the receptors inside it."""

    feature_type: Literal["zone"]
    level: str
    label_zh: str
    label_en: str
    kind: str
    model: str
    model_reason: str | None
    threshold: float | None
    threshold_unit: str | None
    threshold_source: str | None
    distance_m: float = Field(..., description="geodesic metres from the source")
    truncated: bool
    near_field: bool
    substance: str | None
    exposure: ZoneExposure
    truncation_reason: str | None = Field(None, exclude_if=lambda v: v is None)
    other_jurisdictions: list[str] | None = Field(None, exclude_if=lambda v: v is None,
                                                  description="admin codes of the other areas the zone reaches")


class ReceptorProperties(_Open):
    """An exposed receptor as a feature of its own (``receptors=true``)."""

    feature_type: Literal["receptor"]
    innermost_level: str | None
    id: int
    name: str | None
    receptor_class: str | None
    class_zh: str | None
    population: int
    distance_m: float


ZoneFeature = Feature[Geometry, ZoneProperties]
ReceptorFeature = Feature[Geometry, ReceptorProperties]


class ExposureSource(_Open):
    """The hazard source (layer, id, name) or the what-if release (substance, quantity) the zones are drawn around."""

    layer: str | None = Field(..., description="the source's layer (null: a what-if release)")
    id: int | None = Field(None, exclude_if=lambda v: v is None)
    name: str | None = Field(None, exclude_if=lambda v: v is None)
    substance: str | None = Field(None, exclude_if=lambda v: v is None)


class ModelRecord(_Open):
    """One consequence model run behind the zones, with its sources and limitations."""

    sources: list[str] | str | None = Field(None, exclude_if=lambda v: v is None)
    limitations: list[str] | str | None = Field(None, exclude_if=lambda v: v is None)


class ExposureTotals(_Open):
    """Distinct receptors inside any zone (the union of the zones)."""

    receptor_count: int
    total_population: int
    population_by_class: dict[str, int]
    note: str


class ExposureMetadata(_Open):
    source: ExposureSource
    parameters: dict[str, Any]
    assumptions: list[str]
    warnings: list[str]
    models: list[ModelRecord]
    skipped_models: list[dict[str, Any]]
    crs: str
    units: dict[str, str]
    exposure: ExposureTotals
    population_note: str
    border: BorderInfo | None = Field(None, exclude_if=lambda v: v is None,
                                      description="crossing a border: the other jurisdictions the zones reach")


class ExposureZones(FeatureCollection[ZoneFeature | ReceptorFeature], Documented):
    """``GET /analysis/exposure/{layer}/{fid}``, ``POST /analysis/exposure``: one feature per zone (most severe
    first), then (``receptors=true``) one per exposed receptor; model, parameters, units and totals in ``metadata``."""

    metadata: ExposureMetadata

    @property
    def zones(self) -> list[ZoneProperties]:
        return [f.properties for f in self.features if isinstance(f.properties, ZoneProperties)]

    @property
    def receptors(self) -> list[ReceptorProperties]:
        return [f.properties for f in self.features if isinstance(f.properties, ReceptorProperties)]

    def zone_features(self) -> list[ZoneFeature]:
        return [f for f in self.features if isinstance(f.properties, ZoneProperties)]

    def receptor_features(self) -> list[ReceptorFeature]:
        return [f for f in self.features if isinstance(f.properties, ReceptorProperties)]
