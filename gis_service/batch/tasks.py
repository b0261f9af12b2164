"""The work of one partition (run on a Dask worker, or in-process for the single-process path): the existing
vectorised analysis code over the partition's sources and the receptors within its halo. Pure functions of
their arguments; top-level so Dask ships them by reference."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from .. import geodesy
from ..analysis.grading import ALPHA_RADIUS_M, grade_rows, people_within_each
from ..analysis.qra.assessment import receptor_checks
from ..analysis.qra.data import IR_LEVELS, QraParams
from ..analysis.qra.engine import Installation, compute, societal_events
from ..analysis.qra.societal import assess, fn_curve
from ..stores.base import Feature
from ..validation import ValidationFailed
from .partition import pad
from .popgrid import read_points


@dataclass
class LayerReceptors:
    """Receptors from the store's layer, already cut to the partition's halo by the driver."""

    frame: pd.DataFrame   # index = id; geometry (shapely) and population, and for the QRA name, class, day/night

    def load(self) -> pd.DataFrame:
        return self.frame


@dataclass
class GridReceptors:
    """Points of the partitioned population grid inside ``bounds`` (read by the worker itself, so the driver
    never holds the grid)."""

    path: str
    bounds: tuple[float, float, float, float]

    def load(self) -> pd.DataFrame:
        lon, lat, pop = read_points(self.path, self.bounds)
        return pd.DataFrame({"geometry": shapely.points(lon, lat), "population": pop,
                             "receptor_class": "residential"})


Receptors = LayerReceptors | GridReceptors

REGRADE_COLUMNS = ["id", "S", "R", "alpha", "people_within_500m", "grade", "grade_label", "stored_grade", "refused",
                   "lon", "lat"]


def peak_rss_mb() -> float:
    """The peak resident memory of this process's address space so far (a Dask worker's, when run on one), MiB:
    ``VmHWM`` of /proc/self/status on Linux (reset by exec, so a spawned worker does not inherit its parent's
    high-water mark as ``ru_maxrss`` does), else ``ru_maxrss``."""
    import resource
    import sys

    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _anchors(geoms) -> np.ndarray:
    return np.array([geodesy.anchor(g) for g in geoms], dtype=float).reshape(-1, 2)


def regrade_part(sources: pd.DataFrame, receptors: Receptors) -> dict[str, Any]:
    """GB 18218 records of the partition's sources; people within 500 m counted among its receptors."""
    rec = receptors.load()
    people = people_within_each(sources.geometry.values, rec.geometry.values, rec["population"].values,
                                ALPHA_RADIUS_M)
    graded = grade_rows(sources.index, sources["inventory"], sources["grade"], people)
    frame = pd.DataFrame.from_records(graded.records, columns=REGRADE_COLUMNS[:-2])
    ll = _anchors(sources.geometry.values)
    pos = {int(fid): k for k, fid in enumerate(sources.index)}
    idx = [pos[int(i)] for i in frame["id"]]
    frame["lon"], frame["lat"] = ll[idx, 0] if idx else [], ll[idx, 1] if idx else []
    return {"records": frame, "problems": [f"{p.field}: {p.message}" for p in graded.problems],
            "warnings": graded.warnings, "receptors_read": len(rec), "peak_rss_mb": peak_rss_mb()}


QRA_LEVEL_COLUMNS = [f"area_m2_ir_{level:.0e}".replace("-0", "-") for level in IR_LEVELS]
QRA_COLUMNS = ["id", "name", "park_id", "lon", "lat", "outcome_cases", "skipped", "max_ir_per_year",
               *QRA_LEVEL_COLUMNS, "targets_in_reach", "targets_failing", "population_counted",
               "expected_deaths_per_year", "max_n", "fn_region"]


