"""BLEVE fireball of a pressurised liquefied flammable gas — solid-sphere radiation model.

Pure, vectorised functions: ground distance (m, numpy array) in → incident flux / dose / probit out.

Sources (CCPS (2000) *Guidelines for Chemical Process Quantitative Risk Analysis*, 2nd ed., §2.2.4;
TNO (1997) *Yellow Book* CPR 14E, ch. 6; tags as stated):

- diameter D = 5.8 M^⅓ m (M kg of fuel in the fireball) [S];
- duration t = 0.45 M^⅓ s for M < 30 000 kg, 2.6 M^⅙ s above [S];
- centre height H = 0.75 D [S];
- radiative fraction F_rad = 0.27 P^0.32 (P vessel pressure in MPa; Roberts 1981) [S]; surface emissive
  power E = F_rad M ΔH_c / (π D² t), or a fixed E (CCPS: ≈ 350 kW/m² for large hydrocarbon fireballs) [S];
- atmospheric transmissivity τ = 2.02 (P_w X)^−0.09 (P_w water partial pressure Pa, X path length m from
  the fireball surface) with P_w = RH · 101 325 · exp(14.4114 − 5328/T_a) [S];
- view factor of a sphere of radius R seen from ground distance x with centre height H, L = √(x² + H²):
  target facing the centre F = (R/L)²; vertical target F = R² x / L³ [S];
- incident flux q = τ E F; thermal dose D = q^(4/3) t; lethality probit (Eisenberg et al. 1975)
  Y = −14.9 + 2.56 ln(t q^(4/3) / 10⁴), q in W/m², t in s [S].

Validity: static fireball (no growth and lift-off phases); the whole mass M is taken as in the
fireball (conservative: CCPS practice for a BLEVE of a full vessel); flux at distances inside the
fireball's ground projection (x < D/2) is reported but marked as near field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq

from ._common import Constant, ModelResult, require_positive

MODEL = "BLEVE fireball, solid-sphere radiation (CCPS 2000 §2.2.4; TNO Yellow Book)"
SEP_DEFAULT_KW_M2 = 350.0
DIAMETER_COEF = 5.8
DURATION_SMALL = 0.45
DURATION_LARGE = 2.6
DURATION_SWITCH_KG = 30_000.0
HEIGHT_FACTOR = 0.75
ROBERTS_COEF = 0.27
ROBERTS_EXP = 0.32
SRC = "CCPS (2000) Guidelines for Chemical Process QRA, 2nd ed., §2.2.4 (BLEVE and fireball)"
SOURCES = [
    SRC,
    "TNO (1997) Methods for the calculation of physical effects (Yellow Book), CPR 14E, ch. 6",
    "Roberts A.F. (1981) Thermal radiation hazards from releases of LPG from pressurised storage. "
    "Fire Safety Journal 4:197–212 (radiative fraction 0.27 P^0.32)",
    "Eisenberg N.A., Lynch C.J., Breeding R.J. (1975) Vulnerability model, US Coast Guard CG-D-136-75 (burn probit)",
]
CONSTANTS = (
    Constant("fireball_diameter_coefficient", DIAMETER_COEF, "m/kg^(1/3)", "S", SRC),
    Constant("fireball_duration_coefficient_small", DURATION_SMALL, "s/kg^(1/3)", "S", SRC),
    Constant("fireball_duration_coefficient_large", DURATION_LARGE, "s/kg^(1/6)", "S", SRC),
    Constant("fireball_centre_height_factor", HEIGHT_FACTOR, "× D", "S", SRC),
    Constant("roberts_radiative_fraction", "0.27·P^0.32 (P MPa)", "1", "S", "Roberts (1981) via CCPS (2000)"),
    Constant("transmissivity", "2.02·(Pw·X)^-0.09", "1", "S", SRC),
    Constant("eisenberg_probit", "Y = -14.9 + 2.56 ln(t q^(4/3)/1e4)", "1", "S",
             "Eisenberg et al. (1975) via CCPS (2000) §2.3"),
)


def fireball_diameter_m(mass_kg):
    """Maximum fireball diameter D = 5.8 M^⅓ (m)."""
    return DIAMETER_COEF * np.cbrt(np.asarray(mass_kg, dtype=float))


def fireball_duration_s(mass_kg):
    """Duration t = 0.45 M^⅓ (M < 30 t) or 2.6 M^⅙ (s)."""
    m = np.asarray(mass_kg, dtype=float)
    return np.where(m < DURATION_SWITCH_KG, DURATION_SMALL * np.cbrt(m), DURATION_LARGE * m ** (1 / 6))


def fireball_height_m(mass_kg):
    """Centre height H = 0.75 D (m)."""
    return HEIGHT_FACTOR * fireball_diameter_m(mass_kg)


def radiative_fraction_roberts(pressure_mpa: float) -> float:
    """F_rad = 0.27 P^0.32 (P vessel burst pressure, MPa)."""
    return ROBERTS_COEF * require_positive("pressure_mpa", pressure_mpa) ** ROBERTS_EXP


def emissive_power_kw_m2(mass_kg: float, heat_of_combustion_mj_kg: float, radiative_fraction: float) -> float:
    """E = F_rad · M · ΔH_c / (π D² t) in kW/m²."""
    d = float(fireball_diameter_m(mass_kg))
    t = float(fireball_duration_s(mass_kg))
    return radiative_fraction * mass_kg * heat_of_combustion_mj_kg * 1000.0 / (math.pi * d * d * t)


def water_partial_pressure_pa(relative_humidity: float, ambient_k: float) -> float:
    """P_w = RH · 101 325 · exp(14.4114 − 5328/T) (Pa; the exponential is the saturation pressure in atm)."""
    return relative_humidity * 101325.0 * math.exp(14.4114 - 5328.0 / ambient_k)


def transmissivity(path_m, relative_humidity: float = 0.7, ambient_k: float = 293.15):
    """τ = 2.02 (P_w X)^−0.09, capped at 1 (X path length in m)."""
    pw = water_partial_pressure_pa(relative_humidity, ambient_k)
    x = np.maximum(np.asarray(path_m, dtype=float), 1e-3)
    return np.minimum(1.0, 2.02 * (pw * x) ** -0.09)


def view_factor_sphere(x_m, centre_height_m: float, radius_m: float, orientation: str = "facing"):
    """View factor of a sphere from a ground target at horizontal distance x (m).

    ``facing``: target normal toward the sphere's centre, F = (R/L)²; ``vertical``: vertical target,
    F = R² x / L³ (L = √(x² + H²)). Capped at 1.
    """
    x = np.asarray(x_m, dtype=float)
    big_l = np.sqrt(x * x + centre_height_m**2)
    if orientation == "facing":
        f = (radius_m / big_l) ** 2
    elif orientation == "vertical":
        f = radius_m**2 * x / big_l**3
    else:
        raise ValueError(f"orientation must be 'facing' or 'vertical' (got {orientation!r})")
    return np.minimum(1.0, f)


@dataclass(frozen=True)
class Fireball:
    """A fireball's geometry and emissive power; call :meth:`flux_kw_m2` on distances."""

    mass_kg: float
    diameter_m: float
    duration_s: float
    centre_height_m: float
    surface_emissive_power_kw_m2: float
    sep_basis: str
    relative_humidity: float = 0.7
    ambient_k: float = 293.15
    orientation: str = "facing"

    def flux_kw_m2(self, x_m):
        """Incident radiation q = τ E F (kW/m²) at ground distance x (m) from the point below the centre."""
        x = np.asarray(x_m, dtype=float)
        r = self.diameter_m / 2.0
        path = np.sqrt(x * x + self.centre_height_m**2) - r
        q = (transmissivity(path, self.relative_humidity, self.ambient_k) * self.surface_emissive_power_kw_m2
             * view_factor_sphere(x, self.centre_height_m, r, self.orientation))
        return float(q) if q.ndim == 0 else q

    def dose(self, x_m):
        """Thermal dose t·q^(4/3) in (W/m²)^(4/3)·s."""
        return self.duration_s * (np.asarray(self.flux_kw_m2(x_m)) * 1000.0) ** (4.0 / 3.0)

    def probit(self, x_m):
        """Eisenberg lethality probit Y = −14.9 + 2.56 ln(t q^(4/3) / 10⁴)."""
        return -14.9 + 2.56 * np.log(self.dose(x_m) / 1e4)

    def radius_for_flux_m(self, threshold_kw_m2: float) -> float | None:
        """Farthest ground distance where q ≥ threshold (None if never reached)."""
        return _farthest(lambda x: self.flux_kw_m2(x) - threshold_kw_m2, self.diameter_m)

    def radius_for_dose_m(self, dose: float) -> float | None:
        """Farthest ground distance where t·q^(4/3) ≥ ``dose`` ((W/m²)^(4/3)·s)."""
        return _farthest(lambda x: math.log(max(float(self.dose(x)), 1e-300)) - math.log(dose), self.diameter_m)


