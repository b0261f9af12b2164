"""Every constant that reaches a result carries its confidence tag and source; no [M] value goes out untagged."""

import json

import pytest

from gis_service.analysis.consequence import dispatch as scenarios
from gis_service.analysis.consequence.params import scenario_params
from gis_service.models import fire
from gis_service.models._common import TAGS, tag_of
from gis_service.models.grading import grade_unit
from gis_service.models.substances import all_substances

SUBSTANCES = [s for s in all_substances() if s.flammable or s.toxic]


@pytest.mark.parametrize("sub", SUBSTANCES, ids=lambda s: s.key)
def test_every_model_constant_is_tagged_and_sourced(sub):
    zs = scenarios.what_if_zones(125.3, 43.9, sub.key, 10.0, scenario_params(vce_low_reactivity=True))
    out = json.dumps(zs.to_feature_collection(), ensure_ascii=False)
    assert "DOMAIN.md" not in out
    for m in zs.models:
        assert m.get("constants"), (sub.key, m["kind"])
        for c in m["constants"]:
            assert c["tag"] in TAGS and c["source"], (sub.key, m["kind"], c)
        by_name = {c["name"]: c for c in m["constants"]}
        # values read from [M] table rows keep their [M] tag in the output
        if "heat_of_combustion" in by_name:
            assert by_name["heat_of_combustion"]["tag"] == tag_of(sub.source)
        if m["kind"] == "fire":
            br = fire.burning_rate(sub.key)
            assert by_name["burning_rate"]["tag"] == br.tag == "M"
        if m["kind"] == "toxic":
            for key, c in by_name.items():
                if key.startswith("level_of_concern_"):
                    assert c["tag"] == tag_of(sub.source)
    for z in zs.zones:
        p = z.properties()
        assert p["threshold_source"] and p["model"] and p["model_reason"]


def test_grading_terms_carry_q_tag_and_warn_on_m():
    r = grade_unit([{"substance": "diesel", "quantity_t": 6000}, {"substance": "chlorine", "quantity_t": 1}], 0)
    tags = {t.substance_key: t.q_tag for t in r.terms}
    assert tags == {"diesel": "S", "chlorine": "S"}
    # diesel without a flash point: the stated default is named in the result, never silent
    assert any("diesel" in w and "stated default W5.4" in w for w in r.warnings)
