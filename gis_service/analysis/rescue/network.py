"""The routing graph of a store's ``roads`` layer (or of an OSM PBF extract), built once and cached.

The graph is built with :meth:`gis_service.routing.RoadGraph.from_lines` from ``store.frame("roads")``
(speed from ``speed_kmh`` when set, else the class default of ``data/road_speeds.csv``). It is cached
per store object and keyed by a cheap **signature of the layer**: (feature count, extent, largest id).
Any insert or delete changes the count or the largest id; a replace that moves a road changes the
extent in most cases. Known blind spot: an in-place replace that keeps count, extent and largest id
(e.g. changing one road's class) is not seen — call :func:`invalidate` after such an edit (or
restart). The signature is re-read at most every ``max_age_s`` seconds (default 2 s) so a hot
query path does not pay three catalogue queries per request on a large PostGIS layer.

With ``pbf`` (``GIS_ROAD_PBF``) the graph comes from an OpenStreetMap extract instead, keyed by the
file's path, size and modification time.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..routing import RoadGraph, graph_from_osm
from ..stores.base import Query, Store

DEFAULT_MAX_AGE_S = 2.0
ROAD_COLUMNS = ("road_class", "speed_kmh", "oneway")


@dataclass
class _Entry:
    key: Any
    graph: RoadGraph
    checked: float


_CACHE: weakref.WeakKeyDictionary[Store, _Entry] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def roads_signature(store: Store) -> tuple:
    """(count, extent, largest id) of the ``roads`` layer — changes with every insert or delete."""
    n = store.count("roads")
    if n == 0:
        return (0, None, None)
    top = store.items("roads", Query(limit=1, sortby=(("id", False),), properties=("road_class",)))
    max_id = top.features[0].id if top.features else None
    return (n, store.extent("roads"), max_id)


def _pbf_signature(pbf: Path) -> tuple:
    st = Path(pbf).stat()
    return ("pbf", str(Path(pbf).resolve()), st.st_size, st.st_mtime_ns)


def build_from_store(store: Store) -> RoadGraph:
    """A fresh graph of the store's ``roads`` layer (no cache)."""
    frame = store.frame("roads", list(ROAD_COLUMNS))
    graph = RoadGraph.from_lines(frame)
    graph.meta.update(source=f"roads layer ({store.kind} store, {len(frame)} lines)")
    return graph


def road_graph(store: Store, *, pbf: str | Path | None = None,
               max_age_s: float = DEFAULT_MAX_AGE_S) -> RoadGraph:
    """The cached routing graph for ``store`` (rebuilt when the roads layer or the PBF changed)."""
    now = time.monotonic()
    entry = _CACHE.get(store)
    if entry is not None and now - entry.checked < max_age_s and (pbf is None) == (entry.key[0] != "pbf"):
        return entry.graph
    with _LOCK:
        key = _pbf_signature(Path(pbf)) if pbf is not None else roads_signature(store)
        entry = _CACHE.get(store)
        if entry is not None and entry.key == key:
            entry.checked = now
            return entry.graph
        if pbf is not None:
            graph = graph_from_osm(pbf)
        else:
            graph = build_from_store(store)
        _CACHE[store] = _Entry(key, graph, time.monotonic())
        return graph


def invalidate(store: Store) -> None:
    """Forget the cached graph of ``store`` (the next query rebuilds it)."""
    with _LOCK:
        _CACHE.pop(store, None)
