"""Toxic release — steady Gaussian plume with ground reflection, and ALOHA-style threat zones.

C(x,y,z) = Q / (2π u σy σz) · exp(−y²/2σy²) · [exp(−(z−H)²/2σz²) + exp(−(z+H)²/2σz²)]
(Q g/s, u m/s, H release height m, C g/m³).

Sources:

- Gaussian plume with image source for ground reflection (Turner 1970, Workbook of Atmospheric
  Dispersion Estimates; CCPS 1999 Guidelines for Consequence Analysis of Chemical Releases).
- Dispersion coefficients: Briggs (1973) open-country (rural) and urban curves,
  ``data/briggs_sigma.csv`` (rural [V] urban confirmed against the CCPS-1999
  tabulation as implemented in GasDispersion.jl).
- ppm ↔ mg/m³ with the molar volume 24.45 L/mol (25 °C, 1 atm).
- Levels of concern, ALOHA convention: red = AEGL-3, orange = AEGL-2, yellow = AEGL-1 (60 min),
  falling back to ERPG-3/2/1 when the AEGL is missing; the basis used is reported per zone.
  (PAC/TEEL, ALOHA's third fallback, are not in the substance table.)

Threat zone geometry (LOCAL METRES, source at (0, 0), x downwind, y crosswind): the maximum
downwind distance is the farthest x where the ground-level centreline concentration is ≥ the level;
the footprint is the polygon bounded by the half-width y(x) = σy·sqrt(2 ln(C_centreline(x)/LOC)).

Validity and limitations:

- Not valid for dense gases (chlorine, cold ammonia, …) in the near field: ALOHA switches to a
  heavy-gas model for them. This text is part of every result.
- Briggs curves are fitted for about 100 m – 10 km; shorter distances are extrapolations, and
  distances beyond ``max_distance_m`` (default 10 km, as ALOHA) are not reported.
- Steady continuous release, uniform wind, flat terrain, no plume rise, no deposition or decay,
  no mixing-height lid; concentrations are averages over roughly 10 minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq
from shapely.geometry import Polygon

from ._common import ModelResult, load_table, require_positive
from .substances import Substance, lookup

FloatOrArray = TypeVar("FloatOrArray", float, npt.NDArray[np.float64])   # a value or an array of them, kept as given

MODEL = "Gaussian plume with ground reflection, Briggs (1973) dispersion"
MOLAR_VOLUME_L_MOL = 24.45  # 25 °C, 101.325 kPa
STABILITY_CLASSES = ("A", "B", "C", "D", "E", "F")
TERRAINS = ("rural", "urban")
DENSE_GAS_LIMITATION = (
    "Gaussian plume is not valid for dense gases (chlorine, cold ammonia, …) in the near field; "
    "ALOHA switches to a heavy-gas model for them."
)
SOURCES = [
    "Gaussian plume with ground reflection (Turner 1970; CCPS 1999 Guidelines for Consequence Analysis)",
    "Briggs G.A. (1973) Diffusion Estimation for Small Emissions, ATDL-106 — rural and urban σy, σz",
    "ALOHA levels of concern: AEGL-3/2/1 (60 min), then ERPG-3/2/1 (US EPA/NOAA ALOHA documentation)",
    "ppm = mg/m³ × 24.45 / M (25 °C, 1 atm)",
]
ZONES = (("red", 3), ("orange", 2), ("yellow", 1))


@lru_cache(maxsize=1)
def _coefficients() -> dict[tuple[str, str, str], tuple[float, float, float]]:
    return {
        (r["terrain"], r["stability"], r["axis"]): (float(r["a"]), float(r["b"]), float(r["p"]))
        for r in load_table("briggs_sigma.csv")
    }


def _check_class(stability: str, terrain: str) -> tuple[str, str]:
    s = str(stability).strip().upper()
    if s not in STABILITY_CLASSES:
        raise ValueError(f"stability must be one of A–F (got {stability!r})")
    t = str(terrain).strip().lower()
    if t not in TERRAINS:
        raise ValueError(f"terrain must be 'rural' or 'urban' (got {terrain!r})")
    return s, t


def _sigma(axis: str, x, stability: str, terrain: str):
    s, t = _check_class(stability, terrain)
    a, b, p = _coefficients()[(t, s, axis)]
    x = np.asarray(x, dtype=float)
    if np.any(x <= 0):
        raise ValueError("downwind distance x must be > 0 m")
    out = a * x * (1.0 + b * x) ** p
    return float(out) if out.ndim == 0 else out


def sigma_y_m(x_m, stability: str, terrain: str = "rural"):
    """Crosswind dispersion σy (m) at downwind distance x (m)."""
    return _sigma("y", x_m, stability, terrain)


def sigma_z_m(x_m, stability: str, terrain: str = "rural"):
    """Vertical dispersion σz (m) at downwind distance x (m)."""
    return _sigma("z", x_m, stability, terrain)


def ppm_to_mg_m3(ppm: float, molar_mass_g_mol: float) -> float:
    """mg/m³ = ppm × M / 24.45 (25 °C, 1 atm)."""
    return ppm * require_positive("molar_mass_g_mol", molar_mass_g_mol) / MOLAR_VOLUME_L_MOL


def mg_m3_to_ppm(mg_m3: FloatOrArray, molar_mass_g_mol: float) -> FloatOrArray:
    """ppm = mg/m³ × 24.45 / M (25 °C, 1 atm)."""
    return mg_m3 * MOLAR_VOLUME_L_MOL / require_positive("molar_mass_g_mol", molar_mass_g_mol)


def _check_release(release_rate_g_s: float, wind_speed_m_s: float, release_height_m: float) -> None:
    require_positive("release_rate_g_s", release_rate_g_s)
    require_positive("wind_speed_m_s", wind_speed_m_s)
    require_positive("release_height_m", release_height_m, allow_zero=True)


def concentration_g_m3(
    x_m, y_m, z_m, *,
    release_rate_g_s: float,
    wind_speed_m_s: float,
    stability: str,
    release_height_m: float = 0.0,
    terrain: str = "rural",
):
    """Concentration (g/m³) at (x, y, z) m; x downwind (> 0), y crosswind, z height above ground."""
    _check_release(release_rate_g_s, wind_speed_m_s, release_height_m)
    x = np.asarray(x_m, dtype=float)
    y = np.asarray(y_m, dtype=float)
    z = np.asarray(z_m, dtype=float)
    sy = sigma_y_m(x, stability, terrain)
    sz = sigma_z_m(x, stability, terrain)
    h = float(release_height_m)
    c = (
        release_rate_g_s / (2.0 * math.pi * wind_speed_m_s * sy * sz)
        * np.exp(-(y**2) / (2.0 * sy**2))
        * (np.exp(-((z - h) ** 2) / (2.0 * sz**2)) + np.exp(-((z + h) ** 2) / (2.0 * sz**2)))
    )
    return float(c) if np.ndim(c) == 0 else c


@dataclass(frozen=True)
class LevelOfConcern:
    zone: str
    name: str
    ppm: float
    basis: str


def levels_of_concern(substance: Substance) -> tuple[list[LevelOfConcern], list[str]]:
    """Red/orange/yellow levels for ``substance`` (AEGL, else ERPG) and notes on missing tiers."""
    levels: list[LevelOfConcern] = []
    notes: list[str] = []
    for zone, tier in ZONES:
        aegl = getattr(substance, f"aegl{tier}_ppm")
        erpg = getattr(substance, f"erpg{tier}_ppm")
        if aegl is not None:
            levels.append(LevelOfConcern(zone, f"AEGL-{tier} (60 min)", aegl, "AEGL"))
        elif erpg is not None:
            levels.append(LevelOfConcern(zone, f"ERPG-{tier}", erpg, "ERPG"))
            notes.append(f"{zone} zone uses ERPG-{tier} = {erpg:g} ppm because AEGL-{tier} is not available")
        else:
            notes.append(f"{zone} zone omitted: neither AEGL-{tier} nor ERPG-{tier} is available for {substance.key}")
    return levels, notes


@dataclass(frozen=True)
class PlumeZone:
    zone: str
    level_name: str
    level_ppm: float
    level_mg_m3: float
    basis: str
    max_distance_m: float
    max_half_width_m: float
    truncated_at_max_distance: bool
    footprint_local_m: Polygon | None


@dataclass(frozen=True)
class PlumeResult(ModelResult):
    parameters: dict[str, Any]
    substance: str
    molar_mass_g_mol: float
    zones: tuple[PlumeZone, ...]
    coordinates: str
    sources: tuple[str, ...]
    limitations: tuple[str, ...]
    warnings: tuple[str, ...]
    model: str = MODEL



def centreline_ppm(x_m, *, release_rate_g_s, wind_speed_m_s, stability, molar_mass_g_mol,
                   release_height_m=0.0, terrain="rural"):
    """Ground-level centreline concentration (ppm) at downwind distance x (m)."""
    c = concentration_g_m3(x_m, 0.0, 0.0, release_rate_g_s=release_rate_g_s, wind_speed_m_s=wind_speed_m_s,
                           stability=stability, release_height_m=release_height_m, terrain=terrain)
    ppm = mg_m3_to_ppm(np.asarray(c) * 1000.0, molar_mass_g_mol)
    return float(ppm) if np.ndim(ppm) == 0 else ppm


def plume_threat_zones(
    substance: str | Substance,
    release_rate_g_s: float,
    wind_speed_m_s: float,
    stability: str,
    *,
    release_height_m: float = 0.0,
    terrain: str = "rural",
    levels: list[dict] | None = None,
    max_distance_m: float = 10_000.0,
    samples: int = 1500,
    footprint_points: int = 200,
) -> PlumeResult:
    """ALOHA-style red/orange/yellow threat zones of a continuous release, in local metres.

    ``levels`` optionally overrides the levels of concern: ``[{"zone": "red", "name": "...", "ppm": 10}]``.
    ``samples`` points (log-spaced) locate the distances; ``footprint_points`` vertices per side draw the polygon.
    """
    if int(samples) < 10 or int(footprint_points) < 10:
        raise ValueError("samples and footprint_points must be ≥ 10")
    sub = substance if isinstance(substance, Substance) else lookup(substance)
    _check_release(release_rate_g_s, wind_speed_m_s, release_height_m)
    stab, terr = _check_class(stability, terrain)
    xmax = require_positive("max_distance_m", max_distance_m)
    if sub.molar_mass_g_mol is None:
        raise ValueError(f"substance {sub.key!r} has no molar mass; ppm cannot be computed")
    m = sub.molar_mass_g_mol
    warnings: list[str] = []
    if levels is not None:
        locs = [LevelOfConcern(str(d["zone"]), str(d.get("name", d["zone"])),
                               require_positive("levels[].ppm", d["ppm"]), "user-supplied") for d in levels]
    else:
        locs, notes = levels_of_concern(sub)
        warnings.extend(notes)
    if sub.dense_gas:
        warnings.append(f"{sub.key} typically forms a dense cloud: near-field zones from this Gaussian plume "
                        "are not reliable (use a heavy-gas model).")

    x0 = min(1.0, xmax / 10.0)
    xs = np.geomspace(x0, xmax, int(samples))
    kw = dict(release_rate_g_s=release_rate_g_s, wind_speed_m_s=wind_speed_m_s, stability=stab,
              molar_mass_g_mol=m, release_height_m=release_height_m, terrain=terr)
    cs = np.asarray(centreline_ppm(xs, **kw))

    def log_excess(x: float, loc: float) -> float:
        return math.log(float(centreline_ppm(x, **kw))) - math.log(loc)

    zones = []
    for loc in locs:
        above = np.nonzero(cs >= loc.ppm)[0]
        if above.size == 0:
            zones.append(PlumeZone(loc.zone, loc.name, loc.ppm, ppm_to_mg_m3(loc.ppm, m), loc.basis,
                                   0.0, 0.0, False, None))
            continue
        i0, i1 = int(above[0]), int(above[-1])
        truncated = i1 == len(xs) - 1
        x_end = float(xs[i1]) if truncated else brentq(log_excess, xs[i1], xs[i1 + 1], args=(loc.ppm,))
        if i0 == 0:
            x_start = 0.0
        else:
            x_start = brentq(log_excess, xs[i0 - 1], xs[i0], args=(loc.ppm,))
        # Footprint vertices on their own, coarser grid (log-spaced near the source, linear further out)
        # so that a zone is ~2·footprint_points vertices, not one per detection sample.
        lo = max(x_start, xs[0])
        inner = np.unique(np.concatenate((
            np.geomspace(lo, x_end, footprint_points // 2), np.linspace(lo, x_end, footprint_points // 2))))
        inner = inner[(inner > x_start) & (inner < x_end)]
        if inner.size == 0:
            inner = np.array([(x_start + x_end) / 2.0 if x_start > 0 else x_end / 2.0])
        ratio = np.maximum(np.asarray(centreline_ppm(inner, **kw)) / loc.ppm, 1.0)
        half = np.asarray(sigma_y_m(inner, stab, terr)) * np.sqrt(2.0 * np.log(ratio))
        px = np.concatenate(([x_start], inner, [x_end]))
        py = np.concatenate(([0.0], half, [0.0]))
        upper = list(zip(px.tolist(), py.tolist(), strict=True))
        lower = [(x, -y) for x, y in reversed(upper[1:-1])]
        poly = Polygon(upper + lower)
        if not poly.is_valid:
            poly = poly.buffer(0)
        if truncated:
            warnings.append(f"{loc.zone} zone reaches max_distance_m = {xmax:g} m and is cut there")
        zones.append(PlumeZone(loc.zone, loc.name, loc.ppm, ppm_to_mg_m3(loc.ppm, m), loc.basis,
                               x_end, float(half.max()), truncated, poly))

    limitations = [
        DENSE_GAS_LIMITATION,
        "Briggs σ curves are fitted for about 100 m – 10 km; shorter distances are extrapolated.",
        "Steady continuous release, uniform wind, flat terrain; no plume rise, deposition, decay or mixing lid; "
        "concentrations are ~10-minute averages at ground level.",
    ]
    params = {
        "release_rate_g_s": float(release_rate_g_s),
        "wind_speed_m_s": float(wind_speed_m_s),
        "stability": stab,
        "terrain": terr,
        "release_height_m": float(release_height_m),
        "max_distance_m": xmax,
        "molar_volume_l_mol": MOLAR_VOLUME_L_MOL,
    }
    return PlumeResult(
        parameters=params,
        substance=sub.key,
        molar_mass_g_mol=m,
        zones=tuple(zones),
        coordinates="local metres: source at (0, 0), x downwind, y crosswind",
        sources=tuple(SOURCES),
        limitations=tuple(limitations),
        warnings=tuple(warnings),
    )


# -- generic threat extent (any centreline model) ---------------------------------------------------

SEARCH_MAX_M = 200_000.0
# The dispersion models' range of validity: the Briggs (1973) open-country σ curves are fitted to about 10 km and ALOHA
# stops its threat zones at 10 km (US EPA/NOAA ALOHA technical documentation) [S]. A level still exceeded farther out
# is reported as "beyond the model's range of 10 km", with no distance.
MODEL_RANGE_M = 10_000.0


def beyond_range_text(range_m: float = MODEL_RANGE_M) -> str:
    """The one wording used by the API, the viewer and the PDFs for a zone past the model's validity."""
    return f"beyond the model's range of {range_m / 1000:g} km (超出模型适用范围 {range_m / 1000:g} km)"


