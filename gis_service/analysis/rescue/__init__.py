"""Rescue analysis: nearest capable teams (straight line or road time), team isochrones and coverage gaps.

- :mod:`.inputs` — request checks and arrival standards (capability table: :mod:`gis_service.models.rescue_standards`);
- :mod:`.network` — the road graph of the roads layer or of an OSM extract;
- :mod:`.engine` — :func:`~.engine.nearest_teams`, :func:`~.engine.team_isochrones`, :func:`~.engine.coverage`;
- :mod:`.results` — the answers, each rendering itself as GeoJSON with units, standards and sources.
"""
