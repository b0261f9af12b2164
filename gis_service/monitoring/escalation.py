"""Alarm routing and escalation: who is told of an alarm, and when it goes up a level (pure functions).

An alarm starts at the jurisdiction of its sensor (the sensor's ``admin_code``: a county such as 220102).
If nobody acknowledges it within the minutes of :func:`policy` for its alarm level and the current level
of the administration, it is passed up: county → city (``2201``) → province (``22``); each step is an event
``escalated`` on the alarm's stream with ``to`` (the jurisdiction now told) and ``step``. An acknowledgement
stops it. The minutes are data (``gis_service/data/alarm_escalation.csv``, tagged [M]: no national standard
fixes them) and a deployment overrides them with ``GIS_ALARM_ESCALATION_MIN``.

Routing: an event of an alarm reaches a caller of jurisdiction J when the alarm lies in J (its sensor's
code starts with J) and the alarm has been routed to J or to a level above J's own — so the county hears of
its alarm at once, the city only once it is escalated to the city, the province once it reaches the
province. The whole service (J = '') hears everything.

Who runs it: :func:`escalate_overdue` is called by every API process with an open alarm stream (once a second),
by the MQTT ingest worker (``gis-service ingest``, every ``GIS_ALARM_ESCALATE_EVERY_S``) and by
``gis-service escalate`` (once, or ``--every N`` seconds, e.g. from cron or a systemd timer where no worker runs)
— so an alarm escalates with no stream open. Several at once are safe: the store records a step once.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .storebase import ReadingStore

DATA = Path(__file__).resolve().parent.parent / "data" / "alarm_escalation.csv"
LEVELS = ("county", "city", "province")
LEVEL_ZH = {"county": "县级", "city": "市级", "province": "省级"}


@dataclass(frozen=True)
class Step:
    step: int          # 0 = the alarm's own jurisdiction (at opening), 1 = first escalation, ...
    to: str            # jurisdiction told (normalised prefix)
    level: str         # county | city | province
    due: float         # epoch seconds at which it is told


def chain(admin_code: str | None) -> list[tuple[str, str]]:
    """(jurisdiction, level) from the alarm's own up to the province: '220102' → county, city, province."""
    if not admin_code or len(admin_code) < 2:
        return []
    code = str(admin_code)
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    out = []
    if len(code) >= 6:
        out.append((code[:6], "county"))
    if len(code) >= 4:
        out.append((code[:4], "city"))
    out.append((code[:2], "province"))
    return out


@lru_cache(maxsize=1)
def _table() -> dict[tuple[int, str], float]:
    with DATA.open(encoding="utf-8") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        return {(int(r["alarm_level"]), r["from_level"]): float(r["minutes"]) for r in rows}


def parse_overrides(text: str) -> dict[tuple[int, str], float]:
    """``"2:county:10,2:city:20"`` → {(2, 'county'): 10.0, (2, 'city'): 20.0}; ValueError naming the problem."""
    out: dict[tuple[int, str], float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        bits = part.split(":")
        if len(bits) != 3 or bits[1] not in ("county", "city"):
            raise ValueError(f"GIS_ALARM_ESCALATION_MIN: {part!r} is not alarm_level:county|city:minutes")
        try:
            level, minutes = int(bits[0]), float(bits[2])
        except ValueError:
            raise ValueError(f"GIS_ALARM_ESCALATION_MIN: {part!r}: level and minutes must be numbers") from None
        if level not in (1, 2) or not (0 < minutes <= 7 * 24 * 60):
            raise ValueError(f"GIS_ALARM_ESCALATION_MIN: {part!r}: level 1 or 2, minutes in (0, 10080]")
        out[(level, bits[1])] = minutes
    return out


def policy(overrides: str = "") -> dict[tuple[int, str], float]:
    return {**_table(), **parse_overrides(overrides)}


def steps(alarm_level: int, admin_code: str | None, opened_at: float,
          table: dict[tuple[int, str], float]) -> list[Step]:
    """Every step of the alarm's route with the time it is due (if still unacknowledged by then)."""
    route = chain(admin_code)
    out: list[Step] = []
    t = opened_at
    for i, (jurisdiction, level) in enumerate(route):
        if i > 0:
            minutes = table.get((int(alarm_level), route[i - 1][1]))
            if minutes is None:
                break
            t += minutes * 60.0
        out.append(Step(i, jurisdiction, level, t))
    return out


def reaches(caller: str, admin_code: str | None, routed_to: str | None) -> bool:
    """Whether a caller of jurisdiction ``caller`` is told of an alarm of ``admin_code`` routed to ``routed_to``."""
    if not caller:
        return True
    if not admin_code or not str(admin_code).startswith(caller):
        return False
    return routed_to is not None and caller.startswith(routed_to)


def escalate_overdue(readings: ReadingStore, codes: Mapping[int, str | None], table: dict[tuple[int, str], float],
                     now: float) -> list[tuple[int, bytes]]:
    """Pass every open (unacknowledged) alarm whose time at its level is up to the next level; each step an
    ``escalated`` event (returned as (seq, document)). ``codes``: sensor id → admin_code."""
    events: list[tuple[int, bytes]] = []
    for alarm_id, sensor_id, level, opened_at, done in readings.escalation_candidates():
        for step in steps(level, codes.get(sensor_id), opened_at, table)[1:]:
            if step.step <= done or step.due > now:
                continue
            ev = readings.escalate(alarm_id, step.step, step.to, step.level, step.due)
            if ev is not None:
                events.append(ev)
    return events
