"""The reports facade: every PDF report. It runs the analysis through the capability's facade — the same call
the JSON and map faces make — and hands the result to the renderers in :mod:`gis_service.reports`, with the
layers facade as the source of the map image's context (admin areas, roads)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..analysis.consequence.params import ScenarioParams
from ..analysis.qra.data import QraParams
from ..basemaps.offers import OWN_ATTRIBUTION
from ..config import Settings
from ..monitoring.kinds import effective
from ..monitoring.storebase import UnknownAlarm
from ..reports import brief as brief_report
from ..reports import content, pdf
from ..reports import incident as incident_report
from ..reports.fonts import cjk_font
from ..reports.stamp import doc_number, revision_time
from .basemaps import BasemapService
from .exposure import ExposureService
from .incidents import IncidentService
from .layers import LayersService
from .monitoring import MonitoringService
from .rescue import RescueService
from .risk import RiskService
from .siting import SitingService


class MapContext:
    """A report map's context (:class:`gis_service.reports.mapimage.ContextSource`): the layers facade's admin
    areas and roads, the local basemap file's tiles (``tiles``) and the credit line printed on the map."""

    def __init__(self, layers: LayersService, basemaps: BasemapService | None):
        self.layers = layers
        self.tiles = basemaps.tile_source() if basemaps is not None else None
        self.credit = basemaps.report_credit() if basemaps is not None else OWN_ATTRIBUTION

    def context_features(self, layer: str, bbox: tuple[float, float, float, float],
                         columns: Sequence[str]) -> list[tuple[Any, dict[str, Any]]]:
        return self.layers.context_features(layer, bbox, columns)


