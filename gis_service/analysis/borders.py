"""Crossing a border (issue 20): rescue and exposure look across jurisdictions — a county's incident may need a
neighbour's team, and a toxic zone does not stop at a county line — so their answers say when they do.

The incident's (or source's) area is the finest admin area holding its representative point, as
:meth:`gis_service.services.layers.LayersService.admin_codes` decides a feature's ``admin_code`` (GB/T 2260:
the code with the most significant digits, '220102' over '220100'). A team lies in another jurisdiction when its
``admin_code`` is not inside that area; a zone reaches another jurisdiction when it meets an admin area of the
same level (county beside county) other than the incident's. Admin areas are a shared layer: every caller reads
them, so the note names the other areas whatever the caller's scope. The functions here are pure: the facades
give them the admin areas (:class:`AdminAreas`, cached by the layers facade) and annotate their answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import shapely
from pydantic import BaseModel, Field
from shapely.geometry.base import BaseGeometry


def _depth(code: str) -> int:
    """Significant digits of a GB/T 2260 code ('220102' → 6, '220100' → 4, '220000' → 2)."""
    text = str(code)
    while len(text) > 2 and text.endswith("00"):
        text = text[:-2]
    return len(text)


def inside(area_code: str, code: str | None) -> bool:
    """Whether a feature with admin ``code`` lies in the area ``area_code`` (or in one of its sub-areas)."""
    return code is not None and str(code).startswith(str(area_code)[:_depth(area_code)])


@dataclass(frozen=True)
class AdminAreas:
    """The admin areas as the border notes need them: an STRtree of the polygons, their codes and names (built and
    cached by the layers facade, so a rescue answer asks the store nothing more for its note)."""

    tree: shapely.STRtree
    codes: list[str]
    names: list[str | None]

    @classmethod
    def build(cls, geoms: Sequence[BaseGeometry], codes: Sequence[Any], names: Sequence[Any]) -> AdminAreas:
        keep = [i for i, c in enumerate(codes) if c is not None and str(c)]
        polygons = np.asarray([geoms[i] for i in keep], dtype=object)
        # prepared once: the point-in-area tests of every answer then cost a fraction of a full intersects
        shapely.prepare(polygons)
        return cls(shapely.STRtree(polygons), [str(codes[i]) for i in keep], [names[i] for i in keep])

    def meeting(self, geom: BaseGeometry) -> list[tuple[str, str | None]]:
        """The areas ``geom`` intersects, in the tree's order (the boxes from the tree, then the exact test on the
        prepared areas: the same as ``query(geom, predicate="intersects")``, which prepares ``geom`` instead)."""
        if not self.codes:
            return []
        boxes = self.tree.query(geom)
        hits = boxes[shapely.intersects(self.tree.geometries.take(boxes), geom)] if len(boxes) else boxes
        return [(self.codes[j], self.names[j]) for j in hits.tolist()]

    def area_of(self, geom: BaseGeometry) -> tuple[str | None, str | None]:
        """(code, name) of the finest area holding ``geom``'s representative point; (None, None) outside all."""
        found = self.meeting(shapely.point_on_surface(geom))
        if not found:
            return None, None
        return max(found, key=lambda a: _depth(a[0]))

    def name(self, code: str) -> str | None:
        return self.names[self.codes.index(code)] if code in self.codes else None

class OtherJurisdiction(BaseModel):
    code: str = Field(..., description="GB/T 2260 admin code")
    name: str | None


class BorderInfo(BaseModel):
    """``metadata.border`` of a rescue or exposure answer: whether it crosses the incident's jurisdiction."""

    subject: Literal["team", "zone"] = Field(..., description="what crosses: teams (rescue) or zones (exposure)")
    crosses: bool
    incident_admin_code: str | None = Field(..., description="the finest admin area holding the incident or source")
    incident_area: str | None
    other_jurisdictions: list[OtherJurisdiction]
    note_zh: str | None = Field(..., description="the note for people (null when nothing crosses)")
    note_en: str | None


@dataclass
class BorderNote:
    """Whether an answer crosses the incident's jurisdiction, and into which areas. ``subject`` is what crosses:
    ``team`` (rescue) or ``zone`` (exposure)."""

    subject: str
    incident_code: str | None
    incident_area: str | None
    others: list[tuple[str, str | None]] = field(default_factory=list)   # (code, name), sorted by code

    @property
    def crosses(self) -> bool:
        return bool(self.others)

    def _where(self) -> str:
        return f"{self.incident_area or '行政区'}（{self.incident_code}）"

    def note_zh(self) -> str | None:
        if not self.crosses:
            return None
        names = "、".join(f"{name or '行政区'}（{code}）" for code, name in self.others)
        if self.subject == "team":
            return (f"跨辖区：事故点位于{self._where()}，所列救援队伍中有属于{names}的，"
                    "调派须经属地应急管理部门协调（省、市应急平台互联互通）。")
        return (f"跨辖区：危险源位于{self._where()}，影响范围波及{names}，须通报相关辖区应急管理部门并协同处置。")

    def note_en(self) -> str | None:
        if not self.crosses:
            return None
        codes = ", ".join(code for code, _ in self.others)
        if self.subject == "team":
            return (f"crossing a border: the incident lies in {self.incident_code}; teams listed from {codes} "
                    "are dispatched through their own jurisdiction's emergency office")
        return f"crossing a border: the source lies in {self.incident_code}; its zones reach {codes}"

    def model(self) -> BorderInfo:
        return BorderInfo(subject="team" if self.subject == "team" else "zone", crosses=self.crosses,
                          incident_admin_code=self.incident_code, incident_area=self.incident_area,
                          other_jurisdictions=[OtherJurisdiction(code=c, name=n) for c, n in self.others],
                          note_zh=self.note_zh(), note_en=self.note_en())

    def to_dict(self) -> dict[str, Any]:
        return self.model().model_dump(mode="json")


def team_border(areas: AdminAreas, incident: BaseGeometry, team_codes: Iterable[str | None]) -> BorderNote:
    """The note of a rescue answer: the incident's area and the areas of the listed teams outside it."""
    code, name = areas.area_of(incident)
    if code is None:
        return BorderNote("team", None, None)
    others = sorted({str(c) for c in team_codes if c is not None and not inside(code, c)})
    return BorderNote("team", code, name, [(c, areas.name(c)) for c in others])


def zone_border(areas: AdminAreas, source: BaseGeometry, zones: Sequence[BaseGeometry]) -> tuple[BorderNote,
                                                                                                 list[list[str]]]:
    """The note of an exposure answer, and per zone the codes of the other same-level areas it reaches."""
    code, name = areas.area_of(source)
    if code is None:
        return BorderNote("zone", None, None), [[] for _ in zones]
    depth = _depth(code)
    per_zone: list[list[str]] = []
    seen: dict[str, str | None] = {}
    for geom in zones:
        hits = [(c, n) for c, n in areas.meeting(geom) if _depth(c) == depth and c != code]
        seen.update(hits)
        per_zone.append(sorted({c for c, _ in hits}))
    return BorderNote("zone", code, name, sorted(seen.items())), per_zone
