"""The QRA's speed-ups change no answer: each shortcut is checked against the plain computation it replaces,
to the last bit (``np.array_equal``), on inventories that take every path (dense plume and puff, Gaussian
plume and puff, toxic and flash fire, fires and explosions)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gis_service.analysis.qra import data, grid
from gis_service.analysis.qra import loss_of_containment as scenarios
from gis_service.analysis.qra.fields import directional, radial, weather_dependent
from gis_service.models import dense_gas

INVENTORY = [{"substance": "chlorine", "quantity_t": 20}, {"substance": "butane", "quantity_t": 50},
             {"substance": "gasoline", "quantity_t": 500}, {"substance": "ammonia", "quantity_t": 30},
             {"substance": "hydrogen_sulfide", "quantity_t": 2}, {"substance": "propane", "quantity_t": 40}]


@pytest.mark.parametrize("release", ["plume", "puff"])
def test_betas_are_beta_of_alpha_per_level(release):
    alphas = [*np.linspace(-2.0, 1.0, 601), -math.inf, 1e-9, -1e-9]
    for lo, hi, _s, _i in (s for segs in dense_gas._segments()[release].values() for s in segs):
        alphas += [a for a in (lo, hi, math.nextafter(lo, math.inf), math.nextafter(hi, -math.inf)) if math.isfinite(a)]
    for a in alphas:
        want = np.array([dense_gas.beta_of_alpha(release, c, a) for c in dense_gas.levels(release)])
        got = np.array(dense_gas._betas(release, a))
        assert np.array_equal(got, want, equal_nan=True), a


def _polar_risk_plain(cases, p, r_max, dr):
    """``grid.polar_risk`` as first written: every field evaluated on every node, row 0 included."""
    nr = int(np.ceil(r_max / dr)) + 1
    r = np.arange(nr) * dr
    phi = np.radians(np.arange(grid.N_BEARINGS))
    x = r[:, None] * np.cos(phi)[None, :]
    y = r[:, None] * np.sin(phi)[None, :]
    d_sum = np.zeros((nr, grid.N_BEARINGS))
    r_sum = np.zeros(nr)
    down = np.cos(phi) > 1e-12
    for case in cases:
        if case.directional:
            for w in p.weather:
                fw = case.frequency_per_year * w.probability
                d_sum[1:, down] += fw * directional(case, w, x[1:, down], y[1:, down], p)
                d_sum[0] += fw * directional(case, w, x[0], y[0], p)
        elif weather_dependent(case):
            for w in p.weather:
                r_sum += case.frequency_per_year * w.probability * radial(case, w, r, p, r_max)
        else:
            r_sum += case.frequency_per_year * radial(case, p.weather[0], r, p, r_max)
    return r_sum[:, None] + grid.wind_convolve(d_sum, p.rose())


@pytest.mark.parametrize("unit_type", ["storage", "process"])
def test_polar_risk_is_the_plain_computation_bit_for_bit(unit_type):
    p = data.qra_params(wind_rose=[0.3, 0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05],
                        resolution_m=25, max_range_m=2000)
    ss = scenarios.outcome_cases(INVENTORY, unit_type, p)
    kinds = {(c.outcome, c.release.kind) for c in ss.cases if c.directional}
    assert {("toxic", "continuous"), ("toxic", "instantaneous"), ("flash_fire", "continuous"),
            ("flash_fire", "instantaneous")} <= kinds
    pr = grid.polar_risk(ss.cases, p, p.max_range_m, p.resolution_m)
    assert np.array_equal(pr.ir, _polar_risk_plain(ss.cases, p, p.max_range_m, p.resolution_m))
