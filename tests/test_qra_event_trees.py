"""Event trees by substance class (CPR 18E ch. 4, issue 17): a volatile liquid's delayed ignition gives a flash fire or
explosion of the vapour evaporating from its pool as well as the pool fire; K2/K3 liquids only burn on direct
ignition; toxic-flammable gases are fire on direct ignition and toxic otherwise. Each branch names its source."""

from __future__ import annotations

import pytest

from gis_service.analysis.qra import data
from gis_service.analysis.qra import loss_of_containment as loc
from gis_service.models import evaporation

P = data.QraParams()


def test_epa_oca_evaporation_reproduces_benzene_liquid_factor():
    """US EPA OCA Guidance (1999): QR = 1.4 × LFA × A at 1.5 m/s, LFA = 0.284·MW^(2/3)·VP/(82.05·T); benzene's
    ambient LFA is 0.020 lb/min/ft² (MW 78.11, VP 94.8 mmHg at 25 °C; Exhibit value as recalled)."""
    rate = evaporation.evaporation_rate_kg_s(1.0 / evaporation.FT2_PER_M2, 94.8 / evaporation.MMHG_PER_KPA, 78.11, 1.5)
    lb_min_per_ft2 = rate / evaporation.LB_MIN_TO_KG_S
    assert lb_min_per_ft2 / 1.5**0.78 == pytest.approx(0.020, rel=0.03)
    assert 1.5**0.78 == pytest.approx(1.4, abs=0.03)  # the guidance's 1.4 factor
    with pytest.raises(ValueError, match="vapour_pressure_kpa"):
        evaporation.evaporation_rate_kg_s(10, 0, 78, 1.5)


def test_gasoline_delayed_ignition_gives_flash_fire_explosion_and_pool_fire():
    ss = loc.outcome_cases([{"substance": "gasoline", "quantity_t": 500}], "storage", P)
    hole = [c for c in ss.cases if c.release.loc.startswith("T.3")]
    by = {(c.branch, c.outcome): c for c in hole}
    pd = 0.065  # CPR 18E Table 4.5, K1 liquid
    assert set(by) == {("direct", "pool_fire"), ("delayed", "flash_fire"), ("delayed", "vce"), ("delayed", "pool_fire")}
    assert by[("direct", "pool_fire")].conditional_probability == pytest.approx(pd)
    assert by[("delayed", "flash_fire")].conditional_probability == pytest.approx(0.6 * (1 - pd))
    assert by[("delayed", "vce")].conditional_probability == pytest.approx(0.4 * (1 - pd))
    assert by[("delayed", "pool_fire")].conditional_probability == pytest.approx(1 - pd)
    ff = by[("delayed", "flash_fire")]
    # the cloud is the pool's evaporation, never more than the 0.36 kg/s leak
    assert 0 < ff.release.rate_kg_s <= by[("direct", "pool_fire")].release.rate_kg_s
    d = ff.describe()
    assert "evaporating" in d["vapour_source"] and "§4.8" in d["event_tree_source"] and d["event_tree_source"].endswith("[M]")


def test_k23_liquid_burns_only_on_direct_ignition():
    ss = loc.outcome_cases([{"substance": "diesel", "quantity_t": 500}], "storage", P)
    assert {(c.branch, c.outcome) for c in ss.cases} == {("direct", "pool_fire")}
    assert all(c.conditional_probability == pytest.approx(0.01) for c in ss.cases)


def test_ammonia_is_fire_on_direct_ignition_and_toxic_otherwise():
    ss = loc.outcome_cases([{"substance": "ammonia", "quantity_t": 50}], "storage", P)
    outcomes = {(c.branch, c.outcome) for c in ss.cases}
    assert ("none", "toxic") in outcomes and ("direct", "jet_fire") in outcomes
    assert not any(c.outcome in ("flash_fire", "vce") for c in ss.cases)
    for rel_loc in {c.release.loc for c in ss.cases}:
        total = sum(c.conditional_probability for c in ss.cases if c.release.loc == rel_loc)
        assert total == pytest.approx(1.0)  # direct + none


def test_liquid_without_vapour_data_lists_the_cloud_as_not_modelled():
    ss = loc.outcome_cases([{"substance": "crude_oil", "quantity_t": 500}], "storage", P)
    skipped = [s for s in ss.skipped if s.get("outcome") in ("flash_fire", "vce")]
    assert skipped and all("not modelled" in s["reason"] and s["frequency_per_year"] > 0 for s in skipped)
    assert any(c.outcome == "pool_fire" and c.branch == "delayed" for c in ss.cases)
