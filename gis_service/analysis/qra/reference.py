"""The straightforward alternative: IR at one point by plain Python loops over the same outcome cases.

For each point: every outcome case × weather class × one-degree wind direction (toward), the lethality at the
point's downwind/crosswind coordinates, weighted by the case frequency and the probabilities. Same physics as
:mod:`.fields` (it calls the same field functions with scalar arguments), none of the polar-grid, FFT or
interpolation machinery of :mod:`.grid` — used by the tests as an independent check and by
``bench/bench_risk.py`` as the baseline.
"""

from __future__ import annotations

import math

from .data import QraParams
from .fields import X_MIN_M, directional, radial, weather_dependent
from .grid import N_BEARINGS, rose_toward_pmf
from .loss_of_containment import OutcomeCase


def ir_at_point(installations: list[tuple[float, float, list[OutcomeCase]]], x: float, y: float,
                p: QraParams, r_max: float) -> float:
    pmf = rose_toward_pmf(p.rose()).tolist()
    total = 0.0
    for px, py, cases in installations:
        dx, dy = x - px, y - py
        dist = math.hypot(dx, dy)
        if dist > r_max:
            continue
        bearing = math.degrees(math.atan2(dx, dy))
        for case in cases:
            if not case.directional:
                for w in (p.weather if weather_dependent(case) else p.weather[:1]):
                    pw = w.probability if weather_dependent(case) else 1.0
                    total += case.frequency_per_year * pw * float(radial(case, w, dist, p, r_max))
                continue
            for w in p.weather:
                for t in range(N_BEARINGS):
                    if pmf[t] == 0.0:
                        continue
                    delta = math.radians(bearing - t)
                    xd, yc = dist * math.cos(delta), dist * math.sin(delta)
                    if xd <= 0 and dist >= X_MIN_M:
                        continue
                    total += case.frequency_per_year * w.probability * pmf[t] * float(directional(case, w, xd, yc, p))
    return total
