"""Sample supply depots, shelters, emergency plans and typed team equipment for the Jilin demonstration
dataset (hooked into ``build_sample`` of sample_data/jilin_sample.py).

What is real: the bases named in 吉政发〔2012〕8号 — the 吉煤集团 mine-rescue bases and the 国家危险化学品应急救援
吉化基地 — get a depot at the base's (approximate) location, tagged with that source. Everything else (the
inventories, the city and county depots, every shelter and every plan) is synthetic, marked ``synthetic`` in
``data_source`` and ``（示例）`` in the name. Ids of referenced hazard sources are their 1-based positions in
the generated layer (the sample writes ids 1..n).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

Rows = list[tuple[BaseGeometry, dict[str, Any]]]
SRC_POLICY = "base named in 吉政发〔2012〕8号; location approximate; inventory synthetic"
REFERENCE_DAY = date(2026, 6, 30)   # plans' filing and review dates are drawn around this day (sample)


def _offset(rng: np.random.Generator, lon: float, lat: float, dmin: float, dmax: float) -> Point:
    d, az = rng.uniform(dmin, dmax), rng.uniform(0, 2 * math.pi)
    return Point(lon + d * math.sin(az) / (111_320 * math.cos(math.radians(lat))), lat + d * math.cos(az) / 110_574)


def _pick(rng: np.random.Generator, lo: int, hi: int) -> int:
    return int(rng.integers(lo, hi + 1))


def team_equipment(rng: np.random.Generator, team_type: str, personnel: int) -> dict[str, int]:
    """A plausible typed kit per team type (synthetic)."""
    if team_type == "mine_rescue":
        kit = {"breathing_apparatus": max(personnel // 2, 6), "gas_detector": _pick(rng, 4, 12),
               "life_detector": _pick(rng, 1, 3), "positioning_system": _pick(rng, 0, 2),
               "drainage_pump_100m3h": _pick(rng, 0, 2)}
    elif team_type == "hazmat":
        kit = {"chemical_suit": max(personnel // 3, 6), "gas_detector": _pick(rng, 4, 10),
               "leak_sealing_kit": _pick(rng, 2, 6), "foam_tender": _pick(rng, 1, 3),
               "foam_concentrate_t": _pick(rng, 2, 10), "breathing_apparatus": max(personnel // 2, 6)}
    elif team_type == "fire":
        kit = {"foam_tender": _pick(rng, 0, 2), "foam_concentrate_t": _pick(rng, 0, 4),
               "breathing_apparatus": max(personnel // 2, 4), "generator_set": _pick(rng, 0, 1)}
    else:
        kit = {"ambulance": _pick(rng, 2, 8), "generator_set": _pick(rng, 0, 1)}
    return {k: v for k, v in kit.items() if v > 0}


def add_team_equipment(rng: np.random.Generator, teams: Rows) -> None:
    for _, p in teams:
        p["equipment"] = team_equipment(rng, p["team_type"], int(p.get("personnel") or 0))


def _depot_kit(rng: np.random.Generator, level: str, mining: bool, chemical: bool) -> dict[str, int]:
    big = {"national": 3, "province": 2, "city": 1, "county": 0, "enterprise": 0}[level]
    kit = {"sandbag": _pick(rng, 500, 5000) * (big + 1), "generator_set": _pick(rng, 1, 3 + big),
           "drainage_pump_100m3h": _pick(rng, 2, 6 + 2 * big), "excavator": _pick(rng, 0, 1 + big),
           "life_detector": _pick(rng, 0, 2 + big)}
    if big or mining:
        kit |= {"drainage_pump_300m3h": _pick(rng, 1, 3 + 2 * big), "support_equipment": _pick(rng, 0, 1 + big),
                "positioning_system": _pick(rng, 0, 1 + big)}
    if mining:
        kit |= {"drilling_rig": _pick(rng, 1, 1 + big), "refuge_capsule": _pick(rng, 0, 2),
                "drainage_pump_1000m3h": _pick(rng, 0, big), "breathing_apparatus": _pick(rng, 20, 60)}
    if chemical:
        kit |= {"foam_concentrate_t": _pick(rng, 10, 40 + 20 * big), "containment_boom_m": 100 * _pick(rng, 2, 20),
                "chemical_suit": _pick(rng, 10, 40), "leak_sealing_kit": _pick(rng, 2, 10)}
    return {k: v for k, v in kit.items() if v > 0}


def make_depots(rng: np.random.Generator, named_bases: Sequence[tuple], seats: Sequence[Any],
                county_of: Callable[[BaseGeometry], str | None], in_province: Callable[[BaseGeometry], bool],
                synthetic: str) -> Rows:
    """Depots at the policy's named bases, one per prefecture city and one in about a third of the counties."""
    rows: Rows = []
    for name, ttype, lon, lat, _personnel, parent in named_bases:
        p = Point(lon + 0.004, lat + 0.003)
        depot = (name.replace("救护大队", "") + "应急救援物资储备库") if ttype == "mine_rescue" else name + "物资储备库"
        rows.append((p, {"name": depot, "level": "province",
                         "equipment": _depot_kit(rng, "province", ttype == "mine_rescue", ttype == "hazmat"),
                         "operator": parent, "available": True, "county": county_of(p), "data_source": SRC_POLICY}))
    prefectures: dict[str, Any] = {}
    for s in seats:
        if s.prefecture and (s.prefecture not in prefectures or (s.population or 0) > (prefectures[s.prefecture].population or 0)):
            prefectures[s.prefecture] = s
    for pref, s in sorted(prefectures.items()):
        p = _place(rng, s.lon, s.lat, 1000, 5000, in_province)
        rows.append((p, {"name": f"{pref}应急物资储备库（示例）", "level": "city",
                         "equipment": _depot_kit(rng, "city", rng.random() < 0.4, rng.random() < 0.5),
                         "operator": f"{pref}应急管理局", "available": True, "county": county_of(p),
                         "data_source": synthetic}))
    for s in seats:
        if rng.random() < 0.35:
            p = _place(rng, s.lon, s.lat, 500, 3000, in_province)
            rows.append((p, {"name": f"{s.short}应急物资储备点（示例）", "level": "county",
                             "equipment": _depot_kit(rng, "county", rng.random() < 0.2, rng.random() < 0.3),
                             "operator": f"{s.county}应急管理局", "available": bool(rng.random() < 0.95),
                             "county": s.county, "data_source": synthetic}))
    return rows


