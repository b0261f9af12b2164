"""One runner per hazard of an inventory item: the consequence model's result → zone candidates (one per
threshold level), plus the model record and notes; :func:`scenario_set` says which runners apply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from shapely.geometry.base import BaseGeometry

from ... import geodesy
from ...models import dense_gas, explosion, fire, fireball, jet_fire, plume, pool
from ...models._common import Constant, given, json_safe, tag_of
from ...models.substances import Substance
from .inventory import InventoryItem
from .params import (
    LOW_REACTIVITY,
    LOW_REACTIVITY_SOURCE,
    OVERPRESSURE_SOURCE,
    RELEASE_SOURCE,
    THERMAL_SOURCE,
    ScenarioParams,
)
from .zones import LEVELS, buffer_m


@dataclass
class Candidate:
    kind: str
    rank: int
    threshold: float
    unit: str
    distance_m: float
    geometry: BaseGeometry
    buffer_m: float | None
    substance: str
    level_name: str | None
    basis: str | None = None
    model: str = ""
    model_reason: str | None = None
    threshold_source: str | None = None
    truncated: bool = False
    truncation_reason: str | None = None
    true_distance_m: float | None = None
    lower_bound: bool = False
    near_field: bool = False
    beyond_model_range: bool = False


def _threshold_source(kind: str, value: float, p: ScenarioParams) -> str:
    if kind == "explosion":
        known = {t.threshold_kpa for t in explosion.default_thresholds()}
        return OVERPRESSURE_SOURCE if value in known else "scenario parameter overpressure_kpa"
    known = {10.0, 5.0, 2.0}
    return THERMAL_SOURCE if value in known else "scenario parameter heat_flux_kw_m2"


def _circle_candidates(kind: str, sub_key: str, model: str, reason: str, geom: BaseGeometry, p: ScenarioParams,
                       rows: Sequence[tuple[float, str, float | None, str | None, bool]]) -> list[Candidate]:
    """rows: (threshold, unit, radius or None, description, near_field) → buffered candidates."""
    out = []
    for rank, (thr, unit, radius, desc, near) in enumerate(rows):
        if radius is None or radius <= 0:
            continue
        src = (_threshold_source(kind if kind == "explosion" else "thermal", thr, p) if unit in ("kPa", "kW/m²")
               else "Eisenberg et al. (1975) burn probit, 1 % lethality [S]")
        out.append(Candidate(kind, rank, thr, unit, radius, buffer_m(geom, radius), radius, sub_key, desc,
                              model=model, model_reason=reason, threshold_source=src, near_field=near))
    return out


def _explosion(item: InventoryItem, geom: BaseGeometry, p: ScenarioParams, models: list, notes: list) -> list[Candidate]:
    sub = item.substance
    mass_kg = item.quantity_t * 1000.0 * p.cloud_fraction
    res = explosion.vce_zones(mass_kg, given(sub.heat_of_combustion_mj_kg, "heat_of_combustion_mj_kg"), thresholds_kpa=list(p.overpressure_kpa),
                              yield_factor=p.yield_factor)
    d = res.to_dict()
    d["constants"].append(json_safe(Constant("heat_of_combustion", sub.heat_of_combustion_mj_kg, "MJ/kg",
                                             tag_of(sub.source), f"substance table: {sub.source}")))
    models.append({"substance": sub.key, "kind": "explosion", **d})
    notes.extend(f"{sub.key}: {w}" for w in res.warnings)
    reason = (f"flammable {sub.phase} ({item.storage} storage): TNT-equivalent vapour-cloud explosion, "
              f"{p.cloud_fraction:g} of {item.quantity_t:g} t in the cloud")
    return _circle_candidates("explosion", sub.key, explosion.MODEL, reason, geom, p, [
        (z.threshold_kpa, "kPa", z.radius_m, z.description_en, False) for z in res.zones])


def _fire(item: InventoryItem, geom: BaseGeometry, p: ScenarioParams, models: list, notes: list) -> list[Candidate]:
    sub = item.substance
    br = fire.burning_rate(sub.key)
    if p.burning_rate_kg_m2_s is not None:
        rate, rate_src, rate_tag = p.burning_rate_kg_m2_s, "scenario parameter burning_rate_kg_m2_s", "M"
    elif br is not None:
        rate, rate_src, rate_tag = br.kg_m2_s, br.source, br.tag
    else:
        notes.append(f"{sub.key}: no burning rate in the table (Babrauskas 1983); pool fire skipped — give "
                     "burning_rate_kg_m2_s to model it")
        return []
    ps = _pool(item, geom, p, rate)
    if isinstance(ps, str):
        notes.append(ps)
        return []
    res = fire.fire_zones(burning_rate_kg_m2_s=rate, area_m2=ps.area_m2,
                          heat_of_combustion_mj_kg=sub.heat_of_combustion_mj_kg,
                          radiative_fraction=p.radiative_fraction, thresholds_kw_m2=list(p.heat_flux_kw_m2))
    d = res.to_dict()
    d["parameters"]["area_basis"] = ps.basis
    d["pool"] = ps.to_dict()
    d["constants"] = json_safe([
        Constant("burning_rate", rate, "kg/m²/s", rate_tag, rate_src),
        Constant("heat_of_combustion", sub.heat_of_combustion_mj_kg, "MJ/kg", tag_of(sub.source),
                 f"substance table: {sub.source}"),
        Constant("radiative_fraction", p.radiative_fraction, "1", "M", "CCPS (2000): 0.15–0.35; 0.35 conservative"),
        Constant("transmissivity", 1.0, "1", "M", "no atmospheric absorption (conservative)"),
    ])
    models.append({"substance": sub.key, "kind": "fire", **d})
    reason = f"flammable liquid in {item.storage} storage: pool fire, point-source radiation"
    return _circle_candidates("fire", sub.key, fire.MODEL, reason, geom, p, [
        (z.threshold_kw_m2, "kW/m²", z.radius_m, z.description_en, z.near_field) for z in res.zones])


def _pool(item: InventoryItem, geom: BaseGeometry, p: ScenarioParams, rate: float) -> pool.PoolSize | str:
    """The worst-case pool of an item (whole quantity lost at once, ``models.pool``), bounded by the bund: the
    smaller of ``pool_area_m2`` and a polygon unit's area. A note (str) when it cannot be sized."""
    sub = item.substance
    rho = pool.liquid_density(sub.key)
    if rho is None:
        return f"{sub.key}: no liquid density (qra_substances.csv); pool fire skipped"
    bund = p.pool_area_m2
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        bund = min(bund, geodesy.area_m2(geom))
    if item.quantity_t <= 0:
        return f"{sub.key}: quantity 0 t; no pool"
    return pool.pool_size(release="instantaneous", burning_rate_kg_m2_s=rate, mass_kg=item.quantity_t * 1000.0,
                          density_kg_m3=rho, bund_area_m2=bund, min_thickness_m=p.min_pool_thickness_mm / 1000.0)


