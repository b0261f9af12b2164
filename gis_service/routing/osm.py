"""Import drivable roads from an OpenStreetMap PBF/XML extract (pyosmium 4) into `roads` layer rows.

Each OSM way with a drivable ``highway`` tag becomes one row: ``geometry`` (LineString lon/lat, in
way order), ``road_class`` (one of the eight classes of ``layers/roads.yaml``), ``speed_kmh``,
``oneway``, ``name`` (``name:zh`` / ``name`` / ``ref``), ``osm_id`` and ``data_source``.

* Class mapping: ``*_link`` → its parent class; ``living_street`` → residential; ``track`` and
  ``road`` → service / unclassified (mine and plant access is often a track). Ways for walking,
  cycling, riding, construction or planning (footway, path, steps, cycleway, bridleway, pedestrian,
  corridor, proposed, construction, platform, …) are skipped, as are ``access=no/private`` ways and
  ``area=yes`` squares.
* ``speed_kmh``: ``maxspeed`` when it parses to a number (km/h, or ``mph`` converted, first value
  of a list, clamped to 1–150), else the OSRM default for link/living-street/track tags that the
  eight-class layer cannot express, else empty — the graph then uses the class default.
* ``oneway``: ``yes/true/1`` → True; ``-1/reverse`` → True with the geometry reversed; ``no`` → False;
  otherwise implied by ``highway=motorway`` (and ``motorway_link``) or ``junction=roundabout/circular``
  (OSM conventions).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import shapely

from .graph import RoadGraph, load_speed_table

HIGHWAY_CLASS = {
    "motorway": "motorway", "motorway_link": "motorway",
    "trunk": "trunk", "trunk_link": "trunk",
    "primary": "primary", "primary_link": "primary",
    "secondary": "secondary", "secondary_link": "secondary",
    "tertiary": "tertiary", "tertiary_link": "tertiary",
    "unclassified": "unclassified", "road": "unclassified",
    "residential": "residential", "living_street": "residential",
    "service": "service", "track": "service",
}
SKIPPED_HIGHWAYS = frozenset({
    "footway", "path", "steps", "cycleway", "bridleway", "pedestrian", "corridor", "proposed",
    "construction", "platform", "bus_stop", "elevator", "raceway", "rest_area", "services",
    "abandoned", "disused", "via_ferrata", "escape", "busway", "bus_guideway",
})
NO_ACCESS = frozenset({"no", "private"})
_NUM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph|knots)?\s*$", re.IGNORECASE)


def parse_maxspeed(value: str | None) -> float | None:
    """km/h from an OSM ``maxspeed`` value, or None (``none``, ``signals``, ``CN:urban`` …)."""
    if not value:
        return None
    for part in value.split(";"):
        m = _NUM.match(part)
        if m:
            v = float(m.group(1))
            unit = (m.group(2) or "").lower()
            if unit == "mph":
                v *= 1.609344
            elif unit == "knots":
                v *= 1.852
            if v <= 0:
                return None
            return float(min(max(v, 1.0), 150.0))
    return None


def parse_oneway(tags, highway: str) -> tuple[bool, bool]:
    """(oneway, reversed) from the OSM tags."""
    v = (tags.get("oneway") or "").strip().lower()
    if v in ("yes", "true", "1"):
        return True, False
    if v in ("-1", "reverse"):
        return True, True
    if v == "no":
        return False, False
    if highway in ("motorway", "motorway_link"):
        return True, False
    if (tags.get("junction") or "") in ("roundabout", "circular"):
        return True, False
    return False, False


def read_osm_roads(path: str | Path, *, bbox: tuple[float, float, float, float] | None = None,
                   include_private: bool = False):
    """Drivable roads of an OSM file as a GeoDataFrame (EPSG:4326) of `roads` layer rows.

    ``bbox`` = (min_lon, min_lat, max_lon, max_lat) keeps only ways with a vertex inside it.
    """
    import geopandas as gpd
    import osmium

    table = load_speed_table()
    geoms, cls, spd, ow, names, ids = [], [], [], [], [], []
    fp = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
          .with_locations()
          .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
          .with_filter(osmium.filter.KeyFilter("highway")))
    for w in fp:
        tags = w.tags
        hw = tags.get("highway")
        if hw not in HIGHWAY_CLASS or hw in SKIPPED_HIGHWAYS:
            continue
        if tags.get("area") == "yes":
            continue
        if not include_private and (tags.get("access") in NO_ACCESS or tags.get("motor_vehicle") in NO_ACCESS):
            continue
        xy = []
        for n in w.nodes:  # type: ignore[union-attr]  # a way handler receives ways
            loc = n.location
            if loc.valid():
                xy.append((loc.lon, loc.lat))
        if len(xy) < 2:
            continue
        arr = np.asarray(xy, dtype=float)
        if bbox is not None:
            inside = ((arr[:, 0] >= bbox[0]) & (arr[:, 0] <= bbox[2]) &
                      (arr[:, 1] >= bbox[1]) & (arr[:, 1] <= bbox[3]))
            if not inside.any():
                continue
        one, rev = parse_oneway(tags, hw)
        if rev:
            arr = arr[::-1]
        speed = parse_maxspeed(tags.get("maxspeed"))
        if speed is None and hw in table and HIGHWAY_CLASS[hw] != hw:
            speed = table[hw][0]          # link / living-street default the layer class can't express
        geoms.append(shapely.LineString(arr))
        cls.append(HIGHWAY_CLASS[hw])
        spd.append(speed)
        ow.append(one)
        names.append(tags.get("name:zh") or tags.get("name") or tags.get("ref"))
        ids.append(int(w.id))
    return gpd.GeoDataFrame({
        "name": names,
        "road_class": cls,
        "speed_kmh": np.array([np.nan if s is None else s for s in spd], dtype=float),
        "oneway": np.array(ow, dtype=bool),
        "osm_id": np.array(ids, dtype=np.int64),
        "data_source": [f"OpenStreetMap way {i} (ODbL)" for i in ids],
    }, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326")


def graph_from_osm(path: str | Path, **kwargs) -> RoadGraph:
    """Read an OSM extract and build the routing graph (``kwargs`` go to :func:`read_osm_roads`)."""
    rows = read_osm_roads(path, **kwargs)
    g = RoadGraph.from_lines(rows)
    g.meta["source"] = f"OpenStreetMap extract {Path(path).name}"
    return g
