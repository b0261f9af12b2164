"""Times and numbers printed on reports: Beijing time (UTC+8, China Standard Time, no daylight saving since
1991) for people, and a document number that names the report and the moment it was made."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "北京时间")
REVISION_EPOCH_US = 10**15   # a layer revision at or above this is a time in µs (stores/base.py: revision)


def beijing(dt: datetime | None = None) -> str:
    """``2026-12-05 01:23 北京时间 (UTC+8)`` for ``dt`` (default: now)."""
    dt = dt or datetime.now(UTC)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") + " 北京时间 (UTC+8)"


def revision_time(revision: int | None) -> datetime | None:
    """The time a layer revision stands for (revisions are at least the write's time in µs), or None for a
    plain counter."""
    if revision is None or revision < REVISION_EPOCH_US:
        return None
    return datetime.fromtimestamp(revision / 1e6, UTC)


def doc_number(kind: str, key: str, when: datetime | None = None) -> str:
    """``RM-BRIEF-20261205-0123-3fa9c1``: the kind, the Beijing date and minute, 6 hex digits of the request."""
    when = (when or datetime.now(UTC)).astimezone(BEIJING)
    digest = hashlib.sha256(f"{kind}|{key}|{when.isoformat()}".encode()).hexdigest()[:6]
    return f"RM-{kind.upper()}-{when:%Y%m%d-%H%M}-{digest}"
