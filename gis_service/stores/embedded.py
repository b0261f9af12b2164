"""The embedded store: a GeoPackage file on disk plus an in-memory spatial index.

No server is needed: each layer is read once into memory (geometries as a shapely array, an R-tree
of their bounds keyed by feature id, attributes as a DataFrame) and every write rewrites the layer in a
copy of the file that then atomically replaces the original, so a failed write leaves the file and
the in-memory state untouched. The R-tree (``rtree``, libspatialindex) takes the write's deletes and
inserts in place once the file is swapped in: a write never rebuilds the index of its layer.

Several processes may open the same file (``serve --workers N``, CLI loads beside a running
service): writes are coordinated by an exclusive OS lock (``flock``) on ``<file>.lock`` — under it a
writer first reloads the file if another process replaced it, then writes — and every read first
checks (one ``stat``) whether the file was replaced since it was loaded and reloads it if so. So
every acknowledged write is visible to every process and no write is lost. This needs a local
filesystem (``flock`` is not reliable on NFS); for several machines or replicas use PostGIS.
Temporary copies left by a killed writer (``.<file>.tmp-*``) are removed when the store opens.

Distances are geodesic metres (see :mod:`gis_service.geodesy`): the index supplies candidates
in a conservatively padded degree box, then candidates are measured on the ellipsoid.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import shutil
import sqlite3
import stat
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import pyogrio
import rtree.index
import shapely
from shapely.geometry.base import BaseGeometry

from .. import access
from ..access import ScopeDenied
from ..catalog import Catalog, LayerSpec
from ..geodesy import geometry_distance_m
from ..validation import Row
from . import cql_eval, mvt_embedded
from .base import (
    COORD_PRECISION,
    EXPORT_ROWS,
    RESTAMP_CHUNK,
    Assign,
    AuditQuery,
    ExportChunk,
    Feature,
    FeatureNotFound,
    Page,
    Progress,
    Query,
    Store,
    StoreError,
    TileRequest,
    WriteBatch,
    audit_entry,
    bbox_parts,
    json_text,
    row_feature,
    upload_trail,
)

log = logging.getLogger(__name__)
REVISIONS_TABLE = "gis_service_revisions"
AUDIT_TABLE = "gis_service_audit"  # the audit trail, written in the same atomic file swap as the data (append-only)  # not registered in gpkg_contents: GDAL does not list it as a layer

# Metres per degree of latitude is at least 110,574 m on WGS84; use a slightly smaller figure so
# that the padded search box always contains the geodesic disc.
_MIN_M_PER_DEG_LAT = 110_500.0
_M_PER_DEG_LON_EQUATOR = 111_320.0


def _pad_degrees(geom: BaseGeometry, metres: float) -> tuple[float, float, float, float]:
    """A lon/lat box certainly containing every point within ``metres`` of ``geom``."""
    x0, y0, x1, y1 = geom.bounds
    dlat = metres / _MIN_M_PER_DEG_LAT * 1.01 + 1e-9
    lat_edge = min(89.9, max(abs(y0), abs(y1)) + dlat)
    dlon = metres / (_M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat_edge))) * 1.01 + 1e-9
    return x0 - dlon, max(-90.0, y0 - dlat), x1 + dlon, min(90.0, y1 + dlat)


def _py(value: Any, attr_type: str) -> Any:
    """A pandas cell as a plain JSON-able Python value of the attribute's type."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if attr_type == "integer":
        return int(value)
    if attr_type == "number":
        return float(value)
    if attr_type == "boolean":
        if isinstance(value, str):  # an object column of bools is written to the GeoPackage as text
            return value.strip().lower() in ("true", "1")
        return bool(value)
    if attr_type == "json":
        return json.loads(value) if isinstance(value, str) else value
    return str(value)


Bounds = tuple[float, float, float, float]


def _bounds(ids: np.ndarray, geoms: np.ndarray) -> dict[int, Bounds]:
    """Feature id → bounds of its geometry; empty geometries (no bounds) are not indexed."""
    if not len(ids):
        return {}
    b = shapely.bounds(geoms)
    ok = np.isfinite(b).all(axis=1)
    return {int(i): (float(r[0]), float(r[1]), float(r[2]), float(r[3])) for i, r in zip(ids[ok], b[ok], strict=True)}


def _append_audit(conn: sqlite3.Connection, trail: list[dict[str, Any]], regulated: dict[str, bool]) -> None:
    """Append the audit records of a write to the copy of the file that will replace the original (on ``conn``,
    the transaction that also bumps the revisions: one commit, not two — a commit of the copy cost ~12 ms)."""
    now_us = time.time_ns() // 1000
    conn.execute(f"CREATE TABLE IF NOT EXISTS {AUDIT_TABLE} (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                 "at_us INTEGER NOT NULL, who TEXT, role TEXT, jurisdiction TEXT, via TEXT, request_id TEXT, "
                 "action TEXT NOT NULL, layer TEXT NOT NULL, fid INTEGER NOT NULL, admin_code TEXT, prev_code TEXT, "
                 "regulated INTEGER NOT NULL, before TEXT, after TEXT)")
    conn.execute(f"CREATE INDEX IF NOT EXISTS {AUDIT_TABLE}_feature ON {AUDIT_TABLE} (layer, fid, seq)")
    conn.executemany(f"INSERT INTO {AUDIT_TABLE} (at_us, who, role, jurisdiction, via, request_id, action, "  # noqa: S608
                     "layer, fid, admin_code, prev_code, regulated, before, after) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [(now_us, e["who"], e["role"], e["jurisdiction"], e["via"], e["request_id"], e["action"],
                       e["layer"], e["feature_id"], e["admin_code"], e["prev_code"], int(regulated[e["layer"]]),
                       None if e["before"] is None else orjson.dumps(e["before"]).decode(),
                       None if e["after"] is None else orjson.dumps(e["after"]).decode()) for e in trail])


