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


def _dense_clouds():
    src = dense_gas.source_term(70.9, "pressurised", boiling_point_k=239.1, liquid_cp_kj_kg_k=0.93,
                                latent_heat_kj_kg=288.0)
    for stab, u in (("D", 3.0), ("F", 1.5)):
        yield dense_gas.dense_cloud("plume", molar_mass_g_mol=70.9, source=src, wind_speed_m_s=u, stability=stab,
                                    rate_kg_s=5.0)
        yield dense_gas.dense_cloud("puff", molar_mass_g_mol=70.9, source=src, wind_speed_m_s=u, stability=stab,
                                    mass_kg=5000.0)


def test_dense_fields_on_arrays_are_the_pointwise_values():
    """An array straddling the passive hand-over (near points through the correlations only, far ones through
    the Gaussian only) gives each point what a one-point array of it gives (the unsplit path). (Python floats
    are not compared: numpy's scalar maths and its vectorised loops may differ in the last bit.)"""
    from gis_service.analysis.qra.fields import dense_mg_m3
    for cloud in _dense_clouds():
        xs = np.concatenate([np.geomspace(0.5, 5 * cloud.handover_m, 97), [cloud.handover_m]])
        ys = np.linspace(-40.0, 40.0, xs.size)
        assert (xs > cloud.handover_m).any() and (xs <= cloud.handover_m).any()
        ppm = cloud.ppm(xs)
        c, sigma = dense_mg_m3(cloud, xs, ys, "rural")
        for i, (x, y) in enumerate(zip(xs, ys, strict=True)):  # one-point arrays: numpy's array loops, as for xs
            assert ppm[i] == cloud.ppm(np.array([x]))[0]
            ci, si = dense_mg_m3(cloud, np.array([x]), np.array([y]), "rural")
            assert c[i] == ci[0] and sigma[i] == si[0]


def test_sigma_memo_changes_nothing_and_only_serves_its_own_array():
    from gis_service.analysis.qra.fields import SigmaMemo
    p = data.qra_params()
    ss = scenarios.outcome_cases(INVENTORY, "storage", p)
    x = np.linspace(-50.0, 1500.0, 301)
    y = np.linspace(-200.0, 200.0, 301)
    memo, other = SigmaMemo(x), SigmaMemo(x.copy())
    for case in (c for c in ss.cases if c.directional):
        for w in p.weather:
            plain = directional(case, w, x, y, p)
            assert np.array_equal(directional(case, w, x, y, p, memo), plain)
            assert np.array_equal(directional(case, w, x, y, p, other), plain)
    assert memo._known and not other._known
    sy, _sz = next(iter(memo._known.values()))
    with pytest.raises(ValueError):
        sy[0] = 0.0
