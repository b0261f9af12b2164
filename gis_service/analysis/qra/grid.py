"""Individual risk on a grid: polar fields per installation → wind rose → Cartesian grid → contours.

IR(x) = Σ_cases Σ_weather Σ_wind f_case · p_weather · p_wind · P_death(x) (CCPS CPQRA 2000 §4.4.1; CPR 18E §6).

Vectorisation: for each installation, every outcome case is evaluated once per weather class on a polar grid
(distance r × 360 one-degree bearings relative to the downwind axis). Directional fields (toxic, flash fire) are
summed, then turned by the wind rose in one circular convolution along the bearing axis (FFT); radial fields
(fires, explosions) are added without it. The wind rose's N sectors are spread evenly over their width (a sector
is not a single direction), which avoids spokes. The polar IR is then interpolated bilinearly onto the Cartesian
grid of the local azimuthal-equidistant plane (``geodesy``) and summed over installations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import contourpy
import numpy as np
import shapely
from scipy.ndimage import map_coordinates
from shapely.geometry import MultiPolygon, Polygon

from .data import QraParams
from .fields import X_MIN_M, SigmaMemo, directional, radial, weather_dependent
from .loss_of_containment import OutcomeCase

N_BEARINGS = 360


def rose_toward_pmf(rose_from: tuple[float, ...]) -> np.ndarray:
    """Wind rose (probabilities of blowing FROM N sectors, sector 0 centred on north) → probability per
    one-degree bin of the direction the wind blows TOWARD."""
    n = len(rose_from)
    width = N_BEARINGS // n
    deg = np.arange(N_BEARINGS)
    sector = ((deg + width // 2) // width) % n  # bins of sector k: k·w − w/2 ≤ deg < k·w + w/2
    pmf_from = np.asarray(rose_from, dtype=float)[sector] / width
    return np.roll(pmf_from, 180)  # toward = from + 180°


@dataclass
class PolarRisk:
    """IR of one installation on a polar grid: ``ir[i, j]`` at distance r[i] and compass bearing j°."""

    r: np.ndarray
    ir: np.ndarray

    @property
    def r_max(self) -> float:
        return float(self.r[-1])


def polar_risk(cases: list[OutcomeCase], p: QraParams, r_max: float, dr: float) -> PolarRisk:
    nr = int(np.ceil(r_max / dr)) + 1
    r = np.arange(nr) * dr
    phi = np.radians(np.arange(N_BEARINGS))
    x = r[:, None] * np.cos(phi)[None, :]
    y = r[:, None] * np.sin(phi)[None, :]
    d_sum = np.zeros((nr, N_BEARINGS))
    r_sum = np.zeros(nr)
    down = np.cos(phi) > 1e-12  # directional fields vanish upwind (x ≤ 0) except at the source (row 0)
    xd, yd = x[1:, down], y[1:, down]
    # one evaluation per case and weather: the downwind nodes of rows 1… and, last, the release point (row 0),
    # where every bearing takes the same value (``directional``'s at-source rule: x = X_MIN_M, y = 0)
    xa, ya = np.append(xd.ravel(), X_MIN_M), np.append(yd.ravel(), 0.0)
    memo = SigmaMemo(xa)
    for case in cases:
        if case.directional:
            for w in p.weather:
                fw = case.frequency_per_year * w.probability
                f = directional(case, w, xa, ya, p, memo)
                d_sum[1:, down] += fw * f[:-1].reshape(xd.shape)
                d_sum[0] += fw * f[-1]
        elif weather_dependent(case):
            for w in p.weather:
                r_sum += case.frequency_per_year * w.probability * radial(case, w, r, p, r_max)
        else:
            r_sum += case.frequency_per_year * radial(case, p.weather[0], r, p, r_max)
    ir = r_sum[:, None] + wind_convolve(d_sum, p.rose())
    return PolarRisk(r, ir)


def wind_convolve(field_rel: np.ndarray, rose_from: tuple[float, ...]) -> np.ndarray:
    """IR(r, θ) = Σ_t p_toward(t) · F(r, θ − t): circular convolution along the bearing axis (FFT).

    ``field_rel[:, j]`` is the field at angle j° from the downwind axis, counter-clockwise in the local plane;
    the output's column j is the compass bearing j° (clockwise from north).
    """
    if not field_rel.any():
        return np.zeros_like(field_rel)
    # relative angle (counter-clockwise from downwind) → clockwise bearing offset: reverse the angle axis
    rel_cw = np.roll(field_rel[:, ::-1], 1, axis=1)
    pmf = rose_toward_pmf(rose_from)
    out = np.fft.irfft(np.fft.rfft(rel_cw, axis=1) * np.fft.rfft(pmf)[None, :], n=N_BEARINGS, axis=1)
    return np.maximum(out, 0.0)


def sample_polar(pr: PolarRisk, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of a polar IR at local offsets (east dx, north dy) from the installation
    (``scipy.ndimage.map_coordinates``, order 1; the bearing axis wraps at 360°; beyond r_max: 0)."""
    dist = np.hypot(dx, dy)
    bearing = np.mod(np.degrees(np.arctan2(dx, dy)), 360.0)
    dr = pr.r[1] - pr.r[0]
    wrapped = np.concatenate([pr.ir, pr.ir[:, :1]], axis=1)  # column 360 = column 0
    out = map_coordinates(wrapped, [dist / dr, bearing], order=1, mode="constant", cval=0.0, prefilter=False)
    return np.where(dist <= pr.r_max, out, 0.0)


