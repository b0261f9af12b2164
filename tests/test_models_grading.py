"""GB 18218-2018 identification and grading, hand-computed from the published formula and tables."""

import pytest

from gis_service.models import grading as grading_model
from gis_service.models.grading import alpha_for_people, grade_for_r, grade_unit
from gis_service.models.substances import all_substances


def test_worked_example_mixed_unit():
    # chlorine 20 t (Q 5, β 4), ammonia 30 t (Q 10, β 2), propane 100 t (Q 50, β 1.5 W2); 40 people → α 1.2
    # S = 20/5 + 30/10 + 100/50 = 4 + 3 + 2 = 9
    # R = 1.2 × (4·4 + 2·3 + 1.5·2) = 1.2 × 25 = 30 → 三级
    r = grade_unit(
        [{"substance": "液氯", "quantity_t": 20}, {"substance": "ammonia", "quantity_t": 30},
         {"substance": "丙烷", "cas": "74-98-6", "quantity_t": 100}],
        people_within_500m=40,
    )
    assert r.S == pytest.approx(9.0)
    assert r.is_major and r.alpha == 1.2 and r.people_within_500m == 40
    assert r.R == pytest.approx(30.0)
    assert (r.grade, r.grade_label) == (3, "三级")
    betas = {t.substance_key: t.beta for t in r.terms}
    assert betas == {"chlorine": 4.0, "ammonia": 2.0, "propane": 1.5}
    t0 = r.terms[0]
    assert (t0.q_t, t0.critical_quantity_t, t0.q_over_Q, t0.beta_q_over_Q) == (20.0, 5.0, 4.0, 16.0)
    d = r.to_dict()
    assert d["terms"][0]["critical_quantity_t"] == 5.0 and d["sources"] and d["limitations"]


def test_h2s_beta_is_five_not_three():
    # H2S 30 t, Q 5, β 5 (not 3!); 120 people → α 2: R = 2 × 5 × 6 = 60 → 二级 (β = 3 would give 36 → 三级)
    r = grade_unit([{"substance": "硫化氢", "quantity_t": 30}], 120)
    assert r.terms[0].beta == 5.0
    assert r.R == pytest.approx(60.0)
    assert r.grade == 2 and r.grade_label == "二级"


@pytest.mark.parametrize(
    "inventory, expected_r, grade",
    [
        ([{"substance": "methanol", "quantity_t": 5000}], 10.0, 3),  # 5000/500 × β1 × α1 = 10 → 三级
        ([{"substance": "methanol", "quantity_t": 4999}], 9.998, 4),
        ([{"substance": "chlorine", "quantity_t": 62.5}], 50.0, 2),  # 62.5/5 × 4 = 50 → 二级
        ([{"substance": "chlorine", "quantity_t": 62.4}], 49.92, 3),
        ([{"substance": "chlorine", "quantity_t": 125}], 100.0, 1),  # 125/5 × 4 = 100 → 一级
        ([{"substance": "phosgene", "quantity_t": 1.5}], 100.0, 1),  # 1.5/0.3 × 20 = 100 (float noise)
        ([{"substance": "phosgene", "quantity_t": 0.75}], 50.0, 2),  # 0.75/0.3 × 20 = 50
    ],
)
def test_band_edges(inventory, expected_r, grade):
    r = grade_unit(inventory, people_within_500m=10)  # α = 1
    assert r.R == pytest.approx(expected_r)
    assert r.grade == grade


@pytest.mark.parametrize(
    "people, alpha", [(0, 0.5), (1, 1.0), (29, 1.0), (30, 1.2), (49, 1.2), (50, 1.5), (99, 1.5), (100, 2.0), (5000, 2.0)]
)
def test_alpha_table_edges(people, alpha):
    assert alpha_for_people(people) == alpha


def test_alpha_rejects_bad_counts():
    with pytest.raises(ValueError, match="people_within_500m"):
        alpha_for_people(-1)
    with pytest.raises(ValueError, match="people_within_500m"):
        alpha_for_people(2.5)


def test_grade_for_r_labels():
    assert grade_for_r(0) == (4, "四级")
    assert grade_for_r(10) == (3, "三级")
    assert grade_for_r(99.999) == (2, "二级")
    assert grade_for_r(1e6) == (1, "一级")


