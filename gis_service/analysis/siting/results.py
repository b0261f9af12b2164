"""Siting report types: the proposal, each rule's outcome, the report with its verdict (the engine's working
records: they hold the shapely geometry and the rule), and the typed documents the report renders as —
:class:`SitingCheck` (``f=json``) and :class:`SitingFeatures` (``f=geojson``, a geojson-pydantic
FeatureCollection) — which the API declares and serialises and the map and the PDF read by attribute."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from geojson_pydantic import Feature, FeatureCollection
from geojson_pydantic.geometries import Geometry
from pydantic import BaseModel, Field
from shapely.geometry.base import BaseGeometry

from ... import geodesy
from ..qra.results import FnSummary
from .evidence import _geojson, _round
from .rules import Rule, RuleSet

OUTCOMES = ("pass", "warn", "fail", "not_evaluated")
VERDICT_LABELS = {"pass": ("通过", "pass"), "conditional": ("有条件通过", "conditional: warnings only"),
                  "fail": ("不通过", "fail")}
MAX_CONFLICT_FEATURES = 200       # per rule; offending features are all listed, drawn evidence is capped
PARK_LAYER = "chemical_parks"
HAZARD_LAYER = "hazard_sources"


# -- the typed documents -------------------------------------------------------------------------

class Bilingual(BaseModel):
    zh: str
    en: str


class Measured(BaseModel):
    value: float | None
    unit: str | None
    quantity: str | None = Field(..., description="what was measured, e.g. overlap area")


class AppliedThreshold(BaseModel):
    value: float | None
    unit: str | None
    basis: str | None = Field(..., description="where the applied threshold came from")


class RuleSummary(BaseModel):
    """One rule's outcome (in ``f=geojson``'s metadata, without its conflict geometries)."""

    id: str
    description: Bilingual
    severity: str
    outcome: Literal["pass", "warn", "fail", "not_evaluated"]
    test: str
    layers: list[str]
    measured: Measured
    threshold: AppliedThreshold
    offending: list[dict[str, Any]] = Field(..., description="every offending feature: layer, id, name, measures")
    source: str
    method: str | None
    notes: list[str]
    societal: FnSummary | None = Field(None, exclude_if=lambda v: v is None,
                                       description="the F-N curve of a quantitative-risk rule")


class EmptyGeometry(BaseModel):
    """An empty geometry as the evidence writes it (e.g. the shortest line to a feature the proposal touches:
    zero length, ``{"type": "LineString", "coordinates": []}``) — kept as it was answered before the results were
    typed; geojson-pydantic's geometries require at least one position."""

    type: Literal["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"]
    coordinates: list[Any] = Field(..., max_length=0)


class ConflictFeature(Feature[Geometry, dict[str, Any]]):
    """A conflict or context-zone feature: any geometry, or an empty one (:class:`EmptyGeometry`)."""

    geometry: Geometry | EmptyGeometry | None = Field(...)  # type: ignore[assignment]  # widened by the empty form


class RuleResult(RuleSummary):
    """One rule's outcome with its conflict geometries (drawn evidence, capped per rule)."""

    conflicts: list[ConflictFeature]


class RuleSetRef(BaseModel):
    name: str
    title: Bilingual
    file: str
    notes: list[str]


class ProposalDoc(BaseModel):
    kind: str
    name: str | None
    geometry: Geometry
    geometry_type: str
    area_km2: float | None
    inventory: list[dict[str, Any]] | None
    unit_type: str | None
    source: dict[str, Any] | None
    notes: list[str]


class _CheckBase(BaseModel):
    analysis: Literal["siting_check"] = "siting_check"
    verdict: Literal["pass", "conditional", "fail"]
    verdict_label: Bilingual
    summary: dict[str, list[str]] = Field(..., description="rule ids by outcome")
    rule_set: RuleSetRef
    verdict_rule: str
    crs: str
    store: str
    elapsed_ms: float


class SitingCheck(_CheckBase):
    """The siting check (``f=json``)."""

    proposal: ProposalDoc
    rules: list[RuleResult]


class SitingMetadata(_CheckBase):
    rules: list[RuleSummary]


class ProposalProperties(BaseModel):
    role: Literal["proposal"] = "proposal"
    kind: str
    name: str | None
    verdict: Literal["pass", "conditional", "fail"]
    verdict_zh: str
    inventory: list[dict[str, Any]] | None
    unit_type: str | None


ProposalFeature = Feature[Geometry, ProposalProperties]


class SitingFeatures(FeatureCollection[ProposalFeature | ConflictFeature]):
    """The siting check for maps (``f=geojson``): the proposal, each rule's conflicts, then context zones, with
    the report (rules without their conflict geometries) in ``metadata``."""

    metadata: SitingMetadata

    @property
    def proposal(self) -> ProposalProperties | None:
        return next((f.properties for f in self.features if isinstance(f.properties, ProposalProperties)), None)


def _geometry(geom: BaseGeometry) -> dict[str, Any] | None:
    """GeoJSON of a geometry; an empty one is ``null`` (RFC 7946 §3.2 allows it; an empty Point has no form)."""
    return None if geom.is_empty else _geojson(geom)


# -- the proposal --------------------------------------------------------------------------------

