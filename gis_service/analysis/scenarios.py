"""Consequence zones on the map: a feature (or a what-if point + inventory) → geodesic zones.

This is the use-case layer between the pure models (``gis_service.models``) and the map: it picks
the models that apply to a feature, runs them with the scenario parameters, and places their
results on the WGS84 ellipsoid with :mod:`gis_service.geodesy` (local azimuthal-equidistant
projection around each feature — never degrees, never Web Mercator).

Public API (stable; the siting capability imports it):

- :class:`ScenarioParams` — wind, stability, release assumptions and thresholds, validated with
  messages that name the parameter and the accepted values (:func:`scenario_params` turns a
  pydantic error into :class:`~gis_service.validation.ValidationFailed`).
- :class:`Zone`, :class:`ZoneSet` — zones most severe first, with the model results.
- :func:`hazard_source_zones`, :func:`tailings_zones`, :func:`goaf_zones` and the dispatcher
  :func:`zones_for` (layer name + :class:`~gis_service.stores.base.Feature`).

Scenario defaults and their sources:

- Worst-case weather: wind 1.5 m/s, stability F — US EPA 40 CFR 68.22(b) (RMP worst-case release
  analysis) [V]. Alternative scenarios may use typical weather (EPA OCA guidance: 3 m/s, D).
- Default toxic release rate when none is given: the whole inventory of the substance released as a
  gas over 10 minutes — the RMP worst-case rule for toxic gases, 40 CFR 68.25(c) / EPA RMP Offsite
  Consequence Analysis Guidance (1999) §3.1 [S]. ``release_fraction`` and ``release_duration_min``
  change it. For toxic *liquids* this over-states the rate (evaporation from a pool is not
  modelled) and the result says so.
- Vapour-cloud explosion: TNT equivalence (models.explosion) with the whole flammable inventory of a
  gas in the cloud (``cloud_fraction`` 1.0; the yield η = 0.04 already accounts for the part that
  takes part in the blast — DOMAIN.md §3). Default overpressure zones 34.5 / 13.8 / 2.07 kPa:
  near-total destruction of houses / partial collapse / glass breakage "safe distance"
  (Clancey 1972 via Lees, DOMAIN.md §3 [V]).
- Pool fire for flammable liquids (models.fire): burning rate 0.055 kg/m²/s (gasoline, Babrauskas
  1983 large-pool mass burning rate [M]), pool area = the unit's polygon (taken as its bund) or
  ``pool_area_m2`` (default 1000 m², an assumption) for point units. ALOHA levels 10 / 5 / 2 kW/m².
- Toxic zones: red / orange / yellow = AEGL-3 / 2 / 1, ERPG fallback (models.plume). ``wind_dir_deg``
  is the direction the wind blows FROM (meteorological convention, degrees clockwise from north);
  the plume points to ``wind_dir_deg + 180``. Without it the zone is the circle of the maximum
  downwind distance (the wind may come from anywhere).
- Tailings dams: breach runout corridor along ``downstream_azimuth_deg`` (Rico et al. 2008),
  capped at ``max_corridor_m``. Goaf: red = the goaf itself, orange = outline buffered by H / tanβ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from .. import geodesy
from ..models import explosion, fire, goaf, plume, tailings
from ..models._common import json_safe
from ..models.substances import Substance, UnknownSubstance, lookup
from ..validation import Problem, ValidationFailed

LEVELS = ("red", "orange", "yellow")
LEVEL_LABELS_ZH = {"red": "红区", "orange": "橙区", "yellow": "黄区"}
LEVEL_LABELS_EN = {"red": "red zone", "orange": "orange zone", "yellow": "yellow zone"}
EXPOSURE_LAYERS = ("hazard_sources", "tailings_dams", "goaf_areas")
KINDS = ("explosion", "fire", "toxic")  # release types of a hazard-source scenario
WORST_CASE_SOURCE = "US EPA 40 CFR 68.22(b): worst-case weather 1.5 m/s, stability class F [V]"
RELEASE_SOURCE = ("US EPA 40 CFR 68.25(c) / RMP Offsite Consequence Analysis Guidance (1999) §3.1: "
                  "toxic gas inventory released over 10 minutes [S]")
BURNING_RATE_SOURCE = "Babrauskas (1983) large-pool mass burning rate of gasoline 0.055 kg/m²/s [M]"
CIRCLE_SEGMENTS = 128


# -- parameters --------------------------------------------------------------------------------

class ScenarioParams(BaseModel):
    """Scenario parameters shared by every zone builder. All optional; defaults are documented above."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    wind_dir_deg: float | None = Field(None, description="direction the wind blows FROM, ° clockwise from north "
                                       "(0–360); omit for the all-directions circle")
    wind_speed_m_s: float = Field(1.5, description="wind speed at 10 m, m/s (> 0); default 1.5 per 40 CFR 68.22(b)")
    stability: str = Field("F", description="Pasquill–Gifford stability class A–F; default F per 40 CFR 68.22(b)")
    terrain: str = Field("rural", description="Briggs dispersion curves: rural or urban")
    release_rate_g_s: float | None = Field(None, description="toxic release rate g/s (> 0); default: inventory × "
                                           "release_fraction over release_duration_min")
    release_fraction: float = Field(1.0, description="fraction of the inventory released (0–1]")
    release_duration_min: float = Field(10.0, description="release duration in minutes (> 0); default 10 (RMP)")
    release_height_m: float = Field(0.0, description="release height above ground, m (≥ 0)")
    max_plume_m: float = Field(10_000.0, description="farthest downwind distance reported, m (> 0)")
    overpressure_kpa: tuple[float, ...] = Field((34.5, 13.8, 2.07), description="overpressure levels, kPa, "
                                                "most severe first (red, orange, yellow)")
    heat_flux_kw_m2: tuple[float, ...] = Field((10.0, 5.0, 2.0), description="thermal levels, kW/m², most severe first")
    cloud_fraction: float = Field(1.0, description="fraction of a flammable gas inventory in the cloud (0–1]")
    yield_factor: float = Field(explosion.YIELD_FACTOR, description="TNT-equivalence yield η (0–1]")
    vce_for_liquids: bool = Field(False, description="also run the VCE model for flammable liquids")
    pool_area_m2: float = Field(1000.0, description="pool area for point units, m² (> 0)")
    burning_rate_kg_m2_s: float = Field(0.055, description="pool mass burning rate, kg/m²/s (> 0)")
    radiative_fraction: float = Field(fire.RADIATIVE_FRACTION, description="radiative fraction η_r (0–1]")
    kinds: tuple[str, ...] = Field(KINDS, description="release types to model: explosion, fire, toxic")
    tan_beta: float | None = Field(None, description="goaf tan β override (0.5–4); default: the feature's own, "
                                   "else 1.5")
    max_corridor_m: float = Field(20_000.0, description="tailings corridor length cap, m (> 0)")
    downstream_important: bool = Field(False, description="tailings: important towns/railways downstream")

    @field_validator("wind_dir_deg")
    @classmethod
    def _wind_dir(cls, v):
        if v is not None and not (math.isfinite(v) and 0 <= v <= 360):
            raise ValueError(f"must be a direction in degrees 0–360 (got {v})")
        return v

    @field_validator("wind_speed_m_s", "release_duration_min", "max_plume_m", "pool_area_m2",
                     "burning_rate_kg_m2_s", "max_corridor_m")
    @classmethod
    def _positive(cls, v):
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"must be a number > 0 (got {v})")
        return v

    @field_validator("release_rate_g_s")
    @classmethod
    def _rate(cls, v):
        if v is not None and not (math.isfinite(v) and v > 0):
            raise ValueError(f"must be a number > 0 g/s (got {v})")
        return v

    @field_validator("release_fraction", "cloud_fraction", "yield_factor", "radiative_fraction")
    @classmethod
    def _fraction(cls, v):
        if not (math.isfinite(v) and 0 < v <= 1):
            raise ValueError(f"must be a fraction in (0, 1] (got {v})")
        return v

    @field_validator("release_height_m")
    @classmethod
    def _height(cls, v):
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"must be a number ≥ 0 m (got {v})")
        return v

    @field_validator("stability", mode="before")
    @classmethod
    def _stability(cls, v):
        s = str(v).strip().upper()
        if s not in plume.STABILITY_CLASSES:
            raise ValueError(f"must be one of A, B, C, D, E, F (got {v!r})")
        return s

    @field_validator("terrain", mode="before")
    @classmethod
    def _terrain(cls, v):
        t = str(v).strip().lower()
        if t not in plume.TERRAINS:
            raise ValueError(f"must be 'rural' or 'urban' (got {v!r})")
        return t

    @field_validator("overpressure_kpa", "heat_flux_kw_m2")
    @classmethod
    def _levels(cls, v):
        if not v:
            raise ValueError("give at least one level")
        if any(not (math.isfinite(x) and x > 0) for x in v):
            raise ValueError(f"every level must be a number > 0 (got {list(v)})")
        return tuple(sorted(v, reverse=True))

    @field_validator("kinds", mode="before")
    @classmethod
    def _kinds(cls, v):
        items = list(v) if isinstance(v, list | tuple) else [v]
        items = [p.strip().lower() for s in items for p in str(s).split(",") if p.strip()]
        bad = [k for k in items if k not in KINDS]
        if bad or not items:
            raise ValueError(f"must be one or more of {', '.join(KINDS)} (got {bad or items})")
        return tuple(dict.fromkeys(items))

    @field_validator("tan_beta")
    @classmethod
    def _tan_beta(cls, v):
        if v is not None and not (math.isfinite(v) and 0.5 <= v <= 4):
            raise ValueError(f"must be a number in 0.5–4 (got {v})")
        return v


