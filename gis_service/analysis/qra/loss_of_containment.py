"""Loss-of-containment scenarios of a hazard source → outcome cases with their frequencies.

For each inventory item (substance, design maximum quantity q) the equipment type follows the unit type and the
substance's storage (``data/qra_substances.csv``): a storage unit holds pressurised substances in a pressure
vessel and liquids in an atmospheric tank; a production unit is a process vessel. The item's whole quantity is
taken as one vessel's inventory (conservative: a unit with several vessels has smaller single releases).

LOCs and generic frequencies: ``data/qra_loc_frequencies.csv`` (CPR 18E Tables 3.1–3.4, or API 581). The loss-of-
containment set of an item is complete per CPR 18E ch. 3 when its optional attributes are given:

- the vessel or tank itself: pressure vessel, process vessel, atmospheric tank by ``containment`` (single, double,
  full: Table 3.4; releases into an intact outer container are contained and listed as not modelled);
- a connected pipe (``pipe_length_m``, ``pipe_diameter_mm``): full-bore rupture and a leak of 10 % of the diameter
  (≤ 50 mm), per metre·year by diameter band (Table 3.7, ``data/qra_loc_lines.csv``);
- loading (``transfers_per_year``; ``transfer_equipment`` loading_arm (default) or loading_hose, diameter
  ``pipe_diameter_mm``): rupture and leak per hour in use (Table 3.13) × ``transfer_hours`` × transfers.

When an attribute is missing the result lists the LOCs it could not include and why (``skipped``), never a
silent zero; a missing containment type is taken as single containment (the most frequent) and said so.
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

from ...models import evaporation, fire, pool
from ...models._common import given
from ...models.probit import NoProbit, toxic_probit
from ...models.substances import Substance
from ..consequence.inventory import parse_inventory
from .data import (
    QraParams,
    QraSubstance,
    event_tree,
    event_tree_sources,
    lines_for,
    locs_for,
    p_direct_ignition,
    qra_substances,
)
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
    pool_basis: str | None = None  # pool fire: how the pool was sized; flash fire / explosion of a liquid: its vapour
    tree_source: str | None = None  # the event-tree row (source and tag) of this branch

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
                "loc_confidence": r.confidence,
                "loc_status": "unconfirmed, configurable" if r.confidence == "M" else "confirmed",
                "branch": self.branch, "outcome": self.outcome,
                "conditional_probability": round(self.conditional_probability, 6),
                "frequency_per_year": self.frequency_per_year,
                "event_tree_source": self.tree_source,
                **({"pool_area_m2": round(self.pool_area_m2, 2), "pool_basis": self.pool_basis}
                   if self.outcome == "pool_fire" else {}),
                **({"vapour_source": self.pool_basis} if self.outcome != "pool_fire" and self.pool_basis else {})}


@dataclass
class ScenarioSet:
    cases: list[OutcomeCase]
    skipped: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def equipment_for(unit_type: str | None, storage: str, containment: str | None = None) -> str:
    if unit_type == "production":
        return "process_vessel"
    if storage != "atmospheric_liquid":
        return "pressure_vessel"
    return "atmospheric_tank" if containment in (None, "single") else f"atmospheric_tank_{containment}"


CONTAINED = {"atmospheric_tank_double": "release from the primary tank into the intact outer container "
                                        "(CPR 18E Table 3.4): contained, not modelled",
             "atmospheric_tank_full": "releases from the primary tank into the intact outer container "
                                      "(CPR 18E Table 3.4): contained, not modelled"}


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
        dp = max(given(props.pressure_bar_abs, "pressure_bar_abs") - P_AMBIENT_BAR, 0.0) * 1e5 + rho * 9.81 * LIQUID_HEAD_M
    else:
        dp = rho * 9.81 * LIQUID_HEAD_M
    return CD * area * math.sqrt(2.0 * rho * dp)


def release_class(sub: Substance, props: QraSubstance) -> str | None:
    flammable = sub.flammable and bool(sub.heat_of_combustion_mj_kg) and props.ignition is not None
    liquid = props.storage == "atmospheric_liquid"
    if sub.toxic and flammable:
        return "toxic_flammable_liquid" if liquid else "toxic_flammable_gas"
    if flammable:
        if liquid:
            return "flammable_liquid_k23" if props.ignition == "K23" else "flammable_liquid"
        return "flammable_gas"
    if sub.toxic:
        return "toxic"
    return None


def _continuous(sub: Substance, props: QraSubstance, equipment: str, loc: str, mass: float, hole_mm: float,
                freq: float, source: str, confidence: str) -> Release:
    """A continuous outflow through a hole of ``hole_mm`` from an inventory of ``mass`` kg (ValueError if the
    substance lacks the data for the orifice equation)."""
    rate = hole_rate_kg_s(props, sub.molar_mass_g_mol, hole_mm)
    rate = min(rate, mass / 60.0) if mass > 0 else rate  # a hole cannot empty the vessel faster than 1 min
    dur = min(mass / rate, MAX_DURATION_S)
    return Release(sub, props, equipment, loc, "continuous", rate * dur, rate, dur, hole_mm, freq, source, confidence)


def _releases(sub: Substance, props: QraSubstance, quantity_t: float, unit_type: str | None,
              p: QraParams, skipped: list, attrs: dict[str, Any] | None = None) -> list[Release]:
    attrs = attrs or {}
    equipment = equipment_for(unit_type, props.storage, attrs.get("containment"))
    rows = locs_for(p.frequency_set, equipment)
    if not rows:
        skipped.append({"substance": sub.key, "reason": f"no LOC frequencies for equipment {equipment!r} in "
                        f"frequency set {p.frequency_set!r}"})
        return []
    if equipment in CONTAINED:
        skipped.append({"substance": sub.key, "loc": equipment, "reason": CONTAINED[equipment]})
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
                out.append(_continuous(sub, props, equipment, row.loc, mass, given(row.hole_mm, "hole_mm"),
                                       row.frequency_per_year,
                                       row.source, row.confidence))
            except ValueError as exc:
                skipped.append({"substance": sub.key, "loc": row.loc, "reason": str(exc)})
    return out + _line_releases(sub, props, mass, p, skipped, attrs)


def _line_releases(sub: Substance, props: QraSubstance, mass: float, p: QraParams, skipped: list,
                   attrs: dict[str, Any]) -> list[Release]:
    """Pipe and loading LOCs of one item (CPR 18E Tables 3.7 and 3.13), or what was skipped and why."""
    length, diameter = attrs.get("pipe_length_m"), attrs.get("pipe_diameter_mm")
    transfers = attrs.get("transfers_per_year")
    out: list[Release] = []
    wanted: list[tuple[str, float, str]] = []  # (equipment, exposure multiplier, LOC label prefix)
    if length is None or diameter is None:
        skipped.append({"substance": sub.key, "loc": "pipe", "reason": "no pipe_length_m / pipe_diameter_mm on the "
                        "inventory item: pipe rupture and leak (CPR 18E Table 3.7) not included"})
    else:
        wanted.append(("pipe", float(length), f"P pipe DN{diameter:g} × {length:g} m"))
    if not transfers:
        skipped.append({"substance": sub.key, "loc": "loading arm / hose", "reason": "no transfers_per_year on the "
                        "inventory item: loading arm / hose rupture and leak (CPR 18E Table 3.13) not included"})
    elif diameter is None:
        skipped.append({"substance": sub.key, "loc": "loading arm / hose", "reason": "transfers_per_year given but "
                        "no pipe_diameter_mm for the arm or hose: loading LOCs not included"})
    else:
        kind = attrs.get("transfer_equipment") or "loading_arm"
        hours = float(transfers) * p.transfer_hours
        wanted.append((kind, hours, f"L {kind.replace('_', ' ')} DN{diameter:g}, {transfers:g} × "
                       f"{p.transfer_hours:g} h/yr"))
    for equipment, exposure, label in wanted:
        rows = lines_for(p.frequency_set, equipment, float(diameter or 0))
        if not rows:
            skipped.append({"substance": sub.key, "loc": equipment, "reason": f"no {equipment} LOC frequencies in "
                            f"frequency set {p.frequency_set!r} (CPR 18E tables are in purple_book)"})
            continue
        for row in rows:
            hole = row.hole_mm(float(diameter or 0))
            loc = (f"{label[0]}.{1 if row.kind == 'rupture' else 2} {row.kind} ({hole:g} mm) of {label[2:]}")
            try:
                out.append(_continuous(sub, props, equipment, loc, mass, hole, row.frequency * exposure,
                                       f"{row.source} × {exposure:g} {'m' if row.unit == 'per_m_year' else 'h/yr'}",
                                       row.confidence))
            except ValueError as exc:
                skipped.append({"substance": sub.key, "loc": loc, "reason": str(exc)})
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
        if (props.storage == "atmospheric_liquid" and unit_type != "production"
                and item.attributes.get("containment") is None):
            warnings.append(f"{sub.key}: no containment type on the inventory item — single containment assumed "
                            "(CPR 18E Table 3.4, the most frequent LOCs)")
        for rel in _releases(sub, props, item.quantity_t, unit_type, p, skipped, item.attributes):
            cases += _release_cases(rel, cls, bund_m2, p, prefix, skipped)
    return ScenarioSet(cases, skipped, warnings)


def _release_cases(rel: Release, cls: str, bund_m2: float, p: QraParams, prefix: str,
                   skipped: list[dict[str, Any]]) -> list[OutcomeCase]:
    """The outcome cases of one release: its ignition branches (direct from CPR 18E Table 4.5, delayed = 1 − direct
    where the class's tree has a delayed branch) × the tree's outcomes (``data/qra_event_tree.csv``)."""
    tree, sources = event_tree(), event_tree_sources()
    props, sub = rel.props, rel.substance
    size = ({"mass_kg": rel.mass_kg} if rel.kind == "instantaneous" else {"rate_kg_s": rel.rate_kg_s})
    pd = p_direct_ignition(props.ignition, **size) if props.ignition else 0.0
    branches = {"direct": pd}
    if (cls, rel.kind, "delayed") in tree:
        branches["delayed"] = 1.0 - pd
    branches["none"] = 1.0 - sum(branches.values())
    out: list[OutcomeCase] = []
    for branch, pb in branches.items():
        for outcome, po in tree.get((cls, rel.kind, branch), ()):
            if pb * po <= 0:
                continue
            case_rel: Release | str = rel
            if outcome in ("flash_fire", "vce") and props.storage == "atmospheric_liquid":
                case_rel = vapour_release(rel, bund_m2, p)  # the cloud is the pool's evaporation
            reason = case_rel if isinstance(case_rel, str) else _unsupported(case_rel, outcome)
            if reason or isinstance(case_rel, str):
                skipped.append({"substance": sub.key, "loc": rel.loc, "outcome": outcome, "reason": reason,
                                "frequency_per_year": rel.frequency_per_year * pb * po})
                continue
            area, basis = 0.0, None
            if outcome == "pool_fire":
                ps = pool_for(rel, bund_m2, p)
                area, basis = ps.area_m2, ps.basis
            elif case_rel is not rel:
                basis = (f"vapour evaporating from the pool: {case_rel.rate_kg_s:.4g} kg/s for "
                         f"{case_rel.duration_s:.0f} s ({evaporation.SOURCE})")
            out.append(OutcomeCase(f"{prefix}{sub.key}:{rel.loc.split(' ')[0]}:{branch}:{outcome}", case_rel, outcome,
                                   branch, pb * po, rel.frequency_per_year * pb * po, area, basis,
                                   sources.get((cls, rel.kind, branch, outcome))))
    return out


def vapour_release(rel: Release, bund_m2: float, p: QraParams) -> Release | str:
    """The vapour cloud source of a liquid release's delayed ignition: evaporation from its pool (``models.evaporation``,
    US EPA OCA eq. D-1) over the pool the release spreads to (bounded by the bund), at the lowest wind speed of the
    weather classes (conservative: concentration ∝ u^−0.22) and 20 °C; a continuous release cannot evaporate faster
    than it is fed. A string says why it cannot be computed."""
    sub, props = rel.substance, rel.props
    if not (props.vapour_pressure_kpa and sub.molar_mass_g_mol and props.liquid_density_kg_m3):
        return ("no vapour pressure, molar mass or liquid density (qra_substances.csv / substances.csv): the vapour "
                "cloud of a delayed ignition (flash fire / explosion) is not modelled")
    area = min(bund_m2, rel.mass_kg / (props.liquid_density_kg_m3 * p.min_pool_thickness_mm / 1000.0))
    wind = min(w.wind_speed_m_s for w in p.weather)
    rate = evaporation.evaporation_rate_kg_s(area, props.vapour_pressure_kpa, sub.molar_mass_g_mol, wind, T_STORAGE_K)
    if rel.kind == "continuous" and rel.rate_kg_s:
        rate = min(rate, rel.rate_kg_s)
    duration = min(rel.mass_kg / rate, MAX_DURATION_S)
    return Release(sub, props, rel.equipment, rel.loc, "continuous", rate * duration, rate, duration, rel.hole_mm,
                   rel.frequency_per_year, rel.frequency_source, rel.confidence)


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
