"""Where incidents and their timelines live, on both engines, through one SQLAlchemy Core code path:

* PostGIS deployments: schema ``incidents`` in the layers' database (the store's own engine and pool);
* embedded deployments: a SQLite side file next to the GeoPackage (``<name>.incidents.sqlite``), WAL mode.

Append-only: the service only INSERTs; triggers on both engines refuse any UPDATE or DELETE of ``incidents``
and ``incident_events``, so the record cannot be rewritten even by a bug. Writers are serialised — a
PostgreSQL ``LOCK TABLE … IN SHARE ROW EXCLUSIVE MODE`` in the writing transaction, SQLite ``BEGIN
IMMEDIATE`` — so "is this team already committed?" and the dispatch that follows are one atomic step across
workers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from ...stores.base import Store

SCHEMA = "incidents"
PG_TRIGGER = """
CREATE OR REPLACE FUNCTION incidents.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION USING MESSAGE = 'incidents are append-only: ' || TG_OP || ' on ' || TG_TABLE_NAME; END $$;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'append_only' AND tgrelid = 'incidents.incidents'::regclass)
  THEN CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON incidents.incidents
       FOR EACH ROW EXECUTE FUNCTION incidents.refuse_change();
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'append_only'
                 AND tgrelid = 'incidents.incident_events'::regclass)
  THEN CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON incidents.incident_events
       FOR EACH ROW EXECUTE FUNCTION incidents.refuse_change();
  END IF;
