"""CQL2 expressions (:mod:`gis_service.cql2`) evaluated on the embedded store's in-memory layer: vectorised pandas
comparisons with nullable (Kleene, SQL-like three-valued) booleans and shapely predicates over the spatial
index's candidates. The same expressions run as SQL on PostGIS; the store contract test compares the answers."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import shapely

from ..cql2 import Between, Compare, Expr, InList, IsNull, Like, Spatial, like_regex, walk

_SHAPELY: dict[str, Callable[..., np.ndarray]] = {
    "intersects": shapely.intersects, "disjoint": shapely.disjoint, "within": shapely.within,
    "contains": shapely.contains, "touches": shapely.touches, "crosses": shapely.crosses,
    "overlaps": shapely.overlaps, "equals": shapely.equals}
_DTYPE = {"integer": "Float64", "number": "Float64", "string": "string", "boolean": "boolean"}


def _bool(values: np.ndarray, na: np.ndarray | None = None) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool),
                                  np.zeros(len(values), dtype=bool) if na is None else np.asarray(na, dtype=bool))


class Evaluator:
    """Evaluates expressions over one layer; ``column(name)`` gives a typed pandas array of an attribute,
    ``candidates(bounds)`` the positions of the features whose bounding boxes meet ``bounds``."""

    def __init__(self, column: Callable[[str], Any], geoms: np.ndarray,
                 candidates: Callable[[tuple[float, float, float, float]], np.ndarray]):
        self.column, self.geoms, self.candidates = column, geoms, candidates
        self.n = len(geoms)

    def _leaf(self, e: Expr) -> pd.arrays.BooleanArray:
        if isinstance(e, Compare):
            s = self.column(e.prop)
            ops = {"=": s.__eq__, "<>": s.__ne__, "<": s.__lt__, "<=": s.__le__, ">": s.__gt__, ">=": s.__ge__}
            return pd.array(ops[e.op](e.value), dtype="boolean")
        if isinstance(e, Between):
            s = self.column(e.prop)
            return pd.array((s >= e.low) & (s <= e.high), dtype="boolean")
        if isinstance(e, InList):
            s = self.column(e.prop)
            na = pd.isna(s)
            return _bool(pd.Series(s).isin(list(e.values)).to_numpy(dtype=bool) & ~np.asarray(na), na)
        if isinstance(e, Like):
            s = pd.Series(self.column(e.prop))
            hit = s.str.fullmatch(re.compile(like_regex(e.pattern), re.DOTALL))
            return pd.array(hit, dtype="boolean")
        if isinstance(e, IsNull):
            return _bool(np.asarray(pd.isna(self.column(e.prop))))
        if isinstance(e, Spatial):
            out = np.zeros(self.n, dtype=bool)
            cand = self.candidates(e.geometry.bounds)  # positions whose bounding boxes meet the literal's
            if e.op == "disjoint":
                out[:] = True
                out[cand] = ~shapely.intersects(self.geoms[cand], e.geometry)
            else:
                out[cand] = _SHAPELY[e.op](self.geoms[cand], e.geometry)
            return _bool(out)
        raise TypeError(f"not a CQL2 predicate: {e!r}")

    def mask(self, expr: Expr) -> np.ndarray:
        """Rows where the expression is TRUE (unknown and false are left out, as SQL's WHERE does)."""
        result = walk(expr, self._leaf, lambda op, parts: _fold(op, parts), lambda a: ~a)
        return np.asarray(result.to_numpy(dtype=bool, na_value=False))


def _fold(op: str, parts: list[pd.arrays.BooleanArray]) -> pd.arrays.BooleanArray:
    out = parts[0]
    for p in parts[1:]:
        out = (out & p) if op == "and" else (out | p)
    return out


def typed(values: Any, attr_type: str) -> Any:
    """An attribute column as a nullable pandas array of its type (Float64 for numbers, string, boolean)."""
    return pd.array(values, dtype=_DTYPE[attr_type])
