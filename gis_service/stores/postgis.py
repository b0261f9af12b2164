"""The PostGIS store (SQLAlchemy 2 Core + GeoAlchemy2, psycopg 3).

Each layer is a table in schema ``riskmap`` built from its spec: typed columns, a geometry
column in EPSG:4326, a GiST index on the geometry and a GiST index on ``geom::geography`` so
``ST_DWithin``/``<->`` on the spheroid stay index-assisted. The database filters, measures and
ranks; geometries come back already serialised by ``ST_AsGeoJSON``. Every request value is a
bound parameter; every identifier comes from the catalogue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
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
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

from ..catalog import Catalog, LayerSpec
from ..validation import Row
from . import cql_sql, mvt_sql
from .base import (
    COORD_PRECISION,
    Feature,
    FeatureNotFound,
    Page,
    Query,
    Store,
    StoreError,
    TileRequest,
    WriteBatch,
    bbox_parts,
)
from .watchdog import WATCHDOG, Liveness, _shutdown

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
CREATE OR REPLACE FUNCTION {schema}.count_rows_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE {schema}.feature_counts SET n = n + (SELECT count(*) FROM added) WHERE layer = TG_TABLE_NAME;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION {schema}.count_rows_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE {schema}.feature_counts SET n = n - (SELECT count(*) FROM removed) WHERE layer = TG_TABLE_NAME;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION {schema}.count_rows_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE {schema}.feature_counts SET n = 0 WHERE layer = TG_TABLE_NAME;
  RETURN NULL;
END $$;
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
CREATE OR REPLACE FUNCTION {schema}.bump_revision() RETURNS trigger LANGUAGE plpgsql AS $$
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


_WKB_GEOM = func.ST_GeomFromWKB(bindparam("wkb", type_=LargeBinary), 4326)


def _geog(expr):
    return cast(expr, Geography(srid=4326))


PING_IDLE_S = 0.5  # a pooled connection idle longer than this is checked before use (one SELECT 1)


def make_engine(url: str, connect_timeout_s: float = 5.0, statement_timeout_s: float = 30.0,
                pool_size: int = 10, deadline_s: float = 3.0) -> Engine:
    """An engine whose calls cannot hang: a connect timeout (libpq), a statement timeout (server), a
    client-side deadline (:mod:`.watchdog`) for a server that is frozen and enforces nothing, and a
    liveness probe (:class:`.watchdog.Liveness`) that answers for a frozen server within ``deadline_s``
    and makes new calls fail at once (→ 503) until it answers again. A pooled connection idle for more
    than PING_IDLE_S is checked with ``SELECT 1`` at checkout and replaced if the server closed it
    (a restart), so no request gets the error of a connection killed earlier; under load connections
    are reused within milliseconds and skip the check. A pool checkout waits at most the connect timeout."""
    options = f"-c statement_timeout={int(statement_timeout_s * 1000)}"
    connect_s = min(connect_timeout_s, max(2.0, deadline_s))  # libpq's smallest connect timeout is 2 s
    # LIFO: the connection used last is reused first, so under steady load the same few stay warm (no
    # ping) and only connections idle for longer than PING_IDLE_S are checked
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800,
                           pool_timeout=max(1.0, connect_s), pool_use_lifo=True,
                           connect_args={"connect_timeout": max(2, round(connect_s)), "options": options})
    deadline = statement_timeout_s + max(1.0, connect_timeout_s)
    liveness = Liveness(_Probe(engine.url, connect_s), deadline_s)
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


class _Probe:
    """``SELECT 1`` on a connection of its own, cut off after ``timeout_s`` (see :class:`.watchdog.Liveness`)."""

    def __init__(self, url, connect_s: float):
        self.url = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.connect_s = connect_s
        self.conn: psycopg.Connection | None = None

    def __call__(self, timeout_s: float) -> None:
        if self.conn is None or self.conn.closed:
            self.conn = psycopg.connect(self.url, autocommit=True, connect_timeout=max(2, round(self.connect_s)))
        timer = threading.Timer(timeout_s, _shutdown, (self.conn.pgconn.socket,))
        timer.start()
        try:
            self.conn.execute("SELECT 1")
        except Exception:
            self.conn.close()
            self.conn = None
            raise
        finally:
            timer.cancel()


def _fd(conn) -> int | None:
    try:
        return conn.connection.dbapi_connection.pgconn.socket
    except Exception:  # noqa: BLE001 - no socket: no deadline
        return None


class PostGISStore(Store):
    kind = "postgis"

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
        self._extents: dict[str, tuple[int, float, Any]] = {}
        self.metadata = MetaData()
        self.tables = build_tables(catalog, self.metadata)
        self.counts_table = Table("feature_counts", self.metadata, Column("layer", Text, primary_key=True),
                                  Column("n", BigInteger, nullable=False), schema=SCHEMA)
        self.revisions_table = Table("layer_revisions", self.metadata, Column("layer", Text, primary_key=True),
                                     Column("revision", BigInteger, nullable=False), schema=SCHEMA)

    # -- lifecycle ---------------------------------------------------------------------------
    def init(self) -> None:
        """Create the schema once reachable; a database that is down raises StoreError (→ 503). Every
        request calls :meth:`_table` first, which retries this until it succeeds, so a service started
        while the database was down recovers by itself."""
        try:
            with self.engine.begin() as conn:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
                conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
                self.metadata.create_all(conn, checkfirst=True)
                conn.execute(text(COUNT_FUNCTIONS.format(schema=SCHEMA)))
                conn.execute(text(REVISION_FUNCTION.format(schema=SCHEMA)))
                for name in self.tables:
                    # identifiers below come from the catalogue, never from a request
                    conn.execute(text(COUNT_TRIGGERS.format(schema=SCHEMA, table=name)))
                    conn.execute(text(REVISION_TRIGGER.format(schema=SCHEMA, table=name)))
                    conn.execute(pg_insert(self.revisions_table).values(
                        layer=name, revision=literal_column("(extract(epoch FROM clock_timestamp()) * 1e6)::bigint"))
                        .on_conflict_do_nothing(index_elements=["layer"]))
                    start = select(literal(name), func.count()).select_from(self.tables[name])
                    conn.execute(pg_insert(self.counts_table).from_select(["layer", "n"], start)
                                 .on_conflict_do_nothing(index_elements=["layer"]))
        except (OperationalError, InterfaceError) as exc:
            first = str(exc.orig).strip().splitlines()[0] if exc.orig is not None and str(exc.orig).strip() else exc
            raise StoreError(f"cannot reach PostGIS at {self.engine.url.render_as_string(hide_password=True)}: "
                             f"{first}") from exc
        self._ready = True

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
            self.metadata.drop_all(conn, checkfirst=True)

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
        out = []
        for r in rows:
            m = r._mapping
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
        page = selected.order_by(*order(table.c)).limit(query.limit).offset(query.offset).subquery("page")
        props = func.json_build_object(*[x for n in names for x in (literal(n), page.c[n])])
        stmt = select(page.c.id, cast(props, Text).label("__props"),
                      func.ST_AsGeoJSON(page.c.geom, COORD_PRECISION).label("__geojson")).order_by(*order(page.c))
        with self.reader.connect() as conn:
            rows = conn.execute(stmt).fetchall()
            if query.offset == 0 and len(rows) < query.limit:
                matched = len(rows)
            elif where is None:
                matched = self._layer_count(conn, layer)
            else:
                matched = int(conn.execute(select(func.count()).select_from(table).where(where)).scalar_one())
        features = [Feature(int(r[0]), None, r[2], properties_json=r[1]) for r in rows]
        return Page(features, matched)

    def _layer_count(self, conn, layer: str) -> int:
        """Exact row count kept by triggers (no COUNT(*) scan per page)."""
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
        with self.reader.connect() as conn:
            found = dict(conn.execute(stmt, {"layers": list(layers)}).fetchall())
        return tuple(int(found.get(layer, 0)) for layer in layers)

    def get(self, layer: str, fid: int) -> Feature:
        spec = self.spec(layer)
        table = self._table(layer)
        cols = self._columns(table, spec, None)
        stmt = select(table.c.id, *cols, self._geojson(table)).where(table.c.id == bindparam("fid", int(fid)))
        with self.reader.connect() as conn:
            rows = conn.execute(stmt).fetchall()
        if not rows:
            raise FeatureNotFound(layer, fid)
        return self._features(rows, [c.name for c in cols])[0]

    def count(self, layer: str) -> int:
        self._table(layer)
        with self.reader.connect() as conn:
            return self._layer_count(conn, layer)

    EXTENT_TTL_S = 60.0

    def extent(self, layer: str) -> tuple[float, float, float, float] | None:
        """The layer's bbox. ``ST_Extent`` scans the whole table (~0.2 s per million rows) and every
        ``/collections`` request asks for every layer, so it is kept per layer: dropped on this
        store's own writes, recomputed when the row count changes or after EXTENT_TTL_S (edits made
        through another replica that keep the count show up within that time)."""
        table = self._table(layer)
        with self.reader.connect() as conn:
            n = self._layer_count(conn, layer)
            cached = self._extents.get(layer)
            if cached and cached[0] == n and time.monotonic() - cached[1] < self.EXTENT_TTL_S:
                return cached[2]
            ext = func.ST_Extent(table.c.geom)
            row = conn.execute(select(func.ST_XMin(ext), func.ST_YMin(ext), func.ST_XMax(ext),
                                      func.ST_YMax(ext))).one()
        box = None if row[0] is None else tuple(float(v) for v in row)
        self._extents[layer] = (n, time.monotonic(), box)
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

    def _spatial_rows(self, kind: str, layer: str, geom: BaseGeometry, filters: dict[str, Any] | None,
                      build, **params) -> list[Feature]:
        spec = self.check_filters(layer, filters)
        names = tuple(filters or {})
        stmt = self._statement(kind, layer, names, build)
        values = {f"f{i}": (filters or {})[n] for i, n in enumerate(names)}
        values["wkb"] = shapely.to_wkb(geom)
        with self.reader.connect() as conn:
            rows = conn.execute(stmt, {**values, **params}).fetchall()
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

        def build(table, filt):
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

        cap = float(max_distance_m) if max_distance_m is not None else 1e12
        found = self._spatial_rows("nearest", layer, geom, filters, build, k=int(k), cap=cap)
        if max_distance_m is not None:
            found = [f for f in found if f.distance_m <= max_distance_m]
        return found

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
        with self.reader.connect() as conn:
            return mvt_sql.tile_bytes(conn, table, layer, req, spec.geometry_family == "point", self._mvt_sql)

    def frame(self, layer: str, columns: Sequence[str] | None = None) -> gpd.GeoDataFrame:
        spec = self.spec(layer)
        table = self._table(layer)
        names = list(columns) if columns is not None else list(spec.attribute_names)
        for n in names:
            spec.attribute(n)  # KeyError for anything not in the layer's spec
        numeric = all(spec.attribute(n).type in ("integer", "number", "boolean") for n in names)
        with self.reader.connect() as conn:
            dbapi = conn.connection.dbapi_connection
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

    def write(self, layer: str, batch: WriteBatch) -> list[int]:
        self._extents.pop(layer, None)
        spec = self.spec(layer)
        table = self._table(layer)
        touched = sorted(set(batch.replaces) | set(batch.deletes))
        with self.engine.begin() as conn:
            if touched:
                found = set(conn.execute(select(table.c.id).where(table.c.id.in_(touched)).with_for_update())
                            .scalars())
                for fid in touched:
                    if fid not in found:
                        raise FeatureNotFound(layer, fid)
            if batch.deletes:
                conn.execute(delete(table).where(table.c.id.in_(list(batch.deletes))))
            for fid, row in batch.replaces.items():
                conn.execute(update(table).where(table.c.id == fid).values(**self._values(spec, row)))
            new_ids: list[int] = []
            if batch.creates:
                result = conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                      [self._values(spec, r) for r in batch.creates])
                new_ids = [int(i) for i in result.scalars()]
        return new_ids

    def replace_all(self, layer: str, rows: list[Row]) -> list[int]:
        self._extents.pop(layer, None)
        spec = self.spec(layer)
        table = self._table(layer)
        keep_ids = all(r.id is not None for r in rows) and len({r.id for r in rows}) == len(rows)
        with self.engine.begin() as conn:
            conn.execute(delete(table))
            if not rows:
                return []
            values = []
            for r in rows:
                v = self._values(spec, r)
                if keep_ids:
                    v["id"] = int(r.id)
                values.append(v)
            ids = [int(i) for i in conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                                values).scalars()]
            seq = select(func.pg_get_serial_sequence(f"{SCHEMA}.{layer}", "id")).scalar_subquery()
            conn.execute(select(func.setval(seq, func.coalesce(select(func.max(table.c.id)).scalar_subquery(), 1))))
        return ids

