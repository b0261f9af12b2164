"""The spatial test kinds of the siting rules (one small function each): each asks the store
(``within`` / ``intersecting`` / ``nearest`` — one code path for both engines) and the consequence and
rescue analyses, and returns a :class:`~.results.RuleOutcome` with the measured value and unit, the
offending features, conflict geometries (GeoJSON) and notes. The quantitative-risk test kind is in
:mod:`.risk`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import shapely
from shapely.geometry.base import BaseGeometry

from ... import geodesy
from ...models import goaf as goaf_model
from ...models import tailings as tailings_model
from ...models.rescue_standards import incident_for_team_type
from ...routing import DEFAULT_ACCESS_SPEED_KMH
from ...stores.base import Feature, Store
from ...validation import Problem, ValidationFailed
from ..consequence.dispatch import hazard_source_zones, zones_for
from ..consequence.params import ScenarioParams
from ..consequence.zones import ZoneSet, level_rank
from ..rescue.engine import nearest_teams
from ..rescue.inputs import ROUTING_NOTE, arrival_standard_min
from .context import Context, judge
from .evidence import _feature, _line_between, _lines_from, _overlap, _ref, _zone_around
from .results import MAX_CONFLICT_FEATURES, RuleOutcome
from .rules import Rule


def _zone_overlap(ctx: Context, rule: Rule, layer: str, hits: list[tuple[Feature, BaseGeometry, dict]],
                  quantity: str) -> RuleOutcome:
    """Shared tail of the zone/area overlap tests: overlap area (polygons) or inside (points)."""
    geom = ctx.proposal.geometry
    offending, conflicts, pieces = [], [], []
    for f, zone, extra in hits:
        if ctx.is_point():
            if not shapely.intersects(zone, geom):
                continue
            offending.append(_ref(layer, f, inside=True, **extra))
            conflicts.append(_feature(zone, layer=layer, id=f.id, name=f.properties.get("name"), evidence=quantity))
            continue
        inter, area = _overlap(geom, zone)
        if area <= rule.limit:
            continue
        pieces.append(inter)
        offending.append(_ref(layer, f, overlap_area_m2=area, **extra))
        conflicts.append(_feature(inter, layer=layer, id=f.id, name=f.properties.get("name"),
                                  overlap_area_m2=round(area, 1), evidence=f"intersection with {quantity}"))
    if ctx.is_point():
        return RuleOutcome(rule, judge(rule, bool(offending)), float(len(offending)), "count",
                           f"{quantity}s containing the point", 0, "count", "a point must lie outside every zone",
                           offending, conflicts,
                           notes=[] if offending else [f"the point lies outside every {quantity}"])
    total = geodesy.area_m2(shapely.union_all(pieces)) if pieces else 0.0
    return RuleOutcome(rule, judge(rule, bool(offending)), total, "m²", f"overlap area with {quantity}s",
                       rule.threshold, rule.unit, "rule threshold (overlap per feature above it is a conflict)",
                       offending, conflicts[:MAX_CONFLICT_FEATURES])


def _spec_bound(store: Store, layer: str, attr: str, which: str) -> float | None:
    a = store.spec(layer).attribute(attr)
    return getattr(a, which)


def _stored_zones(ctx: Context, layer: str, f: Feature, params_json: str) -> ZoneSet:
    """Zones of a stored goaf or dam, cached by (layer, store revision, id, parameters): an edit is a new key."""
    key = (layer, ctx.store.revision(layer), f.id, params_json)
    return ctx.caches.get(ctx.caches.zones, key,
                          lambda: zones_for(layer, f, ScenarioParams.model_validate_json(params_json)))


def _runout(ctx: Context, height_m: float, storage_1e4m3: float, cap_m: float) -> tuple[float, float]:
    """(corridor length m, end width m) from the breach model — a bound for the corridor's reach."""
    def make() -> tuple[float, float]:
        res = tailings_model.breach_runout(height_m, storage_1e4m3, max_length_m=cap_m)
        return res.corridor_length_m, res.corridor_end_width_m

    return ctx.caches.get(ctx.caches.runouts, (height_m, storage_1e4m3, cap_m), make)


