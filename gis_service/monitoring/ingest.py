"""The ingest pipeline shared by the MQTT worker and ``POST /monitoring/readings``:
parse → validate (vectorised) → rules + store in one transaction (:meth:`ReadingStore.commit`)."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from .. import access
from ..config import Settings
from ..stores.base import Store
from . import escalation
from . import rules as alarm_rules
from .kinds import SensorRules, sensor_rules
from .readings import FloodGuard, Parsed, parse_messages, parse_rows, validate
from .rules import Op
from .storebase import ReadingStore

log = logging.getLogger("gis_service.monitoring")
SENSORS = "sensors"
# a sensor far from its thresholds with no rate rule has its last reading written back at most this
# often (reading time): it only feeds the stale-sensor rule, whose limits are minutes
STATE_REFRESH_S = 10.0
RULE_COLUMNS = ["kind", "unit", "source_layer", "source_id", "low_low", "low", "high", "high_high", "rate_per_h",
                "deadband", "stale_min"]


def reading_store(settings: Settings) -> ReadingStore:
    """PostgreSQL next to the PostGIS layers, or a SQLite side file next to the GeoPackage."""
    if settings.store == "postgis":
        from .pgstore import PgReadings

        return PgReadings(settings.database_url, deadline_s=settings.db_deadline_s)
    from .sqlitestore import SqliteReadings, side_file

    return SqliteReadings(side_file(settings.gpkg_path))


@dataclass
class Result:
    written: int = 0
    rejected: Counter = field(default_factory=Counter)
    ops: list[Op] = field(default_factory=list)
    problems: list[tuple[int, str, str]] = field(default_factory=list)


class Pipeline:
    RULES_TTL_S = 60.0

    def __init__(self, readings: ReadingStore, layers: Store, settings: Settings):
        self.readings, self.layers, self.settings = readings, layers, settings
        self.flood = FloodGuard(settings.monitoring_flood_rate, settings.monitoring_flood_burst)
        self._rules: SensorRules | None = None
        self._rules_at = 0.0
        self._lock = threading.Lock()
        self.escalation_policy = escalation.policy(settings.alarm_escalation_min)
        self._codes: tuple[int, dict[int, str | None]] | None = None   # (sensors revision, id → admin_code)

    def rules(self) -> SensorRules:
        if self._rules is None or time.monotonic() - self._rules_at > self.RULES_TTL_S:
            self._rules = sensor_rules(self.layers.frame(SENSORS, RULE_COLUMNS))
            self._rules_at = time.monotonic()
        return self._rules

    def sensor_codes(self) -> dict[int, str | None]:
        """Sensor id → admin_code of every sensor, cached by the sensors layer's revision."""
        rev = self.layers.revision(SENSORS)
        if self._codes is None or self._codes[0] != rev:
            with access.unrestricted():
                frame = self.layers.frame(SENSORS, ["admin_code"])
            self._codes = (rev, {int(i): (None if c is None or c != c else str(c))
                                 for i, c in zip(frame.index, frame["admin_code"], strict=True)})
        return self._codes[1]

    def escalate(self, now: float | None = None) -> list[tuple[int, bytes]]:
        """Escalate overdue unacknowledged alarms (the worker's housekeeping; no API process or stream needed)."""
        return escalation.escalate_overdue(self.readings, self.sensor_codes(), self.escalation_policy,
                                           time.time() if now is None else now)

    def _commit(self, parsed: Parsed) -> Result:
        s = self.settings
        with self._lock:
            rules = self.rules()
            batch = validate(parsed, rules, max_future_s=s.monitoring_max_future_s,
                             max_age_s=s.monitoring_retention_days * 86400, flood=self.flood)
        refresh = STATE_REFRESH_S
        written, ops = self.readings.commit(
            batch, lambda states: alarm_rules.evaluate(batch, rules, states, refresh), parsed.rejected,
            lambda states: (lambda sc: sc.uniq[sc.write].tolist())(alarm_rules.screen(batch, rules, states, refresh)))
        return Result(written, parsed.rejected, ops, parsed.problems)

    def messages(self, messages) -> Result:
        """``messages``: (topic, payload) pairs. Raises MonitoringUnavailable (nothing stored) to retry."""
        return self._commit(parse_messages(messages, self.settings.mqtt_topic, self.settings.monitoring_max_payload))

    def rows(self, rows: list) -> Result:
        return self._commit(parse_rows(rows))

    def stale_check(self, now: float | None = None) -> list[Op]:
        rules = self.rules()
        return self.readings.stale_check(lambda states, t: alarm_rules.stale_ops(states, rules, t),
                                         time.time() if now is None else now)
