"""QRA tables (``gis_service/data/qra_*.csv``, ``gb36894_*.csv``) and the request parameters.

Every table row carries its source and a [V]/[S]/[M] tag; :func:`table_sources` lists them for the output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from ...models._common import load_table, opt_float
from ...models.probit import OVERPRESSURE_MODELS, probit_sets, thermal_models
from ...validation import Problem, ValidationFailed
from ..consequence.params import check_pool_area

STABILITIES = ("A", "B", "C", "D", "E", "F")
FREQUENCY_SETS = ("purple_book", "api581")
IR_LEVELS = (3e-5, 1e-5, 3e-6, 1e-6, 3e-7)  # GB 36894-2018 criteria, with 1e-6 for reference
MAX_CELLS = 4_000_000
MAX_RANGE_M = 10_000.0


@dataclass(frozen=True)
class LocRow:
    frequency_set: str
    equipment: str
    loc: str
    release: str  # instantaneous | continuous_10min | hole
    hole_mm: float | None
    frequency_per_year: float
    source: str
    confidence: str


@dataclass(frozen=True)
class QraSubstance:
    key: str
    storage: str  # pressurised_liquefied | compressed_gas | atmospheric_liquid
    pressure_bar_abs: float | None
    liquid_density_kg_m3: float | None
    lfl_vol_pct: float | None
    ignition: str | None
    confidence: str
    vapour_pressure_kpa: float | None = None


@lru_cache(maxsize=1)
def loc_rows() -> tuple[LocRow, ...]:
    out = []
    for r in load_table("qra_loc_frequencies.csv"):
        out.append(LocRow(r["frequency_set"], r["equipment"], r["loc"], r["release"], opt_float(r["hole_mm"]),
                          float(r["frequency_per_year"]), r["source"], r["confidence"]))
    return tuple(out)


def locs_for(frequency_set: str, equipment: str) -> list[LocRow]:
    return [r for r in loc_rows() if r.frequency_set == frequency_set and r.equipment == equipment]


@dataclass(frozen=True)
class LineRow:
    """A pipe (per metre·year) or loading arm / hose (per hour) LOC of ``data/qra_loc_lines.csv``."""
    frequency_set: str
    equipment: str  # pipe | loading_arm | loading_hose
    min_mm: float
    max_mm: float
    kind: str  # rupture | leak
    frequency: float
    unit: str  # per_m_year | per_hour
    leak_fraction: float | None
    leak_max_mm: float | None
    source: str
    confidence: str

    def hole_mm(self, diameter_mm: float) -> float:
        if self.kind == "rupture":
            return diameter_mm
        return min(diameter_mm * (self.leak_fraction or 0.1), self.leak_max_mm or diameter_mm)


@lru_cache(maxsize=1)
def line_rows() -> tuple[LineRow, ...]:
    return tuple(LineRow(r["frequency_set"], r["equipment"], float(r["min_mm"]), float(r["max_mm"]), r["kind"],
                         float(r["frequency"]), r["unit"], opt_float(r["leak_fraction"]), opt_float(r["leak_max_mm"]),
                         r["source"], r["confidence"])
                 for r in load_table("qra_loc_lines.csv"))


def lines_for(frequency_set: str, equipment: str, diameter_mm: float) -> list[LineRow]:
    return [r for r in line_rows() if r.frequency_set == frequency_set and r.equipment == equipment
            and r.min_mm <= diameter_mm < r.max_mm]


@lru_cache(maxsize=1)
def qra_substances() -> dict[str, QraSubstance]:
    return {r["key"]: QraSubstance(r["key"], r["storage"], opt_float(r["pressure_bar_abs"]),
                                   opt_float(r["liquid_density_kg_m3"]), opt_float(r["lfl_vol_pct"]),
                                   r["ignition"] or None, r["confidence"], opt_float(r.get("vapour_pressure_kpa", "")))
            for r in load_table("qra_substances.csv")}


@lru_cache(maxsize=1)
def _ignition() -> dict[str, list[tuple[float, float, float]]]:
    out: dict[str, list[tuple[float, float, float]]] = {}
    for r in load_table("qra_ignition.csv"):
        out.setdefault(r["category"], []).append(
            (float(r["max_continuous_kg_s"]), float(r["max_instantaneous_kg"]), float(r["p_direct"])))
    return out


def p_direct_ignition(category: str, *, rate_kg_s: float | None = None, mass_kg: float | None = None) -> float:
    """CPR 18E Table 4.5 direct-ignition probability for a continuous rate or an instantaneous mass (bands < 10,
    10–100, > 100 kg/s; < 1000, 1000–10 000, > 10 000 kg: the upper bounds are exclusive)."""
    for max_rate, max_mass, p in _ignition()[category]:
        if (rate_kg_s is not None and rate_kg_s < max_rate) or (mass_kg is not None and mass_kg < max_mass):
            return p
    return _ignition()[category][-1][2]


@lru_cache(maxsize=1)
def event_tree() -> dict[tuple[str, str, str], tuple[tuple[str, float], ...]]:
    out: dict[tuple[str, str, str], list[tuple[str, float]]] = {}
    for r in load_table("qra_event_tree.csv"):
        out.setdefault((r["release_class"], r["release"], r["branch"]), []).append((r["outcome"], float(r["probability"])))
    return {k: tuple(v) for k, v in out.items()}


@lru_cache(maxsize=1)
def event_tree_sources() -> dict[tuple[str, str, str, str], str]:
    """(release class, release, branch, outcome) → "source [tag]" of the branch (``data/qra_event_tree.csv``)."""
    return {(r["release_class"], r["release"], r["branch"], r["outcome"]): f"{r['source']} [{r['confidence']}]"
            for r in load_table("qra_event_tree.csv")}


@lru_cache(maxsize=1)
def default_weather() -> tuple[tuple[str, float, float], ...]:
    return tuple((r["stability"], float(r["wind_speed_m_s"]), float(r["probability"]))
                 for r in load_table("qra_weather.csv"))


@dataclass(frozen=True)
class TargetClass:
    key: str
    label_zh: str
    label_en: str
    ir_new: float
    ir_existing: float
    confidence: str


@lru_cache(maxsize=1)
def target_classes() -> dict[str, TargetClass]:
    return {r["target_class"]: TargetClass(r["target_class"], r["label_zh"], r["label_en"],
                                           float(r["ir_new_per_year"]), float(r["ir_existing_per_year"]),
                                           r["confidence"])
            for r in load_table("gb36894_criteria.csv")}


def target_class_of(receptor_class: str | None, population: Any) -> TargetClass:
    """GB 36894 protection-target class of a receptor (mapping [M], see gb36894_criteria.csv)."""
    classes = target_classes()
    if receptor_class in ("school", "hospital", "care_home"):
        return classes["sensitive"]
    try:
        pop = float(population)
    except (TypeError, ValueError):
        pop = 100.0  # unknown population: the strictest residential class
    return classes["sensitive"] if pop >= 100 else classes["general_2"] if pop >= 30 else classes["general_3"]


@lru_cache(maxsize=1)
def fn_lines() -> dict[str, tuple[float, float, float, float, str]]:
    return {r["line"]: (float(r["c_per_year"]), float(r["k"]), float(r["n_min"]), float(r["n_max"]), r["confidence"])
            for r in load_table("gb36894_fn_lines.csv")}


SOURCES = (
    "GB 36894-2018 危险化学品生产装置和储存设施风险基准 — individual-risk criteria by protection-target class "
    "(new / existing installations) and F-N societal-risk regions",
    "GB/T 37243-2019 危险化学品生产装置和储存设施外部安全防护距离确定方法 — QRA for toxic/flammable installations",
    "Committee for the Prevention of Disasters (1999) Guidelines for quantitative risk assessment 'Purple Book', "
    "CPR 18E — LOC frequencies (Tables 3.1–3.3), direct ignition (Table 4.5), delayed-ignition split (§4.8), "
    "event trees (ch. 4), toxic probits (Table 5.2), "
    "exposure times (30 min toxic, 20 s fire), lethality rules",
    "API Publication 581 (2000) Risk-Based Inspection — generic failure frequencies (optional frequency set)",
    "CCPS (2000) Guidelines for Chemical Process Quantitative Risk Analysis, 2nd ed. — IR and F-N definitions",
)


# -- parameters ------------------------------------------------------------------------------------

class Weather(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    stability: str
    wind_speed_m_s: float
    probability: float

    @field_validator("stability", mode="before")
    @classmethod
    def _stab(cls, v):
        s = str(v).strip().upper()
        if s not in STABILITIES:
            raise ValueError(f"must be one of A–F (got {v!r})")
        return s

    @field_validator("wind_speed_m_s")
    @classmethod
    def _u(cls, v):
        if not (math.isfinite(v) and 0.5 <= v <= 30):
            raise ValueError(f"must be a wind speed in 0.5–30 m/s (got {v})")
        return v

    @field_validator("probability")
    @classmethod
    def _p(cls, v):
        if not (math.isfinite(v) and 0 < v <= 1):
            raise ValueError(f"must be a probability in (0, 1] (got {v})")
        return v


def _default_weather() -> tuple[Weather, ...]:
    return tuple(Weather(stability=s, wind_speed_m_s=u, probability=p) for s, u, p in default_weather())


class QraParams(BaseModel):
    """QRA request parameters; defaults are documented per field and in the data tables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    resolution_m: float = Field(10.0, description="grid cell size, m (1–500)")
    max_range_m: float = Field(2000.0, description="grid reaches this far beyond the installations, m (50–10000)")
    wind_rose: tuple[float, ...] | None = Field(
        None, description="probabilities of the wind blowing FROM each of N equal sectors, clockwise from north "
        "(sector 0 centred on north); must sum to 1. Default: uniform over 12 sectors")
    weather: tuple[Weather, ...] = Field(default_factory=_default_weather,
                                         description="weather classes (stability, wind speed, probability); "
                                         "probabilities sum to 1")
    frequency_set: str = Field("purple_book", description="generic LOC frequencies: purple_book | api581")
    probit_set: str | None = Field(None, description="toxic probit set preferred where the table has it "
                                   "(e.g. withers_lees for chlorine); default: each substance's default row")
    overpressure_model: str = Field("purple_book", description="overpressure lethality: purple_book (1 above "
                                    "30 kPa) | eisenberg (lung-haemorrhage probit)")
    thermal_model: str = Field("eisenberg", description="thermal lethality probit: eisenberg (Eisenberg et al. 1975) "
                               "| purple_book (Tsao & Perry 1979 as in CPR 18E §5.2.3; 2.1 probit units higher)")
    toxic_exposure_cap_min: float = Field(30.0, description="longest toxic exposure, min (CPR 18E: 30)")
    fire_exposure_s: float = Field(20.0, description="thermal exposure time of pool and jet fires, s (CPR 18E: 20)")
    pool_area_m2: float = Field(1000.0, description="bund area, m²: the largest a pool can be (for a polygon unit the "
                                "smaller of this and the polygon); the pool itself is sized by the release [M]")
    transfer_hours: float = Field(1.0, description="hours a loading arm or hose is in use per transfer (its LOC "
                                  "frequencies are per hour, CPR 18E Table 3.13) [M]")
    min_pool_thickness_mm: float = Field(5.0, description="minimum layer thickness an unbunded spill spreads to, mm "
                                         "(TNO Yellow Book CPR 14E, smooth ground; unconfirmed, configurable [M])")
    terrain: str = Field("rural", description="Briggs dispersion curves: rural | urban")
    installation: str = Field("new", description="GB 36894 column for the criteria: new | existing")
    day_fraction: float = Field(0.5, description="share of the year counted as day for day/night populations")
    fn_upper: tuple[float, float] | None = Field(None, description="upper F-N line as (c, k): F = c/N^k")
    fn_lower: tuple[float, float] | None = Field(None, description="lower F-N line as (c, k): F = c/N^k")

    @field_validator("resolution_m")
    @classmethod
    def _res(cls, v):
        if not (math.isfinite(v) and 1 <= v <= 500):
            raise ValueError(f"must be a cell size in 1–500 m (got {v})")
        return v

    @field_validator("max_range_m")
    @classmethod
    def _range(cls, v):
        if not (math.isfinite(v) and 50 <= v <= MAX_RANGE_M):
            raise ValueError(f"must be a distance in 50–{MAX_RANGE_M:.0f} m (got {v})")
        return v

    @field_validator("wind_rose")
    @classmethod
    def _rose(cls, v):
        if v is None:
            return v
        if not (1 <= len(v) <= 360) or 360 % len(v):
            raise ValueError(f"must have N sectors with N dividing 360 (e.g. 4, 8, 12, 16, 36; got {len(v)})")
        if any(not (math.isfinite(p) and p >= 0) for p in v):
            raise ValueError("every sector probability must be a number ≥ 0")
        if abs(sum(v) - 1.0) > 1e-3:
            raise ValueError(f"sector probabilities must sum to 1 (got {sum(v):.6g})")
        return v

    @field_validator("weather")
    @classmethod
    def _weather(cls, v):
        if not v:
            raise ValueError("give at least one weather class")
        total = sum(w.probability for w in v)
        if abs(total - 1.0) > 1e-3:
            raise ValueError(f"weather probabilities must sum to 1 (got {total:.6g})")
        return v

    @field_validator("frequency_set")
    @classmethod
    def _fset(cls, v):
        if v not in FREQUENCY_SETS:
            raise ValueError(f"must be one of {', '.join(FREQUENCY_SETS)} (got {v!r})")
        return v

    @field_validator("probit_set")
    @classmethod
    def _pset(cls, v):
        sets = probit_sets()
        if v is not None and v not in sets:
            raise ValueError(f"must be one of {', '.join(sets)} (got {v!r})")
        return v

    @field_validator("overpressure_model")
    @classmethod
    def _opm(cls, v):
        if v not in OVERPRESSURE_MODELS:
            raise ValueError(f"must be one of {', '.join(OVERPRESSURE_MODELS)} (got {v!r})")
        return v

    @field_validator("thermal_model")
    @classmethod
    def _thm(cls, v):
        if v not in thermal_models():
            raise ValueError(f"must be one of {', '.join(thermal_models())} (got {v!r})")
        return v

    @field_validator("pool_area_m2")
    @classmethod
    def _pool(cls, v):
        return check_pool_area(v)

    @field_validator("toxic_exposure_cap_min", "fire_exposure_s", "transfer_hours")
    @classmethod
    def _pos(cls, v):
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"must be a number > 0 (got {v})")
        return v

    @field_validator("min_pool_thickness_mm")
    @classmethod
    def _thick(cls, v):
        if not (math.isfinite(v) and 0.5 <= v <= 100):
            raise ValueError(f"must be a layer thickness in 0.5–100 mm (got {v})")
        return v

    @field_validator("terrain")
    @classmethod
    def _terrain(cls, v):
        if v not in ("rural", "urban"):
            raise ValueError(f"must be rural or urban (got {v!r})")
        return v

    @field_validator("installation")
    @classmethod
    def _inst(cls, v):
        if v not in ("new", "existing"):
            raise ValueError(f"must be new or existing (got {v!r})")
        return v

    @field_validator("day_fraction")
    @classmethod
    def _day(cls, v):
        if not (math.isfinite(v) and 0 <= v <= 1):
            raise ValueError(f"must be a fraction in [0, 1] (got {v})")
        return v

    @field_validator("fn_upper", "fn_lower")
    @classmethod
    def _line(cls, v):
        if v is not None and not (math.isfinite(v[0]) and v[0] > 0 and math.isfinite(v[1]) and 0 < v[1] <= 4):
            raise ValueError(f"must be (c > 0, 0 < k ≤ 4) for F = c/N^k (got {v})")
        return v

    @field_validator("fn_lower")
    @classmethod
    def _lines_ordered(cls, v, info: ValidationInfo):
        upper = info.data.get("fn_upper") or fn_lines()["upper"][:2]
        if v is not None and v[0] > upper[0]:
            raise ValueError(f"the lower line must lie below the upper line (c = {upper[0]:g} at N = 1)")
        return v

    def rose(self) -> tuple[float, ...]:
        return self.wind_rose if self.wind_rose is not None else (1.0 / 12,) * 12

    def line(self, which: str) -> tuple[float, float]:
        given = self.fn_upper if which == "upper" else self.fn_lower
        if given is not None:
            return given
        c, k, *_ = fn_lines()[which]
        return c, k


def qra_params(**values: Any) -> QraParams:
    """Build :class:`QraParams` from loose values (None = default); errors name the field (→ HTTP 400)."""
    clean = {k: v for k, v in values.items() if v is not None}
    try:
        return QraParams(**clean)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ())) or "parameters"
            msg = err.get("msg", "invalid").removeprefix("Value error, ")
            if err.get("type") == "extra_forbidden":
                msg = f"unknown parameter; accepted: {', '.join(QraParams.model_fields)}"
            problems.append(Problem(None, loc, msg))
        raise ValidationFailed(problems) from None
