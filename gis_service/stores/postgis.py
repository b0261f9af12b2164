"""The PostGIS store (SQLAlchemy 2 Core + GeoAlchemy2, psycopg 3).

Each layer is a table in schema ``riskmap`` built from its spec: typed columns, a geometry
column in EPSG:4326, a GiST index on the geometry and a GiST index on ``geom::geography`` so
``ST_DWithin``/``<->`` on the spheroid stay index-assisted. The database filters, measures and
ranks; geometries come back already serialised by ``ST_AsGeoJSON``. Every request value is a
bound parameter; every identifier comes from the catalogue.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import psycopg
import shapely
from geoalchemy2 import Geography, Geometry
from geoalchemy2.shape import from_shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Identity,
    Index,
    LargeBinary,
    MetaData,
    Table,
    Text,
    and_,
    bindparam,
    case,
    cast,
    create_engine,
    delete,
    event,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, ProgrammingError

from .. import access
from ..access import ScopeDenied
from ..catalog import Catalog, LayerSpec
from ..validation import Row
from . import cql_sql, mvt_sql
from .base import (
    COORD_PRECISION,
    EXPORT_ROWS,
    RESTAMP_CHUNK,
    Assign,
    AuditQuery,
    ExportChunk,
    Feature,
    FeatureNotFound,
    Page,
    Progress,
    Query,
    Store,
    StoreError,
    TileRequest,
    WriteBatch,
    audit_entry,
    bbox_parts,
    row_feature,
    upload_trail,
)
from .pg_driver import DriverStatement, observed
from .watchdog import WATCHDOG, Liveness, SelectOneProbe

log = logging.getLogger(__name__)

SCHEMA = "riskmap"
_SQL_TYPES: dict[str, Any] = {"string": Text, "integer": BigInteger, "number": Float(precision=53), "boolean": Boolean, "json": JSONB}


def build_tables(catalog: Catalog, metadata: MetaData) -> dict[str, Table]:
    tables = {}
    for spec in catalog:
        cols = [Column("id", BigInteger, Identity(always=False), primary_key=True)]
        cols += [Column(a.name, _SQL_TYPES[a.type], nullable=not a.required) for a in spec.attributes]
        cols.append(Column("geom", Geometry(geometry_type="GEOMETRY", srid=4326, spatial_index=False),
                           nullable=False))
        table = Table(spec.name, metadata, *cols, schema=SCHEMA)
        Index(f"{spec.name}_geom_gist", table.c.geom, postgresql_using="gist")
        Index(f"{spec.name}_geog_gist", cast(table.c.geom, Geography(srid=4326)), postgresql_using="gist")
        for a in spec.attributes:
            if a.enum is not None or a.name in ("park_id",):
                Index(f"{spec.name}_{a.name}_idx", table.c[a.name])
        tables[spec.name] = table
    return tables


COUNT_FUNCTIONS = """
CREATE OR REPLACE FUNCTION {schema}.count_rows_added() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  UPDATE {schema}.feature_counts SET n = n + (SELECT count(*) FROM added) WHERE layer = TG_TABLE_NAME;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION {schema}.count_rows_removed() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  UPDATE {schema}.feature_counts SET n = n - (SELECT count(*) FROM removed) WHERE layer = TG_TABLE_NAME;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION {schema}.count_rows_truncated() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  UPDATE {schema}.feature_counts SET n = 0 WHERE layer = TG_TABLE_NAME;
  RETURN NULL;
END $$;
"""
# Backfill of admin_code: one set-based UPDATE per id window, joined to the admin areas by the representative
# point; the finest area holding it wins (GB/T 2260: most significant digits, '220102' over '220100'), as
# LayersService.admin_codes decides for new writes. Identifiers come from the catalogue.
RESTAMP_SQL = """
UPDATE {schema}.{table} AS t SET admin_code = m.code
  FROM (SELECT DISTINCT ON (f.id) f.id, a.code
          FROM {schema}.{table} f
          JOIN {schema}.admin_areas a ON a.code IS NOT NULL AND ST_Intersects(a.geom, ST_PointOnSurface(f.geom))
         WHERE f.admin_code IS NULL AND f.id BETWEEN :lo AND :hi
         ORDER BY f.id, length(rtrim(a.code, '0')) DESC) AS m
 WHERE t.id = m.id
"""
RESTAMP_OWN_SQL = ("UPDATE {schema}.{table} AS t SET admin_code = t.{own} WHERE t.admin_code IS NULL "
                   "AND t.{own} IS NOT NULL AND t.id BETWEEN :lo AND :hi")
# ... and with its audit records, in the same statement (so the same transaction): one per feature that got a
# code (action 'restamp'), the feature before (admin_code null) and after, as the service's other writes record
# them. {update} is one of the two above; {props} the layer's attributes as JSON (names from the catalogue).
RESTAMP_AUDIT_SQL = """
WITH changed AS ({update} RETURNING t.id, t.admin_code, ({props})::jsonb AS props,
                                   ST_AsGeoJSON(t.geom, {precision})::jsonb AS geometry)
INSERT INTO {schema}.audit (who, role, jurisdiction, via, request_id, action, layer, fid, admin_code, prev_code,
                            regulated, before, after)
SELECT :who, :role, :jurisdiction, :via, :request_id, 'restamp', :layer, c.id, c.admin_code, NULL, :regulated,
       jsonb_build_object('type', 'Feature', 'id', c.id, 'geometry', c.geometry,
                          'properties', c.props || jsonb_build_object('admin_code', NULL)),
       jsonb_build_object('type', 'Feature', 'id', c.id, 'geometry', c.geometry, 'properties', c.props)
  FROM changed c WHERE c.admin_code IS NOT NULL
"""

# Counts per (layer, admin_code), kept by the same kind of triggers, so a scoped caller's numberMatched is a sum
# over its codes instead of a COUNT(*) under row-level security.
CODE_COUNT_FUNCTIONS = """
CREATE OR REPLACE FUNCTION {schema}.count_codes_added() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  INSERT INTO {schema}.code_counts AS c (layer, admin_code, n)
    SELECT TG_TABLE_NAME, coalesce(admin_code, ''), count(*) FROM added GROUP BY 2
  ON CONFLICT (layer, admin_code) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION {schema}.count_codes_removed() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  UPDATE {schema}.code_counts c SET n = c.n - r.k
    FROM (SELECT coalesce(admin_code, '') AS code, count(*) AS k FROM removed GROUP BY 1) r
   WHERE c.layer = TG_TABLE_NAME AND c.admin_code = r.code;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION {schema}.count_codes_moved() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  UPDATE {schema}.code_counts c SET n = c.n - r.k
    FROM (SELECT coalesce(admin_code, '') AS code, count(*) AS k FROM removed GROUP BY 1) r
   WHERE c.layer = TG_TABLE_NAME AND c.admin_code = r.code;
  INSERT INTO {schema}.code_counts AS c (layer, admin_code, n)
    SELECT TG_TABLE_NAME, coalesce(admin_code, ''), count(*) FROM added GROUP BY 2
  ON CONFLICT (layer, admin_code) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION {schema}.count_codes_truncated() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  DELETE FROM {schema}.code_counts WHERE layer = TG_TABLE_NAME;
  RETURN NULL;
END $$;
"""
CODE_COUNT_TRIGGERS = """
CREATE OR REPLACE TRIGGER {table}_codes_ins AFTER INSERT ON {schema}.{table}
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION {schema}.count_codes_added();
CREATE OR REPLACE TRIGGER {table}_codes_del AFTER DELETE ON {schema}.{table}
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION {schema}.count_codes_removed();
CREATE OR REPLACE TRIGGER {table}_codes_upd AFTER UPDATE ON {schema}.{table}
  REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION {schema}.count_codes_moved();
CREATE OR REPLACE TRIGGER {table}_codes_trunc AFTER TRUNCATE ON {schema}.{table}
  FOR EACH STATEMENT EXECUTE FUNCTION {schema}.count_codes_truncated();
