"""Directed road graph in CSR form, built from road lines (vectorised numpy, no Python per-edge loops).

Model
-----
* **Nodes** are the vertices of the road lines; vertices whose coordinates coincide after rounding
  to ``NODE_PRECISION_DEG`` (1e-7°, about 1 cm) are merged, so lines that share an end point (or any
  vertex) are connected. Lines that merely cross without a shared vertex are *not* connected
  (bridges/overpasses stay separate, as in OSM).
* **Edges** are the segments between consecutive vertices. A two-way road gives two arcs, a one-way
  road (``oneway=True``) one arc in the digitised direction. Parallel arcs between the same pair of
  nodes are reduced to the fastest one; self-loops (zero-length after merging) are dropped.
* **Weights** are travel times in seconds: geodesic segment length (WGS84, ``pyproj.Geod``) divided by
  the road speed — the line's ``speed_kmh`` attribute when present and positive, else the class
  default from ``gis_service/data/road_speeds.csv`` (OSRM car-profile defaults, see the file for
  the source of each value). Arc lengths in metres are kept for route distances.
* The geometry of an arc is the straight segment between its two node coordinates, so routes are
  drawn from the node sequence.

Snapping
--------
``RoadGraph.snap`` finds the nearest node (cKDTree on unit-sphere xyz, exact nearest by chord which
is monotone in great-circle distance) and adds an **off-network access leg**: the geodesic straight
line between the point and the node, driven at ``DEFAULT_ACCESS_SPEED_KMH`` = 20 km/h. 20 km/h is a
deliberately slow, documented assumption for the unmapped stretch (yards, site tracks, field roads):
it is slower than every road class except service/track (15 km/h), which compensates for the straight
line underestimating the real access path.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np
import shapely
from pyproj import Geod
from scipy.sparse import csr_matrix

WGS84 = Geod(ellps="WGS84")
NODE_PRECISION_DEG = 1e-7
DEFAULT_ACCESS_SPEED_KMH = 20.0
EARTH_RADIUS_M = 6_371_008.8  # mean radius, only used to turn chord lengths into search radii
ROAD_CLASSES = ("motorway", "trunk", "primary", "secondary", "tertiary", "unclassified",
                "residential", "service")
FORMAT_VERSION = 1


def load_speed_table() -> dict[str, tuple[float, str]]:
    """``{road_class: (default speed km/h, source note)}`` from ``data/road_speeds.csv``."""
    text = resources.files("gis_service").joinpath("data/road_speeds.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    return {r["road_class"]: (float(r["speed_kmh"]), r["source"]) for r in rows}


def default_speeds() -> dict[str, float]:
    return {k: v[0] for k, v in load_speed_table().items()}


def _as_array(x, n: int | None = None, dtype=None, fill=None) -> np.ndarray:
    if x is None:
        if n is None:
            raise ValueError("length needed to fill a missing column")
        return np.full(n, fill, dtype=dtype if dtype is not None else object)
    if hasattr(x, "to_numpy"):
        x = x.to_numpy()
    arr = np.asarray(x, dtype=dtype) if dtype is not None else np.asarray(x)
    if arr.ndim == 0:
        arr = np.full(n if n is not None else 1, arr.item(), dtype=arr.dtype)
    return arr


def _xyz(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lo, la = np.radians(lon), np.radians(lat)
    c = np.cos(la)
    return np.column_stack([c * np.cos(lo), c * np.sin(lo), np.sin(la)])


@dataclass(frozen=True)
class Snap:
    """Points snapped to graph nodes, with the off-network access leg (vectorised)."""

    node: np.ndarray        # int64 node index per point (-1 if no node could be found)
    access_m: np.ndarray    # geodesic straight-line distance point ↔ node, metres
    access_s: np.ndarray    # access_m at the access speed, seconds
    lon: np.ndarray         # the original points
    lat: np.ndarray
    access_speed_kmh: float = DEFAULT_ACCESS_SPEED_KMH

    def __len__(self) -> int:
        return len(self.node)

    def subset(self, idx) -> Snap:
        idx = np.asarray(idx)
        return Snap(self.node[idx], self.access_m[idx], self.access_s[idx], self.lon[idx], self.lat[idx],
                    self.access_speed_kmh)


@dataclass
class RoadGraph:
    """Directed road graph. Arrays are aligned per node (``lon``, ``lat``) and per arc (the rest).

    Arcs are stored sorted by (src, dst) and unique per pair, which makes ``src/dst/time_s`` the CSR
    representation directly (``forward``) and lets :meth:`arc_ids` find an arc by binary search.
    """

    lon: np.ndarray
    lat: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    time_s: np.ndarray
    length_m: np.ndarray
    line: np.ndarray                 # index of the source line of each arc (-1 if unknown)
    meta: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_lines(cls, geoms, road_class=None, speed_kmh=None, oneway=None, *,
                   speeds: dict[str, float] | None = None,
                   default_speed_kmh: float | None = None) -> RoadGraph:
        """Build from LineString/MultiLineString geometries (lon/lat) and per-line attributes.

        ``geoms`` may be a GeoDataFrame (then the attribute columns ``road_class``, ``speed_kmh`` and
        ``oneway`` are read from it unless given), a GeoSeries or any array of shapely geometries.
        ``speeds`` overrides the class defaults; ``default_speed_kmh`` is used for a missing or
        unknown class (else such a line raises ``ValueError``).
        """
        if hasattr(geoms, "geometry") and hasattr(geoms, "columns"):
            df = geoms
            geoms = df.geometry.to_numpy()
            if road_class is None and "road_class" in df.columns:
                road_class = df["road_class"]
            if speed_kmh is None and "speed_kmh" in df.columns:
                speed_kmh = df["speed_kmh"]
            if oneway is None and "oneway" in df.columns:
                oneway = df["oneway"]
        geoms = np.asarray(_as_array(geoms), dtype=object)
        n_lines = len(geoms)
        table = default_speeds()
        if speeds:
            table.update(speeds)

        # --- speed per line: attribute when valid, else class default
        spd = np.full(n_lines, np.nan)
        if speed_kmh is not None:
            raw = _as_array(speed_kmh, n_lines)
            spd = np.array([np.nan if v is None else v for v in raw], dtype=float) if raw.dtype == object \
                else raw.astype(float)
        need = ~(np.isfinite(spd) & (spd > 0))
        if need.any():
            cls_arr = _as_array(road_class, n_lines, dtype=object, fill=None)
            uniq, inv = np.unique(cls_arr[need].astype(str), return_inverse=True)
            lut = np.empty(len(uniq))
            for i, c in enumerate(uniq):
                if c in table:
                    lut[i] = table[c]
                elif default_speed_kmh is not None:
                    lut[i] = default_speed_kmh
                else:
                    bad = np.flatnonzero(need)[inv == i][0]
                    raise ValueError(f"line {bad}: unknown road_class {c!r} and no speed_kmh "
                                     f"(known: {', '.join(sorted(table))})")
            spd[need] = lut[inv]
        if oneway is None:
            ow = np.zeros(n_lines, dtype=bool)
        else:
            raw = _as_array(oneway, n_lines)
            ow = np.array([bool(v) if v is not None and v == v else False for v in raw], dtype=bool) \
                if raw.dtype == object else raw.astype(bool)

        # --- explode multi-part lines, get all vertices with their part id
        parts, part_line = shapely.get_parts(geoms, return_index=True)
        coords, part_of = shapely.get_coordinates(parts, return_index=True)
        if len(coords) == 0:
            return cls._from_arcs(np.zeros(0), np.zeros(0), *(np.zeros(0, dtype=np.int64),) * 2,
                                  np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64))
        lon_q = np.round(coords[:, 0] / NODE_PRECISION_DEG).astype(np.int64)
        lat_q = np.round(coords[:, 1] / NODE_PRECISION_DEG).astype(np.int64)
        # one int64 key per rounded coordinate: (lon+180°)·M + (lat+90°) in 1e-7° units (< 2^63)
        mul = 1_800_000_001
        key = (lon_q + 1_800_000_000) * mul + (lat_q + 900_000_000)
        _, first, node_of = np.unique(key, return_index=True, return_inverse=True)
        node_of = node_of.ravel()
        # representative coordinate of each node: its first vertex (exact input coordinates)
        node_lon = coords[first, 0]
        node_lat = coords[first, 1]

        same_part = part_of[1:] == part_of[:-1]
        a = node_of[:-1][same_part]
        b = node_of[1:][same_part]
        seg_line = part_line[part_of[:-1][same_part]]
        seg_len = np.asarray(WGS84.inv(coords[:-1, 0][same_part], coords[:-1, 1][same_part],
                                       coords[1:, 0][same_part], coords[1:, 1][same_part])[2])
        seg_t = seg_len / (spd[seg_line] / 3.6)
        two = ~ow[seg_line]
        src = np.concatenate([a, b[two]])
        dst = np.concatenate([b, a[two]])
        t = np.concatenate([seg_t, seg_t[two]])
        ln = np.concatenate([seg_len, seg_len[two]])
        li = np.concatenate([seg_line, seg_line[two]])
        g = cls._from_arcs(node_lon, node_lat, src, dst, t, ln, li)
        g.meta.update(n_lines=int(n_lines), speed_source="gis_service/data/road_speeds.csv (OSRM car profile)")
        return g

    @classmethod
    def _from_arcs(cls, lon, lat, src, dst, time_s, length_m, line) -> RoadGraph:
        """Canonicalise arcs: drop self-loops, keep the fastest arc per (src, dst), sort by (src, dst)."""
        keep = src != dst
        src, dst, time_s, length_m, line = src[keep], dst[keep], time_s[keep], length_m[keep], line[keep]
        order = np.lexsort((time_s, dst, src))
        src, dst = src[order], dst[order]
        first = np.ones(len(src), dtype=bool)
        first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
        sel = order[first]
        return cls(lon=np.asarray(lon, dtype=float), lat=np.asarray(lat, dtype=float),
                   src=src[first].astype(np.int32), dst=dst[first].astype(np.int32),
                   time_s=np.asarray(time_s, dtype=float)[sel], length_m=np.asarray(length_m, dtype=float)[sel],
                   line=np.asarray(line)[sel].astype(np.int64), meta={})

    @classmethod
    def from_arcs(cls, lon, lat, src, dst, time_s, length_m=None, line=None) -> RoadGraph:
        """Build directly from node coordinates and arcs (each arc one direction)."""
        src = np.asarray(src, dtype=np.int64)
        dst = np.asarray(dst, dtype=np.int64)
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        if length_m is None:
            length_m = np.asarray(WGS84.inv(lon[src], lat[src], lon[dst], lat[dst])[2]) if len(src) else np.zeros(0)
        if line is None:
            line = np.full(len(src), -1)
        return cls._from_arcs(lon, lat, src, dst, np.asarray(time_s, dtype=float),
                              np.asarray(length_m, dtype=float), np.asarray(line))

    # ------------------------------------------------------------------ sizes / CSR
    @property
    def n_nodes(self) -> int:
        return len(self.lon)

    @property
    def n_arcs(self) -> int:
        return len(self.src)

    @cached_property
    def forward(self) -> csr_matrix:
        """CSR, row = from-node, column = to-node, value = seconds (explicit entries are arcs)."""
        n = self.n_nodes
        indptr = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(np.bincount(self.src, minlength=n), out=indptr[1:])
        m = csr_matrix((self.time_s, self.dst.astype(np.int32), indptr), shape=(n, n))
        m.has_sorted_indices = True
        return m

    @cached_property
    def reverse(self) -> csr_matrix:
        """The transposed graph (row = to-node): a search on it from X gives times *to* X."""
        n = self.n_nodes
        order = np.lexsort((self.src, self.dst))
        indptr = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(np.bincount(self.dst, minlength=n), out=indptr[1:])
        m = csr_matrix((self.time_s[order], self.src[order].astype(np.int32), indptr), shape=(n, n))
        m.has_sorted_indices = True
        return m

    @cached_property
    def _arc_keys(self) -> np.ndarray:
        return self.src.astype(np.int64) * self.n_nodes + self.dst

    def arc_ids(self, u, v) -> np.ndarray:
        """Arc index for each (u → v) pair; -1 where there is no such arc."""
        k = np.atleast_1d(np.asarray(u, dtype=np.int64) * self.n_nodes + np.asarray(v, dtype=np.int64))
        if self.n_arcs == 0:
            return np.full(len(k), -1, dtype=np.int64)
        i = np.minimum(np.searchsorted(self._arc_keys, k), self.n_arcs - 1)
        return np.where(self._arc_keys[i] == k, i, -1)

    # ------------------------------------------------------------------ components
    @cached_property
    def component(self) -> np.ndarray:
        """Weakly connected component label per node (0 = the largest)."""
        from scipy.sparse.csgraph import connected_components
        _, lab = connected_components(self.forward, directed=True, connection="weak")
        counts = np.bincount(lab)
        rank = np.empty_like(counts)
        rank[np.argsort(-counts, kind="stable")] = np.arange(len(counts))
        return rank[lab]

    # ------------------------------------------------------------------ snapping
    @cached_property
    def _tree(self):
        from scipy.spatial import cKDTree
        return cKDTree(_xyz(self.lon, self.lat))

    @cached_property
    def _main_nodes(self) -> np.ndarray:
        return np.flatnonzero(self.component == 0)

    @cached_property
    def _main_tree(self):
        from scipy.spatial import cKDTree
        return cKDTree(_xyz(self.lon[self._main_nodes], self.lat[self._main_nodes]))

    def snap(self, lon, lat, access_speed_kmh: float = DEFAULT_ACCESS_SPEED_KMH,
             main_component_only: bool = False) -> Snap:
        """Snap points to their nearest node (vectorised); see the module doc for the access leg.

        ``main_component_only`` snaps only to the largest weakly connected component, which avoids
        landing on a tiny isolated fragment of a real OSM extract.
        """
        if access_speed_kmh <= 0:
            raise ValueError("access_speed_kmh must be positive")
        lon = np.atleast_1d(np.asarray(lon, dtype=float))
        lat = np.atleast_1d(np.asarray(lat, dtype=float))
        if lon.shape != lat.shape:
            raise ValueError("lon and lat must have the same shape")
        if self.n_nodes == 0:
            nan = np.full(len(lon), np.inf)
            return Snap(np.full(len(lon), -1), nan, nan, lon, lat, access_speed_kmh)
        if main_component_only:
            _, j = self._main_tree.query(_xyz(lon, lat))
            node = self._main_nodes[j]
        else:
            _, node = self._tree.query(_xyz(lon, lat))
        node = np.asarray(node, dtype=np.int64)
        d = np.asarray(WGS84.inv(lon, lat, self.lon[node], self.lat[node])[2]) if len(lon) else np.zeros(0)
        return Snap(node, d, d / (access_speed_kmh / 3.6), lon, lat, access_speed_kmh)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> None:
        """Write an ``.npz`` cache (uncompressed; loads in well under a second per million arcs)."""
        np.savez(path, version=np.int64(FORMAT_VERSION), lon=self.lon, lat=self.lat, src=self.src,
                 dst=self.dst, time_s=self.time_s, length_m=self.length_m, line=self.line,
                 meta=np.array(json.dumps(self.meta, default=str)))

    @classmethod
    def load(cls, path: str | Path) -> RoadGraph:
        with np.load(path, allow_pickle=False) as z:
            if int(z["version"]) != FORMAT_VERSION:
                raise ValueError(f"{path}: road graph cache version {int(z['version'])}, expected {FORMAT_VERSION}")
            g = cls(lon=z["lon"], lat=z["lat"], src=z["src"], dst=z["dst"], time_s=z["time_s"],
                    length_m=z["length_m"], line=z["line"], meta=json.loads(str(z["meta"])))
        return g

    def __repr__(self) -> str:
        return f"RoadGraph({self.n_nodes} nodes, {self.n_arcs} arcs)"
