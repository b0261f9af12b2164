"""The quantitative-risk facade: IR contours, protection-target checks and F-N curves of an installation
or a chemical park (one QRA run serves the map, the chart and the report), as typed results
(:mod:`gis_service.analysis.qra.results`) that the routes write as the engine's document and the renderers read
by attribute."""

from __future__ import annotations

from ..analysis.qra import assessment
from ..analysis.qra.data import QraParams
from ..analysis.qra.engine import HAZARD_LAYER
from ..analysis.qra.results import FnCurve, IndividualRisk
from ..stores.base import Store


class RiskService:
    hazard_layer = HAZARD_LAYER  # QRA needs an inventory: installations are hazard sources

    def __init__(self, store: Store):
        self.store = store

    def individual(self, params: QraParams, *, layer: str | None = None, fid: int | None = None,
                   park_id: int | None = None, societal: bool = False) -> IndividualRisk:
        return IndividualRisk.of(assessment.individual_risk(self.store, params, layer=layer, fid=fid,
                                                            park_id=park_id, societal=societal))

    def societal(self, params: QraParams, *, layer: str | None = None, fid: int | None = None,
                 park_id: int | None = None) -> FnCurve:
        return FnCurve.of(assessment.societal_risk(self.store, params, layer=layer, fid=fid, park_id=park_id))