def _fireball(item: InventoryItem, geom: BaseGeometry, p: ScenarioParams, models: list, notes: list) -> list[Candidate]:
    sub = item.substance
    res = fireball.fireball_zones(item.quantity_t * 1000.0, sub.heat_of_combustion_mj_kg,
                                  thresholds_kw_m2=tuple(p.heat_flux_kw_m2), relative_humidity=p.relative_humidity,
                                  ambient_k=p.ambient_k)
    models.append({"substance": sub.key, "kind": "fireball", **res.to_dict()})
    reason = (f"pressurised liquefied flammable gas: BLEVE fireball of the whole {item.quantity_t:g} t "
              f"(D {res.diameter_m:.0f} m, {res.duration_s:.1f} s)")
    rows = [(z.threshold, z.unit, z.radius_m, z.description_en, z.inside_fireball_projection) for z in res.zones]
    out = _circle_candidates("fireball", sub.key, fireball.MODEL, reason, geom, p, rows[:-1])
    dose = rows[-1]
    if dose[2]:
        out += [Candidate("fireball", 0, dose[0], dose[1], dose[2], buffer_m(geom, dose[2]), dose[2], sub.key,
                           dose[3], model=fireball.MODEL, model_reason=reason,
                           threshold_source="Eisenberg et al. (1975) burn probit, 1 % lethality (Y = 2.67) [S]",
                           near_field=dose[4])]
    return out


