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

from ...models import dense_gas, explosion, fire, fireball, jet_fire, plume
from ...models._common import given
from ...models.probit import (
    MOLAR_VOLUME_L_MOL,
    concentration_in_unit,
    overpressure_probability,
    thermal_probability,
    toxic_probability,
    toxic_probit_preferring,
)
from .data import QraParams, Weather
from .loss_of_containment import OutcomeCase, Release, burning_rate_kg_m2_s

X_MIN_M = 1.0


@lru_cache(maxsize=4096)
def dense_cloud(rel: Release, w: Weather, terrain: str) -> dense_gas.DenseCloud | None:
    """The Britter–McQuaid cloud of a dense release (``models.dense_gas``), None when the release is not dense
    (substance not flagged dense, not a liquefied/cold release, or passive by the workbook's criterion)."""
    sub = rel.substance
    if not (sub.dense_gas and sub.molar_mass_g_mol and rel.props.storage == "pressurised_liquefied"):
        return None
    src = dense_gas.source_term(sub.molar_mass_g_mol, "pressurised", boiling_point_k=sub.boiling_point_k,
                                liquid_cp_kj_kg_k=sub.liquid_cp_kj_kg_k, latent_heat_kj_kg=sub.latent_heat_kj_kg)
    try:
        if rel.kind == "continuous":
            cloud = dense_gas.dense_cloud("plume", molar_mass_g_mol=sub.molar_mass_g_mol, source=src,
                                          wind_speed_m_s=w.wind_speed_m_s, stability=w.stability, terrain=terrain,
                                          rate_kg_s=rel.rate_kg_s)
        else:
            cloud = dense_gas.dense_cloud("puff", molar_mass_g_mol=sub.molar_mass_g_mol, source=src,
                                          wind_speed_m_s=w.wind_speed_m_s, stability=w.stability, terrain=terrain,
                                          mass_kg=rel.mass_kg)
    except dense_gas.OutsideValidity:
        return None
    return cloud if cloud.dense else None


def dense_mg_m3(cloud: dense_gas.DenseCloud, x, y, terrain: str) -> tuple[np.ndarray, np.ndarray]:
    """(ground concentration mg/m³, crosswind σ m) of a dense cloud: the workbook's centreline concentration with
    a Gaussian crosswind profile of the same integral as the workbook's top-hat half-width L_H (σ = 0.8·L_H) up
    to the passive hand-over, the Briggs σy at the virtual-source distance beyond it [M]."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    xs = np.maximum(x, X_MIN_M)
    c = np.asarray(cloud.ppm(xs)) * cloud.molar_mass / MOLAR_VOLUME_L_MOL
    near = xs <= cloud.handover_m  # each σ formula evaluated only where it applies (same values, less work)
    sigma = np.empty_like(xs)
    sigma[near] = 0.8 * np.asarray(cloud.half_width_m(xs[near]))
    far = ~near
    if far.any():
        sigma[far] = plume.sigma_y_m(xs[far] + max(cloud.virtual_offset_m, 0.0), cloud.stability, terrain)
    return np.where(x > 0, c * np.exp(-(y**2) / (2.0 * sigma**2)), 0.0), sigma


def concentration_mg_m3(case: OutcomeCase, w: Weather, x, y, p: QraParams,
                        memo: SigmaMemo | None = None) -> np.ndarray:
    """Ground concentration (mg/m³; the peak for an instantaneous release) of the case's cloud."""
    rel = case.release
    cloud = dense_cloud(rel, w, p.terrain)
    if cloud is not None:
        return dense_mg_m3(cloud, x, y, p.terrain)[0]
    if rel.kind == "continuous":
        return plume_mg_m3(x, y, given(rel.rate_kg_s, "rate_kg_s"), w, p.terrain, memo)
    return puff_peak_mg_m3(x, y, rel.mass_kg, w, p.terrain, memo)[0]


def lfl_mg_m3(case: OutcomeCase) -> float:
    sub = case.release.substance
    return given(case.release.props.lfl_vol_pct, "lfl_vol_pct") * 1e4 * given(sub.molar_mass_g_mol, "molar_mass_g_mol") / MOLAR_VOLUME_L_MOL


