"""Dense-gas dispersion — Britter & McQuaid (1988) workbook correlations, with the passive hand-over.

Pure, vectorised functions (numpy arrays of downwind distance in, concentration out) so that a
quantitative risk assessment can evaluate them on grids.

Source: Britter R.E., McQuaid J. (1988) *Workbook on the Dispersion of Dense Gases*, HSE Contract
Research Report 17/1988, as tabulated in CCPS (2000) *Guidelines for Chemical Process Quantitative
Risk Analysis*, 2nd ed., §2.1.3 and CCPS (1999) *Guidelines for Consequence Analysis of Chemical
Releases* (table ``data/britter_mcquaid_1988.csv``). Ground-level release of a dense gas:

- reduced gravity g₀′ = g (ρ₀ − ρₐ)/ρₐ; plume length scale D_c = (q₀/u)^½, puff scale V₀^⅓;
- regime by the workbook's criterion: continuous if u·R_d/x ≥ 2.5, instantaneous if u·R_d/x ≤ 0.6,
  in between both are computed and the lower concentration is taken (R_d release duration, x the
  downwind distance of interest) [S];
- dense if (g₀′ q₀ / (u³ D_c))^⅓ ≥ 0.15 (plume) or (g₀′ V₀^⅓)^½ / u ≥ 0.20 (puff) [S]; otherwise the
  release is passive and the Gaussian model applies (the caller switches);
- plume α = log₁₀[(g₀′² q₀/u⁵)^⅕], β = log₁₀[x/(q₀/u)^½]; puff α = log₁₀[(g₀′ V₀^⅓/u²)^½],
  β = log₁₀[x/V₀^⅓]; β(α) piecewise linear per C/C₀ level, log₁₀(C/C₀) interpolated linearly in β
  between levels [S];
- validity: α ≤ 1 (larger α is evaluated at α = 1 and flagged), u₁₀ ≥ 1 m/s, ground-level,
  flat unobstructed terrain; the workbook reports agreement with field trials mostly within a factor
  of 2 [S].

Source term for liquefied gases [M, stated in every result]: the cloud starts at the normal boiling
point T_b; the flashed fraction φ = c_p (T_a − T_b)/h_fg and twice as much airborne as aerosol
(the common "2 × flash" rule), so the initial cloud density is ρ₀ = ρ_v(T_b)·min(1/φ, 2); compressed
gases start at ambient temperature. Volume fraction → ppm at ambient temperature through the mass
concentration (c = ρ₀·C/C₀), which is the workbook's non-isothermal correction
C = C*/(C* + (1 − C*) T₀/T_a) with the aerosol included.

Beyond the last tabulated level (C/C₀ = 0.002 plume, 0.001 puff) the concentration is the larger
of (a) the far-field decay ∝ x⁻² from the last level (as CCPS's and TSCREEN's implementations extend
the nomograms) and (b) a passive Gaussian plume (puff, Briggs σ) from a virtual source placed so that
the concentrations match at the hand-over distance [M: both are extensions; the workbook's
correlations end at the last level]. The larger is taken so that the hand-over never shortens a zone. Inside the first level (C/C₀ > 0.1) the first two levels
are extrapolated in log space, capped at C/C₀ = 1 [M].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.optimize import brentq

from ._common import Constant, ModelResult, load_table, opt_float, require_positive
from ._common import given as _given
from .plume import sigma_y_m, sigma_z_m

MODEL = "Britter–McQuaid (1988) dense-gas workbook correlations"
G = 9.81
R_GAS = 8.314462618
P_ATM = 101_325.0
M_AIR = 28.96  # g/mol
MOLAR_VOLUME_L_MOL = 24.45
CONTINUOUS_LIMIT = 2.5
INSTANTANEOUS_LIMIT = 0.6
PLUME_DENSE_LIMIT = 0.15
PUFF_DENSE_LIMIT = 0.20
ALPHA_MAX = 1.0
MIN_WIND_M_S = 1.0
AEROSOL_FACTOR = 2.0
SOURCE = ("Britter R.E., McQuaid J. (1988) Workbook on the Dispersion of Dense Gases, HSE CRR 17/1988; "
          "correlations as tabulated in CCPS (2000) Guidelines for Chemical Process QRA §2.1.3")
SOURCES = [
    SOURCE,
    "CCPS (1999) Guidelines for Consequence Analysis of Chemical Releases (Britter–McQuaid method)",
    "US EPA (1994) User's Guide to TSCREEN, EPA-454/B-94-023 (digitised Britter–McQuaid nomograms)",
]
CONSTANTS = (
    Constant("continuous_criterion_u_Rd_over_x", CONTINUOUS_LIMIT, "1", "S", SOURCE),
    Constant("instantaneous_criterion_u_Rd_over_x", INSTANTANEOUS_LIMIT, "1", "S", SOURCE),
    Constant("plume_dense_criterion", PLUME_DENSE_LIMIT, "1", "S", SOURCE),
    Constant("puff_dense_criterion", PUFF_DENSE_LIMIT, "1", "S", SOURCE),
    Constant("beta_alpha_correlations", "data/britter_mcquaid_1988.csv", "1", "S", SOURCE),
    Constant("aerosol_airborne_factor", AEROSOL_FACTOR, "× flash fraction", "M",
             "'2 × flash fraction airborne' convention for flashing liquefied gases (CCPS / TNO Yellow Book practice), "
             "not confirmed; configurable"),
    Constant("far_field_extension", "max(x^-2 decay, passive Gaussian from a virtual source)", "-", "M",
             "extension beyond C/C0 = 0.002 (plume) / 0.001 (puff), where the workbook's correlations end "
             "(x^-2 decay as in the TSCREEN / CCPS implementations; Gaussian hand-over as in ALOHA/DEGADIS practice)"),
    Constant("minimum_wind_speed", MIN_WIND_M_S, "m/s", "M",
             "lowest 10-m wind accepted by the correlations here (field trials mostly 1.5–10 m/s)"),
)


class OutsideValidity(ValueError):
    """A release outside the workbook's validity (wind, size, density): the reason names the parameter."""