def _jet_fire(item: InventoryItem, geom: BaseGeometry, p: ScenarioParams, models: list, notes: list) -> list[Candidate]:
    sub = item.substance
    d_hole = p.hole_diameter_mm / 1000.0
    if item.storage == "pressurised":
        rate = jet_fire.liquid_rate_kg_s(d_hole, p.jet_pressure_mpa * 1e6 - 101_325.0, p.liquid_density_kg_m3)
        basis = (f"liquid flow through a {p.hole_diameter_mm:g} mm hole at {p.jet_pressure_mpa:g} MPa, "
                 f"ρ_l {p.liquid_density_kg_m3:g} kg/m³ (Bernoulli, C_d 0.62)")
    else:
        rate = jet_fire.choked_gas_rate_kg_s(d_hole, p.jet_pressure_mpa * 1e6, given(sub.molar_mass_g_mol, "molar_mass_g_mol"), p.ambient_k)
        basis = f"choked gas flow through a {p.hole_diameter_mm:g} mm hole at {p.jet_pressure_mpa:g} MPa (C_d 0.62)"
    res = jet_fire.jet_fire_zones(rate, given(sub.heat_of_combustion_mj_kg, "heat_of_combustion_mj_kg"), thresholds_kw_m2=tuple(p.heat_flux_kw_m2),
                                  rate_basis=basis)
    d = res.to_dict()
    d["constants"] += json_safe([
        Constant("hole_diameter", p.hole_diameter_mm, "mm", "M", "scenario assumption (configurable)"),
        Constant("upstream_pressure", p.jet_pressure_mpa, "MPa", "M", "scenario assumption (configurable)")])
    models.append({"substance": sub.key, "kind": "jet_fire", **d})
    reason = f"{item.storage} flammable gas: jet fire from a hole, {rate:.2f} kg/s, flame {res.flame_length_m:.0f} m"
    return _circle_candidates("jet_fire", sub.key, jet_fire.MODEL, reason, geom, p, [
        (z.threshold_kw_m2, "kW/m²", z.radius_m, f"{z.threshold_kw_m2:g} kW/m²", z.near_field) for z in res.zones])


def _toxic_model(sub: Substance, item: InventoryItem, rate_g_s: float, duration_s: float, p: ScenarioParams):
    """(centreline ppm function, half-width function, model name, why, record) — Britter–McQuaid when the
    workbook's criterion says dense, else the Gaussian plume."""
    gauss = lambda x: plume.centreline_ppm(  # noqa: E731
        x, release_rate_g_s=rate_g_s, wind_speed_m_s=p.wind_speed_m_s, stability=p.stability,
        molar_mass_g_mol=sub.molar_mass_g_mol, release_height_m=p.release_height_m, terrain=p.terrain)
    src = dense_gas.source_term(given(sub.molar_mass_g_mol, "molar_mass_g_mol"), item.storage, ambient_k=p.ambient_k,
                                boiling_point_k=sub.boiling_point_k, liquid_cp_kj_kg_k=sub.liquid_cp_kj_kg_k,
                                latent_heat_kj_kg=sub.latent_heat_kj_kg)
    record: dict[str, Any] = {"source_term": json_safe(src)}
    if p.release_height_m > 0:
        why = f"elevated release ({p.release_height_m:g} m): the workbook covers ground-level releases only"
    elif src.density_kg_m3 <= src.air_density_kg_m3:
        why = (f"cloud not denser than air ({src.density_kg_m3:.3g} ≤ {src.air_density_kg_m3:.3g} kg/m³): "
               "passive dispersion")
    else:
        m = float(sub.molar_mass_g_mol or 0.0)
        pl = dense_gas.dense_cloud("plume", rate_kg_s=rate_g_s / 1000.0, molar_mass_g_mol=m, source=src,
                                   wind_speed_m_s=p.wind_speed_m_s, stability=p.stability, terrain=p.terrain)
        pf = dense_gas.dense_cloud("puff", mass_kg=rate_g_s / 1000.0 * duration_s, molar_mass_g_mol=m, source=src,
                                   wind_speed_m_s=p.wind_speed_m_s, stability=p.stability, terrain=p.terrain)
        record.update({"plume_density_number": pl.density_number, "puff_density_number": pf.density_number,
                       "alpha_plume": pl.alpha, "alpha_puff": pf.alpha, "handover_m": pl.handover_m,
                       "alpha_clamped": pl.alpha_clamped or pf.alpha_clamped})
        if pl.dense or pf.dense:
            why = (f"dense by the workbook criterion (plume (g₀′q₀/u³D)^⅓ = {pl.density_number:.2f} vs 0.15; "
                   f"puff (g₀′V₀^⅓)^½/u = {pf.density_number:.2f} vs 0.20; {src.note}); continuous or instantaneous "
                   f"by u·R_d/x (2.5 / 0.6), R_d = {duration_s:g} s")
            conc = lambda x: dense_gas.release_ppm(x, plume=pl, puff=pf, duration_s=duration_s)  # noqa: E731

            gauss_half = plume.gaussian_half_width(p.stability, p.terrain, max(pl.virtual_offset_m, 0.0))

            def half(x, level, c, pl=pl, gauss_half=gauss_half):
                x = np.asarray(x, dtype=float)
                return np.where(x <= pl.handover_m, pl.half_width_m(x), gauss_half(x, level, c))
            return conc, half, dense_gas.MODEL, why, record
        why = (f"not dense by the workbook criterion (plume {pl.density_number:.2f} < 0.15 and puff "
               f"{pf.density_number:.2f} < 0.20): passive dispersion")
    return gauss, plume.gaussian_half_width(p.stability, p.terrain), plume.MODEL, why, record


