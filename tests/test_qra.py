"""QRA science: probits (published chlorine LC50s), IR machinery against a per-point loop, and the physics:
IR falls with distance, contours nest, adding an installation never lowers IR, a uniform wind rose gives
circular contours; F-N curve and its assessment; bad input names the field."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import Point

from gis_service import geodesy
from gis_service.analysis.qra import data, fields, grid, reference, societal
from gis_service.analysis.qra import engine as service
from gis_service.analysis.qra import loss_of_containment as scenarios
from gis_service.models import plume, probit
from gis_service.validation import ValidationFailed

LON, LAT = 125.3, 43.9


def _inst(inventory, unit_type="storage", lon=LON, lat=LAT, iid=1):
    return service.Installation("hazard_sources", iid, f"t{iid}", Point(lon, lat), inventory, unit_type)


MIXED = [{"substance": "chlorine", "quantity_t": 20}, {"substance": "butane", "quantity_t": 50},
         {"substance": "gasoline", "quantity_t": 500}]


# -- probits: published values -----------------------------------------------------------------

def test_withers_lees_chlorine_lc50_reproduced():
    """Withers & Lees (1985) J. Hazard. Mater. 12:283–302: Y = −8.29 + 0.92 ln(ΣC²T) (ppm, min) gives the
    paper's LC50 for the regular population at standard activity: 433 ppm for 10 min, 250 ppm for 30 min.
    Tolerance 1 % (the paper rounds to whole ppm)."""
    p = probit.toxic_probit("chlorine", "withers_lees")
    assert probit.lc50(p, 10) == pytest.approx(433, rel=0.01)
    assert probit.lc50(p, 30) == pytest.approx(250, rel=0.01)
    assert float(probit.toxic_probability(250.0**2 * 30, p)) == pytest.approx(0.5, abs=0.01)


def test_probit_to_probability_and_thermal():
    assert float(probit.probability(5.0)) == pytest.approx(0.5)
    assert float(probit.probability(5 + 1.2816)) == pytest.approx(0.9, abs=1e-4)
    # Eisenberg: Pr = 5 where t·q^(4/3)/1e4 = exp(19.9/2.56)
    q50 = (math.exp(19.9 / 2.56) * 1e4 / 20.0) ** 0.75
    assert float(probit.thermal_probability(q50, 20.0)) == pytest.approx(0.5, abs=1e-6)
    assert float(probit.thermal_probability(q50 * 2, 20.0)) > 0.9
    assert probit.overpressure_probability([29.9, 30.0], "purple_book").tolist() == [0.0, 1.0]
    assert 0.4 < float(probit.overpressure_probability(math.exp(82.1 / 6.91) / 1000, "eisenberg")) < 0.6


def test_purple_book_thermal_probit_is_tsao_perry():
    """CPR 18E §5.2.3 (Tsao & Perry 1979): Pr = −36.38 + 2.56·ln(t·q^(4/3)), q W/m², t s — at any dose exactly
    2.56·ln(10⁴) − 21.48 = 2.098 probit units above Eisenberg's −14.9 + 2.56·ln(t·q^(4/3)/10⁴)."""
    q50 = (math.exp(41.38 / 2.56) / 20.0) ** 0.75                   # Pr = 5 for 20 s under Tsao & Perry
    assert float(probit.thermal_probability(q50, 20.0, "purple_book")) == pytest.approx(0.5, abs=1e-6)
    q = np.array([2e3, 5e3, 12.5e3, 37.5e3])
    eis, tp = probit.thermal_probability(q, 20.0), probit.thermal_probability(q, 20.0, "purple_book")
    assert (tp >= eis).all()
    from scipy.special import ndtri

    assert (ndtri(tp) - ndtri(eis)) == pytest.approx(np.full(4, 2.56 * math.log(1e4) - 21.48), abs=1e-6)
    assert probit.thermal_models() == ("eisenberg", "purple_book")


