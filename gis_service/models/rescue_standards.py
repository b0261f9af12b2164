"""Rescue capability table as data (``data/incident_capabilities.csv``): which team types answer which
incident type, and each team type's arrival standard with its source (mine rescue 30 min AQ 1008 /
矿山救援规程; fire 5 min GB 51080-2015 §4.1.3; hazmat and medical configurable, default 30 min) —
and the parser of the configured overrides (``GIS_RESCUE_STANDARD_MIN``, read by the settings)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ._common import load_table

TABLE = "incident_capabilities.csv"
MAX_MINUTES = 240.0


@dataclass(frozen=True)
class Standard:
    team_type: str
    minutes: float
    source: str
    confidence: str
    configurable: bool


@dataclass(frozen=True)
class Capabilities:
    incidents: dict[str, tuple[str, ...]]          # incident → team types (table order)
    labels: dict[str, tuple[str, str]]             # incident → (zh, en)
    standards: dict[str, Standard]                 # team type → standard


@lru_cache(maxsize=1)  # pure: the packaged table never changes while the process runs
def capabilities() -> Capabilities:
    """The matching table (``data/incident_capabilities.csv``), checked for consistency."""
    incidents: dict[str, list[str]] = {}
    labels: dict[str, tuple[str, str]] = {}
    standards: dict[str, Standard] = {}
    for r in load_table(TABLE):
        inc, team = r["incident_type"], r["team_type"]
        incidents.setdefault(inc, [])
        if team not in incidents[inc]:
            incidents[inc].append(team)
        labels[inc] = (r["incident_zh"], r["incident_en"])
        std = Standard(team, float(r["standard_min"]), r["source"], r["confidence"], r["configurable"] == "yes")
        if team in standards and standards[team] != std:
            raise ValueError(f"{TABLE}: team type {team!r} has two different arrival standards")
        standards[team] = std
    return Capabilities({k: tuple(v) for k, v in incidents.items()}, labels, standards)


def incident_types() -> list[str]:
    return list(capabilities().incidents)


def parse_overrides(text: str | None) -> dict[str, float]:
    """``"hazmat:20,medical:15"`` → ``{"hazmat": 20.0, "medical": 15.0}`` (GIS_RESCUE_STANDARD_MIN).

    Raises ValueError naming the variable and what it accepts."""
    out: dict[str, float] = {}
    for pair in filter(None, (p.strip() for p in (text or "").split(","))):
        team, _, value = pair.partition(":")
        team = team.strip()
        try:
            minutes = float(value)
        except ValueError:
            minutes = float("nan")
        if team not in capabilities().standards or not (0 < minutes <= MAX_MINUTES):
            raise ValueError(f"GIS_RESCUE_STANDARD_MIN: {pair!r} must be team_type:minutes with a known team type "
                             f"({', '.join(capabilities().standards)}) and 0 < minutes ≤ {MAX_MINUTES:g}")
        out[team] = minutes
    return out


@lru_cache(maxsize=16)  # pure: derived from the immutable table
def incident_for_team_type(team_type: str) -> str | None:
    """An incident type whose capable team types include ``team_type`` (the narrowest one), or None."""
    options = [(len(types), inc) for inc, types in capabilities().incidents.items() if team_type in types]
    return min(options)[1] if options else None
