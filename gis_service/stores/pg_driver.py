"""Cached read statements run as the driver's SQL, with the engine's guards armed by hand.

The spatial reads of :class:`gis_service.stores.postgis.PostGISStore` (``nearest``, ``within``, ``intersecting``)
are built once per layer shape. Running them through SQLAlchemy's ``Connection.execute`` costs more client CPU per
call than the rest of a nearest-teams answer: the compiled-cache look-up, parameter processing, the execution
context, the six engine events and the result proxy (bench/bench_rescue_api.py). A :class:`DriverStatement` is that
statement compiled once to psycopg's SQL text; it runs on the connection SQLAlchemy checked out (so the pool, the
checkout liveness check and the caller's role for row-level security stay as they are: the role is set by
``PostGISStore._read`` before this runs), under the same two guards the engine's ``before_cursor_execute`` listener
arms for every statement — the client-side statement deadline (:data:`WATCHDOG`) and the liveness probe
(``engine.liveness``) — and the server's ``statement_timeout`` (a session option of every pooled connection). A
driver error on a connection that is no longer usable invalidates it, as SQLAlchemy does, so the pool replaces it.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

import psycopg

from .watchdog import WATCHDOG


class DriverStatement:
    def __init__(self, sql: str, fixed: dict[str, Any], processors: dict[str, Any]):
        self.sql, self.fixed, self.processors = sql, fixed, processors
        # the result's column names: fixed by the SQL text, read once (psycopg's ``description`` builds a Column
        # object per column on every call, ≈ 5 % of a nearest-teams answer)
        self._columns: list[str] | None = None

    @classmethod
    def compile(cls, stmt, dialect, values: dict[str, Any]) -> DriverStatement | None:
        """None when the statement has parameters SQLAlchemy renders per call (expanding, literal)."""
        compiled = stmt.compile(dialect=dialect)
        if dialect.paramstyle != "pyformat" or compiled.post_compile_params or compiled.literal_execute_params:
            return None
        fixed = {k: v for k, v in compiled.construct_params(values).items() if k not in values}
        return cls(compiled.string, fixed, dict(compiled._bind_processors))

    def params(self, values: dict[str, Any]) -> dict[str, Any]:
        """The driver's parameters: the statement's fixed binds, the values, each through its bind processor."""
        params = {**self.fixed, **values}
        for name, proc in self.processors.items():
            if name in params:
                params[name] = proc(params[name])
        return params

    def fetch(self, conn, values: dict[str, Any], deadline_s: float, liveness: Any) -> list[dict[str, Any]]:
        """The rows (column name → value) on the checked-out SQLAlchemy connection ``conn``, under the statement
        deadline and the engine's liveness probe (``make_engine``'s ``engine.liveness``)."""
        dbapi = conn.connection.dbapi_connection
        fd = dbapi.pgconn.socket
        try:
            with ExitStack() as guards:
                guards.enter_context(WATCHDOG.deadline(fd, deadline_s))
                if liveness is not None:
                    guards.enter_context(liveness.call(fd))
                cur = dbapi.execute(self.sql, self.params(values))
                rows = cur.fetchall()
        except psycopg.Error:
            if dbapi.closed or dbapi.broken:
                conn.invalidate()
            raise
        return self.mappings(cur, rows)

    def mappings(self, cur, rows: list[Any]) -> list[dict[str, Any]]:
        """The fetched rows as column name → value (the names read once per statement)."""
        cols = self._columns
        if cols is None or len(cols) != cur.pgresult.nfields:
            cols = self._columns = [d.name for d in cur.description or ()]
        return [dict(zip(cols, row, strict=True)) for row in rows]


def observed(conn, engine) -> bool:
    """Whether a ``before_cursor_execute`` listener other than the engine's own guard listens (tests counting
    round trips, bench/bench_rescue_api.py capturing the SQL, tracing): then statements go through SQLAlchemy so it
    sees them. An engine not made by ``make_engine`` (no ``own_cursor_listeners``, no ``liveness``) always goes through
    SQLAlchemy."""
    own = getattr(engine, "own_cursor_listeners", None)
    return own is None or getattr(engine, "liveness", None) is None or len(conn.dispatch.before_cursor_execute) > own