def _toxic(item: InventoryItem, geom: BaseGeometry, p: ScenarioParams, models: list, notes: list) -> list[Candidate]:
    sub = item.substance
    duration_s = p.release_duration_min * 60.0
    if p.release_rate_g_s is not None:
        rate, basis = p.release_rate_g_s, "release_rate_g_s scenario parameter"
    else:
        rate = item.quantity_t * 1e6 * p.release_fraction / duration_s
        basis = (f"{p.release_fraction:g} × {item.quantity_t:g} t released over {p.release_duration_min:g} min "
                 f"({RELEASE_SOURCE})")
        if sub.phase != "gas":
            notes.append(f"{sub.key} is a liquid: the release rate assumes the gas rule (whole quantity over "
                         f"{p.release_duration_min:g} min); pool evaporation would give a lower rate")
    conc, half, model, why, record = _toxic_model(sub, item, rate, duration_s, p)
    locs, loc_notes = plume.levels_of_concern(sub)
    notes.extend(f"{sub.key}: {n}" for n in loc_notes)
    loc_tag = tag_of(sub.source)
    lon0, lat0 = geodesy.anchor(geom)
    out, zone_rows = [], []
    rank_of = {lvl: i for i, lvl in enumerate(LEVELS)}
    for loc in locs:
        ext = plume.threat_extent(conc, half, loc.ppm, max_draw_m=min(p.max_plume_m, plume.MODEL_RANGE_M))
        beyond = ext.distance_m > plume.MODEL_RANGE_M
        zone_rows.append({"zone": loc.zone, "level": loc.name, "ppm": loc.ppm,
                          "distance_m": None if beyond else round(ext.distance_m, 1),
                          "drawn_m": round(ext.drawn_m, 1), "truncated": ext.truncated,
                          "distance_is_lower_bound": ext.lower_bound and not beyond,
                          "beyond_model_range": beyond, "model_range_m": plume.MODEL_RANGE_M})
        if ext.drawn_m <= 0 or ext.footprint_local_m is None:
            continue
        if p.wind_dir_deg is None:
            shape, buf = buffer_m(geom, ext.drawn_m), ext.drawn_m
        else:
            shape = geodesy.local_shape_to_lonlat(ext.footprint_local_m, lon0, lat0, (p.wind_dir_deg + 180.0) % 360.0)
            if geom.geom_type != "Point":
                shape = shape.union(geom)
            buf = None
        reason_trunc = None
        if beyond:
            reason_trunc = (f"{plume.beyond_range_text()}: the level is still exceeded at the drawn edge "
                            f"({ext.drawn_m:.0f} m); no distance is reported past the model's validity (Briggs σ "
                            "fitted to about 10 km; ALOHA stops at 10 km) — the zone and its population are lower bounds")
        elif ext.truncated:
            reason_trunc = (f"drawn to max_plume_m = {p.max_plume_m:g} m (the Briggs σ curves are fitted to about "
                            f"10 km); the level is reached at {ext.distance_m:.0f} m"
                            + (" or farther (search limit)" if ext.lower_bound else "")
                            + ": the zone and its population are lower bounds")
        out.append(Candidate(
            "toxic", rank_of.get(loc.zone, len(LEVELS)), loc.ppm, "ppm", ext.drawn_m, shape, buf, sub.key, loc.name,
            loc.basis, model=model, model_reason=why,
            threshold_source=f"{loc.name} {loc.ppm:g} ppm ({'US EPA/NRC AEGL' if loc.basis == 'AEGL' else 'AIHA ERPG'}"
                             f"; substance table tag [{loc_tag}])",
            truncated=ext.truncated, truncation_reason=reason_trunc,
            true_distance_m=None if beyond else ext.distance_m, lower_bound=ext.lower_bound and not beyond,
            beyond_model_range=beyond))
    consts = list(dense_gas.CONSTANTS) if model == dense_gas.MODEL else []
    consts += [Constant(f"level_of_concern_{loc.zone}", loc.ppm, "ppm", loc_tag, f"{loc.name}: {sub.source}")
               for loc in locs]
    if model == dense_gas.MODEL:
        consts += [Constant("boiling_point", sub.boiling_point_k, "K", "M", "substance table (handbook value: unconfirmed, configurable)")]
    models.append({"substance": sub.key, "kind": "toxic", "model": model, "model_reason": why,
                   "sources": list(dense_gas.SOURCES if model == dense_gas.MODEL else plume.SOURCES),
                   "parameters": {"release_rate_g_s": rate, "release_rate_basis": basis, "duration_s": duration_s,
                                  "wind_speed_m_s": p.wind_speed_m_s, "stability": p.stability, "terrain": p.terrain,
                                  "storage": item.storage, "storage_basis": item.storage_basis,
                                  "max_plume_m": p.max_plume_m},
                   "dense_gas": json_safe(record), "zones": zone_rows, "constants": json_safe(consts),
                   "limitations": [plume.DENSE_GAS_LIMITATION] if model == plume.MODEL and sub.dense_gas else []})
    return out


