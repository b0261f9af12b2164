"""The rescue facade: arrival standards (``GIS_RESCUE_STANDARD_MIN``, parsed once), the road graph (the roads
layer, or the ``GIS_ROAD_PBF`` extract) and the data extent — each resolved here and nowhere else — and the
nearest-teams, isochrone and coverage analyses run with them.

The road graph is cached by the roads layer's store revision (or by the PBF file's size and modification
time): an edited road is routed on at the next request, on every worker, on both stores."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from cachetools import LRUCache
from shapely.geometry import Point

from ..analysis.borders import AdminAreas
from ..analysis.rescue import engine
from ..analysis.rescue.inputs import INCIDENT_BY_LAYER, check_location, parse_minutes
from ..analysis.rescue.network import build_from_pbf, build_from_store, pbf_signature
from ..analysis.rescue.results import CoverageReport, RescueAnswer
from ..config import Settings
from ..models.rescue_standards import incident_types, parse_overrides
from ..routing import RoadGraph
from ..stores.base import Feature, Store
from ..validation import Problem, ValidationFailed


class RescueService:
    def __init__(self, store: Store, settings: Settings):
        self.store = store
        self.settings = settings
        try:
            self._standards = parse_overrides(settings.rescue_standard_min)
        except ValueError as exc:
            raise ValidationFailed([Problem(None, "GIS_RESCUE_STANDARD_MIN", str(exc))]) from exc
        self._cache: LRUCache[Hashable, Any] = LRUCache(8)
        self._lock = threading.Lock()
        self._last_extent: tuple[float, float, float, float] | None = None
        # the admin areas for the border note (the layers facade's cache; wired by Services.build)
        self.admin_areas: Callable[[], AdminAreas] | None = None

    def _border(self, answer: RescueAnswer, geom: Any) -> RescueAnswer:
        """Name the listed teams of other jurisdictions than the incident's (rescue crosses borders; issue 20)."""
        return answer if self.admin_areas is None else engine.with_border(answer, geom, self.admin_areas())

    # -- what this facade alone resolves ---------------------------------------------------------
    @property
    def standards(self) -> dict[str, float]:
        """Arrival-standard overrides (minutes per team type) from GIS_RESCUE_STANDARD_MIN."""
        return dict(self._standards)

    def _road_key(self) -> tuple:
        pbf = self.settings.road_pbf
        return ("graph", *pbf_signature(pbf)) if pbf is not None else ("graph", "roads", self.store.revision("roads"))

    def road_graph(self) -> RoadGraph:
        """The routing graph of the roads layer (or GIS_ROAD_PBF), rebuilt when the roads changed."""
        key = self._road_key()
        graph = self._cache.get(key)
        if graph is None:
            with self._lock:  # one build at a time; the others wait for it
                graph = self._cache.get(key)
                if graph is None:
                    pbf = self.settings.road_pbf
                    graph = build_from_pbf(pbf) if pbf is not None else build_from_store(self.store)
                    self._cache[key] = graph
        return graph

    def graph_for(self, by: str) -> RoadGraph | None:
        """The road graph when ranking by travel time, else None (straight line needs none)."""
        return self.road_graph() if by == "time" else None

    def data_extent(self) -> tuple[float, float, float, float] | None:
        """Where incidents can be (admin areas and roads), cached by those layers' revisions."""
        key = ("extent", *self.store.revisions(("admin_areas", "roads", engine.TEAMS)))
        if key not in self._cache:
            self._cache[key] = engine.data_extent(self.store)
        self._last_extent = self._cache[key]
        return self._last_extent

    def extent_for(self, geom: Any) -> tuple[float, float, float, float] | None:
        """The data extent to judge an incident at ``geom`` by, without a store round trip when it can.

        The extent only refuses incidents far outside the data. An incident inside the extent last read is
        answered with that extent (no revisions query: on PostGIS that was a second round trip per request,
        half the cost of a nearest-teams answer); one outside it is judged on the current data (revisions
        read, extent rebuilt if a layer changed), so a refusal is never decided on stale data. The one case
        an old extent decides: the data shrank and the point is inside the old extent only — then the
        teams are still answered rather than refused."""
        known = self._last_extent
        if known is not None:
            try:
                check_location(geom, known)
                return known
            except ValidationFailed:
                pass
        return self.data_extent()

    # -- the analyses ----------------------------------------------------------------------------
    def nearest(self, lon: float, lat: float, incident: str, *, k: int = 5, by: str = "distance",
                min_personnel: int = 0, on_duty: bool = True, team_types: Sequence[str] | None = None) -> RescueAnswer:
        """The commander's query: the k nearest capable teams to a point (refused far outside the data)."""
        point = Point(lon, lat)
        answer = engine.nearest_teams(self.store, point, incident, k=k, by=by, min_personnel=min_personnel,
                                      on_duty_only=on_duty, graph=self.graph_for(by), standards=self._standards,
                                      extent=self.extent_for(point), team_types=team_types)
        return self._border(answer, point)

    def nearest_to(self, geom: Any, incident: str, *, k: int = 5, by: str = "time",
                   team_types: Sequence[str] | None = None) -> RescueAnswer:
        """Nearest capable teams to a geometry already in the data (a stored feature)."""
        return self._border(engine.nearest_teams(self.store, geom, incident, k=k, by=by, graph=self.graph_for(by),
                                                 standards=self._standards, team_types=team_types), geom)

    def default_incident(self, layer: str) -> str:
        incident = INCIDENT_BY_LAYER.get(layer)
        if incident is None:
            raise ValidationFailed([Problem(None, "incident", f"layer {layer!r} has no default incident type; "
                                            f"give incident= ({', '.join(incident_types())})")])
        return incident

    def nearest_to_feature(self, layer: str, fid: int, incident: str | None = None, *, k: int = 5,
                           by: str = "distance", min_personnel: int = 0, on_duty: bool = True,
                           team_types: Sequence[str] | None = None) -> tuple[Feature, RescueAnswer]:
        self.store.spec(layer)                                   # unknown layer → 404
        incident = incident if incident is not None else self.default_incident(layer)
        feature = self.store.get(layer, fid)                     # missing → 404
        answer = engine.nearest_teams(self.store, feature.geometry, incident, k=k, by=by,
                                      min_personnel=min_personnel, on_duty_only=on_duty, graph=self.graph_for(by),
                                      standards=self._standards, team_types=team_types)
        return feature, self._border(answer, feature.geometry)

    def isochrones(self, team_id: int, minutes: str | Sequence[float]) -> dict[str, Any]:
        return engine.team_isochrones(self.store, team_id, parse_minutes(minutes), graph=self.road_graph(),
                                      standards=self._standards)

    def coverage(self, incident: str | None = None, minutes: float | None = None) -> CoverageReport:
        return engine.coverage(self.store, incident, minutes, graph=self.road_graph(), standards=self._standards)
