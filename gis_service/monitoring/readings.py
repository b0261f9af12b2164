"""Readings in: MQTT messages or HTTP rows → validated arrays, and the reasons bad ones were dropped.

Topic scheme: ``{prefix}/{sensor_id}`` (default prefix ``riskmap/readings``); payload JSON
``{"time": ISO 8601 or epoch seconds, "value": number, "quality"?: "good"|"uncertain"|"bad"|0|1|2,
"unit"?: text}`` — or a JSON array of such objects (a gateway batching one sensor's readings).

Parsing is per message (orjson); every check after that is vectorised over the batch. A reading is
dropped, and counted under one reason, when: the payload is larger than ``max_payload`` (``oversize``),
not JSON or not an object/array (``malformed_json``), the topic has no integer sensor id
(``malformed_topic``), ``time``/``value`` are missing or of the wrong type (``missing_field``, ``bad_time``),
the value is NaN/±inf (``non_finite``), the sensor is not in the layer (``unknown_sensor``), the time is
more than ``max_future_s`` ahead of the clock (``future_time``) or older than the retention
(``too_old``), ``unit`` differs from the sensor's (``wrong_unit``), or one sensor sends more than its
rate budget (``flood``, a token bucket per sensor). Nothing here raises on bad input.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import orjson

from .kinds import SensorRules

QUALITY = {"good": 0, "uncertain": 1, "bad": 2, 0: 0, 1: 1, 2: 2}
REASONS = ("oversize", "malformed_json", "malformed_topic", "missing_field", "bad_time", "non_finite",
           "unknown_sensor", "future_time", "too_old", "wrong_unit", "bad_quality", "flood", "duplicate")


@dataclass
class Parsed:
    """Readings that parsed, as parallel lists, plus the reasons for the ones that did not."""

    sensor: list[int] = field(default_factory=list)
    t: list[float] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    quality: list[int] = field(default_factory=list)
    unit: list[str | None] = field(default_factory=list)
    origin: list[int] = field(default_factory=list)   # index of the message / HTTP row each reading came from
    rejected: Counter = field(default_factory=Counter)
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # (origin, field, reason) — HTTP answers

    def reject(self, origin: int, reason: str, fld: str) -> None:
        self.rejected[reason] += 1
        if len(self.problems) < 1000:
            self.problems.append((origin, fld, reason))


def parse_time(v) -> float | None:
    """Epoch seconds from a number (seconds, or milliseconds if > 1e11) or an ISO 8601 string with offset."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        x = float(v)
        if not math.isfinite(x):
            return None
        return x / 1000.0 if abs(x) > 1e11 else x
    if isinstance(v, str) and 10 <= len(v) <= 40:
        try:
            d = datetime.fromisoformat(v)
        except ValueError:
            return None
        if d.tzinfo is None:
            return None  # a wall-clock time without offset is ambiguous: refused
        return d.timestamp()
    return None


