"""What every siting rule runner works with: the store, the proposal, the scenario parameters, the road
graph and arrival standards given by the siting facade, and the caches it owns; the verdict of a rule."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache

from ...routing import RoadGraph
from ...stores.base import Feature, Store
from ..consequence.params import ScenarioParams
from .results import HAZARD_LAYER, Proposal
from .rules import Rule


class SitingCaches:
    """Caches of the siting runners, owned by the siting facade (one per store) and shared by its checks.

    Zones of stored features are keyed by ``(layer, store revision, id, parameters)``: an edit bumps the
    layer's revision, so an edited goaf or dam is never answered from its old zone. Explosion radii of
    inventories and breach runouts depend only on their inputs (not on where the unit is) and are keyed by
    them."""

    def __init__(self, size: int = 8192):
        self.zones: LRUCache[Hashable, Any] = LRUCache(size)
        self.radii: LRUCache[Hashable, Any] = LRUCache(size)
        self.runouts: LRUCache[Hashable, Any] = LRUCache(size)

    @staticmethod
    def get(cache: LRUCache, key: Hashable, make: Callable[[], Any]) -> Any:
        try:
            return cache[key]
        except KeyError:
            value = cache[key] = make()
            return value


@dataclass
class Context:
    store: Store
    proposal: Proposal
    params: ScenarioParams
    graph: RoadGraph | None = None  # road graph for rescue times (from the rescue facade)
    standards: dict[str, float] = field(default_factory=dict)  # arrival-standard overrides (minutes)
    caches: SitingCaches = field(default_factory=SitingCaches)
    rescue_answers: dict[tuple, Any] = field(default_factory=dict)
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def excluded(self, layer: str, f: Feature) -> bool:
        """The proposal's own feature and (for an existing park) its own hazard sources."""
        src = self.proposal.source
        if src and src.get("layer") == layer and int(src["id"]) == f.id:
            return True
        pid = self.proposal.park_id
        return layer == HAZARD_LAYER and pid is not None and f.properties.get("park_id") == pid

    def is_point(self) -> bool:
        return self.proposal.geometry.geom_type == "Point"



def judge(rule: Rule, violated: bool) -> str:
    return rule.severity if violated else "pass"