def _farthest(fn, scale: float) -> float | None:
    """Root of a decreasing function of distance, searched from 0 outward."""
    if fn(0.0) < 0:
        return None
    hi = max(scale, 1.0)
    while fn(hi) > 0:
        hi *= 2
        if hi > 1e7:
            return hi
    return brentq(fn, 0.0, hi, xtol=1e-6)


def fireball(mass_kg: float, heat_of_combustion_mj_kg: float | None = None, *, pressure_mpa: float | None = None,
             surface_emissive_power_kw_m2: float | None = None, relative_humidity: float = 0.7,
             ambient_k: float = 293.15, orientation: str = "facing") -> Fireball:
    """Fireball of ``mass_kg`` kg. Emissive power: given, else from Roberts' fraction at ``pressure_mpa``
    with ΔH_c, else the CCPS default 350 kW/m²."""
    m = require_positive("mass_kg", mass_kg)
    d = float(fireball_diameter_m(m))
    if surface_emissive_power_kw_m2 is not None:
        e, basis = require_positive("surface_emissive_power_kw_m2", surface_emissive_power_kw_m2), "given"
    elif pressure_mpa is not None and heat_of_combustion_mj_kg:
        frac = radiative_fraction_roberts(pressure_mpa)
        e = emissive_power_kw_m2(m, heat_of_combustion_mj_kg, frac)
        basis = f"Roberts (1981) radiative fraction {frac:.3f} at {pressure_mpa:g} MPa"
    else:
        e, basis = SEP_DEFAULT_KW_M2, "CCPS (2000) typical 350 kW/m² for large hydrocarbon fireballs [S]"
    return Fireball(m, d, float(fireball_duration_s(m)), HEIGHT_FACTOR * d, e, basis, relative_humidity, ambient_k,
                    orientation)



