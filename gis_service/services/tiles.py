"""The tiles facade (OGC API – Tiles): vector tiles of one layer or several, built by the store (``ST_AsMVT`` on
PostGIS, ``mapbox-vector-tile`` on the embedded store) and cached per ``(layer, store revision, tile, properties,
filter)`` — a write bumps the layer's revision, so the next request builds the tile afresh and its ``ETag``
changes (no stale tiles after an edit; clients revalidate with ``If-None-Match``).

Property choice per zoom from the layer spec: below zoom ``FULL_PROPERTIES_ZOOM`` a tile carries the first two
scalar popup attributes of the spec (the name and its class), from that zoom on all scalar popup attributes;
JSON attributes never (MVT values are scalars). A tile holds at most ``GIS_TILE_MAX_FEATURES`` features per
layer before thinning (one feature per 4-pixel cell), so a zoom-0 tile of a national layer stays small. A layer
spec's ``tile_min_zoom`` leaves classes out below their zoom (county outlines, minor roads: what a map does not draw
there), as a filter on both stores."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

from cachetools import LRUCache

from .. import access, tiles
from ..catalog import LayerSpec
from ..config import Settings
from ..cql2 import Expr, InList, IsNull, Logical, Not
from ..maps.style import popup_attributes
from ..stores.base import Store, TileRequest

FULL_PROPERTIES_ZOOM = 10
MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"


def zoom_rule(spec: LayerSpec, z: int) -> Expr | None:
    """The layer spec's ``tile_min_zoom`` at zoom ``z``: features whose value is listed with a higher zoom are left
    out (a missing value stays), as a CQL2 expression both stores evaluate like any filter."""
    if spec.tile_min_zoom is None:
        return None
    attr, zooms = spec.tile_min_zoom
    hidden = tuple(v for v, min_z in zooms if z < min_z)
    return Logical("or", (IsNull(attr), Not(InList(attr, hidden)))) if hidden else None


class TilesService:
    def __init__(self, store: Store, settings: Settings):
        self.store = store
        self.settings = settings
        self._cache: LRUCache[tuple, bytes] | None = LRUCache(settings.tile_cache_tiles) \
            if settings.tile_cache_tiles else None
        self._lock = threading.Lock()

    def columns(self, spec: LayerSpec, z: int) -> tuple[str, ...]:
        cols = [c for c in popup_attributes(spec) if spec.attribute(c).type != "json"]
        return tuple(cols if z >= FULL_PROPERTIES_ZOOM else cols[:2])

    def etag(self, layers: Sequence[str], tile: tiles.Tile, cql_key: str = "") -> str:
        revs = self.store.revisions(list(layers))
        text = "|".join(f"{n}:{r}" for n, r in zip(layers, revs, strict=True))
        key = f"{text}|{tile.z}/{tile.x}/{tile.y}|{self.settings.tile_max_features}|{cql_key}|{access.jurisdiction()}"
        return '"' + hashlib.sha1(key.encode()).hexdigest()[:20] + '"'

    def layer_tile(self, layer: str, tile: tiles.Tile, cql: Expr | None = None, cql_key: str = "") -> bytes:
        spec = self.store.spec(layer)
        rule = zoom_rule(spec, tile.z)   # a function of the layer and the zoom: the cache key holds both
        if rule is not None:
            cql = rule if cql is None else Logical("and", (cql, rule))
        req = TileRequest(tile, self.columns(spec, tile.z), self.settings.tile_max_features, cql)
        if self._cache is None:   # no cache: no revision to look up either
            return self.store.mvt(layer, req)
        scope = access.jurisdiction() if spec.regulated else ""  # a regulated layer's tile is the caller's view
        key = (layer, self.store.revision(layer), tile, req.columns, req.max_features, cql_key, scope)
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            return hit
        data = self.store.mvt(layer, req)
        with self._lock:
            self._cache[key] = data
        return data

    def tile(self, layers: Sequence[str], tile: tiles.Tile, cql: Expr | None = None, cql_key: str = "") -> bytes:
        """One MVT with a layer per name (MVT layers concatenate: a tile is a repeated ``layers`` field)."""
        return b"".join(self.layer_tile(name, tile, cql, cql_key) for name in layers)
