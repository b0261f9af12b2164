"""Siting conflicts: check a proposed chemical park or hazardous installation against the rule sets.

This module is the engine (:func:`check`, :func:`check_park`); the test kinds are in :mod:`.runners` and
:mod:`.risk`, the report types in :mod:`.results`, the input parsing in :mod:`.inputs`, the rule files in
:mod:`.rules`. Rule sets, the road graph and the arrival standards are resolved by the siting facade
(:class:`gis_service.services.siting.SitingService`) and passed in.

A proposal (park boundary, or installation point / footprint with an optional inventory) is checked
rule by rule; rules are data (``rules/*.yaml``, read by :mod:`.rules`). Each rule's spatial test
kind is one small function in :data:`RUNNERS` that asks the store (``within`` / ``intersecting`` /
``nearest`` — one code path for both engines) and the consequence models (:mod:`..consequence`), and
returns a :class:`RuleOutcome` with the measured value and unit, the offending features (layer, id,
name), conflict geometries (GeoJSON) and notes.

Verdict: ``fail`` if any fail-severity rule is violated; ``conditional`` if only warn-severity rules
are; ``pass`` otherwise. ``not_evaluated`` rules (optional layer absent, no inventory for a domino
check) do not change the verdict and are listed.

Science and sources (see also the rule files):

- Goaf influence zone = goaf outline buffered by r = H/tanβ (probability-integral method, docs/science.md;
  :func:`..consequence.dispatch.goaf_zones`). Candidates come from ``store.within`` with a search radius derived
  from the layer spec (largest depth / smallest tanβ), then exact per-goaf distance ≤ r.
- Tailings breach corridor: Concha Larrauri & Lall (2018) runout along the downstream azimuth
  (:func:`..consequence.dispatch.tailings_zones`, docs/science.md).
- External safety distance: each protection target against the GB 36894-2018 individual-risk criterion of
  its class, from a QRA of the proposal's or park's inventory (:mod:`.risk`, GB/T 37243-2019); the
  rule's configurable screening distance only where no inventory is known, and the outcome says so.
- Domino: explosion radius at the escalation overpressure (rule threshold, kPa) from TNT-equivalence
  VCE (docs/science.md). Existing sources' radii are computed from their inventories and cached per
  distinct inventory (the radius does not depend on the location).
- Rescue: :func:`..rescue.engine.nearest_teams` by road time (the outcome says which method answered).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ...routing import RoadGraph
from ...stores.base import Store
from ...validation import Problem, ValidationFailed
from ..consequence.params import ScenarioParams
from .context import Context, SitingCaches
from .results import PARK_LAYER, Proposal, RuleOutcome, SitingReport
from .risk import run_external_safety_risk
from .rules import TEST_KINDS, Rule, RuleSet
from .runners import (
    run_domino_incoming,
    run_domino_outgoing,
    run_goaf_influence,
    run_layer_distance,
    run_layer_overlap,
    run_min_area,
    run_receptor_distance,
    run_receptors_inside,
    run_rescue_time,
    run_tailings_corridor,
)

RUNNERS: dict[str, Callable[[Context, Rule], RuleOutcome]] = {
    "goaf_influence": run_goaf_influence,
    "tailings_corridor": run_tailings_corridor,
    "layer_overlap": run_layer_overlap,
    "layer_distance": run_layer_distance,
    "receptor_distance": run_receptor_distance,
    "external_safety_risk": run_external_safety_risk,
    "receptors_inside": run_receptors_inside,
    "domino_outgoing": run_domino_outgoing,
    "domino_incoming": run_domino_incoming,
    "rescue_time": run_rescue_time,
    "min_area": run_min_area,
}
assert set(RUNNERS) == set(TEST_KINDS), "every test kind of siting_rules needs a runner"


def run_rule(ctx: Context, rule: Rule) -> RuleOutcome:
    missing = [x for x in rule.layers if x not in ctx.store.catalog]
    if missing:
        return RuleOutcome(rule, "not_evaluated", threshold=rule.threshold, threshold_unit=rule.unit,
                           notes=[f"not evaluated: layer absent ({', '.join(missing)})"])
    return RUNNERS[rule.test](ctx, rule)


def check(store: Store, proposal: Proposal, rule_set: RuleSet, params: ScenarioParams | None = None,
          only: list[str] | None = None, graph: RoadGraph | None = None, standards: dict[str, float] | None = None,
          caches: SitingCaches | None = None) -> SitingReport:
    """Run every rule of ``rule_set`` (or those named in ``only``)."""
    t0 = time.perf_counter()
    rs = rule_set
    if rs.applies_to != proposal.kind:
        raise ValidationFailed([Problem(None, "rule_set", f"rule set {rs.name!r} applies to {rs.applies_to} "
                                        f"proposals, not {proposal.kind}")])
    ctx = Context(store, proposal, params or ScenarioParams(), graph, dict(standards or {}), caches or SitingCaches())
    outcomes = [run_rule(ctx, r) for r in rs.rules if only is None or r.id in only]
    return SitingReport(proposal, rs, outcomes, store.kind, (time.perf_counter() - t0) * 1000.0, ctx.evidence)


def park_proposal(store: Store, park_id: int) -> Proposal:
    """An existing park as the proposal checked (its own feature and its own hazard sources are excluded)."""
    f = store.get(PARK_LAYER, int(park_id))
    return Proposal(f.geometry, "park", f.properties.get("name"), None,
                    {"layer": PARK_LAYER, "id": f.id, "name": f.properties.get("name")})


def check_park(store: Store, park_id: int, rule_set: RuleSet, params: ScenarioParams | None = None,
               graph: RoadGraph | None = None, standards: dict[str, float] | None = None,
               caches: SitingCaches | None = None) -> SitingReport:
    """Check an existing park (its own feature and its own hazard sources are excluded)."""
    return check(store, park_proposal(store, park_id), rule_set, params, graph=graph, standards=standards,
                 caches=caches)