@dataclass(frozen=True)
class FireballZone:
    threshold: float
    unit: str
    description_en: str
    radius_m: float | None
    inside_fireball_projection: bool


@dataclass(frozen=True)
class FireballResult(ModelResult):
    parameters: dict[str, Any]
    diameter_m: float
    duration_s: float
    centre_height_m: float
    surface_emissive_power_kw_m2: float
    sep_basis: str
    zones: tuple[FireballZone, ...]
    constants: tuple[Constant, ...] = CONSTANTS
    sources: tuple[str, ...] = tuple(SOURCES)
    limitations: tuple[str, ...] = (
        "Static fireball: growth and lift-off are not modelled; the whole vessel mass is taken as fuel (conservative).",
        "Radii inside the fireball's ground projection (x < D/2) are near field: people there are engulfed.",
    )
    model: str = MODEL


def fireball_zones(mass_kg: float, heat_of_combustion_mj_kg: float | None, *, thresholds_kw_m2=(10.0, 5.0, 2.0),
                   pressure_mpa: float | None = None, surface_emissive_power_kw_m2: float | None = None,
                   relative_humidity: float = 0.7, ambient_k: float = 293.15) -> FireballResult:
    """Radii (m) to each flux threshold and to 1 % lethality (Eisenberg probit Y = 2.67) of a fireball."""
    fb = fireball(mass_kg, heat_of_combustion_mj_kg, pressure_mpa=pressure_mpa,
                  surface_emissive_power_kw_m2=surface_emissive_power_kw_m2, relative_humidity=relative_humidity,
                  ambient_k=ambient_k)
    zones = []
    for q in thresholds_kw_m2:
        r = fb.radius_for_flux_m(float(q))
        zones.append(FireballZone(float(q), "kW/m²", f"incident flux {q:g} kW/m² during the {fb.duration_s:.1f} s "
                                  "fireball", r, r is not None and r < fb.diameter_m / 2))
    # 1 % lethality: probit 2.67 → dose = 1e4 · exp((2.67 + 14.9)/2.56)
    d1 = 1e4 * math.exp((2.67 + 14.9) / 2.56)
    r1 = fb.radius_for_dose_m(d1)
    zones.append(FireballZone(round(d1, 0), "(W/m²)^(4/3)·s", "1 % lethality thermal dose (Eisenberg probit)", r1,
                              r1 is not None and r1 < fb.diameter_m / 2))
    params = {"mass_kg": float(mass_kg), "heat_of_combustion_mj_kg": heat_of_combustion_mj_kg,
              "pressure_mpa": pressure_mpa, "relative_humidity": relative_humidity, "ambient_k": ambient_k,
              "target_orientation": fb.orientation}
    return FireballResult(params, fb.diameter_m, fb.duration_s, fb.centre_height_m, fb.surface_emissive_power_kw_m2,
                          fb.sep_basis, tuple(zones))


__all__ = ["CONSTANTS", "Fireball", "FireballResult", "fireball", "fireball_diameter_m", "fireball_duration_s",
           "fireball_height_m", "fireball_zones", "radiative_fraction_roberts", "emissive_power_kw_m2",
           "transmissivity", "view_factor_sphere", "water_partial_pressure_pa"]
