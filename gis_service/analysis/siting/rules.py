"""Siting rule sets as data: ``rules/*.yaml`` read into typed, validated :class:`RuleSet` objects.

One YAML file per rule set (``rules/chemical_park.yaml``, ``rules/installation.yaml``). Planners
edit thresholds, severities and sources there without touching code. Each rule names:

- ``id`` (unique in its set), ``description: {zh, en}``, ``source`` (the standard or paper);
- ``layers`` it reads (checked against the layer catalogue unless ``optional: true``, in which case
  a missing layer makes the rule report "not evaluated: layer absent");
- ``test``: one of the spatial test kinds in :data:`TEST_KINDS` (implemented in
  :mod:`gis_service.analysis.siting.runners`);
- ``threshold`` with its ``unit`` (the unit must be the one the test kind measures in), or null
  where the test kind has its own standard (e.g. the rescue standard time of a team type);
- ``severity``: ``fail`` or ``warn``; optional ``params`` specific to the test kind.

Loading raises :class:`RuleFileError` naming the file, the rule and the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ...catalog import Catalog

DEFAULT_RULES_DIR = Path(__file__).resolve().parents[3] / "rules"
SEVERITIES = ("fail", "warn")
PROPOSAL_KINDS = ("park", "installation")


@dataclass(frozen=True)
class TestKind:
    """A spatial test the engine knows: the unit its threshold is in and the params it accepts."""

    name: str
    unit: str | None
    params: frozenset[str]
    summary: str
    threshold_required: bool = True


TEST_KINDS: dict[str, TestKind] = {t.name: t for t in (
    TestKind("goaf_influence", "m²", frozenset({"search_radius_m"}),
             "overlap area with goaf influence zones (goaf outline buffered by r = H/tanβ)"),
    TestKind("tailings_corridor", "m²", frozenset({"search_radius_m"}),
             "overlap area with tailings-dam breach corridors"),
    TestKind("layer_overlap", "m²", frozenset(),
             "overlap area with the features of a polygon layer (excluding the proposal itself)"),
    TestKind("layer_distance", "m", frozenset(),
             "features of a layer nearer than the threshold distance"),
    TestKind("receptor_distance", "m", frozenset({"classes", "consequence_level"}),
             "protection targets within the external safety distance (consequence radius, else the threshold)"),
    TestKind("external_safety_risk", "m", frozenset({"classes", "installation", "resolution_m", "max_range_m"}),
             "protection targets against the GB 36894 individual-risk criterion of their class (QRA from the "
             "inventory; park F-N curve); without an inventory the threshold is a screening distance"),
    TestKind("receptors_inside", None, frozenset({"classes"}),
             "protection targets inside the proposal's boundary", threshold_required=False),
    TestKind("domino_outgoing", "kPa", frozenset(),
             "existing hazard sources inside the proposal's explosion radius at the threshold overpressure"),
    TestKind("domino_incoming", "kPa", frozenset({"search_radius_m"}),
             "the proposal inside existing hazard sources' explosion radii at the threshold overpressure"),
    TestKind("rescue_time", "min", frozenset({"team_type", "k"}),
             "nearest team of a type arrives within the threshold (or the type's standard time)",
             threshold_required=False),
    TestKind("min_area", "km²", frozenset(),
             "geodesic area of the park boundary at least the threshold"),
)}


class RuleFileError(ValueError):
    """A rule file is malformed; the message names the file, rule and field."""


@dataclass(frozen=True)
class Rule:
    id: str
    description_zh: str
    description_en: str
    source: str
    layers: tuple[str, ...]
    test: str
    threshold: float | None
    unit: str | None
    severity: str
    optional: bool = False
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def limit(self) -> float:
        """The threshold of a test that needs one (parse_rule checks those tests have it)."""
        if self.threshold is None:
            raise RuleFileError(f"rule {self.id}: test {self.test} needs a threshold")
        return self.threshold

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "description": {"zh": self.description_zh, "en": self.description_en},
                "source": self.source, "layers": list(self.layers), "test": self.test,
                "threshold": self.threshold, "unit": self.unit, "severity": self.severity,
                "optional": self.optional, "params": dict(self.params)}


@dataclass(frozen=True)
class RuleSet:
    name: str
    title_zh: str
    title_en: str
    applies_to: str
    rules: tuple[Rule, ...]
    path: Path
    notes: tuple[str, ...] = ()

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "title": {"zh": self.title_zh, "en": self.title_en},
                "applies_to": self.applies_to, "notes": list(self.notes),
                "rules": [r.describe() for r in self.rules]}


def _need(raw: dict[str, Any], key: str, where: str) -> Any:
    if key not in raw or raw[key] in (None, ""):
        raise RuleFileError(f"{where}: field {key!r} is missing")
    return raw[key]


def _bilingual(raw: Any, where: str, key: str) -> tuple[str, str]:
    if not isinstance(raw, dict) or not raw.get("zh") or not raw.get("en"):
        raise RuleFileError(f"{where}: field {key!r} must be {{zh: …, en: …}} with both languages")
    return str(raw["zh"]), str(raw["en"])


def parse_rule(raw: Any, where: str, catalog: Catalog) -> Rule:
    """One rule mapping → :class:`Rule`, checked against the test kinds and the layer catalogue."""
    if not isinstance(raw, dict):
        raise RuleFileError(f"{where}: each rule must be a mapping")
    rid = str(_need(raw, "id", where))
    where = f"{where} (rule {rid!r})"
    known = {"id", "description", "source", "layers", "test", "threshold", "unit", "severity", "optional", "params"}
    extra = sorted(set(raw) - known)
    if extra:
        raise RuleFileError(f"{where}: unknown field(s) {', '.join(extra)}; allowed: {', '.join(sorted(known))}")
    zh, en = _bilingual(_need(raw, "description", where), where, "description")
    test = str(_need(raw, "test", where))
    kind = TEST_KINDS.get(test)
    if kind is None:
        raise RuleFileError(f"{where}: field 'test': unknown test kind {test!r}; known: {', '.join(TEST_KINDS)}")
    layers = raw.get("layers") or []
    if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
        raise RuleFileError(f"{where}: field 'layers' must be a list of layer names")
    optional = bool(raw.get("optional", False))
    if not optional:
        missing = [x for x in layers if x not in catalog]
        if missing:
            raise RuleFileError(f"{where}: field 'layers': {', '.join(missing)} not in the layer catalogue "
                                f"({', '.join(catalog.names())}); mark the rule 'optional: true' to evaluate "
                                "it only when the layer exists")
    threshold = raw.get("threshold")
    if threshold is None:
        if kind.threshold_required:
            raise RuleFileError(f"{where}: field 'threshold' is missing (test {test} needs one, in {kind.unit})")
    elif isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold < 0:
        raise RuleFileError(f"{where}: field 'threshold' must be a number ≥ 0 (got {threshold!r})")
    unit = raw.get("unit")
    if kind.unit is not None and threshold is not None and unit != kind.unit:
        raise RuleFileError(f"{where}: field 'unit' must be {kind.unit!r} for test {test} (got {unit!r})")
    severity = str(_need(raw, "severity", where))
    if severity not in SEVERITIES:
        raise RuleFileError(f"{where}: field 'severity' must be one of {', '.join(SEVERITIES)} (got {severity!r})")
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        raise RuleFileError(f"{where}: field 'params' must be a mapping")
    bad = sorted(set(params) - kind.params)
    if bad:
        raise RuleFileError(f"{where}: field 'params': unknown parameter(s) {', '.join(bad)} for test {test}; "
                            f"allowed: {', '.join(sorted(kind.params)) or 'none'}")
    return Rule(id=rid, description_zh=zh, description_en=en, source=str(_need(raw, "source", where)),
                layers=tuple(layers), test=test, threshold=None if threshold is None else float(threshold),
                unit=unit if unit is not None else kind.unit, severity=severity, optional=optional,
                params=dict(params))


def parse_rule_set(raw: Any, path: Path, catalog: Catalog) -> RuleSet:
    where = str(path)
    if not isinstance(raw, dict):
        raise RuleFileError(f"{where}: expected a mapping with name, title, applies_to and rules")
    name = str(_need(raw, "name", where))
    if name != path.stem:
        raise RuleFileError(f"{where}: field 'name' ({name!r}) must match the file name ({path.stem!r})")
    zh, en = _bilingual(_need(raw, "title", where), where, "title")
    applies = str(_need(raw, "applies_to", where))
    if applies not in PROPOSAL_KINDS:
        raise RuleFileError(f"{where}: field 'applies_to' must be one of {', '.join(PROPOSAL_KINDS)}")
    items = _need(raw, "rules", where)
    if not isinstance(items, list):
        raise RuleFileError(f"{where}: field 'rules' must be a list")
    rules = [parse_rule(r, f"{where}: rules[{i}]", catalog) for i, r in enumerate(items)]
    ids = [r.id for r in rules]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise RuleFileError(f"{where}: duplicate rule id(s) {', '.join(dupes)}")
    if applies != "park":
        park_only = [r.id for r in rules if r.test in ("min_area", "receptors_inside")]
        if park_only:
            raise RuleFileError(f"{where}: rule(s) {', '.join(park_only)} apply to park boundaries only")
    notes = raw.get("notes") or []
    return RuleSet(name=name, title_zh=zh, title_en=en, applies_to=applies, rules=tuple(rules), path=path,
                   notes=tuple(str(n) for n in notes))


def load_rule_sets(catalog: Catalog, directory: Path | str | None = None) -> dict[str, RuleSet]:
    """Every ``*.yaml`` rule set in ``directory`` (default: the repository's ``rules/``)."""
    directory = Path(directory) if directory is not None else DEFAULT_RULES_DIR
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise RuleFileError(f"{directory}: no rule files (*.yaml)")
    out = {}
    for path in paths:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise RuleFileError(f"{path}: not valid YAML: {exc}") from None
        rs = parse_rule_set(raw, path, catalog)
        out[rs.name] = rs
    return out


def rules_signature(directory: Path | str | None = None) -> tuple:
    """(directory, each rule file's name and modification time): changes when a rule file is edited."""
    directory = Path(directory) if directory is not None else DEFAULT_RULES_DIR
    return (str(directory), tuple((p.name, p.stat().st_mtime_ns) for p in sorted(directory.glob("*.yaml"))))


def rule_set_for(sets: dict[str, RuleSet], kind: str, name: str | None = None) -> RuleSet:
    """The rule set called ``name``, else the first one that applies to ``kind``."""
    if name is not None:
        if name not in sets:
            raise KeyError(f"unknown rule set {name!r}; known: {', '.join(sets)}")
        rs = sets[name]
        if rs.applies_to != kind:
            raise ValueError(f"rule set {name!r} applies to {rs.applies_to} proposals, not {kind}")
        return rs
    for rs in sets.values():
        if rs.applies_to == kind:
            return rs
    raise KeyError(f"no rule set applies to {kind} proposals")


def layers_read(rules: Iterable[Rule]) -> list[str]:
    seen: list[str] = []
    for r in rules:
        seen.extend(x for x in r.layers if x not in seen)
    return seen
