"""The reports facade: every PDF report. It runs the analysis through the capability's facade — the same call
the JSON and map faces make — and hands the result to the renderers in :mod:`gis_service.reports`, with the
layers facade as the source of the map image's context (admin areas, roads)."""

from __future__ import annotations

from pathlib import Path

from ..analysis.consequence.params import ScenarioParams
from ..analysis.qra.data import QraParams
from ..config import Settings
from ..reports import content, pdf
from ..reports import incident as incident_report
from ..reports.fonts import cjk_font
from .exposure import ExposureService
from .incidents import IncidentService
from .layers import LayersService
from .rescue import RescueService
from .risk import RiskService
from .siting import SitingService


class ReportsService:
    def __init__(self, settings: Settings, layers: LayersService, exposure: ExposureService, rescue: RescueService,
                 siting: SitingService, risk: RiskService, incidents: IncidentService | None = None):
        self.settings = settings
        self.layers, self.exposure_svc, self.rescue_svc, self.siting_svc, self.risk_svc = \
            layers, exposure, rescue, siting, risk
        self.incidents_svc = incidents

    @property
    def font(self) -> Path:
        """The CJK font embedded in the reports (GIS_REPORT_FONT, else Debian's); FontMissing names the fix."""
        return cjk_font(self.settings.report_font)

    def _pdf(self, make, fc) -> bytes:
        font = self.font
        return pdf.render(make(fc, self.layers, font), font)

    def siting_park(self, park_id: int, rule_set: str | None = None) -> bytes:
        fc = self.siting_svc.check_park(park_id, rule_set).to_feature_collection()
        return self._pdf(content.siting_report, fc)

    def siting_proposal(self, body: bytes | str | dict, kind: str | None = None, rule_set: str | None = None,
                        repair: bool = False) -> bytes:
        fc = self.siting_svc.check_proposal(body, kind, rule_set, repair).to_feature_collection()
        return self._pdf(content.siting_report, fc)

    def exposure(self, layer: str, fid: int, params: ScenarioParams | None = None) -> bytes:
        fc = self.exposure_svc.feature(layer, fid, params).to_feature_collection(receptor_features=True)
        return self._pdf(content.exposure_report, fc)

    def rescue(self, lon: float, lat: float, incident: str, *, k: int = 5, by: str = "time") -> bytes:
        answer = self.rescue_svc.nearest(lon, lat, incident, k=k, by=by)
        return self._pdf(content.rescue_report, answer.to_feature_collection())

    def risk(self, params: QraParams, *, layer: str | None = None, fid: int | None = None,
             park_id: int | None = None) -> bytes:
        fc = self.risk_svc.individual(params, layer=layer, fid=fid, park_id=park_id, societal=True)
        return self._pdf(content.risk_report, fc)

    def incident(self, incident_id: int) -> bytes:
        """After-action report of an incident: summary, map, units with their state times, plans, timeline."""
        assert self.incidents_svc is not None, "built by Services with the incidents facade"
        doc = self.incidents_svc.get(incident_id)
        return self._pdf(incident_report.after_action, doc)