"""
CODE_COUNT_START = """
INSERT INTO {schema}.code_counts (layer, admin_code, n)
  SELECT '{table}', coalesce(admin_code, ''), count(*) FROM {schema}.{table} GROUP BY 2
  ON CONFLICT (layer, admin_code) DO NOTHING;
"""

COUNT_TRIGGERS = """
CREATE OR REPLACE TRIGGER {table}_count_ins AFTER INSERT ON {schema}.{table}
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION {schema}.count_rows_added();
CREATE OR REPLACE TRIGGER {table}_count_del AFTER DELETE ON {schema}.{table}
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION {schema}.count_rows_removed();
CREATE OR REPLACE TRIGGER {table}_count_trunc AFTER TRUNCATE ON {schema}.{table}
  FOR EACH STATEMENT EXECUTE FUNCTION {schema}.count_rows_truncated();
"""


# Every committed write to a layer table (any statement, also from outside the service) bumps its revision in
# the same transaction; a revision is at least the time in µs, so it never repeats after the tables are rebuilt.
REVISION_FUNCTION = """
CREATE OR REPLACE FUNCTION {schema}.bump_revision() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  UPDATE {schema}.layer_revisions
     SET revision = greatest(revision + 1, (extract(epoch FROM clock_timestamp()) * 1e6)::bigint)
   WHERE layer = TG_TABLE_NAME;
  RETURN NULL;
END $$;
"""
REVISION_TRIGGER = """
CREATE OR REPLACE TRIGGER {table}_revision AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {schema}.{table}
  FOR EACH STATEMENT EXECUTE FUNCTION {schema}.bump_revision();
"""


# Row-level security: requests of a caller with a jurisdiction run as the database role riskmap_j_<code> (a
# member of riskmap_scoped, created on first use), so the database itself keeps them inside it — a query the
# application forgot to filter still sees only the caller's rows. The jurisdiction is the role's name; the
# settings that carry its bounds (SCOPE_INSIDE) can name only that, never widen it. Regulated layers: every command within the jurisdiction; shared layers:
# read by all, written within it. The service's own login (operators, the CLI) is not a member and is
# unaffected, as PostgreSQL table owners are.
SCOPED_GROUP = "riskmap_scoped"
ROLE_PREFIX = "riskmap_j_"
SCOPE_SETUP = """
DO $$ BEGIN CREATE ROLE riskmap_scoped NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
CREATE OR REPLACE FUNCTION {schema}.caller_jurisdiction() RETURNS text LANGUAGE sql STABLE AS
  $f$ SELECT CASE WHEN starts_with(current_user::text, 'riskmap_j_') THEN substr(current_user::text, 11) END $f$;
CREATE OR REPLACE FUNCTION {schema}.caller_jurisdiction_end() RETURNS text LANGUAGE sql STABLE AS
  $f$ SELECT CASE WHEN starts_with(current_user::text, 'riskmap_j_')
                  THEN left(substr(current_user::text, 11), -1) || chr(ascii(right(current_user::text, 1)) + 1) END $f$;
CREATE OR REPLACE FUNCTION {schema}.scope_lo() RETURNS text LANGUAGE sql STABLE AS
  $f$ SELECT coalesce(nullif(current_setting('riskmap.scope_lo', true), ''),
                      CASE WHEN starts_with(current_user::text, 'riskmap_j_') THEN substr(current_user::text, 11) END) $f$;
CREATE OR REPLACE FUNCTION {schema}.scope_hi() RETURNS text LANGUAGE sql STABLE AS
  $f$ SELECT coalesce(nullif(current_setting('riskmap.scope_hi', true), ''),
                      CASE WHEN starts_with(current_user::text, 'riskmap_j_')
                           THEN left(substr(current_user::text, 11), -1) || chr(ascii(right(current_user::text, 1)) + 1)
                      END) $f$;
CREATE OR REPLACE FUNCTION {schema}.scope_is_role() RETURNS boolean LANGUAGE plpgsql STABLE AS $f$
DECLARE
  j text := CASE WHEN starts_with(current_user::text, 'riskmap_j_') THEN substr(current_user::text, 11) END;
  e text := left(j, -1) || chr(ascii(right(j, 1)) + 1);
BEGIN
  RETURN coalesce(nullif(current_setting('riskmap.scope_lo', true), ''), j) IS NOT DISTINCT FROM j
     AND coalesce(nullif(current_setting('riskmap.scope_hi', true), ''), e) IS NOT DISTINCT FROM e;
END $f$;
GRANT USAGE ON SCHEMA {schema} TO riskmap_scoped;
GRANT SELECT ON {schema}.feature_counts, {schema}.layer_revisions, {schema}.code_counts TO riskmap_scoped;
"""
SCOPE_TABLE = """
GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.{table} TO riskmap_scoped;
CREATE INDEX IF NOT EXISTS {table}_admin_code_prefix ON {schema}.{table} (admin_code text_pattern_ops);
GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO riskmap_scoped;
ALTER TABLE {schema}.{table} ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS scope_read ON {schema}.{table};
DROP POLICY IF EXISTS scope_insert ON {schema}.{table};
DROP POLICY IF EXISTS scope_update ON {schema}.{table};
DROP POLICY IF EXISTS scope_delete ON {schema}.{table};
CREATE POLICY scope_read ON {schema}.{table} FOR SELECT TO riskmap_scoped USING ({read});
CREATE POLICY scope_insert ON {schema}.{table} FOR INSERT TO riskmap_scoped WITH CHECK ({inside});
CREATE POLICY scope_update ON {schema}.{table} FOR UPDATE TO riskmap_scoped USING ({inside}) WITH CHECK ({inside});
CREATE POLICY scope_delete ON {schema}.{table} FOR DELETE TO riskmap_scoped USING ({inside});
"""
# Regulated layers: id order within a jurisdiction's range from one index — a scoped page (ORDER BY id LIMIT n)
# walks it with the range as an index condition (bounds computed once) instead of fetching every row of the
# pk walk to test its admin_code; NULL codes (whole service only) are never in a scoped caller's range.
SCOPE_ORDER_INDEX = """
CREATE INDEX IF NOT EXISTS {table}_id_in_scope ON {schema}.{table} (id, admin_code text_pattern_ops)
  WHERE admin_code IS NOT NULL;
"""
# "admin_code starts with the caller's jurisdiction", written as the byte range [J, J'), J' = J with its last digit
# + 1 ('2201' → '2202'; jurisdictions are digits only, role_name checks): exactly the same rows as starts_with
# (text_pattern_ops compares bytes). The bounds are the settings riskmap.scope_lo/hi, set by the service with the
# role in the same statement; a session without them falls back to the role's own range. The settings cannot
# widen a role's scope: the gate (an InitPlan, evaluated once per query) lets rows through only when they name
# exactly the role's range. Why settings rather than the role alone: current_setting() is STABLE, so the planner
# folds it into its row estimate (a city's 7 % of the rows, a county's 0.2 %) and an index walks the range with
# bounds computed once; bounds hidden in InitPlans get the default estimate (0.5 %), and a city's page of 100
# then read and sorted all of the city's rows instead of walking id order (bench/bench_jurisdiction.py).
# The fallback (a bare session as the role) is correct but slow in a per-row filter: current_user is a
# syscache lookup per call, ≈ 10 µs a row.
SCOPE_INSIDE = ("((SELECT {schema}.scope_is_role()) AND admin_code ~>=~ {schema}.scope_lo() "
                "AND admin_code ~<~ {schema}.scope_hi())")


# The audit trail: one row per feature written, in the write's transaction; append-only (a trigger refuses
# UPDATE, DELETE and TRUNCATE for everybody); callers read the records of their jurisdiction (row-level security).
AUDIT_SETUP = """
CREATE OR REPLACE FUNCTION {schema}.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit trail is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE OR REPLACE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON {schema}.audit
  FOR EACH ROW EXECUTE FUNCTION {schema}.audit_append_only();
CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON {schema}.audit
  FOR EACH STATEMENT EXECUTE FUNCTION {schema}.audit_append_only();
GRANT SELECT, INSERT ON {schema}.audit TO riskmap_scoped;
GRANT USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO riskmap_scoped;
ALTER TABLE {schema}.audit ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS audit_read ON {schema}.audit;
DROP POLICY IF EXISTS audit_insert ON {schema}.audit;
CREATE POLICY audit_read ON {schema}.audit FOR SELECT TO riskmap_scoped USING (NOT regulated
  OR starts_with(admin_code, {schema}.caller_jurisdiction()) OR starts_with(prev_code, {schema}.caller_jurisdiction()));
CREATE POLICY audit_insert ON {schema}.audit FOR INSERT TO riskmap_scoped WITH CHECK (true);
"""


def build_audit_table(metadata: MetaData) -> Table:
    table = Table("audit", metadata,
                  Column("seq", BigInteger, Identity(always=False), primary_key=True),
                  Column("at", DateTime(timezone=True), nullable=False, server_default=func.clock_timestamp()),
                  *[Column(n, Text) for n in ("who", "role", "jurisdiction", "via", "request_id")],
                  Column("action", Text, nullable=False), Column("layer", Text, nullable=False),
                  Column("fid", BigInteger, nullable=False), Column("admin_code", Text), Column("prev_code", Text),
                  Column("regulated", Boolean, nullable=False), Column("before", JSONB), Column("after", JSONB),
                  schema=SCHEMA)
    Index("audit_feature", table.c.layer, table.c.fid, table.c.seq)
    Index("audit_at", table.c.at)
    Index("audit_who", table.c.who, table.c.seq)
    return table


def jurisdiction_end(jurisdiction: str) -> str:
    """The first code after a jurisdiction's range ('2201' → '2202', '2209' → '220:'), as caller_jurisdiction_end."""
    return jurisdiction[:-1] + chr(ord(jurisdiction[-1]) + 1)


def role_name(jurisdiction: str) -> str:
    """The database role of a (normalised, digits only) jurisdiction."""
    if not jurisdiction.isdigit():
        raise ValueError(f"not a normalised jurisdiction: {jurisdiction!r}")
    return ROLE_PREFIX + jurisdiction


_WKB_GEOM = func.ST_GeomFromWKB(bindparam("wkb", type_=LargeBinary), 4326)


def _geog(expr):
    return cast(expr, Geography(srid=4326))


PING_IDLE_S = 0.5  # a pooled connection idle longer than this is checked before use (one SELECT 1)


def _session_options(connect_timeout_s: float, statement_timeout_s: float, deadline_s: float) -> tuple[str, float]:
    """libpq ``options`` of every connection (statement timeout, no JIT) and the connect timeout (s)."""
    return (f"-c statement_timeout={int(statement_timeout_s * 1000)} -c jit=off",
            min(connect_timeout_s, max(2.0, deadline_s)))  # libpq's smallest connect timeout is 2 s


def make_engine(url: str, connect_timeout_s: float = 5.0, statement_timeout_s: float = 30.0,
                pool_size: int = 10, deadline_s: float = 3.0) -> Engine:
    """An engine whose calls cannot hang: a connect timeout (libpq), a statement timeout (server), a
    client-side deadline (:mod:`.watchdog`) for a server that is frozen and enforces nothing, and a
    liveness probe (:class:`.watchdog.Liveness`) that answers for a frozen server within ``deadline_s``
    and makes new calls fail at once (→ 503) until it answers again. A pooled connection idle for more
    than PING_IDLE_S is checked with ``SELECT 1`` at checkout and replaced if the server closed it
    (a restart), so no request gets the error of a connection killed earlier; under load connections
    are reused within milliseconds and skip the check. A pool checkout waits at most the connect timeout."""
    # jit=off: a tile statement's planned cost (ST_AsMVTGeom's estimate) passes jit_above_cost, and LLVM then spends
    # ≈ 25 ms compiling a statement that runs in ≈ 10 ms (EXPLAIN ANALYZE of a z 6 tile: "Emission 24.1 ms" of 35 ms);
    # this service runs short OLTP/tile statements, where JIT never pays back
    options, connect_s = _session_options(connect_timeout_s, statement_timeout_s, deadline_s)
    # LIFO: the connection used last is reused first, so under steady load the same few stay warm (no
    # ping) and only connections idle for longer than PING_IDLE_S are checked
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800,
                           pool_timeout=max(1.0, connect_s), pool_use_lifo=True,
                           connect_args={"connect_timeout": max(2, round(connect_s)), "options": options})
    deadline = statement_timeout_s + max(1.0, connect_timeout_s)
    liveness = Liveness(SelectOneProbe(engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
                                        connect_s), deadline_s)
    engine.liveness = liveness  # type: ignore[attr-defined]  # for tests and /readyz

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, conn_rec, cargs, cparams):
        if liveness.frozen:
            raise psycopg.OperationalError("the database server is not answering")
        return None

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn, record, proxy):
        if liveness.frozen:
            raise psycopg.OperationalError("the database server is not answering")
        if time.monotonic() - record.info.get("checked_in", 0.0) > PING_IDLE_S:
            _ping(dbapi_conn, liveness)

    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_conn, record):
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "before_cursor_execute")
    def _arm(conn, cursor, statement, parameters, context, executemany):
        fd = _fd(conn)
        guards = conn.info.setdefault("_watch", [])
        for guard in (WATCHDOG.deadline(fd, deadline), liveness.call(fd)):
            guard.__enter__()
            guards.append(guard)

    @event.listens_for(engine, "after_cursor_execute")
    def _disarm(conn, cursor, statement, parameters, context, executemany):
        guards = conn.info.get("_watch")
        while guards:
            guards.pop().__exit__(None, None, None)

    @event.listens_for(engine, "handle_error")
    def _disarm_on_error(ctx):
        conn = ctx.connection
        guards = conn.info.get("_watch") if conn is not None else None
        while guards:
            guards.pop().__exit__(None, None, None)

    # the guard above is the engine's own listener; the driver path (pg_driver) arms the same guards itself and
    # steps aside for any further listener
    engine.own_cursor_listeners = len(engine.dispatch.before_cursor_execute)  # type: ignore[attr-defined]
    return engine


def _ping(dbapi_conn, liveness: Liveness) -> None:
    """SELECT 1 on a pooled connection; a dead one raises DisconnectionError, so the pool replaces it."""
    try:
        with liveness.call(dbapi_conn.pgconn.socket):
            dbapi_conn.execute("SELECT 1")
            if not dbapi_conn.autocommit:
                dbapi_conn.rollback()
    except (psycopg.Error, OSError) as exc:
        raise DisconnectionError(f"pooled connection is dead: {exc}") from exc


def _fd(conn) -> int | None:
    try:
        return conn.connection.dbapi_connection.pgconn.socket
    except Exception:  # noqa: BLE001 - no socket: no deadline
        return None


