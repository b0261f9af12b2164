"""Structured logging: one logger per module (``logging.getLogger(__name__)``), one line per record.

Each line is ``time level logger [request id] message key=value ...`` — the request id comes from
:data:`request_id` (set per HTTP request by the API's outermost middleware), the key=value pairs from the
record's ``extra`` (e.g. the access log's method, path, status and duration_ms). ``GIS_LOG_LEVEL``
(``Settings.log_level``) sets the level (default INFO); ``GIS_LOG_FORMAT=json`` writes one JSON object per
line instead.
Handlers are added only if the ``gis_service`` logger has none (the host application may configure it).
"""

from __future__ import annotations

import contextvars
import logging
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from .config import Settings

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class _Context(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = (f"{self.formatTime(record, '%Y-%m-%dT%H:%M:%S')} {record.levelname} {record.name} "
                f"[{getattr(record, 'request_id', '-')}] {record.getMessage()}")
        extra = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        text = f"{base} {extra}" if extra else base
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
               "logger": record.name, "request_id": getattr(record, "request_id", "-"),
               "message": record.getMessage(), **_extras(record)}
        if record.exc_info:
            doc["traceback"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


def setup_logging(settings: Settings | None = None, level: str | None = None) -> None:
    """Configure the ``gis_service`` logger once (idempotent) from ``GIS_LOG_LEVEL`` / ``GIS_LOG_FORMAT``."""
    root = logging.getLogger("gis_service")
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.addFilter(_Context())
    if settings is None:
        from .config import get_settings

        settings = get_settings()
    fmt = settings.log_format
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    root.addHandler(handler)
    root.setLevel((level or settings.log_level).upper())
    root.propagate = False
