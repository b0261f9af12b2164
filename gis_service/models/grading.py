"""Major hazard identification and grading — GB 18218-2018 (危险化学品重大危险源辨识).

Sources (see DOMAIN.md §1 and the data files):

- S = Σ qᵢ/Qᵢ; the unit is a major hazard source iff S ≥ 1. [S]
- R = α · Σ βᵢ·qᵢ/Qᵢ; grade 一级 R ≥ 100, 二级 50 ≤ R < 100, 三级 10 ≤ R < 50, 四级 R < 10. [S]
  (``data/gb18218_grades.csv``)
- α from the number of people within 500 m of the unit (``data/gb18218_alpha.csv``). [S]
- β: named toxic gases (Table 3) or by hazard category (Table 4) (``data/gb18218_beta.csv``). [S]
  H₂S has β = 5 (several public code repositories wrongly carry 3).
- Q: ``data/gb18218_critical_quantities.csv``. Rows tagged ``M`` (crude oil, diesel 5000 t, and a few
  others) were NOT confirmed against the standard's text: a searched third-party transcription of
  Table 1 was garbled and did not list crude oil; using such a row adds a warning to the result.

Validity and limitations:

- q is the design maximum quantity in tonnes for one production or storage unit; mixtures and
  solutions must be converted by the caller.
- A substance without a listed Q is excluded from S and R, with a warning — never silently —
  unless the inventory item carries an explicit ``critical_quantity_t`` (and optionally ``beta`` or
  ``hazard_category``), which is then used and reported as user-supplied.
- The hazard category used for β of substances not named in Table 3 is a table assumption [M];
  check it against the SDS (e.g. gasoline taken as W5.1, β = 1.5).
- The standard grades only units that are major hazard sources (S ≥ 1); for S < 1 R is still
  reported but ``grade`` is None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ._common import ModelResult, load_table, opt_float
from .substances import find

MODEL = "GB 18218-2018 major hazard identification and grading"
SOURCES = [
    "GB 18218-2018 危险化学品重大危险源辨识 (S = Σq/Q, R = α·Σβq/Q, Tables 1, 3, 4, 5, 6) via DOMAIN.md §1 [S]",
    "gis_service/data/gb18218_critical_quantities.csv, gb18218_beta.csv, gb18218_alpha.csv, gb18218_grades.csv",
]
GRADE_LABELS = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}
_EPS = 1e-9  # tolerance for band edges (R exactly 10, 50, 100 despite floating point)


@dataclass(frozen=True)
class GradingTerm:
    substance: str
    substance_key: str | None
    q_t: float
    critical_quantity_t: float
    beta: float
    beta_basis: str
    q_over_Q: float
    beta_q_over_Q: float
    q_source: str


@dataclass(frozen=True)
class GradingResult(ModelResult):
    S: float
    is_major: bool
    alpha: float
    people_within_500m: int
    terms: tuple[GradingTerm, ...]
    R: float
    grade: int | None
    grade_label: str | None
    excluded: tuple[dict[str, Any], ...] = ()
    warnings: tuple[str, ...] = ()
    sources: tuple[str, ...] = tuple(SOURCES)
    limitations: tuple[str, ...] = ()
    model: str = MODEL



@dataclass(frozen=True)
class _QRow:
    key: str
    name_zh: str
    cas: str
    q_t: float
    category: str
    confidence: str
    source: str


@lru_cache(maxsize=1)
def _q_table() -> dict[str, _QRow]:
    out = {}
    for r in load_table("gb18218_critical_quantities.csv"):
        out[r["substance_key"]] = _QRow(
            r["substance_key"], r["name_zh"], r["cas"], float(r["critical_quantity_t"]),
            r["hazard_category"], r["confidence"], r["source"],
        )
    return out


@lru_cache(maxsize=1)
def _beta_tables() -> tuple[dict[str, float], dict[str, float]]:
    named: dict[str, float] = {}
    category: dict[str, float] = {}
    for r in load_table("gb18218_beta.csv"):
        (named if r["kind"] == "named" else category)[r["key"]] = float(r["beta"])
    return named, category


@lru_cache(maxsize=1)
def _alpha_rows() -> tuple[tuple[int, int | None, float], ...]:
    rows = []
    for r in load_table("gb18218_alpha.csv"):
        hi = opt_float(r["max_people"])
        rows.append((int(r["min_people"]), None if hi is None else int(hi), float(r["alpha"])))
    return tuple(rows)


@lru_cache(maxsize=1)
def _grade_rows() -> tuple[tuple[int, str, float | None, float | None], ...]:
    return tuple(
        (int(r["grade"]), r["label_zh"], opt_float(r["r_min"]), opt_float(r["r_max"]))
        for r in load_table("gb18218_grades.csv")
    )


def alpha_for_people(people_within_500m: int) -> float:
    """α from GB 18218-2018 Table 5 for a whole number of people ≥ 0."""
    if isinstance(people_within_500m, bool) or int(people_within_500m) != people_within_500m:
        raise ValueError(f"people_within_500m must be a whole number (got {people_within_500m!r})")
    n = int(people_within_500m)
    if n < 0:
        raise ValueError(f"people_within_500m must be ≥ 0 (got {n})")
    for lo, hi, alpha in _alpha_rows():
        if n >= lo and (hi is None or n <= hi):
            return alpha
    raise ValueError(f"no α row covers {n} people")  # table gap: a data error


def grade_for_r(r: float) -> tuple[int, str]:
    """(grade 1–4, label 一级..四级) for a value of R (bands per GB 18218-2018 Table 6)."""
    if not math.isfinite(r) or r < 0:
        raise ValueError(f"R must be a finite number ≥ 0 (got {r!r})")
    for grade, label, lo, hi in _grade_rows():
        if (lo is None or r >= lo - _EPS) and (hi is None or r < hi - _EPS):
            return grade, label
    raise ValueError(f"no grade band covers R = {r}")


def beta_for(substance_key: str | None, hazard_category: str | None = None) -> tuple[float, str]:
    """β and its basis: Table 3 for named toxic gases, else Table 4 by hazard category, else 1."""
    named, category = _beta_tables()
    if substance_key and substance_key in named:
        return named[substance_key], f"Table 3 (named toxic gas {substance_key})"
    if hazard_category:
        if hazard_category in category:
            return category[hazard_category], f"Table 4 (category {hazard_category})"
        return category["other"], f"Table 4 (category {hazard_category}: all others)"
    return category["other"], "Table 4 (no category known: all others)"


def grade_unit(inventory: list[dict], people_within_500m: int) -> GradingResult:
    """Identify and grade one production or storage unit.

    ``inventory``: list of ``{"substance": name, "cas"?: str, "quantity_t": q}``; names are matched via
    :func:`gis_service.models.substances.find`. Optional per-item overrides: ``critical_quantity_t``,
    ``beta``, ``hazard_category``. Quantities of the same substance are summed per term as given.
    """
    if not isinstance(inventory, (list, tuple)):
        raise ValueError("inventory must be a list of {substance, cas, quantity_t}")
    alpha = alpha_for_people(people_within_500m)
    qtab = _q_table()
    terms: list[GradingTerm] = []
    excluded: list[dict[str, Any]] = []
    warnings: list[str] = []
    for i, item in enumerate(inventory):
        if not isinstance(item, dict):
            raise ValueError(f"inventory[{i}] must be an object")
        name = item.get("substance")
        cas = item.get("cas")
        if not name and not cas:
            raise ValueError(f"inventory[{i}].substance is missing")
        try:
            q = float(item.get("quantity_t"))
        except (TypeError, ValueError):
            raise ValueError(f"inventory[{i}].quantity_t must be a number of tonnes") from None
        if not math.isfinite(q) or q < 0:
            raise ValueError(f"inventory[{i}].quantity_t must be a finite number ≥ 0 (got {q})")
        label = str(name or cas)
        sub = find(name, cas)
        key = sub.key if sub else None
        row = qtab.get(key) if key else None
        user_q = item.get("critical_quantity_t")
        if user_q is not None:
            big_q = float(user_q)
            if not math.isfinite(big_q) or big_q <= 0:
                raise ValueError(f"inventory[{i}].critical_quantity_t must be > 0 (got {user_q!r})")
            q_source = "user-supplied critical_quantity_t"
            warnings.append(f"{label}: critical quantity Q = {big_q:g} t supplied by the caller, not from the table")
        elif row is not None:
            big_q = row.q_t
            q_source = row.source
            if row.confidence != "S":
                warnings.append(f"{label}: Q = {big_q:g} t — {row.source}")
        else:
            why = "not a known substance" if sub is None else "no critical quantity Q listed in the table"
            excluded.append({"substance": label, "quantity_t": q, "reason": why})
            warnings.append(
                f"{label}: {why}; excluded from S and R — supply critical_quantity_t (and hazard_category) "
                "from GB 18218-2018 Table 1/2 to include it"
            )
            continue
        category = item.get("hazard_category") or (row.category if row else None)
        if item.get("beta") is not None:
            beta = float(item["beta"])
            basis = "user-supplied beta"
            warnings.append(f"{label}: β = {beta:g} supplied by the caller")
        else:
            beta, basis = beta_for(key, category)
        ratio = q / big_q
        terms.append(GradingTerm(label, key, q, big_q, beta, basis, ratio, beta * ratio, q_source))

    s_value = sum(t.q_over_Q for t in terms)
    r_value = alpha * sum(t.beta_q_over_Q for t in terms)
    is_major = s_value >= 1 - _EPS
    grade: int | None
    grade_label: str | None
    if is_major:
        grade, grade_label = grade_for_r(r_value)
    else:
        grade, grade_label = None, None
    limitations = [
        "Grades only apply to units with S ≥ 1 (major hazard sources); for S < 1 grade is None.",
        "Hazard categories used for β of substances not named in GB 18218 Table 3 are table assumptions [M]; "
        "check them against the SDS.",
        "q must be the design maximum quantity of the unit in tonnes; mixtures must be resolved by the caller.",
    ]
    return GradingResult(
        S=s_value,
        is_major=is_major,
        alpha=alpha,
        people_within_500m=int(people_within_500m),
        terms=tuple(terms),
        R=r_value,
        grade=grade,
        grade_label=grade_label,
        excluded=tuple(excluded),
        warnings=tuple(warnings),
        limitations=tuple(limitations),
    )


__all__ = [
    "GRADE_LABELS",
    "GradingResult",
    "GradingTerm",
    "alpha_for_people",
    "beta_for",
    "grade_for_r",
    "grade_unit",
]