class PostGISStore(Store):
    kind = "postgis"
    _audit = True  # every write is audited; only bench/bench_jurisdiction.py turns it off, to measure its cost

    def __init__(self, catalog: Catalog, url: str, engine: Engine | None = None,
                 connect_timeout_s: float = 5.0, statement_timeout_s: float = 30.0, deadline_s: float = 3.0):
        self._mvt_sql: dict[tuple, tuple[str, dict[str, Any]]] = {}  # compiled tile SQL by layer shape
        super().__init__(catalog)
        self.url = url
        self.engine = engine or make_engine(url, connect_timeout_s, statement_timeout_s, deadline_s=deadline_s)
        self._deadline_s = statement_timeout_s + max(1.0, connect_timeout_s)
        self._ready = False
        # Reads run in autocommit: no BEGIN/ROLLBACK round trips around a single SELECT.
        self.reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._statements: dict[tuple, Any] = {}
        self._driver_statements: dict[tuple, DriverStatement | None] = {}
        self._extents: dict[tuple[str, str], tuple[int, float, Any]] = {}
        self._roles: set[str] = set()
        self.metadata = MetaData()
        self.tables = build_tables(catalog, self.metadata)
        self.code_counts = Table("code_counts", self.metadata, Column("layer", Text, primary_key=True),
                                 Column("admin_code", Text, primary_key=True), Column("n", BigInteger, nullable=False),
                                 schema=SCHEMA)
        self.counts_table = Table("feature_counts", self.metadata, Column("layer", Text, primary_key=True),
                                  Column("n", BigInteger, nullable=False), schema=SCHEMA)
        self.revisions_table = Table("layer_revisions", self.metadata, Column("layer", Text, primary_key=True),
                                     Column("revision", BigInteger, nullable=False), schema=SCHEMA)
        self.audit_table = build_audit_table(self.metadata)

    def dataset(self) -> str:
        u = self.engine.url
        return f"postgis://{u.host or ''}:{u.port or 5432}/{u.database or ''}"

    # -- lifecycle ---------------------------------------------------------------------------
    def init(self) -> None:
        """Create the schema once reachable; a database that is down raises StoreError (→ 503). Every
        request calls :meth:`_table` first, which retries this until it succeeds, so a service started
        while the database was down recovers by itself."""
        try:
            with self.engine.begin() as conn:
                # one schema set-up at a time across processes: two workers starting together otherwise race on
                # CREATE OR REPLACE FUNCTION ("tuple concurrently updated") and one worker dies at start
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"{SCHEMA}.init"})
                self._as_caller(conn, local=True, role="none")
                digest = self._setup_digest()
                if self._setup_done(conn, digest, [t.name for t in self.metadata.sorted_tables if t.schema == SCHEMA]):
                    # another process set up this very schema: no DDL (its exclusive locks would deadlock with
                    # that process's writes)
                    self._ready = True
                    return
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
                conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
                self.metadata.create_all(conn, checkfirst=True)
                conn.execute(text(COUNT_FUNCTIONS.format(schema=SCHEMA)))
                conn.execute(text(REVISION_FUNCTION.format(schema=SCHEMA)))
                conn.execute(text(CODE_COUNT_FUNCTIONS.format(schema=SCHEMA)))
                conn.execute(text(SCOPE_SETUP.format(schema=SCHEMA)))
                conn.execute(text(AUDIT_SETUP.format(schema=SCHEMA)))
                for name in self.tables:
                    # identifiers below come from the catalogue, never from a request
                    # tables made before jurisdictions existed get the column (their rows: NULL = whole service only)
                    conn.execute(text(f"ALTER TABLE {SCHEMA}.{name} ADD COLUMN IF NOT EXISTS admin_code text"))
                    conn.execute(text(COUNT_TRIGGERS.format(schema=SCHEMA, table=name)))
                    self._start_code_counts(conn, name)
                    conn.execute(text(REVISION_TRIGGER.format(schema=SCHEMA, table=name)))
                    inside = SCOPE_INSIDE.format(schema=SCHEMA)
                    read = inside if self.spec(name).regulated else "true"
                    conn.execute(text(SCOPE_TABLE.format(schema=SCHEMA, table=name, read=read, inside=inside)))
                    if self.spec(name).regulated:
                        conn.execute(text(SCOPE_ORDER_INDEX.format(schema=SCHEMA, table=name)))
                    conn.execute(pg_insert(self.revisions_table).values(
                        layer=name, revision=literal_column("(extract(epoch FROM clock_timestamp()) * 1e6)::bigint"))
                        .on_conflict_do_nothing(index_elements=["layer"]))
                    start = select(literal(name), func.count()).select_from(self.tables[name])
                    conn.execute(pg_insert(self.counts_table).from_select(["layer", "n"], start)
                                 .on_conflict_do_nothing(index_elements=["layer"]))
                conn.execute(text(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_setup (digest text PRIMARY KEY)"))
                conn.execute(text(f"INSERT INTO {SCHEMA}.schema_setup VALUES (:d) ON CONFLICT DO NOTHING"),  # noqa: S608
                             {"d": digest})
        except (OperationalError, InterfaceError) as exc:
            first = str(exc.orig).strip().splitlines()[0] if exc.orig is not None and str(exc.orig).strip() else exc
            raise StoreError(f"cannot reach PostGIS at {self.engine.url.render_as_string(hide_password=True)}: "
                             f"{first}") from exc
        self._ready = True

    def _setup_digest(self) -> str:
        """What :meth:`init` would create: this module's DDL and the catalogue's tables (any change → set up again)."""
        tables = [(t.fullname, [(c.name, str(c.type)) for c in t.columns]) for t in self.metadata.sorted_tables]
        regulated = sorted(name for name in self.tables if self.spec(name).regulated)
        source = Path(__file__).read_bytes() + Path(access.__file__).read_bytes()
        return hashlib.sha256(source + repr((tables, regulated)).encode()).hexdigest()

    @staticmethod
    def _setup_done(conn: Any, digest: str, tables: list[str]) -> bool:
        """The marker of this digest is there and so is every table (a drop of tables alone sets up again)."""
        exists = conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"{SCHEMA}.schema_setup"}).scalar()
        present = conn.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = :s AND tablename = ANY(:n)"),
                               {"s": SCHEMA, "n": tables}).scalar()
        return bool(exists) and present == len(set(tables)) and conn.execute(
            text(f"SELECT EXISTS (SELECT 1 FROM {SCHEMA}.schema_setup WHERE digest = :d)"),  # noqa: S608
            {"d": digest}).scalar()

    def ping(self) -> None:
        """Raise unless the database answers (opening the store first if it never was)."""
        if not self._ready:
            self.init()
            return
        with self.reader.connect() as conn:
            conn.execute(text("SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()

    def drop_all(self) -> None:
        """Drop the service's tables (tests and `init-db --drop`)."""
        with self.engine.begin() as conn:
            self._as_caller(conn, local=True, role="none")
            self.metadata.drop_all(conn, checkfirst=True)
            conn.execute(text(f"DROP TABLE IF EXISTS {SCHEMA}.schema_setup"))

    def _start_code_counts(self, conn, name: str) -> None:
        """Per-code counts of a layer: triggers first, then the rows counted once (identifiers from the catalogue)."""
        conn.execute(text(CODE_COUNT_TRIGGERS.format(schema=SCHEMA, table=name)))
        if conn.execute(select(self.code_counts.c.layer).where(self.code_counts.c.layer == name).limit(1)).first() \
                is None:
            conn.execute(text(CODE_COUNT_START.format(schema=SCHEMA, table=name)))

    # -- the caller's scope --------------------------------------------------------------------
    def _role(self, jurisdiction: str) -> str:
        """The role of ``jurisdiction`` ('' → 'none': the login itself), created on first use."""
        if not jurisdiction:
            return "none"
        name = role_name(jurisdiction)
        if name not in self._roles:
            with self.engine.begin() as conn:  # identifiers: digits only (role_name checks)
                self._as_caller(conn, local=True, role="none")
                conn.execute(text(f"DO $$ BEGIN CREATE ROLE {name} NOLOGIN; EXCEPTION WHEN duplicate_object OR "
                                  f"unique_violation THEN NULL; END $$"))
                conn.execute(text(f"GRANT {SCOPED_GROUP} TO {name}"))
            self._roles.add(name)
        return name

    def _as_caller(self, conn, local: bool = False, role: str | None = None) -> None:
        """Run what follows on ``conn`` as the current scope's database role (or ``role``; 'none' = the login).
        Reads (autocommit) set it for the session and remember it on the connection, so a pooled connection
        switches only when the caller's jurisdiction differs; writes set it for their transaction only. The
        role's range bounds (SCOPE_INSIDE) are set in the same statement: one round trip."""
        jurisdiction = access.jurisdiction() if role is None else ""
        role = role or self._role(jurisdiction)
        if local and role == "none" and conn.info.get("riskmap_role", "none") == "none":
            return
        if not local and conn.info.get("riskmap_role", "none") == role:
            return
        lo, hi = (jurisdiction, jurisdiction_end(jurisdiction)) if jurisdiction and role != "none" else ("", "")
        conn.execute(select(func.set_config("role", role, local), func.set_config("riskmap.scope_lo", lo, local),
                            func.set_config("riskmap.scope_hi", hi, local)))
        if not local:
            conn.info["riskmap_role"] = role

    @contextmanager
    def _read(self) -> Iterator[Any]:
        with self.reader.connect() as conn:
            self._as_caller(conn)
            yield conn

    def _scoped_layer(self, layer: str) -> bool:
        return bool(access.jurisdiction()) and self.spec(layer).regulated

    # -- helpers -----------------------------------------------------------------------------
    def _table(self, layer: str) -> Table:
        self.spec(layer)
        if not self._ready:
            self.init()
        return self.tables[layer]

    def _columns(self, table: Table, spec: LayerSpec, properties: Sequence[str] | None):
        names = list(properties) if properties is not None else list(spec.attribute_names)
        return [table.c[n] for n in names]

    @staticmethod
    def _geojson(table: Table):
        return func.ST_AsGeoJSON(table.c.geom, COORD_PRECISION).label("__geojson")

    @staticmethod
    def _features(rows, names: list[str], with_distance: bool = False) -> list[Feature]:
        """Features from result rows (mappings: column name → value)."""
        out = []
        for m in rows:
            props = {str(n): m[n] for n in names}
            out.append(Feature(int(m["id"]), props, m["__geojson"],
                               float(m["__distance"]) if with_distance else None))
        return out

    def _filter_clause(self, table: Table, filters: dict[str, Any] | None):
        return [table.c[name] == bindparam(None, value, type_=table.c[name].type)
                for name, value in (filters or {}).items()]

    # -- reads -------------------------------------------------------------------------------
    def _where(self, table: Table, spec: LayerSpec, query: Query):
        clauses = self._filter_clause(table, query.filters)
        if query.bbox is not None:
            parts = [func.ST_Intersects(table.c.geom, func.ST_MakeEnvelope(*p, 4326)) for p in bbox_parts(query.bbox)]
            clauses.append(or_(*parts) if len(parts) > 1 else parts[0])
        if query.cql is not None:
            clauses.append(cql_sql.clause(table, query.cql))
        if query.min_id is not None:
            clauses.append(table.c.id > bindparam(None, int(query.min_id), type_=BigInteger))
        if query.name_contains and spec.has_attribute("name"):
            needle = query.name_contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append(table.c.name.ilike(f"%{needle}%", escape="\\"))
        return and_(*clauses) if clauses else None

    def items(self, layer: str, query: Query) -> Page:
        spec = self.check(layer, query)
        table = self._table(layer)
        names = list(query.properties) if query.properties is not None else list(spec.attribute_names)
        where = self._where(table, spec, query)

        def order(cols):
            keys = []
            for k, asc in query.sortby:
                col = cols[k]
                keys.append(col.asc().nulls_last() if asc else col.desc().nulls_last())
            return [*keys, cols["id"].asc()]

        # Page first, then serialise only the page's rows (OFFSET rows are never serialised).
        selected = select(table)
        if where is not None:
            selected = selected.where(where)
        # one row past the page tells whether a next page exists without counting the selection
        page = selected.order_by(*order(table.c)).limit(query.limit + 1).offset(query.offset).subquery("page")
        props = func.json_build_object(*[x for n in names for x in (literal(n), page.c[n])])
        stmt = select(page.c.id, cast(props, Text).label("__props"),
                      func.ST_AsGeoJSON(page.c.geom, COORD_PRECISION).label("__geojson")).order_by(*order(page.c))
        with self._read() as conn:
            rows = conn.execute(stmt).fetchall()
            more = len(rows) > query.limit
            rows = rows[:query.limit]
            exact = True
            if query.offset == 0 and not more:
                matched = len(rows)
            elif where is None:
                matched = self._layer_count(conn, layer)
            elif query.count_cap is None:
                matched = int(conn.execute(select(func.count()).select_from(table).where(where)).scalar_one())
            else:
                matched, exact = self._bounded_count(conn, table, where, query.count_cap)
        features = [Feature(int(r[0]), None, r[2], properties_json=r[1]) for r in rows]
        return Page(features, matched, exact, more)

    @staticmethod
    def _bounded_count(conn, table, where, cap: int) -> tuple[int, bool]:
        """(count, exact): the selection's rows counted up to ``cap`` + 1 (``LIMIT`` inside the count, so the scan
        stops there); more than ``cap`` → (cap + 1, False) and the API omits numberMatched (OGC API Features allows
        it) instead of scanning millions of rows for every page of a broad filter."""
        capped = select(literal(1).label("one")).select_from(table).where(where) \
            .limit(bindparam("count_cap", cap + 1, type_=BigInteger)).subquery("capped")
        n = int(conn.execute(select(func.count()).select_from(capped)).scalar_one())
        return (n, True) if n <= cap else (n, False)

    def _layer_count(self, conn, layer: str) -> int:
        """Exact row count kept by triggers (no COUNT(*) scan per page)."""
        if self._scoped_layer(layer):  # the kept count is the whole layer's: add up the role's codes
            c = self.code_counts.c
            return int(conn.execute(select(func.coalesce(func.sum(c["n"]), 0)).where(
                c["layer"] == layer, func.starts_with(c["admin_code"], access.jurisdiction()))).scalar_one())
        counts = self.counts_table
        n = conn.execute(select(counts.c.n).where(counts.c.layer == layer)).scalar_one_or_none()
        if n is None:
            return int(conn.execute(select(func.count()).select_from(self.tables[layer])).scalar_one())
        return int(n)

    def revision(self, layer: str) -> int:
        return self.revisions([layer])[0]

    def revisions(self, layers: Sequence[str]) -> tuple[int, ...]:
        for layer in layers:
            self._table(layer)
        rev = self.revisions_table
        stmt = self._statements.get(("revisions",))
        if stmt is None:
            stmt = self._statements[("revisions",)] = select(rev.c.layer, rev.c.revision).where(
                rev.c.layer.in_(bindparam("layers", expanding=True)))
        with self._read() as conn:
            found = dict(conn.execute(stmt, {"layers": list(layers)}).fetchall())
        return tuple(int(found.get(layer, 0)) for layer in layers)

    def get(self, layer: str, fid: int) -> Feature:
        spec = self.spec(layer)
        table = self._table(layer)
        cols = self._columns(table, spec, None)
        stmt = select(table.c.id, *cols, self._geojson(table)).where(table.c.id == bindparam("fid", int(fid)))
        with self._read() as conn:
            rows = conn.execute(stmt).fetchall()
        if not rows:
            raise FeatureNotFound(layer, fid)
        return self._features([r._mapping for r in rows], [c.name for c in cols])[0]

    EXPORT_IDLE_S = 120  # a download whose client stops reading for this long ends (its snapshot is released)

    def export(self, layer: str, query: Query, rows: int = EXPORT_ROWS) -> Iterator[ExportChunk]:
        """One statement over one snapshot (a read-only REPEATABLE READ transaction, as the caller's role, so row-level
        security scopes it as any read): the selection in id order through a server-side cursor, ``rows`` per
        ``FETCH``. Nothing is counted; the database never holds more than the cursor's position; every ``FETCH`` is
        its own statement, so ``statement_timeout`` bounds each chunk, not the whole download. Geometries as WKB,
        JSON attributes as their text. A client that stops reading holds the transaction open at most
        ``EXPORT_IDLE_S`` (``idle_in_transaction_session_timeout``)."""
        spec = self.check(layer, query)
        table = self._table(layer)
        where = self._where(table, spec, query)
        cols = [cast(table.c[a.name], Text) if a.type == "json" else table.c[a.name] for a in spec.attributes]
        stmt = select(table.c.id, *cols, func.ST_AsBinary(table.c.geom)).order_by(table.c.id)
        if where is not None:
            stmt = stmt.where(where)
        names = [a.name for a in spec.attributes]
        with self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                self._as_caller(conn, local=True)
                conn.execute(select(func.set_config("idle_in_transaction_session_timeout",
                                                    str(self.EXPORT_IDLE_S * 1000), True)))
                result = conn.execution_options(yield_per=rows).execute(stmt)   # a server-side cursor, FETCH rows
                for part in result.partitions(rows):
                    values = list(zip(*part, strict=True))
                    yield ExportChunk(np.fromiter(values[0], dtype=np.int64, count=len(part)),
                                      np.array(values[-1], dtype=object),
                                      {n: list(v) for n, v in zip(names, values[1:-1], strict=True)})

    def count(self, layer: str) -> int:
        self._table(layer)
        with self._read() as conn:
            return self._layer_count(conn, layer)

    EXTENT_TTL_S = 60.0

    def extent(self, layer: str) -> tuple[float, float, float, float] | None:
        """The layer's bbox. ``ST_Extent`` scans the whole table (~0.2 s per million rows) and every
        ``/collections`` request asks for every layer, so it is kept per layer: dropped on this
        store's own writes, recomputed when the row count changes or after EXTENT_TTL_S (edits made
        through another replica that keep the count show up within that time)."""
        table = self._table(layer)
        with self._read() as conn:
            n = self._layer_count(conn, layer)
            key = (layer, access.jurisdiction() if self.spec(layer).regulated else "")
            cached = self._extents.get(key)
            if cached and cached[0] == n and time.monotonic() - cached[1] < self.EXTENT_TTL_S:
                return cached[2]
            ext = func.ST_Extent(table.c.geom)
            row = conn.execute(select(func.ST_XMin(ext), func.ST_YMin(ext), func.ST_XMax(ext),
                                      func.ST_YMax(ext))).one()
        box = None if row[0] is None else tuple(float(v) for v in row)
        self._extents[key] = (n, time.monotonic(), box)
        return box  # type: ignore[return-value]

    # The spatial queries are built once per (layer, filter attributes) from catalogue
    # identifiers, with every value a named bind parameter, and reused: building SQLAlchemy
    # statements costs more Python time than PostGIS needs to answer a KNN query.
    def _statement(self, kind: str, layer: str, filter_names: tuple[str, ...], build):
        key = (kind, layer, filter_names)
        stmt = self._statements.get(key)
        if stmt is None:
            table = self._table(layer)
            filt = [table.c[n] == bindparam(f"f{i}", type_=table.c[n].type) for i, n in enumerate(filter_names)]
            stmt = self._statements[key] = build(table, filt)
        return stmt

    def _spatial_statement(self, kind: str, layer: str, geom: BaseGeometry, filters: dict[str, Any] | None,
                           build, params: dict[str, Any]) -> tuple[LayerSpec, Any, DriverStatement | None, dict]:
        """The layer's spec, the cached statement of this layer shape, its driver form and the call's values."""
        spec = self.check_filters(layer, filters)
        names = tuple(filters or {})
        stmt = self._statement(kind, layer, names, build)
        values = {f"f{i}": (filters or {})[n] for i, n in enumerate(names)}
        values["wkb"] = shapely.to_wkb(geom)
        values.update(params)
        key = (kind, layer, names)
        if key not in self._driver_statements:
            self._driver_statements[key] = DriverStatement.compile(stmt, self.engine.dialect, values)
        return spec, stmt, self._driver_statements[key], values

    def _spatial_rows(self, kind: str, layer: str, geom: BaseGeometry, filters: dict[str, Any] | None,
                      build, **params) -> list[Feature]:
        spec, stmt, driver, values = self._spatial_statement(kind, layer, geom, filters, build, params)
        with self._read() as conn:   # the caller's role (row-level security) is set here, on both paths
            if driver is None or observed(conn, self.engine):
                rows: Sequence[Any] = conn.execute(stmt, values).mappings().fetchall()
            else:
                rows = driver.fetch(conn, values, self._deadline_s, self.engine.liveness)  # type: ignore[attr-defined]
        return self._features(rows, list(spec.attribute_names), with_distance=kind != "intersecting")

    def within(self, layer: str, geom: BaseGeometry, metres: float,
               filters: dict[str, Any] | None = None) -> list[Feature]:
        def build(table, filt):
            target = _geog(_WKB_GEOM)
            dist = func.ST_Distance(_geog(table.c.geom), target).label("__distance")
            return (select(table.c.id, *self._columns(table, self.spec(table.name), None), self._geojson(table), dist)
                    .where(func.ST_DWithin(_geog(table.c.geom), target, bindparam("metres", type_=Float)), *filt)
                    .order_by(literal_column("__distance"), table.c.id))

        return self._spatial_rows("within", layer, geom, filters, build, metres=float(metres))

    def nearest(self, layer: str, geom: BaseGeometry, k: int,
                filters: dict[str, Any] | None = None,
                max_distance_m: float | None = None) -> list[Feature]:
        if k <= 0:
            self.check_filters(layer, filters)
            return []

        cap = float(max_distance_m) if max_distance_m is not None else 1e12
        found = self._spatial_rows("nearest", layer, geom, filters, self._nearest_statement, k=int(k), cap=cap)
        if max_distance_m is not None:
            found = [f for f in found if f.distance_m is not None and f.distance_m <= max_distance_m]
        return found

    def _nearest_statement(self, table, filt):
        # 1) k candidates by the index-assisted KNN operator (sphere), 2) the exact spheroid
        # radius that contains the true k nearest, 3) exact spheroid ranking inside it.
        target = _geog(_WKB_GEOM)
        cand = (select(func.ST_Distance(_geog(table.c.geom), target).label("d"))
                .where(*filt).order_by(_geog(table.c.geom).op("<->")(target))
                .limit(bindparam("k", type_=BigInteger)).cte("cand"))
        radius = func.least(select(func.max(cand.c.d)).scalar_subquery(), bindparam("cap", type_=Float))
        dist = func.ST_Distance(_geog(table.c.geom), target).label("__distance")
        return (select(table.c.id, *self._columns(table, self.spec(table.name), None), self._geojson(table), dist)
                .where(func.ST_DWithin(_geog(table.c.geom), target, radius * (1 + 1e-9) + 1e-6), *filt)
                .order_by(literal_column("__distance"), table.c.id).limit(bindparam("k", type_=BigInteger)))

    def intersecting(self, layer: str, geom: BaseGeometry,
                     filters: dict[str, Any] | None = None) -> list[Feature]:
        def build(table, filt):
            return (select(table.c.id, *self._columns(table, self.spec(table.name), None), self._geojson(table))
                    .where(func.ST_Intersects(table.c.geom, _WKB_GEOM), *filt).order_by(table.c.id))

        return self._spatial_rows("intersecting", layer, geom, filters, build)

    def mvt(self, layer: str, req: TileRequest) -> bytes:
        spec = self.spec(layer)
        for name in req.columns:
            spec.attribute(name)
        table = self._table(layer)
        with self._read() as conn:  # as the caller's role: row-level security keeps the tile in its jurisdiction
            return mvt_sql.tile_bytes(conn, table, layer, req, spec.geometry_family == "point", self._mvt_sql)

    def frame(self, layer: str, columns: Sequence[str] | None = None) -> gpd.GeoDataFrame:
        spec = self.spec(layer)
        table = self._table(layer)
        names = list(columns) if columns is not None else list(spec.attribute_names)
        for n in names:
            spec.attribute(n)  # KeyError for anything not in the layer's spec
        numeric = all(spec.attribute(n).type in ("integer", "number", "boolean") for n in names)
        with self._read() as conn:
            dbapi = conn.connection.dbapi_connection
            assert dbapi is not None  # a checked-out connection has its DBAPI connection
            with WATCHDOG.deadline(dbapi.pgconn.socket, self._deadline_s):  # raw cursors: no engine events
                ids, geoms, data, more = self._frame_parts(dbapi, table, names, numeric)

        def merged(n):
            extra = more[2][n]
            if numeric:  # NULL → NaN, as in the COPY part
                extra = np.array([np.nan if v is None else float(v) for v in extra], dtype=float)
                return np.concatenate([data[n], extra])
            out = np.empty(len(extra), dtype=object)  # never 2-D, even when every value is a list of
            out[:] = extra                            # the same length (JSON attributes)
            return out

        ids = np.concatenate([ids, more[0]])
        geoms = np.concatenate([geoms, more[1]])
        order = np.argsort(ids, kind="stable")
        df = pd.DataFrame({n: merged(n)[order] for n in names}, index=pd.Index(ids[order], name="id"))
        for n in names:
            kind = spec.attribute(n).type
            if not numeric:
                continue  # values as the driver gives them (text, JSON, numbers with None)
            # the dtypes pandas infers from the Python values the embedded store holds: int64 (float64
            # with NaN where NULLs occur), float64, and bool (object with None where NULLs occur)
            if kind == "integer" and not df[n].isna().any():
                df[n] = df[n].astype("int64")
            elif kind == "boolean":
                df[n] = pd.Series([None if np.isnan(v) else bool(v) for v in df[n]], index=df.index,
                                  dtype=object if df[n].isna().any() else bool)
        return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms[order], index=df.index, crs="EPSG:4326"),
                                crs="EPSG:4326")

    def _frame_parts(self, dbapi, table: Table, names: list[str], numeric: bool) -> tuple:
        if numeric:
            # points and numbers as fixed-width binary rows, parsed by numpy in one go;
            # only the other geometries travel as WKB
            ids, geoms, data = self._numeric_points(dbapi, table, names)
            more = self._rows_as_wkb(dbapi, table, names, func.GeometryType(table.c.geom) != "POINT")
        else:
            ids, geoms, data = np.zeros(0, np.int64), np.array([], dtype=object), {n: [] for n in names}
            more = self._rows_as_wkb(dbapi, table, names, None)
        return ids, geoms, data, more

    def _rows_as_wkb(self, dbapi, table: Table, names: list[str], where) -> tuple:
        """(ids, geometries, {column: values}) over psycopg's binary protocol (no per-row Row objects)."""
        stmt = select(table.c.id, *[table.c[n] for n in names], func.ST_AsBinary(table.c.geom))
        if where is not None:
            stmt = stmt.where(where)
        sql = str(stmt.compile(dialect=self.engine.dialect, compile_kwargs={"literal_binds": True}))
        with dbapi.cursor(binary=True) as cursor:
            cursor.execute(sql)  # identifiers from the catalogue; the only literal is 'POINT'
            rows = cursor.fetchall()
        cols = list(zip(*rows, strict=True)) if rows else [()] * (len(names) + 2)
        ids = np.fromiter(cols[0], dtype=np.int64, count=len(rows))
        geoms = shapely.from_wkb(np.array(cols[-1], dtype=object)) if rows else np.array([], dtype=object)
        return ids, geoms, {n: list(cols[i + 1]) for i, n in enumerate(names)}

    def _numeric_points(self, dbapi, table: Table, names: list[str]) -> tuple:
        """Point rows as (ids, points, {column: float values, NaN for NULL}).

        Each column comes back as ONE bytea of big-endian float8/int8 values (``string_agg`` of
        ``float8send``), which numpy reads in place — no per-row work in Python or in the driver.
        All aggregates of one query see the rows in the same order, so the columns stay aligned.
        """
        def packed(expr, send=func.float8send):
            return func.coalesce(func.string_agg(send(expr), literal_column("''::bytea")),
                                 literal_column("''::bytea"))

        def as_float(col):
            if isinstance(col.type, Boolean):
                col = case((col, 1.0), (~col, 0.0))
            return func.coalesce(cast(col, Float(precision=53)), literal_column("'NaN'::float8"))

        points = (select(table.c.id.label("id"), table.c.geom.label("geom"),
                         *[as_float(table.c[n]).label(f"v{k}") for k, n in enumerate(names)])
                  .where(func.GeometryType(table.c.geom) == "POINT").subquery("p"))
        stmt = select(packed(points.c.id, func.int8send), packed(func.ST_X(points.c.geom)),
                      packed(func.ST_Y(points.c.geom)), *[packed(points.c[f"v{k}"]) for k in range(len(names))])
        sql = str(stmt.compile(dialect=self.engine.dialect, compile_kwargs={"literal_binds": True}))
        with dbapi.cursor(binary=True) as cursor:
            cursor.execute(sql)  # identifiers from the catalogue; the only literal is 'POINT'
            blobs = cursor.fetchone()
        ids = np.frombuffer(blobs[0], dtype=">i8").astype(np.int64)
        xy = [np.frombuffer(b, dtype=">f8").astype(float) for b in blobs[1:]]
        return ids, shapely.points(xy[0], xy[1]), {n: xy[k + 2] for k, n in enumerate(names)}

    # -- writes ------------------------------------------------------------------------------
    def _values(self, spec: LayerSpec, row: Row) -> dict[str, Any]:
        values = {a.name: row.properties.get(a.name) for a in spec.attributes}
        values["geom"] = from_shape(row.geometry, srid=4326)
        return values

    def _drop_extents(self, layer: str) -> None:
        for key in [k for k in self._extents if k[0] == layer]:
            self._extents.pop(key, None)

    def write(self, layer: str, batch: WriteBatch) -> list[int]:
        self._drop_extents(layer)
        try:
            return self._write(layer, batch)
        except ProgrammingError as exc:  # the database refused a row outside the role's jurisdiction
            if getattr(exc.orig, "sqlstate", None) == "42501":
                raise ScopeDenied(layer, access.jurisdiction(), None) from exc
            raise

    def _check_scope(self, conn, layer: str, table: Table, touched: list[int]) -> None:
        """Missing ids and ids the role may not read → FeatureNotFound (404, existence does not leak); ids it
        may read but not write (shared layers) → ScopeDenied; new content outside it is refused by the policy."""
        found = set(conn.execute(select(table.c.id).where(table.c.id.in_(touched)).with_for_update()).scalars())
        missing = [fid for fid in touched if fid not in found]
        if missing:
            readable = set(conn.execute(select(table.c.id).where(table.c.id.in_(missing))).scalars())
            for fid in missing:
                if fid in readable:
                    raise ScopeDenied(layer, access.jurisdiction(), None,
                                      f"feature {fid} of {layer!r} lies outside jurisdiction {access.jurisdiction()!r}")
                raise FeatureNotFound(layer, fid)

    def _write(self, layer: str, batch: WriteBatch) -> list[int]:
        spec = self.spec(layer)
        table = self._table(layer)
        touched = sorted(set(batch.replaces) | set(batch.deletes))
        jurisdiction = access.jurisdiction()
        for row in [*batch.creates, *batch.replaces.values(), *batch.puts.values()]:  # the policy would refuse it
            if not access.covers(jurisdiction, row.properties.get("admin_code")):    # too; say where
                raise ScopeDenied(layer, jurisdiction, row.properties.get("admin_code"))
        with self.engine.begin() as conn:
            self._as_caller(conn, local=True)
            if touched:
                self._check_scope(conn, layer, table, touched)
            present = set(conn.execute(select(table.c.id).where(table.c.id.in_(list(batch.puts))).with_for_update())
                          .scalars()) if batch.puts else set()
            replaces = {**batch.replaces, **{f: r for f, r in batch.puts.items() if f in present}}
            placed = {f: r for f, r in batch.puts.items() if f not in present}
            before = self._before(conn, table, spec, [*batch.deletes, *replaces])
            if batch.deletes:
                conn.execute(delete(table).where(table.c.id.in_(list(batch.deletes))))
            for fid, row in replaces.items():
                conn.execute(update(table).where(table.c.id == fid).values(**self._values(spec, row)))
            if placed:
                conn.execute(insert(table), [{**self._values(spec, r), "id": int(f)} for f, r in placed.items()])
                seq = select(func.pg_get_serial_sequence(f"{SCHEMA}.{layer}", "id")).scalar_subquery()
                top = select(func.max(table.c.id)).scalar_subquery()
                conn.execute(select(func.setval(seq, func.greatest(top, 1))))
            new_ids: list[int] = []
            if batch.creates:
                result = conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                      [self._values(spec, r) for r in batch.creates])
                new_ids = [int(i) for i in result.scalars()]
            trail = [audit_entry(layer, f, batch.action or "delete", before[f], None) for f in batch.deletes]
            trail += [audit_entry(layer, f, batch.action or "replace", before[f], row_feature(f, r))
                      for f, r in replaces.items()]
            trail += [audit_entry(layer, f, batch.action or "create", None, row_feature(f, r))
                      for f, r in [*placed.items(), *zip(new_ids, batch.creates, strict=True)]]
            if self._audit:  # in the write's transaction: the record stands or falls with the write
                self._record(conn, spec, trail)
        return new_ids

    def _record(self, conn, spec: LayerSpec, trail: list[dict[str, Any]]) -> None:
        """Append ``trail`` (audit_entry dicts) to the audit table on ``conn`` (the write's transaction)."""
        if trail:
            conn.execute(insert(self.audit_table), [{**{k: v for k, v in e.items() if k != "feature_id"},
                                                     "fid": e["feature_id"], "regulated": spec.regulated}
                                                    for e in trail])

    def _before(self, conn, table: Table, spec: LayerSpec, fids: list[int] | None) -> dict[int, dict[str, Any]]:
        """The stored features ``fids`` (None: all) as GeoJSON Feature dicts (the audit trail's "before")."""
        if fids is not None and not fids:
            return {}
        props = func.json_build_object(*[x for n in spec.attribute_names for x in (literal(n), table.c[n])])
        stmt = select(table.c.id, cast(props, Text), func.ST_AsGeoJSON(table.c.geom, COORD_PRECISION))
        rows = conn.execute(stmt if fids is None else stmt.where(table.c.id.in_(fids))).fetchall()
        return {int(r[0]): {"type": "Feature", "id": int(r[0]), "geometry": orjson.loads(r[2]),
                            "properties": orjson.loads(r[1])} for r in rows}

    def audit(self, query: AuditQuery) -> list[dict[str, Any]]:
        if not self._ready:
            self.init()
        a = self.audit_table
        stmt = select(a.c.seq, a.c.at, a.c.who, a.c.role, a.c.jurisdiction, a.c.via, a.c.request_id, a.c.action,
                      a.c.layer, a.c.fid, a.c.admin_code, a.c.before, a.c.after).where(a.c.seq > int(query.after_seq))
        for column, value in ((a.c.layer, query.layer), (a.c.fid, query.fid), (a.c.who, query.who)):
            if value is not None:
                stmt = stmt.where(column == value)
        if query.before_seq is not None:
            stmt = stmt.where(a.c.seq < int(query.before_seq))
        if query.since is not None:
            stmt = stmt.where(a.c.at >= func.to_timestamp(float(query.since)))
        if query.until is not None:
            stmt = stmt.where(a.c.at < func.to_timestamp(float(query.until)))
        stmt = stmt.order_by(a.c.seq.desc() if query.newest_first else a.c.seq.asc()).limit(int(query.limit))
        with self._read() as conn:
            rows = conn.execute(stmt).fetchall()
        return [{"seq": int(r[0]), "at": r[1].astimezone(UTC).isoformat().replace("+00:00", "Z"), "who": r[2],
                 "role": r[3], "jurisdiction": r[4], "via": r[5], "request_id": r[6], "action": r[7], "layer": r[8],
                 "feature_id": int(r[9]), "admin_code": r[10], "before": r[11], "after": r[12]} for r in rows]

    def _restamp_sql(self, layer: str, spec: LayerSpec) -> tuple[Any, dict[str, Any]]:
        """The restamp statement of ``layer`` (None: no admin areas to stamp from) and its constant parameters:
        with the audit records of the features it stamps unless the audit is off (bench only)."""
        if spec.own_code:
            update = RESTAMP_OWN_SQL.format(schema=SCHEMA, table=layer, own=spec.attribute(spec.own_code).name)
        elif "admin_areas" in self.catalog:
            update = RESTAMP_SQL.format(schema=SCHEMA, table=layer)
        else:
            return None, {}
        if not self._audit:
            return text(update), {}
        props = ", ".join(f"'{n}', t.{n}" for n in spec.attribute_names)  # identifiers from the catalogue
        sql = RESTAMP_AUDIT_SQL.format(schema=SCHEMA, update=update.strip(), props=f"json_build_object({props})",
                                       precision=COORD_PRECISION)
        who = audit_entry(layer, 0, "restamp", None, None)
        return text(sql), {k: who[k] for k in ("who", "role", "jurisdiction", "via", "request_id")} | {
            "layer": layer, "regulated": spec.regulated}

    def restamp(self, layer: str, assign: Assign, progress: Progress | None = None) -> tuple[int, int]:
        spec = self.spec(layer)
        if access.jurisdiction():
            raise ScopeDenied(layer, access.jurisdiction(), None, "restamping needs the whole service's scope")
        table = self._table(layer)
        sql, params = self._restamp_sql(layer, spec)
        with self.reader.connect() as conn:    # autocommit: the session role it sets stays what conn.info says
            self._as_caller(conn, role="none")
            lo, hi = conn.execute(select(func.min(table.c.id), func.max(table.c.id))
                                  .where(table.c.admin_code.is_(None))).one()
        windows = [] if lo is None else list(range(int(lo), int(hi) + 1, RESTAMP_CHUNK))
        stamped = 0
        for i, start in enumerate(windows):
            if sql is not None:
                with self.engine.begin() as conn:    # a window per transaction: an interrupted run resumes
                    self._as_caller(conn, local=True, role="none")
                    stamped += conn.execute(sql, {**params, "lo": start, "hi": start + RESTAMP_CHUNK - 1}).rowcount
            if progress is not None:
                progress(i + 1, len(windows))
        with self.reader.connect() as conn:
            self._as_caller(conn, role="none")
            left = conn.execute(select(func.count()).select_from(table).where(table.c.admin_code.is_(None))).scalar_one()
        return stamped, int(left)

    def replace_all(self, layer: str, rows: list[Row]) -> list[int]:
        self._drop_extents(layer)
        spec = self.spec(layer)
        if access.jurisdiction():
            raise ScopeDenied(layer, access.jurisdiction(), None,
                              f"replacing the whole layer {layer!r} needs the whole service's scope")
        table = self._table(layer)
        keep_ids = all(r.id is not None for r in rows) and len({r.id for r in rows}) == len(rows)
        with self.engine.begin() as conn:
            before = self._before(conn, table, spec, None) if self._audit else {}
            conn.execute(delete(table))
            if not rows:
                if self._audit:  # an upload is itemised like any write, in its transaction
                    self._record(conn, spec, upload_trail(layer, before, []))
                return []
            values = []
            for r in rows:
                v = self._values(spec, r)
                if keep_ids and r.id is not None:  # keep_ids: every row has one
                    v["id"] = int(r.id)
                values.append(v)
            ids = [int(i) for i in conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                                values).scalars()]
            seq = select(func.pg_get_serial_sequence(f"{SCHEMA}.{layer}", "id")).scalar_subquery()
            conn.execute(select(func.setval(seq, func.coalesce(select(func.max(table.c.id)).scalar_subquery(), 1))))
            if self._audit:  # an upload is itemised like any write, in its transaction
                self._record(conn, spec, upload_trail(layer, before, list(zip(ids, rows, strict=True))))
        return ids

