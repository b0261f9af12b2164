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
