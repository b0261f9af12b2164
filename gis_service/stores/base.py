"""The store contract: one interface, two engines (PostGIS and the embedded GeoPackage store).

A store answers spatial questions about the layers in the catalogue; it knows nothing about
hazards. All distances are geodesic metres on WGS84. Geometries travel as GeoJSON text so the
PostGIS engine can serialise them in the database (``ST_AsGeoJSON``) and the API can pass them
through without decoding.

Every method takes a layer *name* that is checked against the catalogue and property names
that are checked against the layer's spec before they reach a query (see :meth:`Store.spec`).
"""

from __future__ import annotations

import abc
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import shapely
from shapely.geometry.base import BaseGeometry

from .. import access
from .. import tiles as tiles_mod
from ..catalog import Catalog, LayerSpec
from ..cql2 import Expr
from ..logs import request_id
from ..tiles import Tile
from ..validation import Problem, Row, ValidationFailed

COORD_PRECISION = 7  # decimal places of lon/lat in GeoJSON output (~1 cm)


class StoreError(RuntimeError):
    """A store could not answer (connection lost, file unreadable)."""


class FeatureNotFound(LookupError):
    def __init__(self, layer: str, fid: Any):
        super().__init__(f"no feature with id {fid!r} in layer {layer!r}")
        self.layer = layer
        self.fid = fid


class Feature:
    """A feature as stored: integer id, typed properties, geometry as RFC 7946 GeoJSON text.

    ``properties`` may arrive already serialised as JSON text (``properties_json``, as PostGIS
    builds it); it is then decoded only if someone reads ``properties``, so an items page can go
    from the database to the HTTP response without a decode/encode round trip.
    """

    __slots__ = ("id", "geometry_json", "distance_m", "_properties", "properties_json")

    def __init__(self, id: int, properties: dict[str, Any] | None, geometry_json: str,
                 distance_m: float | None = None, properties_json: str | None = None):
        self.id = id
        self.geometry_json = geometry_json
        self.distance_m = distance_m
        self._properties = properties
        self.properties_json = properties_json

    @property
    def metres(self) -> float:
        """``distance_m`` of a feature found by a distance query (``within``, ``nearest``), where it is set."""
        if self.distance_m is None:
            raise ValueError(f"feature {self.id} was not found by a distance query: no distance")
        return self.distance_m

    @property
    def properties(self) -> dict[str, Any]:
        if self._properties is None:
            import orjson

            self._properties = orjson.loads(self.properties_json) if self.properties_json else {}
            self.properties_json = None  # the dict may now be changed; it is the truth
        return self._properties

    @properties.setter
    def properties(self, value: dict[str, Any]) -> None:
        self._properties = value
        self.properties_json = None

    @property
    def geometry(self) -> BaseGeometry:
        return shapely.from_geojson(self.geometry_json)

    def to_dict(self) -> dict[str, Any]:
        import orjson

        out: dict[str, Any] = {"type": "Feature", "id": self.id,
                               "geometry": orjson.loads(self.geometry_json),
                               "properties": dict(self.properties)}
        if self.distance_m is not None:
            out["properties"]["distance_m"] = round(self.distance_m, 2)
        return out

    def __repr__(self) -> str:
        return f"Feature(id={self.id}, properties={self.properties!r}, distance_m={self.distance_m})"


@dataclass(frozen=True)
class Query:
    """An items query. ``filters`` maps attribute names to typed values (equality, AND-ed)."""

    bbox: tuple[float, float, float, float] | None = None
    filters: dict[str, Any] = field(default_factory=dict)
    name_contains: str | None = None
    limit: int = 10
    offset: int = 0
    properties: tuple[str, ...] | None = None  # None = all attributes
    sortby: tuple[tuple[str, bool], ...] = ()  # (attribute or "id", ascending)
    cql: Expr | None = None  # a CQL2 filter checked against the layer (gis_service.cql2), AND-ed with the rest
    min_id: int | None = None  # only ids above this (keyset paging of bulk downloads)
    # count the matches of a filtered query only up to this many (a bounded count, never a COUNT(*) over a huge
    # selection): above it Page.matched_exact is False; None = count exactly (the analyses' own queries)
    count_cap: int | None = None


@dataclass
class Page:
    features: list[Feature]
    number_matched: int         # exact, or (matched_exact False) a lower bound: more than Query.count_cap matched
    matched_exact: bool = True
    more: bool | None = None    # rows follow this page (known when the store read one row past it)

    def has_next(self, offset: int) -> bool:
        """Whether a page follows this one (from the extra row read, else from the exact count)."""
        if self.more is not None:
            return self.more
        return offset + len(self.features) < self.number_matched


