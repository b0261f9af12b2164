"""Shared helpers for the science models: data-table loading and JSON-safe result output.

No I/O beyond reading the package's own CSV tables (``gis_service/data/*.csv``), each loaded once.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any, TypeVar

from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry


@lru_cache(maxsize=32)
def load_table(name: str) -> tuple[dict[str, str], ...]:
    """Rows of ``gis_service/data/<name>`` as dicts of stripped strings (read once, cached).

    Lines starting with ``#`` are comments.
    """
    text = (files("gis_service") / "data" / name).read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    reader = csv.DictReader(lines)
    return tuple({k.strip(): (v or "").strip() for k, v in row.items()} for row in reader)


def opt_float(value: str) -> float | None:
    """Blank → None, otherwise float."""
    return float(value) if value not in ("", None) else None


def as_bool(value: str) -> bool:
    v = value.strip().lower()
    if v in ("true", "1", "yes", "y", "t"):
        return True
    if v in ("false", "0", "no", "n", "f", ""):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def json_safe(obj: Any) -> Any:
    """Convert dataclasses, shapely geometries, tuples and numpy scalars into JSON-safe values.

    Non-finite floats become None (JSON has no NaN/Infinity).
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: json_safe(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, BaseGeometry):
        return json_safe(mapping(obj))
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return obj
    if getattr(getattr(obj, "dtype", None), "kind", "") == "b":
        return bool(obj)
    try:
        f = float(obj)
    except (TypeError, ValueError):
        return str(obj)
    if isinstance(obj, float) or hasattr(obj, "dtype"):
        if not math.isfinite(f):
            return None
        if hasattr(obj, "dtype") and getattr(obj.dtype, "kind", "") in "iu":
            return int(obj)
        return f
    return f


TAGS = ("V", "S", "M")
TAG_MEANING = {"V": "read in a primary source", "S": "reliable secondary source",
               "M": "not confirmed against its source: an assumption, configurable"}


@dataclass(frozen=True)
class Constant:
    """A constant that reaches a result, with its unit, confidence tag and source.

    tag: ``V`` read in a primary source or reference implementation, ``S`` reliable secondary source,
    ``M`` remembered / not confirmed (kept configurable and reported as such).
    """

    name: str
    value: Any
    unit: str
    tag: str
    source: str

    def __post_init__(self) -> None:
        if self.tag not in TAGS:
            raise ValueError(f"constant {self.name}: tag must be one of {TAGS} (got {self.tag!r})")
        if not self.source:
            raise ValueError(f"constant {self.name}: a source is required")


def tag_of(text: str, default: str = "M") -> str:
    """The confidence tag written in a source text ('[V]', '[S]' or '[M]'); the weakest one wins."""
    found = set(re.findall(r"\[([VSM])\]", text or ""))
    for t in ("M", "S", "V"):
        if t in found:
            return t
    return default


class ModelResult:
    """Base of the models' frozen result dataclasses: ``to_dict()`` gives the JSON-safe record
    (model, parameters, outputs with units in their names, sources, limitations)."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        return json_safe(self)



T = TypeVar("T")


def given(value: T | None, name: str = "value") -> T:
    """``value`` where the caller's logic has already made sure it is set (a broken invariant raises a
    ValueError naming it instead of failing later on ``None``)."""
    if value is None:
        raise ValueError(f"{name} is required here")
    return value


def require_positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """Raise ValueError naming the parameter unless ``value`` is a finite number > 0 (or ≥ 0)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number (got {value!r})") from None
    if not math.isfinite(v) or (v < 0 if allow_zero else v <= 0):
        bound = "≥ 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound} (got {value!r})")
    return v
