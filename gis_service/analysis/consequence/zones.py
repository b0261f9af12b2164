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
  takes part in the blast —. Default overpressure zones 34.5 / 13.8 / 2.07 kPa:
  near-total destruction of houses / partial collapse / glass breakage "safe distance"
  (Clancey 1972 via Lees [V].
- Pool fire for flammable liquids (models.fire): burning rate 0.055 kg/m²/s (gasoline, Babrauskas
  1983 large-pool mass burning rate [M]), pool area = the unit's polygon (taken as its bund) or
  ``pool_area_m2`` (default 1000 m², an assumption) for point units. ALOHA levels 10 / 5 / 2 kW/m².
- Toxic zones: red / orange / yellow = AEGL-3 / 2 / 1, ERPG fallback (models.plume). ``wind_dir_deg``
  is the direction the wind blows FROM (meteorological convention, degrees clockwise from north);
  the plume points to ``wind_dir_deg + 180``. Without it the zone is the circle of the maximum
  downwind distance (the wind may come from anywhere).
- Tailings dams: breach runout corridor along ``downstream_azimuth_deg`` (Concha Larrauri & Lall
  2018), drawn to the computed distance (``max_corridor_m`` is a stated drawing limit). Goaf: red = the goaf itself, orange = outline buffered by H / tanβ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from .. import geodesy
from ..models import dense_gas, explosion, fire, fireball, goaf, jet_fire, plume, tailings
from ..models._common import Constant, json_safe, tag_of
from ..models.substances import STORAGE_TYPES, Substance, UnknownSubstance, lookup
from ..validation import Problem, ValidationFailed

LEVELS = ("red", "orange", "yellow")
LEVEL_LABELS_ZH = {"red": "红区", "orange": "橙区", "yellow": "黄区"}
LEVEL_LABELS_EN = {"red": "red zone", "orange": "orange zone", "yellow": "yellow zone"}
EXPOSURE_LAYERS = ("hazard_sources", "tailings_dams", "goaf_areas")
KINDS = ("explosion", "fire", "toxic", "fireball", "jet_fire")  # release types of a hazard-source scenario
WORST_CASE_SOURCE = "US EPA 40 CFR 68.22(b): worst-case weather 1.5 m/s, stability class F [V]"
TYPICAL_SOURCE = "US EPA RMP Offsite Consequence Analysis Guidance (1999): alternative scenario 3 m/s, class D [S]"
WEATHER = {"worst": (1.5, "F"), "typical": (3.0, "D")}
LOW_REACTIVITY = {"ammonia", "hydrogen_sulfide"}
LOW_REACTIVITY_SOURCE = ("CCPS (1994) Guidelines for Evaluating the Characteristics of VCEs, Flash Fires and BLEVEs: "
                         "ammonia and H₂S are low-reactivity fuels, not hydrocarbon-yield VCE candidates [S]")
MIN_WIND_M_S = 1.0
MAX_WIND_M_S = 30.0
MAX_QUANTITY_T = 1_000_000.0  # larger than any single storage unit (the largest crude tanks hold ~ 10⁵ t)
OVERPRESSURE_SOURCE = "Clancey (1972) damage table via Lees / CCPS [V]"
THERMAL_SOURCE = "ALOHA thermal radiation levels of concern (US EPA/NOAA) [V]"
RELEASE_SOURCE = ("US EPA 40 CFR 68.25(c) / RMP Offsite Consequence Analysis Guidance (1999) §3.1: "
                  "toxic gas inventory released over 10 minutes [S]")
CIRCLE_SEGMENTS = 128


# -- parameters --------------------------------------------------------------------------------

class ScenarioParams(BaseModel):
    """Scenario parameters shared by every zone builder. All optional; defaults are documented above."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    wind_dir_deg: float | None = Field(None, description="direction the wind blows FROM, ° clockwise from north "
                                       "(0–360); omit for the all-directions circle")
    weather: Literal["worst", "typical"] = Field("worst", description="preset: worst (F, 1.5 m/s, 40 CFR 68.22(b)) or "
                                                 "typical (D, 3 m/s, RMP alternative scenario); wind_speed_m_s and "
                                                 "stability override it")
    wind_speed_m_s: float = Field(1.5, ge=MIN_WIND_M_S, le=MAX_WIND_M_S, allow_inf_nan=False,
                                  description="wind speed at 10 m, m/s (1–30: the range of the Briggs and "
                                  "Britter–McQuaid correlations); default from weather")
    stability: str = Field("F", description="Pasquill–Gifford stability class A–F; default from weather")
    ambient_k: float = Field(293.15, ge=223.15, le=323.15, allow_inf_nan=False, description="ambient temperature K")
    relative_humidity: float = Field(0.7, gt=0, le=1, allow_inf_nan=False, description="relative humidity (0–1]")
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
    burning_rate_kg_m2_s: float | None = Field(None, description="pool mass burning rate, kg/m²/s (> 0); default: "
                                               "the substance's Babrauskas (1983) value")
    vce_low_reactivity: bool = Field(False, description="also run the hydrocarbon-yield VCE for ammonia / H₂S")
    hole_diameter_mm: float = Field(25.0, gt=0, le=1000, allow_inf_nan=False,
                                    description="jet fire: hole diameter mm (default 25, an assumption)")
    jet_pressure_mpa: float = Field(1.0, gt=0.11, le=100, allow_inf_nan=False,
                                    description="jet fire: absolute pressure upstream of the hole, MPa (default 1.0)")
    liquid_density_kg_m3: float = Field(550.0, gt=0, le=3000, allow_inf_nan=False,
                                        description="jet fire of a liquefied gas: liquid density kg/m³ (default 550, "
                                        "LPG)")
    radiative_fraction: float = Field(fire.RADIATIVE_FRACTION, description="radiative fraction η_r (0–1]")
    kinds: tuple[str, ...] = Field(KINDS, description="release types to model: explosion, fire, toxic, fireball, "
                                   "jet_fire")
    tan_beta: float | None = Field(None, description="goaf tan β override (0.5–4); default: the feature's own, "
                                   "else 1.5")
    max_corridor_m: float = Field(tailings.DRAWING_LIMIT_M, description="tailings corridor drawing limit, m (> 0); "
                                  "the runout beyond it is reported, not drawn")
    downstream_important: bool = Field(False, description="tailings: important towns/railways downstream")

    @model_validator(mode="before")
    @classmethod
    def _weather(cls, values):
        if isinstance(values, dict):
            w = values.get("weather", "worst")
            if w in WEATHER:
                u, st = WEATHER[w]
                values = {**values}
                values.setdefault("wind_speed_m_s", u)
                values.setdefault("stability", st)
        return values

    @field_validator("wind_dir_deg")
    @classmethod
    def _wind_dir(cls, v):
        if v is not None and not (math.isfinite(v) and 0 <= v <= 360):
            raise ValueError(f"must be a direction in degrees 0–360 (got {v})")
        return v

    @field_validator("wind_speed_m_s", "release_duration_min", "max_plume_m", "pool_area_m2", "max_corridor_m")
    @classmethod
    def _positive(cls, v):
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"must be a number > 0 (got {v})")
        return v

    @field_validator("burning_rate_kg_m2_s")
    @classmethod
    def _burning(cls, v):
        if v is not None and not (math.isfinite(v) and 0 < v <= 1):
            raise ValueError(f"must be a number in (0, 1] kg/m²/s (got {v})")
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
        if not isinstance(v, (str, list, tuple)) or not all(isinstance(k, str) for k in ([v] if isinstance(v, str)
                                                                                       else v)):
            raise ValueError(f"must be a list of release types ({', '.join(KINDS)}) or a comma-separated string "
                             f"(got {v!r})")
        items = [v] if isinstance(v, str) else list(v)
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
    threshold_source: str | None = None
    model_reason: str | None = None
    truncated: bool = False
    truncation_reason: str | None = None
    true_distance_m: float | None = None
    true_distance_is_lower_bound: bool = False
    near_field: bool = False

    def properties(self) -> dict[str, Any]:
        """The zone's own record: model (and why), threshold with unit and source, truncation honestly stated."""
        out = {
            "level": self.level, "label_zh": self.label_zh, "label_en": self.label_en, "kind": self.kind,
            "model": self.model, "model_reason": self.model_reason,
            "threshold": self.threshold, "threshold_unit": self.threshold_unit,
            "threshold_source": self.threshold_source,
            "distance_m": round(self.distance_m, 2), "distance_unit": "m",
            "geometry_basis": ("within distance_m (geodesic) of the source geometry" if self.buffer_m is not None
                               else "polygon footprint"),
            "truncated": self.truncated,
            "near_field": self.near_field,
            "substance": self.substance, **self.details,
        }
        if self.truncated:
            out["truncation_reason"] = self.truncation_reason
            out["true_distance_m"] = None if self.true_distance_m is None else round(self.true_distance_m, 1)
            out["true_distance_is_lower_bound"] = self.true_distance_is_lower_bound
        return json_safe(out)

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
    skipped: list[dict[str, str]] = field(default_factory=list)

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
            "warnings": self.warnings, "models": self.models, "skipped_models": self.skipped,
            "crs": "WGS84 lon/lat (RFC 7946); distances are geodesic metres",
            "units": {"distance_m": "m", "overpressure": "kPa", "heat_flux": "kW/m²", "concentration": "ppm",
                      "thermal_dose": "(W/m²)^(4/3)·s"},
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
    kind_rank = {k: i for i, k in enumerate(("explosion", "fireball", "jet_fire", "fire", "toxic", "tailings_runout",
                                             "goaf_subsidence"))}
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
    storage: str = "atmospheric"
    storage_basis: str = "substance table default"


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
        if (isinstance(q, bool) or not isinstance(q, (int, float)) or not math.isfinite(q) or q < 0
                or q > MAX_QUANTITY_T):
            problems.append(Problem(None, f"{field_name}[{i}].quantity_t",
                                    f"must be a number of tonnes in 0–{MAX_QUANTITY_T:g} (got {q!r})"))
            continue
        storage = entry.get("storage")
        if storage is not None and storage not in STORAGE_TYPES:
            problems.append(Problem(None, f"{field_name}[{i}].storage",
                                    f"must be one of {', '.join(STORAGE_TYPES)} (got {storage!r})"))
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
        items.append(_Item(sub, str(name), float(q), storage or sub.default_storage,
                           "inventory item" if storage else "substance table default"))
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
    model: str = ""
    model_reason: str | None = None
    threshold_source: str | None = None
    truncated: bool = False
    truncation_reason: str | None = None
    true_distance_m: float | None = None
    lower_bound: bool = False
    near_field: bool = False


def _threshold_source(kind: str, value: float, p: ScenarioParams) -> str:
    if kind == "explosion":
        known = {t.threshold_kpa for t in explosion.default_thresholds()}
        return OVERPRESSURE_SOURCE if value in known else "scenario parameter overpressure_kpa"
    known = {10.0, 5.0, 2.0}
    return THERMAL_SOURCE if value in known else "scenario parameter heat_flux_kw_m2"


def _circle_candidates(kind: str, sub_key: str, model: str, reason: str, geom: BaseGeometry, p: ScenarioParams,
                       rows: list[tuple[float, str, float | None, str | None, bool]]) -> list[_Candidate]:
    """rows: (threshold, unit, radius or None, description, near_field) → buffered candidates."""
    out = []
    for rank, (thr, unit, radius, desc, near) in enumerate(rows):
        if radius is None or radius <= 0:
            continue
        src = (_threshold_source(kind if kind == "explosion" else "thermal", thr, p) if unit in ("kPa", "kW/m²")
               else "Eisenberg et al. (1975) burn probit, 1 % lethality [S]")
        out.append(_Candidate(kind, rank, thr, unit, radius, _buffer(geom, radius), radius, sub_key, desc,
                              model=model, model_reason=reason, threshold_source=src, near_field=near))
    return out


def _explosion(item: _Item, geom: BaseGeometry, p: ScenarioParams, models: list, notes: list) -> list[_Candidate]:
    sub = item.substance
    mass_kg = item.quantity_t * 1000.0 * p.cloud_fraction
    res = explosion.vce_zones(mass_kg, sub.heat_of_combustion_mj_kg, thresholds_kpa=list(p.overpressure_kpa),
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


def _fire(item: _Item, geom: BaseGeometry, p: ScenarioParams, models: list, notes: list) -> list[_Candidate]:
    sub = item.substance
    area = geodesy.area_m2(geom) if geom.geom_type in ("Polygon", "MultiPolygon") else p.pool_area_m2
    br = fire.burning_rate(sub.key)
    if p.burning_rate_kg_m2_s is not None:
        rate, rate_src, rate_tag = p.burning_rate_kg_m2_s, "scenario parameter burning_rate_kg_m2_s", "M"
    elif br is not None:
        rate, rate_src, rate_tag = br.kg_m2_s, br.source, br.tag
    else:
        notes.append(f"{sub.key}: no burning rate in the table (Babrauskas 1983); pool fire skipped — give "
                     "burning_rate_kg_m2_s to model it")
        return []
    res = fire.fire_zones(burning_rate_kg_m2_s=rate, area_m2=area, heat_of_combustion_mj_kg=sub.heat_of_combustion_mj_kg,
                          radiative_fraction=p.radiative_fraction, thresholds_kw_m2=list(p.heat_flux_kw_m2))
    d = res.to_dict()
    d["parameters"]["area_basis"] = ("the unit's polygon taken as its bund" if geom.geom_type != "Point"
                                     else "pool_area_m2 scenario parameter (assumption)")
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


def _fireball(item: _Item, geom: BaseGeometry, p: ScenarioParams, models: list, notes: list) -> list[_Candidate]:
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
        out += [_Candidate("fireball", 0, dose[0], dose[1], dose[2], _buffer(geom, dose[2]), dose[2], sub.key,
                           dose[3], model=fireball.MODEL, model_reason=reason,
                           threshold_source="Eisenberg et al. (1975) burn probit, 1 % lethality (Y = 2.67) [S]",
                           near_field=dose[4])]
    return out


def _jet_fire(item: _Item, geom: BaseGeometry, p: ScenarioParams, models: list, notes: list) -> list[_Candidate]:
    sub = item.substance
    d_hole = p.hole_diameter_mm / 1000.0
    if item.storage == "pressurised":
        rate = jet_fire.liquid_rate_kg_s(d_hole, p.jet_pressure_mpa * 1e6 - 101_325.0, p.liquid_density_kg_m3)
        basis = (f"liquid flow through a {p.hole_diameter_mm:g} mm hole at {p.jet_pressure_mpa:g} MPa, "
                 f"ρ_l {p.liquid_density_kg_m3:g} kg/m³ (Bernoulli, C_d 0.62)")
    else:
        rate = jet_fire.choked_gas_rate_kg_s(d_hole, p.jet_pressure_mpa * 1e6, sub.molar_mass_g_mol, p.ambient_k)
        basis = f"choked gas flow through a {p.hole_diameter_mm:g} mm hole at {p.jet_pressure_mpa:g} MPa (C_d 0.62)"
    res = jet_fire.jet_fire_zones(rate, sub.heat_of_combustion_mj_kg, thresholds_kw_m2=tuple(p.heat_flux_kw_m2),
                                  rate_basis=basis)
    d = res.to_dict()
    d["constants"] += json_safe([
        Constant("hole_diameter", p.hole_diameter_mm, "mm", "M", "scenario assumption (configurable)"),
        Constant("upstream_pressure", p.jet_pressure_mpa, "MPa", "M", "scenario assumption (configurable)")])
    models.append({"substance": sub.key, "kind": "jet_fire", **d})
    reason = f"{item.storage} flammable gas: jet fire from a hole, {rate:.2f} kg/s, flame {res.flame_length_m:.0f} m"
    return _circle_candidates("jet_fire", sub.key, jet_fire.MODEL, reason, geom, p, [
        (z.threshold_kw_m2, "kW/m²", z.radius_m, f"{z.threshold_kw_m2:g} kW/m²", z.near_field) for z in res.zones])


def _toxic_model(sub: Substance, item: _Item, rate_g_s: float, duration_s: float, p: ScenarioParams):
    """(centreline ppm function, half-width function, model name, why, record) — Britter–McQuaid when the
    workbook's criterion says dense, else the Gaussian plume."""
    gauss = lambda x: plume.centreline_ppm(  # noqa: E731
        x, release_rate_g_s=rate_g_s, wind_speed_m_s=p.wind_speed_m_s, stability=p.stability,
        molar_mass_g_mol=sub.molar_mass_g_mol, release_height_m=p.release_height_m, terrain=p.terrain)
    src = dense_gas.source_term(sub.molar_mass_g_mol, item.storage, ambient_k=p.ambient_k,
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


def _toxic(item: _Item, geom: BaseGeometry, p: ScenarioParams, models: list, notes: list) -> list[_Candidate]:
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
        ext = plume.threat_extent(conc, half, loc.ppm, max_draw_m=p.max_plume_m)
        zone_rows.append({"zone": loc.zone, "level": loc.name, "ppm": loc.ppm, "distance_m": round(ext.distance_m, 1),
                          "drawn_m": round(ext.drawn_m, 1), "truncated": ext.truncated,
                          "distance_is_lower_bound": ext.lower_bound})
        if ext.drawn_m <= 0 or ext.footprint_local_m is None:
            continue
        if p.wind_dir_deg is None:
            shape, buf = _buffer(geom, ext.drawn_m), ext.drawn_m
        else:
            shape = geodesy.local_shape_to_lonlat(ext.footprint_local_m, lon0, lat0, (p.wind_dir_deg + 180.0) % 360.0)
            if geom.geom_type != "Point":
                shape = shape.union(geom)
            buf = None
        reason_trunc = None
        if ext.truncated:
            reason_trunc = (f"drawn to max_plume_m = {p.max_plume_m:g} m (the Briggs σ curves are fitted to about "
                            f"10 km); the level is reached at {ext.distance_m:.0f} m"
                            + (" or farther (search limit)" if ext.lower_bound else "")
                            + ": the zone and its population are lower bounds")
        out.append(_Candidate(
            "toxic", rank_of.get(loc.zone, len(LEVELS)), loc.ppm, "ppm", ext.drawn_m, shape, buf, sub.key, loc.name,
            loc.basis, model=model, model_reason=why,
            threshold_source=f"{loc.name} {loc.ppm:g} ppm ({'US EPA/NRC AEGL' if loc.basis == 'AEGL' else 'AIHA ERPG'}"
                             f"; substance table tag [{loc_tag}])",
            truncated=ext.truncated, truncation_reason=reason_trunc, true_distance_m=ext.distance_m,
            lower_bound=ext.lower_bound))
    consts = list(dense_gas.CONSTANTS) if model == dense_gas.MODEL else []
    consts += [Constant(f"level_of_concern_{loc.zone}", loc.ppm, "ppm", loc_tag, f"{loc.name}: {sub.source}")
               for loc in locs]
    if model == dense_gas.MODEL:
        consts += [Constant("boiling_point", sub.boiling_point_k, "K", "M", "substance table (handbook, remembered)")]
    models.append({"substance": sub.key, "kind": "toxic", "model": model, "model_reason": why,
                   "sources": list(dense_gas.SOURCES if model == dense_gas.MODEL else plume.SOURCES),
                   "parameters": {"release_rate_g_s": rate, "release_rate_basis": basis, "duration_s": duration_s,
                                  "wind_speed_m_s": p.wind_speed_m_s, "stability": p.stability, "terrain": p.terrain,
                                  "storage": item.storage, "storage_basis": item.storage_basis,
                                  "max_plume_m": p.max_plume_m},
                   "dense_gas": json_safe(record), "zones": zone_rows, "constants": json_safe(consts),
                   "limitations": [plume.DENSE_GAS_LIMITATION] if model == plume.MODEL and sub.dense_gas else []})
    return out


_WHAT = {"explosion": ("爆炸超压", "Explosion overpressure"), "fire": ("池火热辐射", "Pool fire thermal radiation"),
         "toxic": ("毒气扩散", "Toxic dispersion"), "fireball": ("BLEVE火球热辐射", "BLEVE fireball radiation"),
         "jet_fire": ("喷射火热辐射", "Jet fire radiation")}


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
                              "threshold": c.threshold, "basis": c.basis, "model": c.model,
                              "truncated": c.truncated,
                              "true_distance_m": None if c.true_distance_m is None else round(c.true_distance_m, 1)}
                             for c in sorted(group, key=lambda c: -c.distance_m)],
        }
        if driver.basis:
            details["level_basis"] = driver.basis
        trunc = [c for c in group if c.truncated]
        t_driver = max(trunc, key=lambda c: c.true_distance_m or 0.0) if trunc else None
        zones.append(Zone(
            level, zh, en, kind, driver.model, driver.threshold, driver.unit, driver.distance_m, geom,
            driver.buffer_m if buffers == {True} else None, driver.substance, details,
            threshold_source=driver.threshold_source, model_reason=driver.model_reason,
            truncated=bool(trunc), truncation_reason=t_driver.truncation_reason if t_driver else None,
            true_distance_m=t_driver.true_distance_m if t_driver else None,
            true_distance_is_lower_bound=bool(t_driver and t_driver.lower_bound),
            near_field=any(c.near_field for c in group)))
    return zones