def _sigmas(x: np.ndarray, w: Weather, terrain: str, memo: SigmaMemo | None = None) -> tuple[np.ndarray, np.ndarray]:
    if memo is not None and x is memo.x:
        return memo.sigmas(w.stability, terrain)
    xs = np.maximum(x, X_MIN_M)
    return plume.sigma_y_m(xs, w.stability, terrain), plume.sigma_z_m(xs, w.stability, terrain)


class SigmaMemo:
    """Briggs σy, σz (``_sigmas``) of one array of downwind distances ``x``, per (stability, terrain), for a caller
    that evaluates many cases on the same points (a polar grid, the receptors around an installation). Used only
    when a field is asked for at that very array (``x is memo.x``); the arrays handed out are read-only. Local to
    the caller: no state outlives it."""

    def __init__(self, x: np.ndarray):
        self.x = x
        self._known: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}

    def sigmas(self, stability: str, terrain: str) -> tuple[np.ndarray, np.ndarray]:
        key = (stability, terrain)
        if key not in self._known:
            xs = np.maximum(self.x, X_MIN_M)
            sy = np.asarray(plume.sigma_y_m(xs, stability, terrain), dtype=float)
            sz = np.asarray(plume.sigma_z_m(xs, stability, terrain), dtype=float)
            sy.flags.writeable = sz.flags.writeable = False
            self._known[key] = (sy, sz)
        return self._known[key]


def plume_mg_m3(x, y, rate_kg_s: float, w: Weather, terrain: str, memo: SigmaMemo | None = None) -> np.ndarray:
    """Ground-level concentration (mg/m³) of a continuous ground release; 0 upwind (x ≤ 0)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    sy, sz = _sigmas(x, w, terrain, memo)
    q_mg_s = rate_kg_s * 1e6
    c = q_mg_s / (math.pi * w.wind_speed_m_s * sy * sz) * np.exp(-(y**2) / (2.0 * sy**2))
    return np.where(x > 0, c, 0.0)


def puff_peak_mg_m3(x, y, mass_kg: float, w: Weather, terrain: str,
                    memo: SigmaMemo | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(peak ground-level concentration mg/m³ as the puff passes, σx) of an instantaneous ground release."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    sy, sz = _sigmas(x, w, terrain, memo)
    c = 2.0 * mass_kg * 1e6 / ((2.0 * math.pi) ** 1.5 * sy * sy * sz) * np.exp(-(y**2) / (2.0 * sy**2))
    return np.where(x > 0, c, 0.0), sy


def directional(case: OutcomeCase, w: Weather, x, y, p: QraParams, memo: SigmaMemo | None = None) -> np.ndarray:
    """P(death) of a toxic or flash-fire outcome at downwind x, crosswind y (m).

    Within ``X_MIN_M`` of the release point a person is in the cloud whatever the wind: the field there takes
    its centreline value at ``X_MIN_M``. ``memo`` (optional, a :class:`SigmaMemo` of ``x``) only saves work.
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
            c = concentration_in_unit(concentration_mg_m3(case, w, x, y, p, memo), pr, m)
            t_exp = min((rel.duration_s or 0.0) / 60.0, p.toxic_exposure_cap_min)
            return toxic_probability(np.power(c, pr.n) * t_exp, pr)
        cloud = dense_cloud(rel, w, p.terrain)
        if cloud is not None:  # dense puff: top-hat passage time 2·R/u [M]
            c = concentration_in_unit(dense_mg_m3(cloud, x, y, p.terrain)[0], pr, m)
            t_min = 2.0 * np.asarray(cloud.half_width_m(np.maximum(x, X_MIN_M))) / w.wind_speed_m_s / 60.0
            return toxic_probability(np.power(c, pr.n) * np.minimum(t_min, p.toxic_exposure_cap_min), pr)
        c, sx = puff_peak_mg_m3(x, y, rel.mass_kg, w, p.terrain, memo)
        c = concentration_in_unit(c, pr, m)
        load = np.power(c, pr.n) * sx / w.wind_speed_m_s * math.sqrt(2.0 * math.pi / pr.n) / 60.0
        return toxic_probability(load, pr)
    if case.outcome == "flash_fire":
        return (concentration_mg_m3(case, w, x, y, p, memo) >= lfl_mg_m3(case)).astype(float)
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
    c = concentration_mg_m3(case, w, xs, np.zeros_like(xs), p)
    above = np.nonzero(c >= lfl_mg_m3(case))[0]
    return float(xs[above[-1]]) if above.size else 0.0


