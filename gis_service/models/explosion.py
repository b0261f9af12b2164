"""Vapour-cloud explosion (VCE): TNT equivalence and Kingery–Bulmash blast overpressure.

Sources:

- TNT equivalence W_TNT = a · η · W_f · ΔH_c / Q_TNT with Q_TNT = 4.52 MJ/kg [S] and yield η ≈ 0.04 for
  hydrocarbon VCEs [S] (CCPS 1994 Guidelines for Evaluating the Characteristics of VCEs, Flash Fires and
  BLEVEs; TNO Yellow Book). **Reflection rule (one rule, written down):** the Kingery–Bulmash fit used
  here is the *hemispherical surface-burst* curve, which already contains the ground reflection, so the
  charge is used as is (a = 1). The factor a = 1.8 belongs only with the *free-air* (spherical) curve;
  applying it on top of the surface-burst curve counts reflection twice (radii 1.8^⅓ = 1.216× too large).
  ``ground_factor`` remains a parameter for users who knowingly pair it with a free-air curve.
- Peak side-on overpressure of a hemispherical TNT surface burst: Kingery & Bulmash (1984) as
  simplified by Swisdak (1994), "Simplified Kingery Airblast Calculations", NSWC Indian Head,
  DTIC ADA526744 — coefficients in ``data/kingery_bulmash_swisdak1994.csv`` [V].
  Cross-checked against two published values: the US DoD inhabited-building distance
  K40 (40 ft/lb^⅓ = 15.87 m/kg^⅓) corresponds to 1.18 psi (Swisdak, "A Consequence Minimization
  Approach to Explosive Siting"), and K328 (130.2 m/kg^⅓) to 0.0655 psi = 0.4516 kPa (Appl. Sci.
  2022, 12(17), 8824, citing Kingery/Swisdak). The fit reproduces both to within 1%.
- Damage thresholds (``data/overpressure_thresholds.csv``): 2.07 / 6.9 / 13.8 / 17.2 / 34.5 / 69 kPa
  (Clancey 1972, via Lees and CCPS [V].

Validity: the fit covers 0.2 ≤ Z ≤ 198.5 m/kg^⅓ (about 17 300 kPa down to 0.25 kPa). Outside it,
:func:`overpressure_kpa` and :func:`radius_for_overpressure` raise :class:`OutOfFitRange` rather than
extrapolate.

Limitations: the TNT-equivalence method treats a deflagrating vapour cloud as a point high-explosive
charge; it over-predicts near-field pressure and ignores congestion and confinement (use TNO
multi-energy or Baker–Strehlow–Tang for those). η = 0.04 and a = 1.8 are conventions, not
measurements; the cloud's flammable mass W_f is a scenario assumption of the caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from scipy.optimize import brentq

from ._common import Constant, ModelResult, load_table, require_positive

MODEL = "TNT-equivalence vapour-cloud explosion, Kingery–Bulmash overpressure (Swisdak 1994)"
Q_TNT_MJ_KG = 4.52
YIELD_FACTOR = 0.04
GROUND_FACTOR = 1.0  # surface-burst curve: reflection already included
SOURCES = [
    "TNT equivalence W_TNT = η·W_f·ΔHc/Q_TNT, Q_TNT 4.52 MJ/kg, η 0.04 (CCPS 1994 VCE/BLEVE guidelines; "
    "TNO Yellow Book) [S]; a = 1 with the surface-burst curve (reflection counted once)",
    "Swisdak M.M. (1994) Simplified Kingery Airblast Calculations, NSWC Indian Head, DTIC ADA526744 "
    "(Kingery & Bulmash 1984 hemispherical surface burst fit)",
    "Clancey V.J. (1972) overpressure damage table, via Lees' Loss Prevention in the Process Industries / CCPS",
]
CONSTANTS = (
    Constant("q_tnt", Q_TNT_MJ_KG, "MJ/kg", "S", "CCPS (1994) / TNO Yellow Book TNT blast energy"),
    Constant("yield_factor", YIELD_FACTOR, "1", "S", "CCPS (1994): 0.01–0.10 for hydrocarbon VCEs, 0.04 typical"),
    Constant("ground_factor", GROUND_FACTOR, "1", "V",
             "Swisdak (1994): the fit is the hemispherical surface-burst curve (reflection included)"),
    Constant("kingery_bulmash_coefficients", "data/kingery_bulmash_swisdak1994.csv", "-", "V",
             "Swisdak M.M. (1994) Simplified Kingery Airblast Calculations, DTIC ADA526744"),
    Constant("damage_thresholds", "data/overpressure_thresholds.csv", "kPa", "V", "Clancey (1972) via Lees / CCPS"),
)
LIMITATIONS = [
    "TNT equivalence treats a deflagrating vapour cloud as a point high-explosive charge: near-field "
    "pressures are over-predicted and congestion/confinement are ignored (TNO multi-energy or BST would "
    "capture them).",
    "Yield η is a convention (default 0.04 for hydrocarbons; not applicable to low-reactivity ammonia or H₂S); "
    "the flammable mass in the cloud is a scenario assumption.",
    "Reflection counted once: surface-burst Kingery–Bulmash curve with a = 1 (no 1.8 factor).",
    "The Kingery–Bulmash fit is valid for 0.2 ≤ Z ≤ 198.5 m/kg^(1/3); thresholds outside it get no radius.",
]


class OutOfFitRange(ValueError):
    """A scaled distance or overpressure outside the Kingery–Bulmash fit range."""


@lru_cache(maxsize=1)
def _segments() -> tuple[tuple[float, float, tuple[float, ...]], ...]:
    rows = load_table("kingery_bulmash_swisdak1994.csv")
    return tuple(
        (float(r["z_min"]), float(r["z_max"]), tuple(float(r[c]) for c in "ABCDE")) for r in rows
    )


def z_range() -> tuple[float, float]:
    seg = _segments()
    return seg[0][0], seg[-1][1]


def overpressure_at_scaled_distance_kpa(z: float) -> float:
    """Peak side-on overpressure (kPa) at scaled distance Z (m/kg^⅓) from the Swisdak (1994) fit."""
    z = float(z)
    lo, hi = z_range()
    if not (lo <= z <= hi):
        raise OutOfFitRange(
            f"scaled distance Z = {z:.4g} m/kg^(1/3) is outside the Kingery–Bulmash fit range {lo} ≤ Z ≤ {hi}"
        )
    for _z_min, z_max, coef in _segments():
        if z <= z_max:
            return _eval(coef, z)
    raise AssertionError("unreachable")  # pragma: no cover


def _eval(coef: tuple[float, ...], z: float) -> float:
    a, b, c, d, e = coef
    t = math.log(z)
    return math.exp(a + b * t + c * t**2 + d * t**3 + e * t**4)


def pressure_range_kpa() -> tuple[float, float]:
    """(lowest, highest) overpressure the fit covers, in kPa."""
    lo, hi = z_range()
    return overpressure_at_scaled_distance_kpa(hi), overpressure_at_scaled_distance_kpa(lo)


def tnt_equivalent_kg(
    fuel_mass_kg: float,
    heat_of_combustion_mj_kg: float,
    *,
    yield_factor: float = YIELD_FACTOR,
    ground_factor: float = GROUND_FACTOR,
    q_tnt_mj_kg: float = Q_TNT_MJ_KG,
) -> float:
    """W_TNT (kg) = a · η · W_f · ΔH_c / Q_TNT."""
    w = require_positive("fuel_mass_kg", fuel_mass_kg)
    dh = require_positive("heat_of_combustion_mj_kg", heat_of_combustion_mj_kg)
    eta = require_positive("yield_factor", yield_factor)
    a = require_positive("ground_factor", ground_factor)
    q = require_positive("q_tnt_mj_kg", q_tnt_mj_kg)
    return a * eta * w * dh / q


def scaled_distance(distance_m: float, w_tnt_kg: float) -> float:
    """Z = R / W^⅓ in m/kg^⅓."""
    r = require_positive("distance_m", distance_m)
    w = require_positive("w_tnt_kg", w_tnt_kg)
    return r / w ** (1.0 / 3.0)


def overpressure_kpa(distance_m: float, w_tnt_kg: float) -> float:
    """Peak side-on overpressure (kPa) at ``distance_m`` from a surface burst of ``w_tnt_kg`` kg TNT.

    Raises :class:`OutOfFitRange` when Z is outside 0.2–198.5 m/kg^⅓.
    """
    return overpressure_at_scaled_distance_kpa(scaled_distance(distance_m, w_tnt_kg))


def scaled_distance_for_overpressure(threshold_kpa: float) -> float:
    """Largest Z (m/kg^⅓) at which the fit still gives ``threshold_kpa`` (numerical inversion)."""
    p = require_positive("threshold_kpa", threshold_kpa)
    z_lo, z_hi = z_range()
    p_min, p_max = pressure_range_kpa()
    if not (p_min <= p <= p_max):
        raise OutOfFitRange(
            f"overpressure {p:g} kPa is outside the Kingery–Bulmash fit range "
            f"{p_min:.3g}–{p_max:.4g} kPa (0.2 ≤ Z ≤ 198.5 m/kg^(1/3)); no radius computed"
        )
    # Each segment is monotone decreasing, but the published fit steps up by ~0.7 % at Z = 23.8
    # (4.895 → 4.929 kPa), so a pressure in that step is reached twice: return the farthest Z
    # (the conservative radius). Solve segment by segment and keep the largest root.
    lp = math.log(p)
    best = None
    for z_min, z_max, coef in _segments():
        def f(z: float, coef: tuple[float, ...] = coef) -> float:
            return math.log(_eval(coef, z)) - lp

        fa, fb = f(z_min), f(z_max)
        if fa >= 0 >= fb:
            root = z_min if fa == 0 else z_max if fb == 0 else brentq(f, z_min, z_max, xtol=1e-12, rtol=1e-12)
            best = root if best is None else max(best, root)
    if best is None:  # pressure falls in a step down between segments: the joint is the boundary
        best = max(z_max for _z0, z_max, coef in _segments() if _eval(coef, z_max) >= p)
    return best


def radius_for_overpressure(threshold_kpa: float, w_tnt_kg: float) -> float:
    """Distance (m) at which the peak side-on overpressure falls to ``threshold_kpa``.

    Raises :class:`OutOfFitRange` when the threshold lies outside the fit's pressure range.
    """
    w = require_positive("w_tnt_kg", w_tnt_kg)
    return scaled_distance_for_overpressure(threshold_kpa) * w ** (1.0 / 3.0)


@dataclass(frozen=True)
class Threshold:
    threshold_kpa: float
    psi: float
    description_en: str
    description_zh: str
    source: str


@lru_cache(maxsize=1)
def default_thresholds() -> tuple[Threshold, ...]:
    """The default damage thresholds table (``data/overpressure_thresholds.csv``)."""
    return tuple(
        Threshold(float(r["threshold_kpa"]), float(r["psi"]), r["description_en"], r["description_zh"], r["source"])
        for r in load_table("overpressure_thresholds.csv")
    )


@dataclass(frozen=True)
class OverpressureZone:
    threshold_kpa: float
    description_en: str | None
    description_zh: str | None
    radius_m: float | None
    scaled_distance_m_kg13: float | None
    note: str | None = None


@dataclass(frozen=True)
class ExplosionResult(ModelResult):
    parameters: dict[str, Any]
    w_tnt_kg: float
    zones: tuple[OverpressureZone, ...]
    sources: tuple[str, ...] = tuple(SOURCES)
    limitations: tuple[str, ...] = tuple(LIMITATIONS)
    warnings: tuple[str, ...] = ()
    constants: tuple[Constant, ...] = CONSTANTS
    model: str = MODEL



def vce_zones(
    fuel_mass_kg: float,
    heat_of_combustion_mj_kg: float,
    *,
    thresholds_kpa: list[float] | None = None,
    yield_factor: float = YIELD_FACTOR,
    ground_factor: float = GROUND_FACTOR,
    q_tnt_mj_kg: float = Q_TNT_MJ_KG,
) -> ExplosionResult:
    """Overpressure radii around a VCE of ``fuel_mass_kg`` kg of fuel.

    ``thresholds_kpa`` defaults to the damage table; thresholds outside the fit range get
    ``radius_m = None`` and a note instead of an extrapolated number.
    """
    w_tnt = tnt_equivalent_kg(
        fuel_mass_kg, heat_of_combustion_mj_kg,
        yield_factor=yield_factor, ground_factor=ground_factor, q_tnt_mj_kg=q_tnt_mj_kg,
    )
    table = {t.threshold_kpa: t for t in default_thresholds()}
    levels = list(thresholds_kpa) if thresholds_kpa is not None else list(table)
    zones = []
    warnings = []
    for p in levels:
        p = require_positive("thresholds_kpa[]", p)
        desc = table.get(p)
        try:
            z = scaled_distance_for_overpressure(p)
            zones.append(OverpressureZone(p, desc.description_en if desc else None, desc.description_zh if desc else None,
                                          z * w_tnt ** (1.0 / 3.0), z))
        except OutOfFitRange as exc:
            zones.append(OverpressureZone(p, desc.description_en if desc else None, desc.description_zh if desc else None,
                                          None, None, str(exc)))
            warnings.append(str(exc))
    params = {
        "fuel_mass_kg": float(fuel_mass_kg),
        "heat_of_combustion_mj_kg": float(heat_of_combustion_mj_kg),
        "yield_factor": float(yield_factor),
        "ground_factor": float(ground_factor),
        "q_tnt_mj_kg": float(q_tnt_mj_kg),
    }
    return ExplosionResult(params, w_tnt, tuple(zones), warnings=tuple(warnings))
