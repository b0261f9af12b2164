"""The QRA engine (pure: no store access): installations → IR grid and contours, and the F-N curve from the
protection targets found around them.

All installations of a request share one local azimuthal-equidistant plane centred on their mean position
(``geodesy``; distances from the centre are exact geodesic metres and distortion stays far below 0.1 % within
tens of kilometres). Each installation's risk is computed to ``max_range_m`` from it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from ... import geodesy
from ...models._common import json_safe
from ...models.probit import SOURCES as PROBIT_SOURCES
from ...stores.base import Feature
from ...validation import Problem, ValidationFailed
from . import fields
from .data import IR_LEVELS, MAX_CELLS, SOURCES, QraParams
from .grid import (
    PolarRisk,
    RiskGrid,
    cell_count,
    contour_generator,
    contour_polygons,
    ir_at,
    polar_risk,
    risk_grid,
)
from .loss_of_containment import OutcomeCase, outcome_cases
from .societal import Receptors, assess, events, fn_curve

HAZARD_LAYER = "hazard_sources"
PARK_LAYER = "chemical_parks"
RECEPTOR_LAYER = "receptors"
MAX_INSTALLATIONS = 500
MAX_WORK_CELLS = 3e8  # installations × cells within reach of each: about 20 s of interpolation at most
LEVEL_LABELS = {
    3e-5: ("3×10⁻⁵/年：三类一般防护目标（在役）", "3e-5/yr: general class 3 (existing)"),
    1e-5: ("1×10⁻⁵/年：三类一般防护目标（新建）、二类（在役）", "1e-5/yr: general class 3 (new), class 2 (existing)"),
    3e-6: ("3×10⁻⁶/年：二类一般防护目标（新建）、高敏感（在役）", "3e-6/yr: general class 2 (new), sensitive (existing)"),
    1e-6: ("1×10⁻⁶/年：参考线", "1e-6/yr: reference"),
    3e-7: ("3×10⁻⁷/年：高敏感、重要及一类一般防护目标（新建）", "3e-7/yr: sensitive, important, general class 1 (new)"),
}
LIMITATIONS = (
    *fields.LIMITATIONS,
    "Each inventory item is one vessel holding the whole design quantity (conservative); no safety systems "
    "(isolation, bunds beyond the pool area, water curtains) reduce frequencies or consequences.",
    "Generic LOC frequencies, ignition probabilities, event-tree structures and the GB 36894 F-N line constants "
    "tagged [M] are unconfirmed, configurable (CPR 18E / API 581 / GB 36894 not re-read in the primary text): check "
    "them before a licence decision.",
    "Flat terrain, no buildings: people are outdoors (location-based individual risk per GB 36894).",
)


@dataclass
class Installation:
    layer: str | None
    id: int | None
    name: str | None
    geometry: BaseGeometry
    inventory: Any
    unit_type: str | None


@dataclass
class QraResult:
    installations: list[dict[str, Any]]
    grid: RiskGrid
    origin: tuple[float, float]
    cases: list[OutcomeCase]
    skipped: list[dict[str, Any]]
    warnings: list[str]
    params: QraParams
    elapsed_ms: float
    contours: list[tuple[float, BaseGeometry | None]] = field(default_factory=list)
    positions: np.ndarray | None = None
    case_groups: list[tuple[np.ndarray, list[OutcomeCase]]] = field(default_factory=list)

    def ir_at_lonlat(self, lon, lat) -> np.ndarray:
        fwd, _ = geodesy._aeqd_pair(round(self.origin[0], 9), round(self.origin[1], 9))
        x, y = fwd.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return ir_at(self.grid, x, y)

    def max_ir(self) -> dict[str, Any]:
        v, x, y = self.grid.max()
        lon, lat = geodesy.from_local(shapely.Point(x, y), *self.origin).coords[0]
        return {"ir_per_year": v, "lon": lon, "lat": lat}

    def metadata(self) -> dict[str, Any]:
        g = self.grid
        return json_safe({
            "installations": self.installations,
            "scenarios": [c.describe() for c in self.cases],
            "skipped": self.skipped,
            "warnings": self.warnings,
            "parameters": self.params.model_dump(mode="json"),
            "max_ir": self.max_ir(),
            "grid": {"resolution_m": self.params.resolution_m, "cells": int(g.ir.size),
                     "origin_lonlat": list(self.origin), "plane": "local azimuthal equidistant (WGS84)",
                     "max_range_m": self.params.max_range_m},
            "levels_per_year": list(IR_LEVELS),
            "criteria": "GB 36894-2018 Table 1: 3e-7 / 3e-6 / 1e-5 (new) and 3e-6 / 1e-5 / 3e-5 (existing) per year "
                        "for sensitive / general class 2 / class 3 protection targets; 1e-6 for reference",
            "method": "IR = Σ f·p_weather·p_wind·P_death over outcome cases (CCPS CPQRA 2000 §4.4; CPR 18E §6)",
            "sources": [*SOURCES, *PROBIT_SOURCES, *fields.SOURCES],
            "limitations": list(LIMITATIONS),
            "elapsed_ms": round(self.elapsed_ms, 1),
            "crs": "WGS84 lon/lat (RFC 7946)",
        })


def _origin(insts: list[Installation]) -> tuple[float, float]:
    pts = np.array([geodesy.anchor(i.geometry) for i in insts])
    return float(pts[:, 0].mean()), float(pts[:, 1].mean())


def compute(insts: list[Installation], p: QraParams) -> QraResult:
    """IR grid and contours of the installations (pure: no store access)."""
    t0 = time.perf_counter()
    origin = _origin(insts)
    positions = np.array([geodesy.to_local(shapely.Point(*geodesy.anchor(i.geometry)), *origin).coords[0]
                          for i in insts])
    cells = cell_count(positions, p.max_range_m, p.resolution_m)
    if cells > MAX_CELLS:
        raise ValidationFailed([Problem(None, "resolution_m", f"the grid would have {cells:,} cells (limit "
                                        f"{MAX_CELLS:,}); use a coarser resolution_m or a smaller max_range_m")])
    window = (2 * p.max_range_m / p.resolution_m + 1) ** 2
    if len(insts) * window > MAX_WORK_CELLS:
        raise ValidationFailed([Problem(None, "resolution_m", f"{len(insts)} installations × {window:,.0f} cells each "
                                        f"exceed the request limit of {MAX_WORK_CELLS:,.0f} cell evaluations; use a "
                                        "coarser resolution_m or a smaller max_range_m")])
    all_cases: list[OutcomeCase] = []
    skipped: list[dict[str, Any]] = []
    warnings: list[str] = []
    polars: list[PolarRisk] = []
    described = []
    groups = []
    for k, inst in enumerate(insts):
        area = geodesy.area_m2(inst.geometry) if inst.geometry.geom_type in ("Polygon", "MultiPolygon") else None
        prefix = f"{inst.id if inst.id is not None else k}:"
        try:
            ss = outcome_cases(inst.inventory, inst.unit_type, p, pool_area_m2=area, prefix=prefix)
        except ValidationFailed as exc:
            if len(insts) == 1:
                raise
            skipped.append({"installation": inst.id, "reason": str(exc)})
            continue
        for s in ss.skipped:
            skipped.append({"installation": inst.id, **s})
        warnings.extend(f"installation {inst.id}: {w}" for w in ss.warnings)
        pr = polar_risk(ss.cases, p, p.max_range_m, p.resolution_m)
        edge = float(pr.ir[-1].max())
        if edge >= IR_LEVELS[-1]:
            warnings.append(f"installation {inst.id}: IR is still {edge:.2g}/yr at max_range_m = {p.max_range_m:g} m; "
                            "contours are cut at the grid edge — increase max_range_m")
        polars.append(pr)
        all_cases.extend(ss.cases)
        groups.append((positions[k], ss.cases))
        lon, lat = geodesy.anchor(inst.geometry)
        described.append({"layer": inst.layer, "id": inst.id, "name": inst.name, "lon": lon, "lat": lat,
                          "unit_type": inst.unit_type, "outcome_cases": len(ss.cases)})
    if not all_cases:
        warnings.append("no outcome case could be computed: IR is zero everywhere (see skipped)")
    kept = np.array([g[0] for g in groups]) if groups else positions[:1]
    grid = risk_grid(polars, kept, p) if polars else risk_grid([], positions[:1], p)
    res = QraResult(described, grid, origin, all_cases, skipped, warnings, p, 0.0, positions=kept, case_groups=groups)
    gen = None  # one contour generator for every level, made when a level has cells
    for level in IR_LEVELS:
        if gen is None and (grid.ir >= level).any():
            gen = contour_generator(grid)
        local = contour_polygons(grid, level, gen)
        res.contours.append((level, None if local is None else geodesy.from_local(local, *origin)))
    res.elapsed_ms = (time.perf_counter() - t0) * 1000.0
    return res


def contours_collection(res: QraResult) -> dict[str, Any]:
    feats = []
    for level, geom in sorted(res.contours, key=lambda t: t[0]):  # lowest level (largest area) first
        if geom is None or geom.is_empty:
            continue
        zh, en = LEVEL_LABELS.get(level, (f"{level:g}/年", f"{level:g}/yr"))
        feats.append({"type": "Feature",
                      "geometry": json_safe(shapely.orient_polygons(geom, exterior_cw=False)),
                      "properties": {"level_per_year": level, "label_zh": zh, "label_en": en,
                                     "area_m2": round(geodesy.area_m2(geom), 1),
                                     "reference_only": level == 1e-6}})
    return {"type": "FeatureCollection", "features": feats, "metadata": res.metadata()}


def societal_events(res: QraResult, feats: list[Feature]) -> tuple[np.ndarray, np.ndarray, Receptors, bool]:
    """Every event's frequency and deaths among the receptors ``feats`` (the F-N curve's input; a province's
    curve is that of all its installations' events), the receptors, and whether day/night populations were known."""
    p = res.params
    ll = np.array([geodesy.anchor(f.geometry) for f in feats]).reshape(-1, 2)
    fwd, _ = geodesy._aeqd_pair(round(res.origin[0], 9), round(res.origin[1], 9))
    dx, dy = fwd.transform(ll[:, 0], ll[:, 1]) if len(ll) else (np.zeros(0), np.zeros(0))

    def pop(f: Feature, key: str) -> float:
        value = f.properties.get(key)
        return float(value if value is not None else f.properties.get("population") or 0)

    def pops(key: str) -> np.ndarray:
        return np.array([pop(f, key) for f in feats])

    known = any(f.properties.get("population_day") is not None for f in feats)
    rec = Receptors(np.asarray(dx), np.asarray(dy), pops("population_day"), pops("population_night"), known)
    freq, deaths = events(res.case_groups, rec, p, p.max_range_m)
    return freq, deaths, rec, known


def societal_from(res: QraResult, feats: list[Feature]) -> dict[str, Any]:
    p = res.params
    freq, deaths, rec, known = societal_events(res, feats)
    points = fn_curve(freq, deaths)
    out = {
        "installations": res.installations,
        "fn_curve": [{"n": n, "f_per_year": f} for n, f in points],
        "assessment": assess(points, p),
        "receptors_counted": len(feats), "population_counted": float(rec.pop_day.sum()),
        "day_night": ("population_day / population_night used with day_fraction "
                      f"{p.day_fraction:g}" if known else "one population for day and night (no day/night share given)"),
        "events": int(freq.size), "expected_deaths_per_year": float((freq * deaths).sum()),
        "skipped": res.skipped, "warnings": res.warnings,
        "parameters": p.model_dump(mode="json"),
        "method": "F(N) = Σ f of events with N ≥ N; N = Σ population × P_death (CCPS CPQRA 2000 §4.4.2)",
        "sources": [*SOURCES, *PROBIT_SOURCES, *fields.SOURCES],
        "limitations": [*LIMITATIONS, "A receptor's population is placed at its representative point."],
    }
    return json_safe(out)