def test_direct_ignition_bands_follow_table_4_5():
    """CPR 18E Table 4.5 bands: < 10, 10–100, > 100 kg/s and < 1000, 1000–10 000, > 10 000 kg."""
    p = data.p_direct_ignition
    assert [p("reactive_gas", rate_kg_s=r) for r in (9.99, 10.0, 100.0, 100.01)] == [0.2, 0.5, 0.7, 0.7]
    assert [p("low_reactive_gas", mass_kg=m) for m in (999.0, 1000.0, 10000.0)] == [0.02, 0.04, 0.09]
    assert [p("K1", rate_kg_s=r) for r in (1.0, 50.0, 500.0)] == [0.065] * 3


def test_fn_curve_reproduces_the_tu_delft_textbook_example():
    """TU Delft MUDE open textbook (Modelling, Uncertainty and Data for Engineers), risk analysis, "Example: FN
    curve": accident 1 kills N₁ = 10 with 10⁻²/yr, accident 2 kills N₂ = 100 with 10⁻³/yr; published
    P(0) = 1 − 0.01 − 0.001 = 0.989 and E(N) = P₁N₁ + P₂N₂ = 0.2 fatalities per year. This checks the F-N
    aggregation only — it is not an installation QRA (no wind, no effect zones)."""
    pts = societal.fn_curve(np.array([1e-2, 1e-3]), np.array([10.0, 100.0]))
    assert pts == [(10.0, pytest.approx(0.011)), (100.0, pytest.approx(0.001))]
    # E(N) from the curve itself: Σ over steps of N × (F(N) − F(next N))
    n = np.array([p[0] for p in pts])
    f = np.array([p[1] for p in pts] + [0.0])
    assert float((n * (f[:-1] - f[1:])).sum()) == pytest.approx(0.2)
    assert 1 - pts[0][1] == pytest.approx(0.989)


def test_substance_without_probit_is_skipped_with_reason():
    ss = scenarios.outcome_cases([{"substance": "benzene", "quantity_t": 10},
                                  {"substance": "chlorine", "quantity_t": 5}], "storage", data.qra_params())
    reasons = [s for s in ss.skipped if s["substance"] == "benzene" and s.get("outcome") == "toxic"]
    assert reasons and "no toxic probit constants" in reasons[0]["reason"]
    assert any(c.release.substance.key == "benzene" and c.outcome == "pool_fire" for c in ss.cases)
    assert any(c.release.substance.key == "chlorine" and c.outcome == "toxic" for c in ss.cases)


def test_missing_frequencies_are_skipped(monkeypatch):
    monkeypatch.setattr(scenarios, "locs_for", lambda *a: [])
    ss = scenarios.outcome_cases([{"substance": "chlorine", "quantity_t": 5}], "storage", data.qra_params())
    assert not ss.cases and "no LOC frequencies" in ss.skipped[0]["reason"]


def test_frequencies_and_event_tree_add_up():
    p = data.qra_params()
    ss = scenarios.outcome_cases([{"substance": "butane", "quantity_t": 50}], "storage", p)
    by_loc: dict[str, float] = {}
    for c in ss.cases:
        by_loc[c.release.loc] = by_loc.get(c.release.loc, 0.0) + c.frequency_per_year
    # only the pipe and loading LOCs the item has no attributes for are reported as not included
    assert {s["loc"] for s in ss.skipped} == {"pipe", "loading arm / hose"}
    assert {c.outcome for c in ss.cases} == {"fireball", "jet_fire", "flash_fire", "vce"}
    # flammable gas: direct + delayed = 1, every LOC's frequency is fully distributed over its outcomes
    assert by_loc == pytest.approx({r.loc: r.frequency_per_year for r in data.locs_for("purple_book", "pressure_vessel")})


# -- the worked example through the whole IR pipeline ---------------------------------------------

