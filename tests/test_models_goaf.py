"""Probability-integral subsidence and GB 51180 treatment width, hand-computed."""

import math

import pytest

from gis_service.models.goaf import (
    goaf_influence,
    influence_radius_m,
    max_subsidence_m,
    subsidence_m,
    treatment_width_m,
)


def test_influence_radius():
    assert influence_radius_m(300, 2.0) == pytest.approx(150.0)
    assert influence_radius_m(300) == pytest.approx(200.0)  # default tanβ 1.5


def test_w0():
    # W0 = q·m·cosα = 0.8 × 3 × cos 10° = 2.3635 m
    assert max_subsidence_m(3.0, 0.8, 10.0) == pytest.approx(0.8 * 3.0 * math.cos(math.radians(10)))
    assert max_subsidence_m(3.0, 0.8, 10.0) == pytest.approx(2.3635, abs=1e-4)


def test_subsidence_profile_values():
    w0, r = 2.0, 150.0
    assert subsidence_m(0.0, w0, r) == pytest.approx(w0 / 2)  # inflection point at the edge
    # W(−r)/W0 = ½(1 − erf √π); erf(1.7725) ≈ 0.98758 → 0.621 %
    ratio = subsidence_m(-r, w0, r) / w0
    assert ratio == pytest.approx(0.5 * (1 - math.erf(math.sqrt(math.pi))), rel=1e-12)
    assert ratio == pytest.approx(0.0062, abs=0.0002)
    assert subsidence_m(r, w0, r) / w0 == pytest.approx(1 - ratio)  # antisymmetric about the edge
    assert subsidence_m(10 * r, w0, r) == pytest.approx(w0)


def test_goaf_influence_result():
    res = goaf_influence(300, 3.0, dip_deg=10, tan_beta=2.0, subsidence_factor=0.7)
    assert res.buffer_distance_m == pytest.approx(150.0)
    assert res.max_subsidence_m == pytest.approx(0.7 * 3.0 * math.cos(math.radians(10)))
    assert res.subsidence_ratio_at_buffer_edge == pytest.approx(0.0062, abs=0.0002)
    d = goaf_influence(300, 3.0, tan_beta=None, dip_deg=None).to_dict()
    assert d["parameters"]["tan_beta"] == 1.5 and d["buffer_distance_m"] == pytest.approx(200.0)
    assert any("default" in lim for lim in d["limitations"]) and d["sources"]
    with pytest.raises(ValueError, match="tan_beta"):
        goaf_influence(300, 3.0, tan_beta=0)


def test_treatment_width_hand_value():
    # D 100, grade II → d_s 15; h 20, φ 45° → cot 1; H 180, δ 60° → cot 0.57735
    # D′ = 2 × (20 + 103.923) = 247.846; B = 100 + 30 + 247.846 = 377.846 m
    out = treatment_width_m(100, 2, 20, 180, 60)
    assert out["protection_belt_m"] == 15.0
    assert out["influence_width_m"] == pytest.approx(247.846, abs=1e-3)
    assert out["treatment_width_m"] == pytest.approx(377.846, abs=1e-3)
    with pytest.raises(ValueError, match="building_grade"):
        treatment_width_m(100, 5, 20, 180, 60)
