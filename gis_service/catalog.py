"""The layer catalogue: reads the declarative specs in ``layers/*.yaml`` into typed objects.

The YAML files are the single source of truth for each layer's table schema, geometry types,
attributes (type, unit, allowed values, required), bilingual labels and map style. Every
identifier that arrives in a request (layer name, property name, sort key) is checked against
this catalogue before it can reach a query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ATTRIBUTE_TYPES = ("string", "integer", "number", "boolean", "json")
GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
# What a stored feature may be (issue 24): at most ``max_extent_km`` across (geodesic length of its
# bounding box's diagonal; per layer in its YAML, this default otherwise) and never across the
# antimeridian. Larger shapes are not a site, a park or a road, and break the analyses and PostGIS's
# geography type ("Antipodal edge"); the province-wide admin area is ~1000 km across.
DEFAULT_MAX_EXTENT_KM = 1000.0


class CatalogError(ValueError):
    """A layer spec file is malformed."""


class UnknownLayer(KeyError):
    """A layer name that is not in the catalogue."""

    def __init__(self, name: str, known: list[str]):
        super().__init__(name)
        self.name = name
        self.known = known

    def __str__(self) -> str:
        return f"unknown layer {self.name!r}; known layers: {', '.join(self.known)}"


def _format_json(value: Any) -> str:
    """A JSON value for people — the twin of ``formatJson`` in web/riskmap.js: objects as ``k: v, k: v``,
    lists joined by ``; ``."""
    if isinstance(value, list):
        return "; ".join(_format_json(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_format_json(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))      # JavaScript's String(2.0) is "2"
    return str(value)


@dataclass(frozen=True)
class AttributeSpec:
    name: str
    type: str
    label_zh: str
    label_en: str
    required: bool = False
    enum: tuple[Any, ...] | None = None
    enum_labels: dict[Any, str] = field(default_factory=dict)
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    unit: str | None = None
    description: str | None = None
    schema: str | None = None

    def label(self) -> str:
        """Bilingual label for people, e.g. ``坝高 Dam height (m)``."""
        unit = f" ({self.unit})" if self.unit else ""
        return f"{self.label_zh} {self.label_en}{unit}"

    def display(self, value: Any) -> str:
        """Human (Chinese) rendering of a value: enum label and unit."""
        if value is None:
            return "—"
        if self.enum_labels and value in self.enum_labels:
            return f"{self.enum_labels[value]} ({value})"
        if self.type == "boolean":
            return "是" if value else "否"
        if self.type == "json" or isinstance(value, dict | list):
            return _format_json(value)
        if self.unit:
            return f"{value} {self.unit}"
        return str(value)

    def json_schema(self) -> dict[str, Any]:
        """JSON Schema fragment (used in the OGC collection schema and OpenAPI)."""
        base = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}
        out: dict[str, Any] = {"title": self.label()}
        if self.type == "json":
            out["type"] = ["array", "object"]
        else:
            out["type"] = base[self.type]
        if self.enum:
            out["enum"] = list(self.enum)
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.max_length is not None:
            out["maxLength"] = self.max_length
        if self.unit:
            out["x-unit"] = self.unit
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class LayerSpec:
    name: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    geometry_types: tuple[str, ...]
    attributes: tuple[AttributeSpec, ...]
    style: dict[str, Any]
    popup: tuple[str, ...]
    # jurisdiction (gis_service.access): "regulated" layers are read and written only within the caller's
    # jurisdiction, "shared" ones are read by all and written within it; ``own_code`` names the attribute
    # that is the feature's own admin code (admin areas), otherwise the code is derived from the geometry
    scope: str = "shared"
    own_code: str | None = None
    # vector tiles: the zoom from which features with an attribute's value are in a tile (attribute, ((value,
    # zoom), …)); a value not listed is in every zoom (e.g. county outlines only from the province zoom on)
    tile_min_zoom: tuple[str, tuple[tuple[str, int], ...]] | None = None

    @property
    def regulated(self) -> bool:
        return self.scope == "regulated"
    max_extent_km: float = DEFAULT_MAX_EXTENT_KM

    @property
    def title(self) -> str:
        return f"{self.title_zh} {self.title_en}"

    @property
    def attribute_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.attributes)

    def attribute(self, name: str) -> AttributeSpec:
        for attr in self.attributes:
            if attr.name == name:
                return attr
        raise KeyError(name)

    def has_attribute(self, name: str) -> bool:
        return name in self.attribute_names

    @property
    def geometry_family(self) -> str:
        """'point', 'line' or 'polygon' — what the map and the routing need to know."""
        first = self.geometry_types[0]
        if "Point" in first:
            return "point"
        if "Line" in first:
            return "line"
        return "polygon"


def _max_extent(raw: dict[str, Any], source: Path) -> float:
    value = raw.get("max_extent_km", DEFAULT_MAX_EXTENT_KM)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 10_000:
        raise CatalogError(f"{source}: max_extent_km must be a number of km in (0, 10000] (got {value!r})")
    return float(value)


def _spec_from_dict(raw: dict[str, Any], source: Path) -> LayerSpec:
    try:
        attrs = []
        for a in raw["attributes"]:
            if a["type"] not in ATTRIBUTE_TYPES:
                raise CatalogError(f"{source}: attribute {a['name']}: type {a['type']!r} not in {ATTRIBUTE_TYPES}")
            attrs.append(
                AttributeSpec(
                    name=a["name"],
                    type=a["type"],
                    label_zh=a["label"]["zh"],
                    label_en=a["label"]["en"],
                    required=bool(a.get("required", False)),
                    enum=tuple(a["enum"]) if a.get("enum") else None,
                    enum_labels=dict(a.get("enum_labels") or {}),
                    minimum=a.get("minimum"),
                    maximum=a.get("maximum"),
                    max_length=a.get("max_length"),
                    unit=a.get("unit"),
                    description=a.get("description"),
                    schema=a.get("schema"),
                )
            )
        geoms = tuple(raw["geometry"])
        for g in geoms:
            if g not in GEOMETRY_TYPES:
                raise CatalogError(f"{source}: geometry type {g!r} not in {GEOMETRY_TYPES}")
        names = [a.name for a in attrs]
        if len(set(names)) != len(names) or "id" in names:
            raise CatalogError(f"{source}: attribute names must be unique and must not be 'id'")
        return LayerSpec(
            name=raw["name"],
            title_zh=raw["title"]["zh"],
            title_en=raw["title"]["en"],
            description_zh=raw.get("description", {}).get("zh", ""),
            description_en=raw.get("description", {}).get("en", ""),
            geometry_types=geoms,
            attributes=tuple(attrs),
            style=dict(raw.get("style") or {}),
            popup=tuple(raw.get("popup") or names),
            scope=_scope(raw, source, names),
            own_code=(raw.get("jurisdiction") or {}).get("own_code"),
            max_extent_km=_max_extent(raw, source),
            tile_min_zoom=_tile_min_zoom(raw, source, attrs),
        )
    except KeyError as exc:
        raise CatalogError(f"{source}: missing key {exc}") from exc


def _tile_min_zoom(raw: dict[str, Any], source: Path,
                   attrs: list[AttributeSpec]) -> tuple[str, tuple[tuple[str, int], ...]] | None:
    rule = raw.get("tile_min_zoom")
    if rule is None:
        return None
    attr = next((a for a in attrs if isinstance(rule, dict) and a.name == rule.get("attribute")), None)
    zooms = rule.get("zooms") if isinstance(rule, dict) else None
    if attr is None or attr.type != "string" or not isinstance(zooms, dict) or not zooms:
        raise CatalogError(f"{source}: tile_min_zoom needs a string attribute and zooms {{value: zoom}}")
    for value, z in zooms.items():
        if attr.enum and value not in attr.enum:
            raise CatalogError(f"{source}: tile_min_zoom: {value!r} is not a value of {attr.name}")
        if isinstance(z, bool) or not isinstance(z, int) or not 0 <= z <= 30:
            raise CatalogError(f"{source}: tile_min_zoom: zoom of {value!r} must be an integer in [0, 30]")
    return attr.name, tuple(sorted((str(v), int(z)) for v, z in zooms.items()))


def _scope(raw: dict[str, Any], source: Path, names: list[str]) -> str:
    rule = raw.get("jurisdiction") or {}
    scope = rule.get("scope", "shared")
    if scope not in ("regulated", "shared"):
        raise CatalogError(f"{source}: jurisdiction.scope must be 'regulated' or 'shared', not {scope!r}")
    if "admin_code" not in names:
        raise CatalogError(f"{source}: every layer needs an 'admin_code' attribute (the feature's jurisdiction)")
    own = rule.get("own_code")
    if own is not None and own not in names:
        raise CatalogError(f"{source}: jurisdiction.own_code {own!r} is not an attribute")
    return scope


@dataclass(frozen=True)
class Catalog:
    layers: dict[str, LayerSpec]

    def __getitem__(self, name: str) -> LayerSpec:
        try:
            return self.layers[name]
        except KeyError:
            raise UnknownLayer(str(name), list(self.layers)) from None

    def __contains__(self, name: object) -> bool:
        return name in self.layers

    def __iter__(self):
        return iter(self.layers.values())

    def names(self) -> list[str]:
        return list(self.layers)


DEFAULT_LAYER_DIR = Path(__file__).resolve().parent.parent / "layers"


def load_catalog(directory: Path | str | None = None) -> Catalog:
    directory = Path(directory) if directory else DEFAULT_LAYER_DIR
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise CatalogError(f"no layer specs (*.yaml) in {directory}")
    layers: dict[str, LayerSpec] = {}
    for path in files:
        with path.open(encoding="utf-8") as fh:
            spec = _spec_from_dict(yaml.safe_load(fh), path)
        if spec.name != path.stem:
            raise CatalogError(f"{path}: layer name {spec.name!r} must equal the file name")
        layers[spec.name] = spec
    order = ["hazard_sources", "goaf_areas", "chemical_parks", "tailings_dams", "rescue_teams",
             "receptors", "admin_areas", "roads"]
    ordered = {n: layers[n] for n in order if n in layers}
    ordered.update({n: s for n, s in layers.items() if n not in ordered})
    return Catalog(ordered)


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    return load_catalog()
