"""Structured logging: one logger per module (``logging.getLogger(__name__)``), one line per record.

Each line is ``time level logger [request id] message key=value ...`` — the request id comes from
:data:`gis_service.api.errors.request_id` (set per HTTP request), the key=value pairs from the
record's ``extra`` (e.g. the access log's method, path, status and duration_ms). ``GIS_LOG_LEVEL``
sets the level (default INFO); ``GIS_LOG_FORMAT=json`` writes one JSON object per line instead.
Handlers are added only if the ``gis_service`` logger has none (the host application may configure it).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import orjson

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


def _request_id() -> str:
    from .api.errors import request_id

    return request_id.get()


class _Context(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id()
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


def setup_logging(level: str | None = None) -> None:
    """Configure the ``gis_service`` logger once (idempotent)."""
    root = logging.getLogger("gis_service")
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.addFilter(_Context())
    fmt = os.environ.get("GIS_LOG_FORMAT", "text").lower()
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    root.addHandler(handler)
    root.setLevel((level or os.environ.get("GIS_LOG_LEVEL", "INFO")).upper())
    root.propagate = False
