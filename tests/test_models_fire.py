"""Point-source thermal radiation, hand-computed."""

import math

import pytest

from gis_service.models.fire import fire_zones, heat_flux_kw_m2, heat_release_rate_kw, radius_for_flux_m


def test_heat_release_rate_hand_value():
    # 0.055 kg/m²/s × 100 m² × 44.7 MJ/kg = 245.85 MJ/s = 245 850 kW
    assert heat_release_rate_kw(0.055, 100, 44.7) == pytest.approx(245_850.0)


def test_radius_hand_value():
    # x = sqrt(τ η Q / (4π q)) = sqrt(1 × 0.35 × 245 850 / (4π × 5)) = sqrt(1369.5) = 37.01 m
    r = radius_for_flux_m(5.0, 245_850.0)
    assert r == pytest.approx(math.sqrt(0.35 * 245_850 / (4 * math.pi * 5)))
    assert r == pytest.approx(37.01, abs=0.01)
    assert radius_for_flux_m(5.0, 245_850.0, radiative_fraction=0.2, transmissivity=0.8) == pytest.approx(
        math.sqrt(0.8 * 0.2 * 245_850 / (4 * math.pi * 5)))


def test_flux_inverse_square_and_roundtrip():
    q10 = heat_flux_kw_m2(10.0, 1e5)
    assert q10 == pytest.approx(0.35 * 1e5 / (4 * math.pi * 100))
    assert heat_flux_kw_m2(20.0, 1e5) == pytest.approx(q10 / 4)
    r = radius_for_flux_m(2.0, 1e5)
    assert heat_flux_kw_m2(r, 1e5) == pytest.approx(2.0)


def test_zones_default_aloha_and_chinese_set():
    res = fire_zones(burning_rate_kg_m2_s=0.055, area_m2=100, heat_of_combustion_mj_kg=44.7)
    assert [z.threshold_kw_m2 for z in res.zones] == [10.0, 5.0, 2.0]
    assert res.heat_release_kw == pytest.approx(245_850.0)
    assert res.zones[1].radius_m == pytest.approx(37.01, abs=0.01)
    assert any("Radiative fraction" in lim and "[M]" in lim for lim in res.limitations)
    cn = fire_zones(heat_release_kw=1e5, threshold_set="cn_qra")
    assert [z.threshold_kw_m2 for z in cn.zones] == [37.5, 25.0, 12.5, 4.0, 1.6]
    assert any("Chinese QRA" in lim for lim in cn.limitations)
    custom = fire_zones(heat_release_kw=1e5, thresholds_kw_m2=[7.0])
    assert custom.zones[0].radius_m == pytest.approx(radius_for_flux_m(7.0, 1e5))
    d = res.to_dict()
    assert d["parameters"]["radiative_fraction"] == 0.35 and d["zones"][0]["radius_m"] > 0 and d["sources"]


def test_bad_inputs():
    with pytest.raises(ValueError, match="radiative_fraction"):
        radius_for_flux_m(5, 1e5, radiative_fraction=1.5)
    with pytest.raises(ValueError, match="heat_release_kw"):
        fire_zones(burning_rate_kg_m2_s=0.05)
    with pytest.raises(ValueError, match="threshold_set"):
        fire_zones(heat_release_kw=1e5, threshold_set="nope")


def test_burning_rates_per_substance_change_radii_as_published():
    """Babrauskas (1983) / SFPE large-pool rates: gasoline 0.055, benzene 0.085, methanol 0.017 kg/m²/s.
    With the gasoline rate for every liquid, benzene radii were 1 − √(0.055/0.085) = 19.6 % too small and
    methanol radii √(0.055/0.017) = 1.80× too large (radius ∝ √(m″))."""
    from gis_service.models.fire import burning_rate, pool_diameter_m

    rates = {k: burning_rate(k).kg_m2_s for k in ("gasoline", "benzene", "methanol")}
    assert rates == {"gasoline": 0.055, "benzene": 0.085, "methanol": 0.017}
    assert all(burning_rate(k).tag == "M" for k in rates)

    def r(rate, dh):
        return fire_zones(burning_rate_kg_m2_s=rate, area_m2=1000, heat_of_combustion_mj_kg=dh).zones[0].radius_m

    assert 1 - r(0.055, 40.1) / r(0.085, 40.1) == pytest.approx(1 - math.sqrt(0.055 / 0.085))
    assert r(0.055, 19.9) / r(0.017, 19.9) == pytest.approx(1.80, abs=0.005)
    # near-field flag: a radius within 2 pool diameters of a point source
    res = fire_zones(burning_rate_kg_m2_s=0.017, area_m2=5000, heat_of_combustion_mj_kg=19.9,
                     thresholds_kw_m2=[10.0])
    assert res.zones[0].near_field == (res.zones[0].radius_m < 2 * pool_diameter_m(5000))
    assert burning_rate("unobtainium") is None