def _audit_record(r: tuple) -> dict[str, Any]:
    from datetime import UTC, datetime

    at = datetime.fromtimestamp(r[1] / 1e6, UTC).isoformat().replace("+00:00", "Z")
    return {"seq": int(r[0]), "at": at, "who": r[2], "role": r[3], "jurisdiction": r[4], "via": r[5],
            "request_id": r[6], "action": r[7], "layer": r[8], "feature_id": int(r[9]), "admin_code": r[10],
            "before": None if r[11] is None else orjson.loads(r[11]),
            "after": None if r[12] is None else orjson.loads(r[12])}


class _SpatialIndex:
    """One layer's R-tree (libspatialindex through ``rtree``) over its features' bounds, keyed by feature id.

    A write applies its deletes and inserts (a replaced geometry is both) with :meth:`update`, which also
    bumps :attr:`generation`; each :class:`_LayerData` remembers the generation it matches, so a reader still
    holding the layer as it was before a write gets ``None`` from a query (and measures every feature of its
    snapshot instead) rather than ids from another version. libspatialindex is not safe for concurrent
    reads and writes: every call holds the index's lock (a query takes microseconds)."""

    def __init__(self, bounds: dict[int, Bounds]):
        self._lock = threading.Lock()
        self.generation = 0
        self._tree = rtree.index.Index(((i, b, None) for i, b in bounds.items())) if bounds else rtree.index.Index()

    def update(self, deleted: dict[int, Bounds], inserted: dict[int, Bounds]) -> int:
        with self._lock:
            for fid, b in deleted.items():
                self._tree.delete(fid, b)
            for fid, b in inserted.items():
                self._tree.insert(fid, b)
            self.generation += 1
            return self.generation

    def intersection(self, box: Bounds, generation: int) -> np.ndarray | None:
        """Ids of features whose bounds meet ``box``; None if the caller's snapshot is not this generation."""
        with self._lock:
            if generation != self.generation:
                return None
            return np.fromiter(self._tree.intersection(box), dtype=np.int64)

    def nearest(self, box: Bounds, k: int, generation: int) -> np.ndarray | None:
        """Ids of the ``k`` features whose bounds are nearest ``box`` (more on ties); None as above."""
        with self._lock:
            if generation != self.generation:
                return None
            return np.fromiter(self._tree.nearest(box, k), dtype=np.int64)

    def __len__(self) -> int:
        with self._lock:
            return int(self._tree.get_size())


def _export_values(values: list[Any], kind: str) -> list[Any]:
    """A column slice as the export's Python values: missing (None, or the NaN pandas keeps in a float column of
    integers) → None, integers as int, JSON as its text."""
    if kind == "json":
        return [json_text(v) for v in values]
    if kind == "integer":
        return [None if v is None or v != v else int(v) for v in values]
    return [None if v is None or (isinstance(v, float) and v != v) else v for v in values]


