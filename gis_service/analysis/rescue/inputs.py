"""Rescue input: the capability table (which team types answer which incident, arrival standards
and their overrides) and the checks of a request (incident types, minutes, location, k)."""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from ..models._common import load_table
from ..routing import DEFAULT_ACCESS_SPEED_KMH
from ..stores.base import Store
from ..validation import Problem, ValidationFailed

TABLE = "incident_capabilities.csv"
TEAMS = "rescue_teams"
MAX_K = 50
EXTENT_MARGIN_DEG = 0.5           # ≈ 40–55 km around the data in Jilin
EXTENT_TTL_S = 60.0
MAX_MINUTES = 240.0
MAX_ISOCHRONES = 6
COVERAGE_HORIZON = 3.0            # coverage searches run to 3× the standard, so gaps show how late
INCIDENT_BY_LAYER = {"hazard_sources": "chemical", "chemical_parks": "chemical",
                     "goaf_areas": "goaf", "tailings_dams": "tailings_dam"}
COVERAGE_LAYERS = ("hazard_sources", "tailings_dams", "goaf_areas")
TEAM_TYPE_ZH = {"mine_rescue": "矿山救护", "hazmat": "危化品救援", "fire": "消防", "medical": "医疗"}
ROUTING_NOTE = (f"ETA = team access leg + fastest road time + incident access leg; access legs are straight "
                f"lines driven at {DEFAULT_ACCESS_SPEED_KMH:g} km/h (gis_service/routing/graph.py); road speeds "
                "from the road's speed_kmh or its class default (gis_service/data/road_speeds.csv, OSRM car "
                "profile); no traffic, turn costs or dispatch time")
LIMITATIONS = ["straight-line distance is geodesic (WGS84) to the incident geometry; it ignores terrain and roads",
               "road times are free-flow estimates; no traffic, weather, turn restrictions or dispatch/turnout time",
               "team positions are their stations; teams already deployed are excluded only via on_duty"]


# ---------------------------------------------------------------------------- capability table

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


@lru_cache(maxsize=1)
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


def parse_incident(incident: str | Sequence[str], field_name: str = "incident") -> tuple[str, ...]:
    """Incident type(s) from ``"chemical"``, ``"chemical,medical"`` or a list; unknown → ValidationFailed."""
    parts = incident.replace("+", ",").split(",") if isinstance(incident, str) else list(incident)
    names = tuple(dict.fromkeys(p.strip() for p in parts if p and p.strip()))
    known = capabilities().incidents
    bad = [n for n in names if n not in known]
    if bad or not names:
        what = f"unknown incident type {', '.join(map(repr, bad))}" if bad else "no incident type given"
        raise ValidationFailed([Problem(None, field_name, f"{what}; known: {', '.join(known)}")])
    return names


def capable_team_types(incident: str | Sequence[str]) -> list[str]:
    """Team types that count for the incident type(s), e.g. ``chemical`` → ``['hazmat', 'fire']``."""
    out: list[str] = []
    for inc in parse_incident(incident):
        out += [t for t in capabilities().incidents[inc] if t not in out]
    return out


def parse_overrides(text: str | None) -> dict[str, float]:
    """``"hazmat:20,medical:15"`` → ``{"hazmat": 20.0, "medical": 15.0}`` (GIS_RESCUE_STANDARD_MIN)."""
    return dict(_parsed_overrides(text or ""))


@lru_cache(maxsize=32)
def _parsed_overrides(text: str) -> tuple[tuple[str, float], ...]:
    """Parsed once per distinct setting text (it is read on every rescue request)."""
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
    return tuple(out.items())


def arrival_standard_min(team_type: str, overrides: Mapping[str, float] | None = None) -> tuple[float, str]:
    """(minutes, source) of the arrival standard of a team type.

    ``overrides`` (the parsed ``GIS_RESCUE_STANDARD_MIN``, passed in by the caller — this module never
    reads the settings) replaces table values; the source then says so.
    """
    std = capabilities().standards.get(team_type)
    if std is None:
        raise ValidationFailed([Problem(None, "team_type", f"unknown team type {team_type!r}; known: "
                                        f"{', '.join(capabilities().standards)}")])
    over = overrides or {}
    if team_type in over:
        return float(over[team_type]), (f"configured ({over[team_type]:g} min, GIS_RESCUE_STANDARD_MIN); "
                                        f"table default {std.minutes:g} min: {std.source}")
    return std.minutes, std.source