EXPORT_ROWS = 10_000  # rows per chunk of a bulk export (Store.export): ≈ 30 MB of Python rows on PostGIS


@dataclass
class ExportChunk:
    """Rows of a bulk export, column by column: what a GeoPackage/FlatGeobuf/CSV writer takes without building a
    Feature (or a GeoJSON text) per row."""

    ids: np.ndarray                   # int64, ascending across the chunks of one export
    wkb: np.ndarray                   # CRS84 geometries as WKB (object array of bytes)
    columns: dict[str, list[Any]]     # every attribute of the spec → its values; JSON attributes as JSON text

    def __len__(self) -> int:
        return len(self.ids)


def json_text(value: Any) -> str | None:
    """A JSON attribute's value as the text an export writes (None stays None; UTF-8, compact)."""
    if value is None:
        return None
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:   # what orjson refuses (an integer beyond 64 bits) the standard library writes
        return json.dumps(value, ensure_ascii=False)


@dataclass
class WriteBatch:
    """All-or-nothing set of changes to one layer."""

    creates: list[Row] = field(default_factory=list)
    replaces: dict[int, Row] = field(default_factory=dict)
    deletes: list[int] = field(default_factory=list)
    puts: dict[int, Row] = field(default_factory=dict)  # by id: replaced if present, else created with that id
    action: str | None = None  # what the audit trail calls it (default: create / replace / delete / put)


@dataclass(frozen=True)
class AuditQuery:
    """A query of the audit trail (every committed feature write, append-only). Times in epoch seconds."""

    layer: str | None = None
    fid: int | None = None
    who: str | None = None
    since: float | None = None
    until: float | None = None
    after_seq: int = 0
    before_seq: int | None = None  # only records older than this seq (paging newest first)
    limit: int = 100
    newest_first: bool = False


AUDIT_FIELDS = ("seq", "at", "who", "role", "jurisdiction", "via", "request_id", "action", "layer", "feature_id",
                "admin_code", "before", "after")


def audit_entry(layer: str, fid: int, action: str, before: dict[str, Any] | None,
                after: dict[str, Any] | None) -> dict[str, Any]:
    """One audit record of the current caller (gis_service.access) and request (gis_service.logs)."""
    who = access.scope().identity
    code = (after or before or {}).get("properties", {}).get("admin_code")
    prev = (before or {}).get("properties", {}).get("admin_code")
    return {"who": who.subject, "role": who.role, "jurisdiction": access.jurisdiction(), "via": who.via,
            "request_id": request_id.get(), "action": action, "layer": layer, "feature_id": int(fid),
            "admin_code": code, "prev_code": prev, "before": before, "after": after}


UPLOAD_ACTION = "upload"  # what the audit trail calls a bulk replace of a layer (gis-service load --replace, ...)
UPLOAD_TOLERANCE_DEG = 1e-9  # a re-uploaded geometry within this of the stored one counts as unchanged


def upload_trail(layer: str, before: dict[int, dict[str, Any]], after: Sequence[tuple[int, Row]],
                 action: str = UPLOAD_ACTION) -> list[dict[str, Any]]:
    """The audit records of a bulk replace of ``layer``, one per changed feature: a stored feature not in
    ``after`` is recorded as removed (after None), a new id as added (before None), the same id with other
    properties or geometry as changed (before and after); an identical re-upload records nothing.
    ``before``: the stored features as GeoJSON Feature dicts by id; ``after``: (id, row) as written."""
    out: list[dict[str, Any]] = []
    kept: set[int] = set()
    for fid, row in after:
        fid = int(fid)
        old = before.get(fid)
        if old is not None:
            kept.add(fid)
            if _same(old, row):
                continue
        out.append(audit_entry(layer, fid, action, old, row_feature(fid, row)))
    out += [audit_entry(layer, fid, action, old, None) for fid, old in before.items() if fid not in kept]
    return out


def _same(stored: dict[str, Any], row: Row) -> bool:
    props = stored.get("properties") or {}
    if any(props.get(k) != row.properties.get(k) for k in {*props, *row.properties}):
        return False
    geometry = stored.get("geometry")
    if geometry is None:
        return False
    return bool(shapely.equals_exact(shapely.from_geojson(orjson.dumps(geometry)), row.geometry,
                                     tolerance=UPLOAD_TOLERANCE_DEG))


def row_feature(fid: int, row: Row) -> dict[str, Any]:
    """A written row as a GeoJSON Feature dict (what the audit trail keeps as "after")."""
    return {"type": "Feature", "id": int(fid), "geometry": orjson.loads(shapely.to_geojson(row.geometry)),
            "properties": dict(row.properties)}


