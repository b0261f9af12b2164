"""GB 18218-2018 grading of the hazard-source layer: people within 500 m → α → R → grade.

"People within 500 m" (α in GB 18218-2018 Table 5) is counted from the receptors layer: the sum of the
``population`` attribute of every receptor any part of which lies within 500 m (geodesic, WGS84) of
the unit's geometry — its boundary for a polygon unit, and everything inside it. The standard counts
people outside the unit (off-site); receptors are off-site by definition in this service. Receptors
whose population is unknown count 0. This is the α input only; the rest is
:func:`gis_service.models.grading.grade_unit` (pure).

Two paths, one answer:

- one unit (:func:`grade_feature`): ``store.within("receptors", geometry, 500)`` — the receptors
  counted are listed with their distances;
- the whole layer (:func:`people_within_each`, :func:`regrade_all`): both layers are read once via
  ``store.frame`` and candidate pairs found by hashing anchors into a lon/lat grid whose cells are
  at least the search reach wide (so true pairs are always in neighbouring cells; everything is
  sorting and ``searchsorted``, no per-feature Python), then confirmed with the exact distance the
  embedded store uses: for point pairs a local ellipsoidal (meridian/prime-vertical radius) distance
  decides every pair farther than 5 cm from the 500 m edge and the pyproj Geod inverse decides the
  rest; :func:`gis_service.geodesy.geometry_distance_m`-equivalent AEQD distances when a polygon is
  involved. The bulk path is
  tested against the per-unit path on both stores and benchmarked against a PostGIS ``ST_DWithin``
  join (bench/bench_grading.py).

:func:`regrade_all` writes ``grade`` back (None for S < 1: not a major hazard source) in one
all-or-nothing :class:`~gis_service.stores.base.WriteBatch`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from .. import geodesy
from ..models._common import json_safe
from ..models.grading import GRADE_LABELS, alpha_for_people, grade_unit
from ..stores.base import Store, WriteBatch
from ..validation import Problem, ValidationFailed, validate_rows

LAYER = "hazard_sources"
RECEPTORS = "receptors"
ALPHA_RADIUS_M = 500.0
MARGIN = 1.01  # slack on the local-distance prefilter for polygon pairs (exact test follows)
PEOPLE_NOTE = ("people within 500 m = sum of the receptors' population attribute for every receptor any part of "
               "which is within 500 m (geodesic, WGS84) of the unit's geometry (GB 18218-2018 Table 5 α)")


# -- vectorised people count -----------------------------------------------------------------------

# WGS84 radii of curvature, for the local distance of the point-pair fast path
_A = 6_378_137.0
_E2 = 6.694379990141317e-3
_MIN_M_PER_DEG_LAT = 110_500.0  # < 110,574 m, the shortest degree of latitude on WGS84
_M_PER_DEG_LON_EQUATOR = 111_320.0
EDGE_BAND_M = 0.05  # pairs this close to the radius are decided by the Geod inverse


def grid_pairs(s_lon, s_lat, r_lon, r_lat, reach_m: float) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j) with source i and receptor j possibly within ``reach_m`` (geodesic) — a superset.

    Anchors are hashed into lon/lat cells at least ``reach_m`` wide everywhere in the data's latitude
    band, so any pair within reach sits in the same or a neighbouring cell; receptors are sorted by
    cell and each source's 3×3 block is found with ``searchsorted`` and expanded with ``repeat``.
    """
    s_lon, s_lat, r_lon, r_lat = map(np.asarray, (s_lon, s_lat, r_lon, r_lat))
    if not len(s_lon) or not len(r_lon):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    dlat = reach_m / _MIN_M_PER_DEG_LAT * 1.01 + 1e-9
    lat_edge = min(89.9, max(np.abs(s_lat).max(), np.abs(r_lat).max()) + dlat)
    min_dlon = reach_m / (_M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat_edge))) * 1.01 + 1e-9
    ncols = int(360.0 // min_dlon)  # whole cells around the globe, so the antimeridian wraps cleanly
    if ncols < 3:  # reach so large that neighbours would wrap onto each other: every pair is a candidate
        i, j = np.meshgrid(np.arange(len(s_lon)), np.arange(len(r_lon)), indexing="ij")
        return i.ravel(), j.ravel()
    dlon = 360.0 / ncols

    def cell(lon, lat):
        return (np.floor((lat + 90.0) / dlat).astype(np.int64),
                np.floor((lon + 180.0) / dlon).astype(np.int64) % ncols)

    r_row, r_col = cell(r_lon, r_lat)
    r_key = r_row * ncols + r_col
    order = np.argsort(r_key)
    keys = r_key[order]
    s_row, s_col = cell(s_lon, s_lat)
    src = np.argsort(s_row * ncols + s_col, kind="stable")  # sorted needles: cache-friendly searchsorted
    s_row, s_col = s_row[src], s_col[src]
    i_parts, j_parts = [], []
    for drow in (-1, 0, 1):
        for dcol in (-1, 0, 1):
            col = (s_col + dcol) % ncols  # the antimeridian: column indices wrap around
            k = (s_row + drow) * ncols + col
            lo = np.searchsorted(keys, k, side="left")
            n = np.searchsorted(keys, k, side="right") - lo
            total = int(n.sum())
            if not total:
                continue
            first = np.repeat(lo - np.cumsum(n) + n, n)  # start of each run, shifted by its offset
            i_parts.append(np.repeat(src, n))
            j_parts.append(order[first + np.arange(total)])
    if not i_parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(i_parts), np.concatenate(j_parts)


def local_point_distances(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Short-range ellipsoidal distance (m): the meridian and prime-vertical radii of curvature at the
    mean latitude. Within a few km it agrees with the Geod inverse to well under a millimetre."""
    phi = np.radians((lat1 + lat2) / 2.0)
    w2 = 1.0 - _E2 * np.sin(phi) ** 2
    n = _A / np.sqrt(w2)
    m = _A * (1.0 - _E2) / w2 ** 1.5
    dlon = np.radians((lon2 - lon1 + 180.0) % 360.0 - 180.0)
    return np.hypot(n * np.cos(phi) * dlon, m * np.radians(lat2 - lat1))


def _anchors_and_extents(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(lon, lat) anchor per geometry (the point, or the centroid as in geodesy.anchor), the largest
    geodesic distance from it to any vertex (0 for points), and the point mask."""
    is_pt = shapely.get_type_id(geoms) == 0
    lon = np.empty(len(geoms))
    lat = np.empty(len(geoms))
    ext = np.zeros(len(geoms))
    if is_pt.any():
        lon[is_pt], lat[is_pt] = shapely.get_x(geoms[is_pt]), shapely.get_y(geoms[is_pt])
    other = np.flatnonzero(~is_pt)
    if len(other):
        cent = shapely.centroid(geoms[other])
        lon[other], lat[other] = shapely.get_x(cent), shapely.get_y(cent)
        coords, idx = shapely.get_coordinates(geoms[other], return_index=True)
        d = geodesy.distance_m(lon[other][idx], lat[other][idx], coords[:, 0], coords[:, 1])
        far = np.zeros(len(other))
        np.maximum.at(far, idx, d)
        ext[other] = far
    return lon, lat, ext, is_pt


def local_pair_distances(a, b, lon0, lat0) -> np.ndarray:
    """Distance (m) between geometries ``a[k]`` and ``b[k]`` measured in the ellipsoidal azimuthal-equidistant
    plane centred on (``lon0[k]``, ``lat0[k]``) — the projection :func:`geodesy.geometry_distance_m` uses —
    for many pairs at once. The plane is built from the Geod inverse (x = s·sin α, y = s·cos α), which is
    how PROJ's ellipsoidal ``aeqd`` is defined, so no per-centre transformer is needed."""
    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    lon0 = np.asarray(lon0, dtype=float)
    lat0 = np.asarray(lat0, dtype=float)

    def project(geoms):
        coords, idx = shapely.get_coordinates(geoms, return_index=True)
        az, _, dist = geodesy.WGS84.inv(lon0[idx], lat0[idx], coords[:, 0], coords[:, 1])
        rad = np.radians(az)
        return shapely.set_coordinates(shapely.transform(geoms, lambda xy: xy),  # a copy to write into
                                       np.column_stack([dist * np.sin(rad), dist * np.cos(rad)]))

    if not len(a):
        return np.zeros(0)
    return shapely.distance(project(a), project(b))


def people_within_each(sources, receptors, population, metres: float = ALPHA_RADIUS_M) -> np.ndarray:
    """For each source geometry, the summed ``population`` of receptors within ``metres`` of it.

    ``sources``/``receptors``: arrays (or GeoSeries) of lon/lat shapely geometries; ``population``:
    numbers per receptor (NaN/None → 0). Returns int64 per source, in order.
    """
    src = np.asarray(sources, dtype=object)
    rec = np.asarray(receptors, dtype=object)
    pop = np.nan_to_num(np.asarray(population, dtype=float), nan=0.0)
    out = np.zeros(len(src))
    if not len(src) or not len(rec):
        return out.astype(np.int64)
    s_lon, s_lat, s_ext, s_pt = _anchors_and_extents(src)
    r_lon, r_lat, r_ext, r_pt = _anchors_and_extents(rec)
    r_pts, r_polys = np.flatnonzero(r_pt), np.flatnonzero(~r_pt)
    s_pts, s_polys = np.flatnonzero(s_pt), np.flatnonzero(~s_pt)

    def pairs(s_idx, r_idx, reach_m):
        """Candidate (source, receptor) pairs whose anchors may be within ``reach_m``."""
        i, j = grid_pairs(s_lon[s_idx], s_lat[s_idx], r_lon[r_idx], r_lat[r_idx], reach_m)
        return s_idx[i], r_idx[j]

    # 1) point sources × point receptors: a local ellipsoidal distance decides every pair farther than
    #    EDGE_BAND_M from the radius; the exact Geod inverse (as the embedded store) decides the others.
    i, j = pairs(s_pts, r_pts, metres)
    if len(i):
        d = local_point_distances(s_lon[i], s_lat[i], r_lon[j], r_lat[j])
        edge = np.abs(d - metres) <= EDGE_BAND_M
        if edge.any():
            d[edge] = geodesy.distance_m(s_lon[i[edge]], s_lat[i[edge]], r_lon[j[edge]], r_lat[j[edge]])
        keep = d <= metres
        out += np.bincount(i[keep], weights=pop[j[keep]], minlength=len(src))

    # 2) pairs involving a polygon: candidates by anchor distance ≤ metres + both extents, then the
    #    distance in the AEQD plane of the source's anchor (what geodesy.geometry_distance_m measures).
    s_max = float(s_ext.max())
    r_max = float(r_ext[r_polys].max()) if len(r_polys) else 0.0
    parts = [pairs(s_pts, r_polys, metres + r_max), pairs(s_polys, r_pts, metres + s_max),
             pairs(s_polys, r_polys, metres + s_max + r_max)]
    i = np.concatenate([p[0] for p in parts])
    j = np.concatenate([p[1] for p in parts])
    if len(i):
        reach = (metres + s_ext[i] + r_ext[j]) * MARGIN + 1.0
        near = local_point_distances(s_lon[i], s_lat[i], r_lon[j], r_lat[j]) <= reach
        i, j = i[near], j[near]
        d = local_pair_distances(src[i], rec[j], s_lon[i], s_lat[i])
        keep = d <= metres
        out += np.bincount(i[keep], weights=pop[j[keep]], minlength=len(src))
    return np.rint(out).astype(np.int64)


# -- one unit ----------------------------------------------------------------------------------

def _grade(inventory: Any, people: int, fid: Any) -> dict[str, Any]:
    try:
        return grade_unit(inventory, people).to_dict()
    except ValueError as exc:
        raise ValidationFailed([Problem(None, "inventory", f"feature {fid}: {exc}")], LAYER) from None


def grade_feature(store: Store, fid: int) -> dict[str, Any]:
    """The full GB 18218 record of one hazard source: S, α with the people and receptors counted, each
    β·q/Q term, R, grade, and the grade currently stored. Raises FeatureNotFound."""
    feature = store.get(LAYER, fid)
    near = store.within(RECEPTORS, feature.geometry, ALPHA_RADIUS_M)
    people = int(sum(int(f.properties.get("population") or 0) for f in near))
    result = _grade(feature.properties.get("inventory"), people, fid)
    stored = feature.properties.get("grade")
    return json_safe({
        "id": feature.id,
        "name": feature.properties.get("name"),
        "enterprise": feature.properties.get("enterprise"),
        "unit_type": feature.properties.get("unit_type"),
        "stored_grade": stored,
        "grade_changed": stored != result["grade"],
        **result,
        "people_counted": {
            "radius_m": ALPHA_RADIUS_M,
            "method": PEOPLE_NOTE,
            "receptors": [{"id": f.id, "name": f.properties.get("name"),
                           "receptor_class": f.properties.get("receptor_class"),
                           "population": int(f.properties.get("population") or 0),
                           "distance_m": round(float(f.distance_m or 0.0), 2)} for f in near],   # within() sets it
        },
    })


# -- whole layer -------------------------------------------------------------------------------

@dataclass
class RegradeSummary:
    count: int
    major: int
    by_grade: dict[str, int]
    changed: list[dict[str, Any]]
    written: bool
    warnings: list[str] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self, with_records: bool = False) -> dict[str, Any]:
        out = {"layer": LAYER, "count": self.count, "major_hazard_sources": self.major, "by_grade": self.by_grade,
               "changed_count": len(self.changed), "changed": self.changed, "written": self.written,
               "warnings": self.warnings, "people_note": PEOPLE_NOTE}
        if with_records:
            out["records"] = self.records
        return json_safe(out)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass
class GradedRows:
    """The grading of many units from their people counts (:func:`grade_rows`)."""

    records: list[dict[str, Any]]
    changed: list[dict[str, Any]]
    problems: list[Problem]
    warnings: list[str]
    by_grade: dict[str, int]


def grade_rows(fids, inventories, stored_grades, people, progress: Callable[[int], None] | None = None) -> GradedRows:
    """GB 18218 grading of each unit from its inventory and the people within 500 m (pure; the whole-layer
    regrade and the partitioned batch both call it, so they agree row by row)."""
    records, changed, problems, warnings = [], [], [], []
    by_grade: dict[str, int] = {}
    memo: dict[tuple[str, float], Any] = {}
    for n, (fid, inv, stored, pp) in enumerate(zip(fids, inventories, stored_grades, people, strict=True)):
        try:
            # R depends on the people count only through α: units with the same inventory and α share a grading
            key = (json.dumps(inv, sort_keys=True, default=str), alpha_for_people(int(pp)))
            res = memo.get(key)
            if res is None:
                res = memo[key] = grade_unit(inv, int(pp))
        except ValueError as exc:
            problems.append(Problem(None, "inventory", f"feature {fid}: {exc}"))
            continue
        stored = _clean(stored)
        stored = None if stored is None else int(stored)
        label = res.grade_label or ("refused" if res.refused else "not major (S < 1)")
        by_grade[label] = by_grade.get(label, 0) + 1
        rec = {"id": int(fid), "S": round(res.S, 4), "R": round(res.R, 4), "alpha": res.alpha,
               "people_within_500m": int(pp), "grade": res.grade, "grade_label": res.grade_label,
               "stored_grade": stored, "refused": res.refused}
        records.append(rec)
        if stored != res.grade:
            changed.append({"id": int(fid), "from": stored, "to": res.grade})
        if res.refused:
            warnings.append(f"feature {fid}: not graded — {res.refused}")
        if progress and n % 1000 == 999:
            progress(1000)
    return GradedRows(records, changed, problems, warnings, by_grade)


def order_by_grade(by_grade: dict[str, int]) -> dict[str, int]:
    order = [*GRADE_LABELS.values(), "not major (S < 1)", "refused"]
    return {k: by_grade[k] for k in order if k in by_grade}


def regrade_all(store: Store, write: bool = False, progress: Callable[[int], None] | None = None) -> RegradeSummary:
    """Grade every hazard source (people counted in bulk) and, with ``write``, store the grades that
    changed in one all-or-nothing batch. Raises ValidationFailed (nothing written) if any unit fails."""
    spec = store.spec(LAYER)
    units = store.frame(LAYER)
    receptors = store.frame(RECEPTORS, ["population"])
    people = people_within_each(units.geometry.values, receptors.geometry.values, receptors["population"].values)
    graded = grade_rows(units.index, units["inventory"], units["grade"], people, progress)
    records, changed, problems, warnings = graded.records, graded.changed, graded.problems, graded.warnings
    if problems:
        raise ValidationFailed(problems, LAYER)
    written = False
    if write and changed:
        new_grade = {c["id"]: c["to"] for c in changed}
        rows = units.loc[list(new_grade)]
        pairs = []
        for fid, row in rows.iterrows():
            props = {name: _clean(row[name]) for name in spec.attribute_names}
            props["grade"] = new_grade[int(fid)]
            pairs.append((row.geometry, props))
        valid = validate_rows(spec, pairs)
        store.write(LAYER, WriteBatch(replaces={int(fid): r for fid, r in zip(rows.index, valid, strict=True)},
                                      action="recompute"))
        written = True
    major = sum(1 for r in records if r["grade"] is not None)
    return RegradeSummary(len(records), major, order_by_grade(graded.by_grade), changed, written, warnings, records)


__all__ = ["ALPHA_RADIUS_M", "PEOPLE_NOTE", "GradedRows", "RegradeSummary", "grade_feature", "grade_rows",
           "order_by_grade", "people_within_each", "regrade_all"]
