"""Gaussian plume: hand-computed concentration, Briggs σ, threat-zone geometry and orderings."""

import math

import pytest
from shapely import affinity
from shapely.geometry import LineString

from gis_service.models.plume import (
    DENSE_GAS_LIMITATION,
    centreline_ppm,
    concentration_g_m3,
    mg_m3_to_ppm,
    plume_threat_zones,
    ppm_to_mg_m3,
    sigma_y_m,
    sigma_z_m,
)


def test_briggs_rural_and_urban_sigmas_by_hand():
    # rural D at 1000 m: σy = 0.08·1000/sqrt(1.1) = 76.28 m; σz = 0.06·1000/sqrt(2.5) = 37.95 m
    assert sigma_y_m(1000, "D") == pytest.approx(80 / math.sqrt(1.1))
    assert sigma_z_m(1000, "D") == pytest.approx(60 / math.sqrt(2.5))
    # rural F: σz = 0.016x/(1+0.0003x) → 16/1.3 = 12.31 m
    assert sigma_z_m(1000, "F") == pytest.approx(16 / 1.3)
    # urban A/B: σy = 0.32x(1+0.0004x)^-½, σz = 0.24x(1+0.001x)^½ → 270.5 m, 339.4 m
    assert sigma_y_m(1000, "B", "urban") == pytest.approx(320 / math.sqrt(1.4))
    assert sigma_z_m(1000, "A", "urban") == pytest.approx(240 * math.sqrt(2.0))
    # urban C: σz = 0.20x; urban D: σz = 0.14x(1+0.0003x)^-½; urban E/F: σz = 0.08x(1+0.0015x)^-½
    assert sigma_z_m(500, "C", "urban") == pytest.approx(100.0)
    assert sigma_z_m(1000, "D", "urban") == pytest.approx(140 / math.sqrt(1.3))
    assert sigma_z_m(1000, "F", "urban") == pytest.approx(80 / math.sqrt(2.5))
    assert sigma_y_m(1000, "E", "urban") == pytest.approx(110 / math.sqrt(1.4))


def test_concentration_at_a_point_by_hand():
    # Q 1000 g/s, u 5 m/s, D rural, H 10 m, receptor (1000, 50, 0):
    # σy 76.277, σz 37.947; C = Q/(2π u σy σz) · exp(−y²/2σy²) · 2·exp(−H²/2σz²)
    #   = 0.010997 × 0.80667 × 1.93177 = 0.017137 g/m³
    c = concentration_g_m3(1000, 50, 0, release_rate_g_s=1000, wind_speed_m_s=5, stability="D", release_height_m=10)
    assert c == pytest.approx(0.017137, rel=1e-4)


def test_ppm_conversion():
    # chlorine 20 ppm × 70.90 / 24.45 = 57.996 mg/m³
    assert ppm_to_mg_m3(20, 70.90) == pytest.approx(57.996, abs=1e-3)
    assert mg_m3_to_ppm(57.996, 70.90) == pytest.approx(20, abs=1e-3)


def test_zone_distance_is_where_centreline_equals_level():
    res = plume_threat_zones("ammonia", 500, 3, "D")
    red = res.zones[0]
    assert (red.zone, red.level_ppm, red.basis) == ("red", 1100.0, "AEGL")
    x = red.max_distance_m
    # ground release, ground receptor: C = Q/(π u σy σz), by hand with Briggs rural D
    sy = 0.08 * x / math.sqrt(1 + 0.0001 * x)
    sz = 0.06 * x / math.sqrt(1 + 0.0015 * x)
    c_ppm = 500 / (math.pi * 3 * sy * sz) * 1000 * 24.45 / 17.03
    assert c_ppm == pytest.approx(1100, rel=1e-6)
    assert red.footprint_local_m.bounds[2] == pytest.approx(x)


