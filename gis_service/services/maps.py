"""The maps facade: every map (Folium/Leaflet HTML, offline) of a layer or of an analysis result. It runs the
analysis through the capability's facade — the same call the JSON and PDF faces make, with the same rule
sets, road graph and standards — and hands the result to the renderers in :mod:`gis_service.maps`, with the
layers facade as the source of the vector basemap."""

from __future__ import annotations

from collections.abc import Sequence

import folium

from ..analysis.consequence.params import ScenarioParams
from ..analysis.qra.data import QraParams
from ..config import Settings
from ..maps import results
from ..maps.base import EMBED_LIMIT, finish
from ..maps.overview import layer_map, overview_map
from ..maps.risk import render_risk
from .exposure import ExposureService
from .layers import LayersService
from .rescue import RescueService
from .risk import RiskService
from .siting import SitingService


class MapsService:
    def __init__(self, settings: Settings, layers: LayersService, exposure: ExposureService, rescue: RescueService,
                 siting: SitingService, risk: RiskService):
        self.settings, self.layers, self.exposure_svc = settings, layers, exposure
        self.rescue_svc, self.siting_svc, self.risk_svc = rescue, siting, risk

    @staticmethod
    def html(m: folium.Map, standalone: bool = False) -> str:
        """The map as HTML; ``standalone`` inlines every script, style and icon (opens from disk)."""
        return finish(m, standalone=standalone)

    def overview(self, layers: Sequence[str] | None = None, *, live: bool = True,
                 embed_limit: int = EMBED_LIMIT) -> folium.Map:
        return overview_map(self.layers, self.settings, layers, live=live, embed_limit=embed_limit)

    def layer(self, layer: str, *, live: bool = True, embed_limit: int = EMBED_LIMIT) -> folium.Map:
        self.layers.spec(layer)  # 404 for an unknown layer
        return layer_map(self.layers, self.settings, layer, live=live, embed_limit=embed_limit)

    def exposure(self, layer: str, fid: int, params: ScenarioParams | None = None) -> folium.Map:
        result = self.exposure_svc.feature(layer, fid, params)
        fc = result.to_model(receptor_features=True)
        source = self.exposure_svc.source(layer, fid).to_dict()
        source["properties"] = {"name": source["properties"].get("name"), "layer": layer, "id": fid}
        return results.render_exposure(fc, self.settings, self.layers, source)

    def rescue(self, lon: float, lat: float, incident: str, *, k: int = 5, by: str = "distance",
               isochrone_minutes: Sequence[float] | None = None) -> folium.Map:
        """The nearest teams; with ``isochrone_minutes`` also the areas the nearest (up to 3) teams reach."""
        answer = self.rescue_svc.nearest(lon, lat, incident, k=k, by=by)
        isos = []
        for t in answer.teams[:3] if isochrone_minutes else []:
            iso = self.rescue_svc.isochrones(t.id, list(isochrone_minutes or ()))
            for f in iso["features"]:
                f["properties"]["minutes_label"] = f"{f['properties'].get('name')} ≤ {f['properties'].get('minutes'):g} min"
            isos.append(iso)
        return results.render_rescue(answer.to_feature_collection(), self.settings, self.layers, isos)

    def siting_park(self, park_id: int, rule_set: str | None = None) -> folium.Map:
        report = self.siting_svc.check_park(park_id, rule_set)
        return results.render_siting(report.document(), report.to_feature_collection(), self.settings, self.layers)

    def siting_proposal(self, body: bytes | str | dict, kind: str | None = None, rule_set: str | None = None,
                        repair: bool = False) -> folium.Map:
        report = self.siting_svc.check_proposal(body, kind, rule_set, repair)
        return results.render_siting(report.document(), report.to_feature_collection(), self.settings, self.layers)

    def risk(self, params: QraParams, *, layer: str | None = None, fid: int | None = None,
             park_id: int | None = None) -> folium.Map:
        ir = self.risk_svc.individual(params, layer=layer, fid=fid, park_id=park_id, societal=True)
        return render_risk(ir, self.settings, self.layers)