def test_ir_at_published_lc50_distance():
    """IR on the cloud axis where the 30-min chlorine concentration equals Withers & Lees' LC50 (250 ppm) is
    f × p_weather × 0.5 when the wind always blows one way: the grid, wind rose and probit machinery reproduce
    the published 50 % point (tolerance 3 %: grid and angular interpolation)."""
    w = data.Weather(stability="D", wind_speed_m_s=5.0, probability=1.0)
    rose = [0.0] * 360
    rose[270] = 1.0  # wind FROM the west: plume toward the east
    p = data.qra_params(weather=[w], wind_rose=rose, resolution_m=5, max_range_m=1500, probit_set="withers_lees")
    props = data.qra_substances()["chlorine"]
    from gis_service.models.substances import lookup
    sub = lookup("chlorine")
    rel = scenarios.Release(sub, props, "pressure_vessel", "test", "continuous", 2.0 * 1800, 2.0, 1800.0, None,
                            1e-5, "test", "V")

    case = scenarios.OutcomeCase("wl", rel, "toxic", "none", 1.0, 1e-5)
    ppm_per_mg = probit.MOLAR_VOLUME_L_MOL / sub.molar_mass_g_mol
    target_mg = 250.0 / ppm_per_mg
    xs = np.linspace(20, 1400, 20000)
    c = fields.concentration_mg_m3(case, w, xs, np.zeros_like(xs), p)  # chlorine: the dense-gas cloud
    x50 = float(xs[np.argmin(np.abs(c - target_mg))])
    pr = grid.polar_risk([case], p, p.max_range_m, p.resolution_m)
    g = grid.risk_grid([pr], np.array([[0.0, 0.0]]), p)
    assert float(grid.ir_at(g, x50, 0.0)) == pytest.approx(1e-5 * 0.5, rel=0.03)
    assert float(grid.ir_at(g, -x50, 0.0)) < 1e-15  # upwind (FFT round-off only)


# -- vectorised machinery against the per-point loop ----------------------------------------------

def test_grid_matches_per_point_loop_with_a_skewed_rose():
    rose = [0.3, 0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05]
    p = data.qra_params(wind_rose=rose)
    res = service.compute([_inst(MIXED)], p)
    (px, py), cases = res.case_groups[0]
    for dx, dy in [(50, 0), (0, -120), (100, 100), (-200, 30), (0, 300), (250, -10), (0.3, 0.2)]:
        ref = reference.ir_at_point([(px, py, cases)], px + dx, py + dy, p, p.max_range_m)
        got = float(grid.ir_at(res.grid, px + dx, py + dy))
        # tolerance: linear interpolation of steep probit fields between the 10 m polar nodes; within the first
        # ring a pool sized by its leak (10 mm gasoline hole: 6.5 m², radius 1.4 m) steps from lethal to not
        # inside one cell, so the point 0.36 m from the source gets 6 %
        tol = 0.06 if math.hypot(dx, dy) < p.resolution_m else 0.03
        assert got == pytest.approx(ref, rel=tol, abs=1e-10), (dx, dy)


# -- physics ----------------------------------------------------------------------------------------

def test_ir_decreases_with_distance_along_every_bearing():
    p = data.qra_params(wind_rose=[0.4, 0.1, 0.1, 0.1, 0.2, 0.1])
    ss = scenarios.outcome_cases(MIXED + [{"substance": "ammonia", "quantity_t": 30}], "storage", p)
    pr = grid.polar_risk(ss.cases, p, p.max_range_m, p.resolution_m)
    assert pr.ir[0].max() > 1e-6
    diffs = np.diff(pr.ir, axis=0)
    assert (diffs <= 1e-12 * pr.ir.max()).all()