# -- correlations -----------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _segments() -> dict[str, dict[float, tuple[tuple[float, float, float, float], ...]]]:
    out: dict[str, dict[float, list[tuple[float, float, float, float]]]] = {}
    for r in load_table("britter_mcquaid_1988.csv"):
        lo, hi = opt_float(r["alpha_lo"]), opt_float(r["alpha_hi"])
        seg = (-math.inf if lo is None else lo, math.inf if hi is None else hi, float(r["slope"]),
               float(r["intercept"]))
        out.setdefault(r["release"], {}).setdefault(float(r["c_ratio"]), []).append(seg)
    return {k: {c: tuple(v) for c, v in sorted(d.items(), reverse=True)} for k, d in out.items()}


def levels(release: str) -> list[float]:
    """The tabulated C/C₀ levels, highest first."""
    return list(_segments()[release])


def beta_of_alpha(release: str, c_ratio: float, alpha):
    """β at the tabulated level ``c_ratio`` for α (array-friendly); ``release`` is 'plume' or 'puff'."""
    a = np.asarray(alpha, dtype=float)
    out = np.full(a.shape, np.nan)
    for lo, hi, slope, icpt in _segments()[release][float(c_ratio)]:
        m = (a > lo) & (a <= hi)
        out[m] = slope * a[m] + icpt
    return float(out) if out.ndim == 0 else out


def _betas(release: str, alpha: float) -> list[float]:
    """β of every tabulated level (highest C/C₀ first) at one scalar α: :func:`beta_of_alpha` per level in plain
    floats (the same products and sums, so the same values), without a numpy round trip per level."""
    out = []
    for segs in _segments()[release].values():
        beta = math.nan
        for lo, hi, slope, icpt in segs:
            if lo < alpha <= hi:
                beta = slope * alpha + icpt
        out.append(beta)
    return out


def plume_alpha(g0: float, q0_m3_s: float, u: float) -> float:
    """α = log₁₀[(g₀′² q₀ / u⁵)^⅕] of a continuous release."""
    return 0.2 * math.log10(g0 * g0 * q0_m3_s / u**5)