def test_footprint_symmetric_and_local_metres():
    res = plume_threat_zones("chlorine", 1000, 3, "D")
    for z in res.zones:
        poly = z.footprint_local_m
        assert poly.is_valid and poly.area > 0
        mirror = affinity.scale(poly, xfact=1, yfact=-1, origin=(0, 0))
        assert poly.symmetric_difference(mirror).area < 1e-6 * poly.area
        minx, miny, maxx, maxy = poly.bounds
        assert minx == pytest.approx(0) and maxy == pytest.approx(-miny) and maxy == pytest.approx(z.max_half_width_m)
    areas = [z.footprint_local_m.area for z in res.zones]
    assert areas[0] < areas[1] < areas[2]  # red inside orange inside yellow
    assert res.zones[2].footprint_local_m.contains(res.zones[0].footprint_local_m.buffer(-1))


def test_half_width_formula_at_a_sampled_point():
    res = plume_threat_zones("chlorine", 1000, 3, "D")
    red = res.zones[0]
    x = red.max_distance_m / 2
    c = centreline_ppm(x, release_rate_g_s=1000, wind_speed_m_s=3, stability="D", molar_mass_g_mol=70.90)
    y = sigma_y_m(x, "D") * math.sqrt(2 * math.log(c / 20.0))
    # the footprint edge at x lies within sampling error of y(x)
    cut = red.footprint_local_m.intersection(LineString([(x, -1e5), (x, 1e5)]))
    assert cut.length / 2 == pytest.approx(y, rel=0.01)


def test_distance_monotonic_with_release_rate():
    d = [plume_threat_zones("hydrogen_sulfide", q, 3, "D").zones[0].max_distance_m for q in (10, 100, 1000, 5000)]
    assert all(a < b for a, b in zip(d, d[1:], strict=False))


def test_stability_ordering_ground_release():
    d = {s: plume_threat_zones("ammonia", 1000, 2, s).zones[0].max_distance_m for s in "ABCDEF"}
    assert d["F"] > d["E"] > d["D"] > d["C"] > d["B"] > d["A"]


def test_erpg_fallback_and_dense_gas_text():
    tol = plume_threat_zones("toluene", 50_000, 2, "F")
    assert [z.basis for z in tol.zones] == ["ERPG", "ERPG", "ERPG"]
    assert [z.level_ppm for z in tol.zones] == [1000.0, 300.0, 50.0]
    assert any("ERPG-3" in w for w in tol.warnings)
    assert DENSE_GAS_LIMITATION in tol.limitations  # every result carries it
    cl = plume_threat_zones("chlorine", 100, 3, "D")
    assert DENSE_GAS_LIMITATION in cl.limitations and any("dense cloud" in w for w in cl.warnings)
    d = cl.to_dict()
    assert d["zones"][0]["footprint_local_m"]["type"] == "Polygon"
    assert d["parameters"]["wind_speed_m_s"] == 3.0 and "downwind" in d["coordinates"]


def test_elevated_release_zone_starts_downwind():
    res = plume_threat_zones("toluene", 20_000, 2, "D", release_height_m=20)
    yellow = res.zones[2]
    assert yellow.footprint_local_m.bounds[0] > 50  # ground concentration below LOC near the stack


def test_truncation_reported():
    res = plume_threat_zones("chlorine", 10_000, 2, "F", max_distance_m=2000)
    assert res.zones[2].truncated_at_max_distance and res.zones[2].max_distance_m == pytest.approx(2000)
    assert any("max_distance_m" in w for w in res.warnings)


def test_validation_names_the_parameter():
    with pytest.raises(ValueError, match="wind_speed_m_s"):
        plume_threat_zones("chlorine", 100, 0, "D")
    with pytest.raises(ValueError, match="stability"):
        plume_threat_zones("chlorine", 100, 2, "G")
    with pytest.raises(ValueError, match="release_rate_g_s"):
        plume_threat_zones("chlorine", -1, 2, "D")
    with pytest.raises(ValueError, match="unknown substance"):
        plume_threat_zones("kryptonite", 1, 2, "D")
