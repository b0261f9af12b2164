"""Consequence zones (most severe first) and their GeoJSON: :class:`Zone`, :class:`ZoneSet`, level names
and ranks, geodesic buffers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from ... import geodesy
from ...models._common import json_safe
from ...models.plume import MODEL_RANGE_M

LEVELS = ("red", "orange", "yellow")
LEVEL_LABELS_ZH = {"red": "红区", "orange": "橙区", "yellow": "黄区"}
LEVEL_LABELS_EN = {"red": "red zone", "orange": "orange zone", "yellow": "yellow zone"}
CIRCLE_SEGMENTS = 128


@dataclass
class Zone:
    """One consequence zone on the map (geometry in WGS84 lon/lat).

    ``buffer_m`` is set when the zone is exactly "everything within ``buffer_m`` metres (geodesic) of
    the source geometry"; exposure then asks the store with ``within`` (exact), and ``geometry`` is
    the drawn approximation. Otherwise (plumes, corridors) exposure uses ``intersecting(geometry)``.
    """

    level: str
    label_zh: str
    label_en: str
    kind: str  # explosion | fire | toxic | tailings_runout | goaf_subsidence
    model: str
    threshold: float | None
    threshold_unit: str | None
    distance_m: float
    geometry: BaseGeometry
    buffer_m: float | None = None
    substance: str | None = None  # the substance that drives this zone
    details: dict[str, Any] = field(default_factory=dict)
    threshold_source: str | None = None
    model_reason: str | None = None
    truncated: bool = False
    truncation_reason: str | None = None
    true_distance_m: float | None = None
    true_distance_is_lower_bound: bool = False
    near_field: bool = False
    beyond_model_range: bool = False

    def properties(self) -> dict[str, Any]:
        """The zone's own record: model (and why), threshold with unit and source, truncation honestly stated."""
        out = {
            "level": self.level, "label_zh": self.label_zh, "label_en": self.label_en, "kind": self.kind,
            "model": self.model, "model_reason": self.model_reason,
            "threshold": self.threshold, "threshold_unit": self.threshold_unit,
            "threshold_source": self.threshold_source,
            "distance_m": round(self.distance_m, 2), "distance_unit": "m",
            "geometry_basis": ("within distance_m (geodesic) of the source geometry" if self.buffer_m is not None
                               else "polygon footprint"),
            "truncated": self.truncated,
            "near_field": self.near_field,
            "substance": self.substance, **self.details,
        }
        if self.truncated:
            out["truncation_reason"] = self.truncation_reason
            out["true_distance_m"] = None if self.true_distance_m is None else round(self.true_distance_m, 1)
            out["true_distance_is_lower_bound"] = self.true_distance_is_lower_bound
            out["beyond_model_range"] = self.beyond_model_range
            if self.beyond_model_range:
                out["model_range_m"] = MODEL_RANGE_M
        return json_safe(out)

    def to_feature(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        props = self.properties()
        if extra:
            props.update(extra)
        return {"type": "Feature", "geometry": json_safe(rfc7946(self.geometry)), "properties": props}


@dataclass
class ZoneSet:
    """Zones (most severe first) and the model results behind them."""

    zones: list[Zone]
    models: list[dict[str, Any]]
    parameters: dict[str, Any]
    source: dict[str, Any]
    assumptions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def outer(self) -> BaseGeometry | None:
        """The largest zone's geometry (by distance, then area); None when there are no zones."""
        if not self.zones:
            return None
        return max(self.zones, key=lambda z: (z.distance_m, z.geometry.area)).geometry

    def union(self) -> BaseGeometry | None:
        return unary_union([z.geometry for z in self.zones]) if self.zones else None

    def metadata(self) -> dict[str, Any]:
        return json_safe({
            "source": self.source, "parameters": self.parameters, "assumptions": self.assumptions,
            "warnings": self.warnings, "models": self.models, "skipped_models": self.skipped,
            "crs": "WGS84 lon/lat (RFC 7946); distances are geodesic metres",
            "units": {"distance_m": "m", "overpressure": "kPa", "heat_flux": "kW/m²", "concentration": "ppm",
                      "thermal_dose": "(W/m²)^(4/3)·s"},
        })

    def to_feature_collection(self, zone_extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        feats = [z.to_feature(zone_extra[i] if zone_extra else None) for i, z in enumerate(self.zones)]
        return {"type": "FeatureCollection", "features": feats, "metadata": self.metadata()}


def rfc7946(geom: BaseGeometry) -> BaseGeometry:
    """Exterior rings counter-clockwise (RFC 7946 §3.1.6)."""
    return shapely.orient_polygons(geom, exterior_cw=False)


def level_name(rank: int) -> str:
    return LEVELS[rank] if rank < len(LEVELS) else f"level{rank + 1}"


def level_labels(level: str, what_zh: str, what_en: str) -> tuple[str, str]:
    zh = LEVEL_LABELS_ZH.get(level, level)
    en = LEVEL_LABELS_EN.get(level, level)
    return f"{what_zh}{zh}", f"{what_en} {en}"


def order_zones(zones: list[Zone]) -> list[Zone]:
    kind_rank = {k: i for i, k in enumerate(("explosion", "fireball", "jet_fire", "fire", "toxic", "tailings_runout",
                                             "goaf_subsidence"))}
    return sorted(zones, key=lambda z: (level_rank(z.level), kind_rank.get(z.kind, 99), -z.distance_m))


def level_rank(level: str) -> int:
    """0 for red, 1 orange, 2 yellow, then level4, level5, …"""
    if level in LEVELS:
        return LEVELS.index(level)
    return int(level[5:]) - 1 if level.startswith("level") and level[5:].isdigit() else 99


def buffer_m(geom: BaseGeometry, metres: float) -> BaseGeometry:
    """Everything within ``metres`` of ``geom``, built geodesically."""
    if geom.geom_type == "Point":
        return geodesy.geodesic_circle(geom.x, geom.y, metres, CIRCLE_SEGMENTS)
    return geodesy.geodesic_buffer(geom, metres, quad_segs=32)


