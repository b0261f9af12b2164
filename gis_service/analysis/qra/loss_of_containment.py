"""Loss-of-containment scenarios of a hazard source → outcome cases with their frequencies.

For each inventory item (substance, design maximum quantity q) the equipment type follows the unit type and the
substance's storage (``data/qra_substances.csv``): a storage unit holds pressurised substances in a pressure
vessel and liquids in an atmospheric tank; a production unit is a process vessel. The item's whole quantity is
taken as one vessel's inventory (conservative: a unit with several vessels has smaller single releases).

LOCs and generic frequencies: ``data/qra_loc_frequencies.csv`` (CPR 18E Tables 3.1–3.3, or API 581).
Release rates (CCPS 1999 *Guidelines for Consequence Analysis of Chemical Releases* §2.1; Crowl & Louvar 2011
*Chemical Process Safety* §4) [S]:

- instantaneous: the whole inventory at once (mass M);
- 10-minute release: M / 600 s;
- hole of diameter d: liquid outflow ṁ = C_d·A·√(2ρΔP), C_d = 0.62 (sharp-edged orifice), ΔP the vapour
  pressure above ambient (pressurised liquefied) or a 5 m liquid head (atmospheric tank, assumption [M]);
  compressed gas: choked flow ṁ = C_d·A·P·√(γM/(RT)·(2/(γ+1))^((γ+1)/(γ−1))), γ = 1.3, T = 293 K [M].
  Duration min(M/ṁ, 1800 s) (CPR 18E: releases are followed for at most 30 min).

Pressurised liquefied releases are taken to enter the air entirely as vapour/aerosol (no rain-out, no pool) [M].

Pool fires burn the pool the release makes (``models.pool``): a continuous release its equilibrium area ṁ/m″, an
instantaneous one its spread to ``min_pool_thickness_mm`` (5 mm [M]); both bounded by the bund — ``pool_area_m2``
(the bund of a point unit, default 1000 m² [M]), for a polygon unit the smaller of that and the polygon's area. A
unit's polygon is never burnt as one pool. Each case reports its pool area and why (``pool_basis``).

Event tree and ignition: ``data/qra_event_tree.csv`` and ``data/qra_ignition.csv`` (CPR 18E Table 4.5 direct
ignition, §4.8 delayed-ignition split; ch. 4 event trees).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ...models import fire, pool
from ...models.probit import NoProbit, toxic_probit
from ...models.substances import Substance
from ..consequence.inventory import parse_inventory
from .data import QraParams, QraSubstance, event_tree, locs_for, p_direct_ignition, qra_substances
from .outcomes import DIRECTIONAL, unavailable

CD = 0.62
GAMMA = 1.3
T_STORAGE_K = 293.15
R_GAS = 8.314
P_AMBIENT_BAR = 1.01325
LIQUID_HEAD_M = 5.0
MAX_DURATION_S = 1800.0
DEFAULT_BURNING_RATE_KG_M2_S = 0.055  # Babrauskas (1983) gasoline [M], as in analysis.consequence


def burning_rate_kg_m2_s(sub) -> float:
    """The substance's own large-pool burning rate (``models.fire.burning_rate``, Babrauskas 1983 table), else
    0.055 kg/m²/s (gasoline) [M]."""
    br = fire.burning_rate(sub.key)
    return br.kg_m2_s if br is not None else DEFAULT_BURNING_RATE_KG_M2_S


@dataclass(frozen=True)
class Release:
    substance: Substance
    props: QraSubstance
    equipment: str
    loc: str
    kind: str  # instantaneous | continuous
    mass_kg: float
    rate_kg_s: float | None
    duration_s: float | None
    hole_mm: float | None
    frequency_per_year: float
    frequency_source: str
    confidence: str


@dataclass(frozen=True)
class OutcomeCase:
    id: str
    release: Release
    outcome: str
    branch: str
    conditional_probability: float
    frequency_per_year: float
    pool_area_m2: float = 0.0
    pool_basis: str | None = None

    @property
    def directional(self) -> bool:
        return self.outcome in DIRECTIONAL

    def describe(self) -> dict[str, Any]:
        r = self.release
        return {"id": self.id, "substance": r.substance.key, "equipment": r.equipment, "loc": r.loc,
                "release": r.kind, "mass_kg": round(r.mass_kg, 3),
                "rate_kg_s": None if r.rate_kg_s is None else round(r.rate_kg_s, 4),
                "duration_s": None if r.duration_s is None else round(r.duration_s, 1),
                "loc_frequency_per_year": r.frequency_per_year, "loc_source": r.frequency_source,
                "loc_confidence": r.confidence, "branch": self.branch, "outcome": self.outcome,
                "conditional_probability": round(self.conditional_probability, 6),
                "frequency_per_year": self.frequency_per_year,
                **({"pool_area_m2": round(self.pool_area_m2, 2), "pool_basis": self.pool_basis}
                   if self.outcome == "pool_fire" else {})}


@dataclass
class ScenarioSet:
    cases: list[OutcomeCase]
    skipped: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def equipment_for(unit_type: str | None, storage: str) -> str:
    if unit_type == "production":
        return "process_vessel"
    return "atmospheric_tank" if storage == "atmospheric_liquid" else "pressure_vessel"


def hole_rate_kg_s(props: QraSubstance, molar_mass_g_mol: float | None, hole_mm: float) -> float:
    """Initial mass outflow (kg/s) through a hole of ``hole_mm`` (formulas in the module docstring)."""
    area = math.pi * (hole_mm / 1000.0) ** 2 / 4.0
    if props.storage == "compressed_gas":
        if not (props.pressure_bar_abs and molar_mass_g_mol):
            raise ValueError("compressed gas needs pressure_bar_abs and a molar mass")
        p = props.pressure_bar_abs * 1e5
        m = molar_mass_g_mol / 1000.0
        g = GAMMA
        return CD * area * p * math.sqrt(g * m / (R_GAS * T_STORAGE_K) * (2 / (g + 1)) ** ((g + 1) / (g - 1)))
    rho = props.liquid_density_kg_m3
    if not rho:
        raise ValueError("liquid release needs liquid_density_kg_m3")
    if props.storage == "pressurised_liquefied":
        dp = max(props.pressure_bar_abs - P_AMBIENT_BAR, 0.0) * 1e5 + rho * 9.81 * LIQUID_HEAD_M
    else:
        dp = rho * 9.81 * LIQUID_HEAD_M
    return CD * area * math.sqrt(2.0 * rho * dp)


def release_class(sub: Substance, props: QraSubstance) -> str | None:
    flammable = sub.flammable and bool(sub.heat_of_combustion_mj_kg) and props.ignition is not None
    liquid = props.storage == "atmospheric_liquid"
    if sub.toxic and flammable:
        return "toxic_flammable_liquid" if liquid else "toxic_flammable_gas"
    if flammable:
        return "flammable_liquid" if liquid else "flammable_gas"
    if sub.toxic:
        return "toxic"
    return None


def _releases(sub: Substance, props: QraSubstance, quantity_t: float, unit_type: str | None,
              p: QraParams, skipped: list) -> list[Release]:
    equipment = equipment_for(unit_type, props.storage)
    rows = locs_for(p.frequency_set, equipment)
    if not rows:
        skipped.append({"substance": sub.key, "reason": f"no LOC frequencies for equipment {equipment!r} in "
                        f"frequency set {p.frequency_set!r}"})
        return []
    mass = quantity_t * 1000.0
    out = []
    for row in rows:
        if row.release == "instantaneous":
            out.append(Release(sub, props, equipment, row.loc, "instantaneous", mass, None, None, None,
                               row.frequency_per_year, row.source, row.confidence))
        elif row.release == "continuous_10min":
            out.append(Release(sub, props, equipment, row.loc, "continuous", mass, mass / 600.0, 600.0, None,
                               row.frequency_per_year, row.source, row.confidence))
        else:
            try:
                rate = hole_rate_kg_s(props, sub.molar_mass_g_mol, row.hole_mm)
            except ValueError as exc:
                skipped.append({"substance": sub.key, "loc": row.loc, "reason": str(exc)})
                continue
            rate = min(rate, mass / 60.0) if mass > 0 else rate  # a hole cannot empty the vessel faster than 1 min
            dur = min(mass / rate, MAX_DURATION_S)
            out.append(Release(sub, props, equipment, row.loc, "continuous", rate * dur, rate, dur, row.hole_mm,
                               row.frequency_per_year, row.source, row.confidence))
    return out


def pool_for(rel: Release, bund_m2: float, p: QraParams) -> pool.PoolSize:
    """The burning pool of a liquid release (``models.pool``), bounded by ``bund_m2``."""
    return pool.pool_size(release=rel.kind, burning_rate_kg_m2_s=burning_rate_kg_m2_s(rel.substance),
                          mass_kg=rel.mass_kg, density_kg_m3=rel.props.liquid_density_kg_m3, rate_kg_s=rel.rate_kg_s,
                          bund_area_m2=bund_m2, min_thickness_m=p.min_pool_thickness_mm / 1000.0)


def outcome_cases(inventory: Any, unit_type: str | None, p: QraParams, *, pool_area_m2: float | None = None,
                  prefix: str = "") -> ScenarioSet:
    """Every outcome case (LOC × ignition branch × outcome) of an inventory, with skipped items and why.

    ``pool_area_m2``: the area of the unit's polygon (None for a point unit); the bund bounding every pool is the
    smaller of it and ``p.pool_area_m2``."""
    bund_m2 = min(p.pool_area_m2, pool_area_m2) if pool_area_m2 else p.pool_area_m2
    items, warnings = parse_inventory(inventory)
    props_all = qra_substances()
    tree = event_tree()
    cases: list[OutcomeCase] = []
    skipped: list[dict[str, Any]] = []
    for item in items:
        sub = item.substance
        props = props_all.get(sub.key)
        if props is None:
            skipped.append({"substance": sub.key, "reason": "no QRA release properties (qra_substances.csv)"})
            continue
        cls = release_class(sub, props)
        if cls is None:
            skipped.append({"substance": sub.key, "reason": "neither flammable nor toxic: no lethal outcome"})
            continue
        if sub.toxic:
            try:
                toxic_probit(sub.key)
            except NoProbit as exc:
                skipped.append({"substance": sub.key, "outcome": "toxic", "reason": str(exc)})
        for rel in _releases(sub, props, item.quantity_t, unit_type, p, skipped):
            size = ({"mass_kg": rel.mass_kg} if rel.kind == "instantaneous" else {"rate_kg_s": rel.rate_kg_s})
            pd = p_direct_ignition(props.ignition, **size) if props.ignition else 0.0
            branches = {"direct": pd}
            if (cls, rel.kind, "delayed") in tree:
                branches["delayed"] = 1.0 - pd
            branches["none"] = 1.0 - sum(branches.values())
            for branch, pb in branches.items():
                for outcome, po in tree.get((cls, rel.kind, branch), ()):
                    if pb * po <= 0:
                        continue
                    reason = _unsupported(rel, outcome)
                    if reason:
                        skipped.append({"substance": sub.key, "loc": rel.loc, "outcome": outcome, "reason": reason,
                                        "frequency_per_year": rel.frequency_per_year * pb * po})
                        continue
                    cid = f"{prefix}{sub.key}:{rel.loc.split(' ')[0]}:{branch}:{outcome}"
                    area, basis = 0.0, None
                    if outcome == "pool_fire":
                        ps = pool_for(rel, bund_m2, p)
                        area, basis = ps.area_m2, ps.basis
                    cases.append(OutcomeCase(cid, rel, outcome, branch, pb * po, rel.frequency_per_year * pb * po,
                                             area, basis))
    return ScenarioSet(cases, skipped, warnings)


def _unsupported(rel: Release, outcome: str) -> str | None:
    """Why an outcome of this release cannot be computed (None if it can)."""
    sub, props = rel.substance, rel.props
    if outcome == "toxic":
        if props.storage == "atmospheric_liquid":
            return "toxic cloud from pool evaporation is not modelled (atmospheric liquid)"
        try:
            toxic_probit(sub.key)
        except NoProbit as exc:
            return str(exc)
        if not sub.molar_mass_g_mol:
            return "no molar mass"
    if outcome in ("flash_fire", "vce") and not props.lfl_vol_pct:
        return "no lower flammability limit in qra_substances.csv"
    return unavailable(outcome)