def _receptors_in_reach(tree: shapely.STRtree, rec: pd.DataFrame, geoms: np.ndarray, point: shapely.Point,
                        metres: float) -> list[Feature]:
    """What ``store.within(receptors, point, metres)`` answers, from the partition's receptors."""
    cand = tree.query(shapely.box(*pad(point.bounds, metres)), predicate="intersects")
    if not len(cand):
        return []
    d = geodesy.geometry_distance_m(point, geoms[cand])
    keep = d <= metres
    cand, d = cand[keep], d[keep]
    ids = rec.index.values[cand]
    order = np.lexsort((ids, d))
    cols = [c for c in ("name", "receptor_class", "population", "population_day", "population_night") if c in rec]
    out = []
    for i in order:
        row = rec.iloc[int(cand[i])]
        props = {c: (None if pd.isna(row[c]) else row[c]) for c in cols}
        out.append(Feature(int(ids[i]), props, shapely.to_geojson(geoms[cand[i]]), float(d[i])))
    return out


def qra_part(sources: pd.DataFrame, receptors: Receptors, params: dict[str, Any]) -> dict[str, Any]:
    """Each installation's QRA on its own (IR contours' areas, protection targets, F-N events) — what
    ``GET /analysis/risk/individual/hazard_sources/{id}?societal=true`` computes — and its events for the
    province's F-N curve."""
    p = QraParams(**params)
    rec = receptors.load()
    geoms = np.asarray(rec.geometry.values, dtype=object)
    tree = shapely.STRtree(geoms)
    rows, ev_id, ev_f, ev_n = [], [], [], []
    for fid, src in sources.iterrows():
        inst = Installation("hazard_sources", int(fid), src.get("name"), src.geometry, src.get("inventory"),
                            src.get("unit_type"))
        lon, lat = geodesy.anchor(src.geometry)
        row: dict[str, Any] = {"id": int(fid), "name": src.get("name"), "park_id": _int(src.get("park_id")),
                               "lon": lon, "lat": lat}
        try:
            res = compute([inst], p)
        except ValidationFailed as exc:
            rows.append({**row, "outcome_cases": 0, "skipped": str(exc)})
            continue
        feats = _receptors_in_reach(tree, rec, geoms, shapely.Point(lon, lat), p.max_range_m)
        checks = receptor_checks(None, res, feats)  # feats given: the store is not read
        freq, deaths, rcp, _known = societal_events(res, feats)
        points = fn_curve(freq, deaths)
        areas = {level: (None if g is None or g.is_empty else round(geodesy.area_m2(g), 1)) for level, g in res.contours}
        row.update({"outcome_cases": len(res.cases), "skipped": None, "max_ir_per_year": float(res.grid.ir.max()),
                    **{col: areas.get(level) for col, level in zip(QRA_LEVEL_COLUMNS, IR_LEVELS, strict=True)},
                    "targets_in_reach": len(checks), "targets_failing": sum(c["verdict"] == "fail" for c in checks),
                    "population_counted": float(rcp.pop_day.sum()),
                    "expected_deaths_per_year": float((freq * deaths).sum()),
                    "max_n": float(deaths.max()) if deaths.size else 0.0,
                    "fn_region": assess(points, p)["region"]})
        rows.append(row)
        ev_id.append(np.full(freq.size, int(fid)))
        ev_f.append(freq)
        ev_n.append(deaths)
    frame = pd.DataFrame.from_records(rows, columns=QRA_COLUMNS)
    events = pd.DataFrame({"id": np.concatenate(ev_id) if ev_id else np.zeros(0, np.int64),
                           "frequency_per_year": np.concatenate(ev_f) if ev_f else np.zeros(0),
                           "deaths": np.concatenate(ev_n) if ev_n else np.zeros(0)})
    return {"records": frame, "events": events, "problems": [], "warnings": [], "receptors_read": len(rec),
            "peak_rss_mb": peak_rss_mb()}


def _int(v: Any) -> int | None:
    try:
        return None if v is None or pd.isna(v) else int(v)
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------------------------------------ exposure

