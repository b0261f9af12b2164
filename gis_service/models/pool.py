"""Size of a burning pool from the release that feeds it — not the bund alone.

- Continuous release (rate ṁ, kg/s): the pool grows until it burns what it is fed; the equilibrium (steady-state)
  burning area is A = ṁ / m″ with m″ the large-pool mass burning rate (kg/m²·s). [S: the steady-state pool of a
  continuous spill, e.g. CCPS (2000) *Guidelines for Chemical Process Quantitative Risk Analysis* §2.2.5 (pool fires)
  and the SFPE Handbook's maximum pool diameter D = 2·√(ṁ/(π·m″))]
- Instantaneous release (mass M, liquid density ρ): the liquid spreads until it reaches a minimum layer thickness
  h_min, A = M / (ρ·h_min). [S for the principle: CPR 18E "Purple Book" (1999) ch. 4 and CPR 14E "Yellow Book"
  (1997) ch. 3 pool spreading] h_min = 5 mm on a smooth surface (concrete, flat stone) is the Yellow Book value as
  recalled, NOT re-read → [M], configurable (``min_thickness_m``).
- A continuous release cannot make a larger pool than its whole released mass at h_min either.
- Both are bounded by the bund (or the smallest area known to contain the spill: the unit's polygon); a bund never
  makes a small leak's pool larger.

Example (issue 17's review): a 10 mm hole in an atmospheric gasoline tank releases about 0.36 kg/s; with gasoline's
0.055 kg/m²·s (Babrauskas 1983) the burning pool is 0.36 / 0.055 ≈ 6.5 m², not the 1000 m² bund.

Limits: flat ground, no pool evaporation other than burning, no spreading dynamics (the equilibrium or final area is
taken from the start: conservative for the early minutes), no pool on water, no rain-out of pressurised releases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from ._common import ModelResult, load_table, opt_float, require_positive

MODEL = "Pool size from the release (equilibrium burning area / spread to a minimum thickness), bounded by the bund"
MIN_THICKNESS_M = 0.005  # Yellow Book (CPR 14E) minimum layer thickness on smooth ground, as recalled [M]
SOURCES = (
    "Equilibrium burning area of a continuous spill A = ṁ/m″ (CCPS 2000 CPQRA §2.2.5; SFPE Handbook) [S]",
    "Spread of an instantaneous spill to a minimum layer thickness, 5 mm on smooth ground (TNO Yellow Book CPR 14E "
    "ch. 3, as used by CPR 18E ch. 4) [M: value as recalled, configurable]",
)


@dataclass(frozen=True)
class PoolSize(ModelResult):
    area_m2: float
    diameter_m: float
    limited_by: str  # burning_rate | spread | bund
    basis: str
    unbounded_area_m2: float
    bund_area_m2: float | None
    min_thickness_m: float
    model: str = MODEL
    sources: tuple[str, ...] = SOURCES


@lru_cache(maxsize=1)
def _densities() -> dict[str, float]:
    out = {}
    for r in load_table("qra_substances.csv"):
        rho = opt_float(r["liquid_density_kg_m3"])
        if rho:
            out[r["key"]] = rho
    return out


def liquid_density(substance_key: str) -> float | None:
    """Liquid density (kg/m³) of a substance from ``data/qra_substances.csv`` (None if not listed) [M]."""
    return _densities().get(substance_key)


def pool_size(*, release: str, burning_rate_kg_m2_s: float, mass_kg: float, density_kg_m3: float | None,
              rate_kg_s: float | None = None, bund_area_m2: float | None = None,
              min_thickness_m: float = MIN_THICKNESS_M) -> PoolSize:
    """The burning pool of one release. ``release`` is ``continuous`` (needs ``rate_kg_s``) or ``instantaneous``.

    ``density_kg_m3`` may be None only for a continuous release (then the spread bound is not applied).
    ``bund_area_m2``: the bund or containing area (None: unbunded)."""
    m2 = require_positive("burning_rate_kg_m2_s", burning_rate_kg_m2_s)
    h = require_positive("min_thickness_m", min_thickness_m)
    mass = require_positive("mass_kg", mass_kg)
    spread = None
    if density_kg_m3 is not None:
        spread = mass / (require_positive("density_kg_m3", density_kg_m3) * h)
    if release == "continuous":
        rate = require_positive("rate_kg_s", rate_kg_s if rate_kg_s is not None else math.nan)
        area, limited = rate / m2, "burning_rate"
        basis = f"equilibrium pool A = ṁ/m″ = {rate:.4g} kg/s ÷ {m2:g} kg/m²·s = {area:.4g} m²"
        if spread is not None and spread < area:
            area, limited = spread, "spread"
            basis += f"; the released {mass:.4g} kg spread to {h * 1000:g} mm covers only {spread:.4g} m²"
    elif release == "instantaneous":
        if spread is None:
            raise ValueError("an instantaneous pool needs the liquid density (density_kg_m3)")
        area, limited = spread, "spread"
        basis = f"{mass:.4g} kg spread to a {h * 1000:g} mm layer: A = M/(ρ·h_min) = {spread:.4g} m²"
    else:
        raise ValueError(f"release must be continuous or instantaneous (got {release!r})")
    unbounded = area
    if bund_area_m2 is not None:
        bund = require_positive("bund_area_m2", bund_area_m2)
        if bund < area:
            area, limited = bund, "bund"
            basis += f"; bounded by the bund of {bund:.4g} m²"
    return PoolSize(area, math.sqrt(4.0 * area / math.pi), limited, basis, unbounded, bund_area_m2, h)


__all__ = ["MIN_THICKNESS_M", "PoolSize", "liquid_density", "pool_size"]
