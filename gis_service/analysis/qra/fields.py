"""Lethality fields of one outcome case in one weather class (pure, vectorised over points).

Coordinates are local metres with the release at (0, 0): ``x`` downwind, ``y`` crosswind (directional outcomes)
or ``r`` the distance (radial outcomes). Every function returns P(death) of a person outdoors, unprotected
(the GB 36894 definition of individual risk).

- Toxic, continuous release: Gaussian plume with ground reflection (``models.plume``, Briggs σ), constant
  concentration for the exposure time t = min(release duration, cap) (CPR 18E: 30 min) → toxic load Cⁿ·t.
- Toxic, instantaneous release: Gaussian puff at ground level with σx = σy (the plume's Briggs σ at the same x,
  an approximation [M]); the load ∫Cⁿ dt = C_peakⁿ·σx/u·√(2π/n) (TNO Yellow Book CPR 14E §4 puff form) [S].
- Flash fire: lethality 1 where the (peak) concentration reaches the LFL (CPR 18E §5) [M].
- VCE: TNT equivalence (``models.explosion``, surface burst: ground factor 1, no 1.8 on the Kingery–Bulmash
  surface-burst fit), flammable mass = the instantaneous mass, or rate × time for the plume to reach its LFL
  distance; explosion centred at the release point [M]. Lethality per ``overpressure_model``.
- Pool fire: point-source radiation (``models.fire``), Q̇ = burning rate × pool area × ΔH_c, lethality 1 inside
  the pool, Eisenberg probit for ``fire_exposure_s`` outside (CPR 18E: 20 s).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ...models import explosion, fire, plume
from ...models.probit import (
    MOLAR_VOLUME_L_MOL,
    concentration_in_unit,
    overpressure_probability,
    thermal_probability,
    toxic_probability,
    toxic_probit_preferring,
)
from .data import QraParams, Weather
from .scenarios import OutcomeCase

DEFAULT_BURNING_RATE_KG_M2_S = 0.055  # Babrauskas (1983) gasoline [M], as in analysis.scenarios
X_MIN_M = 1.0


def unavailable(outcome: str) -> str | None:
    """Why an outcome has no field model in this build (None = it has one)."""
    if outcome in ("fireball", "jet_fire"):
        return (f"{outcome.replace('_', ' ')} model not available yet (BLEVE fireball / jet fire consequence "
                "models are being added by the science issue); scenario skipped")
    return None


def lfl_mg_m3(case: OutcomeCase) -> float:
    sub = case.release.substance
    return case.release.props.lfl_vol_pct * 1e4 * sub.molar_mass_g_mol / MOLAR_VOLUME_L_MOL


def _sigmas(x: np.ndarray, w: Weather, terrain: str) -> tuple[np.ndarray, np.ndarray]:
    xs = np.maximum(x, X_MIN_M)
    return plume.sigma_y_m(xs, w.stability, terrain), plume.sigma_z_m(xs, w.stability, terrain)


def plume_mg_m3(x, y, rate_kg_s: float, w: Weather, terrain: str) -> np.ndarray:
    """Ground-level concentration (mg/m³) of a continuous ground release; 0 upwind (x ≤ 0)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    sy, sz = _sigmas(x, w, terrain)
    q_mg_s = rate_kg_s * 1e6
    c = q_mg_s / (math.pi * w.wind_speed_m_s * sy * sz) * np.exp(-(y**2) / (2.0 * sy**2))
    return np.where(x > 0, c, 0.0)