def scenario_set(item: _Item, p: ScenarioParams) -> tuple[list[str], list[dict[str, str]]]:
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


_RUNNERS = {"explosion": _explosion, "fire": _fire, "fireball": _fireball, "jet_fire": _jet_fire, "toxic": _toxic}


def hazard_source_zones(feature_geometry: BaseGeometry, inventory: Any, params: ScenarioParams | None = None,
                        *, source: dict[str, Any] | None = None) -> ZoneSet:
    """Zones of a hazard source by substance and storage: VCE (flammable gases), pool fire (flammable liquids),
    BLEVE fireball and jet fire (pressurised / compressed flammable gases) and toxic dispersion (dense or passive,
    chosen by the Britter–McQuaid criterion). One zone per model and level, the union over the inventory's
    substances, naming the substance that reaches farthest. Skipped models are listed with their reason."""
    p = params or ScenarioParams()
    items, warnings = parse_inventory(inventory)
    models: list[dict[str, Any]] = []
    cands: list[_Candidate] = []
    skipped: list[dict[str, str]] = []
    for item in items:
        run, skip = scenario_set(item, p)
        skipped += skip
        for kind in run:
            cands += _RUNNERS[kind](item, feature_geometry, p, models, warnings)
    weather_src = (WORST_CASE_SOURCE if (p.wind_speed_m_s, p.stability) == WEATHER["worst"] else
                   TYPICAL_SOURCE if (p.wind_speed_m_s, p.stability) == WEATHER["typical"] else "user's weather")
    assumptions = [
        f"Weather: wind {p.wind_speed_m_s:g} m/s, stability {p.stability}, {p.terrain} terrain ({weather_src}); "
        f"ambient {p.ambient_k:g} K, RH {p.relative_humidity:g}.",
        ("Wind direction not given: toxic zones are circles of the maximum downwind distance (the wind may blow "
         "from any direction)." if p.wind_dir_deg is None else
         f"Wind from {p.wind_dir_deg:g}° (meteorological convention); plumes point to "
         f"{(p.wind_dir_deg + 180) % 360:g}°."),
        "Toxic release rate: " + (f"{p.release_rate_g_s:g} g/s as given." if p.release_rate_g_s is not None else
                                  f"inventory × {p.release_fraction:g} over {p.release_duration_min:g} min "
                                  f"({RELEASE_SOURCE})."),
        "Toxic model: Britter–McQuaid (1988) when the workbook's criterion calls the release dense, else the "
        "Gaussian plume; each toxic zone states which and why.",
        f"Explosion: TNT equivalence with {p.cloud_fraction:g} of the flammable inventory in the cloud, yield "
        f"η = {p.yield_factor:g}, surface-burst Kingery–Bulmash curve (reflection counted once); "
        f"{'liquids included' if p.vce_for_liquids else 'flammable gases only'}; no VCE for ammonia / H₂S unless "
        "vce_low_reactivity.",
        "Pool fire (flammable liquids): burning rate per substance (Babrauskas 1983) unless burning_rate_kg_m2_s is "
        f"given; pool area = polygon area of the unit, or {p.pool_area_m2:g} m² for point units.",
        f"Pressurised liquefied flammables: BLEVE fireball of the whole quantity and a jet fire from a "
        f"{p.hole_diameter_mm:g} mm hole at {p.jet_pressure_mpa:g} MPa.",
        "Zones combine all substances of the unit: each zone is the union over substances and names the one "
        "reaching farthest; substances are not assumed to be released together.",
        "Polygon units: circles become geodesic buffers of the unit's outline; plumes start at its centroid.",
    ]
    if skipped:
        warnings.append("models skipped: " + "; ".join(f"{s['substance']} {s['model']}: {s['reason']}"
                                                       for s in skipped))
    zs = ZoneSet(_order(_combine(cands)), models, p.model_dump(mode="json"), source or {}, assumptions, warnings)
    zs.skipped = skipped
    return zs


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
               "downstream_azimuth_deg": az, "grade": grade.grade, "grade_label": grade.grade_label,
               "drawing_limit_m": p.max_corridor_m,
               "uncertainty": "observed runouts scatter about a factor of 4 around the regression (10× outliers)"}
    zone = Zone("red", zh, en, "tailings_runout", res.model, None, None, res.corridor_length_m, shape, None, None,
                details, threshold_source="Concha Larrauri & Lall (2018) maximum runout distance D_max [M]",
                model_reason="tailings dam breach: released volume and runout from the dam height and storage",
                truncated=res.corridor_length_capped,
                truncation_reason=(f"corridor drawn to the drawing limit max_corridor_m = {p.max_corridor_m:g} m; "
                                   f"computed runout {res.runout_distance_m:.0f} m") if res.corridor_length_capped
                else None,
                true_distance_m=res.runout_distance_m if res.corridor_length_capped else None)
    rd = res.to_dict()
    rd.pop("corridor_local_m", None)
    warnings = [res.limitations[0]] if res.corridor_length_capped else []
    assumptions = [f"Corridor along the downstream azimuth {az:g}°, drawn to the computed runout "
                   f"(drawing limit {p.max_corridor_m:g} m), widening from {res.corridor_start_width_m:g} m to "
                   f"{res.corridor_end_width_m:g} m."]
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
                 polygon, 0.0, None, {"max_subsidence_m": round(res.max_subsidence_m, 3)},
                 threshold_source="the goaf outline itself (subsidence basin)",
                 model_reason="goaf area: probability-integral subsidence method")
    outer = Zone("orange", "采空区地表移动影响范围", "Goaf surface-movement influence zone", "goaf_subsidence", res.model,
                 round(res.subsidence_ratio_at_buffer_edge, 5), "W/W0 at edge", r, _buffer(polygon, r), r, None,
                 {"influence_radius_m": round(r, 2), "tan_beta": tb_used, "tan_beta_basis": basis},
                 threshold_source="edge of the main influence radius r = H/tanβ (probability-integral method) [S]",
                 model_reason="goaf area: probability-integral subsidence method")
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
                  params: ScenarioParams | None = None, storage: str | None = None) -> ZoneSet:
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
            math.isfinite(quantity_t) and 0 < quantity_t <= MAX_QUANTITY_T):
        problems.append(Problem(None, "quantity_t", f"must be a number of tonnes > 0 and ≤ {MAX_QUANTITY_T:g} "
                                f"(got {quantity_t!r})"))
    if storage is not None and storage not in STORAGE_TYPES:
        problems.append(Problem(None, "storage", f"must be one of {', '.join(STORAGE_TYPES)} (got {storage!r})"))
    if problems:
        raise ValidationFailed(problems)
    source = {"layer": None, "what_if": True, "substance": sub.key, "quantity_t": float(quantity_t),
              "anchor_lonlat": [lon, lat]}
    item = {"substance": sub.key, "quantity_t": float(quantity_t)}
    if storage:
        item["storage"] = storage
    zs = hazard_source_zones(geodesy.point(lon, lat), [item], params, source=source)
    if not zs.zones:
        raise ValidationFailed([Problem(None, "release_type", f"no model of kinds {', '.join((params or ScenarioParams()).kinds)} "
                                        f"applies to {sub.key} (flammable={sub.flammable}, toxic={sub.toxic}, "
                                        f"phase={sub.phase})")])
    return zs


ReleaseType = Literal["auto", "explosion", "fire", "toxic"]

__all__ = ["EXPOSURE_LAYERS", "KINDS", "LEVELS", "ReleaseType", "check_layer", "ScenarioParams", "Zone", "ZoneSet", "goaf_zones",
           "hazard_source_zones", "parse_inventory", "problems_from", "scenario_params", "tailings_zones",
           "what_if_zones", "zones_for"]