class ReportsService:
    def __init__(self, settings: Settings, layers: LayersService, exposure: ExposureService, rescue: RescueService,
                 siting: SitingService, risk: RiskService, incidents: IncidentService | None = None,
                 monitoring: MonitoringService | None = None, basemaps: BasemapService | None = None):
        self.settings = settings
        self.basemaps = basemaps
        self.layers, self.exposure_svc, self.rescue_svc, self.siting_svc, self.risk_svc = \
            layers, exposure, rescue, siting, risk
        self.incidents_svc = incidents
        self.monitoring_svc = monitoring

    @property
    def font(self) -> Path:
        """The CJK font embedded in the reports (GIS_REPORT_FONT, else Debian's); FontMissing names the fix."""
        return cjk_font(self.settings.report_font)

    def _pdf(self, make, fc) -> bytes:
        font = self.font
        context = self.map_context()
        report = make(fc, context, font)
        report.map_credit = context.credit
        return pdf.render(report, font)

    def map_context(self) -> MapContext:
        """What a report's map image is drawn over: the admin areas and roads, the local basemap file's tiles
        when one is configured, and the basemap's credit line (attribution, 审图号)."""
        return MapContext(self.layers, self.basemaps)

    def siting_park(self, park_id: int, rule_set: str | None = None) -> bytes:
        fc = self.siting_svc.check_park(park_id, rule_set).to_feature_collection()
        return self._pdf(content.siting_report, fc)

    def siting_proposal(self, body: bytes | str | dict, kind: str | None = None, rule_set: str | None = None,
                        repair: bool = False) -> bytes:
        fc = self.siting_svc.check_proposal(body, kind, rule_set, repair).to_feature_collection()
        return self._pdf(content.siting_report, fc)

    def exposure(self, layer: str, fid: int, params: ScenarioParams | None = None) -> bytes:
        fc = self.exposure_svc.feature(layer, fid, params).to_model(receptor_features=True)
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

    # -- the one-page brief (简报) ------------------------------------------------------------------
    BRIEF_LAYERS = ("hazard_sources", "tailings_dams", "goaf_areas", "receptors", "rescue_teams", "roads")

    def _brief(self, b: brief_report.Brief) -> bytes:
        b.as_of = self.data_as_of()
        context = self.map_context()
        b.attribution = context.credit   # printed as text under the map
        return brief_report.render_brief(b, context, self.font)

    def data_as_of(self) -> datetime | None:
        """When the data a brief uses was last written: the newest layer revision (a time in µs once a layer has
        been written through the service), else the GeoPackage file's modification time (the embedded store's
        data as built), else unknown."""
        revisions = self.layers.store.revisions([n for n in self.BRIEF_LAYERS if n in self.layers.catalog.layers])
        when = revision_time(max(revisions, default=None))
        if when is None and self.settings.store == "embedded":
            path = Path(self.settings.gpkg_path)
            if path.is_file():
                when = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        return when

    def brief_point(self, lon: float, lat: float, incident: str, *, substance: str | None = None,
                    quantity_t: float | None = None, storage: str | None = None,
                    params: ScenarioParams | None = None, k: int = 5) -> bytes:
        """Brief of an incident at a point: the nearest capable teams by road time and, with a substance and
        a quantity (a tanker on a road, a what-if), the release's zones and exposed receptors."""
        rescue = self.rescue_svc.nearest(lon, lat, incident, k=k, by="time").to_feature_collection()  # outside → 400
        exposure = None
        if substance is not None and quantity_t is not None:
            exposure = self.exposure_svc.what_if(lon, lat, substance, quantity_t, params, storage=storage) \
                .to_model(receptor_features=True)
        label = rescue.metadata.incident_label.get(incident)
        what = f"{substance} {quantity_t:g} t" if exposure is not None else "无释放情景 no release scenario"
        key = f"{lon:.6f},{lat:.6f},{incident},{substance},{quantity_t},{storage},{params}"
        return self._brief(brief_report.Brief(
            title=f"应急简报 Incident brief — {label.zh if label else incident} {label.en if label else ''}".strip(),
            place=f"{lat:.5f}°N {lon:.5f}°E · {what}", doc_no=doc_number("brief", key), exposure=exposure,
            rescue=rescue))

    def brief_feature(self, layer: str, fid: int, params: ScenarioParams | None = None, *,
                      incident: str | None = None, k: int = 5) -> bytes:
        """Brief of a stored hazard source, tailings dam or goaf area: its zones and the teams for it."""
        exposure = self.exposure_svc.feature(layer, fid, params).to_model(receptor_features=True)
        feature, answer = self.rescue_svc.nearest_to_feature(layer, fid, incident, k=k, by="time")
        name = feature.properties.get("name") or f"{layer} #{fid}"
        return self._brief(brief_report.Brief(
            title=f"应急简报 Incident brief — {name}", place=f"{layer} #{fid}",
            doc_no=doc_number("brief", f"{layer}/{fid}/{params}/{incident}/{k}"), exposure=exposure,
            rescue=answer.to_feature_collection()))

    def brief_alarm(self, alarm_id: int, hours: float = 6.0) -> bytes:
        """Brief of an alarm: its reading, history and series, and its decision package (zones, teams)."""
        assert self.monitoring_svc is not None, "built by Services with the monitoring facade"
        mon = self.monitoring_svc
        alarm = mon.readings.alarm(alarm_id)                                      # UnknownAlarm → 404
        if not mon.can_see(alarm):  # another jurisdiction's alarm: 404 as a missing one (issue 20)
            raise UnknownAlarm(alarm_id)
        pkg = mon.decision(alarm)
        props = pkg.sensor_properties
        now = time.time()
        rows = mon.readings.series(int(alarm["sensor_id"]), now - hours * 3600, now + 1, 5000)
        series = brief_report.Series(props.get("name"), props.get("unit"), effective(props),
                                     [(t, v) for t, v, _ in rows])
        return self._brief(brief_report.Brief(
            title=f"报警简报 Alarm brief #{alarm_id} — {pkg.source_name}", place=f"监测点 sensor: {props.get('name', '')}",
            doc_no=doc_number("alarm", str(alarm_id)), exposure=pkg.exposure, rescue=pkg.rescue,
            alarm=alarm, series=series, notes=[f"气象来源 weather: {pkg.scenario.wind_source}", *pkg.notes]))
