"""Validation of incoming features against a layer spec.

One function serves every write path (file loading, the HTTP write API, the sample-data
generator): :func:`validate_rows`. It either returns cleaned rows or raises
:class:`ValidationFailed` listing every problem with its row, field and message, so a caller can
reject the whole batch and write nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from pyproj import Geod
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from .catalog import AttributeSpec, LayerSpec
from .models.equipment import check_equipment
from .models.grading import categories

MAX_ERRORS_REPORTED = 50
_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class Problem:
    row: int | None  # 0-based row in the input, None for batch-level problems
    field: str  # attribute name, "geometry", "crs" or "id"
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "problem": self.message}

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else "input"
        return f"{where}, field {self.field!r}: {self.message}"


class ValidationFailed(ValueError):
    """Raised with every problem found; nothing has been written when this is raised."""

    def __init__(self, problems: list[Problem], layer: str | None = None):
        self.problems = problems
        self.layer = layer
        shown = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"{len(problems)} invalid value(s){' for layer ' + layer if layer else ''}: {shown}{more}")


@dataclass
class Row:
    """One validated feature: geometry (2D, WGS84 lon/lat) and typed properties."""

    geometry: BaseGeometry
    properties: dict[str, Any]
    id: int | None = None


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and value.strip() == "":
        return True
    try:  # pandas NA / NaT
        import pandas as pd

        return bool(pd.isna(value)) if not isinstance(value, list | dict | tuple) else False
    except (TypeError, ValueError):
        return False


def _as_string(attr: AttributeSpec, value: Any) -> str:
    if isinstance(value, bool | dict | list):
        raise ValueError(f"expected text, got {type(value).__name__}")
    text = str(value).strip()
    if "\x00" in text:
        raise ValueError("text must not contain the NUL character (U+0000)")
    if attr.max_length and len(text) > attr.max_length:
        raise ValueError(f"text longer than {attr.max_length} characters")
    if attr.schema == "date":
        from datetime import date

        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValueError(f"expected a date YYYY-MM-DD, got {text!r}") from None
    return text


def _as_integer(attr: AttributeSpec, value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(value, str):
        value = value.strip()
    try:
        num = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected an integer, got {value!r}") from None
    if not math.isfinite(num) or num != int(num):
        raise ValueError(f"expected an integer, got {value!r}")
    return int(num)


def _as_number(attr: AttributeSpec, value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    try:
        out = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, got {value!r}") from None
    if not math.isfinite(out):
        raise ValueError(f"expected a finite number, got {value!r}")
    return out


_TRUE, _FALSE = ("true", "1", "yes", "t", "是"), ("false", "0", "no", "f", "否")


def _as_boolean(attr: AttributeSpec, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"expected true or false, got {value!r}")


def _as_json(attr: AttributeSpec, value: Any) -> Any:
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"expected JSON, got unparseable text ({exc.msg})") from None
    if not isinstance(value, list | dict):
        raise ValueError(f"expected a JSON array or object, got {type(value).__name__}")
    if _has_nul(value):
        raise ValueError("JSON text must not contain the NUL character (U+0000)")
    if attr.schema == "inventory":
        return _check_inventory(value)
    if attr.schema == "equipment":
        return check_equipment(value)
    if attr.schema == "id_list":
        return _check_id_list(value)
    return value


def _check_id_list(value: Any) -> list[int]:
    """A list of feature ids (positive integers), e.g. the hazard sources an emergency plan covers."""
    if not isinstance(value, list):
        raise ValueError("expected a list of feature ids, e.g. [3, 17]")
    out = []
    for i, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1 or v > 2**63 - 1:
            raise ValueError(f"[{i}] must be a positive integer id (got {v!r})")
        out.append(v)
    return out


_COERCE = {"string": _as_string, "integer": _as_integer, "number": _as_number, "boolean": _as_boolean,
           "json": _as_json}


def coerce_value(attr: AttributeSpec, value: Any) -> Any:
    """Convert ``value`` to the attribute's type or raise ValueError with a readable reason."""
    convert = _COERCE.get(attr.type)
    if convert is None:  # pragma: no cover - catalogue guards the types
        raise ValueError(f"unsupported type {attr.type}")
    out = convert(attr, value)
    if attr.enum is not None and out not in attr.enum:
        raise ValueError(f"{out!r} is not allowed; allowed values: {', '.join(map(str, attr.enum))}")
    if attr.minimum is not None and out < attr.minimum:
        raise ValueError(f"{out} is below the minimum {attr.minimum}")
    if attr.maximum is not None and out > attr.maximum:
        raise ValueError(f"{out} is above the maximum {attr.maximum}")
    return out