def scenario_set(item: InventoryItem, p: ScenarioParams) -> tuple[list[str], list[dict[str, str]]]:
    """The consequence models that apply to one inventory item, by substance and storage, and the ones skipped
    with their reason."""
    sub = item.substance
    run, skip = [], []

    def want(kind: str, ok: bool, why_not: str) -> None:
        if kind not in p.kinds:
            return
        (run.append(kind) if ok else skip.append({"substance": sub.key, "model": kind, "reason": why_not}))

    flam = sub.flammable and bool(sub.heat_of_combustion_mj_kg)
    gas = sub.phase == "gas"
    low = sub.key in LOW_REACTIVITY
    want("explosion", flam and (gas or p.vce_for_liquids) and (not low or p.vce_low_reactivity),
         "not flammable" if not flam else
         f"low-reactivity fuel: no hydrocarbon-yield VCE unless vce_low_reactivity ({LOW_REACTIVITY_SOURCE})" if low
         else "flammable liquid: VCE only with vce_for_liquids")
    want("fire", flam and not gas, "not a flammable liquid (pool fire applies to liquids in atmospheric storage)")
    want("fireball", flam and gas and item.storage == "pressurised" and not low,
         "BLEVE fireball applies to pressurised liquefied flammable gases" + (" (low-reactivity fuel)" if low else ""))
    want("jet_fire", flam and gas and item.storage in ("pressurised", "compressed") and not low
         and bool(sub.molar_mass_g_mol),
         "jet fire applies to pressurised or compressed flammable gases" + (" (low-reactivity fuel)" if low else ""))
    want("toxic", sub.toxic and bool(sub.molar_mass_g_mol), "not toxic (no AEGL/ERPG-based model)")
    return run, skip


RUNNERS = {"explosion": _explosion, "fire": _fire, "fireball": _fireball, "jet_fire": _jet_fire, "toxic": _toxic}

