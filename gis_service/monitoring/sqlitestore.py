"""Readings, sensor state and alarms for the embedded store: a SQLite side file next to the GeoPackage
(``<name>.monitoring.sqlite``), WAL mode so the service reads while the ingest worker writes.

Same contract as :mod:`.pgstore` (one transaction per batch, redelivered readings stored once by the
(sensor_id, t) primary key, hourly roll-up before retention deletes). Meant for one ingest worker.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from .readings import Batch
from .rules import Op, Outcome, State
from .storebase import (
    ALARM_COLUMNS,
    EVENT_OF,
    Evaluator,
    MonitoringUnavailable,
    ReadingStore,
    UnknownAlarm,
    alarm_doc,
    escalation_doc,
    new_peak,
)

DDL = """
CREATE TABLE IF NOT EXISTS readings (sensor_id INTEGER NOT NULL, t INTEGER NOT NULL, value REAL NOT NULL,
  quality INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (sensor_id, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS readings_hourly (sensor_id INTEGER NOT NULL, hour REAL NOT NULL, n INTEGER NOT NULL,
  vmin REAL, vmax REAL, vmean REAL, PRIMARY KEY (sensor_id, hour));
CREATE TABLE IF NOT EXISTS sensor_state (sensor_id INTEGER PRIMARY KEY, last_t REAL, last_value REAL,
  hi INTEGER NOT NULL DEFAULT 0, lo INTEGER NOT NULL DEFAULT 0, rate INTEGER NOT NULL DEFAULT 0,
  stale INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS alarms (id INTEGER PRIMARY KEY AUTOINCREMENT, sensor_id INTEGER NOT NULL,
  rule TEXT NOT NULL, level INTEGER NOT NULL, status TEXT NOT NULL, opened_at REAL NOT NULL, opened_value REAL,
  last_value REAL, peak_value REAL, updated_at REAL NOT NULL, acknowledged_at REAL, acknowledged_by TEXT,
  ack_note TEXT, closed_at REAL, message TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS alarms_one_live ON alarms (sensor_id, rule) WHERE status <> 'closed';
CREATE TABLE IF NOT EXISTS alarm_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, alarm_id INTEGER NOT NULL,
  event TEXT NOT NULL, at REAL NOT NULL, doc TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS alarm_escalation_step ON alarm_events (alarm_id, json_extract(doc, '$.step'))
  WHERE event = 'escalated';
CREATE TABLE IF NOT EXISTS ingest_counters (reason TEXT PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0);
"""
COLS = ("id, sensor_id, rule, level, status, opened_at, opened_value, last_value, peak_value, updated_at, "
        "acknowledged_at, acknowledged_by, ack_note, closed_at, message")


def side_file(gpkg: Path | str) -> Path:
    p = Path(gpkg)
    return p.with_name(p.stem + ".monitoring.sqlite")


def _us(t: float) -> int:
    return int(round(t * 1e6))


class SqliteReadings(ReadingStore):
    kind = "embedded"

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=True)
            except sqlite3.Error as exc:
                raise MonitoringUnavailable(f"{self.path}: {exc}") from exc
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def init(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn().executescript(DDL)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- writes ------------------------------------------------------------------------------
    @staticmethod
    def _states(conn, ids: list[int]) -> dict[int, State]:
        out = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for r in conn.execute(f"SELECT sensor_id, last_t, last_value, hi, lo, rate, stale FROM sensor_state "  # noqa: S608 - placeholders only
                                  f"WHERE sensor_id IN ({marks})", chunk):
                out[int(r[0])] = State(math.nan if r[1] is None else r[1], math.nan if r[2] is None else r[2],
                                       r[3], r[4], r[5], r[6])
        return out

    @staticmethod
    def _save(conn, states: dict[int, State]) -> None:
        conn.executemany("INSERT INTO sensor_state (sensor_id, last_t, last_value, hi, lo, rate, stale) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sensor_id) DO UPDATE SET last_t = excluded.last_t, "
                         "last_value = excluded.last_value, hi = excluded.hi, lo = excluded.lo, "
                         "rate = excluded.rate, stale = excluded.stale",
                         [(s, None if math.isnan(st.last_t) else st.last_t, None if math.isnan(st.last_v) else st.last_v,
                           st.hi, st.lo, st.rate, st.stale) for s, st in states.items()])

    @staticmethod
    def _row(conn, where: str, args) -> dict[str, Any] | None:
        r = conn.execute("SELECT " + COLS + " FROM alarms WHERE " + where, args).fetchone()  # noqa: S608 - fixed clauses
        return None if r is None else dict(zip(ALARM_COLUMNS, r, strict=True))

    def _ops(self, conn, ops: list[Op]) -> None:
        for op in ops:
            live = self._row(conn, "sensor_id = ? AND rule = ? AND status <> 'closed'", (op.sensor, op.rule))
            if op.kind == "open" and live is None:
                cur = conn.execute("INSERT INTO alarms (sensor_id, rule, level, status, opened_at, opened_value, "
                                   "last_value, peak_value, updated_at, message) VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?, ?)",
                                   (op.sensor, op.rule, op.level, op.t, op.value, op.value, op.value, op.t, op.message))
                aid = cur.lastrowid
            elif live is not None:
                closing = op.kind == "close"
                conn.execute("UPDATE alarms SET level = ?, last_value = COALESCE(?, last_value), peak_value = ?, "
                             "updated_at = ?, message = ?, status = CASE WHEN ? THEN 'closed' ELSE status END, "
                             "closed_at = CASE WHEN ? THEN ? ELSE closed_at END WHERE id = ?",
                             (op.level, op.value, new_peak(op.rule, live["peak_value"], op.value), op.t, op.message,
                              closing, closing, op.t, live["id"]))
                aid = live["id"]
            else:
                continue
            row = self._row(conn, "id = ?", (aid,))
            assert row is not None  # written just above, in this transaction
            doc = alarm_doc(row)
            ev = {"event": EVENT_OF[op.kind], "at": doc["updated_at"], "reading_time": op.t, "alarm": doc}
            conn.execute("INSERT INTO alarm_events (alarm_id, event, at, doc) VALUES (?, ?, ?, ?)",
                         (aid, ev["event"], op.t, orjson.dumps(ev).decode()))

    @staticmethod
    def _count(conn, counts: Counter) -> None:
        conn.executemany("INSERT INTO ingest_counters (reason, n) VALUES (?, ?) ON CONFLICT (reason) "
                         "DO UPDATE SET n = n + excluded.n", [(k, int(v)) for k, v in counts.items() if v])

    def commit(self, batch: Batch, evaluate: Evaluator, rejected: Counter, touched=None):
        with self._lock:
            conn = self._conn()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    ops: list[Op] = []
                    written = 0
                    if len(batch):
                        outcome = evaluate(self._states(conn, sorted(set(batch.sensor.tolist()))))
                        before = conn.total_changes
                        conn.executemany("INSERT OR IGNORE INTO readings (sensor_id, t, value, quality) VALUES (?, ?, ?, ?)",
                                         zip(batch.sensor.tolist(), [_us(t) for t in batch.t.tolist()],
                                             batch.value.tolist(), batch.quality.tolist(), strict=True))
                        written = conn.total_changes - before
                        self._save(conn, outcome.all_states())
                        self._ops(conn, outcome.ops)
                        ops = outcome.ops
                    counts = Counter(rejected)
                    counts["accepted"] += written
                    if len(batch) > written:
                        counts["duplicate"] += len(batch) - written
                    self._count(conn, counts)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                raise MonitoringUnavailable(f"{self.path}: {exc}") from exc
            return written, ops

    def stale_check(self, evaluate: Callable[[dict[int, State], float], Outcome], now: float) -> list[Op]:
        with self._lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                states = {int(r[0]): State(r[1], math.nan if r[2] is None else r[2], r[3], r[4], r[5], r[6]) for r in
                          conn.execute("SELECT sensor_id, last_t, last_value, hi, lo, rate, stale FROM sensor_state "
                                       "WHERE stale = 0 AND last_t IS NOT NULL")}
                outcome = evaluate(states, now)
                self._save(conn, outcome.all_states())
                self._ops(conn, outcome.ops)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return outcome.ops

    # -- reads -------------------------------------------------------------------------------
    def alarms(self, status, sensor_id, limit, sensor_ids=None):
        only = None if sensor_ids is None else orjson.dumps(sorted(int(i) for i in sensor_ids)).decode()
        rows = self._conn().execute("SELECT " + COLS + " FROM alarms WHERE (? IS NULL OR status = ?) AND "  # noqa: S608
                                    "(? IS NULL OR sensor_id = ?) AND (? IS NULL OR sensor_id IN "
                                    "(SELECT value FROM json_each(?))) ORDER BY id DESC LIMIT ?",
                                    (status, status, sensor_id, sensor_id, only, only, limit)).fetchall()
        return [alarm_doc(dict(zip(ALARM_COLUMNS, r, strict=True))) for r in rows]

    def escalation_candidates(self):
        return [(int(a), int(s), int(lv), float(t), int(st)) for a, s, lv, t, st in self._conn().execute(
            "SELECT a.id, a.sensor_id, a.level, a.opened_at, coalesce((SELECT max(json_extract(e.doc, '$.step')) "
            "FROM alarm_events e WHERE e.alarm_id = a.id AND e.event = 'escalated'), 0) "
            "FROM alarms a WHERE a.status = 'open' ORDER BY a.id")]

    def escalate(self, alarm_id, step, to, to_level, due):
        with self._lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._row(conn, "id = ? AND status = 'open'", (alarm_id,))
                done = conn.execute("SELECT 1 FROM alarm_events WHERE alarm_id = ? AND event = 'escalated' AND "
                                    "json_extract(doc, '$.step') >= ?", (alarm_id, step)).fetchone()
                if row is None or done is not None:
                    conn.execute("ROLLBACK")
                    return None
                doc = orjson.dumps(escalation_doc(alarm_doc(row), step, to, to_level, due)).decode()
                cur = conn.execute("INSERT INTO alarm_events (alarm_id, event, at, doc) VALUES (?, 'escalated', ?, ?)",
                                   (alarm_id, due, doc))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return int(cur.lastrowid or 0), doc.encode()  # set by the INSERT above

    def routes(self, alarm_ids):
        if not alarm_ids:
            return {}
        ids = orjson.dumps(sorted({int(i) for i in alarm_ids})).decode()
        out: dict[int, list[tuple[int, int, str, float]]] = {}
        for seq, a, step, to, at in self._conn().execute(
                "SELECT seq, alarm_id, json_extract(doc, '$.step'), json_extract(doc, '$.to'), at FROM alarm_events "
                "WHERE event = 'escalated' AND alarm_id IN (SELECT value FROM json_each(?)) ORDER BY seq", (ids,)):
            out.setdefault(int(a), []).append((int(seq), int(step), str(to), float(at)))
        return out

    def alarm(self, alarm_id: int):
        conn = self._conn()
        row = self._row(conn, "id = ?", (alarm_id,))
        if row is None:
            raise UnknownAlarm(alarm_id)
        doc = alarm_doc(row)
        doc["history"] = [{"seq": s, "event": e, "at": alarm_doc({"opened_at": a})["opened_at"]} for s, e, a in
                          conn.execute("SELECT seq, event, at FROM alarm_events WHERE alarm_id = ? ORDER BY seq",
                                       (alarm_id,))]
        return doc

    def acknowledge(self, alarm_id: int, by: str, note: str | None):
        with self._lock:
            conn = self._conn()
            now = time.time()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("UPDATE alarms SET status = CASE WHEN status = 'open' THEN 'acknowledged' ELSE status END, "
                             "acknowledged_at = COALESCE(acknowledged_at, ?), acknowledged_by = COALESCE(acknowledged_by, ?), "
                             "ack_note = COALESCE(?, ack_note), updated_at = ? WHERE id = ?", (now, by, note, now, alarm_id))
                row = self._row(conn, "id = ?", (alarm_id,))
                if row is None:
                    raise UnknownAlarm(alarm_id)
                doc = alarm_doc(row)
                conn.execute("INSERT INTO alarm_events (alarm_id, event, at, doc) VALUES (?, 'acknowledged', ?, ?)",
                             (alarm_id, now, orjson.dumps({"event": "acknowledged", "at": doc["updated_at"],
                                                           "alarm": doc}).decode()))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return doc

    def events_since(self, seq: int, limit: int = 500):
        return [(int(s), d.encode()) for s, d in self._conn().execute(
            "SELECT seq, doc FROM alarm_events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))]

    def last_seq(self) -> int:
        return int(self._conn().execute("SELECT coalesce(max(seq), 0) FROM alarm_events").fetchone()[0])

    def series(self, sensor_id, t0, t1, limit):
        return [(t / 1e6, v, q) for t, v, q in self._conn().execute(
            "SELECT t, value, quality FROM readings WHERE sensor_id = ? AND t >= ? AND t < ? ORDER BY t LIMIT ?",
            (sensor_id, _us(t0), _us(t1), limit))]

    def binned(self, t0, t1, step_s, limit):
        a, step = _us(t0), max(1, int(round(step_s * 1e6)))
        # SQLite: with max(t), the bare column ``value`` comes from the row holding the bin's latest reading
        return [(int(s), int(k), float(v)) for s, k, v, _ in self._conn().execute(
            "SELECT sensor_id, (t - ?) / ? AS k, value, max(t) FROM readings WHERE t >= ? AND t < ? AND quality < 2 "
            "GROUP BY sensor_id, k ORDER BY sensor_id, k LIMIT ?", (a, step, a, _us(t1), limit))]

    def hourly(self, sensor_id, t0, t1):
        return [tuple(r) for r in self._conn().execute(
            "SELECT hour, n, vmin, vmax, vmean FROM readings_hourly WHERE sensor_id = ? AND hour >= ? AND hour < ? "
            "ORDER BY hour", (sensor_id, t0 - 3600, t1))]

    def states(self):
        return {int(r[0]): {"last_t": r[1], "last_value": r[2], "hi": r[3], "lo": r[4], "rate": r[5], "stale": r[6]}
                for r in self._conn().execute("SELECT sensor_id, last_t, last_value, hi, lo, rate, stale FROM sensor_state "
                                              "WHERE last_t IS NOT NULL")}

    def latest(self, sensor_ids: list[int], since: float):
        st = self.states()
        return {s: (st[s]["last_t"], st[s]["last_value"]) for s in sensor_ids if s in st and st[s]["last_t"] >= since}

    def counters(self):
        return {r: int(n) for r, n in self._conn().execute("SELECT reason, n FROM ingest_counters ORDER BY reason")}

    def count_readings(self) -> int:
        return int(self._conn().execute("SELECT count(*) FROM readings").fetchone()[0])

    def maintain(self, retention_days: float, now: float) -> dict[str, int]:
        cutoff = _us(now - retention_days * 86400)
        with self._lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            cur = conn.execute("INSERT INTO readings_hourly (sensor_id, hour, n, vmin, vmax, vmean) "
                               "SELECT sensor_id, (t / 3600000000) * 3600.0, count(*), min(value), max(value), avg(value) "
                               "FROM readings WHERE t < ? GROUP BY 1, 2 ON CONFLICT (sensor_id, hour) DO UPDATE SET "
                               "n = excluded.n, vmin = excluded.vmin, vmax = excluded.vmax, vmean = excluded.vmean",
                               (cutoff,))
            rolled = cur.rowcount
            deleted = conn.execute("DELETE FROM readings WHERE t < ?", (cutoff,)).rowcount
            conn.execute("COMMIT")
        return {"rows_deleted": deleted, "hourly_rows": rolled}