END $$;
"""
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op.lower()} BEFORE {op} ON {t} "
    f"BEGIN SELECT RAISE(ABORT, 'incidents are append-only'); END"
    for t in ("incidents", "incident_events") for op in ("UPDATE", "DELETE")]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _plain(row: Any) -> dict[str, Any]:
    """A result row as a dict with plain ``str`` keys (SQLAlchemy's are ``quoted_name``)."""
    return {str(k): v for k, v in row._mapping.items()}


def side_file(gpkg: Path | str) -> Path:
    p = Path(gpkg)
    return p.with_name(p.stem + ".incidents.sqlite")


class IncidentStore:
    def __init__(self, engine: Engine, schema: str | None):
        self.engine, self.schema = engine, schema
        md = sa.MetaData(schema=schema)
        self.incidents = sa.Table(
            "incidents", md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("title", sa.Text, nullable=False),
            sa.Column("incident_type", sa.Text, nullable=False),
            sa.Column("lon", sa.Float, nullable=False),
            sa.Column("lat", sa.Float, nullable=False),
            sa.Column("occurred_at", sa.Text, nullable=False),
            sa.Column("reporter", sa.Text, nullable=False),
            sa.Column("created_at", sa.Text, nullable=False))
        self.events = sa.Table(
            "incident_events", md,
            sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("incident_id", sa.Integer, sa.ForeignKey(self.incidents.c.id), nullable=False, index=True),
            sa.Column("t", sa.Text, nullable=False),
            sa.Column("kind", sa.Text, nullable=False),
            sa.Column("actor", sa.Text),
            sa.Column("data", sa.Text, nullable=False))
        self.metadata = md
        self._ready = False

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def for_store(cls, store: Store) -> IncidentStore:
        """Next to the layers of ``store``: its PostgreSQL database, or a side file of its GeoPackage."""
        if store.kind == "postgis":
            return cls(store.engine, SCHEMA)  # type: ignore[attr-defined]
        path = side_file(store.path)  # type: ignore[attr-defined]
        engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn, _record):  # pragma: no cover - driver hook
            dbapi_conn.isolation_level = None       # let the begin hook below say BEGIN IMMEDIATE
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA foreign_keys=ON")

        @event.listens_for(engine, "begin")
        def _begin(conn):  # pragma: no cover - driver hook
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return cls(engine, None)

    def init(self) -> None:
        if self._ready:
            return
        with self.engine.begin() as conn:
            if self.schema:
                # one initialiser at a time; on an existing schema nothing below takes a table lock, so a worker
                # starting up never deadlocks with another one's dispatch
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('incidents.init'))"))
                conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {self.schema}"))
            self.metadata.create_all(conn)
            if self.schema:
                conn.exec_driver_sql(PG_TRIGGER)
            else:
                for ddl in SQLITE_TRIGGERS:
                    conn.exec_driver_sql(ddl)
        self._ready = True

    def _lock(self, conn: Connection) -> None:
        if self.schema:
            conn.execute(sa.text(f"LOCK TABLE {self.schema}.incident_events IN SHARE ROW EXCLUSIVE MODE"))

    # -- writes (one transaction each; ``check`` runs inside it, after the lock) -----------------------
    def create(self, row: dict[str, Any], actor: str | None) -> int:
        self.init()
        with self.engine.begin() as conn:
            self._lock(conn)
            iid = int(conn.execute(sa.insert(self.incidents).values(**row, created_at=now_iso())
                                   .returning(self.incidents.c.id)).scalar_one())
            conn.execute(sa.insert(self.events).values(incident_id=iid, t=now_iso(), kind="created", actor=actor,
                                                       data=orjson.dumps(row).decode()))
        return iid

    def append(self, incident_id: int, make: Callable[[Connection], list[tuple[str, dict[str, Any]]]],
               actor: str | None) -> list[int]:
        """Lock, let ``make(conn)`` read the current record and return the events to add (or raise), insert
        them, commit. Returns their sequence numbers."""
        self.init()
        with self.engine.begin() as conn:
            self._lock(conn)
            new = make(conn)
            seqs = []
            for kind, data in new:
                seqs.append(int(conn.execute(sa.insert(self.events).values(
                    incident_id=incident_id, t=now_iso(), kind=kind, actor=actor,
                    data=orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY).decode())
                    .returning(self.events.c.seq)).scalar_one()))
        return seqs

    # -- reads ------------------------------------------------------------------------------------------
    def incident(self, incident_id: int, conn: Connection | None = None) -> dict[str, Any] | None:
        self.init()
        q = sa.select(self.incidents).where(self.incidents.c.id == incident_id)
        row = self._one(q, conn)
        return _plain(row) if row is not None else None

    def all(self) -> list[dict[str, Any]]:
        self.init()
        with self.engine.connect() as conn:
            return [_plain(r) for r in conn.execute(sa.select(self.incidents).order_by(self.incidents.c.id))]

    def timeline(self, incident_id: int | None = None, after: int = 0, conn: Connection | None = None,
                 limit: int | None = None) -> list[dict[str, Any]]:
        """Events in order (of one incident, or of all after ``after``)."""
        self.init()
        q = sa.select(self.events).where(self.events.c.seq > after).order_by(self.events.c.seq)
        if incident_id is not None:
            q = q.where(self.events.c.incident_id == incident_id)
        if limit is not None:
            q = q.limit(limit)
        if conn is None:
            with self.engine.connect() as c:
                rows = list(c.execute(q))
        else:
            rows = list(conn.execute(q))
        return [{**_plain(r), "data": orjson.loads(r.data)} for r in rows]

    def closed_ids(self, conn: Connection | None = None) -> set[int]:
        self.init()
        q = sa.select(self.events.c.incident_id).where(self.events.c.kind == "closed")
        if conn is None:
            with self.engine.connect() as c:
                return {int(r[0]) for r in c.execute(q)}
        return {int(r[0]) for r in conn.execute(q)}

    def unit_events(self, conn: Connection | None = None) -> list[dict[str, Any]]:
        """Every dispatch and unit-state event (to know what is committed across incidents)."""
        self.init()
        q = (sa.select(self.events).where(self.events.c.kind.in_(("dispatch", "unit_state")))
             .order_by(self.events.c.seq))
        if conn is None:
            with self.engine.connect() as c:
                rows = list(c.execute(q))
        else:
            rows = list(conn.execute(q))
        return [{**_plain(r), "data": orjson.loads(r.data)} for r in rows]

    def _one(self, q, conn: Connection | None):
        if conn is None:
            with self.engine.connect() as c:
                return c.execute(q).first()
        return conn.execute(q).first()

    def drop(self) -> None:
        """Tests only: remove the tables (triggers go with them)."""
        with self.engine.begin() as conn:
            if self.schema:
                conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))
            else:
                self.metadata.drop_all(conn)
        self._ready = False
