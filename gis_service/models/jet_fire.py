"""Jet fire from a hole in a pressurised container — API 521 flame length, point-source radiation.

Pure, vectorised functions: ground distance (m, numpy array) in → incident flux (kW/m²) out.

Sources:

- Release rate through a hole, choked (sonic) gas flow (CCPS (2000) CPQRA §2.1.1; TNO Yellow Book ch. 2):
  ṁ = C_d A P √(γ M/(R T) · (2/(γ+1))^((γ+1)/(γ−1))) [S]; C_d = 0.62 (sharp-edged orifice) [S];
  liquid flow through a hole ṁ = C_d A √(2 ρ_l ΔP) (Bernoulli) [S].
- Flame length, API RP 521 (Hajek & Ludwig) as given in CCPS (2000) §2.2.6: L = 0.00326 (ṁ ΔH_c)^0.478
  (L m, ṁ ΔH_c in W) [S].
- Point-source radiation from the flame's centre (CCPS 2000 §2.2.6): q = τ F_r ṁ ΔH_c / (4π d²);
  radiative fraction F_r = 0.2 by default (CCPS quotes 0.15–0.35 for jet flames) [M, configurable];
  τ per Wayne (1991) as in :mod:`gis_service.models.fireball` [S].

Geometry: the hole's orientation is unknown, so the flame is taken horizontal in the worst direction:
its centre lies L/2 from the hole at the release height, and the distance to a radiation level is
measured from the hole (L/2 + distance from the centre). Validity: point source adequate beyond about
one flame length from the centre; nearer radii are marked near field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._common import Constant, ModelResult, require_positive
from .fireball import transmissivity

MODEL = "Jet fire: API 521 flame length, point-source radiation (CCPS 2000 §2.2.6)"
R_GAS = 8.314462618
DISCHARGE_COEF = 0.62
FLAME_COEF = 0.00326
FLAME_EXP = 0.478
RADIATIVE_FRACTION = 0.2
GAMMA_DEFAULT = 1.3
SRC = "CCPS (2000) Guidelines for Chemical Process QRA, 2nd ed., §2.2.6 (jet fires; API RP 521 flame length)"
SOURCES = [
    SRC,
    "API RP 521 Pressure-relieving and Depressuring Systems (Hajek & Ludwig flame length)",
    "CCPS (2000) §2.1.1 discharge rate models (choked gas flow, Bernoulli liquid flow)",
]
CONSTANTS = (
    Constant("api521_flame_length_coefficient", FLAME_COEF, "m/W^0.478", "S", SRC),
    Constant("api521_flame_length_exponent", FLAME_EXP, "1", "S", SRC),
    Constant("discharge_coefficient", DISCHARGE_COEF, "1", "S", "CCPS (2000) §2.1.1 (sharp-edged orifice)"),
    Constant("jet_radiative_fraction", RADIATIVE_FRACTION, "1", "M",
             "CCPS (2000) §2.2.6 quotes 0.15–0.35 for jet flames; 0.2 chosen, configurable"),
    Constant("heat_capacity_ratio", GAMMA_DEFAULT, "1", "M", "generic γ for hydrocarbon vapours; configurable"),
)


def hole_area_m2(diameter_m: float) -> float:
    return math.pi * require_positive("hole_diameter_m", diameter_m) ** 2 / 4.0


def choked_gas_rate_kg_s(hole_diameter_m: float, pressure_pa: float, molar_mass_g_mol: float,
                         temperature_k: float = 293.15, gamma: float = GAMMA_DEFAULT,
                         discharge_coef: float = DISCHARGE_COEF) -> float:
    """Sonic gas flow ṁ = C_d A P √(γ M/(R T) (2/(γ+1))^((γ+1)/(γ−1))) in kg/s."""
    p = require_positive("pressure_pa", pressure_pa)
    m = require_positive("molar_mass_g_mol", molar_mass_g_mol) / 1000.0
    t = require_positive("temperature_k", temperature_k)
    g = require_positive("gamma", gamma)
    return discharge_coef * hole_area_m2(hole_diameter_m) * p * math.sqrt(
        g * m / (R_GAS * t) * (2.0 / (g + 1.0)) ** ((g + 1.0) / (g - 1.0)))


def liquid_rate_kg_s(hole_diameter_m: float, overpressure_pa: float, liquid_density_kg_m3: float,
                     discharge_coef: float = DISCHARGE_COEF) -> float:
    """Bernoulli liquid flow ṁ = C_d A √(2 ρ ΔP) in kg/s."""
    return discharge_coef * hole_area_m2(hole_diameter_m) * math.sqrt(
        2.0 * require_positive("liquid_density_kg_m3", liquid_density_kg_m3)
        * require_positive("overpressure_pa", overpressure_pa))


def flame_length_m(heat_release_w):
    """API 521: L = 0.00326 · Q^0.478 (Q = ṁ ΔH_c in W)."""
    return FLAME_COEF * np.asarray(heat_release_w, dtype=float) ** FLAME_EXP


@dataclass(frozen=True)
class JetFire:
    rate_kg_s: float
    heat_of_combustion_mj_kg: float
    flame_length_m: float
    radiative_fraction: float = RADIATIVE_FRACTION
    relative_humidity: float = 0.7
    ambient_k: float = 293.15

    @property
    def heat_release_w(self) -> float:
        return self.rate_kg_s * self.heat_of_combustion_mj_kg * 1e6

    def flux_kw_m2(self, x_m):
        """Flux (kW/m²) at distance x (m) from the hole, along the flame axis (worst direction)."""
        x = np.asarray(x_m, dtype=float)
        d = np.maximum(np.abs(x - self.flame_length_m / 2.0), 1e-3)
        q = (transmissivity(d, self.relative_humidity, self.ambient_k) * self.radiative_fraction
             * self.heat_release_w / (4 * math.pi * d * d) / 1000.0)
        return float(q) if q.ndim == 0 else q

    def radius_for_flux_m(self, threshold_kw_m2: float) -> float:
        """Distance from the hole to ``threshold_kw_m2`` along the flame axis: L/2 + d(q)."""
        from scipy.optimize import brentq

        half = self.flame_length_m / 2.0
        f = lambda d: math.log(float(self.flux_kw_m2(half + d))) - math.log(threshold_kw_m2)  # noqa: E731
        hi = max(self.flame_length_m, 1.0)
        while f(hi) > 0:
            hi *= 2
        lo = 1e-3
        return half + (lo if f(lo) < 0 else brentq(f, lo, hi, xtol=1e-6))


def jet_fire(rate_kg_s: float, heat_of_combustion_mj_kg: float, *, radiative_fraction: float = RADIATIVE_FRACTION,
             relative_humidity: float = 0.7, ambient_k: float = 293.15) -> JetFire:
    m = require_positive("rate_kg_s", rate_kg_s)
    dh = require_positive("heat_of_combustion_mj_kg", heat_of_combustion_mj_kg)
    return JetFire(m, dh, float(flame_length_m(m * dh * 1e6)), radiative_fraction, relative_humidity, ambient_k)


@dataclass(frozen=True)
class JetZone:
    threshold_kw_m2: float
    radius_m: float
    near_field: bool


@dataclass(frozen=True)
class JetFireResult(ModelResult):
    parameters: dict[str, Any]
    rate_kg_s: float
    flame_length_m: float
    zones: tuple[JetZone, ...]
    constants: tuple[Constant, ...] = CONSTANTS
    sources: tuple[str, ...] = tuple(SOURCES)
    limitations: tuple[str, ...] = (
        "Point source at the flame centre: radii within one flame length of the centre are near field "
        "(a solid-flame model would be needed there).",
        "Horizontal flame in the worst direction (hole orientation unknown); drawn as a circle around the unit.",
        "Steady release rate at the initial pressure (no depressurisation): conservative for the duration.",
    )
    model: str = MODEL


def jet_fire_zones(rate_kg_s: float, heat_of_combustion_mj_kg: float, *, thresholds_kw_m2=(10.0, 5.0, 2.0),
                   radiative_fraction: float = RADIATIVE_FRACTION, rate_basis: str = "given") -> JetFireResult:
    jf = jet_fire(rate_kg_s, heat_of_combustion_mj_kg, radiative_fraction=radiative_fraction)
    zones = []
    for q in thresholds_kw_m2:
        r = jf.radius_for_flux_m(float(q))
        zones.append(JetZone(float(q), r, r < 1.5 * jf.flame_length_m))
    params = {"rate_kg_s": jf.rate_kg_s, "rate_basis": rate_basis, "heat_of_combustion_mj_kg": heat_of_combustion_mj_kg,
              "radiative_fraction": radiative_fraction, "heat_release_w": jf.heat_release_w}
    return JetFireResult(params, jf.rate_kg_s, jf.flame_length_m, tuple(zones))


__all__ = ["CONSTANTS", "JetFire", "JetFireResult", "choked_gas_rate_kg_s", "flame_length_m", "jet_fire",
           "jet_fire_zones", "liquid_rate_kg_s"]