EXPOSURE_LEVELS = ("red", "orange", "yellow")
EXPOSURE_COLUMNS = ["id", "name", "lon", "lat", "skipped", "zone_count", "max_zone_distance_m", "receptor_count",
                    "total_population", *[f"{lv}_{what}" for lv in EXPOSURE_LEVELS for what in ("receptors", "population")],
                    "zones"]
RECEPTOR_PROPS = ("name", "receptor_class", "population")


class HaloReceptors:
    """The receptors layer as far as one partition needs it: ``within`` and ``intersecting`` answered over the
    partition's cut of the layer exactly as the embedded store answers them over the whole layer (candidates by
    the same padded box, exact geodesic distance, nearest first then id), so the consequence code's
    :func:`~gis_service.analysis.consequence.exposure.assess` runs unchanged on a worker with no store."""

    def __init__(self, frame: pd.DataFrame):
        self.geoms = np.asarray(frame.geometry.values, dtype=object)
        self.ids = frame.index.to_numpy()
        self.tree = shapely.STRtree(self.geoms)
        cols = [c for c in RECEPTOR_PROPS if c in frame]
        self.props = [{c: (None if pd.isna(v) else v) for c, v in zip(cols, row, strict=True)}
                      for row in frame[cols].itertuples(index=False, name=None)]

    def _feature(self, pos: int, distance: float | None = None) -> Feature:
        return Feature(int(self.ids[pos]), dict(self.props[pos]), shapely.to_geojson(self.geoms[pos]), distance)

    def within(self, layer: str, geom: Any, metres: float) -> list[Feature]:
        cand = self.tree.query(shapely.box(*pad(geom.bounds, metres)), predicate="intersects")
        if not len(cand):
            return []
        d = geodesy.geometry_distance_m(geom, self.geoms[cand])
        keep = d <= metres
        cand, d = cand[keep], d[keep]
        order = np.lexsort((self.ids[cand], d))
        return [self._feature(int(cand[i]), float(d[i])) for i in order]

    def intersecting(self, layer: str, geom: Any) -> list[Feature]:
        return [self._feature(int(p)) for p in np.sort(self.tree.query(geom, predicate="intersects"))]


def _source_feature(fid: Any, src: pd.Series) -> Feature:
    props = {"name": src.get("name"), "inventory": src.get("inventory")}
    return Feature(int(fid), props, shapely.to_geojson(src.geometry))


def _zones_box(zs: Any, geom: Any) -> tuple[float, float, float, float] | None:
    """A lon/lat box holding everything the exposure of these zones can reach: a distance zone's every point
    within its distance of the source (padded as the store pads it), a polygon zone's bounds."""
    boxes = [pad(geom.bounds, z.buffer_m) if z.buffer_m is not None else z.geometry.bounds
             for z in zs.zones if z.buffer_m is not None or not z.geometry.is_empty]
    if not boxes:
        return None
    b = np.asarray(boxes, dtype=float)
    return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())


def exposure_reach_part(sources: pd.DataFrame, params: dict[str, Any]) -> dict[str, Any]:
    """First pass: each source's zones (as the API computes them) and the box they reach, so the driver can
    cut every partition's receptors to exactly what its zones can touch (no guessed halo)."""
    from ..analysis.consequence.dispatch import zones_for
    from ..analysis.consequence.params import ScenarioParams

    p = ScenarioParams(**params)
    rows = []
    for fid, src in sources.iterrows():
        try:
            box = _zones_box(zones_for("hazard_sources", _source_feature(fid, src), p), src.geometry)
        except ValidationFailed:
            box = None   # the second pass records why
        rows.append((int(fid), *(box or (np.nan,) * 4)))
    frame = pd.DataFrame.from_records(rows, columns=["id", "x0", "y0", "x1", "y1"])
    return {"records": frame, "problems": [], "warnings": [], "receptors_read": 0, "peak_rss_mb": peak_rss_mb()}


