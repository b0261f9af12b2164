"""The application context: what every entry point needs, built once and shared.

The API (``create_app``), the CLI commands and the map builders take one :class:`AppContext`
instead of assembling their own store, settings overrides, road graph and rule sets:

    ctx = AppContext.build(settings)       # or AppContext(settings, store)
    ctx.store                              # the one Store of this process
    ctx.settings                           # typed settings (bad values fail here, at start-up)
    ctx.road_graph()                       # routing graph of the roads layer or GIS_ROAD_PBF (cached)
    ctx.rescue_standards                   # GIS_RESCUE_STANDARD_MIN parsed once
    ctx.rule_sets()                        # siting rule sets (rules/*.yaml, cached by mtime)

In the API it is ``request.app.state.context`` (dependency :func:`gis_service.api.deps.get_context`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .config import Settings, get_settings
from .stores import Store, make_store
from .validation import Problem, ValidationFailed

if TYPE_CHECKING:
    from .routing import RoadGraph


@dataclass
class AppContext:
    settings: Settings
    store: Store
    _standards: dict[str, float] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, settings: Settings | None = None, store: Store | None = None) -> AppContext:
        settings = settings or get_settings()
        settings.key_roles()  # fail fast on a malformed GIS_API_KEYS
        return cls(settings, store or make_store(settings))

    # -- derived, cached -----------------------------------------------------------------------
    @property
    def rescue_standards(self) -> dict[str, float]:
        """Arrival-standard overrides (GIS_RESCUE_STANDARD_MIN), parsed once."""
        if self._standards is None:
            from .analysis.rescue import parse_overrides

            try:
                self._standards = parse_overrides(self.settings.rescue_standard_min)
            except ValueError as exc:
                raise ValidationFailed([Problem(None, "GIS_RESCUE_STANDARD_MIN", str(exc))]) from exc
        return dict(self._standards)

    def road_graph(self) -> RoadGraph:
        """The routing graph (roads layer, or the GIS_ROAD_PBF extract), rebuilt when the data change."""
        from .analysis.road_network import road_graph

        return road_graph(self.store, pbf=self.settings.road_pbf)

    def graph_for(self, by: str) -> RoadGraph | None:
        """The road graph when ranking by travel time, else None (straight line needs none)."""
        return self.road_graph() if by == "time" else None

    def rule_sets(self) -> dict[str, Any]:
        from .analysis.siting_rules import rule_sets

        return rule_sets(self.store.catalog)