def puff_alpha(g0: float, v0_m3: float, u: float) -> float:
    """α = log₁₀[(g₀′ V₀^⅓ / u²)^½] of an instantaneous release."""
    return 0.5 * math.log10(g0 * v0_m3 ** (1.0 / 3.0) / (u * u))


def plume_density_number(g0: float, q0_m3_s: float, u: float) -> float:
    """(g₀′ q₀ / (u³ D_c))^⅓ with D_c = (q₀/u)^½; dense if ≥ 0.15."""
    dc = math.sqrt(q0_m3_s / u)
    return (g0 * q0_m3_s / (u**3 * dc)) ** (1.0 / 3.0)


def puff_density_number(g0: float, v0_m3: float, u: float) -> float:
    """(g₀′ V₀^⅓)^½ / u; dense if ≥ 0.20."""
    return math.sqrt(g0 * v0_m3 ** (1.0 / 3.0)) / u


def regime(x_m, u: float, duration_s: float):
    """'continuous' (u·R_d/x ≥ 2.5), 'instantaneous' (≤ 0.6) or 'intermediate' per distance."""
    x = np.asarray(x_m, dtype=float)
    r = u * duration_s / x
    out = np.where(r >= CONTINUOUS_LIMIT, "continuous", np.where(r <= INSTANTANEOUS_LIMIT, "instantaneous",
                                                                  "intermediate"))
    return str(out) if out.ndim == 0 else out


def concentration_ratio(release: str, x_scaled, alpha: float):
    """C/C₀ at scaled distance x′ (= x/D_c for a plume, x/V₀^⅓ for a puff) from the correlations.

    Between levels log₁₀(C/C₀) is linear in β = log₁₀ x′; nearer than the first level the first two
    levels are extrapolated (capped at 1); beyond the last level the result is NaN (passive range).
    """
    a = min(float(alpha), ALPHA_MAX)
    lv = levels(release)
    betas = np.array(_betas(release, a))
    logc = np.log10(lv)
    b = np.log10(np.maximum(np.asarray(x_scaled, dtype=float), 1e-12))
    # betas increase as C/C0 falls (monotone by construction of the workbook's nomograms)
    out = np.interp(b, betas, logc, left=np.nan, right=np.nan)
    near = b < betas[0]
    if np.any(near):
        slope = (logc[1] - logc[0]) / (betas[1] - betas[0])
        out = np.where(near, np.minimum(0.0, logc[0] + slope * (b - betas[0])), out)
    res = 10.0 ** out
    return float(res) if np.ndim(res) == 0 else res


# -- source term ------------------------------------------------------------------------------------

def gas_density_kg_m3(molar_mass_g_mol: float, temperature_k: float, pressure_pa: float = P_ATM) -> float:
    """Ideal-gas density ρ = P·M/(R·T)."""
    return pressure_pa * molar_mass_g_mol / 1000.0 / (R_GAS * temperature_k)


@dataclass(frozen=True)
class SourceTerm:
    storage: str
    temperature_k: float
    flash_fraction: float | None
    density_kg_m3: float
    air_density_kg_m3: float
    reduced_gravity_m_s2: float
    note: str
    ambient_k: float = 293.15


def source_term(molar_mass_g_mol: float, storage: str, *, ambient_k: float = 293.15,
                boiling_point_k: float | None = None, liquid_cp_kj_kg_k: float | None = None,
                latent_heat_kj_kg: float | None = None, aerosol_factor: float = AEROSOL_FACTOR) -> SourceTerm:
    """Initial cloud temperature, density (incl. airborne aerosol) and reduced gravity of a release."""
    m = require_positive("molar_mass_g_mol", molar_mass_g_mol)
    ta = require_positive("ambient_k", ambient_k)
    rho_a = gas_density_kg_m3(M_AIR, ta)
    phi = None
    if storage in ("pressurised", "refrigerated") and boiling_point_k and boiling_point_k < ta:
        t0 = boiling_point_k
        rho_v = gas_density_kg_m3(m, t0)
        if storage == "pressurised" and liquid_cp_kj_kg_k and latent_heat_kj_kg:
            phi = min(1.0, liquid_cp_kj_kg_k * (ta - t0) / latent_heat_kj_kg)
            rho0 = rho_v * min(1.0 / phi, aerosol_factor)
            note = (f"flashing liquefied gas: flash fraction φ = {phi:.3f}, cloud at T_b = {t0:g} K with "
                    f"min(2φ, 1) of the release airborne → ρ₀ = {rho0:.3g} kg/m³")
        else:
            rho0 = rho_v
            note = f"cold vapour at the boiling point T_b = {t0:g} K → ρ₀ = {rho0:.3g} kg/m³ (no aerosol)"
    else:
        t0 = ta
        rho0 = gas_density_kg_m3(m, ta)
        note = f"gas at ambient temperature {ta:g} K → ρ₀ = {rho0:.3g} kg/m³"
    return SourceTerm(storage, t0, phi, rho0, rho_a, G * (rho0 - rho_a) / rho_a, note, ta)


