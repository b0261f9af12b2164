"""Tailings dams (尾矿库): grade (等别) and breach runout corridor.

Grade — ``data/tailings_grades.csv``: grade from total storage V (10⁴ m³) and from dam
height H (m), each 一..五 (1..5). Combining rule, GB 50863-2013 §3.3.1 [V]: equal → that grade; differ
by one → the higher; differ by more than one → one below the higher; if a failure would hit
important towns, railways or expressways downstream → raise one grade (never above 一等).
The numeric thresholds for 一等 (V ≥ 50000, H ≥ 200) are [M]: in AQ 2006-2005 as remembered, 一等
is "a grade-二 dam meeting the conditions for raising" rather than a pair of numbers.

Runout — Concha Larrauri P., Lall U. (2018), "Tailings Dams Failures: Updated Statistical Model for
Discharge Volume and Runout", Environments 5(2):28, doi:10.3390/environments5020028 — a refit of
Rico, Benito & Díez-Herrero (2008, J. Hazardous Materials 154:79–87) on an updated set of failures
(V in 10⁶ m³, H in m, D in km):

    V_F   = 0.332 · V_T^0.95             (released volume)
    H_f   = H · (V_F / V_T) · V_F        (dam factor, m·10⁶ m³)
    D_max = 3.04 · H_f^0.545             (maximum runout distance)

Confirmation status [M]: the paper and its abstract were found (updated dataset; new D_max regression
on the dam factor, "which considers the potential energy associated with the released volume"); the
coefficients were not read in the retrieved text. They are as remembered and are parameters here.
(An earlier version mixed Rico's D_max coefficients 14.45/0.76 with this dam factor and over-predicted
5–10×, e.g. 270 km for a 37 m, 9.6×10⁶ m³ dam; the refit gives ≈ 20 km.)

Check against historical failures (observed V_F used in H_f; tests/test_models_tailings.py): Stava 1985
(obs. 4.2 km; pred. ≈ 6 km), Aznalcóllar 1998 (41 km; ≈ 34 km), Fundão 2015 (≈ 637 km along the Rio
Doce to the sea; ≈ 171 km), Mount Polley 2014 (≈ 7 km into Quesnel Lake; ≈ 73 km — the lake stopped it).
The scatter is about a factor of 4 either way, with outliers of 10×: report D_max as an order of
magnitude with that uncertainty.

Corridor: drawn to the computed distance along the downstream azimuth (a straight trapezoid; the
real flow follows the valley). ``max_length_m`` is an optional drawing limit; when it shortens the
corridor the result says so (``corridor_length_capped`` and the true runout).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from shapely.geometry import Polygon

from ._common import Constant, ModelResult, load_table, opt_float, require_positive

MODEL_GRADE = "Tailings dam grade (GB 50863-2013 §3.3.1 combining rule)"
MODEL_RUNOUT = "Tailings dam breach runout (Concha Larrauri & Lall 2018)"
GRADE_LABELS = {1: "一等", 2: "二等", 3: "三等", 4: "四等", 5: "五等"}
LL_VF_COEF = 0.332
LL_VF_EXP = 0.95
LL_D_COEF = 3.04
LL_D_EXP = 0.545
DRAWING_LIMIT_M = 200_000.0
GRADE_SOURCES = [
    "GB 50863-2013 尾矿设施设计规范 §3.3.1 (grade by storage and height, combining rule)",
    "gis_service/data/tailings_grades.csv (grade 一 thresholds [M])",
]
RUNOUT_SOURCES = [
    "Concha Larrauri P., Lall U. (2018) Tailings Dams Failures: Updated Statistical Model for Discharge Volume and "
    "Runout. Environments 5(2):28 (V_F = 0.332·V_T^0.95; H_f = H·(V_F/V_T)·V_F; D_max = 3.04·H_f^0.545) "
    "[M: coefficients not read in the retrieved text]",
    "Rico M., Benito G., Díez-Herrero A. (2008) Floods from tailings dam failures. J. Hazardous Materials "
    "154:79-87 (original dataset)",
]
RUNOUT_CONSTANTS = (
    Constant("vf_coef", LL_VF_COEF, "10⁶ m³", "M", "Concha Larrauri & Lall (2018)"),
    Constant("vf_exp", LL_VF_EXP, "1", "M", "Concha Larrauri & Lall (2018)"),
    Constant("d_coef", LL_D_COEF, "km", "M", "Concha Larrauri & Lall (2018)"),
    Constant("d_exp", LL_D_EXP, "1", "M", "Concha Larrauri & Lall (2018)"),
)


@lru_cache(maxsize=1)
def _grade_rows():
    return tuple(
        (int(r["grade"]), opt_float(r["v_min_1e4m3"]), opt_float(r["v_max_1e4m3"]),
         opt_float(r["h_min_m"]), opt_float(r["h_max_m"]), r["confidence"])
        for r in load_table("tailings_grades.csv")
    )


def _band(value: float, lo_idx: int) -> int:
    for row in _grade_rows():
        grade, lo, hi = row[0], row[lo_idx], row[lo_idx + 1]
        if (lo is None or value >= lo) and (hi is None or value < hi):
            return grade
    raise ValueError(f"no grade band covers {value}")  # a data error


def grade_by_storage(total_storage_1e4m3: float) -> int:
    """Grade 1..5 (1 = 一等) from total storage V in 10⁴ m³."""
    return _band(require_positive("total_storage_1e4m3", total_storage_1e4m3), 1)


def grade_by_height(dam_height_m: float) -> int:
    """Grade 1..5 (1 = 一等) from dam height H in m."""
    return _band(require_positive("dam_height_m", dam_height_m), 3)


def combine_grades(storage_grade: int, height_grade: int, downstream_important: bool = False) -> int:
    """GB 50863 §3.3.1: equal → same; differ by 1 → higher; by more → higher lowered by one;
    important targets downstream → raise one grade, capped at 1 (一等)."""
    for name, g in (("storage_grade", storage_grade), ("height_grade", height_grade)):
        if g not in GRADE_LABELS:
            raise ValueError(f"{name} must be an integer 1..5 (got {g!r})")
    higher = min(storage_grade, height_grade)
    diff = abs(storage_grade - height_grade)
    grade = higher if diff <= 1 else higher + 1
    if downstream_important:
        grade = max(1, grade - 1)
    return grade


@dataclass(frozen=True)
class TailingsGradeResult(ModelResult):
    parameters: dict[str, Any]
    storage_grade: int
    height_grade: int
    grade: int
    grade_label: str
    requires_online_monitoring: bool
    sources: tuple[str, ...]
    limitations: tuple[str, ...]
    model: str = MODEL_GRADE



def tailings_grade(
    total_storage_1e4m3: float, dam_height_m: float, *, downstream_important: bool = False
) -> TailingsGradeResult:
    """Grade of a tailings dam. ``requires_online_monitoring`` is True for grade 三 or higher."""
    gv = grade_by_storage(total_storage_1e4m3)
    gh = grade_by_height(dam_height_m)
    g = combine_grades(gv, gh, downstream_important)
    limitations = [
        "Numeric thresholds for 一等 (V ≥ 50000×10⁴ m³, H ≥ 200 m) are [M]; the regulation may define 一等 as a "
        "grade-二 dam meeting the conditions for raising.",
        "'Important targets downstream' (towns, railways, expressways) is an input judgement, not computed here.",
    ]
    return TailingsGradeResult(
        parameters={"total_storage_1e4m3": float(total_storage_1e4m3), "dam_height_m": float(dam_height_m),
                    "downstream_important": bool(downstream_important)},
        storage_grade=gv, height_grade=gh, grade=g, grade_label=GRADE_LABELS[g],
        requires_online_monitoring=g <= 3,
        sources=tuple(GRADE_SOURCES), limitations=tuple(limitations),
    )


@dataclass(frozen=True)
class RunoutResult(ModelResult):
    parameters: dict[str, Any]
    stored_volume_1e6m3: float
    released_volume_1e6m3: float
    dam_factor_hf: float
    runout_distance_km: float
    runout_distance_m: float
    corridor_length_m: float
    corridor_length_capped: bool
    corridor_start_width_m: float
    corridor_end_width_m: float
    corridor_local_m: Polygon
    coordinates: str
    sources: tuple[str, ...]
    limitations: tuple[str, ...]
    constants: tuple[Constant, ...] = ()
    model: str = MODEL_RUNOUT



def runout_km(
    dam_height_m: float,
    stored_volume_1e6m3: float,
    *,
    released_volume_1e6m3: float | None = None,
    vf_coef: float = LL_VF_COEF,
    vf_exp: float = LL_VF_EXP,
    d_coef: float = LL_D_COEF,
    d_exp: float = LL_D_EXP,
) -> tuple[float, float, float]:
    """(V_F in 10⁶ m³, H_f, D_max in km), Concha Larrauri & Lall (2018); V_T in 10⁶ m³, H in m.

    ``released_volume_1e6m3`` (an observed V_F) replaces the V_F regression when given."""
    h = require_positive("dam_height_m", dam_height_m)
    vt = require_positive("stored_volume_1e6m3", stored_volume_1e6m3)
    vf = (require_positive("released_volume_1e6m3", released_volume_1e6m3) if released_volume_1e6m3 is not None
          else vf_coef * vt**vf_exp)
    hf = h * (vf / vt) * vf
    return vf, hf, d_coef * hf**d_exp


def breach_runout(
    dam_height_m: float,
    total_storage_1e4m3: float,
    *,
    max_length_m: float = DRAWING_LIMIT_M,
    start_width_m: float = 200.0,
    end_width_m: float = 500.0,
    vf_coef: float = LL_VF_COEF,
    vf_exp: float = LL_VF_EXP,
    d_coef: float = LL_D_COEF,
    d_exp: float = LL_D_EXP,
) -> RunoutResult:
    """Breach runout and a corridor footprint in LOCAL METRES (dam at (0, 0), x downstream, y across).

    Storage is taken in 10⁴ m³ (the layer's unit) and converted to 10⁶ m³ for the regression.
    The corridor is a trapezoid from ``start_width_m`` at the dam to ``end_width_m`` at its far end,
    of length min(D_max, ``max_length_m``).
    """
    v_1e4 = require_positive("total_storage_1e4m3", total_storage_1e4m3)
    cap = require_positive("max_length_m", max_length_m)
    w0 = require_positive("start_width_m", start_width_m)
    w1 = require_positive("end_width_m", end_width_m)
    vt = v_1e4 / 100.0  # 10⁴ m³ → 10⁶ m³
    vf, hf, d_km = runout_km(dam_height_m, vt, vf_coef=vf_coef, vf_exp=vf_exp, d_coef=d_coef, d_exp=d_exp)
    d_m = d_km * 1000.0
    length = min(d_m, cap)
    capped = d_m > cap
    poly = Polygon([(0.0, -w0 / 2), (length, -w1 / 2), (length, w1 / 2), (0.0, w0 / 2)])
    limitations = [
        "Concha Larrauri & Lall (2018) regression: observed runouts scatter about a factor of 4 around it (10× "
        "outliers where a lake or valley stopped the flow, or a river carried it on); treat D_max as an order of "
        "magnitude.",
        "The corridor is a straight trapezoid along the downstream azimuth; the real flow follows the valley.",
        "Regression coefficients are [M] (not read in the retrieved paper text) and are parameters.",
    ]
    if capped:
        limitations.insert(0, f"Corridor drawn to the drawing limit {cap:g} m; the computed runout is {d_m:.0f} m.")
    return RunoutResult(
        parameters={
            "dam_height_m": float(dam_height_m), "total_storage_1e4m3": v_1e4, "max_length_m": cap,
            "start_width_m": w0, "end_width_m": w1,
            "vf_coef": vf_coef, "vf_exp": vf_exp, "d_coef": d_coef, "d_exp": d_exp,
        },
        stored_volume_1e6m3=vt,
        released_volume_1e6m3=vf,
        dam_factor_hf=hf,
        runout_distance_km=d_km,
        runout_distance_m=d_m,
        corridor_length_m=length,
        corridor_length_capped=capped,
        corridor_start_width_m=w0,
        corridor_end_width_m=w1,
        corridor_local_m=poly,
        coordinates="local metres: dam at (0, 0), x downstream along the downstream azimuth, y across",
        sources=tuple(RUNOUT_SOURCES),
        limitations=tuple(limitations),
        constants=RUNOUT_CONSTANTS,
    )
