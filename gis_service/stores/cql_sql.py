"""CQL2 expressions (:mod:`gis_service.cql2`) as SQLAlchemy clauses for the PostGIS store.

Every literal is a bound parameter (geometries as WKB); every column comes from the catalogue-built table, so
neither filter text nor property names reach SQL as text. Text is compared with ``COLLATE "C"`` (code-point
order), the order the embedded store's Python comparison uses, so both stores give the same answers.
"""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy import Float, LargeBinary, Table, and_, bindparam, func, not_, or_
from sqlalchemy.sql.elements import ColumnElement

from ..cql2 import Between, Compare, Expr, InList, IsNull, Like, Spatial, walk

_ST = {"intersects": func.ST_Intersects, "disjoint": func.ST_Disjoint, "within": func.ST_Within,
       "contains": func.ST_Contains, "touches": func.ST_Touches, "crosses": func.ST_Crosses,
       "overlaps": func.ST_Overlaps, "equals": func.ST_Equals}


def _col(table: Table, prop: str) -> Any:
    col = table.c[prop]
    if isinstance(col.type.python_type, type) and col.type.python_type is str:
        return col.collate("C")
    return col


def _bind(table: Table, prop: str, value: Any) -> Any:
    col = table.c[prop]
    type_ = Float(precision=53) if isinstance(value, float) else col.type
    return bindparam(None, value, type_=type_)


def _leaf(table: Table, e: Expr) -> ColumnElement[bool]:
    if isinstance(e, Compare):
        col, val = _col(table, e.prop), _bind(table, e.prop, e.value)
        return {"=": col == val, "<>": col != val, "<": col < val, "<=": col <= val, ">": col > val,
                ">=": col >= val}[e.op]
    if isinstance(e, Between):
        return _col(table, e.prop).between(_bind(table, e.prop, e.low), _bind(table, e.prop, e.high))
    if isinstance(e, InList):
        col = table.c[e.prop]
        if any(isinstance(v, float) for v in e.values):
            return col.in_(bindparam(None, [float(v) for v in e.values], expanding=True, type_=Float(precision=53)))
        return col.in_(bindparam(None, list(e.values), expanding=True, type_=col.type))
    if isinstance(e, Like):
        return table.c[e.prop].like(bindparam(None, e.pattern, type_=table.c[e.prop].type), escape="\\")
    if isinstance(e, IsNull):
        return table.c[e.prop].is_(None)
    if isinstance(e, Spatial):
        literal = func.ST_GeomFromWKB(bindparam(None, shapely.to_wkb(e.geometry), type_=LargeBinary), 4326)
        return _ST[e.op](table.c.geom, literal)
    raise TypeError(f"not a CQL2 predicate: {e!r}")


def clause(table: Table, expr: Expr) -> ColumnElement[bool]:
    """The WHERE clause of a checked CQL2 expression over ``table`` (three-valued logic is SQL's own)."""
    return walk(expr, lambda e: _leaf(table, e), lambda op, parts: (and_ if op == "and" else or_)(*parts),
                not_)
