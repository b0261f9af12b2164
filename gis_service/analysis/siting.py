"""Siting conflicts: check a proposed chemical park or hazardous installation against the rule sets.

A proposal (park boundary, or installation point / footprint with an optional inventory) is checked
rule by rule; rules are data (``rules/*.yaml``, read by :mod:`.siting_rules`). Each rule's spatial test
kind is one small function in :data:`RUNNERS` that asks the store (``within`` / ``intersecting`` /
``nearest`` — one code path for both engines) and the consequence models (via :mod:`.scenarios`), and
returns a :class:`RuleOutcome` with the measured value and unit, the offending features (layer, id,
name), conflict geometries (GeoJSON) and notes.

Verdict: ``fail`` if any fail-severity rule is violated; ``conditional`` if only warn-severity rules
are; ``pass`` otherwise. ``not_evaluated`` rules (optional layer absent, no inventory for a domino
check) do not change the verdict and are listed.

Science and sources (see also the rule files):

- Goaf influence zone = goaf outline buffered by r = H/tanβ (probability-integral method, DOMAIN.md §5;
  :func:`.scenarios.goaf_zones`). Candidates come from ``store.within`` with a search radius derived
  from the layer spec (largest depth / smallest tanβ), then exact per-goaf distance ≤ r.
- Tailings breach corridor: Rico et al. (2008) runout along the downstream azimuth, capped
  (:func:`.scenarios.tailings_zones`, DOMAIN.md §4).
- External safety distance: from the proposal's own consequence radii when an inventory is given
  (:func:`.scenarios.hazard_source_zones`, zones up to the rule's ``consequence_level``); otherwise the
  rule's configurable default distance. GB/T 37243-2019 requires the consequence method or a QRA
  (GB 36894-2018 individual risk); a fixed distance is a screening value only (DOMAIN.md §2, §6).
- Domino: explosion radius at the escalation overpressure (rule threshold, kPa) from TNT-equivalence
  VCE (DOMAIN.md §3). Existing sources' radii are computed from their inventories and cached per
  distinct inventory (the radius does not depend on the location).
- Rescue: :func:`.rescue.nearest_teams` by road time (the outcome says which method answered).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import orjson
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from .. import geodesy
from ..geojson_io import check_crs_member, parse_geometry, parse_json
from ..models import goaf as goaf_model
from ..models import tailings as tailings_model
from ..stores.base import Feature, Query, Store
from ..validation import Problem, ValidationFailed, check_geometry, coerce_value
from . import rescue, scenarios
from .siting_rules import PROPOSAL_KINDS, TEST_KINDS, Rule, RuleSet, rule_set_for, rule_sets

OUTCOMES = ("pass", "warn", "fail", "not_evaluated")
VERDICT_LABELS = {"pass": ("通过", "pass"), "conditional": ("有条件通过", "conditional: warnings only"),
                  "fail": ("不通过", "fail")}
DEFAULT_MAX_AREA_KM2 = 200_000.0  # cap when no province polygon is loaded (Jilin ≈ 187 400 km²)
MAX_CONFLICT_FEATURES = 200       # per rule; offending features are all listed, drawn evidence is capped
PARK_LAYER = "chemical_parks"
HAZARD_LAYER = "hazard_sources"


# -- the proposal --------------------------------------------------------------------------------

@dataclass
class Proposal:
    """What is checked: geometry (WGS84), kind (park | installation), optional inventory.

    ``source`` names the stored feature when an existing park is checked; its own feature and its
    own hazard sources (``park_id``) are then excluded from the overlap and domino rules.
    """

    geometry: BaseGeometry
    kind: str
    name: str | None = None
    inventory: list[dict[str, Any]] | None = None
    source: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def park_id(self) -> int | None:
        if self.source and self.source.get("layer") == PARK_LAYER:
            return int(self.source["id"])
        return None

    def area_km2(self) -> float | None:
        if self.geometry.geom_type in ("Polygon", "MultiPolygon"):
            return geodesy.area_m2(self.geometry) / 1e6
        return None

    def to_dict(self) -> dict[str, Any]:
        area = self.area_km2()
        return {"kind": self.kind, "name": self.name, "geometry": _geojson(self.geometry),
                "geometry_type": self.geometry.geom_type,
                "area_km2": None if area is None else round(area, 4),
                "inventory": self.inventory, "source": self.source, "notes": list(self.notes)}


# -- the report ----------------------------------------------------------------------------------

@dataclass
class RuleOutcome:
    rule: Rule
    outcome: str
    measured: float | None = None
    unit: str | None = None
    quantity: str | None = None           # what was measured, e.g. "overlap area"
    threshold: float | None = None        # the threshold actually applied
    threshold_unit: str | None = None
    threshold_basis: str | None = None
    offending: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)   # GeoJSON Features
    method: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        r = self.rule
        return {
            "id": r.id, "description": {"zh": r.description_zh, "en": r.description_en},
            "severity": r.severity, "outcome": self.outcome, "test": r.test, "layers": list(r.layers),
            "measured": {"value": _round(self.measured), "unit": self.unit, "quantity": self.quantity},
            "threshold": {"value": _round(self.threshold), "unit": self.threshold_unit, "basis": self.threshold_basis},
            "offending": self.offending, "conflicts": self.conflicts, "source": r.source,
            "method": self.method, "notes": self.notes,
        }


@dataclass
class SitingReport:
    proposal: Proposal
    rule_set: RuleSet
    outcomes: list[RuleOutcome]
    store_kind: str
    elapsed_ms: float
    evidence: list[dict[str, Any]] = field(default_factory=list)   # zones drawn for context (GeoJSON)

    @property
    def verdict(self) -> str:
        found = {o.outcome for o in self.outcomes}
        return "fail" if "fail" in found else "conditional" if "warn" in found else "pass"

    def by_outcome(self) -> dict[str, list[str]]:
        return {k: [o.rule.id for o in self.outcomes if o.outcome == k] for k in OUTCOMES}

    def outcome(self, rule_id: str) -> RuleOutcome:
        for o in self.outcomes:
            if o.rule.id == rule_id:
                return o
        raise KeyError(rule_id)

    def to_dict(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "analysis": "siting_check", "verdict": v,
            "verdict_label": {"zh": VERDICT_LABELS[v][0], "en": VERDICT_LABELS[v][1]},
            "summary": self.by_outcome(),
            "proposal": self.proposal.to_dict(),
            "rule_set": {"name": self.rule_set.name, "title": {"zh": self.rule_set.title_zh,
                                                               "en": self.rule_set.title_en},
                         "file": f"rules/{self.rule_set.path.name}", "notes": list(self.rule_set.notes)},
            "rules": [o.to_dict() for o in self.outcomes],
            "verdict_rule": "fail if any fail-severity rule is violated; conditional if only warn-severity "
                            "rules are; pass otherwise. not_evaluated rules do not change the verdict.",
            "crs": "WGS84 lon/lat (RFC 7946); distances geodesic metres, areas geodesic m² / km²",
            "store": self.store_kind, "elapsed_ms": round(self.elapsed_ms, 1),
        }

    def to_feature_collection(self) -> dict[str, Any]:
        """GeoJSON for maps: the proposal, each rule's conflict geometries, then context zones."""
        v = self.verdict
        feats = [{"type": "Feature", "id": "proposal", "geometry": _geojson(self.proposal.geometry),
                  "properties": {"role": "proposal", "kind": self.proposal.kind, "name": self.proposal.name,
                                 "verdict": v, "verdict_zh": VERDICT_LABELS[v][0]}}]
        for o in self.outcomes:
            for i, f in enumerate(o.conflicts):
                props = {"role": "conflict", "rule_id": o.rule.id, "outcome": o.outcome, "severity": o.rule.severity,
                         "rule_zh": o.rule.description_zh, "rule_en": o.rule.description_en, **f["properties"]}
                feats.append({"type": "Feature", "id": f"{o.rule.id}-{i}", "geometry": f["geometry"],
                              "properties": props})
        feats.extend(self.evidence)
        return {"type": "FeatureCollection", "features": feats,
                "metadata": {k: val for k, val in self.to_dict().items() if k not in ("rules", "proposal")}
                | {"rules": [{k: val for k, val in o.to_dict().items() if k != "conflicts"} for o in self.outcomes]}}