def _has_nul(value: Any) -> bool:
    """True if any string (key or value) inside a JSON document holds U+0000 (PostgreSQL refuses it)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if "\x00" in v:
                return True
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list | tuple):
            stack.extend(v)
    return False


# Optional per-item attributes of an inventory (issue 17): the flammable-liquid class inputs of GB 18218-2018 Table 2
# and the loss-of-containment attributes of the QRA. name → (lower bound, upper bound, unit); bounds inclusive.
INVENTORY_NUMBERS: dict[str, tuple[float, float, str]] = {
    "flash_point_c": (-273.15, 1000.0, "°C (closed cup)"),
    "boiling_point_c": (-273.15, 1000.0, "°C (initial boiling point)"),
    "operating_temp_c": (-273.15, 1000.0, "°C"),
    "pipe_length_m": (0.0, 100_000.0, "m"),
    "pipe_diameter_mm": (1.0, 2000.0, "mm"),
    "transfers_per_year": (0.0, 100_000.0, "per year"),
}
CONTAINMENT_TYPES = ("single", "double", "full")
TRANSFER_EQUIPMENT = ("loading_arm", "loading_hose")


def inventory_extras(i: int, item: dict[str, Any]) -> dict[str, Any]:
    """The optional attributes of one item, checked; ValueError naming the field."""
    out: dict[str, Any] = {}
    for name, (lo, hi, unit) in INVENTORY_NUMBERS.items():
        v = item.get(name)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or not lo <= v <= hi:
            raise ValueError(f"inventory[{i}].{name} must be a number in [{lo:g}, {hi:g}] {unit} (got {v!r})")
        out[name] = float(v)
    cat = item.get("hazard_category")
    if cat is not None:
        if cat not in categories():
            raise ValueError(f"inventory[{i}].hazard_category {cat!r} is not a GB 18218-2018 Table 2 category; "
                             f"accepted: {', '.join(categories())}")
        out["hazard_category"] = cat
    containment = item.get("containment")
    if containment is not None:
        if containment not in CONTAINMENT_TYPES:
            raise ValueError(f"inventory[{i}].containment {containment!r} is not a tank containment type; "
                             f"accepted: {', '.join(CONTAINMENT_TYPES)}")
        out["containment"] = containment
    equipment = item.get("transfer_equipment")
    if equipment is not None:
        if equipment not in TRANSFER_EQUIPMENT:
            raise ValueError(f"inventory[{i}].transfer_equipment {equipment!r} is not known; accepted: "
                             f"{', '.join(TRANSFER_EQUIPMENT)}")
        out["transfer_equipment"] = equipment
    if ("pipe_length_m" in out) != ("pipe_diameter_mm" in out):
        missing = "pipe_diameter_mm" if "pipe_length_m" in out else "pipe_length_m"
        raise ValueError(f"inventory[{i}].{missing} is missing: a pipe needs both its length and its diameter")
    return out


def _check_inventory(value: Any) -> list[dict[str, Any]]:
    """An inventory is a non-empty list of {substance, cas?, quantity_t} with q ≥ 0 in tonnes, with the optional
    attributes of :data:`INVENTORY_NUMBERS`, ``hazard_category`` and ``containment``."""
    if not isinstance(value, list) or not value:
        raise ValueError("inventory must be a non-empty list of {substance, cas, quantity_t}")
    cleaned = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ValueError(f"inventory[{i}] must be an object")
        substance = item.get("substance")
        if not isinstance(substance, str) or not substance.strip():
            raise ValueError(f"inventory[{i}].substance is missing")
        q = item.get("quantity_t")
        if isinstance(q, bool) or not isinstance(q, int | float) or not math.isfinite(q):
            raise ValueError(f"inventory[{i}].quantity_t must be a number of tonnes")
        if q < 0:
            raise ValueError(f"inventory[{i}].quantity_t must not be negative (got {q})")
        entry = {"substance": substance.strip(), "quantity_t": float(q)}
        if item.get("cas"):
            entry["cas"] = str(item["cas"]).strip()
        entry.update(inventory_extras(i, item))
        cleaned.append(entry)
    return cleaned


def check_extent(spec: LayerSpec, geom: BaseGeometry) -> str | None:
    """None, or why ``geom`` (lon/lat, in range) is not a feature of ``spec``: it crosses the
    antimeridian, or is more than the layer's ``max_extent_km`` across (see :mod:`.catalog`)."""
    x0, y0, x1, y1 = geom.bounds
    if x1 - x0 >= 180:
        return (f"longitudes span {x1 - x0:.1f}°: a feature may not cross the antimeridian or span half the "
                "globe; split it at ±180° (RFC 7946 §3.1.9)")
    extent_km = _GEOD.inv(x0, y0, x1, y1)[2] / 1000.0
    if extent_km > spec.max_extent_km:
        return (f"extent {extent_km:,.0f} km across (bounding-box diagonal) is larger than layer {spec.name}'s "
                f"maximum of {spec.max_extent_km:,.0f} km (max_extent_km in its layer spec)")
    return None


