"""Road-network routing: graph build/import, nearest-by-time searches and isochrones.

Pure numpy/scipy (no web framework, no store): callers pass road lines in and get arrays,
:class:`RouteResult` objects and shapely geometries (lon/lat) back.
"""

from .graph import DEFAULT_ACCESS_SPEED_KMH, RoadGraph, Snap, default_speeds, load_speed_table
from .isochrone import DEFAULT_WIDTH_M, Isochrone, isochrone, node_times
from .osm import graph_from_osm, read_osm_roads
from .search import RouteResult, TravelTimes, many_to_one, nearest_by_time, one_to_many, route

__all__ = [
    "DEFAULT_ACCESS_SPEED_KMH", "DEFAULT_WIDTH_M", "Isochrone", "RoadGraph", "RouteResult", "Snap",
    "TravelTimes", "default_speeds", "graph_from_osm", "read_osm_roads", "isochrone", "load_speed_table", "many_to_one", "nearest_by_time",
    "node_times", "one_to_many", "route",
]
