"""Major hazard identification and grading — GB 18218-2018 (危险化学品重大危险源辨识).

- S = Σ qᵢ/Qᵢ; the unit is a major hazard source iff S ≥ 1. [S]
- R = α · Σ βᵢ·qᵢ/Qᵢ; grade 一级 R ≥ 100, 二级 50 ≤ R < 100, 三级 10 ≤ R < 50, 四级 R < 10 (Table 6,
  ``data/gb18218_grades.csv``). [S]
- α from the number of people within 500 m of the unit (Table 5, ``data/gb18218_alpha.csv``). [S]
- Q: from Table 1 when the substance is named there (``data/gb18218_table1.csv``: all 85 rows as printed, each with
  its page; a substance is named when its key is in the row's ``substance_keys``), otherwise from Table 2 by its
  hazard category (``data/gb18218_categories.csv``). [S] Carbon monoxide is Table 1's 煤气 row (CO, and mixtures of
  CO, H₂ and CH₄), 20 t; there is no separate CO row. W4 (oxidising gases) is 50 t; oxygen's own row is 200 t.
- β: Table 3 for the named toxic gases (``data/gb18218_beta.csv``), otherwise Table 4 by hazard
  category (``data/gb18218_categories.csv``). H₂S has β = 5 (several public repositories carry 3). [S]
- The hazard category of each substance is ``data/gb18218_substance_classes.csv``. Crude oil and diesel are NOT
  named in Table 1: they are flammable liquids classified under Table 2 by flash point and initial boiling point
  (W5.1 10 t, W5.3 1000 t, W5.4 5000 t; :mod:`.flammable_liquids`). An inventory item may carry ``flash_point_c``
  and ``boiling_point_c`` (°C, closed cup / initial boiling point) or ``hazard_category``; without them the
  substance's stated default is used (crude oil W5.1, the most severe; diesel W5.4, as 柴油[闭杯闪点≤60℃]) and the
  result says so in ``category_basis`` and ``warnings``. A liquid with a flash point above 60 °C is not a
  hazardous chemical: it is listed in ``excluded`` with the reason, not counted.
- Each term records the category used and where it came from (unit override, flash point, substance table,
  stated default). Table 1 rows confirmed by a second transcription are tagged ``S``; a row tagged ``M`` adds a
  warning to the result.

Validity and limitations:

- q is the design maximum quantity in tonnes for one production or storage unit; mixtures and
  solutions must be converted by the caller.
- A substance with neither a Table 1 entry nor a hazard category (an unknown substance) makes the
  unit *refused*: grade None and ``refused`` states why, unless the item supplies ``hazard_category``
  or ``critical_quantity_t`` (reported as user-supplied). Nothing is dropped silently.
- The standard grades only units that are major hazard sources (S ≥ 1); for S < 1 R is still
  reported but ``grade`` is None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ._common import ModelResult, load_table, opt_float
from .flammable_liquids import table2_class
from .substances import find

MODEL = "GB 18218-2018 major hazard identification and grading"
SOURCES = [
    "GB 18218-2018 危险化学品重大危险源辨识 (S = Σq/Q, R = α·Σβq/Q; Q from Table 1 when named, else Table 2 by "
    "hazard category; β from Table 3 when named, else Table 4; α Table 5; grades Table 6) [S]",
    "GB 30000.7-2013 化学品分类和标签规范 第7部分：易燃液体 (flammable-liquid categories by flash point and initial "
    "boiling point, for Table 2 W5.1–W5.4) [S]",
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
    hazard_category: str | None = None
    category_basis: str | None = None
    q_tag: str = "S"


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
    refused: str | None = None
    warnings: tuple[str, ...] = ()
    sources: tuple[str, ...] = tuple(SOURCES)
    limitations: tuple[str, ...] = ()
    model: str = MODEL



@dataclass(frozen=True)
class Table1Row:
    """One printed row of GB 18218-2018 Table 1."""
    row: int
    name_zh: str
    alias_zh: str
    cas: tuple[str, ...]
    q_t: float
    page: int
    page_confidence: str
    substance_keys: tuple[str, ...]
    confidence: str

    @property
    def citation(self) -> str:
        return f"GB 18218-2018 Table 1 row {self.row} ({self.name_zh}), p. {self.page}"


@dataclass(frozen=True)
class _QRow:
    key: str
    named: bool
    q_t: float | None
    category: str | None
    confidence: str
    source: str
    classify_by: str = ""
    default_category: str | None = None
    default_basis: str = ""


@dataclass(frozen=True)
class Category:
    category: str
    description_zh: str
    description_en: str
    q_t: float
    beta: float
    confidence: str


@lru_cache(maxsize=1)
def table1() -> tuple[Table1Row, ...]:
    """GB 18218-2018 Table 1 as printed (85 rows), ``data/gb18218_table1.csv``."""
    return tuple(
        Table1Row(int(r["row"]), r["name_zh"], r["alias_zh"], tuple(c for c in r["cas"].split(";") if c),
                  float(r["critical_quantity_t"]), int(r["page"]), r["page_confidence"],
                  tuple(k for k in r["substance_keys"].split(";") if k), r["confidence"])
        for r in load_table("gb18218_table1.csv"))


def table1_row(substance_key: str) -> Table1Row | None:
    """The Table 1 row naming a substance of the substance table, or None when it is not named."""
    for row in table1():
        if substance_key in row.substance_keys:
            return row
    return None


@lru_cache(maxsize=1)
def _q_table() -> dict[str, _QRow]:
    out = {}
    for r in load_table("gb18218_substance_classes.csv"):
        key = r["substance_key"]
        t1 = table1_row(key)
        source = (f"{t1.citation} [{t1.confidence}]" if t1 else
                  f"not named in GB 18218-2018 Table 1: Table 2 by hazard category ({r['basis']})")
        out[key] = _QRow(key, t1 is not None, t1.q_t if t1 else None, r["hazard_category"] or None,
                         t1.confidence if t1 else r["confidence"], source, r["classify_by"],
                         r["default_category"] or None, r["default_basis"])
    return out


@lru_cache(maxsize=1)
def categories() -> dict[str, Category]:
    """GB 18218-2018 Table 2 (Q) and Table 4 (β) by hazard category."""
    return {r["category"]: Category(r["category"], r["description_zh"], r["description_en"],
                                    float(r["critical_quantity_t"]), float(r["beta"]), r["confidence"])
            for r in load_table("gb18218_categories.csv")}


@lru_cache(maxsize=1)
def _named_beta() -> dict[str, float]:
    return {r["key"]: float(r["beta"]) for r in load_table("gb18218_beta.csv")}


def critical_quantity(substance_key: str, hazard_category: str | None = None) -> tuple[float, str, str]:
    """(Q t, basis, confidence): Table 1 when the substance is named there, else Table 2 by category.

    Raises KeyError when neither applies (unknown substance without a category)."""
    row = _q_table().get(substance_key)
    t1 = table1_row(substance_key)
    if t1 is not None:
        return t1.q_t, f"Table 1 row {t1.row} (named: {t1.name_zh}, p. {t1.page})", t1.confidence
    cat = hazard_category or (row.category or row.default_category if row else None)
    if cat is None:
        raise KeyError(substance_key)
    c = categories()[cat]
    return c.q_t, f"Table 2 (category {cat}: {c.description_zh})", c.confidence


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
    """β and its basis: Table 3 for named toxic gases, else Table 4 by hazard category (all others 1)."""
    named = _named_beta()
    if substance_key and substance_key in named:
        return named[substance_key], f"Table 3 (named toxic gas {substance_key})"
    if hazard_category:
        c = categories().get(hazard_category)
        if c is None:
            raise ValueError(f"hazard_category {hazard_category!r} is not a GB 18218-2018 Table 2 category; "
                             f"accepted: {', '.join(categories())}")
        return c.beta, f"Table 4 (category {hazard_category})"
    return 1.0, "Table 4 (no category known: all others, β = 1)"


def _quantity(i: int, item: dict) -> tuple[str, float]:
    """(label, q) of one inventory item; ValueError naming the field when unusable."""
    if not isinstance(item, dict):
        raise ValueError(f"inventory[{i}] must be an object")
    name, cas = item.get("substance"), item.get("cas")
    if not name and not cas:
        raise ValueError(f"inventory[{i}].substance is missing")
    try:
        q = float(item["quantity_t"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"inventory[{i}].quantity_t must be a number of tonnes") from None
    if not math.isfinite(q) or q < 0:
        raise ValueError(f"inventory[{i}].quantity_t must be a finite number ≥ 0 (got {q})")
    return str(name or cas), q


def _user_q(i: int, value: Any) -> float:
    try:
        big_q = float(value)
    except (TypeError, ValueError):
        big_q = math.nan
    if not math.isfinite(big_q) or big_q <= 0:
        raise ValueError(f"inventory[{i}].critical_quantity_t must be > 0 (got {value!r})")
    return big_q


def _opt_number(i: int, item: dict, name: str) -> float | None:
    value = item.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"inventory[{i}].{name} must be a finite number (°C) (got {value!r})")
    return float(value)


class _NotCounted(Exception):
    """The item is not a hazardous chemical under Table 2 (e.g. a liquid with a flash point above 60 °C)."""


def _category(i: int, item: dict, row: _QRow | None, label: str, warnings: list[str]) -> tuple[str | None, str | None]:
    """(hazard category, basis) of one item: the unit's hazard_category, else the class from its flash point and
    boiling point, else the substance table's category, else the substance's stated default. Raises _NotCounted."""
    override = item.get("hazard_category")
    if override is not None:
        if override not in categories():
            raise ValueError(f"inventory[{i}].hazard_category {override!r} is not a GB 18218-2018 Table 2 "
                             f"category; accepted: {', '.join(categories())}")
        return override, "unit override (inventory item hazard_category)"
    flash = _opt_number(i, item, "flash_point_c")
    boil = _opt_number(i, item, "boiling_point_c")
    operating = _opt_number(i, item, "operating_temp_c")
    if flash is not None:
        cat, basis = table2_class(flash, boil, operating)
        if cat is None:
            raise _NotCounted(basis)
        return cat, f"inventory item flash point: {basis}"
    if boil is not None and row is not None and row.classify_by == "flash_point":
        raise ValueError(f"inventory[{i}].flash_point_c is missing: a boiling point alone does not classify "
                         f"{label} (GB 18218-2018 Table 2 W5.x needs the flash point)")
    if row is None:
        return None, None
    if row.category:
        return row.category, "substance table default"
    if row.default_category:
        warnings.append(f"{label}: no flash_point_c / boiling_point_c / hazard_category given — stated default "
                        f"{row.default_category}: {row.default_basis}")
        return row.default_category, f"stated default ({row.default_basis})"
    return None, None


def _term(i: int, item: dict, warnings: list[str], refusals: list[str],
          excluded: list[dict[str, Any]]) -> GradingTerm | None:
    """One inventory item → its GB 18218 term (Q from Table 1 or 2, β from Table 3 or 4), or None with a
    refusal recorded when the substance can be neither found nor categorised (or an exclusion when the item is
    not a hazardous chemical under Table 2)."""
    label, q = _quantity(i, item)
    sub = find(item.get("substance"), item.get("cas"))
    key = sub.key if sub else None
    row = _q_table().get(key) if key else None
    try:
        category, category_basis = _category(i, item, row, label, warnings)
    except _NotCounted as exc:
        excluded.append({"substance": label, "quantity_t": q, "reason": str(exc)})
        return None
    if item.get("critical_quantity_t") is not None:
        big_q = _user_q(i, item["critical_quantity_t"])
        q_source, q_tag = "user-supplied critical_quantity_t", "M"
        warnings.append(f"{label}: critical quantity Q = {big_q:g} t supplied by the caller, not from the table")
    elif (row is not None and row.named) or category:
        big_q, basis_q, q_tag = critical_quantity(key or "", category)
        q_source = row.source if row is not None and row.named else f"GB 18218-2018 {basis_q}"
        if q_tag != "S":
            warnings.append(f"{label}: Q = {big_q:g} t — {q_source} [M: one transcription only]")
    else:
        why = "not a known substance" if sub is None else "no GB 18218 Table 1 entry and no hazard category for Table 2"
        excluded.append({"substance": label, "quantity_t": q, "reason": why})
        refusals.append(f"inventory[{i}] {label}: {why}; supply hazard_category (GB 18218-2018 Table 2) "
                        "or critical_quantity_t to grade this unit")
        return None
    if item.get("beta") is not None:
        beta, basis = float(item["beta"]), "user-supplied beta"
        warnings.append(f"{label}: β = {beta:g} supplied by the caller")
    else:
        beta, basis = beta_for(key, category)
    ratio = q / big_q
    return GradingTerm(label, key, q, big_q, beta, basis, ratio, beta * ratio, q_source, category, category_basis,
                       q_tag)


def grade_unit(inventory: list[dict], people_within_500m: int) -> GradingResult:
    """Identify and grade one production or storage unit.

    ``inventory``: list of ``{"substance": name, "cas"?: str, "quantity_t": q}``; names are matched via
    :func:`gis_service.models.substances.find`. Optional per-item overrides: ``critical_quantity_t``,
    ``beta``, ``hazard_category``. Quantities of the same substance are summed per term as given.
    """
    if not isinstance(inventory, (list, tuple)):
        raise ValueError("inventory must be a list of {substance, cas, quantity_t}")
    alpha = alpha_for_people(people_within_500m)
    terms: list[GradingTerm] = []
    excluded: list[dict[str, Any]] = []
    warnings: list[str] = []
    refusals: list[str] = []
    for i, item in enumerate(inventory):
        term = _term(i, item, warnings, refusals, excluded)
        if term is not None:
            terms.append(term)

    s_value = sum(t.q_over_Q for t in terms)
    r_value = alpha * sum(t.beta_q_over_Q for t in terms)
    is_major = s_value >= 1 - _EPS
    grade: int | None
    grade_label: str | None
    refused = "; ".join(refusals) or None
    if refused:
        grade, grade_label = None, None
        warnings.append(f"unit not graded: {refused}")
    elif is_major:
        grade, grade_label = grade_for_r(r_value)
    else:
        grade, grade_label = None, None
    limitations = [
        "Grades only apply to units with S ≥ 1 (major hazard sources); for S < 1 grade is None.",
        "A unit with a substance that has neither a Table 1 entry nor a hazard category is refused (grade None, "
        "'refused' gives the reason), never graded on the rest of its inventory.",
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
        refused=refused,
        warnings=tuple(warnings),
        limitations=tuple(limitations),
    )


__all__ = [
    "GRADE_LABELS",
    "Table1Row",
    "GradingResult",
    "GradingTerm",
    "alpha_for_people",
    "beta_for",
    "categories",
    "critical_quantity",
    "grade_for_r",
    "grade_unit",
    "table1",
    "table1_row",
]