def _exposure_row(res: Any) -> dict[str, Any]:
    zones = []
    by_level: dict[str, tuple[set[int], int]] = {}
    for ze in res.zones:
        z = ze.zone
        zones.append({"level": z.level, "kind": z.kind, "model": z.model, "substance": z.substance,
                      "distance_m": round(float(z.distance_m), 2), "receptor_count": len(ze.receptors),
                      "total_population": ze.total_population, "counts_by_class": ze.counts_by_class,
                      "population_by_class": ze.population_by_class})
        seen, _ = by_level.setdefault(z.level, (set(), 0))
        seen.update(r["id"] for r in ze.receptors)
    pop = {r["id"]: r["population"] for ze in res.zones for r in ze.receptors}
    row: dict[str, Any] = {"zone_count": len(res.zones),
                           "max_zone_distance_m": max((round(float(ze.zone.distance_m), 2) for ze in res.zones),
                                                      default=None),
                           "receptor_count": res.summary["receptor_count"],
                           "total_population": res.summary["total_population"],
                           "zones": json.dumps(zones, ensure_ascii=False)}
    for lv in EXPOSURE_LEVELS:
        ids = by_level.get(lv, (set(), 0))[0]
        row[f"{lv}_receptors"], row[f"{lv}_population"] = len(ids), sum(pop[i] for i in ids)
    return row


def exposure_part(sources: pd.DataFrame, receptors: Receptors, params: dict[str, Any],
                  class_labels: dict[str, str]) -> dict[str, Any]:
    """Each source's consequence zones and the receptors inside each — what
    ``GET /analysis/exposure/hazard_sources/{id}`` computes (same zone code, same ``assess``) — against the
    receptors the driver cut to the union of the partition's zone boxes."""
    from ..analysis.consequence.dispatch import zones_for
    from ..analysis.consequence.exposure import assess
    from ..analysis.consequence.params import ScenarioParams

    p = ScenarioParams(**params)
    rec = receptors.load()
    halo = HaloReceptors(rec)
    rows = []
    for fid, src in sources.iterrows():
        lon, lat = geodesy.anchor(src.geometry)
        row: dict[str, Any] = {"id": int(fid), "name": src.get("name"), "lon": lon, "lat": lat, "skipped": None}
        try:
            zs = zones_for("hazard_sources", _source_feature(fid, src), p)
            row.update(_exposure_row(assess(halo, zs, src.geometry, class_labels)))  # type: ignore[arg-type]
        except ValidationFailed as exc:
            row.update({"skipped": "; ".join(f"{q.field}: {q.message}" for q in exc.problems) or str(exc),
                        "zone_count": 0})
        rows.append(row)
    frame = pd.DataFrame.from_records(rows, columns=EXPOSURE_COLUMNS)
    return {"records": frame, "problems": [], "warnings": [], "receptors_read": len(rec),
            "peak_rss_mb": peak_rss_mb()}


# ------------------------------------------------------------------------------------------------ coverage

def coverage_part(graph: Any, teams: pd.DataFrame, rows: np.ndarray, xy: np.ndarray, types: list[str],
                  limit_s: dict[str, float]) -> dict[str, Any]:
    """The coverage sweep of one tile's capable teams over the targets within its halo — the rescue engine's own
    :func:`~gis_service.analysis.rescue.engine.sweep_road` and :func:`~.sweep_line` — as one row per (target,
    team type) with the best this tile's teams achieve; the driver keeps the best over tiles."""
    from ..analysis.rescue.engine import CoverageSweep, sweep_line, sweep_road

    sweep = CoverageSweep.empty(len(rows), types)
    sweep_road(graph, teams, xy, limit_s, sweep)
    sweep_line(teams, xy, sweep)
    parts = [pd.DataFrame({"row": rows, "team_type": t, "eta_s": sweep.best[t], "team_id": sweep.best_team[t],
                           "near_m": sweep.near_d[t], "near_id": sweep.near_id[t]}) for t in types]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        {"row": [], "team_type": [], "eta_s": [], "team_id": [], "near_m": [], "near_id": []})
    return {"records": frame, "problems": [], "warnings": [], "receptors_read": len(rows),
            "peak_rss_mb": peak_rss_mb()}
