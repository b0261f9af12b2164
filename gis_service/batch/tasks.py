"""The work of one partition (run on a Dask worker, or in-process for the single-process path): the existing
vectorised analysis code over the partition's sources and the receptors within its halo. Pure functions of
their arguments; top-level so Dask ships them by reference."""

from __future__ import annotations

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