def run_goaf_influence(ctx: Context, rule: Rule) -> RuleOutcome:
    layer = rule.layers[0]
    max_depth = _spec_bound(ctx.store, layer, "mining_depth_m", "maximum") or 3000.0
    min_tb = min(x for x in (_spec_bound(ctx.store, layer, "tan_beta", "minimum"), ctx.params.tan_beta,
                             1.5) if x)
    search = float(rule.params.get("search_radius_m") or max_depth / min_tb)
    hits = []
    params_json = ctx.params.model_dump_json()
    for f in ctx.store.within(layer, ctx.proposal.geometry, search):
        if ctx.excluded(layer, f):
            continue
        # cheap exact test first (r = H/tanβ, tanβ: scenario override, else the feature's, else the default),
        # then the zone polygon (cached per goaf) only for goafs whose influence zone reaches the proposal
        tb = ctx.params.tan_beta or f.properties.get("tan_beta") or goaf_model.TAN_BETA
        if f.metres > goaf_model.influence_radius_m(float(f.properties["mining_depth_m"]), float(tb)) * 1.000001:
            continue
        zs = _stored_zones(ctx, "goaf_areas", f, params_json)
        influence = next(z for z in zs.zones if z.level == "orange")
        if f.metres > influence.distance_m:
            continue
        hits.append((f, influence.geometry, {"distance_m": f.distance_m, "influence_radius_m": influence.distance_m,
                                             "tan_beta": influence.details.get("tan_beta")}))
    out = _zone_overlap(ctx, rule, layer, hits, "goaf influence zone")
    out.method = (f"store.within({layer}, {search:.0f} m: largest depth / smallest tanβ of the layer spec), then "
                  "exact distance ≤ r = H/tanβ per goaf; overlap with the geodesic buffer (scenarios.goaf_zones)")
    return out


def run_tailings_corridor(ctx: Context, rule: Rule) -> RuleOutcome:
    layer = rule.layers[0]
    search = float(rule.params.get("search_radius_m") or ctx.params.max_corridor_m + 1000.0)
    hits = []
    notes = []
    for f in ctx.store.within(layer, ctx.proposal.geometry, search):
        # cheap bound first: the corridor reaches at most its length plus its far half-width from the dam
        run = _runout(ctx, float(f.properties["dam_height_m"]), float(f.properties["total_storage_1e4m3"]),
                      ctx.params.max_corridor_m)
        if f.metres > run[0] + run[1]:
            continue
        zs = _stored_zones(ctx, "tailings_dams", f, ctx.params.model_dump_json())
        zone = zs.zones[0]
        if not shapely.intersects(zone.geometry, ctx.proposal.geometry):
            continue
        if zone.details.get("corridor_length_capped"):
            notes.append(f"dam {f.id}: runout {zone.details['runout_distance_m']:.0f} m drawn capped at "
                         f"{zone.distance_m:.0f} m (max_corridor_m)")
        hits.append((f, zone.geometry, {"distance_m": f.distance_m, "corridor_length_m": zone.distance_m,
                                         "runout_distance_m": zone.details.get("runout_distance_m"),
                                         "grade": zone.details.get("grade")}))
    out = _zone_overlap(ctx, rule, layer, hits, "breach corridor")
    out.method = (f"store.within({layer}, {search:.0f} m = corridor cap + 1 km), corridor per dam from "
                  "scenarios.tailings_zones (Rico et al. 2008), intersection with the proposal")
    out.notes.extend(notes)
    return out


def run_layer_overlap(ctx: Context, rule: Rule) -> RuleOutcome:
    layer = rule.layers[0]
    hits: list[tuple[Feature, Any, dict[str, Any]]] = [
        (f, f.geometry, {}) for f in ctx.store.intersecting(layer, ctx.proposal.geometry) if not ctx.excluded(layer, f)]
    out = _zone_overlap(ctx, rule, layer, hits, f"{layer} feature")
    out.method = f"store.intersecting({layer}); geodesic area of each intersection"
    return out


def run_layer_distance(ctx: Context, rule: Rule) -> RuleOutcome:
    layer = rule.layers[0]
    found = [f for f in ctx.store.within(layer, ctx.proposal.geometry, rule.limit) if not ctx.excluded(layer, f)]
    return _distance_outcome(ctx, rule, layer, found, rule.limit, "rule threshold",
                             f"store.within({layer}, {rule.threshold:g} m), geodesic distance")


