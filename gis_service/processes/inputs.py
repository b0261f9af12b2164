"""The input models of the processes. Each extends the request model its analysis endpoint uses
(:class:`ScenarioParams`, :class:`QraParams`) with the feature it is about, so a parameter is defined,
documented and checked in one place; the rescue and siting processes take what their GET/POST endpoints take."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..analysis.consequence.params import ScenarioParams
from ..analysis.qra.data import QraParams
from ..analysis.rescue.inputs import MAX_K, parse_incident
from ..models.rescue_standards import MAX_MINUTES
from ..validation import ValidationFailed

MAX_ID = 2**63 - 1


class ExposureInputs(ScenarioParams):
    """Consequence zones and exposed receptors of a stored feature (GET /analysis/exposure/{layer}/{id})."""

    layer: Literal["hazard_sources", "tailings_dams", "goaf_areas"] = Field(
        ..., description="layer of the feature: hazard_sources, tailings_dams or goaf_areas")
    id: int = Field(..., ge=1, le=MAX_ID, description="feature id")
    receptor_features: bool = Field(False, description="also return each exposed receptor as a Feature")


class QraInstallationInputs(QraParams):
    """Individual-risk contours (and with ``societal`` the F-N curve) of one installation
    (GET /analysis/risk/individual/{layer}/{id})."""

    layer: Literal["hazard_sources"] = Field("hazard_sources", description="layer of the installation")
    id: int = Field(..., ge=1, le=MAX_ID, description="hazard source id")
    societal: bool = Field(False, description="also the F-N curve of the same run (metadata.societal)")


class QraParkInputs(QraParams):
    """Individual-risk contours of every installation of a chemical park (GET /analysis/risk/individual?park_id=)."""

    park_id: int = Field(..., ge=1, le=MAX_ID, description="chemical park id: all its hazard sources")
    societal: bool = Field(False, description="also the F-N curve of the same run (metadata.societal)")


class NearestRescueInputs(BaseModel):
    """Nearest capable rescue teams to a point (GET /analysis/rescue/nearest)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lon: float = Field(..., ge=-180, le=180, allow_inf_nan=False, description="incident longitude (WGS84)")
    lat: float = Field(..., ge=-90, le=90, allow_inf_nan=False, description="incident latitude (WGS84)")
    incident: str = Field(..., min_length=1, max_length=200, description="incident type(s), e.g. chemical or "
                          "chemical,medical")
    k: int = Field(5, ge=1, le=MAX_K, description=f"number of teams, 1..{MAX_K}")
    by: Literal["distance", "time"] = Field("distance", description="distance (geodesic) or time (road travel)")
    min_personnel: int = Field(0, ge=0, le=1_000_000, description="only teams with at least this many people")
    on_duty: bool = Field(True, description="only teams on duty")
    team_types: list[str] | None = Field(None, max_length=20, description="only these of the capable team types")


class SitingInputs(BaseModel):
    """Siting check of an existing chemical park (GET /analysis/siting/{park_id}) or of a proposal
    (POST /analysis/siting): give exactly one of ``park_id`` and ``proposal``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    park_id: int | None = Field(None, ge=1, le=MAX_ID, description="existing chemical park id")
    proposal: dict[str, Any] | None = Field(None, description="GeoJSON Feature (Polygon, MultiPolygon or Point) "
                                            "with optional properties.inventory, kind, name")
    kind: Literal["park", "installation"] | None = Field(None, description="kind of the proposal")
    rule_set: str | None = Field(None, max_length=200, description="rule set name (rules/<name>.yaml)")
    repair: bool = Field(False, description="repair an invalid polygon with make_valid instead of refusing it")

    @model_validator(mode="after")
    def _one(self):
        if (self.park_id is None) == (self.proposal is None):
            raise ValueError("give exactly one of park_id and proposal")
        return self


class BatchRegradeInputs(BaseModel):
    """GB 18218 regrade of every hazard source, partitioned on Dask (no inputs: the whole layer)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class BatchQraInputs(QraParams):
    """QRA of every installation (each alone) with the province's F-N curve, partitioned on Dask; the QRA
    parameters as for one installation."""


class BatchExposureInputs(ScenarioParams):
    """Consequence zones of every hazard source and the receptors inside each zone, partitioned on Dask; the
    scenario parameters as for one source (GET /analysis/exposure/hazard_sources/{id})."""


class BatchCoverageInputs(BaseModel):
    """Rescue coverage gaps per county, partitioned on Dask; the parameters of GET /analysis/rescue/coverage."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    incident: str | None = Field(None, max_length=200, description="incident type(s), e.g. chemical or "
                                 "chemical,medical; default: each layer's own type")
    minutes: float | None = Field(None, gt=0, le=MAX_MINUTES, allow_inf_nan=False,
                                  description="one time limit for all team types instead of their standards")

    @field_validator("incident")
    @classmethod
    def _known(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                parse_incident(v)
            except ValidationFailed as exc:
                raise ValueError(exc.problems[0].message) from None
        return v
