"""The HTTP server: uvicorn with header and body read deadlines (issue 24).

uvicorn holds a connection for as long as a client takes to send its request line and headers, or
its body: a client sending a byte a second (slowloris) keeps a connection, a task and a file
descriptor forever, and a few hundred such clients exhaust the server. :class:`GuardedHttpTools`
(uvicorn's httptools protocol plus two timers per connection) answers **408** and closes:

* ``GIS_HEADER_TIMEOUT_S`` (default 10 s) after the connection opens, or after the first byte of a
  further request on a kept-alive connection, if the headers are not complete;
* ``GIS_BODY_TIMEOUT_S`` (default 60 s) after the headers, if the body is not complete (a whole
  10 MiB body needs ~1.4 Mbit/s; a slower client should upload a file with ``gis-service load``).

Idle kept-alive connections are closed by uvicorn's own keep-alive timeout (5 s). On stop (SIGTERM,
Ctrl-C) requests still running and open event streams (``/monitoring/alarms/stream``,
``/incidents/stream``) get ``GIS_SHUTDOWN_GRACE_S`` (default 3 s), then are closed; the browser's
EventSource reconnects (to another instance, or to this one when it is back) and resumes by Last-Event-ID.
"""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..config import Settings

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def timeouts() -> tuple[float, float]:
    """(header, body) deadlines in seconds, from the settings of this process (workers read their own)."""
    s = Settings()
    return s.header_timeout_s, s.body_timeout_s


def _timeout_response(what: str) -> bytes:
    body = orjson.dumps({"code": "RequestTimeout", "description": f"request: {what} not received in time",
                         "problems": [{"row": None, "field": "request", "problem": f"{what} not received in time"}]})
    return (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


class GuardedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header deadline and a body deadline."""

    _timer: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float, what: str) -> None:
        self._disarm()
        if seconds > 0:
            self._timer = self.loop.call_later(seconds, self._expire, what)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self, what: str) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        log.warning("closing a connection from %s: %s not received in time", self.client, what)
        cycle = self.cycle
        if cycle is None or not cycle.response_started:
            self.transport.write(_timeout_response(what))
            if cycle is not None:
                cycle.response_complete = True   # nothing else may be written on this connection
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(timeouts()[0], "headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._timer is None:
            self._arm(timeouts()[0], "headers")

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._arm(timeouts()[1], "body")

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()


def run(app_or_path, *, host: str, port: int, workers: int = 1, **kwargs) -> None:
    """uvicorn.run with the guarded protocol (one or several workers)."""
    import uvicorn

    # an open viewer tab holds the alarm stream for ever: without a grace limit uvicorn waits for it (minutes)
    kwargs.setdefault("timeout_graceful_shutdown", Settings().shutdown_grace_s)
    uvicorn.run(app_or_path, host=host, port=port, workers=workers, http=GuardedHttpTools, **kwargs)