def _distance_outcome(ctx: Context, rule: Rule, layer: str, found: list[Feature], distance: float, basis: str,
                      method: str, extra: Callable[[Feature], dict] | None = None) -> RuleOutcome:
    offending = [_ref(layer, f, distance_m=f.distance_m, **(extra(f) if extra else {})) for f in found]
    drawn = found[:MAX_CONFLICT_FEATURES]
    lines = _lines_from(ctx.proposal.geometry, [f.geometry for f in drawn])
    conflicts = [_feature(line, layer=layer, id=f.id, name=f.properties.get("name"),
                          distance_m=round(f.metres, 1), evidence="shortest line from the proposal")
                 for f, line in zip(drawn, lines, strict=True)]
    notes = []
    if len(found) > MAX_CONFLICT_FEATURES:
        notes.append(f"{len(found)} features; lines drawn to the nearest {MAX_CONFLICT_FEATURES}")
    nearest = found[0].distance_m if found else None
    return RuleOutcome(rule, judge(rule, bool(found)), nearest, "m", "distance to the nearest offending feature",
                       distance, "m", basis, offending, conflicts, method, notes)


def _own_zones(ctx: Context, params: ScenarioParams) -> ZoneSet:
    return hazard_source_zones(ctx.proposal.geometry, ctx.proposal.inventory, params,
                                         source={"layer": None, "proposal": True})


def run_receptor_distance(ctx: Context, rule: Rule) -> RuleOutcome:
    layer = rule.layers[0]
    classes = set(rule.params.get("classes") or [])
    level = rule.params.get("consequence_level", "orange")
    notes: list[str] = []
    if ctx.proposal.inventory:
        zs = _own_zones(ctx, ctx.params)
        zones = [z for z in zs.zones if level_rank(z.level) <= level_rank(level)]
        notes.extend(zs.warnings)
        if zones:
            driver = max(zones, key=lambda z: z.distance_m)
            distance = driver.distance_m
            basis = (f"the proposal's own consequence radius: {driver.label_en} ({driver.kind}, "
                     f"{driver.threshold:g} {driver.threshold_unit}, {driver.substance}) — zones up to level "
                     f"{level!r}; GB/T 37243-2019 consequence method")
            for z in zones:
                ctx.evidence.append(z.to_feature({"role": "zone", "rule_id": rule.id}))
        else:
            distance = rule.limit
            basis = "rule default distance: no consequence model applies to the inventory"
    else:
        distance = rule.limit
        basis = ("rule default screening distance (no inventory given); GB/T 37243-2019 requires the consequence "
                 "method or a QRA against GB 36894-2018 — give the inventory for a consequence-based distance")
    found = [f for f in ctx.store.within(layer, ctx.proposal.geometry, distance)
             if (not classes or f.properties.get("receptor_class") in classes)]
    if ctx.proposal.kind == "park":
        inside = [f for f in found if f.metres <= 0.0]
        found = [f for f in found if f.metres > 0.0]
        if inside:
            notes.append(f"{len(inside)} protection target(s) inside the boundary are reported by the "
                         "'inside the park' rule")
    out = _distance_outcome(ctx, rule, layer, found, distance, basis,
                            f"store.within({layer}, {distance:.0f} m) filtered to {', '.join(sorted(classes))}",
                            extra=lambda f: {"receptor_class": f.properties.get("receptor_class"),
                                             "population": f.properties.get("population")})
    out.notes = notes + out.notes
    return out


def run_receptors_inside(ctx: Context, rule: Rule) -> RuleOutcome:
    layer = rule.layers[0]
    classes = set(rule.params.get("classes") or [])
    found = [f for f in ctx.store.intersecting(layer, ctx.proposal.geometry)
             if not classes or f.properties.get("receptor_class") in classes]
    offending = [_ref(layer, f, receptor_class=f.properties.get("receptor_class"),
                      population=f.properties.get("population")) for f in found]
    conflicts = [_feature(f.geometry, layer=layer, id=f.id, name=f.properties.get("name"),
                          receptor_class=f.properties.get("receptor_class"), evidence="protection target inside")
                 for f in found[:MAX_CONFLICT_FEATURES]]
    return RuleOutcome(rule, judge(rule, bool(found)), float(len(found)), "count", "protection targets inside",
                       0, "count", "none allowed", offending, conflicts, f"store.intersecting({layer})")


def _domino_params(ctx: Context, threshold_kpa: float) -> ScenarioParams:
    return ctx.params.model_copy(update={"kinds": ("explosion",), "overpressure_kpa": (float(threshold_kpa),)})