def _place(rng: np.random.Generator, lon: float, lat: float, dmin: float, dmax: float,
           in_province: Callable[[BaseGeometry], bool]) -> Point:
    for _ in range(100):
        p = _offset(rng, lon, lat, dmin, dmax)
        if in_province(p):
            return p
    return Point(lon, lat)


def make_shelters(rng: np.random.Generator, seats: Sequence[Any], in_province: Callable[[BaseGeometry], bool],
                  synthetic: str) -> Rows:
    """Two to five shelters around each county seat (parks, school grounds, stadiums); capacity from the
    seat's population where known (GB 21734-2008 plans ≥ 1.5 m² per person in a class-Ⅲ shelter: the
    area is capacity × 1.5 m² here [M])."""
    rows: Rows = []
    kinds = (("体育场", "class_2"), ("公园", "class_3"), ("学校操场", "class_3"), ("广场", "class_3"),
             ("体育馆", "indoor"), ("中心公园", "class_1"))
    for s in seats:
        n = 2 + int(rng.integers(0, 4)) + (2 if (s.population or 0) > 500_000 else 0)
        for k in range(n):
            label, cls = kinds[int(rng.integers(0, len(kinds)))]
            cap = int(rng.integers(1, 12)) * 1000 if cls != "indoor" else int(rng.integers(5, 30)) * 100
            p = _place(rng, s.lon, s.lat, 300, 4000 + 1000 * k, in_province)
            rows.append((p, {"name": f"{s.short}{label}应急避难场所{k + 1}（示例）", "shelter_class": cls,
                             "capacity": cap, "area_m2": round(cap * 1.5, 1), "open": True,
                             "county": s.county, "data_source": synthetic}))
    return rows


def make_plans(rng: np.random.Generator, hazards: Rows, seats: Sequence[Any], synthetic: str) -> Rows:
    """One enterprise plan per enterprise covering its hazard sources (most filed, some pending, not filed,
    expired or missing), and a city-level plan per prefecture (synthetic)."""
    by_ent: dict[str, list[int]] = {}
    where: dict[str, BaseGeometry] = {}
    county: dict[str, str | None] = {}
    for i, (g, p) in enumerate(hazards, start=1):
        ent = p["enterprise"]
        by_ent.setdefault(ent, []).append(i)
        where.setdefault(ent, g.representative_point())
        county.setdefault(ent, p.get("county"))
    rows: Rows = []
    for ent, ids in by_ent.items():
        u = rng.random()
        if u < 0.12:
            continue   # no plan at all
        status = "filed" if u < 0.80 else ("pending" if u < 0.90 else "not_filed")
        filed = REFERENCE_DAY - timedelta(days=int(rng.integers(30, 1400)))
        review = filed + timedelta(days=3 * 365)   # 《生产安全事故应急预案管理办法》: evaluate every 3 years [M]
        rows.append((where[ent], {"name": f"{ent.replace('（示例）', '')}生产安全事故应急预案（示例）", "level": "enterprise",
                                  "enterprise": ent, "hazard_source_ids": ids, "filing_status": status,
                                  "filed_date": filed.isoformat() if status == "filed" else None,
                                  "review_date": review.isoformat(), "county": county[ent],
                                  "data_source": synthetic}))
    prefectures: dict[str, Any] = {}
    for s in seats:
        prefectures.setdefault(s.prefecture, s)
    for pref, s in sorted(prefectures.items()):
        if not pref:
            continue
        filed = REFERENCE_DAY - timedelta(days=int(rng.integers(30, 900)))
        rows.append((Point(s.lon, s.lat), {"name": f"{pref}危险化学品事故应急预案（示例）", "level": "city",
                                           "enterprise": f"{pref}人民政府", "hazard_source_ids": [],
                                           "filing_status": "filed", "filed_date": filed.isoformat(),
                                           "review_date": (filed + timedelta(days=3 * 365)).isoformat(),
                                           "county": s.county, "data_source": synthetic}))
    return rows