def vce_mass_kg(case: OutcomeCase, w: Weather, p: QraParams, r_max: float) -> float:
    rel = case.release
    if rel.kind == "instantaneous":
        return rel.mass_kg
    t_cloud = lfl_distance_m(case, w, p, r_max) / w.wind_speed_m_s
    return min(given(rel.rate_kg_s, "rate_kg_s") * t_cloud, rel.mass_kg)


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
        w_tnt = explosion.tnt_equivalent_kg(mass, given(sub.heat_of_combustion_mj_kg, "heat_of_combustion_mj_kg"), ground_factor=explosion.GROUND_FACTOR)
        return overpressure_probability(overpressure_kpa(r, w_tnt), p.overpressure_model)
    if case.outcome == "fireball":
        fb = fireball.fireball(rel.mass_kg, sub.heat_of_combustion_mj_kg,
                               pressure_mpa=(rel.props.pressure_bar_abs or 10.0) / 10.0)
        q = np.asarray(fb.flux_kw_m2(np.maximum(r, 1e-3))) * 1000.0
        prob = thermal_probability(q, fb.duration_s, p.thermal_model)  # for eisenberg = fb.probit
        return np.where(r <= fb.diameter_m / 2.0, 1.0, prob)  # under the fireball: lethal (CPR 18E) [M]
    if case.outcome == "jet_fire":
        jf = jet_fire.jet_fire(given(rel.rate_kg_s, "rate_kg_s"), given(sub.heat_of_combustion_mj_kg, "heat_of_combustion_mj_kg"))
        q = np.asarray(jf.flux_kw_m2(r)) * 1000.0  # along the flame axis, every direction (conservative) [M]
        return np.where(r <= jf.flame_length_m, 1.0, thermal_probability(q, p.fire_exposure_s, p.thermal_model))
    if case.outcome == "pool_fire":
        area = case.pool_area_m2
        qdot_kw = fire.heat_release_rate_kw(burning_rate_kg_m2_s(sub), area, given(sub.heat_of_combustion_mj_kg, "heat_of_combustion_mj_kg"))
        q1 = fire.heat_flux_kw_m2(1.0, qdot_kw)  # point source: q(r) = q(1 m) / r²
        rr = np.maximum(r, 1e-3)
        prob = thermal_probability(q1 / rr**2 * 1000.0, p.fire_exposure_s, p.thermal_model)
        return np.where(r <= math.sqrt(area / math.pi), 1.0, prob)
    raise ValueError(f"no radial model for outcome {case.outcome!r}")


SOURCES = (
    "Gaussian plume / puff with Briggs (1973) σ (models.plume); TNO Yellow Book CPR 14E puff dose form",
    "TNT equivalence with the Kingery–Bulmash surface-burst fit, Swisdak (1994) (models.explosion), ground factor 1",
    "Point-source pool-fire radiation (models.fire), per-substance burning rates (Babrauskas 1983, "
    "data/burning_rates.csv), else 0.055 kg/m²/s (gasoline) [M]",
    "BLEVE fireball (models.fireball: CCPS 2000 §2.2.4, Roberts 1981) and jet fire (models.jet_fire: API 521 "
    "flame length, CCPS 2000 §2.2.6) with the Eisenberg probit",
    "Dense clouds of pressurised liquefied dense gases: Britter & McQuaid (1988) workbook (models.dense_gas)",
)
LIMITATIONS = (
    "Dense releases (pressurised liquefied dense gases) use the Britter–McQuaid centreline with a Gaussian "
    "crosswind profile of the workbook's width [M]; continuous releases as plumes, instantaneous as puffs "
    "(the workbook's intermediate regime is not used); other releases a Gaussian plume/puff.",
    "Jet fires radiate as if aimed at every point (flux along the flame axis in all directions: conservative).",
    "Pressurised liquefied releases go entirely to the air (no rain-out or pool); liquid-toxic pool evaporation is "
    "not modelled (those toxic outcomes are listed as skipped).",
    "Explosions are centred at the release point (not at the drifted cloud centre).",
)