def _round(x: float | None, nd: int = 3) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), nd)


def _geojson(geom: BaseGeometry) -> dict[str, Any]:
    g = shapely.orient_polygons(geom, exterior_cw=False) if geom.geom_type in ("Polygon", "MultiPolygon") else geom
    return mapping(shapely.set_precision(g, 1e-7) if not g.is_empty else g)


def _feature(geom: BaseGeometry, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": _geojson(geom), "properties": props}


def _ref(layer: str, f: Feature, **extra: Any) -> dict[str, Any]:
    out = {"layer": layer, "id": f.id, "name": f.properties.get("name")}
    out.update({k: _round(v, 2) if isinstance(v, float) else v for k, v in extra.items()})
    return out


def _line_between(a: BaseGeometry, b: BaseGeometry) -> BaseGeometry:
    """Shortest line from ``a`` to ``b``, computed in the AEQD plane around ``a`` (geodesic-accurate)."""
    lon0, lat0 = geodesy.anchor(a)
    line = shapely.shortest_line(geodesy.to_local(a, lon0, lat0), geodesy.to_local(b, lon0, lat0))
    return geodesy.from_local(line, lon0, lat0)


def _lines_from(a: BaseGeometry, geoms: list[BaseGeometry]) -> list[BaseGeometry]:
    """Shortest lines from ``a`` to each geometry, vectorised in one AEQD plane around ``a``."""
    if not geoms:
        return []
    lon0, lat0 = geodesy.anchor(a)
    local = geodesy.to_local(np.asarray(geoms, dtype=object), lon0, lat0)
    lines = shapely.shortest_line(geodesy.to_local(a, lon0, lat0), local)
    return list(geodesy.from_local(lines, lon0, lat0))


def _zone_around(geom: BaseGeometry, metres: float) -> BaseGeometry:
    """Everything within ``metres`` (geodesic) of ``geom``, for drawing."""
    if geom.geom_type == "Point":
        return geodesy.geodesic_circle(geom.x, geom.y, metres)
    return geodesy.geodesic_buffer(geom, metres)


def _overlap(a: BaseGeometry, b: BaseGeometry) -> tuple[BaseGeometry, float]:
    inter = shapely.intersection(a, b)
    if inter.is_empty or inter.geom_type not in ("Polygon", "MultiPolygon", "GeometryCollection"):
        return inter, 0.0
    return inter, geodesy.area_m2(inter)


# -- the engine ----------------------------------------------------------------------------------

@dataclass
class Context:
    store: Store
    proposal: Proposal
    params: scenarios.ScenarioParams
    graph: Any = None  # road graph for rescue times (None: the store's cached roads graph)
    rescue_answers: dict[tuple, Any] = field(default_factory=dict)
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def excluded(self, layer: str, f: Feature) -> bool:
        """The proposal's own feature and (for an existing park) its own hazard sources."""
        src = self.proposal.source
        if src and src.get("layer") == layer and int(src["id"]) == f.id:
            return True
        pid = self.proposal.park_id
        return layer == HAZARD_LAYER and pid is not None and f.properties.get("park_id") == pid

    def is_point(self) -> bool:
        return self.proposal.geometry.geom_type == "Point"


def _judge(rule: Rule, violated: bool) -> str:
    return rule.severity if violated else "pass"


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
        if area <= rule.threshold:
            continue
        pieces.append(inter)
        offending.append(_ref(layer, f, overlap_area_m2=area, **extra))
        conflicts.append(_feature(inter, layer=layer, id=f.id, name=f.properties.get("name"),
                                  overlap_area_m2=round(area, 1), evidence=f"intersection with {quantity}"))
    if ctx.is_point():
        return RuleOutcome(rule, _judge(rule, bool(offending)), float(len(offending)), "count",
                           f"{quantity}s containing the point", 0, "count", "a point must lie outside every zone",
                           offending, conflicts,
                           notes=[] if offending else [f"the point lies outside every {quantity}"])
    total = geodesy.area_m2(shapely.union_all(pieces)) if pieces else 0.0
    return RuleOutcome(rule, _judge(rule, bool(offending)), total, "m²", f"overlap area with {quantity}s",
                       rule.threshold, rule.unit, "rule threshold (overlap per feature above it is a conflict)",
                       offending, conflicts[:MAX_CONFLICT_FEATURES])


def _spec_bound(store: Store, layer: str, attr: str, which: str) -> float | None:
    a = store.spec(layer).attribute(attr)
    return getattr(a, which)


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
        if f.distance_m > goaf_model.influence_radius_m(float(f.properties["mining_depth_m"]), float(tb)) * 1.000001:
            continue
        zs = _cached_zones("goaf_areas", f.id, _props_json(f), f.geometry_json, params_json)
        influence = next(z for z in zs.zones if z.level == "orange")
        if f.distance_m > influence.distance_m:
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
        run = _runout(float(f.properties["dam_height_m"]), float(f.properties["total_storage_1e4m3"]),
                      ctx.params.max_corridor_m)
        if f.distance_m > run[0] + run[1]:
            continue
        zs = _cached_zones("tailings_dams", f.id, _props_json(f), f.geometry_json, ctx.params.model_dump_json())
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


@lru_cache(maxsize=8192)
def _runout(height_m: float, storage_1e4m3: float, cap_m: float) -> tuple[float, float]:
    """(corridor length m, end width m) from the breach model — a bound for the corridor's reach."""
    res = tailings_model.breach_runout(height_m, storage_1e4m3, max_length_m=cap_m)
    return res.corridor_length_m, res.corridor_end_width_m


def _props_json(f: Feature) -> str:
    return orjson.dumps(f.properties, option=orjson.OPT_SORT_KEYS).decode()


@lru_cache(maxsize=8192)
def _cached_zones(layer: str, fid: int, props_json: str, geom_json: str, params_json: str) -> scenarios.ZoneSet:
    """scenarios.zones_for, cached on the feature's full content (an edited feature is a new key)."""
    params = scenarios.ScenarioParams.model_validate_json(params_json)
    return scenarios.zones_for(layer, Feature(fid, json.loads(props_json), geom_json), params)


def run_layer_overlap(ctx: Context, rule: Rule) -> RuleOutcome:
    layer = rule.layers[0]
    hits = [(f, f.geometry, {}) for f in ctx.store.intersecting(layer, ctx.proposal.geometry)
            if not ctx.excluded(layer, f)]
    out = _zone_overlap(ctx, rule, layer, hits, f"{layer} feature")
    out.method = f"store.intersecting({layer}); geodesic area of each intersection"
    return out


def run_layer_distance(ctx: Context, rule: Rule) -> RuleOutcome:
    layer = rule.layers[0]
    found = [f for f in ctx.store.within(layer, ctx.proposal.geometry, rule.threshold) if not ctx.excluded(layer, f)]
    return _distance_outcome(ctx, rule, layer, found, rule.threshold, "rule threshold",
                             f"store.within({layer}, {rule.threshold:g} m), geodesic distance")


def _distance_outcome(ctx: Context, rule: Rule, layer: str, found: list[Feature], distance: float, basis: str,
                      method: str, extra: Callable[[Feature], dict] | None = None) -> RuleOutcome:
    offending = [_ref(layer, f, distance_m=f.distance_m, **(extra(f) if extra else {})) for f in found]
    drawn = found[:MAX_CONFLICT_FEATURES]
    lines = _lines_from(ctx.proposal.geometry, [f.geometry for f in drawn])
    conflicts = [_feature(line, layer=layer, id=f.id, name=f.properties.get("name"),
                          distance_m=round(f.distance_m, 1), evidence="shortest line from the proposal")
                 for f, line in zip(drawn, lines, strict=True)]
    notes = []
    if len(found) > MAX_CONFLICT_FEATURES:
        notes.append(f"{len(found)} features; lines drawn to the nearest {MAX_CONFLICT_FEATURES}")
    nearest = found[0].distance_m if found else None
    return RuleOutcome(rule, _judge(rule, bool(found)), nearest, "m", "distance to the nearest offending feature",
                       distance, "m", basis, offending, conflicts, method, notes)


def _own_zones(ctx: Context, params: scenarios.ScenarioParams) -> scenarios.ZoneSet:
    return scenarios.hazard_source_zones(ctx.proposal.geometry, ctx.proposal.inventory, params,
                                         source={"layer": None, "proposal": True})


def run_receptor_distance(ctx: Context, rule: Rule) -> RuleOutcome:
    layer = rule.layers[0]
    classes = set(rule.params.get("classes") or [])
    level = rule.params.get("consequence_level", "orange")
    notes: list[str] = []
    if ctx.proposal.inventory:
        zs = _own_zones(ctx, ctx.params)
        zones = [z for z in zs.zones if scenarios.level_rank(z.level) <= scenarios.level_rank(level)]
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
            distance = rule.threshold
            basis = "rule default distance: no consequence model applies to the inventory"
    else:
        distance = rule.threshold
        basis = ("rule default screening distance (no inventory given); GB/T 37243-2019 requires the consequence "
                 "method or a QRA against GB 36894-2018 — give the inventory for a consequence-based distance")
    found = [f for f in ctx.store.within(layer, ctx.proposal.geometry, distance)
             if (not classes or f.properties.get("receptor_class") in classes)]
    if ctx.proposal.kind == "park":
        inside = [f for f in found if f.distance_m <= 0.0]
        found = [f for f in found if f.distance_m > 0.0]
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
    return RuleOutcome(rule, _judge(rule, bool(found)), float(len(found)), "count", "protection targets inside",
                       0, "count", "none allowed", offending, conflicts, f"store.intersecting({layer})")


def _domino_params(ctx: Context, threshold_kpa: float) -> scenarios.ScenarioParams:
    return ctx.params.model_copy(update={"kinds": ("explosion",), "overpressure_kpa": (float(threshold_kpa),)})


@lru_cache(maxsize=65536)
def _explosion_radius(inventory_json: str, params_json: str) -> tuple[float | None, str | None]:
    """(radius m, driving substance) of the explosion zone of an inventory; cached per distinct inventory.

    The radius does not depend on where the unit is, so a fixed anchor point is used.
    """
    params = scenarios.ScenarioParams.model_validate_json(params_json)
    zs = scenarios.hazard_source_zones(geodesy.point(0.0, 0.0), json.loads(inventory_json), params)
    if not zs.zones:
        return None, None
    z = max(zs.zones, key=lambda z: z.distance_m)
    return z.distance_m, z.substance


def explosion_radius_m(inventory: Any, params: scenarios.ScenarioParams) -> tuple[float | None, str | None]:
    return _explosion_radius(orjson.dumps(inventory, option=orjson.OPT_SORT_KEYS).decode(), params.model_dump_json())


def run_domino_outgoing(ctx: Context, rule: Rule) -> RuleOutcome:
    layer = rule.layers[0]
    if not ctx.proposal.inventory:
        return RuleOutcome(rule, "not_evaluated", threshold=rule.threshold, threshold_unit=rule.unit,
                           notes=["not evaluated: no inventory given (the proposal's explosion radius needs the "
                                  "design maximum quantities)"])
    radius, substance = explosion_radius_m(ctx.proposal.inventory, _domino_params(ctx, rule.threshold))
    if radius is None:
        return RuleOutcome(rule, "pass", 0.0, "m", "explosion radius of the proposal", rule.threshold, rule.unit,
                           "escalation overpressure",
                           notes=["no explosion scenario applies to the inventory (no flammable gas): no domino "
                                  "radius by overpressure"])
    found = [f for f in ctx.store.within(layer, ctx.proposal.geometry, radius) if not ctx.excluded(layer, f)]
    out = _distance_outcome(ctx, rule, layer, found, radius,
                            f"the proposal's explosion radius at {rule.threshold:g} kPa ({substance}), "
                            "TNT-equivalence VCE (DOMAIN.md §3)",
                            f"store.within({layer}, {radius:.0f} m)")
    ctx.evidence.append(_feature(_zone_around(ctx.proposal.geometry, radius), role="zone", rule_id=rule.id,
                                 kind="explosion", threshold=rule.threshold, threshold_unit="kPa",
                                 distance_m=round(radius, 1)))
    return out


def run_domino_incoming(ctx: Context, rule: Rule) -> RuleOutcome:
    layer = rule.layers[0]
    search = float(rule.params.get("search_radius_m") or 5000.0)
    params = _domino_params(ctx, rule.threshold)
    offending, conflicts, notes = [], [], []
    worst: float | None = None
    for f in ctx.store.within(layer, ctx.proposal.geometry, search):
        if ctx.excluded(layer, f) or not f.properties.get("inventory"):
            continue
        radius, substance = explosion_radius_m(f.properties["inventory"], params)
        if radius is None:
            continue
        if radius > search:
            notes.append(f"source {f.id}: explosion radius {radius:.0f} m exceeds the search radius {search:.0f} m; "
                         "raise params.search_radius_m")
        if f.distance_m > radius:
            continue
        margin = radius - f.distance_m
        worst = margin if worst is None else max(worst, margin)
        offending.append(_ref(layer, f, distance_m=f.distance_m, explosion_radius_m=radius, substance=substance))
        if len(conflicts) < MAX_CONFLICT_FEATURES:
            conflicts.append(_feature(_line_between(f.geometry, ctx.proposal.geometry), layer=layer, id=f.id,
                                      name=f.properties.get("name"), distance_m=round(f.distance_m, 1),
                                      explosion_radius_m=round(radius, 1), evidence="source → proposal"))
            conflicts.append(_feature(_zone_around(f.geometry, radius), layer=layer, id=f.id,
                                      name=f.properties.get("name"), explosion_radius_m=round(radius, 1),
                                      evidence=f"explosion radius at {rule.threshold:g} kPa"))
    return RuleOutcome(rule, _judge(rule, bool(offending)), worst or 0.0, "m",
                       "largest penetration of an existing source's explosion radius into the proposal",
                       rule.threshold, rule.unit, "escalation overpressure; radius from each source's inventory "
                       "(TNT-equivalence VCE, DOMAIN.md §3)", offending, conflicts,
                       f"store.within({layer}, {search:.0f} m), exact distance ≤ each source's explosion radius "
                       "(cached per distinct inventory)", notes)


def run_rescue_time(ctx: Context, rule: Rule) -> RuleOutcome:
    team_type = rule.params.get("team_type")
    standard, source = rescue.arrival_standard_min(team_type)
    limit = rule.threshold if rule.threshold is not None else standard
    basis = (f"rule threshold ({limit:g} min)" if rule.threshold is not None
             else f"arrival standard of {team_type} teams: {source}")
    incident = _incident_for(team_type)
    k = int(rule.params.get("k") or 1)
    by, method_notes = "time", []
    key = ("time", team_type, k)
    if key not in ctx.rescue_answers:
        ctx.rescue_answers[key] = rescue.nearest_teams(ctx.store, ctx.proposal.geometry, incident, k=k, by="time",
                                                       graph=ctx.graph, check_extent=False, team_types=[team_type])
    answer = ctx.rescue_answers[key]
    teams = answer.teams
    if not any(t.reachable for t in teams) and (answer.reason or not answer.teams):
        method_notes.append(f"road time unavailable ({answer.reason or 'no team reachable by road'}): "
                            "straight-line distance instead")
        by = "distance"
        answer = rescue.nearest_teams(ctx.store, ctx.proposal.geometry, incident, k=k, by="distance",
                                      check_extent=False, team_types=[team_type])
        teams = answer.teams
    if by == "time":
        reach = [t for t in teams if t.reachable]
        best = min(reach, key=lambda t: t.eta_min) if reach else None
        method = f"road network time via rescue.nearest_teams(by='time', team_types=[{team_type!r}]); " \
                 f"{rescue.ROUTING_NOTE}"
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
        return RuleOutcome(rule, _judge(rule, violated), measured, "min",
                           f"road ETA of the fastest {team_type} team", limit, "min", basis, offending, conflicts,
                           method, notes)
    best = teams[0] if teams else None
    # straight line: no time without roads; compare the distance a vehicle covers at the access speed
    from ..routing import DEFAULT_ACCESS_SPEED_KMH as speed

    reach_m = limit / 60.0 * speed * 1000.0
    violated = best is None or best.distance_m > reach_m
    offending = [] if best is None else [{"layer": "rescue_teams", "id": best.id, "name": best.name,
                                          "distance_m": round(best.distance_m, 1)}]
    conflicts = [] if best is None else [_feature(_line_between(ctx.proposal.geometry, geodesy.point(best.lon, best.lat)),
                                                  layer="rescue_teams", id=best.id, name=best.name,
                                                  distance_m=round(best.distance_m, 1), evidence="straight line")]
    return RuleOutcome(rule, _judge(rule, violated), None if best is None else best.distance_m, "m",
                       f"straight-line distance to the nearest {team_type} team", reach_m, "m",
                       f"{basis}; straight line at {speed:g} km/h (no road network)", offending, conflicts,
                       "straight-line (geodesic) distance via rescue.nearest_teams(by='distance')", method_notes)


@lru_cache(maxsize=16)
def _incident_for(team_type: str) -> str:
    """An incident type whose capable team types include ``team_type`` (the search is then narrowed to
    that one type with ``team_types=``)."""
    caps = rescue.capabilities().incidents
    options = [(-len(types), inc) for inc, types in caps.items() if team_type in types]
    if not options:
        raise ValidationFailed([Problem(None, "team_type", f"no incident type lists team type {team_type!r}")])
    return min(options)[1]


def run_min_area(ctx: Context, rule: Rule) -> RuleOutcome:
    area = ctx.proposal.area_km2()
    if area is None:
        return RuleOutcome(rule, "not_evaluated", notes=["not evaluated: a point has no area"])
    return RuleOutcome(rule, _judge(rule, area < rule.threshold), area, "km²", "geodesic area of the boundary",
                       rule.threshold, rule.unit, "rule threshold (minimum)", method="geodesy.area_m2 (WGS84)")


RUNNERS: dict[str, Callable[[Context, Rule], RuleOutcome]] = {
    "goaf_influence": run_goaf_influence,
    "tailings_corridor": run_tailings_corridor,
    "layer_overlap": run_layer_overlap,
    "layer_distance": run_layer_distance,
    "receptor_distance": run_receptor_distance,
    "receptors_inside": run_receptors_inside,
    "domino_outgoing": run_domino_outgoing,
    "domino_incoming": run_domino_incoming,
    "rescue_time": run_rescue_time,
    "min_area": run_min_area,
}
assert set(RUNNERS) == set(TEST_KINDS), "every test kind of siting_rules needs a runner"


def run_rule(ctx: Context, rule: Rule) -> RuleOutcome:
    missing = [x for x in rule.layers if x not in ctx.store.catalog]
    if missing:
        return RuleOutcome(rule, "not_evaluated", threshold=rule.threshold, threshold_unit=rule.unit,
                           notes=[f"not evaluated: layer absent ({', '.join(missing)})"])
    return RUNNERS[rule.test](ctx, rule)


def check(store: Store, proposal: Proposal, rule_set: RuleSet | None = None,
          params: scenarios.ScenarioParams | None = None, only: list[str] | None = None,
          graph: Any = None) -> SitingReport:
    """Run every rule of ``rule_set`` (default: the set that applies to the proposal's kind)."""
    t0 = time.perf_counter()
    rs = rule_set or rule_set_for(rule_sets(store.catalog), proposal.kind)
    if rs.applies_to != proposal.kind:
        raise ValidationFailed([Problem(None, "rule_set", f"rule set {rs.name!r} applies to {rs.applies_to} "
                                        f"proposals, not {proposal.kind}")])
    ctx = Context(store, proposal, params or scenarios.ScenarioParams(), graph)
    outcomes = [run_rule(ctx, r) for r in rs.rules if only is None or r.id in only]
    return SitingReport(proposal, rs, outcomes, store.kind, (time.perf_counter() - t0) * 1000.0, ctx.evidence)


def check_park(store: Store, park_id: int, rule_set: RuleSet | None = None,
               params: scenarios.ScenarioParams | None = None, graph: Any = None) -> SitingReport:
    """Check an existing park (its own feature and its own hazard sources are excluded)."""
    f = store.get(PARK_LAYER, int(park_id))
    proposal = Proposal(f.geometry, "park", f.properties.get("name"), None,
                        {"layer": PARK_LAYER, "id": f.id, "name": f.properties.get("name")})
    return check(store, proposal, rule_set, params, graph=graph)


# -- input -----------------------------------------------------------------------------------------

def _unclosed_rings(geom: dict[str, Any]) -> list[str]:
    """Ring paths (e.g. ``coordinates[0]``) whose first and last positions differ (RFC 7946 §3.1.6)."""
    t, coords = geom.get("type"), geom.get("coordinates")
    polys = [coords] if t == "Polygon" else coords if t == "MultiPolygon" else []
    out = []
    for pi, poly in enumerate(polys or []):
        for ri, ring in enumerate(poly or []):
            if isinstance(ring, list) and len(ring) >= 2 and ring[0] != ring[-1]:
                out.append(f"coordinates[{pi}][{ri}]" if t == "MultiPolygon" else f"coordinates[{ri}]")
    return out


def _max_area_km2(store: Store, cap_km2: float) -> tuple[float, str]:
    """The province polygon's area when admin_areas holds one (cached per store), else ``cap_km2``."""
    key = (id(store), store.count("admin_areas") if "admin_areas" in store.catalog else 0)
    hit = _PROVINCE_AREA.get(key)
    if hit is None:
        area = None
        if key[1]:
            page = store.items("admin_areas", Query(filters={"level": "province"}, limit=5))
            if page.features:
                area = max(geodesy.area_m2(f.geometry) for f in page.features) / 1e6
                hit = (area, f"area of the province polygon in admin_areas ({area:,.0f} km²)")
        _PROVINCE_AREA[key] = hit = hit or (None, "")
    if hit[0] is not None:
        return min(hit[0], cap_km2), hit[1]
    return cap_km2, f"configured cap ({cap_km2:,.0f} km²)"


_PROVINCE_AREA: dict[tuple[int, int], tuple[float | None, str]] = {}

MAX_PROPOSAL_VERTICES = 20_000  # fair use: a surveyed park boundary has hundreds, not hundreds of thousands
MAX_PROPOSAL_SPAN_DEG = 20.0    # a proposal over ~2000 km across is not a site (Jilin spans ~9° of longitude)


def _check_size(geom) -> None:
    """Refuse proposals too big to be a site: too many vertices, or an extent wider than
    MAX_PROPOSAL_SPAN_DEG (this also keeps every edge far below the 180° that geodesic
    edges cannot span)."""
    n = int(shapely.get_num_coordinates(geom))
    if n > MAX_PROPOSAL_VERTICES:
        raise ValidationFailed([Problem(None, "geometry", f"{n} vertices; at most {MAX_PROPOSAL_VERTICES} are "
                                        "accepted (simplify the boundary)")])
    x0, y0, x1, y1 = geom.bounds if not geom.is_empty else (0, 0, 0, 0)
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        return  # not lon/lat at all: check_geometry names that problem
    if x1 - x0 > MAX_PROPOSAL_SPAN_DEG or y1 - y0 > MAX_PROPOSAL_SPAN_DEG:
        raise ValidationFailed([Problem(None, "geometry", f"extent {x1 - x0:.1f}° × {y1 - y0:.1f}° is larger than "
                                        f"{MAX_PROPOSAL_SPAN_DEG:g}° × {MAX_PROPOSAL_SPAN_DEG:g}°: not a site")])


def proposal_from_geojson(body: bytes | str | dict, store: Store, *, kind: str | None = None,
                          repair: bool = False, max_area_km2: float = DEFAULT_MAX_AREA_KM2) -> Proposal:
    """A GeoJSON Feature (or a FeatureCollection of exactly one) → :class:`Proposal`, or ValidationFailed.

    ``properties`` may carry ``inventory`` (list of {substance, cas?, quantity_t}), ``kind``
    (park | installation; default: installation with an inventory or for a point, else park) and ``name``.
    Refused, naming the problem: unreadable JSON, a non-WGS84 ``crs`` member, coordinates outside lon/lat
    range, unclosed rings, empty geometry, wrong geometry type, invalid (e.g. self-intersecting)
    geometry unless ``repair`` (then ``make_valid`` and a note), an area above the province's.
    """
    doc = parse_json(body.encode() if isinstance(body, str) else body) if not isinstance(body, dict) else body
    if not isinstance(doc, dict):
        raise ValidationFailed([Problem(None, "body", "expected a GeoJSON Feature")])
    check_crs_member(doc)
    if doc.get("type") == "FeatureCollection":
        feats = doc.get("features")
        if not isinstance(feats, list) or len(feats) != 1:
            raise ValidationFailed([Problem(None, "features", "a FeatureCollection must hold exactly one Feature "
                                            f"(got {len(feats) if isinstance(feats, list) else 'none'})")])
        doc = feats[0]
        if isinstance(doc, dict):
            check_crs_member(doc)
    if not isinstance(doc, dict) or doc.get("type") != "Feature":
        raise ValidationFailed([Problem(None, "type", f"expected a GeoJSON Feature, got "
                                        f"{doc.get('type') if isinstance(doc, dict) else type(doc).__name__!r}")])
    props = doc.get("properties") or {}
    if not isinstance(props, dict):
        raise ValidationFailed([Problem(None, "properties", "properties must be an object")])
    raw_geom = doc.get("geometry")
    if isinstance(raw_geom, dict):
        unclosed = _unclosed_rings(raw_geom)
        if unclosed:
            raise ValidationFailed([Problem(None, "geometry", f"polygon ring {', '.join(unclosed)} is not closed: "
                                            "its first and last positions must be identical (RFC 7946 §3.1.6)")])
    geom = parse_geometry(raw_geom)
    _check_size(geom)
    inventory = _inventory(store, props.get("inventory"))
    kind = kind or props.get("kind") or ("installation" if inventory or geom.geom_type == "Point" else "park")
    if kind not in PROPOSAL_KINDS:
        raise ValidationFailed([Problem(None, "kind", f"must be one of {', '.join(PROPOSAL_KINDS)} (got {kind!r})")])
    spec = store.spec(PARK_LAYER if kind == "park" else HAZARD_LAYER)
    notes: list[str] = []
    clean, why = check_geometry(spec, geom)
    if why and why.startswith("invalid geometry") and repair:
        fixed = shapely.make_valid(shapely.force_2d(geom))
        polys = shapely.get_parts(fixed)
        polys = [p for p in polys if p.geom_type in ("Polygon", "MultiPolygon")]
        clean = shapely.union_all(polys) if polys else None
        if clean is None or clean.is_empty:
            raise ValidationFailed([Problem(None, "geometry", f"{why}; make_valid left no polygon")])
        notes.append(f"geometry repaired with make_valid ({explain_validity(geom)}); "
                     f"area after repair {geodesy.area_m2(clean) / 1e6:.4f} km²")
        why = None
    if why:
        hint = " (pass repair=true to fix it with make_valid)" if why.startswith("invalid geometry") else ""
        raise ValidationFailed([Problem(None, "geometry", why + hint)])
    if kind == "park" and clean.geom_type == "Point":
        raise ValidationFailed([Problem(None, "geometry", "a chemical park proposal needs a Polygon or MultiPolygon "
                                        "boundary (a Point is accepted for an installation)")])
    if clean.geom_type in ("Polygon", "MultiPolygon"):
        limit, basis = _max_area_km2(store, max_area_km2)
        area = geodesy.area_m2(clean) / 1e6
        if area > limit:
            raise ValidationFailed([Problem(None, "geometry", f"polygon area {area:,.0f} km² is larger than the "
                                            f"province: limit {basis}")])
    name = props.get("name")
    return Proposal(clean, kind, None if name is None else str(name), inventory, None, notes)


def _inventory(store: Store, value: Any) -> list[dict[str, Any]] | None:
    if value is None or value == []:
        return None
    try:
        inv = coerce_value(store.spec(HAZARD_LAYER).attribute("inventory"), value)
    except ValueError as exc:
        raise ValidationFailed([Problem(None, "inventory", str(exc))]) from None
    _items, warnings = scenarios.parse_inventory(inv)
    unknown = [w for w in warnings if "not modelled" in w]
    if unknown:
        raise ValidationFailed([Problem(None, "inventory", w) for w in unknown])
    return inv
