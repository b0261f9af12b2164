"""Alarm rules with hysteresis: threshold (high/high-high, low/low-low), rate of change, stale sensor.

State per sensor (kept by the reading store, locked per batch so several workers agree):
``hi``/``lo`` ∈ {0, 1, 2} (no alarm, level 1 一级 warning, level 2 二级 alarm), ``rate`` and ``stale``
∈ {0, 1}, and the last reading (time, value).

Hysteresis (deadband ``d``): a high alarm at level L stays at L while the value is ≥ its threshold − d,
and only then drops; a low alarm likewise with + d. So a value hovering at a threshold opens one alarm
and does not flap. Rate of change = |Δvalue| / Δt (per hour) between consecutive readings at least
``MIN_RATE_DT_S`` apart; it clears below ``RATE_CLEAR`` × its threshold [M]. A reading of bad quality is
stored but not evaluated. A stale alarm opens when no reading arrived for ``stale_min`` and closes with
the next reading.

The batch is screened with numpy first: only sensors with a reading near a threshold, a fast change,
or an alarm already open go through the per-reading state machine (:func:`step`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .kinds import SensorRules
from .readings import Batch

MIN_RATE_DT_S = 1.0
RATE_CLEAR = 0.8   # rate alarm clears below 80 % of its threshold [M]
RULES = ("high", "low", "rate", "stale")
RULE_ZH = {"high": "高限", "low": "低限", "rate": "变化率", "stale": "通信中断"}
LEVEL_ZH = {1: "一级预警", 2: "二级报警"}


@dataclass
class State:
    last_t: float = math.nan
    last_v: float = math.nan
    hi: int = 0
    lo: int = 0
    rate: int = 0
    stale: int = 0

    def as_tuple(self) -> tuple:
        return (self.last_t, self.last_v, self.hi, self.lo, self.rate, self.stale)


@dataclass
class Op:
    """An alarm change: ``kind`` open | change | close of rule ``rule`` of ``sensor`` at time ``t``."""

    kind: str
    sensor: int
    rule: str
    level: int
    t: float
    value: float | None
    message: str = ""


@dataclass
class Outcome:
    """New states: ``states`` for sensors the state machine ran on; ``cold`` = (ids, last_t, last_v) arrays
    for sensors whose only change is their last reading (no alarm state)."""

    states: dict[int, State] = field(default_factory=dict)
    ops: list[Op] = field(default_factory=list)
    cold: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def all_states(self) -> dict[int, State]:
        out = dict(self.states)
        if self.cold is not None:
            for s, t, v in zip(*(a.tolist() for a in self.cold), strict=True):
                out[s] = State(t, v)
        return out

    def columns(self) -> tuple[np.ndarray, ...]:
        """(ids, last_t, last_v, hi, lo, rate, stale) arrays of every new state."""
        hot = [s for s, st in self.states.items() if not math.isnan(st.last_t)]
        ids = np.array(hot, dtype=np.int64)
        cols = [np.array([getattr(self.states[s], k) for s in hot], dtype=float if k.startswith("last") else np.int16)
                for k in ("last_t", "last_v", "hi", "lo", "rate", "stale")]
        if self.cold is not None and len(self.cold[0]):
            ids = np.concatenate([ids, self.cold[0]])
            cols[0] = np.concatenate([cols[0], self.cold[1]])
            cols[1] = np.concatenate([cols[1], self.cold[2]])
            for k in range(2, 6):
                cols[k] = np.concatenate([cols[k], np.zeros(len(self.cold[0]), dtype=np.int16)])
        return (ids, *cols)


def _nan(x: float | None) -> float:
    return math.nan if x is None else x


def high_level(v: float, hh: float, h: float, db: float, current: int) -> int:
    target = 2 if v >= hh else (1 if v >= h else 0)
    if target >= current:
        return target
    holds = 2 if v >= hh - db else (1 if v >= h - db else 0)
    return max(target, min(current, holds))


def low_level(v: float, ll: float, lo: float, db: float, current: int) -> int:
    target = 2 if v <= ll else (1 if v <= lo else 0)
    if target >= current:
        return target
    holds = 2 if v <= ll + db else (1 if v <= lo + db else 0)
    return max(target, min(current, holds))


def _transition(ops: list[Op], sensor: int, rule: str, old: int, new: int, t: float, v: float | None,
                what: str) -> None:
    if old == new:
        return
    kind = "open" if old == 0 else ("close" if new == 0 else "change")
    ops.append(Op(kind, sensor, rule, new if new else old, t, v, what))


def step(sensor: int, st: State, th: dict[str, float | None], t: float, v: float, q: int, ops: list[Op],
         unit: str) -> None:
    """Advance one sensor's state by one reading (in time order)."""
    if st.stale:
        _transition(ops, sensor, "stale", 1, 0, t, v, "readings resumed")
        st.stale = 0
    if q == 2:  # bad quality: stored, not judged
        st.last_t, st.last_v = t, v
        return
    db = th.get("deadband") or 0.0
    hh, h = _nan(th.get("high_high")), _nan(th.get("high"))
    if not (math.isnan(hh) and math.isnan(h)):
        new = high_level(v, hh, h, db, st.hi)
        thr = hh if new == 2 else h
        _transition(ops, sensor, "high", st.hi, new, t, v, f"value {v:g} {unit} ≥ {thr:g}" if new else
                    f"value {v:g} {unit} back below the high threshold")
        st.hi = new
    ll, lo = _nan(th.get("low_low")), _nan(th.get("low"))
    if not (math.isnan(ll) and math.isnan(lo)):
        new = low_level(v, ll, lo, db, st.lo)
        thr = ll if new == 2 else lo
        _transition(ops, sensor, "low", st.lo, new, t, v, f"value {v:g} {unit} ≤ {thr:g}" if new else
                    f"value {v:g} {unit} back above the low threshold")
        st.lo = new
    limit = th.get("rate_per_h")
    if limit and not math.isnan(st.last_t) and t - st.last_t >= MIN_RATE_DT_S:
        r = abs(v - st.last_v) / ((t - st.last_t) / 3600.0)
        new = 1 if r > limit else (st.rate if r >= RATE_CLEAR * limit else 0)
        _transition(ops, sensor, "rate", st.rate, new, t, v, f"changing {r:.3g} {unit}/h > {limit:g} {unit}/h"
                    if new else "rate of change back to normal")
        st.rate = new
    st.last_t, st.last_v = t, v


