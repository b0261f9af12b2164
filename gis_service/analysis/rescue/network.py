"""The routing graph of a store's ``roads`` layer, or of an OpenStreetMap PBF extract (``GIS_ROAD_PBF``).

The graph is built with :meth:`gis_service.routing.RoadGraph.from_lines` from ``store.frame("roads")``
(speed from ``speed_kmh`` when set, else the class default of ``data/road_speeds.csv``). Building is
not cached here: the rescue facade (:class:`gis_service.services.rescue.RescueService`) keeps the graph
keyed by the roads layer's store revision (or the PBF file's :func:`pbf_signature`), so an edited road
is routed on at the next request.
"""

from __future__ import annotations

from pathlib import Path

from ...routing import RoadGraph, graph_from_osm
from ...stores.base import Store

ROAD_COLUMNS = ("road_class", "speed_kmh", "oneway")


def build_from_store(store: Store) -> RoadGraph:
    """A fresh graph of the store's ``roads`` layer."""
    frame = store.frame("roads", list(ROAD_COLUMNS))
    graph = RoadGraph.from_lines(frame)
    graph.meta.update(source=f"roads layer ({store.kind} store, {len(frame)} lines)")
    return graph


def pbf_signature(pbf: Path | str) -> tuple:
    """(path, size, modification time) of an OSM extract: changes when the file is replaced."""
    path = Path(pbf)
    st = path.stat()
    return ("pbf", str(path.resolve()), st.st_size, st.st_mtime_ns)


def build_from_pbf(pbf: Path | str) -> RoadGraph:
    return graph_from_osm(pbf)