@dataclass(frozen=True)
class ThreatExtent:
    """Where a ground-level centreline concentration stays at or above a level.

    ``distance_m`` is the model's distance (a lower bound when ``lower_bound``: the level is still exceeded at
    the search limit); ``drawn_m`` = min(distance, drawing limit) and ``truncated`` says the footprint was cut.
    """

    level_ppm: float
    distance_m: float
    drawn_m: float
    truncated: bool
    lower_bound: bool
    max_half_width_m: float
    footprint_local_m: Polygon | None


def threat_extent(conc_ppm, half_width_m, level_ppm: float, *, max_draw_m: float,
                  search_max_m: float = SEARCH_MAX_M, samples: int = 1200, footprint_points: int = 160
                  ) -> ThreatExtent:
    """Distance and local-metre footprint (x downwind, y crosswind) of ``conc_ppm(x) ≥ level_ppm``.

    ``conc_ppm``: vectorised centreline concentration (ppm) at distances x (m); ``half_width_m(x, level, c)``:
    vectorised half-width (m) of the region at or above ``level`` at x where the centreline concentration is c.
    The zone uses the non-increasing envelope of the centreline concentration (a point is inside if the level
    is ever exceeded there or farther out, so a regime switch cannot cut the zone in two). The distance is
    searched up to ``search_max_m`` (beyond the Briggs range, flagged by the caller), the footprint drawn to
    ``max_draw_m``.
    """
    level = require_positive("level_ppm", level_ppm)
    xs = np.geomspace(1.0, search_max_m, int(samples))
    cs = np.maximum.accumulate(np.asarray(conc_ppm(xs), dtype=float)[::-1])[::-1]
    lxs, lcs = np.log(xs), np.log(np.maximum(cs, 1e-300))

    def env(x):
        return np.exp(np.interp(np.log(np.maximum(np.asarray(x, dtype=float), 1.0)), lxs, lcs))
    above = np.nonzero(cs >= level)[0]
    if above.size == 0:
        return ThreatExtent(level, 0.0, 0.0, False, False, 0.0, None)

    def g(x: float) -> float:
        return math.log(max(float(env(x)), 1e-300)) - math.log(level)

    i0, i1 = int(above[0]), int(above[-1])
    lower = i1 == len(xs) - 1
    dist = float(xs[i1]) if lower else brentq(g, xs[i1], xs[i1 + 1], xtol=1e-3)
    x_start = 0.0 if i0 == 0 else brentq(g, xs[i0 - 1], xs[i0], xtol=1e-3)
    drawn = min(dist, max_draw_m)
    lo = max(x_start, 1.0)
    if drawn <= lo:
        return ThreatExtent(level, dist, drawn, dist > max_draw_m, lower, 0.0, None)
    inner = np.unique(np.concatenate((np.geomspace(lo, drawn, footprint_points // 2),
                                      np.linspace(lo, drawn, footprint_points // 2))))
    inner = inner[(inner > x_start) & (inner < drawn)]
    if inner.size == 0:
        inner = np.array([(x_start + drawn) / 2.0])
    half = np.maximum(np.asarray(half_width_m(inner, level, env(inner)), dtype=float), 0.0)
    px = np.concatenate(([x_start], inner, [drawn]))
    end_half = float(half[-1]) if dist > max_draw_m else 0.0  # a cut zone keeps its width at the cut
    py = np.concatenate(([0.0], half, [end_half]))
    upper = list(zip(px.tolist(), py.tolist(), strict=True))
    lower_side = [(x, -y) for x, y in reversed(upper)]
    poly = Polygon(upper + lower_side[1:-1] if end_half == 0.0 else upper + lower_side)
    if not poly.is_valid:
        poly = poly.buffer(0)
    return ThreatExtent(level, dist, drawn, dist > max_draw_m, lower, float(half.max()), poly)


def gaussian_half_width(stability: str, terrain: str = "rural", offset_m: float = 0.0):
    """Half-width function for :func:`threat_extent`: σy(x + offset)·√(2 ln(C(x)/level))."""
    def half(x, level, c):
        ratio = np.maximum(np.asarray(c) / level, 1.0)
        return np.asarray(sigma_y_m(np.asarray(x) + offset_m, stability, terrain)) * np.sqrt(2.0 * np.log(ratio))
    return half