@dataclass
class _LayerData:
    ids: np.ndarray  # int64, ascending
    geoms: np.ndarray  # shapely geometries
    attrs: pd.DataFrame  # one column per attribute, positional index
    props: list[dict[str, Any]]
    index: _SpatialIndex
    generation: int = 0  # the index generation these arrays match
    _geojson: np.ndarray | None = None
    _typed: dict[str, Any] = field(default_factory=dict)

    def typed(self, spec: LayerSpec, name: str) -> Any:
        """A nullable typed array of one attribute (built once per loaded layer, for CQL2 filters)."""
        if name not in self._typed:
            self._typed[name] = cql_eval.typed(self.attrs[name].tolist(), spec.attribute(name).type)
        return self._typed[name]
    _scoped: dict[str, np.ndarray] = field(default_factory=dict)

    def in_jurisdiction(self, jurisdiction: str) -> np.ndarray:
        """Mask of the features whose admin_code lies in ``jurisdiction`` (kept per jurisdiction)."""
        mask = self._scoped.get(jurisdiction)
        if mask is None:
            codes = self.attrs["admin_code"] if "admin_code" in self.attrs else pd.Series([None] * len(self.ids))
            mask = codes.fillna("").astype(str).str.startswith(jurisdiction).to_numpy(dtype=bool) \
                if len(self.ids) else np.zeros(0, dtype=bool)
            if len(self._scoped) > 64:
                self._scoped.clear()
            self._scoped[jurisdiction] = mask
        return mask

    @property
    def geojson(self) -> np.ndarray:
        if self._geojson is None:
            rounded = shapely.set_precision(self.geoms, 10 ** -COORD_PRECISION) if len(self.geoms) else self.geoms
            # set_precision may collapse tiny parts; fall back to the original geometry then
            rounded = np.where(shapely.is_empty(rounded), self.geoms, rounded) if len(self.geoms) else rounded
            self._geojson = shapely.to_geojson(rounded) if len(self.geoms) else np.array([], dtype=object)
        return self._geojson

    def geojson_at(self, pos: int) -> str:
        """One feature's GeoJSON geometry, as :attr:`geojson` has it, without building the whole layer's array
        (a write's audit "before" needs one feature of a layer copy that is about to be replaced)."""
        if self._geojson is not None:
            return str(self._geojson[pos])
        geom = self.geoms[pos]
        rounded = shapely.set_precision(geom, 10 ** -COORD_PRECISION)
        return str(shapely.to_geojson(geom if shapely.is_empty(rounded) else rounded))

    @classmethod
    def build(cls, spec: LayerSpec, ids: np.ndarray, geoms: np.ndarray, attrs: pd.DataFrame,
              index: _SpatialIndex | None = None) -> _LayerData:
        """The layer's arrays sorted by id; a new R-tree unless ``index`` (a write's: updated once persisted)."""
        order = np.argsort(ids, kind="stable")
        ids, geoms = ids[order].astype(np.int64), geoms[order]
        attrs = attrs.iloc[order].reset_index(drop=True)
        columns = {a.name: [_py(v, a.type) for v in attrs[a.name].tolist()] for a in spec.attributes}
        props = [dict(zip(columns, vals, strict=True)) for vals in zip(*columns.values(), strict=True)] \
            if len(ids) else []
        typed = pd.DataFrame(columns) if len(ids) else pd.DataFrame({a.name: [] for a in spec.attributes})
        if index is None:
            index = _SpatialIndex(_bounds(ids, geoms))
        return cls(ids, geoms, typed, props, index, index.generation)

    def positions(self, fids: np.ndarray | None) -> np.ndarray:
        """Positions of the ids an index query gave, ascending; every position when the query was refused
        (a snapshot older than the index): the caller's exact test then decides."""
        if fids is None:
            return np.arange(len(self.ids))
        if not len(self.ids) or not len(fids):
            return np.zeros(0, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.ids, fids), len(self.ids) - 1)
        return np.unique(pos[self.ids[pos] == fids])

    def candidates(self, box: Bounds) -> np.ndarray:
        """Positions of features whose bounds meet ``box``."""
        return self.positions(self.index.intersection(box, self.generation))

    def meeting(self, geom: BaseGeometry) -> np.ndarray:
        """Positions of features that intersect ``geom`` (index candidates, then the exact predicate)."""
        cand = self.candidates(geom.bounds)
        return cand[shapely.intersects(self.geoms[cand], geom)] if len(cand) else cand

    def feature(self, pos: int, distance: float | None = None,
                properties: Sequence[str] | None = None) -> Feature:
        props = self.props[pos]
        if properties is not None:
            props = {k: props[k] for k in properties}
        else:
            props = dict(props)
        return Feature(int(self.ids[pos]), props, str(self.geojson[pos]), distance)


def _upsert_revisions(conn: sqlite3.Connection, revisions: dict[str, int]) -> None:
    conn.execute(f"CREATE TABLE IF NOT EXISTS {REVISIONS_TABLE} (layer TEXT PRIMARY KEY, revision INTEGER NOT NULL)")
    conn.executemany(f"INSERT INTO {REVISIONS_TABLE} (layer, revision) VALUES (?, ?) "  # noqa: S608
                     "ON CONFLICT (layer) DO UPDATE SET revision = excluded.revision", list(revisions.items()))


def stamp_revisions(path: Path | str, layers: Iterable[str]) -> None:
    """Give ``layers`` of a GeoPackage written outside the store (the sample generator) the revision a store
    write would: the time in µs. A rebuilt file then never shows the revisions of the file it replaces, so
    nothing keyed by revision (batch checkpoints, caches) can take the old data's results for the new."""
    now_us = time.time_ns() // 1000
    conn = sqlite3.connect(path)
    try:
        with conn:
            _upsert_revisions(conn, dict.fromkeys(layers, now_us))
    finally:
        conn.close()


