"""The job store: one row per job, in the store's own database — PostgreSQL schema ``processes`` next to the
PostGIS layers, or a SQLite side file ``<gpkg>.jobs.sqlite`` next to the GeoPackage — so an acknowledged job
(one whose 201 has been sent) is on disk before the client hears of it and survives a restart of the API.

Status values are those of OGC API – Processes Part 1 (``accepted``, ``running``, ``successful``, ``failed``,
``dismissed``). A running job has an ``owner`` (``host:pid:uuid`` of the process running it) and a
``heartbeat``; a job whose heartbeat is older than :data:`STALE_S` belonged to a process that died and is
claimed again by the next API process that starts (its inputs are stored, so it runs again; batches skip
their finished partitions).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine

STATUSES = ("accepted", "running", "successful", "failed", "dismissed")
ACTIVE = ("accepted", "running")
STALE_S = 30.0  # a running job whose owner has not written for this long is taken over
SCHEMA = "processes"

COLUMNS = ("job_id", "process_id", "status", "message", "progress", "created", "started", "finished", "updated",
           "inputs", "results", "owner", "heartbeat", "attempts")


class JobStoreUnavailable(RuntimeError):
    """The job store's database cannot be reached (→ 503; nothing was acknowledged)."""


class UnknownJob(LookupError):
    pass


