"""What a reading store does (PostgreSQL: :mod:`.pgstore`; SQLite side file: :mod:`.sqlitestore`).

``commit`` is the one write path: in ONE transaction it locks the stored state of the batch's sensors,
runs the rules on it, writes the readings, the new states, the alarm changes with their events and the
rejection counters — so the readings of a batch, its alarms and the acknowledgement that follows stand
or fall together, and several workers never judge the same sensor from stale state.
"""

from __future__ import annotations

import abc
import math
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .readings import Batch
from .rules import LEVEL_ZH, RULE_ZH, Op, Outcome, State

ALARM_STATUSES = ("open", "acknowledged", "closed")
EVENT_OF = {"open": "opened", "change": "changed", "close": "closed"}
ALARM_COLUMNS = ("id", "sensor_id", "rule", "level", "status", "opened_at", "opened_value", "last_value",
                 "peak_value", "updated_at", "acknowledged_at", "acknowledged_by", "ack_note", "closed_at",
                 "message")


class MonitoringUnavailable(RuntimeError):
    """The reading store cannot be reached (the caller retries; nothing was committed)."""


class UnknownAlarm(LookupError):
    pass


def iso(t: Any) -> str | None:
    if t is None:
        return None
    if isinstance(t, (int, float)):
        if math.isnan(t):
            return None
        t = datetime.fromtimestamp(t, UTC)
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def alarm_doc(row: dict[str, Any]) -> dict[str, Any]:
    """An alarm as JSON: times ISO 8601 UTC, labels for people."""
    out: dict[str, Any] = {k: row.get(k) for k in ALARM_COLUMNS}
    for k in ("opened_at", "updated_at", "acknowledged_at", "closed_at"):
        out[k] = iso(out[k])
    out["rule_zh"] = RULE_ZH.get(out["rule"], out["rule"])
    out["level_zh"] = LEVEL_ZH.get(out["level"], str(out["level"]))
    return out


def escalation_doc(alarm: dict[str, Any], step: int, to: str, to_level: str, due: float) -> dict[str, Any]:
    return {"event": "escalated", "at": iso(due), "alarm": alarm, "step": step, "to": to, "to_level": to_level}


def new_peak(rule: str, peak: float | None, v: float | None) -> float | None:
    if v is None:
        return peak
    if peak is None:
        return v
    return min(peak, v) if rule == "low" else max(peak, v)


Evaluator = Callable[[dict[int, State]], Outcome]


class ReadingStore(abc.ABC):
    kind = "abstract"

    @abc.abstractmethod
    def init(self) -> None: ...

    def close(self) -> None:  # noqa: B027 - optional
        pass

    @abc.abstractmethod
    def commit(self, batch: Batch, evaluate: Evaluator, rejected: Counter,
               touched: Callable[[dict[int, State]], list[int]] | None = None) -> tuple[int, list[Op]]:
        """Store the batch with its alarm changes; returns (rows written, alarm ops). ``touched`` names,
        from the stored states, the sensors whose state rows the batch will write (None = all). Raises
        MonitoringUnavailable when the store cannot be reached (nothing committed)."""

    @abc.abstractmethod
    def stale_check(self, evaluate: Callable[[dict[int, State], float], Outcome], now: float) -> list[Op]: ...

    @abc.abstractmethod
    def alarms(self, status: str | None, sensor_id: int | None, limit: int,
               sensor_ids: list[int] | None = None) -> list[dict[str, Any]]:
        """Alarms newest first; ``sensor_ids`` (when given) keeps only those sensors' (a caller's jurisdiction)."""

    # -- escalation (gis_service.monitoring.escalation) -------------------------------------------
    @abc.abstractmethod
    def escalation_candidates(self) -> list[tuple[int, int, int, float, int]]:
        """(alarm id, sensor id, level, opened_at epoch s, last escalation step or 0) of every open alarm."""

    @abc.abstractmethod
    def escalate(self, alarm_id: int, step: int, to: str, to_level: str, due: float) -> tuple[int, bytes] | None:
        """Record step ``step`` of the alarm's escalation (event ``escalated``) if the alarm is still open
        (unacknowledged) and the step not yet recorded — by any process: the check and the insert are one
        transaction. Returns the new event (seq, doc) or None."""

    @abc.abstractmethod
    def routes(self, alarm_ids: list[int]) -> dict[int, list[tuple[int, int, str, float]]]:
        """The escalation steps (event seq, step, jurisdiction told, epoch s) of each escalated alarm among
        ``alarm_ids``, in order."""

    @abc.abstractmethod
    def alarm(self, alarm_id: int) -> dict[str, Any]: ...

    @abc.abstractmethod
    def acknowledge(self, alarm_id: int, by: str, note: str | None) -> dict[str, Any]: ...

    @abc.abstractmethod
    def events_since(self, seq: int, limit: int = 500) -> list[tuple[int, bytes]]: ...

    @abc.abstractmethod
    def last_seq(self) -> int: ...

    @abc.abstractmethod
    def series(self, sensor_id: int, t0: float, t1: float, limit: int) -> list[tuple[float, float, int]]: ...

    @abc.abstractmethod
    def binned(self, t0: float, t1: float, step_s: float, limit: int) -> list[tuple[int, int, float]]:
        """(sensor_id, k, value): every sensor's last reading in each bin [t0 + k·step_s, t0 + (k+1)·step_s)
        within [t0, t1), ordered by sensor and bin, at most ``limit`` rows (the replay slider's readings).
        Readings of bad quality are left out, as the alarm rules leave them unjudged."""

    @abc.abstractmethod
    def hourly(self, sensor_id: int, t0: float, t1: float) -> list[tuple[float, int, float, float, float]]: ...

    @abc.abstractmethod
    def states(self) -> dict[int, dict[str, Any]]:
        """Current state of every sensor that has reported: last time/value and open alarm level."""

    @abc.abstractmethod
    def latest(self, sensor_ids: list[int], since: float) -> dict[int, tuple[float, float]]:
        """(time, value) of each sensor's last stored reading, for those that reported since ``since``."""

    @abc.abstractmethod
    def counters(self) -> dict[str, int]: ...

    @abc.abstractmethod
    def maintain(self, retention_days: float, now: float) -> dict[str, int]:
        """Roll readings older than the retention up into hourly min/max/mean rows, then drop them."""

    @abc.abstractmethod
    def count_readings(self) -> int: ...
