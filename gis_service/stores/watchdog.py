"""A client-side deadline for database calls, for when the server cannot enforce its own.

``statement_timeout`` is enforced by the PostgreSQL server; a server that is frozen (SIGSTOP, a
hung VM, a stalled disk) never enforces it, and its kernel keeps acknowledging TCP, so keepalives
do not notice either. The :class:`Watchdog` keeps one deadline per running call; a single
daemon thread shuts down the socket of any call that overruns it, so the blocked driver call
returns with a connection error (→ 503) instead of hanging for the whole freeze.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

log = logging.getLogger(__name__)


class Watchdog:
    def __init__(self, tick_s: float = 0.2):
        self.tick_s = tick_s
        self._calls: dict[int, tuple[float, int]] = {}  # token → (deadline, socket fd)
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def deadline(self, fd: int | None, seconds: float) -> Iterator[None]:
        if fd is None or fd < 0 or seconds <= 0:
            yield
            return
        token = next(self._ids)
        with self._lock:
            self._calls[token] = (time.monotonic() + seconds, fd)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="db-watchdog", daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._calls.pop(token, None)

    def _run(self) -> None:
        while True:
            time.sleep(self.tick_s)
            now = time.monotonic()
            with self._lock:
                late = [(t, fd) for t, (due, fd) in self._calls.items() if due <= now]
                for t, _ in late:
                    self._calls.pop(t, None)
            for _, fd in late:
                _shutdown(fd)


def _shutdown(fd: int) -> None:
    """Shut the connection's socket down (both ways): the blocked read in the driver fails at once."""
    try:
        dup = os.dup(fd)
    except OSError:
        return
    try:
        with socket.socket(fileno=dup) as s:
            s.shutdown(socket.SHUT_RDWR)
        log.warning("database call overran its deadline; connection shut down (fd %d)", fd)
    except OSError:
        pass


WATCHDOG = Watchdog()


class Liveness:
    """Notices a frozen database server within ``deadline_s`` and answers for it until it thaws.

    A long statement on a live server is normal (the server's ``statement_timeout`` bounds it); a
    server that stopped answering altogether is not. So when a call has been running for a third of
    the deadline, a probe (``SELECT 1`` on a connection of its own, cut off after another third)
    asks whether the server answers at all. If it does not, the server is *frozen*: every running
    call's socket is shut down (the driver raises → 503) and :attr:`frozen` makes new calls fail at
    once instead of waiting for a connection, until a probe (repeated every ``tick_s``) succeeds again.
    """

    def __init__(self, probe, deadline_s: float, tick_s: float = 0.1):
        self.probe = probe          # callable(timeout_s) -> None, raises when the server did not answer
        self.deadline_s = deadline_s
        self.tick_s = tick_s
        self.frozen = False
        self._calls: dict[int, tuple[float, int]] = {}  # token → (start, socket fd)
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def call(self, fd: int | None) -> Iterator[None]:
        if fd is None or fd < 0 or self.deadline_s <= 0:
            yield
            return
        token = next(self._ids)
        with self._lock:
            self._calls[token] = (time.monotonic(), fd)
            self._ensure_thread()
        try:
            yield
        finally:
            with self._lock:
                self._calls.pop(token, None)

    def note_failure(self) -> None:
        """A connection attempt failed or timed out: probe from now on (starts the thread)."""
        with self._lock:
            self._ensure_thread()

    def _probe_twice(self, step: float) -> None:
        """A probe whose own connection was closed by the server (a restart, a terminated backend)
        fails at once without saying anything about liveness: try once more on a fresh connection."""
        t0 = time.monotonic()
        try:
            self.probe(step)
        except Exception:  # noqa: BLE001
            if time.monotonic() - t0 >= step * 0.9:
                raise      # it timed out: the server did not answer
            self.probe(step)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="db-liveness", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        step = self.deadline_s / 3
        last_ok = 0.0
        try:
            self.probe(step)  # open the probe's connection now, while the server answers
            last_ok = time.monotonic()
        except Exception:  # noqa: BLE001 - the loop below finds out again
            pass
        while True:
            time.sleep(self.tick_s)
            now = time.monotonic()
            with self._lock:
                old = [fd for start, fd in self._calls.values() if now - start >= step]
            if not self.frozen and (not old or now - last_ok < step):
                continue  # nothing overdue, or the server answered a moment ago
            try:
                self._probe_twice(step)
                last_ok = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - any failure to answer means "not live"
                if not self.frozen:
                    log.warning("database did not answer a liveness probe in %.1f s: %s", step, exc)
                self.frozen = True
                with self._lock:
                    fds = [fd for _, fd in self._calls.values()]
                for fd in fds:
                    _shutdown(fd)
                continue
            if self.frozen:
                log.warning("database answers again")
            self.frozen = False


class SelectOneProbe:
    """The probe of :class:`Liveness`: ``SELECT 1`` on a connection of its own (a libpq URL), cut off
    after ``timeout_s`` by shutting its socket down. Shared by the layers' engine and the monitoring store."""

    def __init__(self, url: str, connect_s: float):
        self.url = url
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
