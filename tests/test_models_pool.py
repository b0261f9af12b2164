"""Pools sized by the release (models.pool) and used by the QRA and the exposure zones alike (issue 17)."""

from __future__ import annotations

import math

import pytest
from shapely.geometry import Point, box

from gis_service.analysis.consequence.inventory import parse_inventory
from gis_service.analysis.consequence.params import ScenarioParams
from gis_service.analysis.consequence.runners import _pool
from gis_service.analysis.qra import data
from gis_service.analysis.qra import loss_of_containment as loc
from gis_service.models import pool


def test_equilibrium_pool_of_a_continuous_leak():
    """Issue 17's review value: 0.36 kg/s of gasoline burning at 0.055 kg/m²·s (Babrauskas 1983) sustains
    A = ṁ/m″ ≈ 6.5 m² (SFPE: D = 2√(ṁ/(π m″)) = 2.89 m)."""
    ps = pool.pool_size(release="continuous", burning_rate_kg_m2_s=0.055, rate_kg_s=0.36, mass_kg=0.36 * 1800,
                        density_kg_m3=740, bund_area_m2=1000)
    assert ps.area_m2 == pytest.approx(6.545, rel=1e-3) and ps.limited_by == "burning_rate"
    assert ps.diameter_m == pytest.approx(2 * math.sqrt(0.36 / (math.pi * 0.055)), rel=1e-9)
    assert "ṁ/m″" in ps.basis


def test_instantaneous_spread_and_bund():
    # 10 t of gasoline spread to 5 mm: 10000 / (740 × 0.005) = 2702.7 m², bounded by a 1000 m² bund
    ps = pool.pool_size(release="instantaneous", burning_rate_kg_m2_s=0.055, mass_kg=10_000, density_kg_m3=740,
                        bund_area_m2=1000)
    assert ps.unbounded_area_m2 == pytest.approx(2702.7, rel=1e-4) and ps.area_m2 == 1000 and ps.limited_by == "bund"
    small = pool.pool_size(release="instantaneous", burning_rate_kg_m2_s=0.055, mass_kg=100, density_kg_m3=740,
                           bund_area_m2=1000)
    assert small.area_m2 == pytest.approx(27.03, rel=1e-3) and small.limited_by == "spread"  # a bund never enlarges
    # a short continuous release cannot out-spread its own mass
    short = pool.pool_size(release="continuous", burning_rate_kg_m2_s=0.055, rate_kg_s=10, mass_kg=50,
                           density_kg_m3=740)
    assert short.area_m2 == pytest.approx(50 / (740 * 0.005)) and short.limited_by == "spread"


def test_bad_pool_inputs_name_the_field():
    with pytest.raises(ValueError, match="rate_kg_s"):
        pool.pool_size(release="continuous", burning_rate_kg_m2_s=0.055, mass_kg=1, density_kg_m3=700)
    with pytest.raises(ValueError, match="density"):
        pool.pool_size(release="instantaneous", burning_rate_kg_m2_s=0.055, mass_kg=1, density_kg_m3=None)
    with pytest.raises(ValueError, match="release"):
        pool.pool_size(release="puff", burning_rate_kg_m2_s=0.055, mass_kg=1, density_kg_m3=700)


def test_qra_10mm_gasoline_leak_pool_is_sized_by_its_rate_not_the_bund():
    """Fails on the old rule (every pool fire burnt the 1000 m² bund or the unit's polygon)."""
    p = data.QraParams()
    ss = loc.outcome_cases([{"substance": "gasoline", "quantity_t": 500}], "storage", p)
    hole = [c for c in ss.cases if c.outcome == "pool_fire" and c.release.hole_mm == 10]
    assert hole
    for c in hole:
        assert c.release.rate_kg_s == pytest.approx(0.357, rel=0.01)
        assert c.pool_area_m2 == pytest.approx(c.release.rate_kg_s / 0.055, rel=1e-9)  # ≈ 6.5 m², not 1000
        assert c.describe()["pool_area_m2"] == pytest.approx(6.5, abs=0.1) and "ṁ/m″" in c.pool_basis
    # the whole-tank releases fill the bund; a polygon smaller than the bund bounds them, a larger one does not
    inst = [c for c in ss.cases if c.outcome == "pool_fire" and c.release.kind == "instantaneous"]
    assert inst and all(c.pool_area_m2 == 1000 for c in inst)
    ss_poly = loc.outcome_cases([{"substance": "gasoline", "quantity_t": 500}], "storage", p, pool_area_m2=400)
    assert {c.pool_area_m2 for c in ss_poly.cases if c.release.kind == "instantaneous"} == {400}
    ss_big = loc.outcome_cases([{"substance": "gasoline", "quantity_t": 500}], "storage", p, pool_area_m2=50_000)
    assert max(c.pool_area_m2 for c in ss_big.cases if c.outcome == "pool_fire") == 1000  # never the polygon


def test_exposure_pool_is_the_release_not_the_polygon():
    items, _ = parse_inventory([{"substance": "gasoline", "quantity_t": 1}])
    p = ScenarioParams()
    ps = _pool(items[0], Point(125.3, 43.9), p, 0.055)
    assert ps.area_m2 == pytest.approx(1000 / (740 * 0.005), rel=1e-6)  # 1 t spread to 5 mm: 270 m²
    big_polygon = box(125.3, 43.9, 125.31, 43.91)  # ~ 900,000 m²
    ps_poly = _pool(parse_inventory([{"substance": "gasoline", "quantity_t": 5000}])[0][0], big_polygon, p, 0.055)
    assert ps_poly.area_m2 == 1000 and ps_poly.limited_by == "bund"