def test_unknown_substance_refuses_the_unit_with_a_reason():
    r = grade_unit(
        [{"substance": "chlorine", "quantity_t": 10}, {"substance": "propylene", "quantity_t": 100},
         {"substance": "unobtainium", "quantity_t": 1}],
        0,
    )
    assert [t.substance_key for t in r.terms] == ["chlorine", "propylene"]
    assert r.grade is None and r.refused and "unobtainium" in r.refused and "hazard_category" in r.refused
    assert {e["substance"] for e in r.excluded} == {"unobtainium"}
    # the same unknown substance with a category supplied by the unit is graded from Table 2
    r2 = grade_unit([{"substance": "unobtainium", "quantity_t": 1, "hazard_category": "J1"}], 0)
    assert r2.refused is None and r2.S == pytest.approx(1 / 5)  # Table 2 J1: Q = 5 t


def test_propylene_is_w2_q10_beta15():
    """GB 18218-2018: propylene is not named in Table 1 → Table 2 flammable gas W2, Q = 10 t, β = 1.5."""
    r = grade_unit([{"substance": "丙烯", "quantity_t": 20}], 100)
    t = r.terms[0]
    assert (t.critical_quantity_t, t.beta, t.hazard_category) == (10, 1.5, "W2")
    assert "Table 2" in t.q_source and r.S == pytest.approx(2.0) and r.R == pytest.approx(2.0 * 1.5 * 2.0)


def test_crude_oil_is_classified_by_flash_point_not_table1():
    """GB 18218-2018: crude oil is not named in Table 1; a stabilised crude (flash point < 23 °C, IBP > 35 °C) is
    category 2 → Table 2 W5.3, Q = 1000 t, β = 1. A 100,000 t farm with α = 2: R = 2 × 100000/1000 = 200 → 一级
    (the old named-row 5000 t gave R = 40 → 三级)."""
    r = grade_unit([{"substance": "原油", "quantity_t": 100_000, "flash_point_c": -10, "boiling_point_c": 40}], 100)
    t = r.terms[0]
    assert (t.critical_quantity_t, t.hazard_category, t.beta) == (1000, "W5.3", 1.0)
    assert "Table 2" in t.q_source and "category 2" in t.category_basis
    assert r.R == pytest.approx(200.0) and (r.grade, r.grade_label) == (1, "一级")
    # the same farm by hazard_category
    r_cat = grade_unit([{"substance": "原油", "quantity_t": 100_000, "hazard_category": "W5.3"}], 100)
    assert r_cat.R == pytest.approx(200.0) and r_cat.terms[0].category_basis.startswith("unit override")
    # no class given: the stated conservative default W5.1 (Q 10 t, β 1.5), said in the result
    r_def = grade_unit([{"substance": "原油", "quantity_t": 6000}], 5)
    t_def = r_def.terms[0]
    assert (t_def.critical_quantity_t, t_def.hazard_category, t_def.beta) == (10, "W5.1", 1.5)
    assert t_def.category_basis.startswith("stated default") and any("stated default W5.1" in w for w in r_def.warnings)
    # an unstabilised crude (IBP ≤ 35 °C) is category 1 → W5.1
    r1 = grade_unit([{"substance": "原油", "quantity_t": 20, "flash_point_c": -20, "boiling_point_c": 30}], 0)
    assert r1.terms[0].hazard_category == "W5.1" and r1.terms[0].critical_quantity_t == 10
    with pytest.raises(ValueError, match="hazard_category"):
        grade_unit([{"substance": "原油", "quantity_t": 1, "hazard_category": "W99"}], 5)
    with pytest.raises(ValueError, match=r"inventory\[0\]\.flash_point_c"):
        grade_unit([{"substance": "原油", "quantity_t": 1, "flash_point_c": "cold"}], 5)
    with pytest.raises(ValueError, match=r"inventory\[0\]\.flash_point_c is missing"):
        grade_unit([{"substance": "原油", "quantity_t": 1, "boiling_point_c": 40}], 5)