# ---------------------------------------------------------------------------- input checks

_EXTENTS: weakref.WeakKeyDictionary[Store, tuple[float, tuple | None]] = weakref.WeakKeyDictionary()
_EXTENT_LOCK = threading.Lock()


def data_extent(store: Store) -> tuple[float, float, float, float] | None:
    """Union of the admin_areas and roads extents (rescue_teams if both are empty), cached 60 s."""
    now = time.monotonic()
    hit = _EXTENTS.get(store)
    if hit is not None and now - hit[0] < EXTENT_TTL_S:
        return hit[1]
    boxes = [b for b in (store.extent("admin_areas"), store.extent("roads")) if b is not None]
    if not boxes:
        boxes = [b for b in (store.extent(TEAMS),) if b is not None]
    ext = None
    if boxes:
        arr = np.asarray(boxes, dtype=float)
        ext = (float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 2].max()), float(arr[:, 3].max()))
    with _EXTENT_LOCK:
        _EXTENTS[store] = (now, ext)
    return ext


def check_location(store: Store, geom: BaseGeometry, lon_field: str = "lon", lat_field: str = "lat") -> None:
    """Reject an incident outside the data extent (with a margin of EXTENT_MARGIN_DEG)."""
    if geom is None or geom.is_empty or not shapely.is_valid(geom):
        raise ValidationFailed([Problem(None, "geometry", "the incident geometry is empty or invalid")])
    x0, y0, x1, y1 = geom.bounds
    problems = []
    if not (-180 <= x0 <= x1 <= 180):
        problems.append(Problem(None, lon_field, f"longitude {x0:g} is not in -180..180"))
    if not (-90 <= y0 <= y1 <= 90):
        problems.append(Problem(None, lat_field, f"latitude {y0:g} is not in -90..90"))
    ext = data_extent(store) if not problems else None
    if ext is not None:
        m = EXTENT_MARGIN_DEG
        box = f"{ext[0] - m:.2f}..{ext[2] + m:.2f} E, {ext[1] - m:.2f}..{ext[3] + m:.2f} N"
        if x1 < ext[0] - m or x0 > ext[2] + m:
            problems.append(Problem(None, lon_field, f"outside the data extent ({box})"))
        if y1 < ext[1] - m or y0 > ext[3] + m:
            problems.append(Problem(None, lat_field, f"outside the data extent ({box})"))
    if problems:
        raise ValidationFailed(problems)


def _check_args(k: int, by: str, min_personnel: int) -> None:
    problems = []
    if not isinstance(k, int | np.integer) or not 1 <= k <= MAX_K:
        problems.append(Problem(None, "k", f"must be an integer from 1 to {MAX_K}"))
    if by not in ("distance", "time"):
        problems.append(Problem(None, "by", "must be 'distance' or 'time'"))
    if min_personnel < 0:
        problems.append(Problem(None, "min_personnel", "must not be negative"))
    if problems:
        raise ValidationFailed(problems)


def representative_point(geom: BaseGeometry) -> Point:
    """The point an incident is routed from: the point itself, or a point inside the polygon/line."""
    return geom if geom.geom_type == "Point" else geom.representative_point()


def parse_minutes(values: str | Sequence[float], field_name: str = "minutes",
                  max_count: int = MAX_ISOCHRONES) -> list[float]:
    """``"10,20,30"`` or a list → sorted unique minutes in (0, MAX_MINUTES]; else ValidationFailed."""
    parts = values.split(",") if isinstance(values, str) else list(values)
    out = []
    for p in parts:
        try:
            v = float(p)
        except (TypeError, ValueError):
            raise ValidationFailed([Problem(None, field_name, f"{p!r} is not a number of minutes")]) from None
        if not (0 < v <= MAX_MINUTES) or math.isnan(v):
            raise ValidationFailed([Problem(None, field_name, f"{v:g} must be > 0 and ≤ {MAX_MINUTES:g}")])
        out.append(v)
    out = sorted(set(out))
    if not out or len(out) > max_count:
        raise ValidationFailed([Problem(None, field_name, f"give 1 to {max_count} values, e.g. 10,20,30")])
    return out
