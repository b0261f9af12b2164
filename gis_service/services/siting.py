"""The siting facade: rule sets (``rules/*.yaml``, reloaded when a file changes), the province's area that
bounds a proposal, the road graph and arrival standards (from the rescue facade) — resolved here once for
every face, so the JSON answer, the PDF report and the map of one check are the same check — and the
caches of the rule runners (zones of stored goafs and dams keyed by the layer's store revision)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from cachetools import LRUCache

from .. import geodesy
from ..analysis.consequence.params import ScenarioParams
from ..analysis.siting import engine
from ..analysis.siting.context import SitingCaches
from ..analysis.siting.inputs import DEFAULT_MAX_AREA_KM2, check_inventory, proposal_from_geojson
from ..analysis.siting.results import Proposal, SitingReport
from ..analysis.siting.rules import RuleSet, load_rule_sets, rule_set_for, rules_signature
from ..analysis.siting.upload import proposal_feature
from ..stores.base import Query, Store
from ..validation import Problem, ValidationFailed
from .rescue import RescueService


class SitingService:
    def __init__(self, store: Store, rescue: RescueService, rules_dir: Path | str | None = None):
        self.store = store
        self.rescue = rescue
        self.rules_dir = rules_dir
        self.caches = SitingCaches()
        self._cache: LRUCache[Any, Any] = LRUCache(16)
        self._lock = threading.Lock()

    # -- what this facade alone resolves ---------------------------------------------------------
    def rule_sets(self) -> dict[str, RuleSet]:
        """Every rule set, read again when a rule file changed (the key holds the files' mtimes)."""
        key = ("rules", rules_signature(self.rules_dir))
        with self._lock:
            sets = self._cache.get(key)
            if sets is None:
                sets = self._cache[key] = load_rule_sets(self.store.catalog, self.rules_dir)
        return sets

    def rule_set(self, kind: str, name: str | None = None) -> RuleSet:
        """The rule set ``name`` (or the first for ``kind``); a bad name is a 400 naming ``rule_set``."""
        try:
            return rule_set_for(self.rule_sets(), kind, name)
        except (KeyError, ValueError) as exc:
            raise ValidationFailed([Problem(None, "rule_set", str(exc).strip("'\""))]) from None

    def max_area(self) -> tuple[float, str]:
        """The largest proposal area (km², basis): the province polygon's area when admin_areas holds one,
        else the configured cap; cached by the admin areas' revision."""
        if "admin_areas" not in self.store.catalog:
            return DEFAULT_MAX_AREA_KM2, f"configured cap ({DEFAULT_MAX_AREA_KM2:,.0f} km²)"
        key = ("area", self.store.revision("admin_areas"))
        hit = self._cache.get(key)
        if hit is None:
            page = self.store.items("admin_areas", Query(filters={"level": "province"}, limit=5))
            if page.features:
                area = max(geodesy.area_m2(f.geometry) for f in page.features) / 1e6
                hit = (min(area, DEFAULT_MAX_AREA_KM2), f"area of the province polygon in admin_areas ({area:,.0f} km²)")
            else:
                hit = (DEFAULT_MAX_AREA_KM2, f"configured cap ({DEFAULT_MAX_AREA_KM2:,.0f} km²)")
            self._cache[key] = hit
        return hit

    def proposal(self, body: bytes | str | dict, kind: str | None = None, repair: bool = False) -> Proposal:
        return proposal_from_geojson(body, self.store.catalog, kind=kind, repair=repair, max_area=self.max_area())

    def upload(self, filename: str, data: bytes, layer: str | None = None) -> dict[str, Any]:
        """An uploaded proposal file (GeoJSON, zipped Shapefile, GeoPackage) as one WGS84 GeoJSON Feature;
        ``layer`` picks one layer of a file that holds several. Its inventory (an ``inventory`` list or the
        columns ``substance``/``quantity_t``…, one item per feature) is kept in ``properties.inventory``, checked
        like a stored hazard source's, so the siting check runs the QRA with it; ``inventory_items`` counts it
        (0: the check will fall back to the screening distance — the viewer says so)."""
        feature = proposal_feature(filename, data, layer)
        props = feature["properties"]
        if "inventory" in props:
            inv = check_inventory(self.store.catalog, props["inventory"])
            props["inventory"] = inv
        props["inventory_items"] = len(props.get("inventory") or [])
        return feature

    @staticmethod
    def substance_options() -> list[dict[str, Any]]:
        """The substances an inventory may name (the models' table) with the QRA's storage condition of each
        (``data/qra_substances.csv``: storage and pressure at 20 °C; None when the QRA has no release data)."""
        from ..analysis.qra.data import qra_substances
        from ..models.substances import all_substances

        qra = qra_substances()
        out = []
        for s in all_substances():
            q = qra.get(s.key)
            out.append({"key": s.key, "zh": s.name_zh, "en": s.name_en, "cas": s.cas,
                        "qra": None if q is None else {"storage": q.storage, "pressure_bar_abs": q.pressure_bar_abs}})
        return out

    # -- the checks ------------------------------------------------------------------------------
    def check(self, proposal: Proposal, rule_set: str | RuleSet | None = None,
              params: ScenarioParams | None = None, only: list[str] | None = None) -> SitingReport:
        rs = rule_set if isinstance(rule_set, RuleSet) else self.rule_set(proposal.kind, rule_set)
        return engine.check(self.store, proposal, rs, params, only=only, graph=self.rescue.road_graph(),
                            standards=self.rescue.standards, caches=self.caches)

    def check_proposal(self, body: bytes | str | dict, kind: str | None = None, rule_set: str | None = None,
                       repair: bool = False) -> SitingReport:
        return self.check(self.proposal(body, kind, repair), rule_set)

    def check_park(self, park_id: int, rule_set: str | RuleSet | None = None,
                   params: ScenarioParams | None = None) -> SitingReport:
        rs = rule_set if isinstance(rule_set, RuleSet) else self.rule_set("park", rule_set)
        return self.check(engine.park_proposal(self.store, park_id), rs, params)
