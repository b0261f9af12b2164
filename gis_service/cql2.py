"""CQL2 filters (OGC API – Features Part 3, OGC 19-079r2; CQL2, OGC 21-065r2) parsed by the ``cql2`` library (the
Rust cql2-rs parser: text and JSON to canonical CQL2-JSON) and checked against a layer's queryables into a small typed expression tree that both stores translate: the PostGIS store to
SQLAlchemy clauses with bound parameters, the embedded store to vectorised pandas/shapely masks. No filter text
ever reaches SQL; no user text is evaluated as code (the failure classes behind GeoServer CVE-2023-25157 — filter
text spliced into SQL — and CVE-2024-36401 — property names evaluated as expressions).

Supported (declared in ``/conformance``): Basic CQL2 (comparisons ``= <> < <= > >=``, ``AND OR NOT``,
``IS [NOT] NULL``), Advanced Comparison Operators (``[NOT] LIKE`` with ``%``/``_`` and ``\\`` escape,
``[NOT] BETWEEN``, ``[NOT] IN``), Basic Spatial Functions and Spatial Functions (``S_INTERSECTS``,
``S_DISJOINT``, ``S_WITHIN``, ``S_CONTAINS``, ``S_TOUCHES``, ``S_CROSSES``, ``S_OVERLAPS``, ``S_EQUALS``
with a WKT/GeoJSON geometry or ``BBOX(minx, miny, maxx, maxy)``; the spatial property is ``geometry``).
Not supported: temporal and array operators, arithmetic, functions, property-to-property comparisons,
JSON attributes (400 naming them). Null semantics follow SQL's three-valued logic on both stores.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from . import crs as crsmod
from .catalog import LayerSpec

MAX_FILTER_CHARS = 20_000
MAX_LIST = 1000
GEOMETRY_PROPERTY = "geometry"
SPATIAL_OPS = ("intersects", "disjoint", "within", "contains", "touches", "crosses", "overlaps", "equals")
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
]


class FilterError(ValueError):
    """A filter that cannot be used; the message says where (the API answers 400 naming ``filter``)."""


# -- the checked expression tree -----------------------------------------------------------------
@dataclass(frozen=True)
class Logical:
    op: Literal["and", "or"]
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    arg: Expr


@dataclass(frozen=True)
class Compare:
    op: Literal["=", "<>", "<", "<=", ">", ">="]
    prop: str
    value: Any


@dataclass(frozen=True)
class Between:
    prop: str
    low: Any
    high: Any


@dataclass(frozen=True)
class InList:
    prop: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Like:
    prop: str
    pattern: str  # CQL2: % any run, _ one character, \ escapes


@dataclass(frozen=True)
class IsNull:
    prop: str


@dataclass(frozen=True)
class Spatial:
    op: str  # one of SPATIAL_OPS
    geometry: BaseGeometry  # CRS84


Expr = Logical | Not | Compare | Between | InList | Like | IsNull | Spatial


def like_regex(pattern: str) -> str:
    """The CQL2 LIKE pattern as an anchored Python regular expression (for the embedded store)."""
    import re

    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return "^" + "".join(out) + "$"


# -- parsing -------------------------------------------------------------------------------------
def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _parse_json_tree(text: str, lang: str) -> Any:
    """The canonical CQL2-JSON tree of a filter, parsed (and for cql2-json validated) by the ``cql2`` library."""
    if len(text) > MAX_FILTER_CHARS:
        raise FilterError(f"filter longer than {MAX_FILTER_CHARS} characters")
    import cql2 as cql2lib

    try:
        expr = cql2lib.parse_json(text) if lang == "cql2-json" else cql2lib.parse_text(text)
        return expr.to_json()
    except RecursionError:
        raise FilterError("filter nests too deeply") from None
    except Exception as exc:  # cql2.ParseError / ValidationError / ValueError, with the position in the text
        lines = [ln.strip(" |") for ln in str(exc).splitlines() if ln.strip(" |")]
        where = next((ln.removeprefix("-->").strip() for ln in lines if ln.startswith("-->")), None)
        detail = next((ln.removeprefix("=").strip() for ln in lines if ln.startswith("=")), lines[0] if lines else "")
        at = f" at line:column {where}" if where else ""
        raise FilterError(f"cannot parse the {lang} filter{at}: {detail[:200]}") from None


_COMPARE = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_MIRROR = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}


@dataclass
class _Checker:
    spec: LayerSpec
    filter_crs: crsmod.Crs

    def prop(self, node: Any, where: str) -> str:
        if not (isinstance(node, dict) and set(node) == {"property"} and isinstance(node["property"], str)):
            raise FilterError(f"{where}: expected a property name, got {_show(node)}")
        name = node["property"]
        if name == GEOMETRY_PROPERTY:
            raise FilterError(f"{where}: the geometry can only be used in a spatial function (S_INTERSECTS, …)")
        if not self.spec.has_attribute(name):
            raise FilterError(f"{where}: unknown property {name[:80]!r}; queryables of {self.spec.name}: "
                              f"{', '.join(a for a in self.spec.attribute_names if self.spec.attribute(a).type != 'json')}")
        if self.spec.attribute(name).type == "json":
            raise FilterError(f"{where}: {name!r} is a JSON attribute and not queryable")
        return name

    def value(self, prop: str, v: Any, where: str) -> Any:
        attr = self.spec.attribute(prop)
        if isinstance(v, dict | list) or v is None:
            raise FilterError(f"{where}: expected a literal value for {prop!r}, got {_show(v)}")
        if attr.type == "boolean":
            if not isinstance(v, bool):
                raise FilterError(f"{where}: {prop!r} is true or false")
            return v
        if attr.type in ("integer", "number"):
            if not _is_number(v):
                raise FilterError(f"{where}: {prop!r} is a number; got {_show(v)}")
            if abs(v) > 2**53:
                raise FilterError(f"{where}: number out of range")
            # no range or enum check: a value outside them simply matches nothing
            return int(v) if attr.type == "integer" and float(v).is_integer() else float(v)
        if not isinstance(v, str):
            raise FilterError(f"{where}: {prop!r} is text; quote the value ('…')")
        if "\x00" in v or len(v) > 1000:
            raise FilterError(f"{where}: text longer than 1000 characters or with the NUL character")
        return v

    def geometry(self, node: Any, where: str) -> BaseGeometry:
        if isinstance(node, dict) and set(node) == {"bbox"}:
            args = node["bbox"]
            if isinstance(args, list) and len(args) == 6:
                args = [args[0], args[1], args[3], args[4]]
            if not (isinstance(args, list) and len(args) == 4 and all(_is_number(a) for a in args)):
                raise FilterError(f"{where}: BBOX needs 4 numbers")
            if args[0] > args[2] or args[1] > args[3]:
                raise FilterError(f"{where}: BBOX needs the lower corner first (in the filter-crs axis order)")
            g = shapely.box(*args)
        elif isinstance(node, dict) and "type" in node and "coordinates" in node:
            try:
                g = shape(node)
            except Exception:
                raise FilterError(f"{where}: not a valid geometry") from None
        else:
            raise FilterError(f"{where}: expected a geometry literal or BBOX(…), got {_show(node)}")
        coords = shapely.get_coordinates(g)
        if g.is_empty or not len(coords) or not all(math.isfinite(float(c)) for c in coords.ravel()):
            raise FilterError(f"{where}: empty or non-finite geometry")
        if len(coords) > 20_000:
            raise FilterError(f"{where}: geometry has more than 20,000 vertices")
        try:
            out = crsmod.geometry_to_crs84(g, self.filter_crs)
        except ValueError as exc:
            raise FilterError(f"{where}: {exc}") from None
        lon, lat = shapely.get_coordinates(out).T
        if not ((abs(lon) <= 180).all() and (abs(lat) <= 90).all()):
            raise FilterError(f"{where}: coordinates out of range for {self.filter_crs.uri} "
                              "(lon/lat in the CRS's axis order?)")
        return out

    def check(self, node: Any, depth: int = 0) -> Expr:  # noqa: C901 - one branch per operator class
        if depth > 100:
            raise FilterError("filter nests too deeply")
        if not (isinstance(node, dict) and isinstance(node.get("op"), str) and isinstance(node.get("args"), list)):
            raise FilterError(f"expected a predicate, got {_show(node)}")
        op, args = node["op"], node["args"]
        if op in ("and", "or"):
            if len(args) < 2:
                raise FilterError(f"{op.upper()} needs at least two operands")
            return Logical(op, tuple(self.check(a, depth + 1) for a in args))
        if op == "not" and len(args) == 1:
            return Not(self.check(args[0], depth + 1))
        if op in _COMPARE and len(args) == 2:
            return self._compare(op, args)
        if op == "between" and len(args) == 3:
            p = self.prop(args[0], "BETWEEN")
            return Between(p, self.value(p, args[1], "BETWEEN"), self.value(p, args[2], "BETWEEN"))
        if op == "in" and len(args) == 2:
            p = self.prop(args[0], "IN")
            if not isinstance(args[1], list) or not args[1] or len(args[1]) > MAX_LIST:
                raise FilterError(f"IN: a list of 1 to {MAX_LIST} values")
            return InList(p, tuple(self.value(p, v, "IN") for v in args[1]))
        if op == "like" and len(args) == 2:
            p = self.prop(args[0], "LIKE")
            if self.spec.attribute(p).type != "string" or not isinstance(args[1], str):
                raise FilterError(f"LIKE: {p!r} is not text or the pattern is not a text literal")
            return Like(p, self.value(p, args[1], "LIKE"))
        if op == "isNull" and len(args) == 1:
            return IsNull(self.prop(args[0], "IS NULL"))
        if op.startswith("s_") and op[2:] in SPATIAL_OPS and len(args) == 2:
            name, (lhs, rhs) = op[2:], args
            if not _is_geometry_property(lhs):
                if not _is_geometry_property(rhs):
                    raise FilterError(f"{op.upper()}: one argument must be the property 'geometry'")
                lhs, rhs = rhs, lhs
                name = {"within": "contains", "contains": "within"}.get(name, name)
            return Spatial(name, self.geometry(rhs, op.upper()))
        raise FilterError(f"unsupported CQL2 operator {op[:40]!r} with {len(args)} argument(s); supported: "
                          "comparisons, AND/OR/NOT, LIKE, BETWEEN, IN, IS NULL and the S_* spatial functions")

    def _compare(self, op: str, args: list[Any]) -> Expr:
        lhs, rhs = args
        if not _is_property(lhs) and _is_property(rhs):
            lhs, rhs = rhs, lhs
            op = _MIRROR.get(op, op)
        if _is_property(rhs):
            raise FilterError(f"{op}: comparing two properties is not supported; compare a property with a value")
        p = self.prop(lhs, op)
        return Compare(op, p, self.value(p, rhs, op))  # type: ignore[arg-type]


def _is_property(node: Any) -> bool:
    return isinstance(node, dict) and "property" in node


def _is_geometry_property(node: Any) -> bool:
    return isinstance(node, dict) and node.get("property") == GEOMETRY_PROPERTY


def _show(node: Any) -> str:
    text = json.dumps(node, ensure_ascii=False, default=str) if not isinstance(node, str) else repr(node)
    return text if len(text) <= 80 else text[:77] + "…"


def parse_filter(spec: LayerSpec, text: str, lang: str | None = None,
                 filter_crs: crsmod.Crs = crsmod.CRS84_CRS) -> Expr:
    """A checked expression from CQL2 text or JSON (``lang`` = ``cql2-text`` (default) or ``cql2-json``).
    Every property is checked against the layer's queryables and every literal typed against its attribute;
    geometries are transformed from ``filter_crs`` to CRS84. Raises :class:`FilterError`."""
    lang = lang or "cql2-text"
    if lang not in ("cql2-text", "cql2-json"):
        raise FilterError(f"unsupported filter-lang {lang[:40]!r}; use cql2-text or cql2-json")
    if not text.strip():
        raise FilterError("empty filter")
    return _Checker(spec, filter_crs).check(_parse_json_tree(text, lang))


def walk(expr: Expr, leaf: Callable[[Expr], Any], both: Callable[[str, list[Any]], Any],
         negate: Callable[[Any], Any]) -> Any:
    """Fold an expression: ``leaf`` for predicates, ``both('and'|'or', parts)``, ``negate(part)``."""
    if isinstance(expr, Logical):
        return both(expr.op, [walk(a, leaf, both, negate) for a in expr.args])
    if isinstance(expr, Not):
        return negate(walk(expr.arg, leaf, both, negate))
    return leaf(expr)
