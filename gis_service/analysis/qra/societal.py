"""Societal risk: the F-N curve from the receptors' population, compared with the GB 36894 lines.

Each event is one outcome case × weather class × wind-direction bin (36 bins of 10°, their probability from the
wind rose); its number of deaths N = Σ_receptors population × P_death(receptor) (expected deaths, CCPS CPQRA
2000 §4.4.2). F(N) = Σ of the frequencies of the events with N_event ≥ N. With ``population_day`` and
``population_night`` on a receptor, each event is split into a day event (frequency × day_fraction) and a night
event. A receptor's population is placed at its representative point (polygons are not spread) [M].

Criterion lines (``data/gb36894_fn_lines.csv``, [M] until confirmed): F = c / N^k. The curve is "unacceptable"
if it lies above the upper line at any N, "acceptable" if it lies on or below the lower line everywhere, else
"ALARP" (尽可能降低区). Checking the step curve at each event's N is exact for decreasing lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .data import QraParams, fn_lines
from .fields import SigmaMemo, directional, radial, weather_dependent
from .grid import rose_toward_pmf
from .loss_of_containment import OutcomeCase

N_DIRECTION_BINS = 36


@dataclass
class Receptors:
    dx: np.ndarray  # local metres east of the plane origin
    dy: np.ndarray
    pop_day: np.ndarray
    pop_night: np.ndarray
    day_night_known: bool


def _direction_bins(rose: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    pmf = rose_toward_pmf(rose)
    width = pmf.size // N_DIRECTION_BINS
    prob = pmf.reshape(N_DIRECTION_BINS, width).sum(axis=1)
    centre = np.arange(N_DIRECTION_BINS) * width + (width - 1) / 2.0
    return centre, prob


def events(cases_by_installation: list[tuple[np.ndarray, list[OutcomeCase]]], rec: Receptors, p: QraParams,
           r_max: float) -> tuple[np.ndarray, np.ndarray]:
    """(frequency per year, expected deaths) of every event."""
    if rec.dx.size == 0:
        return np.zeros(0), np.zeros(0)
    centre, prob = _direction_bins(p.rose())
    periods = ([(p.day_fraction, rec.pop_day), (1 - p.day_fraction, rec.pop_night)] if rec.day_night_known
               else [(1.0, rec.pop_day)])
    freqs, deaths = [], []
    for (px, py), cases in cases_by_installation:
        ex, ey = rec.dx - px, rec.dy - py
        dist = np.hypot(ex, ey)
        near = dist <= r_max
        bearing = np.degrees(np.arctan2(ex, ey))
        delta = np.radians(bearing[None, :] - centre[:, None])  # (bins, receptors)
        x_down = dist[None, :] * np.cos(delta)
        y_cross = dist[None, :] * np.sin(delta)
        memo = SigmaMemo(x_down)
        for case in cases:
            weathers = p.weather if weather_dependent(case) else p.weather[:1]
            for w in weathers:
                pw = w.probability if weather_dependent(case) else 1.0
                if case.directional:
                    pd = directional(case, w, x_down, y_cross, p, memo) * near[None, :]
                    for share, pop in periods:
                        deaths.append(pd @ pop)
                        freqs.append(case.frequency_per_year * pw * share * prob)
                else:
                    pd = radial(case, w, dist, p, r_max) * near
                    for share, pop in periods:
                        deaths.append(np.array([pd @ pop]))
                        freqs.append(np.array([case.frequency_per_year * pw * share]))
    if not freqs:  # no outcome case (e.g. every scenario skipped): no event
        return np.zeros(0), np.zeros(0)
    return np.concatenate(freqs), np.concatenate(deaths)


def fn_curve(freq: np.ndarray, deaths: np.ndarray, n_min: float = 1.0) -> list[tuple[float, float]]:
    """Points (N, F(N)) of the cumulative curve at each event's N ≥ n_min, N ascending."""
    keep = (deaths >= n_min) & (freq > 0)
    if not keep.any():
        return []
    n = deaths[keep]
    f = freq[keep]
    order = np.argsort(-n)
    n, f = n[order], np.cumsum(f[order])  # n descending, f cumulative
    uniq = np.unique(n)
    last = np.searchsorted(-n, -uniq, side="right") - 1  # for equal N: the last (largest cumulative F)
    return [(float(u), float(f[i])) for u, i in zip(uniq, last, strict=True)]


def assess(points: list[tuple[float, float]], p: QraParams) -> dict[str, Any]:
    (cu, ku), (cl, kl) = p.line("upper"), p.line("lower")
    _c, _k, n_min, n_max, conf = fn_lines()["upper"]
    worst_upper, worst_lower = 0.0, 0.0
    for n, f in points:
        if n_min <= n <= n_max or not points:
            worst_upper = max(worst_upper, f / (cu / n**ku))
            worst_lower = max(worst_lower, f / (cl / n**kl))
    region = "unacceptable" if worst_upper > 1 else "acceptable" if worst_lower <= 1 else "alarp"
    labels = {"unacceptable": "不可接受区", "alarp": "尽可能降低区 (ALARP)", "acceptable": "可接受区"}
    configured = p.fn_upper is not None or p.fn_lower is not None
    return {
        "region": region, "region_zh": labels[region],
        "max_ratio_to_upper_line": worst_upper, "max_ratio_to_lower_line": worst_lower,
        "lines": {"upper": {"c_per_year": cu, "k": ku}, "lower": {"c_per_year": cl, "k": kl},
                  "n_range": [n_min, n_max],
                  "basis": ("given with fn_upper / fn_lower" if configured else
                            f"GB 36894-2018 Figure 1 — unconfirmed, configurable line constants [{conf}] "
                            "(未确认，可配置); pass fn_upper / fn_lower to use confirmed ones")},
    }