def test_diesel_by_flash_point():
    """Diesel is not named in Table 1: flash point 55 °C → category 3 → W5.4 (5000 t); above 60 °C it is not a
    hazardous chemical and is excluded with the reason (not counted, not refused)."""
    r = grade_unit([{"substance": "柴油", "quantity_t": 10_000, "flash_point_c": 55}], 0)
    t = r.terms[0]
    assert (t.critical_quantity_t, t.hazard_category) == (5000, "W5.4") and r.S == pytest.approx(2.0)
    r2 = grade_unit([{"substance": "柴油", "quantity_t": 10_000, "flash_point_c": 65},
                     {"substance": "chlorine", "quantity_t": 10}], 0)
    assert [t.substance_key for t in r2.terms] == ["chlorine"] and r2.refused is None
    assert r2.excluded and "60 °C" in r2.excluded[0]["reason"]


def test_carbon_monoxide_is_the_coal_gas_row_20t():
    r = grade_unit([{"substance": "一氧化碳", "quantity_t": 20}], 0)
    t = r.terms[0]
    assert t.critical_quantity_t == 20 and "煤气" in t.q_source and t.beta == 2.0 and r.S == pytest.approx(1.0)


def test_w4_oxidising_gas_is_50t_oxygen_row_200t():
    assert grading_model.categories()["W4"].q_t == 50
    r = grade_unit([{"substance": "oxygen", "quantity_t": 200}, {"substance": "笑气", "quantity_t": 50,
                                                                 "hazard_category": "W4"}], 0)
    assert [t.critical_quantity_t for t in r.terms] == [200, 50]


def test_user_q_is_used_and_reported():
    r2 = grade_unit([{"substance": "propylene", "quantity_t": 20, "critical_quantity_t": 10,
                      "hazard_category": "W2"}], 5)
    assert r2.S == pytest.approx(2.0) and r2.terms[0].beta == 1.5 and r2.R == pytest.approx(3.0)
    assert any("supplied by the caller" in w for w in r2.warnings)


def test_every_table_row_is_consistent_with_the_standard():
    """Q from Table 1 when named, else Table 2 by category; β from Table 3 when named, else Table 4;
    every substance of the substance table (so every sample substance) has Q and β."""
    cats = grading_model.categories()
    named_beta = grading_model._named_beta()
    rows = grading_model._q_table()
    for sub in all_substances():
        assert sub.key in rows, f"{sub.key} has no GB 18218 row"
        row = rows[sub.key]
        category = row.category or row.default_category
        assert category in cats, (sub.key, category)
        q, basis, _ = grading_model.critical_quantity(sub.key)
        t1 = grading_model.table1_row(sub.key)
        if row.named:
            assert t1 is not None and q == row.q_t == t1.q_t and basis.startswith("Table 1")
        else:
            assert t1 is None and row.q_t is None and q == cats[category].q_t and basis.startswith("Table 2")
        beta, bbasis = grading_model.beta_for(sub.key, category)
        if sub.key in named_beta:
            assert beta == named_beta[sub.key] and bbasis.startswith("Table 3")
        else:
            assert beta == cats[category].beta and bbasis.startswith("Table 4")
        assert row.confidence in ("S", "M") and row.source
    # Table 2 / Table 4 spot values of the standard
    assert (cats["W2"].q_t, cats["W2"].beta) == (10, 1.5)
    assert (cats["W5.1"].q_t, cats["W5.3"].q_t, cats["W5.4"].q_t) == (10, 1000, 5000)
    assert (cats["J1"].q_t, cats["J1"].beta) == (5, 4)
    assert named_beta["hydrogen_sulfide"] == 5 and named_beta["chlorine"] == 4


def test_not_major_has_no_grade():
    r = grade_unit([{"substance": "benzene", "quantity_t": 10}], 200)
    assert r.S == pytest.approx(0.2) and not r.is_major
    assert r.grade is None and r.grade_label is None
    assert r.R == pytest.approx(2.0 * 1.0 * 0.2)


def test_bad_inventory_rejected():
    with pytest.raises(ValueError, match=r"inventory\[0\].quantity_t"):
        grade_unit([{"substance": "chlorine", "quantity_t": -1}], 0)
    with pytest.raises(ValueError, match="substance"):
        grade_unit([{"quantity_t": 1}], 0)