def puff_peak_mg_m3(x, y, mass_kg: float, w: Weather, terrain: str) -> tuple[np.ndarray, np.ndarray]:
    """(peak ground-level concentration mg/m³ as the puff passes, σx) of an instantaneous ground release."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    sy, sz = _sigmas(x, w, terrain)
    c = 2.0 * mass_kg * 1e6 / ((2.0 * math.pi) ** 1.5 * sy * sy * sz) * np.exp(-(y**2) / (2.0 * sy**2))
    return np.where(x > 0, c, 0.0), sy


def directional(case: OutcomeCase, w: Weather, x, y, p: QraParams) -> np.ndarray:
    """P(death) of a toxic or flash-fire outcome at downwind x, crosswind y (m).

    Within ``X_MIN_M`` of the release point a person is in the cloud whatever the wind: the field there takes
    its centreline value at ``X_MIN_M``.
    """
    rel = case.release
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    at_source = np.hypot(x, y) < X_MIN_M
    if at_source.any():
        x = np.where(at_source, X_MIN_M, x)
        y = np.where(at_source, 0.0, y)
    if case.outcome == "toxic":
        pr = toxic_probit_preferring(rel.substance.key, p.probit_set)
        m = rel.substance.molar_mass_g_mol
        if rel.kind == "continuous":
            c = concentration_in_unit(plume_mg_m3(x, y, rel.rate_kg_s, w, p.terrain), pr, m)
            t_min = min(rel.duration_s / 60.0, p.toxic_exposure_cap_min)
            return toxic_probability(np.power(c, pr.n) * t_min, pr)
        c, sx = puff_peak_mg_m3(x, y, rel.mass_kg, w, p.terrain)
        c = concentration_in_unit(c, pr, m)
        load = np.power(c, pr.n) * sx / w.wind_speed_m_s * math.sqrt(2.0 * math.pi / pr.n) / 60.0
        return toxic_probability(load, pr)
    if case.outcome == "flash_fire":
        lfl = lfl_mg_m3(case)
        if rel.kind == "continuous":
            c = plume_mg_m3(x, y, rel.rate_kg_s, w, p.terrain)
        else:
            c, _ = puff_peak_mg_m3(x, y, rel.mass_kg, w, p.terrain)
        return (c >= lfl).astype(float)
    raise ValueError(f"{case.outcome} is not a directional outcome")


@lru_cache(maxsize=1)
def _kb_table() -> tuple[np.ndarray, np.ndarray]:
    lo, hi = explosion.z_range()
    zs = np.geomspace(lo, hi, 4000)
    ps = np.array([explosion.overpressure_at_scaled_distance_kpa(z) for z in zs])
    return np.log(zs), np.log(ps)


def overpressure_kpa(r, w_tnt_kg: float) -> np.ndarray:
    """Kingery–Bulmash surface-burst overpressure (kPa) at distances r (vectorised by log–log interpolation of
    ``models.explosion``'s fit; closer than Z = 0.2 held at the Z = 0.2 value, beyond Z = 198.5 zero)."""
    r = np.asarray(r, dtype=float)
    lz, lp = _kb_table()
    z = np.maximum(r, 1e-9) / w_tnt_kg ** (1.0 / 3.0)
    out = np.exp(np.interp(np.log(np.maximum(z, math.exp(lz[0]))), lz, lp))
    return np.where(z <= math.exp(lz[-1]), out, 0.0)


def lfl_distance_m(case: OutcomeCase, w: Weather, p: QraParams, r_max: float) -> float:
    """Farthest centreline distance at which a continuous release's plume still reaches the LFL."""
    xs = np.geomspace(X_MIN_M, max(r_max, 10.0) * 5, 600)
    c = plume_mg_m3(xs, 0.0, case.release.rate_kg_s, w, p.terrain)
    above = np.nonzero(c >= lfl_mg_m3(case))[0]
    return float(xs[above[-1]]) if above.size else 0.0


def vce_mass_kg(case: OutcomeCase, w: Weather, p: QraParams, r_max: float) -> float:
    rel = case.release
    if rel.kind == "instantaneous":
        return rel.mass_kg
    t_cloud = lfl_distance_m(case, w, p, r_max) / w.wind_speed_m_s
    return min(rel.rate_kg_s * t_cloud, rel.mass_kg)


def weather_dependent(case: OutcomeCase) -> bool:
    return case.directional or (case.outcome == "vce" and case.release.kind == "continuous")


def radial(case: OutcomeCase, w: Weather, r, p: QraParams, r_max: float) -> np.ndarray:
    """P(death) of a radially symmetric outcome at distances r (m)."""
    rel = case.release
    sub = rel.substance
    r = np.asarray(r, dtype=float)
    if case.outcome == "vce":
        mass = vce_mass_kg(case, w, p, r_max)
        if mass <= 0:
            return np.zeros_like(r)
        w_tnt = explosion.tnt_equivalent_kg(mass, sub.heat_of_combustion_mj_kg, ground_factor=1.0)
        return overpressure_probability(overpressure_kpa(r, w_tnt), p.overpressure_model)
    if case.outcome == "pool_fire":
        area = case.pool_area_m2
        qdot_kw = fire.heat_release_rate_kw(DEFAULT_BURNING_RATE_KG_M2_S, area, sub.heat_of_combustion_mj_kg)
        q1 = fire.heat_flux_kw_m2(1.0, qdot_kw)  # point source: q(r) = q(1 m) / r²
        rr = np.maximum(r, 1e-3)
        prob = thermal_probability(q1 / rr**2 * 1000.0, p.fire_exposure_s)
        return np.where(r <= math.sqrt(area / math.pi), 1.0, prob)
    raise ValueError(f"no radial model for outcome {case.outcome!r}")


SOURCES = (
    "Gaussian plume / puff with Briggs (1973) σ (models.plume); TNO Yellow Book CPR 14E puff dose form",
    "TNT equivalence with the Kingery–Bulmash surface-burst fit, Swisdak (1994) (models.explosion), ground factor 1",
    "Point-source pool-fire radiation (models.fire), burning rate 0.055 kg/m²/s (Babrauskas 1983, gasoline) [M]",
)
LIMITATIONS = (
    "Gaussian plume/puff for every gas: dense clouds (chlorine, ammonia, LPG, …) are not yet modelled with a "
    "heavy-gas model; near-field concentrations of dense releases are unreliable.",
    "Pressurised liquefied releases go entirely to the air (no rain-out or pool); liquid-toxic pool evaporation is "
    "not modelled (those toxic outcomes are listed as skipped).",
    "Explosions are centred at the release point (not at the drifted cloud centre).",
    "BLEVE fireball and jet fire outcomes are listed as skipped until their consequence models are available.",
)
