"""Mapbox Vector Tiles of a layer of the embedded store, encoded by ``mapbox-vector-tile`` (a maintained MVT 2.1
encoder). The same candidate, thinning and simplification rules as the PostGIS store's ``ST_AsMVT`` statement
(:mod:`gis_service.stores.mvt_sql`): bounding boxes meeting the buffered tile, the lowest id per thinning cell when
over the cap, simplification by one tile-grid unit in EPSG:3857, clipping to the buffered tile."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mapbox_vector_tile
import numpy as np
import shapely

from .. import tiles
from .base import TileRequest


def _to_3857(coords: np.ndarray) -> np.ndarray:
    x, y = tiles.to_3857(coords[:, 0], coords[:, 1])
    return np.column_stack([x, y])


def encode_tile(layer: str, req: TileRequest, ids: np.ndarray, geoms: np.ndarray,
                candidates: Callable[[tuple[float, float, float, float]], np.ndarray],
                props: Callable[[int], dict[str, Any]], mask: Callable[[np.ndarray], np.ndarray] | None,
                point_layer: bool) -> bytes:
    """``ids``/``geoms`` of the whole layer (ids ascending), ``candidates(bounds)`` (positions whose bounding boxes
    meet ``bounds``, ascending), ``props(position)`` and an optional
    ``mask(positions) → bool array`` (a CQL2 filter)."""
    cand = np.sort(candidates(req.search_bounds))
    if mask is not None and len(cand):
        cand = cand[mask(cand)]
    if len(cand) > req.max_features:
        b = shapely.bounds(geoms[cand])
        cx, cy = tiles.to_3857((b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2)
        minx, miny, _, _ = req.tile.bounds_3857
        kx = np.floor((cx - minx) / req.cell_m).astype(np.int64)
        ky = np.floor((cy - miny) / req.cell_m).astype(np.int64)
        _, first = np.unique(np.column_stack([kx, ky]), axis=0, return_index=True)  # cand is in id order
        cand = cand[np.sort(first)]
    if not len(cand):
        return b""
    merc = shapely.transform(geoms[cand], _to_3857)
    if not point_layer:
        merc = shapely.simplify(merc, req.tile.pixel_m, preserve_topology=True)
    x0, y0, x1, y1 = req.tile.bounds_3857
    pad = tiles.BUFFER * req.tile.pixel_m
    if not point_layer:
        merc = shapely.clip_by_rect(merc, x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    else:
        inside = (shapely.get_x(merc) >= x0 - pad) & (shapely.get_x(merc) <= x1 + pad) & \
            (shapely.get_y(merc) >= y0 - pad) & (shapely.get_y(merc) <= y1 + pad)
        merc, cand = merc[inside], cand[inside]
    keep = ~shapely.is_empty(merc)
    unit = req.tile.pixel_m
    # into tile-grid units (y up) in one vectorised step; the encoder then only rounds and flips y
    grid = shapely.transform(merc[keep], lambda c: (c - np.array([x0, y0])) / unit)
    features = [{"geometry": g, "properties": {k: v for k, v in props(int(p)).items() if v is not None},
                 "id": int(ids[p])} for g, p in zip(grid, cand[keep], strict=True)]
    if not features:
        return b""
    return mapbox_vector_tile.encode([{"name": layer, "features": features}],
                                     default_options={"extents": tiles.EXTENT})
