"""Substance table: required keys, lookup by every accepted name, and published threshold values."""

import pytest

from gis_service.models.substances import UnknownSubstance, all_substances, keys, lookup

REQUIRED = [
    "chlorine", "ammonia", "lpg", "propane", "butane", "hydrogen", "methane", "natural_gas", "benzene",
    "gasoline", "methanol", "toluene", "hydrogen_sulfide", "phosgene", "acetylene", "ethylene_oxide",
    "sulfur_dioxide", "oxygen", "crude_oil", "diesel", "hydrogen_chloride", "hydrogen_fluoride",
    "carbon_monoxide", "ethylene", "propylene", "acrylonitrile",
]


def test_required_keys_present():
    assert set(REQUIRED) <= set(keys())


@pytest.mark.parametrize("name", ["chlorine", "氯", "液氯", "Chlorine", "CHLORINE", " 7782-50-5 ", "cl2"])
def test_lookup_accepts_key_zh_en_alias_cas(name):
    assert lookup(name).key == "chlorine"


def test_lookup_cas_and_fullwidth():
    assert lookup("7783-06-4").key == "hydrogen_sulfide"
    assert lookup("ＬＰＧ").key == "lpg"  # full-width letters normalised
    assert lookup("natural gas").key == "natural_gas"


def test_unknown_substance_is_value_error_listing_names():
    with pytest.raises(UnknownSubstance) as exc:
        lookup("unobtainium")
    assert isinstance(exc.value, ValueError)
    assert exc.value.name == "unobtainium"
    assert "chlorine" in str(exc.value) and "CAS" in str(exc.value)
    assert "ammonia" in exc.value.known


def test_published_threshold_values():
    cl = lookup("chlorine")
    assert (cl.aegl1_ppm, cl.aegl2_ppm, cl.aegl3_ppm) == (0.5, 2.0, 20.0)  # DOMAIN.md §3
    assert cl.idlh_ppm == 10.0  # NIOSH IDLH documentation 7782-50-5
    assert (cl.erpg1_ppm, cl.erpg2_ppm) == (1.0, 3.0)  # Chlorine Institute
    nh3 = lookup("ammonia")
    assert (nh3.aegl2_ppm, nh3.aegl3_ppm, nh3.idlh_ppm) == (160.0, 1100.0, 300.0)  # DOMAIN.md §3 [V]
    h2s = lookup("hydrogen_sulfide")  # Nitric Oxide 2017 71:1-13 Table 3
    assert (h2s.aegl1_ppm, h2s.aegl2_ppm, h2s.aegl3_ppm) == (0.51, 27.0, 50.0)
    assert (h2s.erpg1_ppm, h2s.erpg2_ppm, h2s.erpg3_ppm, h2s.idlh_ppm) == (0.1, 30.0, 100.0, 100.0)


def test_flags_and_molar_masses():
    assert lookup("chlorine").dense_gas and lookup("ammonia").dense_gas
    assert not lookup("methane").dense_gas
    assert lookup("oxygen").heat_of_combustion_mj_kg is None and not lookup("oxygen").flammable
    assert lookup("chlorine").molar_mass_g_mol == pytest.approx(2 * 35.45, abs=0.01)
    assert lookup("ammonia").molar_mass_g_mol == pytest.approx(14.007 + 3 * 1.008, abs=0.01)


def test_every_row_is_well_formed():
    for s in all_substances():
        assert s.source, s.key
        assert s.phase in ("gas", "liquid", "solid")
        if s.flammable and s.key != "oxygen":
            assert s.heat_of_combustion_mj_kg, s.key
        d = s.to_dict()
        assert d["key"] == s.key and isinstance(d["aliases"], list)
        for tier in (1, 2):  # level ordering AEGL-1 < AEGL-2 < AEGL-3 where present
            lo, hi = getattr(s, f"aegl{tier}_ppm"), getattr(s, f"aegl{tier + 1}_ppm")
            if lo is not None and hi is not None:
                assert lo < hi, s.key
