"""The emergency equipment catalogue as data (``data/equipment_types.csv``): the types a supply depot's or a
rescue team's inventory may hold, with their unit, Chinese label and source; and the personnel pseudo-types
(``personnel_<team_type>``) a rescue team offers with its ``personnel`` attribute.

The six categories of 吉政发〔2012〕8号 (rescue drilling rigs, large drainage, heavy clearing and support,
refuge devices, search and positioning equipment) are rows tagged [V]; capacity classes and consumables are
this catalogue's choice [M]. Add a row to add a type: nothing else names the types.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ._common import load_table
from .rescue_standards import capabilities

TABLE = "equipment_types.csv"
PERSONNEL_PREFIX = "personnel_"


@dataclass(frozen=True)
class EquipmentType:
    type: str
    zh: str
    en: str
    unit: str
    unit_zh: str
    category: str
    confidence: str
    source: str


@lru_cache(maxsize=1)  # pure: the packaged table never changes while the process runs
def equipment_types() -> dict[str, EquipmentType]:
    out: dict[str, EquipmentType] = {}
    for r in load_table(TABLE):
        if r["type"] in out:
            raise ValueError(f"{TABLE}: type {r['type']!r} twice")
        out[r["type"]] = EquipmentType(r["type"], r["zh"], r["en"], r["unit"], r["unit_zh"], r["category"],
                                       r["confidence"], r["source"])
    return out


def personnel_types() -> dict[str, str]:
    """``personnel_<team_type>`` → Chinese label, one per team type of the capability table."""
    zh = {"mine_rescue": "矿山救护", "hazmat": "危化品救援", "fire": "消防", "medical": "医疗"}
    return {f"{PERSONNEL_PREFIX}{t}": f"{zh.get(t, t)}人员" for t in capabilities().standards}


def resource_types() -> dict[str, str]:
    """Every type a need may name → its Chinese label (equipment, then personnel)."""
    out = {k: v.zh for k, v in equipment_types().items()}
    out.update(personnel_types())
    return out


def unit_zh(kind: str) -> str:
    e = equipment_types().get(kind)
    return e.unit_zh if e is not None else "人"


def check_equipment(value: object) -> dict[str, int]:
    """An equipment inventory: a JSON object {type: whole quantity ≥ 0} with types from the catalogue.

    Raises ValueError naming the bad key. Personnel are not equipment (they come from ``personnel``)."""
    if not isinstance(value, dict):
        raise ValueError("equipment must be an object {type: quantity}, e.g. {\"drainage_pump_300m3h\": 2}")
    known = equipment_types()
    out: dict[str, int] = {}
    for k, q in value.items():
        if k not in known:
            raise ValueError(f"equipment type {k!r} is not in the catalogue (GET /analysis/resources/types); "
                             f"known: {', '.join(known)}")
        if isinstance(q, bool) or not isinstance(q, int | float) or q != q or q in (float("inf"), float("-inf")):
            raise ValueError(f"equipment[{k!r}] must be a whole number")
        if q < 0:
            raise ValueError(f"equipment[{k!r}] must not be negative (got {q})")
        if q != int(q):
            raise ValueError(f"equipment[{k!r}] must be a whole number of {known[k].unit} (got {q})")
        if q > 10_000_000:
            raise ValueError(f"equipment[{k!r}] is implausibly large (got {q})")
        out[k] = int(q)
    return out
