"""Tailings dams (尾矿库): grade (等别) and breach runout corridor.

Grade — ``data/tailings_grades.csv`` (DOMAIN.md §4): grade from total storage V (10⁴ m³) and from dam
height H (m), each 一..五 (1..5). Combining rule, GB 50863-2013 §3.3.1 [V]: equal → that grade; differ
by one → the higher; differ by more than one → one below the higher; if a failure would hit
important towns, railways or expressways downstream → raise one grade (never above 一等).
The numeric thresholds for 一等 (V ≥ 50000, H ≥ 200) are [M]: in AQ 2006-2005 as remembered, 一等
is "a grade-二 dam meeting the conditions for raising" rather than a pair of numbers.

Runout — Rico, Benito & Díez-Herrero (2008), "Floods from tailings dam failures", Journal of
Hazardous Materials 154(1–3): 79–87. Regressions on historic failures (V in 10⁶ m³, H in m, D in km):

    V_F = 0.354 · V_T^1.01         (released volume, r² = 0.86)
    H_f = H · (V_F / V_T) · V_F    (dam factor)
    D_max = 14.45 · H_f^0.76       (run-out distance, r² = 0.57)

Confirmation status [M → partly confirmed]: search found the paper (J. Haz. Mat. 154 (2008) 79–87)
and its abstract, which states both correlations (stored volume vs outflow volume r² = 0.86; outflow
volume vs run-out distance r² = 0.57) and warns to use them with caution; Larrauri & Lall (2018,
Environments 5(2):28) refit the D_max regression on an updated dataset. The coefficients
themselves (0.354, 1.01, 14.45, 0.76) were not read in the retrieved text: they are as in
DOMAIN.md and are parameters here.

Limitations: the runout regression has large scatter (r² = 0.57) and includes cases where tailings
were carried on by rivers, so it grows fast with size (≈ 29 km for a 20 m, 1×10⁶ m³ dam). The corridor
drawn is a straight trapezoid along the downstream azimuth, capped at ``max_length_m`` (default
20 km) — the real flow follows the valley. The result says when the length was capped.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from shapely.geometry import Polygon

from ._common import ModelResult, load_table, opt_float, require_positive

MODEL_GRADE = "Tailings dam grade (GB 50863-2013 §3.3.1 combining rule)"
MODEL_RUNOUT = "Tailings dam breach runout (Rico, Benito & Díez-Herrero 2008)"
GRADE_LABELS = {1: "一等", 2: "二等", 3: "三等", 4: "四等", 5: "五等"}
RICO_VF_COEF = 0.354
RICO_VF_EXP = 1.01
RICO_D_COEF = 14.45
RICO_D_EXP = 0.76
GRADE_SOURCES = [
    "GB 50863-2013 尾矿设施设计规范 §3.3.1 (grade by storage and height, combining rule) via DOMAIN.md §4",
    "gis_service/data/tailings_grades.csv (grade 一 thresholds [M])",
]
RUNOUT_SOURCES = [
    "Rico M., Benito G., Díez-Herrero A. (2008) Floods from tailings dam failures. "
    "J. Hazardous Materials 154(1-3):79-87 (V_F = 0.354·V_T^1.01; D_max = 14.45·H_f^0.76) [M: coefficients "
    "not read in the retrieved text; abstract and r² values confirmed]",
    "Concha Larrauri P., Lall U. (2018) Tailings Dams Failures: Updated Statistical Model for Discharge Volume "
    "and Runout. Environments 5(2):28 (refit; not used)",
]


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
    """Grade of a tailings dam. ``requires_online_monitoring`` is True for grade 三 or higher (DOMAIN §4)."""
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
    model: str = MODEL_RUNOUT



def rico_runout_km(
    dam_height_m: float,
    stored_volume_1e6m3: float,
    *,
    vf_coef: float = RICO_VF_COEF,
    vf_exp: float = RICO_VF_EXP,
    d_coef: float = RICO_D_COEF,
    d_exp: float = RICO_D_EXP,
) -> tuple[float, float, float]:
    """(V_F in 10⁶ m³, H_f, D_max in km) from Rico et al. (2008); V_T in 10⁶ m³, H in m."""
    h = require_positive("dam_height_m", dam_height_m)
    vt = require_positive("stored_volume_1e6m3", stored_volume_1e6m3)
    vf = vf_coef * vt**vf_exp
    hf = h * (vf / vt) * vf
    return vf, hf, d_coef * hf**d_exp


def breach_runout(
    dam_height_m: float,
    total_storage_1e4m3: float,
    *,
    max_length_m: float = 20_000.0,
    start_width_m: float = 200.0,
    end_width_m: float = 500.0,
    vf_coef: float = RICO_VF_COEF,
    vf_exp: float = RICO_VF_EXP,
    d_coef: float = RICO_D_COEF,
    d_exp: float = RICO_D_EXP,
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
    vf, hf, d_km = rico_runout_km(dam_height_m, vt, vf_coef=vf_coef, vf_exp=vf_exp, d_coef=d_coef, d_exp=d_exp)
    d_m = d_km * 1000.0
    length = min(d_m, cap)
    capped = d_m > cap
    poly = Polygon([(0.0, -w0 / 2), (length, -w1 / 2), (length, w1 / 2), (0.0, w0 / 2)])
    limitations = [
        "Rico et al. (2008) regression: large scatter (r² = 0.57 for runout) and cases include tailings carried on "
        "by rivers, so D_max grows fast with dam size; treat it as an order of magnitude.",
        "The corridor is a straight trapezoid along the downstream azimuth; the real flow follows the valley.",
        "Regression coefficients are [M] (as in DOMAIN.md §4; not read in the retrieved paper text) and are parameters.",
    ]
    if capped:
        limitations.insert(0, f"Corridor length capped at {cap:g} m; the computed runout is {d_m:.0f} m.")
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
    )
