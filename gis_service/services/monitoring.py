"""The monitoring facade: the reading store and the ingest pipeline of this process, and the decision
package of an alarm, for the commander: what is alarming, what it could hit, who can come.

The decision package is assembled from the exposure and rescue facades — nothing is re-modelled here,
and the arrival standards and road graph are the same as every other face's:

- the monitored feature (hazard source, tailings dam or goaf area) the sensor belongs to;
- its consequence zones and the receptors inside them: :meth:`~.exposure.ExposureService.feature`
  with a scenario whose wind comes from the nearest wind vane / anemometer of the sensors layer that
  reported within ``WEATHER_MAX_AGE_S`` and lies within ``WEATHER_RADIUS_M`` of the feature; otherwise the
  scenario defaults (all-directions circles, worst-case 1.5 m/s F — 40 CFR 68.22(b));
- the nearest capable rescue teams by road time: :meth:`~.rescue.RescueService.nearest_to`
  (incident type from the layer, as ``/analysis/rescue/nearest/{layer}/{id}`` does).
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from ..analysis.consequence.params import scenario_params
from ..config import Settings
from ..monitoring.ingest import Pipeline, reading_store
from ..monitoring.storebase import ReadingStore
from ..stores.base import Store
from ..validation import ValidationFailed
from .exposure import ExposureService
from .rescue import RescueService

WEATHER_RADIUS_M = 30_000.0   # a weather sensor this close stands for the site's wind [M]
WEATHER_MAX_AGE_S = 3600.0    # and only if it reported within the hour [M]
RESCUE_K = 5


def _weather(layers: Store, readings: ReadingStore, geom, now: float) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for kind, param in (("wind_direction", "wind_dir_deg"), ("wind_speed", "wind_speed_m_s")):
        near = layers.nearest("sensors", geom, 5, filters={"kind": kind}, max_distance_m=WEATHER_RADIUS_M)
        if not near:
            continue
        latest = readings.latest([f.id for f in near], now - WEATHER_MAX_AGE_S)
        for f in near:  # nearest first
            if f.id in latest:
                t, v = latest[f.id]
                found[param] = v
                found.setdefault("sensors", []).append({"id": f.id, "name": f.properties.get("name"), "kind": kind,
                                                        "value": v, "time": t,
                                                        "distance_m": round(f.metres, 1)})
                break
    return found


class MonitoringService:
    """Per-process monitoring: the reading store and the ingest pipeline (opened on first use: the service
    starts while the monitoring database is down), and the decision packages of alarms."""

    def __init__(self, store: Store, settings: Settings, exposure: ExposureService, rescue: RescueService):
        self.store, self.settings, self.exposure, self.rescue = store, settings, exposure, rescue
        self._readings: ReadingStore | None = None
        self._pipeline: Pipeline | None = None

    @property
    def readings(self) -> ReadingStore:
        """The reading store (raises MonitoringUnavailable while its database is down)."""
        if self._readings is None:
            readings = reading_store(self.settings)
            readings.init()
            self._readings = readings
        return self._readings

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            self._pipeline = Pipeline(self.readings, self.store, self.settings)
        return self._pipeline

    def package(self, alarm: dict[str, Any], now: float | None = None) -> dict[str, Any]:
        return package(alarm, self.store, self.readings, self.exposure, self.rescue, now)


def package(alarm: dict[str, Any], layers: Store, readings: ReadingStore, exposure: ExposureService,
            rescue: RescueService, now: float | None = None) -> dict[str, Any]:
    """The decision package of ``alarm`` (a dict from the reading store)."""
    now = time.time() if now is None else now
    sensor = layers.get("sensors", alarm["sensor_id"])
    layer, fid = sensor.properties["source_layer"], int(sensor.properties["source_id"])
    source = layers.get(layer, fid)
    weather = _weather(layers, readings, source.geometry, now)
    values = {k: weather[k] for k in ("wind_dir_deg", "wind_speed_m_s") if k in weather}
    notes = []
    try:
        params = scenario_params(**values)
    except ValidationFailed as exc:  # a weather reading out of range: fall back to the defaults, say so
        notes.append(f"weather reading not usable ({exc}); scenario defaults used")
        params = scenario_params()
    scenario = {"wind_dir_deg": params.wind_dir_deg, "wind_speed_m_s": params.wind_speed_m_s,
                "stability": params.stability,
                "wind_source": ("weather sensors of the sensors layer: " + ", ".join(
                    f"{s['name']} ({s['distance_m']:.0f} m)" for s in weather["sensors"]))
                if weather.get("sensors") else
                "no weather sensor reading within 30 km and 1 h: all-directions zones, 1.5 m/s F "
                "(US EPA 40 CFR 68.22(b) worst case)",
                "weather_sensors": weather.get("sensors", [])}
    out: dict[str, Any] = {"alarm": alarm, "sensor": sensor.to_dict(), "source": {"layer": layer, **source.to_dict()},
                           "scenario": scenario, "notes": notes}
    try:
        result = exposure.feature(layer, fid, params)
        out["exposure"] = result.to_feature_collection(receptor_features=True)
    except ValidationFailed as exc:
        out["exposure"] = None
        notes.append(f"exposure: {exc}")
    try:
        answer = rescue.nearest_to(source.geometry, rescue.default_incident(layer), k=RESCUE_K, by="time")
        out["rescue"] = answer.to_feature_collection()
    except ValidationFailed as exc:
        out["rescue"] = None
        notes.append(f"rescue: {exc}")
    return orjson.loads(orjson.dumps(out, option=orjson.OPT_SERIALIZE_NUMPY))