def explosion_radius_m(ctx: Context, inventory: Any, params: ScenarioParams) -> tuple[float | None, str | None]:
    """(radius m, driving substance) of the explosion zone of an inventory; cached per distinct inventory
    (the radius does not depend on where the unit is, so a fixed anchor point is used)."""
    key = (orjson.dumps(inventory, option=orjson.OPT_SORT_KEYS), params.model_dump_json())

    def make() -> tuple[float | None, str | None]:
        zs = hazard_source_zones(geodesy.point(0.0, 0.0), inventory, params)
        if not zs.zones:
            return None, None
        z = max(zs.zones, key=lambda z: z.distance_m)
        return z.distance_m, z.substance

    return ctx.caches.get(ctx.caches.radii, key, make)


def run_domino_outgoing(ctx: Context, rule: Rule) -> RuleOutcome:
    layer = rule.layers[0]
    if not ctx.proposal.inventory:
        return RuleOutcome(rule, "not_evaluated", threshold=rule.threshold, threshold_unit=rule.unit,
                           notes=["not evaluated: no inventory given (the proposal's explosion radius needs the "
                                  "design maximum quantities)"])
    radius, substance = explosion_radius_m(ctx, ctx.proposal.inventory, _domino_params(ctx, rule.limit))
    if radius is None:
        return RuleOutcome(rule, "pass", 0.0, "m", "explosion radius of the proposal", rule.threshold, rule.unit,
                           "escalation overpressure",
                           notes=["no explosion scenario applies to the inventory (no flammable gas): no domino "
                                  "radius by overpressure"])
    found = [f for f in ctx.store.within(layer, ctx.proposal.geometry, radius) if not ctx.excluded(layer, f)]
    out = _distance_outcome(ctx, rule, layer, found, radius,
                            f"the proposal's explosion radius at {rule.threshold:g} kPa ({substance}), "
                            "TNT-equivalence VCE (CCPS 1994; Swisdak 1994)",
                            f"store.within({layer}, {radius:.0f} m)")
    ctx.evidence.append(_feature(_zone_around(ctx.proposal.geometry, radius), role="zone", rule_id=rule.id,
                                 kind="explosion", threshold=rule.threshold, threshold_unit="kPa",
                                 distance_m=round(radius, 1)))
    return out


def run_domino_incoming(ctx: Context, rule: Rule) -> RuleOutcome:
    layer = rule.layers[0]
    search = float(rule.params.get("search_radius_m") or 5000.0)
    params = _domino_params(ctx, rule.limit)
    offending: list[dict[str, Any]] = []
    conflicts: list[dict[str, Any]] = []
    notes: list[str] = []
    worst: float | None = None
    for f in ctx.store.within(layer, ctx.proposal.geometry, search):
        if ctx.excluded(layer, f) or not f.properties.get("inventory"):
            continue
        radius, substance = explosion_radius_m(ctx, f.properties["inventory"], params)
        if radius is None:
            continue
        if radius > search:
            notes.append(f"source {f.id}: explosion radius {radius:.0f} m exceeds the search radius {search:.0f} m; "
                         "raise params.search_radius_m")
        if f.metres > radius:
            continue
        margin = radius - f.metres
        worst = margin if worst is None else max(worst, margin)
        offending.append(_ref(layer, f, distance_m=f.distance_m, explosion_radius_m=radius, substance=substance))
        if len(conflicts) < MAX_CONFLICT_FEATURES:
            conflicts.append(_feature(_line_between(f.geometry, ctx.proposal.geometry), layer=layer, id=f.id,
                                      name=f.properties.get("name"), distance_m=round(f.metres, 1),
                                      explosion_radius_m=round(radius, 1), evidence="source → proposal"))
            conflicts.append(_feature(_zone_around(f.geometry, radius), layer=layer, id=f.id,
                                      name=f.properties.get("name"), explosion_radius_m=round(radius, 1),
                                      evidence=f"explosion radius at {rule.threshold:g} kPa"))
    return RuleOutcome(rule, judge(rule, bool(offending)), worst or 0.0, "m",
                       "largest penetration of an existing source's explosion radius into the proposal",
                       rule.threshold, rule.unit, "escalation overpressure; radius from each source's inventory "
                       "(TNT-equivalence VCE, CCPS 1994; Swisdak 1994)", offending, conflicts,
                       f"store.within({layer}, {search:.0f} m), exact distance ≤ each source's explosion radius "
                       "(cached per distinct inventory)", notes)