def _table(metadata: sa.MetaData, schema: str | None) -> sa.Table:
    return sa.Table(
        "jobs", metadata,
        sa.Column("job_id", sa.String(64), primary_key=True),
        sa.Column("process_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False, default=""),
        sa.Column("progress", sa.Integer, nullable=False, default=0),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("started", sa.Float),
        sa.Column("finished", sa.Float),
        sa.Column("updated", sa.Float, nullable=False),
        sa.Column("inputs", sa.Text, nullable=False),
        sa.Column("results", sa.Text),
        sa.Column("owner", sa.String(200)),
        sa.Column("heartbeat", sa.Float),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Index("jobs_status_idx", "status"),
        schema=schema,
    )


class JobStore:
    """Jobs in a SQL database (SQLAlchemy Core, the same statements on PostgreSQL and SQLite)."""

    def __init__(self, engine: Engine, schema: str | None = None, stale_s: float = STALE_S):
        self.engine = engine
        self.schema = schema
        self.stale_s = stale_s
        self.table = _table(sa.MetaData(), schema)
        self._ready = False

    @classmethod
    def sqlite(cls, path: Path | str, stale_s: float = STALE_S) -> JobStore:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _wal(conn, _record):  # readers never wait for the one writer
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")

        return cls(engine, stale_s=stale_s)

    @classmethod
    def postgres(cls, engine: Engine, stale_s: float = STALE_S) -> JobStore:
        return cls(engine, SCHEMA, stale_s)

    # -- plumbing ------------------------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        if not self._ready:
            self.init()
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.OperationalError as exc:
            raise JobStoreUnavailable(f"job store: {str(exc).splitlines()[0]}") from exc

    def init(self) -> None:
        try:
            with self.engine.begin() as conn:
                if self.schema:
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('processes.init'))"))
                    conn.execute(sa.schema.CreateSchema(self.schema, if_not_exists=True))
                self.table.metadata.create_all(conn)
        except sa.exc.OperationalError as exc:
            raise JobStoreUnavailable(f"job store: {str(exc).splitlines()[0]}") from exc
        self._ready = True

    def drop(self) -> None:
        with self.engine.begin() as conn:
            self.table.drop(conn, checkfirst=True)
        self._ready = False

    @staticmethod
    def _doc(row: Any) -> dict[str, Any]:
        out = dict(row._mapping)
        out["inputs"] = json.loads(out["inputs"]) if out.get("inputs") else {}
        return out

    # -- the life of a job -----------------------------------------------------------------------
    def create(self, process_id: str, inputs: dict[str, Any], owner: str | None = None) -> dict[str, Any]:
        """A new ``accepted`` job, committed before the caller acknowledges it."""
        now = time.time()
        job_id = uuid.uuid4().hex
        row = {"job_id": job_id, "process_id": process_id, "status": "accepted", "message": "queued",
               "progress": 0, "created": now, "updated": now, "inputs": json.dumps(inputs, sort_keys=True),
               "owner": owner, "heartbeat": now, "attempts": 0}
        with self._tx() as conn:
            conn.execute(self.table.insert().values(**row))
        return self.get(job_id)

    def get(self, job_id: str) -> dict[str, Any]:
        t = self.table
        with self._tx() as conn:
            row = conn.execute(sa.select(*[t.c[c] for c in COLUMNS if c != "results"])
                               .where(t.c.job_id == job_id)).first()
        if row is None:
            raise UnknownJob(job_id)
        return self._doc(row)

    def results(self, job_id: str) -> tuple[str, Any]:
        t = self.table
        with self._tx() as conn:
            row = conn.execute(sa.select(t.c.status, t.c.results).where(t.c.job_id == job_id)).first()
        if row is None:
            raise UnknownJob(job_id)
        return row.status, (orjson.loads(row.results) if row.results is not None else None)

    def jobs(self, limit: int = 100, offset: int = 0, process_id: str | None = None,
             status: str | None = None) -> tuple[list[dict[str, Any]], int]:
        t = self.table
        where = []
        if process_id is not None:
            where.append(t.c.process_id == process_id)
        if status is not None:
            where.append(t.c.status == status)
        with self._tx() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(t).where(*where)).scalar_one()
            rows = conn.execute(sa.select(*[t.c[c] for c in COLUMNS if c != "results"]).where(*where)
                                .order_by(t.c.created.desc(), t.c.job_id).limit(limit).offset(offset)).all()
        return [self._doc(r) for r in rows], int(total)

    def claim(self, job_id: str, owner: str) -> bool:
        """Mark an accepted job, or a running one whose owner fell silent, as running by ``owner``; False if
        someone else has it (or it is gone)."""
        t, now = self.table, time.time()
        with self._tx() as conn:
            res = conn.execute(t.update().where(
                t.c.job_id == job_id,
                sa.or_(t.c.status == "accepted",
                       sa.and_(t.c.status == "running", t.c.heartbeat < now - self.stale_s)),
            ).values(status="running", owner=owner, started=sa.func.coalesce(t.c.started, now), heartbeat=now,
                     updated=now, message="running", attempts=t.c.attempts + 1))
        return res.rowcount == 1

    def progress(self, job_id: str, owner: str, percent: int, message: str | None = None) -> bool:
        """Record progress (also the heartbeat); False when the job is gone or no longer this owner's
        (dismissed, or taken over): the runner stops."""
        t, now = self.table, time.time()
        values: dict[str, Any] = {"progress": max(0, min(100, int(percent))), "heartbeat": now, "updated": now}
        if message is not None:
            values["message"] = message[:2000]
        with self._tx() as conn:
            res = conn.execute(t.update().where(t.c.job_id == job_id, t.c.owner == owner, t.c.status == "running")
                               .values(**values))
        return res.rowcount == 1

    def finish(self, job_id: str, owner: str | None, status: str, message: str, results: Any = None) -> bool:
        """The job's end, with its results, in one statement (a reader never sees ``successful`` without
        results). Only the owner of a running job — or anyone for an accepted one — may finish it."""
        assert status in ("successful", "failed")
        t, now = self.table, time.time()
        values: dict[str, Any] = {"status": status, "message": message[:2000], "finished": now, "updated": now,
                                  "heartbeat": now}
        if status == "successful":
            values["progress"] = 100
        if results is not None:
            values["results"] = orjson.dumps(results, option=orjson.OPT_SERIALIZE_NUMPY).decode()
        cond = [t.c.job_id == job_id]
        cond.append(sa.or_(t.c.status == "accepted", sa.and_(t.c.status == "running", t.c.owner == owner)))
        with self._tx() as conn:
            res = conn.execute(t.update().where(*cond).values(**values))
        return res.rowcount == 1

    def dismiss(self, job_id: str) -> dict[str, Any]:
        """Remove a job (a running one stops at its next progress report). Returns its last state."""
        doc = self.get(job_id)
        with self._tx() as conn:
            conn.execute(self.table.delete().where(self.table.c.job_id == job_id))
        return {**doc, "status": "dismissed", "message": "dismissed"}

    def beat(self, job_ids: list[str], owner: str) -> set[str]:
        """The heartbeat of the jobs this process runs (also between progress reports). Returns the ids still
        this owner's: a job missing from it was dismissed or taken over, and its runner must stop."""
        if not job_ids:
            return set()
        t, now = self.table, time.time()
        with self._tx() as conn:
            rows = conn.execute(t.update().where(t.c.job_id.in_(job_ids), t.c.owner == owner,
                                                 t.c.status.in_(ACTIVE))
                                .values(heartbeat=now).returning(t.c.job_id)).all()
        return {r.job_id for r in rows}

    def abandoned(self) -> list[str]:
        """Jobs waiting for a runner: accepted ones whose owner is gone and running ones with a stale heartbeat."""
        t, now = self.table, time.time()
        with self._tx() as conn:
            rows = conn.execute(sa.select(t.c.job_id).where(
                t.c.status.in_(ACTIVE), sa.or_(t.c.heartbeat.is_(None), t.c.heartbeat < now - self.stale_s))
                .order_by(t.c.created)).all()
        return [r.job_id for r in rows]
