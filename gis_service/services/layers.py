"""The layers facade: the catalogue, feature reads and writes (OGC API Features), and the layer content
the maps and the viewer draw (packed collections, grid counts, the offline basemap) — cached by
``(layer, store revision)``."""

from __future__ import annotations

import threading
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import shapely
from cachetools import LRUCache

from .. import crs as crsmod
from ..catalog import Catalog, LayerSpec
from ..config import Settings
from ..maps.base import DISPLAY_PRECISION, GRID_CELLS, pack, simplified
from ..maps.style import popup_attributes
from ..stores.base import Feature, Page, Query, Store, WriteBatch
from ..validation import Row

BASEMAP_LAYERS = ("admin_areas", "roads")
BASEMAP_TOLERANCE_DEG = 0.005   # ~500 m: outlines for a province-to-county view, not for measuring
BASEMAP_PRECISION_DEG = 5e-4    # ~50 m
CONTEXT_LIMIT = 3000            # context features (admin areas, roads) drawn under a report's map image


class LayersService:
    def __init__(self, store: Store, settings: Settings):
        self.store = store
        self.settings = settings
        self._cache: LRUCache[Hashable, Any] = LRUCache(64)
        self._lock = threading.Lock()

    # -- the catalogue and the store contract ------------------------------------------------------
    @property
    def catalog(self) -> Catalog:
        return self.store.catalog

    def spec(self, layer: str) -> LayerSpec:
        return self.store.spec(layer)

    def items(self, layer: str, query: Query, crs: crsmod.Crs = crsmod.CRS84_CRS) -> Page:
        """A page of features; geometries in ``crs`` (its axis order), transformed by pyproj."""
        page = self.store.items(layer, query)
        if crs.is_crs84:
            return page
        return Page(_in_crs(page.features, crs), page.number_matched)

    def get(self, layer: str, fid: int, crs: crsmod.Crs = crsmod.CRS84_CRS) -> Feature:
        feat = self.store.get(layer, fid)
        return feat if crs.is_crs84 else _in_crs([feat], crs)[0]

    def count(self, layer: str) -> int:
        return self.store.count(layer)

    def extent(self, layer: str) -> tuple[float, float, float, float] | None:
        return self.store.extent(layer)

    def revision(self, layer: str) -> int:
        return self.store.revision(layer)

    def write(self, layer: str, batch: WriteBatch) -> list[int]:
        return self.store.write(layer, batch)

    def replace_all(self, layer: str, rows: list[Row]) -> list[int]:
        return self.store.replace_all(layer, rows)

    def data_extent(self) -> list[float] | None:
        """Union of the extents of every non-basemap layer (the viewer's start view)."""
        boxes = [b for b in (self.store.extent(s.name) for s in self.catalog if not s.style.get("basemap")) if b]
        if not boxes:
            return None
        return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                max(b[3] for b in boxes)]

    def _cached(self, key: tuple, make) -> Any:
        with self._lock:
            hit = self._cache.get(key)
        if hit is None:
            hit = make()
            with self._lock:
                self._cache[key] = hit
        return hit

    # -- what the maps and the viewer draw --------------------------------------------------------
    def packed(self, spec: LayerSpec, bbox: tuple[float, float, float, float] | None = None,
               limit: int = 3000, filters: dict[str, Any] | None = None) -> tuple[bytes, int]:
        """(packed collection, number matched) of up to ``limit`` features with only the popup attributes;
        lines and polygons simplified to a vertex budget, coordinates rounded for display."""
        columns = popup_attributes(spec)
        page = self.store.items(spec.name, Query(bbox=bbox, limit=limit, filters=dict(filters or {}),
                                                 properties=tuple(columns)))
        feats = page.features
        geoms = shapely.from_geojson(np.array([f.geometry_json for f in feats], dtype=object)) if feats \
            else np.array([], dtype=object)
        if feats:
            if spec.geometry_family != "point":
                geoms = simplified(geoms)
            geoms = shapely.set_precision(geoms, DISPLAY_PRECISION, mode="pointwise")
        return pack([f.id for f in feats], geoms, [f.properties for f in feats], columns), page.number_matched

    def aggregate(self, layer: str, cells: int = GRID_CELLS) -> dict[str, Any]:
        """Counts of features per grid cell (by representative point) over the layer's extent, cached by
        the layer's revision."""
        self.store.spec(layer)
        return self._cached(("aggregate", layer, self.store.revision(layer), cells),
                            lambda: _aggregate_cells(self.store, layer, cells))

    def basemap_packed(self, layer: str) -> bytes:
        """Admin areas or roads for the viewer's offline basemap (simplified, packed), cached by the layer's
        revision: an edited road is in the next answer."""
        return self._cached(("basemap", layer, self.store.revision(layer)), lambda: self._basemap(layer))

    def _basemap(self, layer: str) -> bytes:
        spec = self.store.spec(layer)
        columns = [c for c in ("name", "level", "road_class") if spec.has_attribute(c)]
        frame = self.store.frame(layer, columns=columns)
        geoms = np.asarray(frame.geometry.values, dtype=object)
        geoms = shapely.set_precision(shapely.simplify(geoms, BASEMAP_TOLERANCE_DEG, preserve_topology=True),
                                      BASEMAP_PRECISION_DEG, mode="pointwise")
        props = frame[columns].to_dict("records")
        return pack([int(i) for i in frame.index], geoms, props, columns)

    def context_features(self, layer: str, bbox: tuple[float, float, float, float],
                         columns: Sequence[str]) -> list[tuple[Any, dict[str, Any]]]:
        """(geometry, properties) of a context layer inside ``bbox`` — what a report's map image is drawn over."""
        if layer not in self.catalog:
            return []
        page = self.store.items(layer, Query(bbox=bbox, limit=CONTEXT_LIMIT, properties=tuple(columns)))
        return [(f.geometry, f.properties) for f in page.features]


def _in_crs(features: list[Feature], crs: crsmod.Crs) -> list[Feature]:
    texts = crsmod.geojson_texts([f.geometry_json for f in features], crs, crsmod.precision(crs))
    return [Feature(f.id, f.properties if f.properties_json is None else None, t, f.distance_m, f.properties_json)
            for f, t in zip(features, texts, strict=True)]


def _aggregate_cells(store: Store, layer: str, cells: int) -> dict[str, Any]:
    frame = store.frame(layer, columns=[])
    pts = shapely.point_on_surface(np.asarray(frame.geometry.values, dtype=object))
    if not len(pts):
        return {"cell": 0, "cells": [], "total": 0}
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    x0, y0, x1, y1 = float(x.min()), float(y.min()), float(x.max()), float(y.max())
    size = max(x1 - x0, y1 - y0, 1e-6) / cells
    ix = np.minimum(((x - x0) / size).astype(np.int64), cells)
    iy = np.minimum(((y - y0) / size).astype(np.int64), cells)
    key = ix * (cells + 1) + iy
    uniq, counts = np.unique(key, return_counts=True)
    cx = x0 + (uniq // (cells + 1) + 0.5) * size
    cy = y0 + (uniq % (cells + 1) + 0.5) * size
    out = [[round(float(a), 5), round(float(b), 5), int(c)] for a, b, c in zip(cx, cy, counts, strict=True)]
    return {"cell": round(size, 6), "cells": out, "total": int(len(pts))}
