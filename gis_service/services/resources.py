"""The resources facade: the depots and teams as a source table (cached by the layers' store revisions), their
snap to the road graph (cached with the graph), the assembly of what an incident needs by road time, evacuation
of an exposure result's people to shelters, and the emergency-plan coverage report.

Committed units (teams and depot stock dispatched to open incidents) come from ``commitments`` — the
incidents facade's, wired by the container — so an assembly never sends what is already out."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
from datetime import date
from typing import Any

from cachetools import LRUCache
from shapely.geometry import Point

from ..analysis.consequence.params import scenario_params
from ..analysis.rescue.inputs import check_location
from ..analysis.resources import assembly, evacuation, plans
from ..analysis.resources.assembly import Assembly, SourceTable, Unit
from ..analysis.resources.evacuation import Evacuation, Origin, Shelters
from ..analysis.resources.inputs import DEPOTS, SHELTERS, TEAMS, parse_needs
from ..routing import Snap
from ..stores.base import Store
from ..validation import Problem, ValidationFailed
from .exposure import ExposureService
from .rescue import RescueService

Commitments = Callable[[], Mapping[Unit, Mapping[str, int] | None]]


class ResourcesService:
    def __init__(self, store: Store, rescue: RescueService, exposure: ExposureService):
        self.store, self.rescue, self.exposure = store, rescue, exposure
        self.commitments: Commitments = dict
        self._cache: LRUCache[Hashable, Any] = LRUCache(8)
        self._lock = threading.Lock()

    def sources(self) -> tuple[SourceTable, Snap]:
        """The depots and teams with their road snap, rebuilt when either layer or the roads changed."""
        graph = self.rescue.road_graph()
        key = ("sources", *self.store.revisions((DEPOTS, TEAMS)), id(graph))
        got = self._cache.get(key)
        if got is None:
            with self._lock:
                got = self._cache.get(key)
                if got is None:
                    table = assembly.source_table(self.store)
                    snap = graph.snap(table.lon, table.lat)
                    got = (table, snap, graph)   # the graph is kept so its id cannot be reused
                    self._cache[key] = got
        return got[0], got[1]

    def assemble(self, lon: float, lat: float, needs: Any) -> Assembly:
        """What to send from where so that ``needs`` are on scene at (lon, lat) soonest by road."""
        checked = parse_needs(needs)
        check_location(Point(lon, lat), self.rescue.data_extent())
        table, snap = self.sources()
        return assembly.assemble(table, self.rescue.road_graph(), snap, lon, lat, checked, self.commitments())

    @staticmethod
    def types() -> list[dict[str, Any]]:
        return assembly.equipment_catalogue()

    def plan_coverage(self, as_of: date | None = None) -> dict[str, Any]:
        """Major hazard sources with no filed, current emergency plan, by county."""
        return plans.coverage(self.store, as_of or date.today())

    # -- evacuation -------------------------------------------------------------------------------------
    def shelters(self) -> Shelters:
        """Open shelters (``open`` not false), cached by the shelters layer's revision."""
        key = ("shelters", self.store.revision(SHELTERS))
        got = self._cache.get(key)
        if got is None:
            got = evacuation.shelters_of(self.store)
            self._cache[key] = got
        return got

    def evacuate(self, origins: list[Origin], *, routes: bool = True, source: dict[str, Any] | None = None
                 ) -> Evacuation:
        return evacuation.evacuate(self.rescue.road_graph(), origins, self.shelters(), routes=routes,
                                   source=source)

    def evacuate_exposure(self, params: Mapping[str, Any]) -> Evacuation:
        """Everyone in the receptors of an exposure result's zones (``levels``, default all) to shelters."""
        layer, fid = params.get("layer"), params.get("id")
        if not isinstance(layer, str) or isinstance(fid, bool) or not isinstance(fid, int):
            raise ValidationFailed([Problem(None, "params", 'evacuation needs {"layer": "hazard_sources", "id": 5} '
                                            "(a stored hazard source, tailings dam or goaf area)")])
        scen = params.get("scenario") or {}
        if not isinstance(scen, dict):
            raise ValidationFailed([Problem(None, "params.scenario", "must be an object")])
        levels = params.get("levels")
        result = self.exposure.feature(layer, fid, scenario_params(**scen))
        origins, source = evacuation.origins_from_exposure(result, levels)
        return self.evacuate(origins, routes=bool(params.get("routes", True)),
                             source={"layer": layer, "id": fid, **source})