# -- concentrations -----------------------------------------------------------------------------------

def _ppm(c_ratio, rho0: float, molar_mass: float, ambient_k: float):
    """C/C₀ → ppm at ambient temperature via the mass concentration ρ₀·C/C₀ (capped at 10⁶)."""
    rho_pure = gas_density_kg_m3(molar_mass, ambient_k)
    return np.minimum(1e6, 1e6 * np.asarray(c_ratio) * rho0 / rho_pure)


def _gauss_plume_ground(x, rate_g_s, u, stability, terrain):
    sy = sigma_y_m(x, stability, terrain)
    sz = sigma_z_m(x, stability, terrain)
    return rate_g_s / (math.pi * u * np.asarray(sy) * np.asarray(sz))


def _gauss_puff_ground(x, mass_g, stability, terrain):
    sy = np.asarray(sigma_y_m(x, stability, terrain))
    sz = np.asarray(sigma_z_m(x, stability, terrain))
    return 2.0 * mass_g / ((2.0 * math.pi) ** 1.5 * sy * sy * sz)


def _virtual_offset(fn, x_hand: float, c_hand: float) -> float:
    """Offset xv so that fn(x_hand + xv) = c_hand (fn decreasing in distance); clipped to the searchable range."""
    lo = -x_hand + 1e-3 * max(x_hand, 1.0)

    def f(xv: float) -> float:
        v = float(fn(x_hand + xv))
        return math.log(v) - math.log(c_hand) if v > 0 and math.isfinite(v) else -math.inf

    if f(lo) <= 0:  # even at the source the Gaussian is lower: start it at the hand-over point
        return lo
    hi = max(x_hand, 10.0)
    while f(hi) > 0:
        if hi > 1e7:  # the passive plume never falls to the hand-over level: the x⁻² extension governs
            return hi
        hi *= 4
    return brentq(f, lo, hi, xtol=1e-6)