def run_rescue_time(ctx: Context, rule: Rule) -> RuleOutcome:
    team_type = str(rule.params.get("team_type") or "")
    standard, source = arrival_standard_min(team_type, ctx.standards)
    limit = rule.threshold if rule.threshold is not None else standard
    basis = (f"rule threshold ({limit:g} min)" if rule.threshold is not None
             else f"arrival standard of {team_type} teams: {source}")
    incident = incident_for_team_type(team_type)
    if incident is None:
        raise ValidationFailed([Problem(None, "team_type", f"no incident type lists team type {team_type!r}")])
    k = int(rule.params.get("k") or 1)
    by, method_notes = "time", []
    key = ("time", team_type, k)
    if key not in ctx.rescue_answers:
        ctx.rescue_answers[key] = nearest_teams(ctx.store, ctx.proposal.geometry, incident, k=k, by="time",
                                                graph=ctx.graph, standards=ctx.standards, team_types=[team_type])
    answer = ctx.rescue_answers[key]
    teams = answer.teams
    if not any(t.reachable for t in teams) and (answer.reason or not answer.teams):
        method_notes.append(f"road time unavailable ({answer.reason or 'no team reachable by road'}): "
                            "straight-line distance instead")
        by = "distance"
        answer = nearest_teams(ctx.store, ctx.proposal.geometry, incident, k=k, by="distance",
                               standards=ctx.standards, team_types=[team_type])
        teams = answer.teams
    if by == "time":
        reach = [t for t in teams if t.reachable]
        best = min(reach, key=lambda t: t.eta_min) if reach else None
        method = f"road network time via rescue.nearest_teams(by='time', team_types=[{team_type!r}]); " \
                 f"{ROUTING_NOTE}"
        violated = best is None or best.eta_min > limit
        measured = best.eta_min if best else None
        offending = [] if best is None else [{"layer": "rescue_teams", "id": best.id, "name": best.name,
                                              "eta_min": round(best.eta_min, 2),
                                              "road_distance_m": round(best.road_distance_m, 1),
                                              "distance_m": round(best.distance_m, 1)}]
        conflicts = [] if best is None or best.route is None else [
            _feature(best.route, layer="rescue_teams", id=best.id, name=best.name, eta_min=round(best.eta_min, 2),
                     evidence="fastest route")]
        notes = method_notes + ([] if best else [f"no {team_type} team reachable by road"])
        return RuleOutcome(rule, judge(rule, violated), measured, "min",
                           f"road ETA of the fastest {team_type} team", limit, "min", basis, offending, conflicts,
                           method, notes)
    best = teams[0] if teams else None
    # straight line: no time without roads; compare the distance a vehicle covers at the access speed
    speed = DEFAULT_ACCESS_SPEED_KMH
    reach_m = limit / 60.0 * speed * 1000.0
    violated = best is None or best.distance_m > reach_m
    offending = [] if best is None else [{"layer": "rescue_teams", "id": best.id, "name": best.name,
                                          "distance_m": round(best.distance_m, 1)}]
    conflicts = [] if best is None else [_feature(_line_between(ctx.proposal.geometry, geodesy.point(best.lon, best.lat)),
                                                  layer="rescue_teams", id=best.id, name=best.name,
                                                  distance_m=round(best.distance_m, 1), evidence="straight line")]
    return RuleOutcome(rule, judge(rule, violated), None if best is None else best.distance_m, "m",
                       f"straight-line distance to the nearest {team_type} team", reach_m, "m",
                       f"{basis}; straight line at {speed:g} km/h (no road network)", offending, conflicts,
                       "straight-line (geodesic) distance via rescue.nearest_teams(by='distance')", method_notes)


def run_min_area(ctx: Context, rule: Rule) -> RuleOutcome:
    area = ctx.proposal.area_km2()
    if area is None:
        return RuleOutcome(rule, "not_evaluated", notes=["not evaluated: a point has no area"])
    return RuleOutcome(rule, judge(rule, area < rule.limit), area, "km²", "geodesic area of the boundary",
                       rule.threshold, rule.unit, "rule threshold (minimum)", method="geodesy.area_m2 (WGS84)")