def check_geometry(spec: LayerSpec, geom: Any) -> tuple[BaseGeometry | None, str | None]:
    """Return (2D geometry, None) or (None, problem)."""
    if geom is None:
        return None, "geometry is missing"
    if not isinstance(geom, BaseGeometry):
        return None, f"not a geometry ({type(geom).__name__})"
    if geom.is_empty:
        return None, "geometry is empty"
    if geom.geom_type not in spec.geometry_types:
        return None, f"geometry type {geom.geom_type} not allowed; layer {spec.name} takes {', '.join(spec.geometry_types)}"
    coords = shapely.get_coordinates(geom)
    if not (coords[:, 0].min() >= -180 and coords[:, 0].max() <= 180):
        return None, "longitude out of range [-180, 180]; coordinates must be WGS84 lon/lat (EPSG:4326 or EPSG:4490)"
    if not (coords[:, 1].min() >= -90 and coords[:, 1].max() <= 90):
        return None, "latitude out of range [-90, 90]; coordinates must be WGS84 lon/lat (EPSG:4326 or EPSG:4490)"
    if not all(map(math.isfinite, coords.ravel())):
        return None, "coordinates must be finite numbers"
    why = check_extent(spec, geom)
    if why:
        return None, why
    if shapely.has_z(geom):
        geom = shapely.force_2d(geom)
    if not geom.is_valid:
        return None, f"invalid geometry: {explain_validity(geom)}"
    return geom, None


def validate_properties(spec: LayerSpec, props: Mapping[str, Any], row: int | None,
                        problems: list[Problem], partial: bool = False) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    known = set(spec.attribute_names)
    for key in props:
        if key not in known and key != "id":
            problems.append(Problem(row, key, f"unknown attribute; layer {spec.name} has: {', '.join(spec.attribute_names)}"))
    for attr in spec.attributes:
        value = props.get(attr.name)
        if _is_missing(value):
            if attr.required and not partial:
                problems.append(Problem(row, attr.name, "required attribute is missing"))
            if not partial or attr.name in props:
                clean[attr.name] = None
            continue
        try:
            clean[attr.name] = coerce_value(attr, value)
        except ValueError as exc:
            problems.append(Problem(row, attr.name, str(exc)))
    return clean


def validate_rows(spec: LayerSpec, rows: Iterable[tuple[Any, Mapping[str, Any]]],
                  first_row: int = 0, ignore_unknown: bool = False) -> list[Row]:
    """Validate (geometry, properties) pairs; raise ValidationFailed with all problems."""
    problems: list[Problem] = []
    out: list[Row] = []
    for i, (geom, props) in enumerate(rows, start=first_row):
        g, why = check_geometry(spec, geom)
        if why:
            problems.append(Problem(i, "geometry", why))
        if ignore_unknown:
            props = {k: v for k, v in props.items() if k in spec.attribute_names}
        clean = validate_properties(spec, props, i, problems)
        if len(problems) >= MAX_ERRORS_REPORTED:
            break
        out.append(Row(g, clean))
    if problems:
        raise ValidationFailed(problems, spec.name)
    return out