def scenario_params(**values: Any) -> ScenarioParams:
    """Build :class:`ScenarioParams` from loose values (None = default), raising ValidationFailed that
    names each bad parameter and what it accepts (→ HTTP 400 / CLI exit 1)."""
    clean = {k: v for k, v in values.items() if v is not None}
    try:
        return ScenarioParams(**clean)
    except ValidationError as exc:
        raise ValidationFailed(problems_from(exc)) from None


def problems_from(exc: ValidationError, prefix: str = "") -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden":
            msg = f"unknown parameter; accepted: {', '.join(ScenarioParams.model_fields)}"
        out.append(Problem(None, prefix + loc, msg))
    return out


# -- zones ---------------------------------------------------------------------------------------

@dataclass
class Zone:
    """One consequence zone on the map (geometry in WGS84 lon/lat).

    ``buffer_m`` is set when the zone is exactly "everything within ``buffer_m`` metres (geodesic) of
    the source geometry"; exposure then asks the store with ``within`` (exact), and ``geometry`` is
    the drawn approximation. Otherwise (plumes, corridors) exposure uses ``intersecting(geometry)``.
    """

    level: str
    label_zh: str
    label_en: str
    kind: str  # explosion | fire | toxic | tailings_runout | goaf_subsidence
    model: str
    threshold: float | None
    threshold_unit: str | None
    distance_m: float
    geometry: BaseGeometry
    buffer_m: float | None = None
    substance: str | None = None  # the substance that drives this zone
    details: dict[str, Any] = field(default_factory=dict)

    def properties(self) -> dict[str, Any]:
        return json_safe({
            "level": self.level, "label_zh": self.label_zh, "label_en": self.label_en, "kind": self.kind,
            "model": self.model, "threshold": self.threshold, "threshold_unit": self.threshold_unit,
            "distance_m": round(self.distance_m, 2), "distance_unit": "m",
            "geometry_basis": ("within distance_m (geodesic) of the source geometry" if self.buffer_m is not None
                               else "polygon footprint"),
            "substance": self.substance, **self.details,
        })

    def to_feature(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        props = self.properties()
        if extra:
            props.update(extra)
        return {"type": "Feature", "geometry": json_safe(_rfc7946(self.geometry)), "properties": props}


@dataclass
class ZoneSet:
    """Zones (most severe first) and the model results behind them."""

    zones: list[Zone]
    models: list[dict[str, Any]]
    parameters: dict[str, Any]
    source: dict[str, Any]
    assumptions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def outer(self) -> BaseGeometry | None:
        """The largest zone's geometry (by distance, then area); None when there are no zones."""
        if not self.zones:
            return None
        return max(self.zones, key=lambda z: (z.distance_m, z.geometry.area)).geometry

    def union(self) -> BaseGeometry | None:
        return unary_union([z.geometry for z in self.zones]) if self.zones else None

    def metadata(self) -> dict[str, Any]:
        return json_safe({
            "source": self.source, "parameters": self.parameters, "assumptions": self.assumptions,
            "warnings": self.warnings, "models": self.models,
            "crs": "WGS84 lon/lat (RFC 7946); distances are geodesic metres",
            "units": {"distance_m": "m", "overpressure": "kPa", "heat_flux": "kW/m²", "concentration": "ppm"},
        })

    def to_feature_collection(self, zone_extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        feats = [z.to_feature(zone_extra[i] if zone_extra else None) for i, z in enumerate(self.zones)]
        return {"type": "FeatureCollection", "features": feats, "metadata": self.metadata()}


def _rfc7946(geom: BaseGeometry) -> BaseGeometry:
    """Exterior rings counter-clockwise (RFC 7946 §3.1.6)."""
    return shapely.orient_polygons(geom, exterior_cw=False)


def _level_name(rank: int) -> str:
    return LEVELS[rank] if rank < len(LEVELS) else f"level{rank + 1}"


def _labels(level: str, what_zh: str, what_en: str) -> tuple[str, str]:
    zh = LEVEL_LABELS_ZH.get(level, level)
    en = LEVEL_LABELS_EN.get(level, level)
    return f"{what_zh}{zh}", f"{what_en} {en}"


def _order(zones: list[Zone]) -> list[Zone]:
    kind_rank = {k: i for i, k in enumerate(("explosion", "fire", "toxic", "tailings_runout", "goaf_subsidence"))}
    return sorted(zones, key=lambda z: (level_rank(z.level), kind_rank.get(z.kind, 99), -z.distance_m))


def level_rank(level: str) -> int:
    """0 for red, 1 orange, 2 yellow, then level4, level5, …"""
    if level in LEVELS:
        return LEVELS.index(level)
    return int(level[5:]) - 1 if level.startswith("level") and level[5:].isdigit() else 99


def _buffer(geom: BaseGeometry, metres: float) -> BaseGeometry:
    """Everything within ``metres`` of ``geom``, built geodesically."""
    if geom.geom_type == "Point":
        return geodesy.geodesic_circle(geom.x, geom.y, metres, CIRCLE_SEGMENTS)
    return geodesy.geodesic_buffer(geom, metres, quad_segs=32)


# -- hazard sources -----------------------------------------------------------------------------

@dataclass
class _Item:
    substance: Substance
    label: str
    quantity_t: float


def parse_inventory(inventory: Any, field_name: str = "inventory") -> tuple[list[_Item], list[str]]:
    """Inventory list → known substances with quantities; unknown substances are skipped with a warning
    (a stored feature), while a bad quantity raises ValidationFailed naming the item."""
    if not isinstance(inventory, (list, tuple)) or not inventory:
        raise ValidationFailed([Problem(None, field_name, "must be a non-empty list of {substance, quantity_t}")])
    items, warnings, problems = [], [], []
    for i, entry in enumerate(inventory):
        if not isinstance(entry, dict):
            problems.append(Problem(None, f"{field_name}[{i}]", "must be an object {substance, quantity_t}"))
            continue
        q = entry.get("quantity_t")
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not math.isfinite(q) or q < 0:
            problems.append(Problem(None, f"{field_name}[{i}].quantity_t",
                                    f"must be a number of tonnes ≥ 0 (got {q!r})"))
            continue
        name = entry.get("substance") or entry.get("cas")
        try:
            sub = lookup(name)
        except UnknownSubstance as exc:
            if entry.get("cas"):
                try:
                    sub = lookup(entry["cas"])
                except UnknownSubstance:
                    warnings.append(f"{field_name}[{i}]: {exc}; not modelled")
                    continue
            else:
                warnings.append(f"{field_name}[{i}]: {exc}; not modelled")
                continue
        if q == 0:
            continue
        items.append(_Item(sub, str(name), float(q)))
    if problems:
        raise ValidationFailed(problems)
    return items, warnings


@dataclass
class _Candidate:
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


def _explosion(item: _Item, geom: BaseGeometry, p: ScenarioParams, models: list, notes: list) -> list[_Candidate]:
    sub = item.substance
    mass_kg = item.quantity_t * 1000.0 * p.cloud_fraction
    res = explosion.vce_zones(mass_kg, sub.heat_of_combustion_mj_kg, thresholds_kpa=list(p.overpressure_kpa),
                              yield_factor=p.yield_factor)
    models.append({"substance": sub.key, "kind": "explosion", **res.to_dict()})
    notes.extend(f"{sub.key}: {w}" for w in res.warnings)
    out = []
    for rank, z in enumerate(res.zones):
        if z.radius_m is None:
            continue
        out.append(_Candidate("explosion", rank, z.threshold_kpa, "kPa", z.radius_m, _buffer(geom, z.radius_m),
                              z.radius_m, sub.key, z.description_en))
    return out


def _fire(item: _Item, geom: BaseGeometry, p: ScenarioParams, models: list) -> list[_Candidate]:
    sub = item.substance
    area = geodesy.area_m2(geom) if geom.geom_type in ("Polygon", "MultiPolygon") else p.pool_area_m2
    res = fire.fire_zones(burning_rate_kg_m2_s=p.burning_rate_kg_m2_s, area_m2=area,
                          heat_of_combustion_mj_kg=sub.heat_of_combustion_mj_kg,
                          radiative_fraction=p.radiative_fraction, thresholds_kw_m2=list(p.heat_flux_kw_m2))
    d = res.to_dict()
    d["parameters"]["area_basis"] = ("the unit's polygon taken as its bund" if geom.geom_type != "Point"
                                     else "pool_area_m2 scenario parameter (assumption)")
    models.append({"substance": sub.key, "kind": "fire", **d})
    return [_Candidate("fire", rank, z.threshold_kw_m2, "kW/m²", z.radius_m, _buffer(geom, z.radius_m), z.radius_m,
                       sub.key, z.description_en) for rank, z in enumerate(res.zones)]


def _toxic(item: _Item, geom: BaseGeometry, p: ScenarioParams, models: list, notes: list) -> list[_Candidate]:
    sub = item.substance
    if p.release_rate_g_s is not None:
        rate, basis = p.release_rate_g_s, "release_rate_g_s scenario parameter"
    else:
        rate = item.quantity_t * 1e6 * p.release_fraction / (p.release_duration_min * 60.0)
        basis = (f"{p.release_fraction:g} × {item.quantity_t:g} t released over {p.release_duration_min:g} min "
                 f"({RELEASE_SOURCE})")
        if sub.phase != "gas":
            notes.append(f"{sub.key} is a liquid: the release rate assumes the gas rule (whole quantity over "
                         f"{p.release_duration_min:g} min); pool evaporation would give a lower rate")
    res = plume.plume_threat_zones(sub, rate, p.wind_speed_m_s, p.stability, release_height_m=p.release_height_m,
                                   terrain=p.terrain, max_distance_m=p.max_plume_m)
    d = res.to_dict()
    d["parameters"]["release_rate_basis"] = basis
    d.pop("zones", None)
    d["zones"] = [{k: v for k, v in json_safe(z).items() if k != "footprint_local_m"} for z in res.zones]
    models.append({"substance": sub.key, "kind": "toxic", **d})
    notes.extend(f"{sub.key}: {w}" for w in res.warnings)
    lon0, lat0 = geodesy.anchor(geom)
    out = []
    rank_of = {lvl: i for i, lvl in enumerate(LEVELS)}
    for z in res.zones:
        if z.max_distance_m <= 0 or z.footprint_local_m is None:
            continue
        if p.wind_dir_deg is None:
            shape, buf = _buffer(geom, z.max_distance_m), z.max_distance_m
        else:
            toward = (p.wind_dir_deg + 180.0) % 360.0
            shape = geodesy.local_shape_to_lonlat(z.footprint_local_m, lon0, lat0, toward)
            if geom.geom_type != "Point":  # the whole unit is inside the red footprint's origin area
                shape = shape.union(geom)
            buf = None
        out.append(_Candidate("toxic", rank_of.get(z.zone, len(LEVELS)), z.level_ppm, "ppm", z.max_distance_m,
                              shape, buf, sub.key, z.level_name, z.basis))
    return out


_WHAT = {"explosion": ("爆炸超压", "Explosion overpressure"), "fire": ("火灾热辐射", "Fire thermal radiation"),
         "toxic": ("毒气扩散", "Toxic plume")}
_MODEL = {"explosion": explosion.MODEL, "fire": fire.MODEL, "toxic": plume.MODEL}


def _combine(cands: list[_Candidate]) -> list[Zone]:
    """One zone per (kind, level): the union of every substance's zone; the farthest reaching drives it."""
    groups: dict[tuple[str, int, float], list[_Candidate]] = {}
    for c in cands:
        key = (c.kind, c.rank, c.threshold) if c.kind != "toxic" else (c.kind, c.rank, 0.0)
        groups.setdefault(key, []).append(c)
    zones = []
    for (kind, rank, _t), group in groups.items():
        driver = max(group, key=lambda c: c.distance_m)
        level = _level_name(rank)
        zh, en = _labels(level, *_WHAT[kind])
        buffers = {c.buffer_m is not None for c in group}
        geom = driver.geometry if len(group) == 1 or buffers == {True} else unary_union([c.geometry for c in group])
        details = {
            "level_name": driver.level_name,
            "by_substance": [{"substance": c.substance, "distance_m": round(c.distance_m, 2),
                              "threshold": c.threshold, "basis": c.basis} for c in sorted(group, key=lambda c: -c.distance_m)],
        }
        if driver.basis:
            details["level_basis"] = driver.basis
        zones.append(Zone(level, zh, en, kind, _MODEL[kind], driver.threshold, driver.unit, driver.distance_m, geom,
                          driver.buffer_m if buffers == {True} else None, driver.substance, details))
    return zones


def hazard_source_zones(feature_geometry: BaseGeometry, inventory: Any, params: ScenarioParams | None = None,
                        *, source: dict[str, Any] | None = None) -> ZoneSet:
    """Explosion (flammable gases; liquids if ``vce_for_liquids``), pool-fire (flammable liquids) and toxic
    plume (toxic substances) zones of a hazard source. One zone per model and level, the union over the
    inventory's substances, naming the substance that reaches farthest."""
    p = params or ScenarioParams()
    items, warnings = parse_inventory(inventory)
    models: list[dict[str, Any]] = []
    cands: list[_Candidate] = []
    skipped = []
    for item in items:
        sub = item.substance
        did = False
        if "explosion" in p.kinds and sub.flammable and sub.heat_of_combustion_mj_kg and (
                sub.phase == "gas" or p.vce_for_liquids):
            cands += _explosion(item, feature_geometry, p, models, warnings)
            did = True
        if "fire" in p.kinds and sub.flammable and sub.heat_of_combustion_mj_kg and sub.phase == "liquid":
            cands += _fire(item, feature_geometry, p, models)
            did = True
        if "toxic" in p.kinds and sub.toxic and sub.molar_mass_g_mol:
            cands += _toxic(item, feature_geometry, p, models, warnings)
            did = True
        if not did:
            skipped.append(sub.key)
    if skipped:
        warnings.append(f"no consequence model of the requested kinds ({', '.join(p.kinds)}) applies to: "
                        f"{', '.join(sorted(set(skipped)))}")
    assumptions = [
        f"Weather: wind {p.wind_speed_m_s:g} m/s, stability {p.stability}, {p.terrain} terrain "
        f"({WORST_CASE_SOURCE} when left at the defaults).",
        ("Wind direction not given: toxic zones are circles of the maximum downwind distance (the wind may blow "
         "from any direction)." if p.wind_dir_deg is None else
         f"Wind from {p.wind_dir_deg:g}° (meteorological convention); plumes point to "
         f"{(p.wind_dir_deg + 180) % 360:g}°."),
        "Toxic release rate: " + (f"{p.release_rate_g_s:g} g/s as given." if p.release_rate_g_s is not None else
                                  f"inventory × {p.release_fraction:g} over {p.release_duration_min:g} min "
                                  f"({RELEASE_SOURCE})."),
        f"Explosion: TNT equivalence with {p.cloud_fraction:g} of the flammable inventory in the cloud, yield "
        f"η = {p.yield_factor:g}; {'liquids included' if p.vce_for_liquids else 'flammable gases only'}.",
        f"Pool fire (flammable liquids): burning rate {p.burning_rate_kg_m2_s:g} kg/m²/s ({BURNING_RATE_SOURCE}); "
        f"pool area = polygon area of the unit, or {p.pool_area_m2:g} m² for point units.",
        "Zones combine all substances of the unit: each zone is the union over substances and names the one "
        "reaching farthest; substances are not assumed to be released together.",
        "Polygon units: circles become geodesic buffers of the unit's outline; plumes start at its centroid.",
    ]
    return ZoneSet(_order(_combine(cands)), models, p.model_dump(mode="json"), source or {}, assumptions, warnings)


# -- tailings dams and goaf ----------------------------------------------------------------------

def tailings_zones(point: BaseGeometry, props: dict[str, Any], params: ScenarioParams | None = None,
                   *, source: dict[str, Any] | None = None) -> ZoneSet:
    """Breach runout corridor (Rico et al. 2008) along the dam's downstream azimuth; the grade is reported."""
    p = params or ScenarioParams()
    try:
        h = float(props["dam_height_m"])
        v = float(props["total_storage_1e4m3"])
        az = float(props["downstream_azimuth_deg"])
    except (KeyError, TypeError, ValueError):
        raise ValidationFailed([Problem(None, "properties", "a tailings dam needs dam_height_m, total_storage_1e4m3 "
                                        "and downstream_azimuth_deg")]) from None
    res = tailings.breach_runout(h, v, max_length_m=p.max_corridor_m)
    grade = tailings.tailings_grade(v, h, downstream_important=p.downstream_important)
    lon0, lat0 = geodesy.anchor(point)
    shape = geodesy.local_shape_to_lonlat(res.corridor_local_m, lon0, lat0, az)
    zh, en = "溃坝下泄影响走廊", "Breach runout corridor"
    details = {"runout_distance_m": round(res.runout_distance_m, 1), "corridor_length_capped": res.corridor_length_capped,
               "downstream_azimuth_deg": az, "grade": grade.grade, "grade_label": grade.grade_label}
    zone = Zone("red", zh, en, "tailings_runout", res.model, None, None, res.corridor_length_m, shape, None, None, details)
    rd = res.to_dict()
    rd.pop("corridor_local_m", None)
    warnings = [res.limitations[0]] if res.corridor_length_capped else []
    assumptions = [f"Corridor along the downstream azimuth {az:g}°, length min(runout, {p.max_corridor_m:g} m), "
                   f"widening from {res.corridor_start_width_m:g} m to {res.corridor_end_width_m:g} m."]
    return ZoneSet([zone], [rd, grade.to_dict()], p.model_dump(mode="json"), source or {}, assumptions, warnings)


def goaf_zones(polygon: BaseGeometry, props: dict[str, Any], params: ScenarioParams | None = None,
               *, source: dict[str, Any] | None = None) -> ZoneSet:
    """Red = the goaf outline (subsidence basin); orange = the outline buffered by r = H / tanβ.

    tanβ: ``params.tan_beta`` if given, else the feature's ``tan_beta``, else the model default 1.5.
    """
    p = params or ScenarioParams()
    try:
        depth = float(props["mining_depth_m"])
        thick = float(props["seam_thickness_m"])
    except (KeyError, TypeError, ValueError):
        raise ValidationFailed([Problem(None, "properties", "a goaf area needs mining_depth_m and seam_thickness_m")]
                               ) from None
    tb = p.tan_beta if p.tan_beta is not None else props.get("tan_beta")
    dip = props.get("dip_deg")
    res = goaf.goaf_influence(depth, thick, dip_deg=None if dip is None else min(float(dip), 89.9),
                              tan_beta=None if tb is None else float(tb))
    r = res.influence_radius_m
    tb_used = res.parameters["tan_beta"]
    basis = ("scenario parameter" if p.tan_beta is not None else "feature attribute" if props.get("tan_beta")
             is not None else "model default")
    inner = Zone("red", "采空区塌陷范围", "Goaf outline (subsidence basin)", "goaf_subsidence", res.model, None, None, 0.0,
                 polygon, 0.0, None, {"max_subsidence_m": round(res.max_subsidence_m, 3)})
    outer = Zone("orange", "采空区地表移动影响范围", "Goaf surface-movement influence zone", "goaf_subsidence", res.model,
                 round(res.subsidence_ratio_at_buffer_edge, 5), "W/W0 at edge", r, _buffer(polygon, r), r, None,
                 {"influence_radius_m": round(r, 2), "tan_beta": tb_used, "tan_beta_basis": basis})
    assumptions = [f"Influence zone = goaf outline buffered by r = H / tanβ = {depth:g} / {tb_used:g} = {r:.1f} m "
                   f"(tanβ from the {basis})."]
    return ZoneSet([inner, outer], [res.to_dict()], p.model_dump(mode="json"), source or {}, assumptions, [])


def check_layer(layer: str) -> str:
    """Raise ValidationFailed (field ``layer``, accepted values) unless ``layer`` has consequence models."""
    if layer not in EXPOSURE_LAYERS:
        raise ValidationFailed([Problem(None, "layer", f"no consequence model for layer {layer!r}; accepted: "
                                        f"{', '.join(EXPOSURE_LAYERS)}")])
    return layer


def zones_for(layer: str, feature: Any, params: ScenarioParams | None = None) -> ZoneSet:
    """Dispatch on the layer: ``feature`` is a store Feature (id, properties, geometry)."""
    check_layer(layer)
    geom = feature.geometry
    props = feature.properties
    source = {"layer": layer, "id": feature.id, "name": props.get("name"),
              "geometry_type": geom.geom_type, "anchor_lonlat": list(geodesy.anchor(geom))}
    if layer == "hazard_sources":
        return hazard_source_zones(geom, props.get("inventory"), params, source=source)
    if layer == "tailings_dams":
        return tailings_zones(geom, props, params, source=source)
    return goaf_zones(geom, props, params, source=source)


def what_if_zones(lon: float, lat: float, substance: str, quantity_t: float,
                  params: ScenarioParams | None = None) -> ZoneSet:
    """Zones of a hypothetical release of ``quantity_t`` tonnes of ``substance`` at (lon, lat).

    Raises ValidationFailed naming ``substance`` (with the accepted keys), ``quantity_t`` or the point.
    """
    problems = []
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        problems.append(Problem(None, "point", f"must be WGS84 lon/lat within ±180/±90 (got {lon}, {lat})"))
    try:
        sub = lookup(substance)
    except UnknownSubstance as exc:
        problems.append(Problem(None, "substance", str(exc)))
        sub = None
    if isinstance(quantity_t, bool) or not isinstance(quantity_t, (int, float)) or not (
            math.isfinite(quantity_t) and quantity_t > 0):
        problems.append(Problem(None, "quantity_t", f"must be a number of tonnes > 0 (got {quantity_t!r})"))
    if problems:
        raise ValidationFailed(problems)
    source = {"layer": None, "what_if": True, "substance": sub.key, "quantity_t": float(quantity_t),
              "anchor_lonlat": [lon, lat]}
    zs = hazard_source_zones(geodesy.point(lon, lat), [{"substance": sub.key, "quantity_t": float(quantity_t)}],
                             params, source=source)
    if not zs.zones:
        raise ValidationFailed([Problem(None, "release_type", f"no model of kinds {', '.join((params or ScenarioParams()).kinds)} "
                                        f"applies to {sub.key} (flammable={sub.flammable}, toxic={sub.toxic}, "
                                        f"phase={sub.phase})")])
    return zs


ReleaseType = Literal["auto", "explosion", "fire", "toxic"]

__all__ = ["EXPOSURE_LAYERS", "KINDS", "LEVELS", "ReleaseType", "check_layer", "ScenarioParams", "Zone", "ZoneSet", "goaf_zones",
           "hazard_source_zones", "parse_inventory", "problems_from", "scenario_params", "tailings_zones",
           "what_if_zones", "zones_for"]