def check_query(spec: LayerSpec, query: Query) -> None:
    """Reject identifiers not in the layer's spec (filters, properties, sort keys)."""
    problems: list[Problem] = []
    allowed = set(spec.attribute_names)
    for name in query.filters:
        if name not in allowed:
            problems.append(Problem(None, name, f"unknown filter attribute; allowed: {', '.join(spec.attribute_names)}"))
        elif spec.attribute(name).type == "json":
            problems.append(Problem(None, name, "JSON attributes cannot be used as equality filters"))
    for name in query.properties or ():
        if name not in allowed:
            problems.append(Problem(None, "properties", f"unknown property {name!r}; allowed: {', '.join(spec.attribute_names)}"))
    for name, _asc in query.sortby:
        if name != "id" and name not in allowed:
            problems.append(Problem(None, "sortby", f"unknown sort key {name!r}; allowed: id, {', '.join(spec.attribute_names)}"))
        elif name != "id" and spec.attribute(name).type == "json":
            problems.append(Problem(None, "sortby", f"JSON attribute {name!r} cannot be a sort key"))
    if query.bbox is not None:
        x0, y0, x1, y1 = query.bbox
        if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90 and y0 <= y1):
            problems.append(Problem(None, "bbox", "bbox must be minlon,minlat,maxlon,maxlat in WGS84 degrees"))
    if query.limit < 0 or query.offset < 0:
        problems.append(Problem(None, "limit", "limit and offset must not be negative"))
    if problems:
        raise ValidationFailed(problems, spec.name)


def bbox_parts(bbox: tuple[float, float, float, float]) -> list[tuple[float, float, float, float]]:
    """Split a bbox that crosses the antimeridian (minlon > maxlon) into two."""
    x0, y0, x1, y1 = bbox
    if x0 <= x1:
        return [bbox]
    return [(x0, y0, 180.0, y1), (-180.0, y0, x1, y1)]


THIN_CELL_UNITS = 64  # thinning cell: 64 of the 4096 tile-grid units (4 screen pixels of a 256-pixel tile)


@dataclass(frozen=True)
class TileRequest:
    """One layer of one vector tile: the attributes to carry, the feature cap and an optional CQL2 filter."""

    tile: Tile
    columns: tuple[str, ...]
    max_features: int
    cql: Expr | None = None

    @property
    def search_bounds(self) -> tuple[float, float, float, float]:
        """Lon/lat box of the tile with its buffer (the candidates' bounding boxes must meet it)."""
        x0, y0, x1, y1 = self.tile.bounds_3857
        pad = tiles_mod.BUFFER * self.tile.pixel_m
        o = tiles_mod.ORIGIN
        return Tile.lonlat_of(max(x0 - pad, -o), max(y0 - pad, -o), min(x1 + pad, o), min(y1 + pad, o))

    @property
    def cell_m(self) -> float:
        return THIN_CELL_UNITS * self.tile.pixel_m


Assign = Callable[[Sequence[Any]], list[str | None]]   # geometries → the admin code of each (or None)
Progress = Callable[[int, int], None]                  # (done, total)

RESTAMP_CHUNK = 20_000   # ids per restamp step (one UPDATE and one progress step on PostGIS)


