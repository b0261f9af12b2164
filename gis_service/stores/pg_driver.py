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

import asyncio
import time
import weakref
from contextlib import ExitStack
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from .watchdog import WATCHDOG, Liveness


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


class AsyncReads:
    """Reads awaited on the serving event loop: a :class:`psycopg_pool.AsyncConnectionPool` of autocommit connections
    with the guards of the engine's pool (``make_engine``), so an ``async def`` route waits for the database without a
    worker thread (the thread hand-off and SQLAlchemy's checkout cost more CPU than the query's own client side).

    * the same session options (``statement_timeout``, ``jit=off``) and connect timeout as the engine's connections;
    * a frozen server (``liveness.frozen``) fails at once; a connection idle longer than ``ping_idle_s`` is checked
      with ``SELECT 1`` before it is lent (the pool's ``check``: a dead one is discarded and another one taken), so a
      restart costs no request an error;
    * each statement runs under the client-side deadline (:data:`WATCHDOG`) and the liveness probe;
    * a broken connection is discarded by the pool when it comes back; waiting for a connection is bounded
      (``psycopg_pool.PoolTimeout``, a ``psycopg.OperationalError``: 503 like any outage);
    * the caller's row-level-security role is set on a connection (one round trip) only when it differs from the
      role the connection last ran as.

    The pool belongs to the loop that opened it (the app's lifespan); :meth:`serves` says whether the running loop is
    that one (otherwise the store answers through its synchronous path)."""

    def __init__(self, conninfo: str, *, options: str, connect_s: float, deadline_s: float, liveness: Liveness | None,
                 max_size: int, ping_idle_s: float):
        self.conninfo, self.options, self.connect_s = conninfo, options, connect_s
        self.deadline_s, self.liveness, self.max_size, self.ping_idle_s = deadline_s, liveness, max_size, ping_idle_s
        self.pool: AsyncConnectionPool | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        # per connection: when it was last given back, and the role it runs as (weak: the pool drops connections)
        self._returned: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        self._roles: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()

    async def open(self) -> None:
        """Open the pool in the running loop (connections are made in the background: a database that is down
        at start costs nothing here; reads wait for a connection at most the connect timeout). A pool already open
        stays with its loop (a pool is never touched from another loop): a second loop's reads take the store's
        synchronous path."""
        if self.pool is not None:
            return
        pool = AsyncConnectionPool(self.conninfo, min_size=1, max_size=self.max_size, open=False,
                                   timeout=max(1.0, self.connect_s), check=self._check,
                                   kwargs={"autocommit": True, "options": self.options,
                                           "connect_timeout": max(2, round(self.connect_s))})
        await pool.open(wait=False)
        self.pool, self.loop = pool, asyncio.get_running_loop()

    async def close(self) -> None:
        """Close the pool, from the loop that opened it (from any other loop: nothing to do)."""
        if self.pool is None or not self.serves():
            return
        pool, self.pool, self.loop = self.pool, None, None
        await pool.close()

    def serves(self) -> bool:
        """Whether the running event loop is the one the pool was opened in."""
        if self.pool is None:
            return False
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    async def _check(self, conn) -> None:
        if time.monotonic() - self._returned.get(conn, 0.0) <= self.ping_idle_s:
            return
        with self._guard(conn.pgconn.socket):
            await conn.execute("SELECT 1")

    def _guard(self, fd: int) -> ExitStack:
        guards = ExitStack()
        guards.enter_context(WATCHDOG.deadline(fd, self.deadline_s))
        if self.liveness is not None:
            guards.enter_context(self.liveness.call(fd))
        return guards

    async def fetch(self, statement: DriverStatement, values: dict[str, Any],
                    scope: tuple[str, str, str]) -> list[dict[str, Any]]:
        """The rows of ``statement`` run as the caller's ``scope`` (role, range start, range end)."""
        if self.liveness is not None and self.liveness.frozen:
            raise psycopg.OperationalError("the database server is not answering")
        assert self.pool is not None  # serves() was asked first
        async with self.pool.connection() as conn:
            try:
                with self._guard(conn.pgconn.socket):
                    if self._roles.get(conn, "none") != scope[0]:
                        await conn.execute("SELECT set_config('role', %s, false), "
                                           "set_config('riskmap.scope_lo', %s, false), "
                                           "set_config('riskmap.scope_hi', %s, false)", scope)
                        self._roles[conn] = scope[0]
                    cur = await conn.execute(statement.sql, statement.params(values))
                    rows = await cur.fetchall()
            finally:
                self._returned[conn] = time.monotonic()
        return statement.mappings(cur, rows)
