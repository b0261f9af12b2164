"""The resources facade: the depots and teams as a source table (cached by the layers' store revisions), their
snap to the road graph (cached with the graph), and the assembly of what an incident needs by road time.

Committed units (teams and depot stock dispatched to open incidents) come from ``commitments`` — the
incidents facade's, wired by the container — so an assembly never sends what is already out."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from cachetools import LRUCache
from shapely.geometry import Point

from ..analysis.rescue.inputs import check_location
from ..analysis.resources import assembly
from ..analysis.resources.assembly import Assembly, SourceTable, Unit
from ..analysis.resources.inputs import DEPOTS, TEAMS, parse_needs
from ..routing import Snap
from ..stores.base import Store
from .rescue import RescueService

Commitments = Callable[[], Mapping[Unit, Mapping[str, int] | None]]


class ResourcesService:
    def __init__(self, store: Store, rescue: RescueService):
        self.store, self.rescue = store, rescue
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