@dataclass
class RiskGrid:
    """IR on a regular grid in the local AEQD plane (cell centres ``xs`` east, ``ys`` north, metres)."""

    xs: np.ndarray
    ys: np.ndarray
    ir: np.ndarray  # shape (len(ys), len(xs))

    def max(self) -> tuple[float, float, float]:
        k = int(np.argmax(self.ir))
        iy, ix = np.unravel_index(k, self.ir.shape)
        return float(self.ir[iy, ix]), float(self.xs[ix]), float(self.ys[iy])


def grid_axes(points_xy: np.ndarray, max_range_m: float, resolution_m: float) -> tuple[np.ndarray, np.ndarray]:
    x0, y0 = points_xy.min(axis=0) - max_range_m
    x1, y1 = points_xy.max(axis=0) + max_range_m
    nx = int(np.floor((x1 - x0) / resolution_m)) + 1
    ny = int(np.floor((y1 - y0) / resolution_m)) + 1
    return x0 + np.arange(nx) * resolution_m, y0 + np.arange(ny) * resolution_m


def cell_count(points_xy: np.ndarray, max_range_m: float, resolution_m: float) -> int:
    span = points_xy.max(axis=0) - points_xy.min(axis=0) + 2 * max_range_m
    return int((np.floor(span[0] / resolution_m) + 1) * (np.floor(span[1] / resolution_m) + 1))


def risk_grid(polars: list[PolarRisk], positions: np.ndarray, p: QraParams) -> RiskGrid:
    """Sum every installation's polar IR onto one grid (each only over the cells within its reach)."""
    xs, ys = grid_axes(positions, p.max_range_m, p.resolution_m)
    ir = np.zeros((len(ys), len(xs)))
    res = p.resolution_m
    for pr, (px, py) in zip(polars, positions, strict=True):
        reach = pr.r_max
        ix0 = max(int(np.floor((px - reach - xs[0]) / res)), 0)
        ix1 = min(int(np.ceil((px + reach - xs[0]) / res)) + 1, len(xs))
        iy0 = max(int(np.floor((py - reach - ys[0]) / res)), 0)
        iy1 = min(int(np.ceil((py + reach - ys[0]) / res)) + 1, len(ys))
        gx, gy = np.meshgrid(xs[ix0:ix1] - px, ys[iy0:iy1] - py)
        ir[iy0:iy1, ix0:ix1] += sample_polar(pr, gx, gy)
    return RiskGrid(xs, ys, ir)


def contour_polygons(g: RiskGrid, level: float) -> MultiPolygon | Polygon | None:
    """Region where IR ≥ ``level`` as polygons (holes included), local metres; None when empty."""
    if not (g.ir >= level).any():
        return None
    gen = contourpy.contour_generator(g.xs, g.ys, g.ir, fill_type=contourpy.FillType.OuterOffset)
    filled: Any = gen.filled(level, np.inf)  # OuterOffset: (list of points, list of ring offsets)
    points, offsets = filled[0], filled[1]
    polys = []
    for pts, offs in zip(points, offsets, strict=True):
        rings = [pts[offs[i]:offs[i + 1]] for i in range(len(offs) - 1)]
        rings = [ring for ring in rings if len(ring) >= 4]
        if rings:
            polys.append(Polygon(rings[0], rings[1:]))
    if not polys:
        return None
    geom = shapely.make_valid(MultiPolygon(polys) if len(polys) > 1 else polys[0])
    return geom


def ir_at(g: RiskGrid, x, y) -> np.ndarray:
    """Bilinear IR at local points (outside the grid: 0)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    res = g.xs[1] - g.xs[0]
    fx = (x - g.xs[0]) / res
    fy = (y - g.ys[0]) / res
    inside = (fx >= 0) & (fy >= 0) & (fx <= len(g.xs) - 1) & (fy <= len(g.ys) - 1)
    ix = np.clip(np.floor(fx).astype(int), 0, len(g.xs) - 2)
    iy = np.clip(np.floor(fy).astype(int), 0, len(g.ys) - 2)
    tx = np.clip(fx - ix, 0, 1)
    ty = np.clip(fy - iy, 0, 1)
    v = (g.ir[iy, ix] * (1 - tx) * (1 - ty) + g.ir[iy, ix + 1] * tx * (1 - ty)
         + g.ir[iy + 1, ix] * (1 - tx) * ty + g.ir[iy + 1, ix + 1] * tx * ty)
    return np.where(inside, v, 0.0)
