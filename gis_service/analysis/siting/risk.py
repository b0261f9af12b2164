"""Siting test kind ``external_safety_risk``: protection targets judged by quantitative risk (GB 36894-2018).

GB/T 37243-2019 requires a quantitative risk assessment for the external safety distance of toxic or flammable
installations; GB 36894-2018 Table 1 gives the acceptable individual risk by protection-target class, for new and
existing installations. This test:

- with an inventory (an installation proposal with its design quantities, or an existing park's hazard sources):
  computes the IR grid (:mod:`.qra`), reads the IR at every protection target of the rule's classes within reach and
  compares it with the target's class criterion (``new`` for a proposal, ``existing`` for a stored park unless the
  rule's ``installation`` param says otherwise); for a park also the F-N curve of all receptors against the
  GB 36894 lines (an unacceptable curve violates the rule). The rule is violated if any target exceeds its
  criterion.
- without any inventory: falls back to the rule's screening distance (``threshold`` m), says so, and says that this
  default is not from a standard.
"""

from __future__ import annotations

from ..qra import assessment, engine
from ..qra.data import qra_params
from .context import Context, judge
from .evidence import _feature, _ref
from .results import RuleOutcome
from .rules import Rule
from .runners import run_receptor_distance

SCREENING_BASIS = ("screening default distance used because no inventory is known — not from a standard; "
                   "GB/T 37243-2019 requires a quantitative risk assessment against GB 36894-2018 (give the inventory)")
LEVEL_STYLE = {3e-5: "red", 1e-5: "red", 3e-6: "orange", 3e-7: "yellow"}


def _installations(ctx: Context) -> tuple[list[engine.Installation], str, str]:
    prop = ctx.proposal
    if prop.inventory:
        given = prop.unit_type or (prop.source or {}).get("unit_type")
        unit_type = "production" if given == "production" else "storage"
        return ([engine.Installation(None, None, prop.name, prop.geometry, prop.inventory, unit_type)], "new",
                "the proposal's own inventory (design maximum quantities)")
    if prop.park_id is not None:
        try:
            insts = assessment.installations_for(ctx.store, park_id=prop.park_id)
        except Exception:  # noqa: BLE001 - a park without hazard sources: no inventory known
            insts = []
        return insts, "existing", f"the {len(insts)} hazard sources of park {prop.park_id}"
    return [], "new", ""


def run_external_safety_risk(ctx: Context, rule: Rule) -> RuleOutcome:
    insts, column, basis = _installations(ctx)
    column = rule.params.get("installation", column)
    if not insts:
        out = run_receptor_distance(ctx, rule)
        out.threshold_basis = SCREENING_BASIS
        out.notes = [SCREENING_BASIS, *[n for n in out.notes if "screening" not in n]]
        return out
    classes = set(rule.params.get("classes") or [])
    p = qra_params(installation=column, resolution_m=rule.params.get("resolution_m"),
                   max_range_m=rule.params.get("max_range_m"))
    res = engine.compute(insts, p)
    feats = assessment.receptor_features(ctx.store, res)
    targets = [f for f in feats if not classes or f.properties.get("receptor_class") in classes]
    checks = assessment.receptor_checks(ctx.store, res, targets)
    failing = [c for c in checks if c["verdict"] == "fail"]
    by_id = {f.id: f for f in targets}
    offending = [{**_ref("receptors", by_id[c["id"]]),  # IR values kept unrounded (they are ~1e-7)
                  **{k: c[k] for k in ("receptor_class", "population", "target_class", "ir_per_year",
                                       "criterion_per_year")}} for c in failing]
    conflicts = [_feature(by_id[c["id"]].geometry, layer="receptors", id=c["id"], name=c["name"],
                          ir_per_year=c["ir_per_year"], criterion_per_year=c["criterion_per_year"],
                          evidence=f"individual risk above the GB 36894 criterion ({column} installation)")
                 for c in failing]
    notes = [f"IR from {basis}; criteria for {column} installations (GB 36894-2018 Table 1).",
             f"{len(checks)} protection target(s) of classes {', '.join(sorted(classes)) or 'all'} within "
             f"{p.max_range_m:g} m; {len(failing)} above their criterion.",
             *res.warnings[:5]]
    if res.skipped:
        notes.append(f"{len(res.skipped)} scenario(s) skipped (no model or data): "
                     + "; ".join(sorted({s['reason'] for s in res.skipped}))[:400])
    violated = bool(failing)
    fn = None
    if ctx.proposal.kind == "park" or len(insts) > 1 or ctx.proposal.inventory:
        fn = engine.societal_from(res, feats)
        region = fn["assessment"]["region"]
        notes.append(f"F-N curve ({fn['receptors_counted']} receptors): {fn['assessment']['region_zh']} — "
                     f"{fn['assessment']['lines']['basis']}")
        violated = violated or region == "unacceptable"
    for level, geom in res.contours:
        if geom is not None and level in LEVEL_STYLE:
            ctx.evidence.append(_feature(geom, role="zone", rule_id=rule.id, level=LEVEL_STYLE[level], kind="risk",
                                         label_zh=engine.LEVEL_LABELS[level][0],
                                         label_en=engine.LEVEL_LABELS[level][1], level_per_year=level))
    ratio = max((c["ir_per_year"] / c["criterion_per_year"] for c in checks), default=0.0)
    return RuleOutcome(rule, judge(rule, violated), ratio, "ratio",
                       "largest IR / GB 36894 criterion over the protection targets", 1.0, "ratio",
                       "GB 36894-2018 Table 1 individual-risk criterion of each target's class "
                       f"({column} installation): 3e-7 / 3e-6 / 1e-5 (new), 3e-6 / 1e-5 / 3e-5 (existing) per year",
                       offending, conflicts, "quantitative risk assessment (analysis.qra, CPR 18E method)", notes,
                       societal=None if fn is None else {k: fn[k] for k in ("fn_curve", "assessment",
                                                                            "receptors_counted",
                                                                            "expected_deaths_per_year")})