@dataclass(frozen=True)
class DenseCloud:
    """Everything needed to evaluate one dense release at any distance (see :func:`dense_cloud`)."""

    release: str  # 'plume' or 'puff'
    alpha: float
    alpha_clamped: bool
    scale_m: float  # D_c (plume) or V0^(1/3) (puff)
    density_number: float
    dense: bool
    handover_m: float
    handover_ppm: float
    virtual_offset_m: float
    rho0: float
    g0: float
    q0_m3_s: float | None
    v0_m3: float | None
    rate_kg_s: float | None
    mass_kg: float | None
    u: float
    stability: str
    terrain: str
    molar_mass: float
    ambient_k: float

    def ppm(self, x_m):
        """Ground-level centreline concentration (ppm) at downwind distance x (m), array in → array out."""
        x = np.asarray(x_m, dtype=float)
        xs = np.maximum(x, 1e-6)
        far = xs > self.handover_m
        if np.ndim(xs) and far.any():  # the correlations only where they hold (the far field is set below)
            ppm = np.zeros(xs.shape)
            ppm[~far] = self._correlation_ppm(xs[~far])
        else:
            ppm = self._correlation_ppm(xs)
        if np.any(far):
            xf = xs[far] if np.ndim(xs) else xs
            g = (_gauss_plume_ground(xf + self.virtual_offset_m, _given(self.rate_kg_s) * 1000.0, self.u,
                                     self.stability, self.terrain) if self.release == "plume"
                 else _gauss_puff_ground(xf + self.virtual_offset_m, _given(self.mass_kg) * 1000.0, self.stability,
                                         self.terrain))
            gp = np.asarray(g) * 1000.0 * MOLAR_VOLUME_L_MOL / self.molar_mass  # g/m³ → mg/m³ → ppm
            # the larger of the workbook's far-field x⁻² decay from the last level and the passive Gaussian
            gp = np.maximum(gp, self.handover_ppm * (self.handover_m / xf) ** 2)
            if np.ndim(ppm):
                ppm = np.array(ppm, dtype=float)
                ppm[far] = gp
            else:
                ppm = gp
        return float(ppm) if np.ndim(ppm) == 0 else ppm

    def _correlation_ppm(self, xs):
        """The workbook correlations' concentration (ppm; 0 beyond the last level) at distances xs (m)."""
        ratio = concentration_ratio(self.release, xs / self.scale_m, self.alpha)
        return _ppm(np.nan_to_num(ratio, nan=0.0), self.rho0, self.molar_mass, self.ambient_k)

    def ppm_xy(self, x_m, y_m):
        """Ground-level concentration (ppm) at downwind x and crosswind y (m), arrays broadcast.

        Near field (x ≤ hand-over): the workbook's top-hat — the centreline value across the half-width
        :meth:`half_width_m`, zero outside [S: top-hat cloud of the workbook]. Beyond: a Gaussian crosswind
        profile exp(−y²/2σy²(x + x_v)) on the centreline value [M: passive far field]."""
        x, y = np.broadcast_arrays(np.asarray(x_m, dtype=float), np.asarray(y_m, dtype=float))
        c = np.asarray(self.ppm(x.ravel())).reshape(x.shape)
        near = x <= self.handover_m
        top = np.where(np.abs(y) <= self.half_width_m(x), c, 0.0)
        sy = np.asarray(sigma_y_m(np.maximum(x + max(self.virtual_offset_m, 0.0), 1e-3), self.stability,
                                  self.terrain))
        far = c * np.exp(-(y * y) / (2.0 * sy * sy))
        out = np.where(near, top, far)
        return float(out) if out.ndim == 0 else out

    def half_width_m(self, x_m):
        """Plume half-width (m): workbook L_H = D_c + 8 l_b + 2.5 l_b^⅓ x^⅔ with l_b = g₀′q₀/u³ (plume) [M];
        puff radius R = (R₀² + 1.2 (g₀′V₀)^½ t)^½ at t = x/(0.4 u) for a puff [M]."""
        x = np.asarray(x_m, dtype=float)
        if self.release == "plume":
            lb = self.g0 * _given(self.q0_m3_s) / self.u**3
            return self.scale_m + 8 * lb + 2.5 * lb ** (1 / 3) * np.maximum(x, 0) ** (2 / 3)
        v0 = _given(self.v0_m3)
        r0 = (3 * v0 / (4 * math.pi)) ** (1 / 3)
        t = np.maximum(x, 0) / (0.4 * self.u)
        return np.sqrt(r0 * r0 + 1.2 * math.sqrt(self.g0 * v0) * t)


