"""Tailings dam grade (GB 50863 combining rule) and Rico et al. (2008) runout, hand-computed."""

import math

import pytest

from gis_service.geodesy import local_shape_to_lonlat
from gis_service.models.tailings import (
    breach_runout,
    combine_grades,
    grade_by_height,
    grade_by_storage,
    rico_runout_km,
    tailings_grade,
)


@pytest.mark.parametrize(
    "v, g", [(0.5, 5), (99.99, 5), (100, 4), (999.9, 4), (1000, 3), (9999, 3), (10000, 2), (49999, 2), (50000, 1)]
)
def test_grade_by_storage(v, g):
    assert grade_by_storage(v) == g


@pytest.mark.parametrize("h, g", [(5, 5), (29.9, 5), (30, 4), (59.9, 4), (60, 3), (100, 2), (199, 2), (200, 1)])
def test_grade_by_height(h, g):
    assert grade_by_height(h) == g


@pytest.mark.parametrize(
    "gv, gh, important, expected",
    [
        (2, 2, False, 2),
        (2, 3, False, 2),  # differ by one → higher
        (4, 3, False, 3),
        (2, 4, False, 3),  # differ by two → higher minus one
        (1, 5, False, 2),
        (5, 3, False, 4),
        (5, 5, False, 5),
        (3, 3, True, 2),  # important targets downstream → raise one
        (2, 4, True, 2),
        (1, 1, True, 1),  # capped at 一等
        (1, 2, True, 1),
    ],
)
def test_combining_rule(gv, gh, important, expected):
    assert combine_grades(gv, gh, important) == expected


def test_tailings_grade_result():
    r = tailings_grade(5000, 25)  # storage 三 (3), height 五 (5) → differ by 2 → 四 (4)
    assert (r.storage_grade, r.height_grade, r.grade, r.grade_label) == (3, 5, 4, "四等")
    assert not r.requires_online_monitoring
    r2 = tailings_grade(5000, 70)
    assert r2.grade == 3 and r2.requires_online_monitoring
    d = tailings_grade(5000, 70, downstream_important=True).to_dict()
    assert d["grade"] == 2 and d["grade_label"] == "二等" and d["sources"] and d["limitations"]
    with pytest.raises(ValueError, match="dam_height_m"):
        tailings_grade(100, 0)


def test_rico_runout_hand_value():
    # H = 20 m, V_T = 1 × 10⁶ m³ (= 100 × 10⁴ m³):
    # V_F = 0.354 × 1^1.01 = 0.354; H_f = 20 × 0.354 × 0.354 = 2.50632;
    # D = 14.45 × 2.50632^0.76 = 14.45 × exp(0.76 × 0.918815) = 14.45 × 2.01025 = 29.05 km
    vf, hf, d = rico_runout_km(20, 1.0)
    assert vf == pytest.approx(0.354)
    assert hf == pytest.approx(2.50632, rel=1e-5)
    assert d == pytest.approx(14.45 * 2.50632**0.76, rel=1e-5)
    assert d == pytest.approx(29.05, abs=0.01)


def test_breach_runout_units_and_cap():
    r = breach_runout(20, 100)  # storage given in 10⁴ m³
    assert r.stored_volume_1e6m3 == pytest.approx(1.0)
    assert r.runout_distance_m == pytest.approx(29_048, abs=10)
    assert r.corridor_length_capped and r.corridor_length_m == 20_000
    assert "capped" in r.limitations[0]
    minx, miny, maxx, maxy = r.corridor_local_m.bounds
    assert (minx, maxx) == (0.0, 20_000.0) and maxy == pytest.approx(250.0) and miny == pytest.approx(-250.0)


def test_small_dam_not_capped():
    # H = 5 m, V = 1 × 10⁴ m³ = 0.01 × 10⁶ m³: V_F = 0.354 × 0.01^1.01, H_f = 5 × (V_F/0.01) × V_F
    vf = 0.354 * math.exp(1.01 * math.log(0.01))
    hf = 5 * (vf / 0.01) * vf
    d_m = 14.45 * hf**0.76 * 1000
    assert d_m == pytest.approx(285.1, abs=0.5)
    r = breach_runout(5, 1, start_width_m=50, end_width_m=150)
    assert r.runout_distance_m == pytest.approx(d_m)
    assert not r.corridor_length_capped and r.corridor_length_m == pytest.approx(d_m)
    # trapezoid area = L × (w0 + w1)/2
    assert r.corridor_local_m.area == pytest.approx(d_m * 100)
    d = r.to_dict()
    assert d["corridor_local_m"]["type"] == "Polygon" and d["runout_distance_km"] == pytest.approx(d_m / 1000)


def test_corridor_places_with_geodesy():
    r = breach_runout(20, 100)
    geo = local_shape_to_lonlat(r.corridor_local_m, 126.5, 43.8, 90.0)  # downstream due east
    minx, miny, maxx, maxy = geo.bounds
    assert maxx > 126.5 + 0.2 and abs((miny + maxy) / 2 - 43.8) < 0.01
