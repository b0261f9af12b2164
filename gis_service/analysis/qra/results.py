"""Quantitative-risk result types (pydantic): the individual-risk contours of an installation or a park with the
protection targets' verdicts (:class:`IndividualRisk`, a typed GeoJSON FeatureCollection on geojson-pydantic) and
the F-N curve with its region (:class:`FnCurve`).

The risk facade validates the engine's documents into these models (:meth:`IndividualRisk.of`,
:meth:`FnCurve.of`); the risk map, the PDF reports and the siting report read them by attribute. The JSON the API
writes is the document the model was validated from (:meth:`IndividualRisk.document`, from
:class:`..documents.Documented`), and the model's JSON form is that same document member for member (members not
typed here are kept as extra members, never dropped)."""

from __future__ import annotations

from typing import Any, Literal

from geojson_pydantic import Feature, FeatureCollection
from geojson_pydantic.geometries import Geometry
from pydantic import BaseModel, ConfigDict, Field

from ..documents import Documented


class _Open(BaseModel):
    """A record with the members every answer has, typed; further members kept as they are."""

    model_config = ConfigDict(extra="allow")

    def extra(self, name: str) -> Any:
        """A member this record carries untyped (e.g. a skipped case's ``reason``), or None."""
        return (self.model_extra or {}).get(name)


class InstallationRef(_Open):
    """One installation (hazard source) the QRA ran over."""

    layer: str
    id: int
    name: str | None
    lon: float
    lat: float
    unit_type: str | None
    outcome_cases: int


class OutcomeCaseRow(_Open):
    """One outcome case (loss of containment → event-tree branch → outcome) with its frequency and sources."""

    id: str
    substance: str
    equipment: str | None
    loc: str | None
    release: str | None
    mass_kg: float
    rate_kg_s: float | None
    duration_s: float | None
    loc_frequency_per_year: float
    loc_source: str | None
    loc_confidence: str | None
    loc_status: str
    branch: str | None
    outcome: str
    conditional_probability: float
    frequency_per_year: float
    event_tree_source: str | None


class SkippedCase(_Open):
    """A scenario (or a whole installation) left out, and why (``reason``, ``substance``, ``loc`` as extras)."""

    installation: int | None


class TargetCheck(_Open):
    """A protection target within reach: its IR against its GB 36894 class criterion."""

    layer: str
    id: int
    name: str | None
    receptor_class: str | None
    population: int | float | None
    target_class: str
    target_class_zh: str
    ir_per_year: float
    criterion_per_year: float
    installation: str
    verdict: Literal["pass", "fail"]


class MaxIr(_Open):
    ir_per_year: float
    lon: float
    lat: float


class FnPoint(_Open):
    n: float = Field(..., description="N deaths or more")
    f_per_year: float = Field(..., description="cumulative frequency of events with N or more deaths, per year")


class FnLine(_Open):
    c_per_year: float
    k: float


class FnLines(_Open):
    upper: FnLine
    lower: FnLine
    n_range: list[float]
    basis: str


class FnAssessment(_Open):
    region: Literal["unacceptable", "alarp", "acceptable"]
    region_zh: str
    max_ratio_to_upper_line: float
    max_ratio_to_lower_line: float
    lines: FnLines


class FnCurve(_Open, Documented):
    """``GET /analysis/risk/societal…``: the F-N curve (frequency of N or more deaths per year) of one QRA run and its
    region against the criterion lines, with the receptors and population counted."""

    installations: list[InstallationRef]
    fn_curve: list[FnPoint]
    assessment: FnAssessment
    receptors_counted: int
    population_counted: float
    day_night: str
    events: int
    expected_deaths_per_year: float
    skipped: list[SkippedCase]
    warnings: list[str]
    parameters: dict[str, Any]
    method: str
    sources: list[str]
    limitations: list[str]



class FnSummary(_Open):
    """The F-N curve as a siting check's quantitative-risk rule carries it (``metadata.rules[].societal``): the
    curve, its region and what it counted."""

    fn_curve: list[FnPoint]
    assessment: FnAssessment
    receptors_counted: int
    expected_deaths_per_year: float


class IrContourProperties(_Open):
    """One individual-risk contour: the area where IR is at least ``level_per_year``."""

    level_per_year: float
    label_zh: str
    label_en: str
    area_m2: float
    reference_only: bool


IrContourFeature = Feature[Geometry, IrContourProperties]


class RiskMetadata(_Open):
    installations: list[InstallationRef]
    scenarios: list[OutcomeCaseRow]
    skipped: list[SkippedCase]
    warnings: list[str]
    parameters: dict[str, Any]
    max_ir: MaxIr
    grid: dict[str, Any]
    levels_per_year: list[float]
    criteria: str
    method: str
    sources: list[str]
    limitations: list[str]
    elapsed_ms: float
    crs: str
    receptors: list[TargetCheck] = Field(default_factory=list, description="the protection targets' verdicts")
    societal: FnCurve | None = Field(None, exclude_if=lambda v: v is None,
                                     description="with societal=true: the F-N curve of the same run")


class IndividualRisk(FeatureCollection[IrContourFeature], Documented):
    """``GET /analysis/risk/individual…``: one feature per IR contour (lowest level, largest area first); the
    installations, outcome cases, the protection targets' verdicts and (``societal=true``) the F-N curve of the
    same run in ``metadata``."""

    metadata: RiskMetadata

    @property
    def contours(self) -> list[IrContourProperties]:
        return [f.properties for f in self.features if f.properties is not None]

    @property
    def failing(self) -> list[TargetCheck]:
        return [t for t in self.metadata.receptors if t.verdict == "fail"]
