"""Consequence analysis: a hazard source, tailings dam or goaf area (or a what-if release) → geodesic
zones (red / orange / yellow) and the receptors inside them.

- :mod:`.params` — :class:`~.params.ScenarioParams` (the request model) and the scenario defaults with sources;
- :mod:`.inventory` — a unit's inventory list → known substances with quantities and storage;
- :mod:`.runners` — one runner per hazard (VCE, pool fire, BLEVE fireball, jet fire, toxic dispersion):
  model results → zone candidates;
- :mod:`.combine` — candidates of all substances → one zone per kind and level;
- :mod:`.zones` — the zone types (:class:`~.zones.Zone`, :class:`~.zones.ZoneSet`) and their GeoJSON;
- :mod:`.dispatch` — which models apply to which layer: :func:`~.dispatch.zones_for`,
  :func:`~.dispatch.what_if_zones`;
- :mod:`.exposure` — the receptors the store finds inside each zone.

Zones are placed on the WGS84 ellipsoid with :mod:`gis_service.geodesy` (local azimuthal-equidistant
projection around each feature — never degrees, never Web Mercator).
"""
