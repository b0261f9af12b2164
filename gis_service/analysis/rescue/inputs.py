"""Rescue input: the checks of a request (incident types, team types, minutes, location, k) against the
capability table (:mod:`gis_service.models.rescue_standards`), and the arrival standard of a team type."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from ...models.rescue_standards import MAX_MINUTES, capabilities
from ...routing import DEFAULT_ACCESS_SPEED_KMH
from ...validation import Problem, ValidationFailed

TEAMS = "rescue_teams"
MAX_K = 50
EXTENT_MARGIN_DEG = 0.5           # ≈ 40–55 km around the data in Jilin
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

def check_location(geom: BaseGeometry, extent: tuple[float, float, float, float] | None,
                   lon_field: str = "lon", lat_field: str = "lat") -> None:
    """Reject an incident that is not in lon/lat range or lies outside ``extent`` (the data's, with a margin of
    EXTENT_MARGIN_DEG; None: no extent check)."""
    if geom is None or geom.is_empty or not shapely.is_valid(geom):
        raise ValidationFailed([Problem(None, "geometry", "the incident geometry is empty or invalid")])
    x0, y0, x1, y1 = geom.bounds
    problems = []
    if not (-180 <= x0 <= x1 <= 180):
        problems.append(Problem(None, lon_field, f"longitude {x0:g} is not in -180..180"))
    if not (-90 <= y0 <= y1 <= 90):
        problems.append(Problem(None, lat_field, f"latitude {y0:g} is not in -90..90"))
    ext = extent if not problems else None
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
