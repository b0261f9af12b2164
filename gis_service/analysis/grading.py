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
  ``store.frame`` and the pairs found with a k-d tree on unit-sphere xyz (chord radius with a 1 %
  margin over the sphere/ellipsoid difference plus each geometry's extent), then confirmed with the
  exact distance the embedded store uses (pyproj Geod inverse for point pairs,
  :func:`gis_service.geodesy.geometry_distance_m` when a polygon is involved). The bulk path is
  tested against the per-unit path on both stores and benchmarked against a PostGIS ``ST_DWithin``
  join (bench/bench_grading.py).

:func:`regrade_all` writes ``grade`` back (None for S < 1: not a major hazard source) in one
all-or-nothing :class:`~gis_service.stores.base.WriteBatch`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from scipy.spatial import cKDTree

from .. import geodesy
from ..models._common import json_safe
from ..models.grading import GRADE_LABELS, grade_unit
from ..stores.base import Store, WriteBatch
from ..validation import Problem, ValidationFailed, validate_rows

LAYER = "hazard_sources"
RECEPTORS = "receptors"
ALPHA_RADIUS_M = 500.0
SPHERE_R_M = 6_371_008.8  # IUGG mean radius: candidates only; the exact test is on the ellipsoid
MARGIN = 1.01  # spherical vs ellipsoidal distance differ by < 0.7 % at any latitude
PEOPLE_NOTE = ("people within 500 m = sum of the receptors' population attribute for every receptor any part of "
               "which is within 500 m (geodesic, WGS84) of the unit's geometry (GB 18218-2018 Table 5 α)")


# -- vectorised people count -----------------------------------------------------------------------

def _xyz(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lo, la = np.radians(lon), np.radians(lat)
    c = np.cos(la)
    return np.column_stack([c * np.cos(lo), c * np.sin(lo), np.sin(la)])


def _chord(metres):
    return 2.0 * np.sin(np.minimum(np.asarray(metres, dtype=float) / (2.0 * SPHERE_R_M), math.pi / 2))


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
    s_xyz, r_xyz = _xyz(s_lon, s_lat), _xyz(r_lon, r_lat)
    r_pts, r_polys = np.flatnonzero(r_pt), np.flatnonzero(~r_pt)
    s_pts, s_polys = np.flatnonzero(s_pt), np.flatnonzero(~s_pt)
    trees: dict[str, cKDTree] = {}

    def tree(name: str, xyz: np.ndarray, idx: np.ndarray) -> cKDTree:
        if name not in trees:  # unbalanced, non-compact: ~2× faster to build, as fast to query here
            trees[name] = cKDTree(xyz[idx], balanced_tree=False, compact_nodes=False)
        return trees[name]

    def pairs(s_name, s_idx, r_name, r_idx, reach_m):
        """Candidate (source, receptor) pairs whose anchors are within ``reach_m`` on the sphere."""
        if not len(s_idx) or not len(r_idx):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        m = tree(s_name, s_xyz, s_idx).sparse_distance_matrix(
            tree(r_name, r_xyz, r_idx), float(_chord(reach_m * MARGIN + 1.0)), output_type="ndarray")
        return s_idx[m["i"]], r_idx[m["j"]]

    # 1) point sources × point receptors: candidates, then the exact Geod inverse (as the embedded store).
    i, j = pairs("sp", s_pts, "rp", r_pts, metres)
    if len(i):
        d = geodesy.distance_m(s_lon[i], s_lat[i], r_lon[j], r_lat[j])
        keep = d <= metres
        out += np.bincount(i[keep], weights=pop[j[keep]], minlength=len(src))

    # 2) pairs involving a polygon: candidates by anchor distance ≤ metres + both extents, then the
    #    distance in the AEQD plane of the source's anchor (what geodesy.geometry_distance_m measures).
    s_max = float(s_ext.max())
    r_max = float(r_ext[r_polys].max()) if len(r_polys) else 0.0
    parts = [pairs("sp", s_pts, "rq", r_polys, metres + r_max), pairs("sq", s_polys, "rp", r_pts, metres + s_max),
             pairs("sq", s_polys, "rq", r_polys, metres + s_max + r_max)]
    i = np.concatenate([p[0] for p in parts])
    j = np.concatenate([p[1] for p in parts])
    if len(i):
        reach = (metres + s_ext[i] + r_ext[j]) * MARGIN + 1.0
        near = np.linalg.norm(s_xyz[i] - r_xyz[j], axis=1) <= _chord(reach)
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
                           "distance_m": round(float(f.distance_m), 2)} for f in near],
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


def regrade_all(store: Store, write: bool = False, progress: Callable[[int], None] | None = None) -> RegradeSummary:
    """Grade every hazard source (people counted in bulk) and, with ``write``, store the grades that
    changed in one all-or-nothing batch. Raises ValidationFailed (nothing written) if any unit fails."""
    spec = store.spec(LAYER)
    units = store.frame(LAYER)
    receptors = store.frame(RECEPTORS, ["population"])
    people = people_within_each(units.geometry.values, receptors.geometry.values, receptors["population"].values)
    records, changed, problems, warnings = [], [], [], []
    by_grade: dict[str, int] = {}
    for n, (fid, inv, stored, pp) in enumerate(zip(units.index, units["inventory"], units["grade"], people,
                                                   strict=True)):
        try:
            res = grade_unit(inv, int(pp))
        except ValueError as exc:
            problems.append(Problem(None, "inventory", f"feature {fid}: {exc}"))
            continue
        stored = _clean(stored)
        stored = None if stored is None else int(stored)
        label = res.grade_label or "not major (S < 1)"
        by_grade[label] = by_grade.get(label, 0) + 1
        rec = {"id": int(fid), "S": round(res.S, 4), "R": round(res.R, 4), "alpha": res.alpha,
               "people_within_500m": int(pp), "grade": res.grade, "grade_label": res.grade_label,
               "stored_grade": stored}
        records.append(rec)
        if stored != res.grade:
            changed.append({"id": int(fid), "from": stored, "to": res.grade})
        warnings.extend(f"feature {fid}: {w}" for w in res.warnings if "not a known substance" in w
                        or "no critical quantity" in w)
        if progress and n % 1000 == 999:
            progress(1000)
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
        store.write(LAYER, WriteBatch(replaces={int(fid): r for fid, r in zip(rows.index, valid, strict=True)}))
        written = True
    major = sum(1 for r in records if r["grade"] is not None)
    order = [*GRADE_LABELS.values(), "not major (S < 1)"]
    by_grade = {k: by_grade[k] for k in order if k in by_grade}
    return RegradeSummary(len(records), major, by_grade, changed, written, warnings, records)


__all__ = ["ALPHA_RADIUS_M", "PEOPLE_NOTE", "RegradeSummary", "grade_feature", "people_within_each", "regrade_all"]
