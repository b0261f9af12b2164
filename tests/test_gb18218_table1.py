"""GB 18218-2018 Table 1 exactly as printed: every row of the data against the standard's value, with its page.

The expected values below are a second transcription, kept apart from the data file under test
(``gis_service/data/gb18218_table1.csv``): the rows the project's domain reference confirms from two independent
transcriptions of the standard, and the rows a published comparison of GB 18218-2018 with GB 18218-2009 prints.
Source of every value: GB 18218-2018 危险化学品重大危险源辨识, 4.1, Table 1 危险化学品名称及其临界量 (pp. 2–5).
"""

import re

import pytest

from gis_service.models import grading as g
from gis_service.models.substances import all_substances

# (row, name as printed, Q t) — second transcription
STANDARD = [
    (1, "氨", 10), (4, "二氧化硫", 20), (6, "碳酰氯", 0.3), (7, "环氧乙烷", 10), (10, "硫化氢", 5),
    (11, "氯化氢（无水）", 20), (12, "氯", 5), (13, "煤气（CO，CO和H2、CH4的混合物等）", 20), (20, "氟化氢", 1),
    (37, "硝化纤维素[干的或含水（或乙醇）<25%]", 1), (38, "硝化纤维素（未改型的，或增塑的，含增塑剂<18%）", 1),
    (39, "硝化纤维素（含乙醇≥25%）", 10), (40, "硝化纤维素（含氮≤12.6%）", 50), (41, "硝化纤维素（含水≥25%）", 50),
    (42, "硝化纤维素溶液（含氮量≤12.6%，含硝化纤维素≤55%）", 50),
    (43, "硝酸铵（含可燃物>0.2%，包括以碳计算的任何有机物，但不包括任何其他添加剂）", 5),
    (44, "硝酸铵（含可燃物≤0.2%）", 50), (45, "硝酸铵肥料（含可燃物≤0.4%）", 200),
    (49, "甲烷，天然气", 50), (51, "氢", 5), (52, "液化石油气（含丙烷、丁烷及其混合物）", 50), (54, "乙炔", 1),
    (55, "乙烯", 50), (56, "氧（压缩的或液化的）", 200), (57, "苯", 50), (60, "2-丙烯腈", 50), (64, "甲苯", 500),
    (65, "甲醇", 500), (66, "汽油（乙醇汽油、甲醇汽油）", 200), (82, "硝酸胍", 50),
]


def test_table1_has_all_85_rows_in_printed_order_each_with_a_page():
    rows = g.table1()
    assert [r.row for r in rows] == list(range(1, 86))
    pages = [r.page for r in rows]
    assert pages == sorted(pages) and min(pages) == 2 and max(pages) == 5  # Table 1 runs pp. 2–5, in order
    for r in rows:
        assert r.name_zh and r.q_t > 0 and r.confidence in ("S", "M") and r.page_confidence in ("S", "M")
        assert all(re.fullmatch(r"\d{2,7}-\d{2}-\d", c) for c in r.cas), (r.row, r.cas)
        assert f"row {r.row}" in r.citation and f"p. {r.page}" in r.citation


@pytest.mark.parametrize("row, name, q", STANDARD)
def test_named_row_matches_the_standard(row, name, q):
    r = g.table1()[row - 1]
    assert (r.row, r.name_zh, r.q_t) == (row, name, q), f"Table 1 row {row}, p. {r.page}"
    assert r.confidence == "S"  # confirmed rows carry S, the rest stay M (one transcription)


def test_confirmed_rows_are_exactly_the_second_transcription():
    confirmed = {r.row for r in g.table1() if r.confidence == "S"}
    assert confirmed == {row for row, _, _ in STANDARD}


def test_crude_oil_and_diesel_are_not_named_and_co_is_coal_gas():
    names = " ".join(r.name_zh + r.alias_zh for r in g.table1())
    assert "原油" not in names and "柴油" not in names and "一氧化碳" not in names
    assert g.table1_row("crude_oil") is None and g.table1_row("diesel") is None
    assert g.table1_row("carbon_monoxide").row == 13 and g.table1_row("carbon_monoxide").q_t == 20
    keys = [k for r in g.table1() for k in r.substance_keys]
    assert len(keys) == len(set(keys))  # a substance is named by one row only
    known = {s.key for s in all_substances()}
    assert set(keys) <= known


def test_named_substances_resolve_to_their_row_with_page():
    for key, row in (("chlorine", 12), ("lpg", 52), ("propane", 52), ("natural_gas", 49), ("gasoline", 66)):
        q, basis, tag = g.critical_quantity(key)
        t1 = g.table1()[row - 1]
        assert q == t1.q_t and f"row {row}" in basis and f"p. {t1.page}" in basis and tag == "S"