def test_contours_nest():
    res = service.compute([_inst(MIXED), _inst([{"substance": "ammonia", "quantity_t": 40}], lon=LON + 0.004, iid=2)],
                          data.qra_params())
    polys = [(lvl, g) for lvl, g in sorted(res.contours, key=lambda t: -t[0]) if g is not None]
    assert len(polys) >= 3
    for (hi, inner), (lo, outer) in zip(polys, polys[1:], strict=False):
        assert hi > lo
        local_in = geodesy.to_local(inner, *res.origin)
        local_out = geodesy.to_local(outer, *res.origin)
        assert local_in.difference(local_out.buffer(0.5)).area == pytest.approx(0.0, abs=1.0), (hi, lo)
        assert local_out.area > local_in.area


def test_adding_an_installation_never_lowers_ir():
    p = data.qra_params()
    a = scenarios.outcome_cases(MIXED, "storage", p).cases
    b = scenarios.outcome_cases([{"substance": "ammonia", "quantity_t": 40}], "production", p).cases
    pa = grid.polar_risk(a, p, p.max_range_m, p.resolution_m)
    pb = grid.polar_risk(b, p, p.max_range_m, p.resolution_m)
    zero = grid.PolarRisk(pb.r, np.zeros_like(pb.ir))
    pos = np.array([[0.0, 0.0], [300.0, -150.0]])
    only_a = grid.risk_grid([pa, zero], pos, p)
    both = grid.risk_grid([pa, pb], pos, p)
    assert (both.ir >= only_a.ir).all() and (both.ir > only_a.ir).any()
    # the same through the service, at lon/lat points (different grids: interpolation tolerance)
    ra = service.compute([_inst(MIXED)], p)
    rab = service.compute([_inst(MIXED), _inst([{"substance": "ammonia", "quantity_t": 40}], "production",
                                               lon=LON + 0.003, iid=2)], p)
    lon = LON + np.linspace(-0.01, 0.01, 41)
    lat = np.full_like(lon, LAT)
    assert (rab.ir_at_lonlat(lon, lat) >= ra.ir_at_lonlat(lon, lat) * 0.97 - 1e-12).all()


def test_uniform_rose_gives_circular_contours():
    p = data.qra_params(wind_rose=[1 / 8] * 8)
    res = service.compute([_inst([{"substance": "chlorine", "quantity_t": 20}])], p)
    for level, geom in res.contours:
        if geom is None:
            continue
        local = geodesy.to_local(geom, *res.origin)
        ring = np.asarray(max(getattr(local, "geoms", [local]), key=lambda g: g.area).exterior.coords)
        d = np.hypot(ring[:, 0], ring[:, 1])
        assert d.std() / d.mean() < 0.03, (level, d.mean(), d.std())
        if level == 3e-7:
            assert d.mean() > 10 * p.resolution_m  # a real contour, not a few cells


def test_skewed_rose_stretches_contours_downwind():
    rose = [0.0] * 12
    rose[9] = 1.0  # wind from the west
    p = data.qra_params(wind_rose=rose)
    res = service.compute([_inst([{"substance": "chlorine", "quantity_t": 20}])], p)
    geom = geodesy.to_local(dict(res.contours)[3e-7], *res.origin)
    x0, y0, x1, y1 = geom.bounds
    assert x1 > 3 * abs(x0)  # reaches far east (downwind), hardly west


# -- societal risk ----------------------------------------------------------------------------------

def test_fn_curve_is_cumulative_and_assessed():
    freq = np.array([1e-5, 1e-6, 1e-7, 1e-4])
    deaths = np.array([2.0, 10.0, 100.0, 0.5])
    pts = societal.fn_curve(freq, deaths)
    assert pts == [(2.0, pytest.approx(1.11e-5)), (10.0, pytest.approx(1.1e-6)), (100.0, pytest.approx(1e-7))]
    p = data.qra_params()
    assert societal.assess(pts, p)["region"] == "alarp"  # 1.11e-5 at N=2 is above 1e-5/2, below 1e-3/2
    assert societal.assess([(1.0, 1e-2)], p)["region"] == "unacceptable"
    assert societal.assess([(5.0, 1e-7)], p)["region"] == "acceptable"
    assert "[M]" in societal.assess(pts, p)["lines"]["basis"]


