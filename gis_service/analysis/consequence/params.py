"""The request model of the consequence analysis: :class:`ScenarioParams`, validated with messages that
name the parameter and the accepted values (:func:`scenario_params` turns a pydantic error into
:class:`~gis_service.validation.ValidationFailed`).

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
- Pool fire for flammable liquids (models.fire): the substance's large-pool burning rate (Babrauskas 1983 [M]).
  The pool is sized by the release (models.pool): the worst case is the whole item lost at once, spread to
  ``min_pool_thickness_mm`` (5 mm, TNO Yellow Book [M]), bounded by the bund ``pool_area_m2`` (default 1000 m²,
  an assumption) — for a polygon unit the smaller of that and the polygon. The unit's polygon is never burnt as one
  pool. ALOHA levels 10 / 5 / 2 kW/m².
- Toxic zones: red / orange / yellow = AEGL-3 / 2 / 1, ERPG fallback (models.plume). ``wind_dir_deg``
  is the direction the wind blows FROM (meteorological convention, degrees clockwise from north);
  the plume points to ``wind_dir_deg + 180``. Without it the zone is the circle of the maximum
  downwind distance (the wind may come from anywhere).
- Tailings dams: breach runout corridor along ``downstream_azimuth_deg`` (Concha Larrauri & Lall
  2018), drawn to the computed distance (``max_corridor_m`` is a stated drawing limit). Goaf: red = the goaf itself, orange = outline buffered by H / tanβ.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ...models import explosion, fire, plume, tailings
from ...validation import Problem, ValidationFailed

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

# Input ranges outside which the models are not used (issue 24: 5e-324 m² or 1e308 min gave 500s).
# [A] assumptions, chosen as the span of real cases: a pool below 1 m² is a drip, not a pool fire
# (the Mudan/Thomas correlations are fitted on pools of ~1–100 m diameter, CCPS 1999 §3.4); above
# 1 km² it is no bund; a release is modelled for 6 s to one day (the Gaussian plume is a steady-state
# model; over more than a day the weather it assumes does not hold).
POOL_AREA_RANGE_M2 = (1.0, 1_000_000.0)
RELEASE_DURATION_RANGE_MIN = (0.1, 1440.0)


def check_pool_area(v: float) -> float:
    lo, hi = POOL_AREA_RANGE_M2
    if not (math.isfinite(v) and lo <= v <= hi):
        raise ValueError(f"must be a pool area of {lo:g}–{hi:g} m² (got {v})")
    return v


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
    pool_area_m2: float = Field(1000.0, description="bund area, m² (> 0): the largest a pool can be (polygon units: "
                                "the smaller of this and the polygon); the pool is sized by the release")
    min_pool_thickness_mm: float = Field(5.0, ge=0.5, le=100, allow_inf_nan=False,
                                         description="layer thickness an unbunded spill spreads to, mm [M]")
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

    @field_validator("wind_speed_m_s", "max_plume_m", "max_corridor_m")
    @classmethod
    def _positive(cls, v):
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"must be a number > 0 (got {v})")
        return v

    @field_validator("release_duration_min")
    @classmethod
    def _duration(cls, v):
        lo, hi = RELEASE_DURATION_RANGE_MIN
        if not (math.isfinite(v) and lo <= v <= hi):
            raise ValueError(f"must be a duration of {lo:g}–{hi:g} min (got {v})")
        return v

    @field_validator("pool_area_m2")
    @classmethod
    def _pool(cls, v):
        return check_pool_area(v)

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