class EmbeddedStore(Store):
    kind = "embedded"
    _audit = True  # every write is audited; only bench/bench_jurisdiction.py turns it off, to measure its cost

    def __init__(self, catalog: Catalog, path: Path | str):
        super().__init__(catalog)
        self.path = Path(path)
        self._layers: dict[str, _LayerData] = {}
        self._lock = threading.RLock()
        self._loaded = False
        self._signature: tuple | None = None  # (write generation, inode, mtime ns, size) when loaded
        self._gen_fd: tuple[int, int] | None = None  # (pid, fd) of the open lock file, for reading
        self._revisions: dict[str, int] = {}  # per-layer write counters, persisted in the file itself

    def dataset(self) -> str:
        return f"gpkg:{self.path.resolve()}"

    # -- lifecycle ---------------------------------------------------------------------------
    def init(self) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._file_lock():
                self._remove_leftovers()
                existing = set()
                if self.path.exists():
                    existing = {name for name, _ in pyogrio.list_layers(self.path)}
                missing = [spec for spec in self.catalog if spec.name not in existing]
                if missing:
                    self._persist({spec.name: self._empty(spec) for spec in missing})
                self._load_all()

    def close(self) -> None:
        if self._gen_fd is not None and self._gen_fd[0] == os.getpid():
            os.close(self._gen_fd[1])
        self._gen_fd = None

    def ping(self) -> None:
        self._ensure()
        if not self.path.exists():
            raise StoreError(f"the embedded store's file {self.path} is missing")

    def _ensure(self) -> None:
        if not self._loaded:
            self.init()
        elif self._file_signature() != self._signature:
            with self._lock:  # another process replaced the file: read it again
                if self._file_signature() != self._signature:
                    self._load_all()

    # -- coordination between processes ------------------------------------------------------
    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def _tmp_prefix(self) -> str:
        return f".{self.path.name}.tmp-"

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        """Exclusive OS lock shared by every process that opens this file (held while writing). A
        fresh descriptor each time, so a forked child never shares its parent's lock."""
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _generation(self) -> int:
        """The write counter kept in the lock file (bumped by every write, after the file is replaced)."""
        if self._gen_fd is None or self._gen_fd[0] != os.getpid():
            self._gen_fd = (os.getpid(), os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644))
        raw = os.pread(self._gen_fd[1], 8, 0)
        return int.from_bytes(raw, "little") if len(raw) == 8 else 0

    def _bump_generation(self) -> None:
        gen = self._generation() + 1  # opens the lock file if needed
        assert self._gen_fd is not None
        os.pwrite(self._gen_fd[1], gen.to_bytes(8, "little"), 0)

    def _file_signature(self) -> tuple | None:
        """Changes with every write of any process (generation) and with any replacement of the file."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (self._generation(), st.st_ino, st.st_mtime_ns, st.st_size)

    def _remove_leftovers(self) -> None:
        """Delete temporary copies of killed writes (called under the file lock: no write is running)."""
        for leftover in self.path.parent.glob(self._tmp_prefix() + "*"):
            try:
                leftover.unlink()
                log.warning("removed %s, left by an interrupted write", leftover)
            except OSError:
                pass

    def _empty(self, spec: LayerSpec) -> _LayerData:
        return _LayerData.build(spec, np.zeros(0, dtype=np.int64), np.array([], dtype=object),
                                pd.DataFrame({a.name: [] for a in spec.attributes}))

    def _load_all(self) -> None:
        signature = self._file_signature()
        layers = {}
        for spec in self.catalog:
            layers[spec.name] = self._read_layer(spec)
        self._layers = layers
        self._revisions = self._read_revisions(self.path)
        self._loaded = True
        self._signature = signature

    @staticmethod
    def _read_revisions(path: Path) -> dict[str, int]:
        """The per-layer revisions kept in the GeoPackage (table ``gis_service_revisions``; none → all 0)."""
        with sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True) as conn:
            try:
                return dict(conn.execute(f"SELECT layer, revision FROM {REVISIONS_TABLE}").fetchall())  # noqa: S608
            except sqlite3.OperationalError:  # a file written by another tool: no table yet
                return {}

    def _read_layer(self, spec: LayerSpec) -> _LayerData:
        df = pyogrio.read_dataframe(self.path, layer=spec.name, fid_as_index=True)
        if "id" in df.columns:
            ids = df["id"].to_numpy(dtype=np.int64)
        else:
            ids = df.index.to_numpy(dtype=np.int64)
        attrs = pd.DataFrame({a.name: (df[a.name] if a.name in df.columns else [None] * len(df))
                              for a in spec.attributes})
        geoms = np.asarray(df.geometry.values, dtype=object) if len(df) else np.array([], dtype=object)
        return _LayerData.build(spec, ids, geoms, attrs)

    def _frame_for_file(self, spec: LayerSpec, data: _LayerData) -> gpd.GeoDataFrame:
        cols: dict[str, Any] = {"id": data.ids}
        for a in spec.attributes:
            values = data.attrs[a.name].tolist() if len(data.ids) else []
            if a.type == "json":
                values = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
            dtype = {"string": object, "json": object, "boolean": "boolean", "number": "float64",
                     "integer": "Int64"}[a.type]
            cols[a.name] = pd.Series(values, dtype=dtype)
        return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries(list(data.geoms), crs="EPSG:4326"), crs="EPSG:4326")

    def _persist(self, changed: dict[str, _LayerData], trail: list[dict[str, Any]] | None = None) -> None:
        """Write changed layers (and the audit records of the write) into a copy of the file, then atomically
        swap it in: a crash leaves either the old file or the new one with its records, never one without."""
        fd, tmp = tempfile.mkstemp(prefix=self._tmp_prefix(), suffix=".gpkg", dir=self.path.parent)
        os.close(fd)
        try:
            if self.path.exists():
                shutil.copyfile(self.path, tmp)
                _keep_owner_and_mode(self.path, tmp)   # mkstemp made it 0600: the swap must not change either
            else:
                os.unlink(tmp)
            for name, data in changed.items():
                spec = self.catalog[name]
                frame = self._frame_for_file(spec, data)
                pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG",
                                        geometry_type="Unknown", promote_to_multi=False)
            revisions = self._write_revisions(tmp, changed, trail)
            if not self.path.exists():
                os.chmod(tmp, 0o666 & ~_umask())      # a new file gets the mode any new file would get
            os.replace(tmp, self.path)
            self._revisions = revisions
            self._bump_generation()
            self._signature = self._file_signature()
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _write_revisions(self, tmp: str, changed: dict[str, _LayerData],
                         trail: list[dict[str, Any]] | None = None) -> dict[str, int]:
        """Bump the changed layers' revisions inside the copy that replaces the file (one atomic swap writes
        data, revisions and the audit records ``trail``, the last two in one SQLite transaction). A revision is
        at least the time in µs, so it never repeats after a rebuild."""
        now_us = time.time_ns() // 1000
        revisions = dict(self._revisions)
        for name in changed:
            revisions[name] = max(revisions.get(name, 0) + 1, now_us)
        conn = sqlite3.connect(tmp)
        try:
            with conn:  # one transaction: commits, or rolls back on an error
                _upsert_revisions(conn, {name: revisions[name] for name in changed})
                if trail:
                    _append_audit(conn, trail, {name: self.catalog[name].regulated for name in changed})
        finally:
            conn.close()
        return revisions

    # -- reads -------------------------------------------------------------------------------
    def revision(self, layer: str) -> int:
        self.spec(layer)
        self._ensure()
        return self._revisions.get(layer, 0)

    def _data(self, layer: str) -> _LayerData:
        self.spec(layer)
        self._ensure()
        return self._layers[layer]

    def _visible(self, layer: str, data: _LayerData, writing: bool = False) -> np.ndarray | None:
        """Mask of what the current scope may read (or write), None when it may touch everything.
        Regulated layers are read and written within the jurisdiction; shared ones read by all, written within."""
        jurisdiction = access.jurisdiction()
        if not jurisdiction or not (writing or self.spec(layer).regulated):
            return None
        return data.in_jurisdiction(jurisdiction)

    def _mask(self, data: _LayerData, filters: dict[str, Any] | None, layer: str | None = None) -> np.ndarray:
        mask = np.ones(len(data.ids), dtype=bool)
        visible = self._visible(layer, data) if layer is not None else None
        if visible is not None:
            mask &= visible
        for name, value in (filters or {}).items():
            col = data.attrs[name]
            mask &= (col == value).to_numpy(dtype=bool, na_value=False)
        return mask

    def items(self, layer: str, query: Query) -> Page:
        spec = self.check(layer, query)
        data = self._data(layer)
        positions = self._selection(spec, data, layer, query)
        if query.sortby:
            frame = data.attrs.iloc[positions].copy()
            frame["id"] = data.ids[positions]
            keys = [k for k, _ in query.sortby] + ["id"]
            asc = [a for _, a in query.sortby] + [True]
            frame = frame.sort_values(keys, ascending=asc, na_position="last", kind="stable")
            positions = frame.index.to_numpy()  # attrs has a positional RangeIndex
        page = positions[query.offset: query.offset + query.limit]
        props = query.properties
        # the mask is already evaluated in memory: the count is exact and free
        return Page([data.feature(int(p), properties=props) for p in page], int(len(positions)))

    def export(self, layer: str, query: Query, rows: int = EXPORT_ROWS) -> Iterator[ExportChunk]:
        """The selection's mask evaluated once, then its columns sliced ``rows`` at a time (the layer's arrays as
        they were at the start: a write replaces them rather than changing them, so the export is one snapshot)."""
        spec = self.check(layer, query)
        data = self._data(layer)
        positions = self._selection(spec, data, layer, query)
        columns = {a.name: data.attrs[a.name].to_numpy() for a in spec.attributes}
        for start in range(0, len(positions), rows):
            part = positions[start:start + rows]
            values = {a.name: _export_values(columns[a.name][part].tolist(), a.type) for a in spec.attributes}
            yield ExportChunk(data.ids[part], shapely.to_wkb(data.geoms[part]), values)

    def _selection(self, spec: LayerSpec, data: _LayerData, layer: str, query: Query) -> np.ndarray:
        """Positions (ascending = id order) of the features the query's filters and the caller's scope select."""
        mask = self._mask(data, query.filters, layer)
        if query.bbox is not None:
            hit = np.zeros(len(data.ids), dtype=bool)
            for part in bbox_parts(query.bbox):
                hit[data.meeting(shapely.box(*part))] = True
            mask &= hit
        if query.min_id is not None:
            mask &= data.ids > query.min_id
        if query.cql is not None:
            mask &= cql_eval.Evaluator(lambda name: data.typed(spec, name), data.geoms, data.candidates).mask(query.cql)
        if query.name_contains and spec.has_attribute("name"):
            needle = query.name_contains.casefold()
            names = data.attrs["name"].fillna("").astype(str).str.casefold()
            mask &= names.str.contains(needle, regex=False).to_numpy()
        return np.flatnonzero(mask)

    def get(self, layer: str, fid: int) -> Feature:
        data = self._data(layer)
        pos = int(np.searchsorted(data.ids, fid))
        if pos >= len(data.ids) or data.ids[pos] != fid:
            raise FeatureNotFound(layer, fid)
        visible = self._visible(layer, data)
        if visible is not None and not visible[pos]:
            raise FeatureNotFound(layer, fid)  # 404 as for a missing id: existence does not leak
        return data.feature(pos)

    def count(self, layer: str) -> int:
        data = self._data(layer)
        visible = self._visible(layer, data)
        return int(len(data.ids)) if visible is None else int(visible.sum())

    def extent(self, layer: str) -> tuple[float, float, float, float] | None:
        data = self._data(layer)
        visible = self._visible(layer, data)
        geoms = data.geoms if visible is None else data.geoms[visible]
        if not len(geoms):
            return None
        b = shapely.total_bounds(geoms)
        return tuple(float(v) for v in b)  # type: ignore[return-value]

    def _measured(self, data: _LayerData, geom: BaseGeometry, positions: np.ndarray) -> np.ndarray:
        return geometry_distance_m(geom, data.geoms[positions])

    def within(self, layer: str, geom: BaseGeometry, metres: float,
               filters: dict[str, Any] | None = None) -> list[Feature]:
        self.check_filters(layer, filters)
        data = self._data(layer)
        if not len(data.ids):
            return []
        cand = data.meeting(shapely.box(*_pad_degrees(geom, metres)))
        if filters or self._visible(layer, data) is not None:
            cand = cand[self._mask(data, filters, layer)[cand]]
        if not len(cand):
            return []
        d = self._measured(data, geom, cand)
        keep = d <= metres
        cand, d = cand[keep], d[keep]
        order = np.lexsort((data.ids[cand], d))
        return [data.feature(int(cand[i]), float(d[i])) for i in order]

    def nearest(self, layer: str, geom: BaseGeometry, k: int,
                filters: dict[str, Any] | None = None,
                max_distance_m: float | None = None) -> list[Feature]:
        self.check_filters(layer, filters)
        data = self._data(layer)
        if k <= 0 or not len(data.ids):
            return []
        mask = self._mask(data, filters, layer)
        eligible = np.flatnonzero(mask)
        if not len(eligible):
            return []
        # Candidates by planar (degree) distance, then the exact geodesic radius that must contain
        # the true k nearest: any k features at most D away bound the k-th nearest distance by D.
        if filters or len(eligible) < len(data.ids):
            planar = shapely.distance(geom, data.geoms[eligible])
            cand = eligible[np.argsort(planar, kind="stable")[:k]]
        else:
            cand = data.positions(data.index.nearest(geom.bounds, k, data.generation))
            if len(cand) < k:
                planar = shapely.distance(geom, data.geoms)
                cand = np.argsort(planar, kind="stable")[:k]
        radius = float(self._measured(data, geom, cand).max()) if len(cand) >= min(k, len(eligible)) else math.inf
        if max_distance_m is not None:
            radius = min(radius, max_distance_m)
        if math.isinf(radius):
            found = self._all_measured(data, geom, eligible)
        else:
            found = self.within(layer, geom, radius * (1 + 1e-9) + 1e-6, filters)
        if max_distance_m is not None:
            found = [f for f in found if f.distance_m is not None and f.distance_m <= max_distance_m]
        return found[:k]

    def _all_measured(self, data: _LayerData, geom: BaseGeometry, positions: np.ndarray) -> list[Feature]:
        d = self._measured(data, geom, positions)
        order = np.lexsort((data.ids[positions], d))
        return [data.feature(int(positions[i]), float(d[i])) for i in order]

    def intersecting(self, layer: str, geom: BaseGeometry,
                     filters: dict[str, Any] | None = None) -> list[Feature]:
        self.check_filters(layer, filters)
        data = self._data(layer)
        if not len(data.ids):
            return []
        cand = data.meeting(geom)
        if filters or self._visible(layer, data) is not None:
            cand = cand[self._mask(data, filters, layer)[cand]]
        return [data.feature(int(p)) for p in cand]

    def mvt(self, layer: str, req: TileRequest) -> bytes:
        spec = self.spec(layer)
        for name in req.columns:
            spec.attribute(name)
        data = self._data(layer)
        cols = req.columns
        mask = None
        visible = self._visible(layer, data)  # the caller's jurisdiction, as for every read
        if req.cql is not None or visible is not None:
            full = np.ones(len(data.ids), dtype=bool) if req.cql is None else \
                cql_eval.Evaluator(lambda name: data.typed(spec, name), data.geoms, data.candidates).mask(req.cql)
            if visible is not None:
                full = full & visible

            def mask(pos: np.ndarray) -> np.ndarray:
                return full[pos]

        return mvt_embedded.encode_tile(layer, req, data.ids, data.geoms, data.candidates,
                                        lambda p: {c: data.props[p][c] for c in cols}, mask,
                                        spec.geometry_family == "point")

    def frame(self, layer: str, columns: Sequence[str] | None = None) -> gpd.GeoDataFrame:
        spec = self.spec(layer)
        data = self._data(layer)
        names = list(columns) if columns is not None else list(spec.attribute_names)
        for name in names:
            spec.attribute(name)
        visible = self._visible(layer, data)
        ids, geoms, attrs = data.ids, data.geoms, data.attrs
        if visible is not None:
            ids, geoms, attrs = ids[visible], geoms[visible], attrs[visible].reset_index(drop=True)
        df = attrs[names].copy() if len(ids) else pd.DataFrame({n: [] for n in names})
        df.index = pd.Index(ids, name="id")
        geometry = gpd.GeoSeries(gpd.array.from_shapely(geoms, crs="EPSG:4326"), index=df.index)
        return gpd.GeoDataFrame(df, geometry=geometry, crs="EPSG:4326")

    # -- writes ------------------------------------------------------------------------------
    def write(self, layer: str, batch: WriteBatch) -> list[int]:
        spec = self.spec(layer)
        self._ensure()  # opened before the file lock: init() takes that lock itself (a first write deadlocked)
        with self._lock, self._file_lock():
            data = self._data(layer)  # reloaded first if another process wrote meanwhile
            present = set(data.ids.tolist())
            replaces = {**batch.replaces, **{f: r for f, r in batch.puts.items() if f in present}}
            placed = {f: r for f, r in batch.puts.items() if f not in present}  # created with their own id
            self._check_scope(layer, spec, data, WriteBatch(batch.creates, replaces, batch.deletes,
                                                            puts=placed))
            keep = ~np.isin(data.ids, np.array(list(batch.deletes), dtype=np.int64))
            ids = data.ids[keep].copy()
            geoms = data.geoms[keep].copy()
            attrs = data.attrs[keep].reset_index(drop=True).astype(object)
            pos = {int(f): i for i, f in enumerate(ids)}
            for fid, row in replaces.items():
                i = pos[fid]
                geoms[i] = row.geometry
                for a in spec.attributes:
                    attrs.at[i, a.name] = row.properties.get(a.name)
            next_id = max([int(data.ids.max()) if len(data.ids) else 0, *placed]) + 1
            new_ids = list(range(next_id, next_id + len(batch.creates)))
            added = [*zip(placed, placed.values(), strict=True), *zip(new_ids, batch.creates, strict=True)]
            if added:
                ids = np.concatenate([ids, np.array([f for f, _ in added], dtype=np.int64)])
                geoms = np.concatenate([geoms, np.array([r.geometry for _, r in added], dtype=object)])
                extra = pd.DataFrame([{a.name: r.properties.get(a.name) for a in spec.attributes}
                                      for _, r in added], dtype=object)
                attrs = pd.concat([attrs, extra], ignore_index=True)
            new = _LayerData.build(spec, ids, geoms, attrs, index=data.index)
            trail = self._trail(layer, data, batch, replaces, added) if self._audit else []
            self._persist({layer: new}, trail)
            changed = [*batch.deletes, *replaces]  # the index follows the file only once it is swapped in
            old_pos = np.searchsorted(data.ids, np.array(changed, dtype=np.int64))
            deleted = _bounds(data.ids[old_pos], data.geoms[old_pos])
            new_pos = np.searchsorted(new.ids, np.array([*replaces, *(f for f, _ in added)], dtype=np.int64))
            inserted = _bounds(new.ids[new_pos], new.geoms[new_pos])
            new.generation = data.index.update(deleted, inserted)
            self._layers[layer] = new
            return new_ids

    @staticmethod
    def _trail(layer: str, data: _LayerData, batch: WriteBatch, replaces: dict[int, Row],
               added: list[tuple[int, Row]]) -> list[dict[str, Any]]:
        """The audit records of a write: before (as stored) and after (as written) of every feature."""
        def before(fid: int) -> dict[str, Any]:  # one feature's GeoJSON, not the layer's (~150 ms at 20,000)
            pos = int(np.searchsorted(data.ids, fid))
            return Feature(fid, dict(data.props[pos]), data.geojson_at(pos)).to_dict()

        out = [audit_entry(layer, f, batch.action or "delete", before(f), None) for f in batch.deletes]
        out += [audit_entry(layer, f, batch.action or "replace", before(f), row_feature(f, r))
                for f, r in replaces.items()]
        out += [audit_entry(layer, f, batch.action or "create", None, row_feature(f, r)) for f, r in added]
        return out

    def audit(self, query: AuditQuery) -> list[dict[str, Any]]:
        self._ensure()
        jurisdiction = access.jurisdiction()
        where: list[str] = ["seq > ?"]
        args: list[Any] = [int(query.after_seq)]
        for column, value in (("layer", query.layer), ("fid", query.fid), ("who", query.who)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if query.before_seq is not None:
            where.append("seq < ?")
            args.append(int(query.before_seq))
        if query.since is not None:
            where.append("at_us >= ?")
            args.append(int(query.since * 1e6))
        if query.until is not None:
            where.append("at_us < ?")
            args.append(int(query.until * 1e6))
        if jurisdiction:
            where.append("(regulated = 0 OR substr(admin_code, 1, ?) = ? OR substr(prev_code, 1, ?) = ?)")
            args += [len(jurisdiction), jurisdiction, len(jurisdiction), jurisdiction]
        order = "DESC" if query.newest_first else "ASC"
        sql = (f"SELECT seq, at_us, who, role, jurisdiction, via, request_id, action, layer, fid, admin_code, "  # noqa: S608
               f"before, after FROM {AUDIT_TABLE} WHERE {' AND '.join(where)} ORDER BY seq {order} LIMIT ?")
        with sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True) as conn:
            try:
                rows = conn.execute(sql, [*args, int(query.limit)]).fetchall()
            except sqlite3.OperationalError:  # no write recorded yet: no table
                return []
        return [_audit_record(r) for r in rows]

    def _check_scope(self, layer: str, spec: LayerSpec, data: _LayerData, batch: WriteBatch) -> None:
        """Missing ids, and ids the scope may not read → FeatureNotFound (404: existence does not leak); ids it
        may read but not write (shared layers), and new content outside the jurisdiction → ScopeDenied."""
        present = set(data.ids.tolist())
        readable = self._visible(layer, data)
        writable = self._visible(layer, data, writing=True)
        for fid in list(batch.replaces) + list(batch.deletes):
            if fid not in present:
                raise FeatureNotFound(layer, fid)
            pos = int(np.searchsorted(data.ids, fid))
            if readable is not None and not readable[pos]:
                raise FeatureNotFound(layer, fid)
            if writable is not None and not writable[pos]:
                raise ScopeDenied(layer, access.jurisdiction(), data.props[pos].get("admin_code"))
        jurisdiction = access.jurisdiction()
        for row in [*batch.creates, *batch.replaces.values(), *batch.puts.values()]:
            if not access.covers(jurisdiction, row.properties.get("admin_code")):
                raise ScopeDenied(layer, jurisdiction, row.properties.get("admin_code"))

    def restamp(self, layer: str, assign: Assign, progress: Progress | None = None) -> tuple[int, int]:
        """As the contract says; the spatial join is ``assign`` (the layers facade's admin-area index, one
        vectorised STRtree query per chunk), and the layer is written once, in one atomic file swap."""
        spec = self.spec(layer)
        if access.jurisdiction():
            raise ScopeDenied(layer, access.jurisdiction(), None, "restamping needs the whole service's scope")
        self._ensure()
        with self._lock, self._file_lock():
            data = self._data(layer)
            todo = np.flatnonzero(data.attrs["admin_code"].isna().to_numpy()) if len(data.ids) else np.zeros(0, int)
            chunks = [todo[i:i + RESTAMP_CHUNK] for i in range(0, len(todo), RESTAMP_CHUNK)]
            codes: list[str | None] = []
            for i, chunk in enumerate(chunks):
                if spec.own_code:
                    codes += [None if v is None else str(v) for v in data.attrs[spec.own_code].iloc[chunk].tolist()]
                else:
                    codes += assign(list(data.geoms[chunk]))
                if progress is not None:
                    progress(i + 1, len(chunks))
            stamped = sum(c is not None for c in codes)
            if stamped:
                attrs = data.attrs.astype(object).copy()
                attrs.loc[todo, "admin_code"] = pd.Series(codes, index=todo, dtype=object)
                new = _LayerData.build(spec, data.ids.copy(), data.geoms.copy(), attrs)
                # one audit record per feature that got a code, in the same file swap as the codes
                trail = [audit_entry(layer, int(new.ids[pos]), "restamp", data.feature(pos).to_dict(),
                                     new.feature(pos).to_dict())
                         for pos, code in zip(todo.tolist(), codes, strict=True) if code is not None] \
                    if self._audit else None
                self._persist({layer: new}, trail)
                self._layers[layer] = new
            return stamped, len(todo) - stamped

    def replace_all(self, layer: str, rows: list[Row]) -> list[int]:
        spec = self.spec(layer)
        if access.jurisdiction():
            raise ScopeDenied(layer, access.jurisdiction(), None,
                              f"replacing the whole layer {layer!r} needs the whole service's scope")
        self._ensure()  # as in write(): never init() under the file lock
        with self._lock, self._file_lock():
            self._ensure()
            given = [r.id for r in rows]
            if all(i is not None for i in given) and len(set(given)) == len(given):
                ids = np.array(given, dtype=np.int64)
            else:
                ids = np.arange(1, len(rows) + 1, dtype=np.int64)
            geoms = np.array([r.geometry for r in rows], dtype=object) if rows else np.array([], dtype=object)
            attrs = pd.DataFrame([{a.name: r.properties.get(a.name) for a in spec.attributes} for r in rows],
                                 columns=list(spec.attribute_names), dtype=object)
            new = _LayerData.build(spec, ids, geoms, attrs)
            trail: list[dict[str, Any]] = []
            if self._audit:  # an upload is itemised like any write, in the same file swap
                old = self._data(layer)
                before = {int(f): old.feature(i).to_dict() for i, f in enumerate(old.ids.tolist())}
                trail = upload_trail(layer, before, list(zip(ids.tolist(), rows, strict=True)))
            self._persist({layer: new}, trail)
            self._layers[layer] = new
            return ids.tolist()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _keep_owner_and_mode(original, copy: str) -> None:
    """Give ``copy`` the permission bits (and, where allowed, the owner and group) of ``original``."""
    st = os.stat(original)
    os.chmod(copy, stat.S_IMODE(st.st_mode))
    try:
        os.chown(copy, st.st_uid, st.st_gid)
    except (PermissionError, OSError):
        pass  # not root: the file stays ours, as before the swap for a file we own
