"""Readings, sensor state and alarms in PostgreSQL (schema ``monitoring``), the store of record.

* ``monitoring.readings`` — declaratively partitioned BY RANGE (t), one partition per UTC day
  (``readings_YYYYMMDD``, created ahead as batches need them). Primary key (sensor_id, t) per partition,
  so a reading redelivered after a broker or worker restart is stored once.
* Batches arrive by binary ``COPY`` built with numpy (no per-row Python); if a batch collides with rows
  already stored (a redelivery) it is copied into a temporary table and inserted ``ON CONFLICT DO NOTHING``.
* Retention: partitions older than the retention are rolled up into ``readings_hourly`` (count, min,
  max, mean per sensor and hour) and dropped — a DROP, not a DELETE, so no bloat and no vacuum debt.
* ``sensor_state`` (one row per sensor, locked per batch), ``alarms`` (at most one not-closed alarm per
  sensor and rule: a partial unique index), ``alarm_events`` (the history and the SSE feed, by seq),
  ``ingest_counters`` (readings accepted and rejected by reason).

Every value is a bound parameter; the only identifiers built in Python are partition names from dates.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from ..stores.watchdog import Liveness, SelectOneProbe
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

SCHEMA = "monitoring"
PG_EPOCH = 946_684_800.0  # 2000-01-01T00:00:00Z, PostgreSQL's timestamp origin

DDL = """
CREATE SCHEMA IF NOT EXISTS monitoring;
CREATE TABLE IF NOT EXISTS monitoring.readings (
  sensor_id bigint NOT NULL, t timestamptz NOT NULL, value double precision NOT NULL,
  quality smallint NOT NULL DEFAULT 0
) PARTITION BY RANGE (t);
CREATE TABLE IF NOT EXISTS monitoring.readings_hourly (
  sensor_id bigint NOT NULL, hour timestamptz NOT NULL, n integer NOT NULL,
  vmin double precision, vmax double precision, vmean double precision, PRIMARY KEY (sensor_id, hour));