class Store(abc.ABC):
    """The contract both engines implement; the contract tests in tests/ run on each."""

    kind: str = "abstract"

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def spec(self, layer: str) -> LayerSpec:
        return self.catalog[layer]  # raises UnknownLayer for anything not in the catalogue

    # -- lifecycle ---------------------------------------------------------------------------
    @abc.abstractmethod
    def init(self) -> None:
        """Create missing tables and indexes. Safe to run any number of times."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections or files."""

    @abc.abstractmethod
    def dataset(self) -> str:
        """Which data this store holds (its file, or its database), for keys of results kept outside the store:
        with the layers' revisions it tells one dataset from another. No secrets in it."""

    def ping(self) -> None:
        """Raise (StoreError or the driver's error) unless the store can answer now."""
        self.count(next(iter(self.catalog)).name)

    # -- reads -------------------------------------------------------------------------------
    @abc.abstractmethod
    def items(self, layer: str, query: Query) -> Page:
        """Filtered, paged features ordered by ``query.sortby`` then id, with the total matched."""

    def export(self, layer: str, query: Query, rows: int = EXPORT_ROWS) -> Iterator[ExportChunk]:
        """Every feature of ``query``'s selection (bbox, equality filters, CQL2, ``q``, the caller's scope; limit,
        offset, sortby and properties do not apply) in id order, ``rows`` at a time, without counting anything: the
        read of a bulk download. Engines read it in one pass (PostGIS: one server-side cursor over one snapshot;
        embedded: one mask); this fallback pages :meth:`items` by keyset."""
        spec = self.check(layer, query)
        last = None
        while True:
            page = self.items(layer, Query(bbox=query.bbox, filters=query.filters, name_contains=query.name_contains,
                                           cql=query.cql, limit=rows, min_id=last, count_cap=0))
            if not page.features:
                return
            feats = page.features
            geoms = shapely.from_geojson([f.geometry_json for f in feats])
            yield ExportChunk(np.array([f.id for f in feats], dtype=np.int64), shapely.to_wkb(geoms),
                              {a.name: [json_text(f.properties.get(a.name)) if a.type == "json"
                                        else f.properties.get(a.name) for f in feats] for a in spec.attributes})
            if len(feats) < rows:
                return
            last = feats[-1].id

    @abc.abstractmethod
    def get(self, layer: str, fid: int) -> Feature:
        """One feature by id; raises FeatureNotFound."""

    @abc.abstractmethod
    def count(self, layer: str) -> int:
        """Number of features in the layer."""

    @abc.abstractmethod
    def extent(self, layer: str) -> tuple[float, float, float, float] | None:
        """(minlon, minlat, maxlon, maxlat) of the layer, None when empty."""

    @abc.abstractmethod
    def revision(self, layer: str) -> int:
        """The layer's write counter: it changes with every committed write to the layer (by any process or
        worker), never goes back, and is the same for every reader of the same data. Caches of derived data
        (road graph, basemap, zones) are keyed by ``(layer, revision)`` so they cannot serve stale answers."""

    def revisions(self, layers: Sequence[str]) -> tuple[int, ...]:
        """The revisions of several layers (one round trip where the engine can)."""
        return tuple(self.revision(layer) for layer in layers)

    @abc.abstractmethod
    def within(self, layer: str, geom: BaseGeometry, metres: float,
               filters: dict[str, Any] | None = None) -> list[Feature]:
        """Features within ``metres`` (geodesic) of ``geom``, nearest first, with distance_m."""

    @abc.abstractmethod
    def nearest(self, layer: str, geom: BaseGeometry, k: int,
                filters: dict[str, Any] | None = None,
                max_distance_m: float | None = None) -> list[Feature]:
        """The k features nearest to ``geom`` by geodesic distance, nearest first, with distance_m."""

    @abc.abstractmethod
    def intersecting(self, layer: str, geom: BaseGeometry,
                     filters: dict[str, Any] | None = None) -> list[Feature]:
        """Features whose geometry intersects ``geom`` (ordered by id)."""

    @abc.abstractmethod
    def frame(self, layer: str, columns: Sequence[str] | None = None) -> gpd.GeoDataFrame:
        """The whole layer as a GeoDataFrame (index = id) for set-based analyses."""

    @abc.abstractmethod
    def mvt(self, layer: str, req: TileRequest) -> bytes:
        """One Mapbox Vector Tile layer named ``layer`` (empty bytes when nothing is in the tile)."""

    # -- writes ------------------------------------------------------------------------------
    @abc.abstractmethod
    def write(self, layer: str, batch: WriteBatch) -> list[int]:
        """Apply a batch atomically; returns the ids of created features.

        Raises FeatureNotFound (and writes nothing) if a replace or delete names a missing id.
        """

    @abc.abstractmethod
    def audit(self, query: AuditQuery) -> list[dict[str, Any]]:
        """Records of the audit trail matching ``query`` (by seq), those the current scope may see: regulated
        layers' records within its jurisdiction (before or after), shared layers' all."""

    @abc.abstractmethod
    def replace_all(self, layer: str, rows: list[Row]) -> list[int]:
        """Atomically replace a layer's content with ``rows``, recording one audit entry (action "upload") per
        added, changed or removed feature (:func:`upload_trail`) in the same transaction / file swap."""

    @abc.abstractmethod
    def restamp(self, layer: str, assign: Assign, progress: Progress | None = None) -> tuple[int, int]:
        """Give the features whose ``admin_code`` is NULL their jurisdiction (rows stored before jurisdictions, or
        loaded around the service): the layer's own code attribute (``spec.own_code``) or the code of the finest
        admin area holding the feature's representative point. Rows already stamped are left alone; rows outside
        every admin area stay NULL. Whole-service scope only; not itemised in the audit trail (a backfill of a
        field the service keeps). ``assign`` computes codes for geometries where the engine
        has no spatial join of its own. Returns (stamped, left NULL)."""

    # -- helpers shared by both engines -----------------------------------------------------
    def check(self, layer: str, query: Query) -> LayerSpec:
        spec = self.spec(layer)
        check_query(spec, query)
        return spec

    def check_filters(self, layer: str, filters: dict[str, Any] | None) -> LayerSpec:
        return self.check(layer, Query(filters=dict(filters or {})))