def loads(payload: bytes):
    """orjson; on failure the standard library, which also reads the NaN / Infinity / 1e999 that gateways
    emit — so those arrive as numbers and are refused as ``non_finite`` rather than as malformed JSON."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return json.loads(payload)  # raises ValueError (JSONDecodeError, UnicodeDecodeError) if not JSON


def _add(out: Parsed, origin: int, sensor: int, obj) -> None:
    try:
        t, v = obj["time"], obj["value"]
    except (KeyError, TypeError, IndexError):
        if not isinstance(obj, dict):
            out.reject(origin, "malformed_json", "payload")
        else:
            out.reject(origin, "missing_field", "time" if "time" not in obj else "value")
        return
    if type(t) is float or type(t) is int:     # the common case first: epoch seconds (or ms)
        t = float(t)
        if t > 1e11:
            t /= 1000.0
        if t != t:
            t = None
    else:
        t = parse_time(t)
    if t is None:
        out.reject(origin, "bad_time", "time")
        return
    if type(v) is not float and type(v) is not int:
        out.reject(origin, "missing_field", "value")
        return
    q = QUALITY.get(obj.get("quality", 0)) if len(obj) > 2 else 0
    if q is None:
        out.reject(origin, "bad_quality", "quality")
        return
    u = obj.get("unit") if len(obj) > 2 else None
    out.sensor.append(sensor)
    out.t.append(t)
    out.value.append(float(v))
    out.quality.append(q)
    out.unit.append(u if isinstance(u, str) else None)
    out.origin.append(origin)


def parse_messages(messages, prefix: str, max_payload: int, out: Parsed | None = None) -> Parsed:
    """``messages``: iterable of (topic, payload bytes). Returns the parsed readings."""
    out = out or Parsed()
    plen = len(prefix) + 1
    for i, (topic, payload) in enumerate(messages):
        if len(payload) > max_payload:
            out.reject(i, "oversize", "payload")
            continue
        tail = topic[plen:] if topic.startswith(prefix) and topic[plen - 1:plen] == "/" else ""
        if not tail.isdigit() or len(tail) > 18:
            out.reject(i, "malformed_topic", "topic")
            continue
        try:
            doc = loads(payload)
        except (ValueError, RecursionError):
            out.reject(i, "malformed_json", "payload")
            continue
        sensor = int(tail)
        if isinstance(doc, list):
            for obj in doc[:1000]:
                _add(out, i, sensor, obj)
        else:
            _add(out, i, sensor, doc)
    return out


def parse_rows(rows) -> Parsed:
    """HTTP batch rows (dicts with sensor_id) → Parsed; origin = row index."""
    out = Parsed()
    for i, row in enumerate(rows):
        sid = row.get("sensor_id") if isinstance(row, dict) else None
        if isinstance(sid, bool) or not isinstance(sid, int) or not 0 < sid < 2**63:
            # a sensor id is a store id: a 64-bit integer (2**63 overflowed the int64 arrays: 500)
            out.reject(i, "unknown_sensor" if sid is not None else "missing_field", "sensor_id")
            continue
        _add(out, i, sid, row)
    return out


@dataclass
class Batch:
    """Valid readings, sorted by (sensor, time), duplicates of (sensor, time) removed."""

    sensor: np.ndarray
    t: np.ndarray
    value: np.ndarray
    quality: np.ndarray
    row: np.ndarray   # row of each reading's sensor in SensorRules
    origin: np.ndarray

    def __len__(self) -> int:
        return len(self.sensor)


class FloodGuard:
    """Token bucket per sensor: ``rate`` readings/s sustained, ``burst`` at once."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self.tokens: dict[int, tuple[float, float]] = {}

    def allow(self, sensors: np.ndarray, now: float) -> np.ndarray:
        keep = np.ones(len(sensors), dtype=bool)
        if not len(sensors):
            return keep
        uniq, first, counts = np.unique(sensors, return_index=True, return_counts=True)
        # readings are grouped by sensor (sorted); the first `allowed` of each group pass
        for s, start, n in zip(uniq.tolist(), first.tolist(), counts.tolist(), strict=True):
            tok, last = self.tokens.get(s, (self.burst, now))
            tok = min(self.burst, tok + (now - last) * self.rate)
            allowed = int(min(n, math.floor(tok)))
            self.tokens[s] = (tok - allowed, now)
            if allowed < n:
                keep[start + allowed:start + n] = False
        if len(self.tokens) > 1_000_000:
            self.tokens.clear()
        return keep


def validate(p: Parsed, rules: SensorRules, *, max_future_s: float, max_age_s: float,
             flood: FloodGuard | None = None, now: float | None = None) -> Batch:
    """Vectorised checks of parsed readings against the sensors; rejected ones are counted in ``p``."""
    now = time.time() if now is None else now
    sensor = np.asarray(p.sensor, dtype=np.int64)
    t = np.asarray(p.t, dtype=float)
    value = np.asarray(p.value, dtype=float)
    quality = np.asarray(p.quality, dtype=np.int16)
    origin = np.asarray(p.origin, dtype=np.int64)
    row = rules.rows(sensor)
    checks = [
        ("non_finite", "value", ~np.isfinite(value)),
        ("unknown_sensor", "sensor_id", row < 0),
        ("future_time", "time", t > now + max_future_s),
        ("too_old", "time", t < now - max_age_s),
    ]
    units = np.asarray(p.unit, dtype=object)
    if len(units):
        given = np.array([u is not None for u in p.unit], dtype=bool)
        if given.any():
            expected = np.where(row >= 0, rules.unit[np.maximum(row, 0)] if len(rules) else None, None)
            checks.append(("wrong_unit", "unit", given & (units != expected)))
    bad = np.zeros(len(sensor), dtype=bool)
    for reason, fld, mask in checks:
        mask = mask & ~bad
        n = int(mask.sum())
        if n:
            p.rejected[reason] += n
            for o in origin[mask][: max(0, 1000 - len(p.problems))].tolist():
                p.problems.append((o, fld, reason))
            bad |= mask
    keep = ~bad
    order = np.lexsort((t[keep], sensor[keep]))
    cols = [a[keep][order] for a in (sensor, t, value, quality, row, origin)]
    if len(cols[0]) > 1:  # same sensor and same time (µs) → one reading (the first)
        tus = np.round(cols[1] * 1e6)
        dup = np.zeros(len(cols[0]), dtype=bool)
        dup[1:] = (cols[0][1:] == cols[0][:-1]) & (tus[1:] == tus[:-1])
        if dup.any():
            p.rejected["duplicate"] += int(dup.sum())
            cols = [c[~dup] for c in cols]
    if flood is not None and len(cols[0]):
        ok = flood.allow(cols[0], now)
        if not ok.all():
            p.rejected["flood"] += int((~ok).sum())
            for o in cols[5][~ok][: max(0, 1000 - len(p.problems))].tolist():
                p.problems.append((o, "sensor_id", "flood"))
            cols = [c[ok] for c in cols]
    return Batch(*cols)