CREATE TABLE IF NOT EXISTS monitoring.sensor_state (
  sensor_id bigint PRIMARY KEY, last_t timestamptz, last_value double precision,
  hi smallint NOT NULL DEFAULT 0, lo smallint NOT NULL DEFAULT 0, rate smallint NOT NULL DEFAULT 0,
  stale smallint NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS monitoring.alarms (
  id bigserial PRIMARY KEY, sensor_id bigint NOT NULL, rule text NOT NULL, level smallint NOT NULL,
  status text NOT NULL, opened_at timestamptz NOT NULL, opened_value double precision,
  last_value double precision, peak_value double precision, updated_at timestamptz NOT NULL,
  acknowledged_at timestamptz, acknowledged_by text, ack_note text, closed_at timestamptz, message text);
CREATE UNIQUE INDEX IF NOT EXISTS alarms_one_live ON monitoring.alarms (sensor_id, rule) WHERE status <> 'closed';
CREATE INDEX IF NOT EXISTS alarms_status ON monitoring.alarms (status, id);
CREATE TABLE IF NOT EXISTS monitoring.alarm_events (
  seq bigserial PRIMARY KEY, alarm_id bigint NOT NULL, event text NOT NULL, at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(), doc jsonb NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS alarm_escalation_step ON monitoring.alarm_events (alarm_id, ((doc->>'step')::int))
  WHERE event = 'escalated';
CREATE TABLE IF NOT EXISTS monitoring.ingest_counters (reason text PRIMARY KEY, n bigint NOT NULL DEFAULT 0);
"""

_COLS = ", ".join(ALARM_COLUMNS)
_COPY_DTYPE = np.dtype([("n", ">i2"), ("l1", ">i4"), ("sensor", ">i8"), ("l2", ">i4"), ("t", ">i8"),
                        ("l3", ">i4"), ("value", ">f8"), ("l4", ">i4"), ("quality", ">i2")])
_READ_STATES = ("SELECT sensor_id, extract(epoch FROM last_t)::float8, last_value, hi, lo, rate, stale "
                "FROM monitoring.sensor_state "
                "WHERE sensor_id = ANY(%s) ORDER BY sensor_id")
_LOCK_STATES = _READ_STATES + " FOR UPDATE"
_STATE_DTYPE = np.dtype([("n", ">i2"), ("l1", ">i4"), ("sensor", ">i8"), ("l2", ">i4"), ("t", ">i8"),
                         ("l3", ">i4"), ("value", ">f8"), ("l4", ">i4"), ("hi", ">i2"), ("l5", ">i4"), ("lo", ">i2"),
                         ("l6", ">i4"), ("rate", ">i2"), ("l7", ">i4"), ("stale", ">i2")])
_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_TRAILER = b"\xff\xff"


def libpq_url(url: str) -> str:
    """SQLAlchemy-style ``postgresql+psycopg://`` → libpq ``postgresql://``."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def copy_buffer(sensor: np.ndarray, t: np.ndarray, value: np.ndarray, quality: np.ndarray) -> bytes:
    """A binary COPY stream of (sensor_id bigint, t timestamptz, value float8, quality int2), built by numpy."""
    rows = np.empty(len(sensor), dtype=_COPY_DTYPE)
    rows["n"], rows["l1"], rows["l2"], rows["l3"], rows["l4"] = 4, 8, 8, 8, 2
    rows["sensor"] = sensor
    rows["t"] = np.round((t - PG_EPOCH) * 1e6).astype(np.int64)
    rows["value"] = value
    rows["quality"] = quality
    return _HEADER + rows.tobytes() + _TRAILER


def _one(row: tuple[Any, ...] | None) -> Any:
    """The single value of a one-row aggregate (which always returns a row)."""
    if row is None:
        raise MonitoringUnavailable("PostgreSQL returned no row for an aggregate")
    return row[0]


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _epoch(d: datetime | None) -> float:
    return math.nan if d is None else d.timestamp()


def day_partition(day: datetime) -> tuple[str, datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return f"readings_{start:%Y%m%d}", start, start + timedelta(days=1)


class PgReadings(ReadingStore):
    kind = "postgis"

    # a read waits at most this long (and at most the liveness deadline) for a connection, then answers
    # MonitoringUnavailable: a read queued behind calls that a freeze holds must not outlast the deadline
    POOL_WAIT_S = 5.0

    def __init__(self, url: str, pool_size: int = 4, deadline_s: float = 3.0):
        self.url = libpq_url(url)
        # A frozen server (SIGSTOP, a hung VM) enforces no statement_timeout: the same liveness probe as the
        # layers' engine (stores/watchdog.py) notices it within deadline_s, cuts the running calls off and
        # makes new ones fail at once (MonitoringUnavailable → 503 with Retry-After) until it answers again.
        self.liveness = Liveness(SelectOneProbe(self.url, connect_s=3.0), deadline_s)
        # Reads share a psycopg_pool pool of autocommit connections: none held while idle (min_size 0), at
        # most pool_size at once (a burst waits up to POOL_WAIT_S), opened on the first read — in the process
        # that reads, so a store built before a fork never shares a socket. Broken connections (a database
        # restart) are discarded when they come back, and every connection is checked (one round trip) before
        # it is lent, so no read gets the error of a connection that a restart killed while it sat idle.
        self._pool_size = pool_size
        self._pool: ConnectionPool | None = None
        self._pool_lock = threading.Lock()
        self._writer: psycopg.Connection | None = None
        self._days: set[str] = set()
        self._lock = threading.Lock()

    # -- connections -------------------------------------------------------------------------
    def _connect(self, autocommit: bool) -> psycopg.Connection:
        try:
            return psycopg.connect(self.url, autocommit=autocommit, connect_timeout=3)
        except psycopg.OperationalError as exc:
            raise MonitoringUnavailable(f"cannot reach PostgreSQL: {exc}") from exc

    def _check(self, conn: psycopg.Connection) -> None:
        """The pool's check before lending a connection, under the liveness deadline (a frozen server would
        hold the check itself until the pool's timeout)."""
        with self.liveness.call(conn.pgconn.socket):
            ConnectionPool.check_connection(conn)

    @contextlib.contextmanager
    def _read(self) -> Iterator[psycopg.Connection]:
        pool = self._pool
        if pool is None:
            with self._pool_lock:  # a closed pool cannot be reopened: a store used after close() gets a new one
                if self._pool is None:
                    self._pool = ConnectionPool(self.url, kwargs={"autocommit": True, "connect_timeout": 3},
                                                min_size=0, max_size=self._pool_size, open=False,
                                                check=self._check,
                                                timeout=min(self.POOL_WAIT_S, self.liveness.deadline_s),
                                                name="monitoring-reads")
                    self._pool.open(wait=False)
                pool = self._pool
        if self.liveness.frozen:
            raise MonitoringUnavailable("the database server is not answering")
        try:
            with pool.connection() as conn, self.liveness.call(conn.pgconn.socket):
                yield conn
        except PoolTimeout as exc:
            raise MonitoringUnavailable(f"cannot reach PostgreSQL within {pool.timeout:g} s: {exc}") from exc
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise MonitoringUnavailable(f"PostgreSQL: {exc}") from exc

    def init(self) -> None:
        with self._connect(True) as conn:
            conn.execute("SELECT pg_advisory_lock(hashtext('monitoring.init'))")
            conn.execute(DDL)
            conn.execute("SELECT pg_advisory_unlock(hashtext('monitoring.init'))")
        self.ensure_days([datetime.now(UTC), datetime.now(UTC) + timedelta(days=1)])

    def close(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def drop(self) -> None:
        with self._connect(True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS monitoring CASCADE")
        self._days.clear()

    def ensure_days(self, days) -> None:
        need = []
        for d in days:
            name, start, end = day_partition(d)
            if name not in self._days:
                need.append((name, start, end))
        if not need:
            return
        with self._connect(True) as conn:
            conn.execute("SELECT pg_advisory_lock(hashtext('monitoring.partitions'))")
            try:
                for name, start, end in need:
                    # the partition name is made from a date, never from request text
                    # DDL takes no bind parameters: the bounds are literals made from our own dates
                    conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} PARTITION OF monitoring.readings "
                                         "(PRIMARY KEY (sensor_id, t)) FOR VALUES FROM ({}) TO ({})")
                                 .format(sql.Identifier(SCHEMA, name), sql.Literal(start), sql.Literal(end)))
                    self._days.add(name)
            finally:
                conn.execute("SELECT pg_advisory_unlock(hashtext('monitoring.partitions'))")

    # -- the write path -----------------------------------------------------------------------
    def _writer_conn(self) -> psycopg.Connection:
        if self.liveness.frozen:
            raise MonitoringUnavailable("the database server is not answering")
        if self._writer is None or self._writer.closed or self._writer.broken:
            self._writer = self._connect(False)
        return self._writer

    @staticmethod
    def _read_states(cur, ids: list[int], lock: bool) -> dict[int, State]:
        cur.execute(_LOCK_STATES if lock else _READ_STATES, (ids,))
        nan = math.nan
        return {r[0]: State(nan if r[1] is None else r[1], nan if r[2] is None else r[2], r[3], r[4], r[5], r[6])
                for r in cur.fetchall()}

    def _load_states(self, cur, ids: list[int], touched) -> dict[int, State]:
        """The batch's sensor states. The rows the batch will write (``touched``: sensors the state machine
        runs on, or whose last reading is due to be kept) are locked FOR UPDATE in id order and re-read,
        so concurrent workers never judge a sensor from stale state; the others are only read (no tuple
        locks, which would cost a write per row). Rows of sensors never seen before are inserted first."""
        states = self._read_states(cur, ids, lock=touched is None)
        need = ids if touched is None else touched(states)
        missing = [i for i in need if i not in states]
        if missing:
            cur.execute("INSERT INTO monitoring.sensor_state (sensor_id) SELECT unnest(%s::bigint[]) ORDER BY 1 "
                        "ON CONFLICT DO NOTHING", (missing,))
        if touched is not None or missing:
            states.update(self._read_states(cur, need, lock=True))
        return states

    @staticmethod
    def _save_states(cur, outcome: Outcome) -> None:
        """Every new state by binary COPY into a temporary table, then one UPDATE … FROM."""
        ids, t, v, hi, lo, rate, stale = outcome.columns()
        if not len(ids):
            return
        rows = np.empty(len(ids), dtype=_STATE_DTYPE)
        rows["n"] = 7
        rows["l1"], rows["l2"], rows["l3"] = 8, 8, 8
        rows["l4"], rows["l5"], rows["l6"], rows["l7"] = 2, 2, 2, 2
        rows["sensor"], rows["t"], rows["value"] = ids, np.round((t - PG_EPOCH) * 1e6).astype(np.int64), v
        rows["hi"], rows["lo"], rows["rate"], rows["stale"] = hi, lo, rate, stale
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS state_stage (sensor_id bigint, last_t timestamptz, "
                    "last_value float8, hi int2, lo int2, rate int2, stale int2) ON COMMIT DELETE ROWS")
        with cur.copy("COPY state_stage FROM STDIN (FORMAT BINARY)") as cp:
            cp.write(_HEADER + rows.tobytes() + _TRAILER)
        cur.execute("UPDATE monitoring.sensor_state s SET last_t = u.last_t, last_value = u.last_value, hi = u.hi, "
                    "lo = u.lo, rate = u.rate, stale = u.stale FROM state_stage u WHERE s.sensor_id = u.sensor_id")

    @staticmethod
    def _apply_ops(cur, ops: list[Op]) -> list[tuple[int, str, datetime, str]]:
        events = []
        for op in ops:
            at = _dt(op.t)
            if op.kind == "open":
                cur.execute("""INSERT INTO monitoring.alarms (sensor_id, rule, level, status, opened_at, opened_value,
                                last_value, peak_value, updated_at, message)
                                VALUES (%s, %s, %s, 'open', %s, %s, %s, %s, %s, %s)
                                ON CONFLICT (sensor_id, rule) WHERE status <> 'closed'
                                DO UPDATE SET level = EXCLUDED.level, last_value = EXCLUDED.last_value,
                                updated_at = EXCLUDED.updated_at, message = EXCLUDED.message
                                RETURNING id, sensor_id, rule, level, status, opened_at, opened_value, last_value, peak_value, updated_at, acknowledged_at, acknowledged_by, ack_note, closed_at, message""",
                            (op.sensor, op.rule, op.level, at, op.value, op.value, op.value, at, op.message))
            else:
                cur.execute("SELECT peak_value FROM monitoring.alarms WHERE sensor_id = %s AND rule = %s "
                            "AND status <> 'closed'", (op.sensor, op.rule))
                found = cur.fetchone()
                if found is None:
                    continue
                peak = new_peak(op.rule, found[0], op.value)
                closing = op.kind == "close"
                cur.execute("""UPDATE monitoring.alarms SET level = %s, last_value = COALESCE(%s, last_value),
                                peak_value = %s, updated_at = %s, message = %s,
                                status = CASE WHEN %s THEN 'closed' ELSE status END,
                                closed_at = CASE WHEN %s THEN %s ELSE closed_at END
                                WHERE sensor_id = %s AND rule = %s AND status <> 'closed' RETURNING id, sensor_id, rule, level, status, opened_at, opened_value, last_value, peak_value, updated_at, acknowledged_at, acknowledged_by, ack_note, closed_at, message""",
                            (op.level, op.value, peak, at, op.message, closing, closing, at, op.sensor, op.rule))
            row = cur.fetchone()
            if row is None:
                continue
            doc = alarm_doc(dict(zip(ALARM_COLUMNS, row, strict=True)))
            event = EVENT_OF[op.kind]
            ev = {"event": event, "at": doc["updated_at"], "reading_time": op.t, "alarm": doc}
            events.append((doc["id"], event, at, orjson.dumps(ev).decode()))
        if events:
            cur.executemany("INSERT INTO monitoring.alarm_events (alarm_id, event, at, doc) VALUES (%s, %s, %s, %s)",
                            events)
        return events

    @staticmethod
    def _count(cur, counts: Counter) -> None:
        nonzero = {k: v for k, v in counts.items() if v}
        if nonzero:
            cur.execute("""INSERT INTO monitoring.ingest_counters (reason, n) SELECT * FROM unnest(%s::text[], %s::bigint[])
                            ON CONFLICT (reason) DO UPDATE SET n = ingest_counters.n + EXCLUDED.n""",
                        (list(nonzero), list(nonzero.values())))

    def _copy(self, cur, batch: Batch) -> int:
        data = copy_buffer(batch.sensor, batch.t, batch.value, batch.quality)
        cur.execute("SAVEPOINT copy_readings")
        try:
            with cur.copy("COPY monitoring.readings (sensor_id, t, value, quality) FROM STDIN (FORMAT BINARY)") as cp:
                cp.write(data)
            cur.execute("RELEASE SAVEPOINT copy_readings")
            return len(batch)
        except psycopg.errors.UniqueViolation:
            # a redelivered batch: stage it and keep only the rows not stored yet
            cur.execute("ROLLBACK TO SAVEPOINT copy_readings")
            cur.execute("CREATE TEMP TABLE IF NOT EXISTS readings_stage (LIKE monitoring.readings) ON COMMIT DELETE ROWS")
            with cur.copy("COPY readings_stage (sensor_id, t, value, quality) FROM STDIN (FORMAT BINARY)") as cp:
                cp.write(data)
            cur.execute("INSERT INTO monitoring.readings SELECT * FROM readings_stage ON CONFLICT DO NOTHING")
            return cur.rowcount

    def commit(self, batch: Batch, evaluate: Evaluator, rejected: Counter, touched=None):
        with self._lock:
            try:
                if len(batch):
                    days = {datetime.fromtimestamp(float(x), UTC).date() for x in
                            np.unique(np.floor(batch.t / 86400.0) * 86400.0).tolist()}
                    self.ensure_days([datetime(d.year, d.month, d.day, tzinfo=UTC) for d in days])
                conn = self._writer_conn()
                with self.liveness.call(conn.pgconn.socket), conn.transaction(), conn.cursor() as cur:
                    ops: list[Op] = []
                    written = 0
                    if len(batch):
                        ids = np.unique(batch.sensor).tolist()
                        states = self._load_states(cur, ids, touched)
                        outcome = evaluate(states)
                        written = self._copy(cur, batch)
                        self._save_states(cur, outcome)
                        self._apply_ops(cur, outcome.ops)
                        ops = outcome.ops
                    counts = Counter(rejected)
                    counts["accepted"] += written
                    if len(batch) > written:
                        counts["duplicate"] += len(batch) - written
                    self._count(cur, counts)
                return written, ops
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                if self._writer is not None:
                    with contextlib.suppress(Exception):
                        self._writer.close()
                self._writer = None
                raise MonitoringUnavailable(f"PostgreSQL: {exc}") from exc

    def stale_check(self, evaluate: Callable[[dict[int, State], float], Outcome], now: float) -> list[Op]:
        with self._lock:
            try:
                conn = self._writer_conn()
                with self.liveness.call(conn.pgconn.socket), conn.transaction(), conn.cursor() as cur:
                    cur.execute("SELECT pg_try_advisory_xact_lock(hashtext('monitoring.stale'))")
                    if not _one(cur.fetchone()):
                        return []
                    cur.execute("SELECT sensor_id, last_t, last_value, hi, lo, rate, stale FROM monitoring.sensor_state "
                                "WHERE stale = 0 AND last_t IS NOT NULL ORDER BY sensor_id FOR UPDATE SKIP LOCKED")
                    states = {int(r[0]): State(_epoch(r[1]), math.nan if r[2] is None else r[2], r[3], r[4], r[5],
                                               r[6]) for r in cur.fetchall()}
                    outcome = evaluate(states, now)
                    self._save_states(cur, outcome)
                    self._apply_ops(cur, outcome.ops)
                return outcome.ops
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                self._writer = None
                raise MonitoringUnavailable(f"PostgreSQL: {exc}") from exc

    # -- reads -------------------------------------------------------------------------------
    def alarms(self, status: str | None, sensor_id: int | None, limit: int,
               sensor_ids: list[int] | None = None) -> list[dict[str, Any]]:
        only = None if sensor_ids is None else [int(i) for i in sensor_ids]
        with self._read() as conn:
            rows = conn.execute("SELECT id, sensor_id, rule, level, status, opened_at, opened_value, last_value, peak_value, updated_at, acknowledged_at, acknowledged_by, ack_note, closed_at, message FROM monitoring.alarms WHERE (%s::text IS NULL OR status = %s) "
                                "AND (%s::bigint IS NULL OR sensor_id = %s) "
                                "AND (%s::bigint[] IS NULL OR sensor_id = ANY(%s::bigint[])) ORDER BY id DESC LIMIT %s",
                                (status, status, sensor_id, sensor_id, only, only, limit)).fetchall()
        return [alarm_doc(dict(zip(ALARM_COLUMNS, r, strict=True))) for r in rows]

    def escalation_candidates(self) -> list[tuple[int, int, int, float, int]]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT a.id, a.sensor_id, a.level, extract(epoch FROM a.opened_at)::float8, "
                "coalesce((SELECT max((e.doc->>'step')::int) FROM monitoring.alarm_events e "
                "WHERE e.alarm_id = a.id AND e.event = 'escalated'), 0) "
                "FROM monitoring.alarms a WHERE a.status = 'open' ORDER BY a.id").fetchall()
        return [(int(a), int(s), int(lv), float(t), int(st)) for a, s, lv, t, st in rows]

    def escalate(self, alarm_id: int, step: int, to: str, to_level: str, due: float) -> tuple[int, bytes] | None:
        with self._read() as conn, conn.transaction():
            row = conn.execute("SELECT " + _COLS + " FROM monitoring.alarms WHERE id = %s AND status = 'open' "  # noqa: S608 - fixed columns
                               "FOR UPDATE", (alarm_id,)).fetchone()
            if row is None or conn.execute(
                    "SELECT 1 FROM monitoring.alarm_events WHERE alarm_id = %s AND event = 'escalated' "
                    "AND (doc->>'step')::int >= %s", (alarm_id, step)).fetchone() is not None:
                return None
            doc = orjson.dumps(escalation_doc(alarm_doc(dict(zip(ALARM_COLUMNS, row, strict=True))), step, to,
                                              to_level, due)).decode()
            seq = _one(conn.execute("INSERT INTO monitoring.alarm_events (alarm_id, event, at, doc) "
                               "VALUES (%s, 'escalated', %s, %s) RETURNING seq", (alarm_id, _dt(due), doc)).fetchone())
        return int(seq), doc.encode()

    def routes(self, alarm_ids: list[int]) -> dict[int, list[tuple[int, int, str, float]]]:
        if not alarm_ids:
            return {}
        with self._read() as conn:
            rows = conn.execute("SELECT seq, alarm_id, (doc->>'step')::int, doc->>'to', extract(epoch FROM at)::float8 "
                                "FROM monitoring.alarm_events WHERE event = 'escalated' AND alarm_id = ANY(%s) "
                                "ORDER BY seq", ([int(i) for i in alarm_ids],)).fetchall()
        out: dict[int, list[tuple[int, int, str, float]]] = {}
        for seq, a, st, to, at in rows:
            out.setdefault(int(a), []).append((int(seq), int(st), str(to), float(at)))
        return out

    def alarm(self, alarm_id: int) -> dict[str, Any]:
        with self._read() as conn:
            row = conn.execute("SELECT id, sensor_id, rule, level, status, opened_at, opened_value, last_value, peak_value, updated_at, acknowledged_at, acknowledged_by, ack_note, closed_at, message FROM monitoring.alarms WHERE id = %s", (alarm_id,)).fetchone()
            if row is None:
                raise UnknownAlarm(alarm_id)
            doc = alarm_doc(dict(zip(ALARM_COLUMNS, row, strict=True)))
            doc["history"] = [r[0] for r in conn.execute(
                "SELECT jsonb_build_object('seq', seq, 'event', event, 'at', at) FROM monitoring.alarm_events "
                "WHERE alarm_id = %s ORDER BY seq", (alarm_id,)).fetchall()]
        return doc

    def acknowledge(self, alarm_id: int, by: str, note: str | None) -> dict[str, Any]:
        with self._read() as conn, conn.transaction():
            row = conn.execute("""UPDATE monitoring.alarms SET status = CASE WHEN status = 'open' THEN 'acknowledged'
                                   ELSE status END, acknowledged_at = COALESCE(acknowledged_at, now()),
                                   acknowledged_by = COALESCE(acknowledged_by, %s), ack_note = COALESCE(%s, ack_note),
                                   updated_at = now() WHERE id = %s RETURNING id, sensor_id, rule, level, status, opened_at, opened_value, last_value, peak_value, updated_at, acknowledged_at, acknowledged_by, ack_note, closed_at, message""",
                               (by, note, alarm_id)).fetchone()
            if row is None:
                raise UnknownAlarm(alarm_id)
            doc = alarm_doc(dict(zip(ALARM_COLUMNS, row, strict=True)))
            ev = {"event": "acknowledged", "at": doc["updated_at"], "alarm": doc}
            conn.execute("INSERT INTO monitoring.alarm_events (alarm_id, event, at, doc) VALUES (%s, %s, now(), %s)",
                         (alarm_id, "acknowledged", orjson.dumps(ev).decode()))
        return doc

    def events_since(self, seq: int, limit: int = 500) -> list[tuple[int, bytes]]:
        with self._read() as conn:
            rows = conn.execute("SELECT seq, doc::text FROM monitoring.alarm_events WHERE seq > %s ORDER BY seq LIMIT %s",
                                (seq, limit)).fetchall()
        return [(int(s), d.encode()) for s, d in rows]

    def last_seq(self) -> int:
        with self._read() as conn:
            return int(_one(conn.execute("SELECT coalesce(max(seq), 0) FROM monitoring.alarm_events").fetchone()))

    def series(self, sensor_id: int, t0: float, t1: float, limit: int):
        with self._read() as conn:
            rows = conn.execute("SELECT extract(epoch FROM t)::float8, value, quality FROM monitoring.readings "
                                "WHERE sensor_id = %s AND t >= %s AND t < %s ORDER BY t LIMIT %s",
                                (sensor_id, _dt(t0), _dt(t1), limit)).fetchall()
        return [(float(a), float(b), int(c)) for a, b, c in rows]

    def binned(self, t0: float, t1: float, step_s: float, limit: int):
        with self._read() as conn:
            rows = conn.execute("SELECT DISTINCT ON (sensor_id, k) sensor_id, k, value FROM (SELECT sensor_id, t, value, "
                                "floor(extract(epoch FROM t - %s::timestamptz) / %s::float8)::bigint AS k "
                                "FROM monitoring.readings WHERE t >= %s AND t < %s AND quality < 2) r "
                                "ORDER BY sensor_id, k, t DESC LIMIT %s",
                                (_dt(t0), float(step_s), _dt(t0), _dt(t1), limit)).fetchall()
        return [(int(a), int(b), float(c)) for a, b, c in rows]

    def hourly(self, sensor_id: int, t0: float, t1: float):
        with self._read() as conn:
            rows = conn.execute("SELECT extract(epoch FROM hour)::float8, n, vmin, vmax, vmean FROM "
                                "monitoring.readings_hourly WHERE sensor_id = %s AND hour >= %s AND hour < %s "
                                "ORDER BY hour", (sensor_id, _dt(t0 - 3600), _dt(t1))).fetchall()
        return [tuple(r) for r in rows]

    def states(self) -> dict[int, dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute("SELECT sensor_id, extract(epoch FROM last_t)::float8, last_value, hi, lo, rate, stale "
                                "FROM monitoring.sensor_state WHERE last_t IS NOT NULL").fetchall()
        return {int(r[0]): {"last_t": r[1], "last_value": r[2], "hi": r[3], "lo": r[4], "rate": r[5], "stale": r[6]}
                for r in rows}

    def latest(self, sensor_ids: list[int], since: float) -> dict[int, tuple[float, float]]:
        with self._read() as conn:
            rows = conn.execute("SELECT sensor_id, extract(epoch FROM last_t)::float8, last_value FROM "
                                "monitoring.sensor_state WHERE sensor_id = ANY(%s) AND last_t >= %s",
                                (sensor_ids, _dt(since))).fetchall()
        return {int(a): (float(b), float(c)) for a, b, c in rows}

    def counters(self) -> dict[str, int]:
        with self._read() as conn:
            return {r: int(n) for r, n in conn.execute("SELECT reason, n FROM monitoring.ingest_counters ORDER BY reason")}

    def count_readings(self) -> int:
        with self._read() as conn:
            return int(_one(conn.execute("SELECT count(*) FROM monitoring.readings").fetchone()))

    def maintain(self, retention_days: float, now: float) -> dict[str, int]:
        cutoff = datetime.fromtimestamp(now, UTC) - timedelta(days=retention_days)
        dropped = rolled = 0
        with self._connect(True) as conn:
            rows = conn.execute("""SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                                   JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace
                                   WHERE n.nspname = %s AND p.relname = 'readings' ORDER BY 1""", (SCHEMA,)).fetchall()
            for (name,) in rows:
                try:
                    day = datetime.strptime(name, "readings_%Y%m%d").replace(tzinfo=UTC)
                except ValueError:
                    continue
                if day + timedelta(days=1) > cutoff:
                    continue
                # the name matched readings_YYYYMMDD above: a date, not request text
                with conn.transaction():
                    part = sql.Identifier(SCHEMA, name)
                    cur = conn.execute(sql.SQL("""INSERT INTO monitoring.readings_hourly (sensor_id, hour, n, vmin, vmax, vmean)
                                           SELECT sensor_id, date_trunc('hour', t), count(*), min(value), max(value),
                                           avg(value) FROM {} GROUP BY 1, 2
                                           ON CONFLICT (sensor_id, hour) DO UPDATE SET n = EXCLUDED.n,
                                           vmin = EXCLUDED.vmin, vmax = EXCLUDED.vmax, vmean = EXCLUDED.vmean""").format(part))
                    rolled += cur.rowcount
                    conn.execute(sql.SQL("DROP TABLE {}").format(part))
                self._days.discard(name)
                dropped += 1
        return {"partitions_dropped": dropped, "hourly_rows": rolled}
