"""The tiles facade (OGC API – Tiles): vector tiles of one layer or several, built by the store (``ST_AsMVT`` on
PostGIS, ``mapbox-vector-tile`` on the embedded store) and cached per ``(layer, store revision, tile, properties,
filter)`` — a write bumps the layer's revision, so the next request builds the tile afresh and its ``ETag``
changes (no stale tiles after an edit; clients revalidate with ``If-None-Match``).

Property choice per zoom from the layer spec: below zoom ``FULL_PROPERTIES_ZOOM`` a tile carries the first two
scalar popup attributes of the spec (the name and its class), from that zoom on all scalar popup attributes;
JSON attributes never (MVT values are scalars). A tile holds at most ``GIS_TILE_MAX_FEATURES`` features per
layer before thinning (one feature per 4-pixel cell), so a zoom-0 tile of a national layer stays small. A layer
spec's ``tile_min_zoom`` leaves classes out below their zoom (county outlines, minor roads: what a map does not draw
there), as a filter on both stores.

The ``ETag`` and the cache key also hold a digest of what the layer spec makes of a tile at its zoom (:meth:`shape`:
the properties carried, their types, the ``tile_min_zoom`` rule, the geometry types) and ``TILE_RULES``, the version
of the rules in code (thinning, simplification, property choice): a deployment that edits a spec's ``tile_min_zoom``
or ``popup`` or changes those rules gives new ETags, so clients holding tiles revalidate to the new content instead of
getting 304 for tiles built under the old spec. A spec change that leaves tiles alone (a title, a label) keeps them."""

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
# bump when code changes what a tile holds (thinning, simplification, property choice): every ETag changes with it
TILE_RULES = "1"
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
        self._shapes: dict[tuple[int, int], tuple[LayerSpec, str]] = {}

    def columns(self, spec: LayerSpec, z: int) -> tuple[str, ...]:
        cols = [c for c in popup_attributes(spec) if spec.attribute(c).type != "json"]
        return tuple(cols if z >= FULL_PROPERTIES_ZOOM else cols[:2])

    def shape(self, spec: LayerSpec, z: int) -> str:
        """Digest of what the spec makes of the layer's tiles at zoom ``z``: the properties carried and their types,
        the zoom rule, the geometry types, and the code's ``TILE_RULES`` (kept per spec object and zoom)."""
        key = (id(spec), z)
        found = self._shapes.get(key)
        if found is not None and found[0] is spec:
            return found[1]
        cols = self.columns(spec, z)
        text = repr((TILE_RULES, spec.name, [(c, spec.attribute(c).type) for c in cols], zoom_rule(spec, z),
                     spec.geometry_types))
        digest = hashlib.sha1(text.encode()).hexdigest()[:12]
        with self._lock:
            if len(self._shapes) > 4096:
                self._shapes.clear()
            self._shapes[key] = (spec, digest)
        return digest

    def etag(self, layers: Sequence[str], tile: tiles.Tile, cql_key: str = "") -> str:
        revs = self.store.revisions(list(layers))
        text = "|".join(f"{n}:{r}:{self.shape(self.store.spec(n), tile.z)}" for n, r in zip(layers, revs, strict=True))
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
        key = (layer, self.store.revision(layer), self.shape(spec, tile.z), tile, req.columns, req.max_features,
               cql_key, scope)
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
