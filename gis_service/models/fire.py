"""Fire thermal radiation — point-source model.

q(x) = τ · η_r · Q̇ / (4π x²), so the radius for a level q is x = sqrt(τ · η_r · Q̇ / (4π q)).

Sources:

- Point-source model as in CCPS Guidelines for Chemical Process Quantitative Risk Analysis and the
  TNO Yellow Book; form. Q̇ (kW) = burning rate (kg/m²/s) × pool area (m²) × ΔH_c
  (MJ/kg) × 1000, or a heat release rate given directly.
- Radiative fraction η_r ≈ 0.15–0.35 and transmissivity τ ≤ 1 are [M]: both are
  parameters. Defaults η_r = 0.35 (upper end) and τ = 1 (no atmospheric absorption) are conservative
  choices, stated in every result.
- Levels of concern (``data/thermal_thresholds.csv``): ALOHA 10 / 5 / 2 kW/m² [V] by default; the
  Chinese QRA set 37.5 / 25 / 12.5 / 4.0 / 1.6 kW/m² [M] on request, or any list of levels.

- Mass burning rates per substance (``data/burning_rates.csv``): Babrauskas (1983), Fire Technology
  19:251–261, large-pool values as in the SFPE Handbook [M: table not read in the retrieved text; values
  configurable]; :func:`burning_rate` looks a substance up.

Validity and limitations: the point source is adequate beyond roughly two to three pool diameters
(radii closer than 2 pool diameters are flagged ``near_field``);
closer in, use a solid-flame model (view factors, flame tilt, smoke obscuration). Steady burning is
assumed; exposure duration is not modelled (the thresholds embed their own durations).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ._common import ModelResult, load_table, require_positive

MODEL = "Point-source thermal radiation"
RADIATIVE_FRACTION = 0.35
TRANSMISSIVITY = 1.0
SOURCES = [
    "Point-source radiation model q = τ·η_r·Q̇/(4πx²) (CCPS CPQRA; TNO Yellow Book)",
    "ALOHA thermal radiation levels of concern 10/5/2 kW/m² [V]",
    "Chinese QRA thermal levels 37.5/25/12.5/4.0/1.6 kW/m² [M]; World Bank (1985) / Lees descriptions",
]


@lru_cache(maxsize=1)
def _thresholds() -> dict[str, tuple[tuple[float, str, str, str], ...]]:
    out: dict[str, list[tuple[float, str, str, str]]] = {}
    for r in load_table("thermal_thresholds.csv"):
        out.setdefault(r["threshold_set"], []).append(
            (float(r["kw_m2"]), r["description_en"], r["description_zh"], r["confidence"])
        )
    return {k: tuple(v) for k, v in out.items()}


def threshold_sets() -> list[str]:
    return list(_thresholds())


def heat_release_rate_kw(burning_rate_kg_m2_s: float, area_m2: float, heat_of_combustion_mj_kg: float) -> float:
    """Q̇ (kW) = burning rate × area × ΔH_c."""
    m = require_positive("burning_rate_kg_m2_s", burning_rate_kg_m2_s)
    a = require_positive("area_m2", area_m2)
    dh = require_positive("heat_of_combustion_mj_kg", heat_of_combustion_mj_kg)
    return m * a * dh * 1000.0


def heat_flux_kw_m2(
    distance_m: float,
    heat_release_kw: float,
    *,
    radiative_fraction: float = RADIATIVE_FRACTION,
    transmissivity: float = TRANSMISSIVITY,
) -> float:
    """Incident radiation q (kW/m²) at ``distance_m`` from a point source of ``heat_release_kw``."""
    x = require_positive("distance_m", distance_m)
    qdot = require_positive("heat_release_kw", heat_release_kw)
    eta, tau = _check_fractions(radiative_fraction, transmissivity)
    return tau * eta * qdot / (4.0 * math.pi * x * x)


def radius_for_flux_m(
    threshold_kw_m2: float,
    heat_release_kw: float,
    *,
    radiative_fraction: float = RADIATIVE_FRACTION,
    transmissivity: float = TRANSMISSIVITY,
) -> float:
    """Distance (m) at which q falls to ``threshold_kw_m2``: sqrt(τ·η_r·Q̇ / (4π q))."""
    q = require_positive("threshold_kw_m2", threshold_kw_m2)
    qdot = require_positive("heat_release_kw", heat_release_kw)
    eta, tau = _check_fractions(radiative_fraction, transmissivity)
    return math.sqrt(tau * eta * qdot / (4.0 * math.pi * q))


def _check_fractions(radiative_fraction: float, transmissivity: float) -> tuple[float, float]:
    eta = require_positive("radiative_fraction", radiative_fraction)
    tau = require_positive("transmissivity", transmissivity)
    if eta > 1:
        raise ValueError(f"radiative_fraction must be ≤ 1 (got {radiative_fraction})")
    if tau > 1:
        raise ValueError(f"transmissivity must be ≤ 1 (got {transmissivity})")
    return eta, tau


NEAR_FIELD_DIAMETERS = 2.0


@dataclass(frozen=True)
class BurningRate:
    substance_key: str
    kg_m2_s: float
    k_beta_per_m: float | None
    tag: str
    note: str

    @property
    def source(self) -> str:
        return f"Babrauskas (1983) Fire Technology 19:251 / SFPE Handbook — {self.note} [{self.tag}]"


@lru_cache(maxsize=1)
def _burning_rates() -> dict[str, BurningRate]:
    return {r["substance_key"]: BurningRate(r["substance_key"], float(r["burning_rate_kg_m2_s"]),
                                            float(r["k_beta_per_m"]) if r["k_beta_per_m"] else None,
                                            r["confidence"], r["note"])
            for r in load_table("burning_rates.csv")}


def burning_rate(substance_key: str) -> BurningRate | None:
    """Large-pool mass burning rate of a substance from ``data/burning_rates.csv`` (None if not listed)."""
    return _burning_rates().get(substance_key)


def pool_diameter_m(area_m2: float) -> float:
    """Equivalent circular pool diameter √(4A/π)."""
    return math.sqrt(4.0 * require_positive("area_m2", area_m2) / math.pi)


@dataclass(frozen=True)
class ThermalZone:
    threshold_kw_m2: float
    description_en: str | None
    description_zh: str | None
    radius_m: float
    near_field: bool = False


@dataclass(frozen=True)
class FireResult(ModelResult):
    parameters: dict[str, Any]
    heat_release_kw: float
    zones: tuple[ThermalZone, ...]
    sources: tuple[str, ...]
    limitations: tuple[str, ...]
    model: str = MODEL



def fire_zones(
    *,
    heat_release_kw: float | None = None,
    burning_rate_kg_m2_s: float | None = None,
    area_m2: float | None = None,
    heat_of_combustion_mj_kg: float | None = None,
    radiative_fraction: float = RADIATIVE_FRACTION,
    transmissivity: float = TRANSMISSIVITY,
    threshold_set: str = "aloha",
    thresholds_kw_m2: list[float] | None = None,
) -> FireResult:
    """Thermal-radiation radii for a fire given Q̇ directly or as burning rate × area × ΔH_c.

    ``threshold_set``: ``"aloha"`` (10/5/2 kW/m², default) or ``"cn_qra"`` (37.5/25/12.5/4.0/1.6);
    ``thresholds_kw_m2`` overrides the set with explicit levels.
    """
    if heat_release_kw is None:
        if burning_rate_kg_m2_s is None or area_m2 is None or heat_of_combustion_mj_kg is None:
            raise ValueError(
                "give heat_release_kw, or burning_rate_kg_m2_s, area_m2 and heat_of_combustion_mj_kg"
            )
        qdot = heat_release_rate_kw(burning_rate_kg_m2_s, area_m2, heat_of_combustion_mj_kg)
    else:
        qdot = require_positive("heat_release_kw", heat_release_kw)
    sets = _thresholds()
    if thresholds_kw_m2 is None and threshold_set not in sets:
        raise ValueError(f"threshold_set must be one of {sorted(sets)} (got {threshold_set!r})")
    known = {lvl: (en, zh) for rows in sets.values() for lvl, en, zh, _c in rows}
    levels = (
        [float(v) for v in thresholds_kw_m2] if thresholds_kw_m2 is not None
        else [lvl for lvl, *_ in sets[threshold_set]]
    )
    zones = []
    d_pool = pool_diameter_m(area_m2) if area_m2 else None
    for lvl in levels:
        en, zh = known.get(lvl, (None, None))
        r = radius_for_flux_m(lvl, qdot, radiative_fraction=radiative_fraction, transmissivity=transmissivity)
        zones.append(ThermalZone(lvl, en, zh, r, bool(d_pool and r < NEAR_FIELD_DIAMETERS * d_pool)))
    limitations = [
        f"Radiative fraction η_r = {radiative_fraction:g} and atmospheric transmissivity τ = {transmissivity:g} "
        "are assumptions [M] (typical η_r 0.15–0.35, τ ≤ 1); the defaults 0.35 and 1 are conservative.",
        "Point-source model: adequate beyond about 2–3 pool diameters; radii within 2 pool diameters are flagged "
        "near_field (a solid-flame model is needed there).",
        "Steady burning assumed; exposure time is not modelled (the thresholds carry their own durations).",
    ]
    if thresholds_kw_m2 is None and threshold_set == "cn_qra":
        limitations.append("The Chinese QRA threshold set is [M]: unconfirmed, configurable (not checked against a standard).")
    params = {
        "heat_release_kw": qdot,
        "burning_rate_kg_m2_s": burning_rate_kg_m2_s,
        "area_m2": area_m2,
        "heat_of_combustion_mj_kg": heat_of_combustion_mj_kg,
        "radiative_fraction": radiative_fraction,
        "transmissivity": transmissivity,
        "threshold_set": None if thresholds_kw_m2 is not None else threshold_set,
        "pool_diameter_m": d_pool,
    }
    return FireResult(params, qdot, tuple(zones), tuple(SOURCES), tuple(limitations))
