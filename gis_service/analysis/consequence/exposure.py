"""Who is exposed: the receptors inside each consequence zone.

For each zone of a :class:`~.zones.ZoneSet` the *store* finds the receptors
(PostGIS in SQL, the embedded store with its spatial index), through the Store contract only:

- a zone that is "everything within d metres of the source" (explosion, fire, toxic circle with no
  wind direction, goaf influence) → ``store.within("receptors", source_geometry, d)`` — the exact
  geodesic test (``ST_DWithin`` on geography / pyproj Geod), not the drawn polygon;
- a footprint polygon (downwind plume, tailings corridor) → ``store.intersecting("receptors", polygon)``.

A receptor counts in a zone if any part of it is inside. Distances to the source are computed here,
once, with :func:`gis_service.geodesy.geometry_distance_m` (geodesic metres; 0 inside a polygon
source) so both stores report identical numbers. "Population" is the receptor's ``population``
attribute (the layer's people count); zones are nested, so a receptor in the red zone is also counted
in the orange and yellow zones of the same model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shapely.geometry.base import BaseGeometry

from ... import geodesy
from ...models._common import json_safe
from ...stores.base import Feature, Store
from ..borders import AdminAreas, BorderNote, zone_border
from .dispatch import check_layer, what_if_zones, zones_for
from .params import ScenarioParams
from .results import ExposureZones
from .zones import Zone, ZoneSet

RECEPTORS = "receptors"
POPULATION_NOTE = ("population = the receptors' population attribute (people living, studying or being cared for "
                   "there); a receptor is inside a zone if any part of it is inside")


@dataclass
class ZoneExposure:
    zone: Zone
    receptors: list[dict[str, Any]]
    total_population: int
    counts_by_class: dict[str, int]
    population_by_class: dict[str, int]

    def properties(self) -> dict[str, Any]:
        return {"receptor_count": len(self.receptors), "total_population": self.total_population,
                "counts_by_class": self.counts_by_class, "population_by_class": self.population_by_class,
                "receptors": self.receptors}


@dataclass
class ExposureResult:
    zoneset: ZoneSet
    zones: list[ZoneExposure]
    summary: dict[str, Any] = field(default_factory=dict)
    receptor_factory: Callable[[], list[dict[str, Any]]] | None = None
    border: BorderNote | None = None            # crossing a border: the areas the zones reach (issue 20)
    zone_borders: list[list[str]] | None = None  # per zone, the codes of the other areas it reaches

    @property
    def receptor_features(self) -> list[dict[str, Any]]:
        """One GeoJSON Feature per exposed receptor (built on demand: most answers do not ask for them)."""
        return self.receptor_factory() if self.receptor_factory else []

    def to_feature_collection(self, receptor_features: bool = False) -> dict[str, Any]:
        """GeoJSON FeatureCollection: one Feature per zone (most severe first) with its exposure in
        ``properties.exposure``; with ``receptor_features`` also one Point/Polygon Feature per exposed
        receptor (``properties.feature_type = "receptor"``). Model, parameters, units, sources and
        limitations are in the top-level ``metadata`` member."""
        feats = []
        for i, ze in enumerate(self.zones):
            extra: dict[str, Any] = {"feature_type": "zone", "exposure": ze.properties()}
            if self.zone_borders is not None:
                extra["other_jurisdictions"] = self.zone_borders[i]
            feats.append(ze.zone.to_feature(extra))
        if receptor_features:
            feats.extend(self.receptor_features)
        meta = self.zoneset.metadata()
        meta["exposure"] = dict(self.summary)
        meta["population_note"] = POPULATION_NOTE
        if self.border is not None:
            meta["border"] = self.border.to_dict()
        return {"type": "FeatureCollection", "features": feats, "metadata": json_safe(meta)}

    def to_model(self, receptor_features: bool = False) -> ExposureZones:
        """The same document typed (:class:`.results.ExposureZones`): what the exposure map and PDF read."""
        return ExposureZones.of(self.to_feature_collection(receptor_features))


def _receptor_row(f: Feature, distance: float, class_labels: dict[str, str]) -> dict[str, Any]:
    cls = f.properties.get("receptor_class")
    return {"id": f.id, "name": f.properties.get("name"), "receptor_class": cls,
            "class_zh": class_labels.get(str(cls), cls), "population": int(f.properties.get("population") or 0),
            "distance_m": round(float(distance), 2)}


def _zone_key(zone: Zone) -> tuple:
    if zone.buffer_m is not None:
        return ("within", round(zone.buffer_m, 6))
    return ("poly", zone.geometry.wkb)


def receptors_in_zone(store: Store, zone: Zone, source: BaseGeometry) -> list[Feature]:
    """The receptors the store finds inside ``zone`` (exact geodesic ``within`` for distance zones)."""
    if zone.buffer_m is not None:
        return store.within(RECEPTORS, source, zone.buffer_m)
    return store.intersecting(RECEPTORS, zone.geometry)


def receptor_class_labels(store: Store) -> dict[str, str]:
    return dict(store.spec(RECEPTORS).attribute("receptor_class").enum_labels or {})


def assess(store: Store, zoneset: ZoneSet, source: BaseGeometry,
           class_labels: dict[str, str] | None = None) -> ExposureResult:
    """Exposure of every zone. All distance zones are answered by ONE ``store.within`` at the largest
    distance, each zone then keeping the receptors whose geodesic distance (the one reported) is within its
    own distance; polygon zones ask ``store.intersecting`` once per distinct polygon. ``store`` needs only
    ``within`` and ``intersecting`` when ``class_labels`` is given (a batch partition's receptors stand in for it)."""
    if class_labels is None:
        class_labels = receptor_class_labels(store)
    cache: dict[tuple, list[Feature]] = {}
    found: dict[int, Feature] = {}
    radii = [z.buffer_m for z in zoneset.zones if z.buffer_m is not None]
    near = store.within(RECEPTORS, source, max(radii)) if radii else []
    for f in near:
        found.setdefault(f.id, f)
    for zone in zoneset.zones:
        key = _zone_key(zone)
        if zone.buffer_m is None and key not in cache:
            cache[key] = store.intersecting(RECEPTORS, zone.geometry)
            for f in cache[key]:
                found.setdefault(f.id, f)
    ids = sorted(found)
    dist = dict(zip(ids, geodesy.geometry_distance_m(source, [found[i].geometry for i in ids]), strict=True)) \
        if ids else {}
    for zone in zoneset.zones:
        key = _zone_key(zone)
        if zone.buffer_m is not None and key not in cache:
            # the store's within() found every receptor within the largest distance; its own distance measure
            # (geodesic, the one reported) decides each zone — 1 mm slack for the two engines' arithmetic
            cache[key] = [f for f in near if dist[f.id] <= zone.buffer_m + 1e-3]
    out = []
    innermost: dict[int, str] = {}
    row_of = {i: _receptor_row(found[i], dist[i], class_labels) for i in ids}  # one row per receptor, shared
    for zone in zoneset.zones:
        feats = sorted(cache[_zone_key(zone)], key=lambda f: (dist[f.id], f.id))
        rows = [row_of[f.id] for f in feats]
        counts: dict[str, int] = {}
        pops: dict[str, int] = {}
        for r in rows:
            counts[r["receptor_class"]] = counts.get(r["receptor_class"], 0) + 1
            pops[r["receptor_class"]] = pops.get(r["receptor_class"], 0) + r["population"]
            innermost.setdefault(r["id"], zone.level)
        out.append(ZoneExposure(zone, rows, sum(pops.values()), dict(sorted(counts.items())),
                                dict(sorted(pops.items()))))
    rows_all = [row_of[i] for i in ids]
    by_class: dict[str, int] = {}
    for r in rows_all:
        by_class[r["receptor_class"]] = by_class.get(r["receptor_class"], 0) + r["population"]
    summary = {
        "receptor_count": len(rows_all),
        "total_population": sum(r["population"] for r in rows_all),
        "population_by_class": dict(sorted(by_class.items())),
        "note": "distinct receptors inside any zone (the union of all zones)",
    }
    def features() -> list[dict[str, Any]]:
        return [
            {"type": "Feature", "id": i, "geometry": json_safe(found[i].geometry),
             "properties": {"feature_type": "receptor", "innermost_level": innermost.get(i),
                            **row_of[i]}}
            for i in ids
        ]

    return ExposureResult(zoneset, out, summary, features)


def feature_exposure(store: Store, layer: str, fid: int, params: ScenarioParams | None = None) -> ExposureResult:
    """Zones of a stored hazard source, tailings dam or goaf area, and the receptors inside them.

    Raises ValidationFailed for a layer without a model, FeatureNotFound for an unknown id.
    """
    check_layer(layer)
    feature = store.get(layer, fid)
    zs = zones_for(layer, feature, params)
    return assess(store, zs, feature.geometry)


def what_if_exposure(store: Store, lon: float, lat: float, substance: str, quantity_t: float,
                     params: ScenarioParams | None = None, storage: str | None = None) -> ExposureResult:
    """Exposure of a hypothetical release at a point."""
    zs = what_if_zones(lon, lat, substance, quantity_t, params, storage=storage)
    return assess(store, zs, geodesy.point(lon, lat))


def with_border(result: ExposureResult, source: BaseGeometry, areas: AdminAreas) -> ExposureResult:
    """Say which other jurisdictions the zones reach (exposure crosses borders; issue 20)."""
    result.border, result.zone_borders = zone_border(areas, source, [ze.zone.geometry for ze in result.zones])
    return result

