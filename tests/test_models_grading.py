"""GB 18218-2018 identification and grading, hand-computed from the published formula and tables."""

import pytest

from gis_service.models.grading import alpha_for_people, grade_for_r, grade_unit


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


def test_unknown_and_unlisted_substances_are_excluded_with_warning():
    r = grade_unit(
        [{"substance": "chlorine", "quantity_t": 10}, {"substance": "propylene", "quantity_t": 100},
         {"substance": "unobtainium", "quantity_t": 1}],
        0,
    )
    assert [t.substance_key for t in r.terms] == ["chlorine"]
    assert r.S == pytest.approx(2.0) and r.alpha == 0.5 and r.R == pytest.approx(0.5 * 4 * 2)
    assert {e["substance"] for e in r.excluded} == {"propylene", "unobtainium"}
    assert any("propylene" in w and "excluded" in w for w in r.warnings)
    assert any("unobtainium" in w for w in r.warnings)


def test_unconfirmed_q_warns_and_user_q_is_used():
    r = grade_unit([{"substance": "原油", "quantity_t": 6000}, {"substance": "diesel", "quantity_t": 100}], 5)
    assert r.terms[0].critical_quantity_t == 5000
    assert sum("UNCONFIRMED" in w for w in r.warnings) == 2
    r2 = grade_unit([{"substance": "propylene", "quantity_t": 20, "critical_quantity_t": 10,
                      "hazard_category": "W2"}], 5)
    assert r2.S == pytest.approx(2.0) and r2.terms[0].beta == 1.5 and r2.R == pytest.approx(3.0)
    assert any("supplied by the caller" in w for w in r2.warnings)


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
