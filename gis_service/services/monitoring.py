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

import threading
import time
from typing import Any

import orjson
from cachetools import LRUCache
from pydantic import BaseModel, ConfigDict, Field

from .. import access
from ..analysis.consequence.params import scenario_params
from ..analysis.consequence.results import ExposureZones
from ..analysis.rescue.results import NearestTeams
from ..config import Settings
from ..monitoring import escalation
from ..monitoring.ingest import Pipeline, reading_store
from ..monitoring.storebase import ReadingStore, iso
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
        self.escalation_policy = escalation.policy(settings.alarm_escalation_min)  # ValueError at start-up
        self._codes: LRUCache[int, dict[int, str | None]] = LRUCache(4)
        self._lock = threading.Lock()

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
        out = package(alarm, self.store, self.readings, self.exposure, self.rescue, now)
        out["told"] = self.told(alarm)
        return out

    def decision(self, alarm: dict[str, Any], now: float | None = None) -> DecisionPackage:
        """The decision package typed (what the alarm brief reads); :meth:`package` is its JSON document."""
        return DecisionPackage.model_validate(self.package(alarm, now))

    # -- jurisdictions: who sees an alarm, who is told of it, escalation ----------------------------
    def sensor_codes(self) -> dict[int, str | None]:
        """Sensor id → admin_code of every sensor (the whole layer: routing decides per caller), cached by the
        sensors layer's revision."""
        rev = self.store.revision("sensors")
        with self._lock:
            hit = self._codes.get(rev)
        if hit is None:
            with access.unrestricted():
                frame = self.store.frame("sensors", columns=["admin_code"])
            hit = {int(i): (None if c is None or c != c else str(c)) for i, c in zip(frame.index, frame["admin_code"],
                                                                                       strict=True)}
            with self._lock:
                self._codes[rev] = hit
        return hit

    def visible_sensors(self) -> list[int] | None:
        """Ids of the sensors the current scope may see; None when it sees all."""
        jurisdiction = access.jurisdiction()
        if not jurisdiction:
            return None
        return [i for i, c in self.sensor_codes().items() if access.covers(jurisdiction, c)]

    def can_see(self, alarm: dict[str, Any]) -> bool:
        return access.covers(access.jurisdiction(), self.sensor_codes().get(int(alarm["sensor_id"])))

    def routed_to(self, alarm_id: int, sensor_id: int, routes: dict[int, list[tuple[int, int, str, float]]] | None = None,
                  as_of: int | None = None) -> str | None:
        """The jurisdiction an alarm has reached (by event seq ``as_of``, default now): its last escalation's,
        else its sensor's own."""
        routes = self.readings.routes([alarm_id]) if routes is None else routes
        steps = [r for r in routes.get(alarm_id, []) if as_of is None or r[0] <= as_of]
        if steps:
            return steps[-1][2]
        chain = escalation.chain(self.sensor_codes().get(int(sensor_id)))
        return chain[0][0] if chain else None

    def reaches(self, event: dict[str, Any], routes: dict[int, list[tuple[int, int, str, float]]],
                seq: int | None = None) -> bool:
        """Whether the current caller is told of an alarm event (number ``seq``), as the alarm was routed then
        (see :mod:`gis_service.monitoring.escalation`)."""
        alarm = event.get("alarm") or {}
        if "id" not in alarm or "sensor_id" not in alarm:
            return not access.jurisdiction()
        routed = event["to"] if event.get("event") == "escalated" else \
            self.routed_to(int(alarm["id"]), int(alarm["sensor_id"]), routes, seq)
        return escalation.reaches(access.jurisdiction(), self.sensor_codes().get(int(alarm["sensor_id"])), routed)

    def told(self, alarm: dict[str, Any]) -> list[dict[str, Any]]:
        """Who was told of the alarm and when: its own jurisdiction at opening, then each escalation."""
        code = self.sensor_codes().get(int(alarm["sensor_id"]))
        chain = escalation.chain(code)
        out: list[dict[str, Any]] = []
        if chain:
            out.append({"jurisdiction": chain[0][0], "level": chain[0][1], "level_zh": escalation.LEVEL_ZH[chain[0][1]],
                        "at": alarm.get("opened_at"), "how": "opened"})
        for _seq, _step, jurisdiction, at in self.readings.routes([int(alarm["id"])]).get(int(alarm["id"]), []):
            level = next((lv for j, lv in chain if j == jurisdiction), "")
            out.append({"jurisdiction": jurisdiction, "level": level, "level_zh": escalation.LEVEL_ZH.get(level, ""),
                        "at": iso(at), "how": "escalated: not acknowledged in time"})
        return out

    def escalate(self, now: float | None = None) -> list[tuple[int, bytes]]:
        """Pass every open (unacknowledged) alarm whose time at its level is up to the next level; each step an
        event. Safe to run in several processes at once (the store records a step once)."""
        return escalation.escalate_overdue(self.readings, self.sensor_codes(), self.escalation_policy,
                                           time.time() if now is None else now)


class PackageScenario(BaseModel):
    """The weather the package's zones were drawn with, and where it came from."""

    model_config = ConfigDict(extra="allow")
    wind_dir_deg: float | None
    wind_speed_m_s: float | None
    stability: str | None
    wind_source: str
    weather_sensors: list[dict[str, Any]]


class DecisionPackage(BaseModel):
    """An alarm's decision package: the alarm, its sensor and source (features of their layers, properties as the
    layers hold them), the scenario, the zones with the receptors inside them, the nearest capable teams, notes."""

    model_config = ConfigDict(extra="allow")
    alarm: dict[str, Any]
    sensor: dict[str, Any]
    source: dict[str, Any]
    scenario: PackageScenario
    notes: list[str]
    exposure: ExposureZones | None = Field(..., description="null: the exposure could not be run (see notes)")
    rescue: NearestTeams | None = Field(..., description="null: the rescue search could not be run (see notes)")

    @property
    def sensor_properties(self) -> dict[str, Any]:
        return self.sensor.get("properties") or {}

    @property
    def source_name(self) -> str:
        props = self.source.get("properties") or {}
        return str(props.get("name") or f"{self.source.get('layer')} #{self.source.get('id')}")


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
        out["rescue"] = answer.to_dict()
    except ValidationFailed as exc:
        out["rescue"] = None
        notes.append(f"rescue: {exc}")
    return orjson.loads(orjson.dumps(out, option=orjson.OPT_SERIALIZE_NUMPY))