def dense_cloud(release: str, *, molar_mass_g_mol: float, source: SourceTerm, wind_speed_m_s: float,
                stability: str, terrain: str = "rural", rate_kg_s: float | None = None,
                mass_kg: float | None = None) -> DenseCloud:
    """Set up a Britter–McQuaid plume (``rate_kg_s``) or puff (``mass_kg``) and its passive hand-over.

    Raises :class:`OutsideValidity` naming the parameter when the wind is below 1 m/s or the cloud is not
    denser than air. ``DenseCloud.dense`` says whether the workbook's criterion calls it dense at all.
    """
    u = require_positive("wind_speed_m_s", wind_speed_m_s)
    if u < MIN_WIND_M_S:
        raise OutsideValidity(f"wind_speed_m_s = {u:g} is below the range of the dense-gas correlations "
                              f"(≥ {MIN_WIND_M_S:g} m/s)")
    if source.density_kg_m3 <= source.air_density_kg_m3:
        raise OutsideValidity(f"initial cloud density {source.density_kg_m3:.3g} kg/m³ is not above the air's "
                              f"{source.air_density_kg_m3:.3g} kg/m³: not a dense gas")
    g0 = source.reduced_gravity_m_s2
    rho0 = source.density_kg_m3
    if release == "plume":
        rate = require_positive("rate_kg_s", rate_kg_s)
        q0 = rate / rho0
        scale = math.sqrt(q0 / u)
        alpha = plume_alpha(g0, q0, u)
        number = plume_density_number(g0, q0, u)
        dense = number >= PLUME_DENSE_LIMIT
        v0 = None
        mass = None
    elif release == "puff":
        mass = require_positive("mass_kg", mass_kg)
        v0 = mass / rho0
        scale = v0 ** (1 / 3)
        alpha = puff_alpha(g0, v0, u)
        number = puff_density_number(g0, v0, u)
        dense = number >= PUFF_DENSE_LIMIT
        q0 = None
        rate = None
    else:
        raise ValueError(f"release must be 'plume' or 'puff' (got {release!r})")
    last = levels(release)[-1]
    beta_last = beta_of_alpha(release, last, min(alpha, ALPHA_MAX))
    x_hand = 10.0**beta_last * scale
    c_hand = float(_ppm(last, rho0, molar_mass_g_mol, source.ambient_k))
    cloud = DenseCloud(release, alpha, alpha > ALPHA_MAX, scale, number, dense, x_hand, c_hand, 0.0, rho0, g0, q0, v0, rate,
                       mass, u, stability, terrain, molar_mass_g_mol, source.ambient_k)
    c_hand_g = c_hand * molar_mass_g_mol / MOLAR_VOLUME_L_MOL / 1e3  # ppm → g/m³
    if release == "plume":
        rate_g_s = _given(rate) * 1000.0
        fn = lambda x: _gauss_plume_ground(x, rate_g_s, u, stability, terrain)  # noqa: E731
    else:
        mass_g = _given(mass) * 1000.0
        fn = lambda x: _gauss_puff_ground(x, mass_g, stability, terrain)  # noqa: E731
    xv = _virtual_offset(fn, x_hand, c_hand_g)
    return DenseCloud(**{**cloud.__dict__, "virtual_offset_m": xv})


def release_ppm(x_m, *, plume: DenseCloud | None, puff: DenseCloud | None, duration_s: float, y_m=None):
    """Concentration (ppm) at x (and crosswind y, default the centreline) choosing plume / puff by the
    workbook's u·R_d/x criterion; in the intermediate range the lower of the two (the workbook's rule).
    Arrays in → array out (x and y broadcast)."""
    x = np.asarray(x_m, dtype=float)

    def conc(cloud: DenseCloud):
        return np.asarray(cloud.ppm(x) if y_m is None else cloud.ppm_xy(x, y_m))

    if puff is None:
        return conc(_given(plume))
    if plume is None:
        return conc(puff)
    u = plume.u
    cp, cf = conc(plume), conc(puff)
    x = np.broadcast_to(x, cp.shape)
    r = u * duration_s / np.maximum(x, 1e-9)
    out = np.where(r >= CONTINUOUS_LIMIT, cp, np.where(r <= INSTANTANEOUS_LIMIT, cf, np.minimum(cp, cf)))
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class DenseGasSummary(ModelResult):
    """JSON-safe record of the dense-gas set-up for a result (inputs, criteria, why this model)."""

    model: str
    why: str
    parameters: dict[str, Any]
    constants: tuple[Constant, ...] = CONSTANTS
    sources: tuple[str, ...] = tuple(SOURCES)


__all__ = [
    "CONSTANTS", "DenseCloud", "DenseGasSummary", "MODEL", "OutsideValidity", "SourceTerm", "beta_of_alpha",
    "concentration_ratio", "dense_cloud", "gas_density_kg_m3", "levels", "plume_alpha", "plume_density_number",
    "puff_alpha", "puff_density_number", "regime", "release_ppm", "source_term",
]