@dataclass
class Proposal:
    """What is checked: geometry (WGS84), kind (park | installation), optional inventory.

    ``source`` names the stored feature when an existing park is checked; its own feature and its
    own hazard sources (``park_id``) are then excluded from the overlap and domino rules.
    """

    geometry: BaseGeometry
    kind: str
    name: str | None = None
    inventory: list[dict[str, Any]] | None = None
    source: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    unit_type: str | None = None  # storage | production (the QRA's vessel type); None: storage

    @property
    def park_id(self) -> int | None:
        if self.source and self.source.get("layer") == PARK_LAYER:
            return int(self.source["id"])
        return None

    def area_km2(self) -> float | None:
        if self.geometry.geom_type in ("Polygon", "MultiPolygon"):
            return geodesy.area_m2(self.geometry) / 1e6
        return None

    def document(self) -> ProposalDoc:
        return ProposalDoc.model_validate(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        area = self.area_km2()
        return {"kind": self.kind, "name": self.name, "geometry": _geojson(self.geometry),
                "geometry_type": self.geometry.geom_type,
                "area_km2": None if area is None else round(area, 4),
                "inventory": self.inventory, "unit_type": self.unit_type, "source": self.source,
                "notes": list(self.notes)}


# -- the report ----------------------------------------------------------------------------------

@dataclass
class RuleOutcome:
    rule: Rule
    outcome: str
    measured: float | None = None
    unit: str | None = None
    quantity: str | None = None           # what was measured, e.g. "overlap area"
    threshold: float | None = None        # the threshold actually applied
    threshold_unit: str | None = None
    threshold_basis: str | None = None
    offending: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)   # GeoJSON Features
    method: str | None = None
    notes: list[str] = field(default_factory=list)
    societal: dict[str, Any] | None = None  # the F-N document of a quantitative-risk rule (for charts)

    def document(self) -> RuleResult:
        return RuleResult.model_validate(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        r = self.rule
        extra = {} if self.societal is None else {"societal": self.societal}
        return {
            "id": r.id, "description": {"zh": r.description_zh, "en": r.description_en},
            "severity": r.severity, "outcome": self.outcome, "test": r.test, "layers": list(r.layers),
            "measured": {"value": _round(self.measured), "unit": self.unit, "quantity": self.quantity},
            "threshold": {"value": _round(self.threshold), "unit": self.threshold_unit, "basis": self.threshold_basis},
            "offending": self.offending, "conflicts": self.conflicts, "source": r.source,
            "method": self.method, "notes": self.notes, **extra,
        }


@dataclass
class SitingReport:
    proposal: Proposal
    rule_set: RuleSet
    outcomes: list[RuleOutcome]
    store_kind: str
    elapsed_ms: float
    evidence: list[dict[str, Any]] = field(default_factory=list)   # zones drawn for context (GeoJSON)

    @property
    def verdict(self) -> str:
        found = {o.outcome for o in self.outcomes}
        return "fail" if "fail" in found else "conditional" if "warn" in found else "pass"

    def by_outcome(self) -> dict[str, list[str]]:
        return {k: [o.rule.id for o in self.outcomes if o.outcome == k] for k in OUTCOMES}

    def outcome(self, rule_id: str) -> RuleOutcome:
        for o in self.outcomes:
            if o.rule.id == rule_id:
                return o
        raise KeyError(rule_id)

    def document(self) -> SitingCheck:
        """The report (``f=json``)."""
        v = self.verdict
        return SitingCheck(
            verdict=v, verdict_label=Bilingual(zh=VERDICT_LABELS[v][0], en=VERDICT_LABELS[v][1]),
            summary=self.by_outcome(), proposal=self.proposal.document(),
            rule_set=RuleSetRef(name=self.rule_set.name, title=Bilingual(zh=self.rule_set.title_zh,
                                                                         en=self.rule_set.title_en),
                                file=f"rules/{self.rule_set.path.name}", notes=list(self.rule_set.notes)),
            rules=[o.document() for o in self.outcomes],
            verdict_rule="fail if any fail-severity rule is violated; conditional if only warn-severity "
                         "rules are; pass otherwise. not_evaluated rules do not change the verdict.",
            crs="WGS84 lon/lat (RFC 7946); distances geodesic metres, areas geodesic m² / km²",
            store=self.store_kind, elapsed_ms=round(self.elapsed_ms, 1))

    def to_dict(self) -> dict[str, Any]:
        return self.document().model_dump(mode="json")

    def to_feature_collection(self) -> SitingFeatures:
        """GeoJSON for maps: the proposal, each rule's conflict geometries, then context zones."""
        doc = self.document()
        v = self.verdict
        feats: list[ProposalFeature | ConflictFeature] = [ProposalFeature(
            type="Feature", id="proposal", geometry=_geometry(self.proposal.geometry),
            properties=ProposalProperties(kind=self.proposal.kind, name=self.proposal.name, verdict=v,
                                          verdict_zh=VERDICT_LABELS[v][0], inventory=self.proposal.inventory,
                                          unit_type=self.proposal.unit_type))]
        for o, r in zip(self.outcomes, doc.rules, strict=True):
            for i, f in enumerate(r.conflicts):
                props = {"role": "conflict", "rule_id": o.rule.id, "outcome": o.outcome, "severity": o.rule.severity,
                         "rule_zh": o.rule.description_zh, "rule_en": o.rule.description_en, **(f.properties or {})}
                feats.append(ConflictFeature(type="Feature", id=f"{o.rule.id}-{i}", geometry=f.geometry,
                                             properties=props))
        feats.extend(ConflictFeature.model_validate(f) for f in self.evidence)
        meta = doc.model_dump(exclude={"proposal": True, "rules": {"__all__": {"conflicts"}}})
        return SitingFeatures(type="FeatureCollection", features=feats, metadata=SitingMetadata.model_validate(meta))
