"""VCE: TNT equivalence and Kingery–Bulmash (Swisdak 1994) overpressure against hand and published values."""

import math

import pytest

from gis_service.models.explosion import (
    OutOfFitRange,
    default_thresholds,
    overpressure_at_scaled_distance_kpa,
    overpressure_kpa,
    radius_for_overpressure,
    tnt_equivalent_kg,
    vce_zones,
)

# Swisdak (1994) coefficients as printed in DOMAIN.md §3, typed here independently of the data file.
SWISDAK = [
    (2.9, (7.2106, -2.1069, -0.3229, 0.1117, 0.0685)),
    (23.8, (7.5938, -3.0523, 0.40977, 0.0261, -0.01267)),
    (198.5, (6.0536, -1.4066, 0.0, 0.0, 0.0)),
]
FT_PER_LB13_IN_M_PER_KG13 = 0.3048 / 0.45359237 ** (1 / 3)  # 1 ft/lb^(1/3) = 0.39670 m/kg^(1/3)
KPA_PER_PSI = 6.894757


def by_hand(z):
    for z_max, (a, b, c, d, e) in SWISDAK:
        if z <= z_max:
            t = math.log(z)
            return math.exp(a + b * t + c * t * t + d * t**3 + e * t**4)
    raise AssertionError


def test_z1_hand_value():
    # ln 1 = 0 → P = exp(7.2106) = 1353.7 kPa
    assert overpressure_at_scaled_distance_kpa(1.0) == pytest.approx(math.exp(7.2106), rel=1e-9)
    assert math.exp(7.2106) == pytest.approx(1353.7, rel=1e-4)


@pytest.mark.parametrize("z", [0.2, 1.0, 2.9, 5.0, 10.0, 20.0, 23.8, 50.0, 198.5])
def test_matches_formula_hand_evaluated(z):
    assert overpressure_at_scaled_distance_kpa(z) == pytest.approx(by_hand(z), rel=1e-9)


def test_published_dod_k_factors():
    # Swisdak, "A Consequence Minimization Approach to Explosive Siting": IBD 40 W^(1/3) (ft, lb) ↔ 1.18 psi
    p_k40 = overpressure_at_scaled_distance_kpa(40 * FT_PER_LB13_IN_M_PER_KG13)
    assert p_k40 / KPA_PER_PSI == pytest.approx(1.18, rel=0.01)
    # Appl. Sci. 2022, 12(17), 8824: K328 ↔ 0.0655 psi = 0.4516 kPa
    p_k328 = overpressure_at_scaled_distance_kpa(328 * FT_PER_LB13_IN_M_PER_KG13)
    assert p_k328 == pytest.approx(0.4516, rel=0.01)


def test_distance_scaling():
    # 1000 kg TNT: Z = R/10, so R = 100 m is Z = 10
    assert overpressure_kpa(100.0, 1000.0) == pytest.approx(by_hand(10.0), rel=1e-9)


def test_tnt_equivalent_hand_value():
    # one reflection rule: surface-burst curve, a = 1 → 0.04 × 1000 kg × 46.35 MJ/kg / 4.52 MJ/kg = 410.18 kg
    assert tnt_equivalent_kg(1000, 46.35) == pytest.approx(0.04 * 1000 * 46.35 / 4.52)
    assert tnt_equivalent_kg(1000, 46.35) == pytest.approx(410.18, abs=0.01)


def test_reflection_counted_once():
    """Swisdak (1994): the K–B fit is the hemispherical surface burst, so no 1.8 factor on top. Applying
    it would make every radius 1.8^(1/3) = 1.2164 times larger (the 21.6 % error of the earlier code)."""
    from gis_service.models.explosion import GROUND_FACTOR, vce_zones

    assert GROUND_FACTOR == 1.0
    once = vce_zones(1000, 46.35, thresholds_kpa=[6.9])
    twice = vce_zones(1000, 46.35, thresholds_kpa=[6.9], ground_factor=1.8)
    assert twice.zones[0].radius_m / once.zones[0].radius_m == pytest.approx(1.8 ** (1 / 3))
    assert tnt_equivalent_kg(1000, 46.35, yield_factor=0.1, ground_factor=1.0) == pytest.approx(0.1 * 1000 * 46.35 / 4.52)


@pytest.mark.parametrize("p", [69.0, 34.5, 17.2, 13.8, 6.9, 2.07, 1.0, 0.3, 500.0, 4.9])
def test_inversion_roundtrip(p):
    w = 738.3
    r = radius_for_overpressure(p, w)
    assert overpressure_kpa(r, w) == pytest.approx(p, rel=1e-6)
    # conservative at the 23.8 step: no farther point still at or above p
    assert overpressure_kpa(r * 1.001, w) < p


def test_radius_monotone_and_cube_root_scaling():
    radii = [radius_for_overpressure(t.threshold_kpa, 100.0) for t in default_thresholds()]
    assert all(a > b for a, b in zip(radii, radii[1:], strict=False))  # table ordered by increasing kPa
    assert radius_for_overpressure(6.9, 8000.0) == pytest.approx(2 * radius_for_overpressure(6.9, 1000.0))


def test_outside_fit_range_is_said_clearly():
    with pytest.raises(OutOfFitRange, match="outside the Kingery"):
        radius_for_overpressure(0.1, 1000)
    with pytest.raises(OutOfFitRange):
        radius_for_overpressure(50_000, 1000)
    with pytest.raises(OutOfFitRange, match="0.2"):
        overpressure_kpa(0.1, 1000)  # Z = 0.01
    res = vce_zones(1000, 46.35, thresholds_kpa=[0.1, 6.9])
    assert res.zones[0].radius_m is None and "outside" in res.zones[0].note
    assert res.zones[1].radius_m == pytest.approx(radius_for_overpressure(6.9, res.w_tnt_kg))
    assert res.warnings


def test_default_thresholds_and_result_dict():
    levels = [t.threshold_kpa for t in default_thresholds()]
    assert levels == [2.07, 6.9, 13.8, 17.2, 34.5, 69.0]
    assert all(t.description_zh and t.description_en and t.source for t in default_thresholds())
    d = vce_zones(1000, 46.35).to_dict()
    assert d["model"] and d["sources"] and d["limitations"]
    assert d["parameters"]["yield_factor"] == 0.04 and d["parameters"]["q_tnt_mj_kg"] == 4.52
    assert all(z["radius_m"] > 0 for z in d["zones"])


def test_bad_inputs():
    with pytest.raises(ValueError, match="fuel_mass_kg"):
        tnt_equivalent_kg(0, 46)
    with pytest.raises(ValueError, match="w_tnt_kg"):
        radius_for_overpressure(6.9, -1)