def test_societal_counts_people_in_the_plume():
    p = data.qra_params(wind_rose=[0.0] * 9 + [1.0] + [0.0] * 2)  # wind from the west
    res = service.compute([_inst([{"substance": "chlorine", "quantity_t": 20}])], p)
    ox, oy = res.origin
    east = geodesy.WGS84.fwd(ox, oy, 90, 150)[:2]
    west = geodesy.WGS84.fwd(ox, oy, 270, 150)[:2]

    class F:
        def __init__(self, lon, lat, pop):
            self.geometry, self.properties, self.id = Point(lon, lat), {"population": pop}, 1

    fn_east = service.societal_from(res, [F(*east, 500)])
    fn_west = service.societal_from(res, [F(*west, 500)])
    assert fn_east["fn_curve"] and fn_east["fn_curve"][0]["n"] >= 1
    assert fn_east["expected_deaths_per_year"] > 100 * fn_west["expected_deaths_per_year"]


# -- bad input --------------------------------------------------------------------------------------

@pytest.mark.parametrize("values, field", [
    ({"wind_rose": [0.5, 0.4]}, "wind_rose"),
    ({"wind_rose": [0.2] * 7}, "wind_rose"),
    ({"weather": [{"stability": "D", "wind_speed_m_s": 5, "probability": 0.5}]}, "weather"),
    ({"weather": [{"stability": "Q", "wind_speed_m_s": 5, "probability": 1}]}, "weather.0.stability"),
    ({"resolution_m": 0.5}, "resolution_m"),
    ({"frequency_set": "oreda"}, "frequency_set"),
    ({"thermal_model": "vulcan"}, "thermal_model"),
    ({"fn_upper": (1e-3, 1), "fn_lower": (1e-2, 1)}, "fn_lower"),
    ({"bogus": 1}, "bogus"),
])
def test_bad_parameters_name_the_field(values, field):
    with pytest.raises(ValidationFailed) as exc:
        data.qra_params(**values)
    assert exc.value.problems[0].field == field


def test_purple_book_thermal_model_never_lowers_ir_of_fires():
    insts = [_inst([{"substance": "gasoline", "quantity_t": 500}, {"substance": "butane", "quantity_t": 50}])]
    eis = service.compute(insts, data.qra_params(resolution_m=20, max_range_m=800))
    tp = service.compute(insts, data.qra_params(resolution_m=20, max_range_m=800, thermal_model="purple_book"))
    assert (tp.grid.ir >= eis.grid.ir - 1e-15).all() and tp.grid.ir.sum() > eis.grid.ir.sum()


def test_grid_too_large_names_resolution():
    with pytest.raises(ValidationFailed) as exc:
        service.compute([_inst(MIXED)], data.qra_params(resolution_m=1, max_range_m=5000))
    assert exc.value.problems[0].field == "resolution_m"


def test_plume_matches_the_model_module():
    w = data.Weather(stability="F", wind_speed_m_s=1.5, probability=1)
    x = np.array([50.0, 500.0])
    ours = fields.plume_mg_m3(x, 0.0, 1.0, w, "rural")
    theirs = plume.concentration_g_m3(x, 0.0, 0.0, release_rate_g_s=1000.0, wind_speed_m_s=1.5, stability="F") * 1000
    assert ours == pytest.approx(theirs, rel=1e-9)
    assert shapely.Point(0, 0).is_valid


def test_too_much_work_names_resolution():
    insts = [_inst(MIXED, iid=k) for k in range(100)]  # one grid of 3.9 M cells, 100 installations on it
    with pytest.raises(ValidationFailed) as exc:
        service.compute(insts, data.qra_params(resolution_m=1, max_range_m=990))
    assert exc.value.problems[0].field == "resolution_m" and "installations" in exc.value.problems[0].message
