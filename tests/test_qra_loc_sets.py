"""Complete loss-of-containment sets (issue 17): pipes, loading arms/hoses, tanks by containment type; what could
not be included is listed with the reason, never a silent zero. Frequencies: CPR 18E Tables 3.4, 3.7, 3.13 [M]."""

from __future__ import annotations

import pytest

from gis_service.analysis.qra import data
from gis_service.analysis.qra import loss_of_containment as loc
from gis_service.validation import ValidationFailed

P = data.QraParams()


def _locs(ss):
    return {c.release.loc for c in ss.cases}


def test_chlorine_store_with_a_pipe_gets_pipe_locs():
    # a 100 mm pipe of 120 m: 75 ≤ DN ≤ 150 → rupture 3e-7 and leak 2e-6 per m·yr (CPR 18E Table 3.7)
    inv = [{"substance": "chlorine", "quantity_t": 20, "pipe_length_m": 120, "pipe_diameter_mm": 100}]
    ss = loc.outcome_cases(inv, "storage", P)
    pipe = {c.release.loc: c.release for c in ss.cases if c.release.equipment == "pipe"}
    assert len(pipe) == 2
    rupture = next(r for k, r in pipe.items() if "rupture" in k)
    leak = next(r for k, r in pipe.items() if "leak" in k)
    assert rupture.hole_mm == 100 and leak.hole_mm == 10  # leak: 10 % of the diameter
    assert rupture.frequency_per_year == pytest.approx(3e-7 * 120)
    assert leak.frequency_per_year == pytest.approx(2e-6 * 120)
    assert "Table 3.7" in rupture.frequency_source and rupture.confidence == "M"
    assert rupture.rate_kg_s > leak.rate_kg_s > 0
    # the vessel's own LOCs are still there; the missing transfers are reported
    assert {c.release.equipment for c in ss.cases} == {"pressure_vessel", "pipe"}
    assert any(s["loc"] == "loading arm / hose" and "transfers_per_year" in s["reason"] for s in ss.skipped)


def test_chlorine_store_without_a_pipe_says_what_it_skipped():
    ss = loc.outcome_cases([{"substance": "chlorine", "quantity_t": 20}], "storage", P)
    assert {c.release.equipment for c in ss.cases} == {"pressure_vessel"}
    reasons = {s["loc"]: s["reason"] for s in ss.skipped if s.get("loc")}
    assert "pipe_length_m" in reasons["pipe"] and "Table 3.7" in reasons["pipe"]
    assert "transfers_per_year" in reasons["loading arm / hose"]


def test_loading_arm_and_hose_per_transfer():
    base = {"substance": "lpg", "quantity_t": 50, "pipe_diameter_mm": 80, "pipe_length_m": 30, "transfers_per_year": 200}
    arm = loc.outcome_cases([base], "storage", P)
    rel = {c.release.loc: c.release for c in arm.cases if c.release.equipment == "loading_arm"}
    assert len(rel) == 2
    assert sorted(r.frequency_per_year for r in rel.values()) == pytest.approx([3e-8 * 200, 3e-7 * 200])
    hose = loc.outcome_cases([{**base, "transfer_equipment": "loading_hose"}], "storage", data.QraParams(transfer_hours=2))
    rel_h = {c.release.loc: c.release for c in hose.cases if c.release.equipment == "loading_hose"}
    assert sorted(r.frequency_per_year for r in rel_h.values()) == pytest.approx([4e-6 * 400, 4e-5 * 400])
    # transfers without a diameter: said, not zero
    ss = loc.outcome_cases([{"substance": "lpg", "quantity_t": 50, "transfers_per_year": 200}], "storage", P)
    assert any("no pipe_diameter_mm" in s["reason"] for s in ss.skipped)


def test_tank_containment_types():
    inv = [{"substance": "gasoline", "quantity_t": 500}]
    single = loc.outcome_cases(inv, "storage", P)
    assert any("single containment assumed" in w for w in single.warnings)
    double = loc.outcome_cases([{**inv[0], "containment": "double"}], "storage", P)
    full = loc.outcome_cases([{**inv[0], "containment": "full"}], "storage", P)
    f_inst = {c.release.equipment: c.release.frequency_per_year for ss in (single, double, full) for c in ss.cases
              if c.release.kind == "instantaneous"}
    assert f_inst == {"atmospheric_tank": 5e-6, "atmospheric_tank_double": 1.25e-8, "atmospheric_tank_full": 1e-8}
    assert any("outer container" in s["reason"] for s in double.skipped)
    assert not any("single containment assumed" in w for w in double.warnings)


def test_pipe_diameter_bands_and_other_sets():
    small = loc.outcome_cases([{"substance": "ammonia", "quantity_t": 10, "pipe_length_m": 10,
                                "pipe_diameter_mm": 50}], "storage", P)
    big = loc.outcome_cases([{"substance": "ammonia", "quantity_t": 10, "pipe_length_m": 10,
                              "pipe_diameter_mm": 600}], "storage", P)
    f = {c.release.loc.split(" ")[1]: c.release.frequency_per_year for c in small.cases if c.release.equipment == "pipe"}
    assert f == pytest.approx({"rupture": 1e-5, "leak": 5e-5})
    holes = {c.release.hole_mm for c in big.cases if c.release.equipment == "pipe"}
    assert holes == {600, 50}  # leak 10 % capped at 50 mm
    api = loc.outcome_cases([{"substance": "ammonia", "quantity_t": 10, "pipe_length_m": 10, "pipe_diameter_mm": 50}],
                            "storage", data.QraParams(frequency_set="api581"))
    assert any(s.get("loc") == "pipe" and "api581" in s["reason"] for s in api.skipped)


def test_bad_attributes_in_a_request_name_the_field():
    with pytest.raises(ValidationFailed) as exc:
        loc.outcome_cases([{"substance": "chlorine", "quantity_t": 1, "pipe_length_m": 50}], "storage", P)
    assert "pipe_diameter_mm" in str(exc.value.problems[0].message)
    with pytest.raises(ValidationFailed):
        loc.outcome_cases([{"substance": "gasoline", "quantity_t": 1, "containment": "triple"}], "storage", P)