@dataclass
class Screen:
    """The vectorised pre-screen of a batch against the stored states (one row per sensor in ``uniq``)."""

    uniq: np.ndarray
    first: np.ndarray
    last: np.ndarray
    fresh: np.ndarray   # per reading: newer than the sensor's stored last reading
    hot: np.ndarray     # per sensor: the state machine must run (near a threshold, fast, alarm open)
    write: np.ndarray   # per sensor: its state row must be written (hot, or its last reading must be kept)


def screen(batch: Batch, rules: SensorRules, states: dict[int, State], refresh_s: float = 0.0) -> Screen:
    """Which sensors need the state machine and which state rows need writing. A sensor with no alarm
    state, no rate rule and nothing near a threshold only needs its last reading kept for the stale rule,
    so its row is rewritten at most every ``refresh_s`` seconds of reading time (0 = always)."""
    uniq, first, counts = np.unique(batch.sensor, return_index=True, return_counts=True)
    g = np.repeat(np.arange(len(uniq)), counts)                    # group of each reading
    known = [states.get(s) for s in uniq.tolist()]
    st_t = np.array([math.nan if x is None else x.last_t for x in known], dtype=float)
    st_v = np.array([math.nan if x is None else x.last_v for x in known], dtype=float)
    active = np.array([x is not None and (x.hi or x.lo or x.rate or x.stale) for x in known], dtype=bool)
    fresh = ~(batch.t <= st_t[g])                                   # NaN last time → fresh
    row = batch.row
    v = batch.value
    th = rules.th
    db = np.nan_to_num(th["deadband"][row])
    near = (v >= th["high"][row] - db) | (v >= th["high_high"][row] - db) | \
           (v <= th["low"][row] + db) | (v <= th["low_low"][row] + db)
    prev_v = np.empty(len(batch))
    prev_t = np.empty(len(batch))
    prev_v[1:], prev_t[1:] = v[:-1], batch.t[:-1]
    prev_v[first], prev_t[first] = st_v, st_t
    dt = batch.t - prev_t
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.abs(v - prev_v) / (dt / 3600.0)
    fast = (dt >= MIN_RATE_DT_S) & (rate >= RATE_CLEAR * th["rate_per_h"][row])
    hot = np.zeros(len(uniq), dtype=bool)
    np.logical_or.at(hot, g, (near | fast) & fresh)
    hot |= active
    last = first + counts - 1
    keeps = ~np.isnan(th["rate_per_h"][row[first]]) | np.isnan(st_t) | (batch.t[last] - st_t >= refresh_s)
    write = hot | (fresh[last] & keeps)
    return Screen(uniq, first, last, fresh, hot, write)


def evaluate(batch: Batch, rules: SensorRules, states: dict[int, State], refresh_s: float = 0.0) -> Outcome:
    """Run the rules over a batch sorted by (sensor, time). ``states`` holds the stored state of every
    sensor in the batch (missing = fresh). Readings not newer than the sensor's last one are stored but
    not evaluated (late or redelivered)."""
    out = Outcome()
    if not len(batch):
        return out
    sc = screen(batch, rules, states, refresh_s)
    uniq, first, last, fresh, hot = sc.uniq, sc.first, sc.last, sc.fresh, sc.hot
    v = batch.value
    cold = ~hot & sc.write
    out.cold = (uniq[cold], batch.t[last[cold]], v[last[cold]])
    for k in np.flatnonzero(hot).tolist():
        s = int(uniq[k])
        st = states.get(s) or State()
        r = int(batch.row[first[k]])
        thr = rules.thresholds(r)
        unit = str(rules.unit[r])
        before = st.as_tuple()
        for i in range(first[k], last[k] + 1):
            if fresh[i]:
                step(s, st, thr, float(batch.t[i]), float(v[i]), int(batch.quality[i]), out.ops, unit)
        if st.as_tuple() != before:
            out.states[s] = st
    return out


def stale_ops(states: dict[int, State], rules: SensorRules, now: float) -> Outcome:
    """Stale-sensor alarms for sensors whose last reading is older than their ``stale_min``."""
    out = Outcome()
    for s, st in states.items():
        r = rules.index.get(s)
        if r is None or st.stale or math.isnan(st.last_t):
            continue
        limit = rules.th["stale_min"][r]
        if not math.isnan(limit) and now - st.last_t > limit * 60:
            st.stale = 1
            out.ops.append(Op("open", s, "stale", 1, now, None,
                              f"no reading for {(now - st.last_t) / 60:.1f} min (limit {limit:g} min)"))
            out.states[s] = st
    return out
