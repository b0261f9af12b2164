"""Issue 17 bad input: an inventory item's flammable-liquid class and loss-of-containment attributes are checked
on write — an unknown containment type, a pipe without a diameter, a flash point that is not a number get a 400
naming the field (never a 500, never silently dropped); stored data without a class gets a stated default."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gis_service.api.app import create_app
from gis_service.config import Settings
from gis_service.validation import _check_inventory

EDITOR = {"X-API-Key": "edit-key"}
KEYS = "edit-key:editor,view-key:viewer"


@pytest.mark.parametrize("extra, field", [
    ({"containment": "triple"}, "inventory[0].containment"),
    ({"pipe_length_m": 100}, "inventory[0].pipe_diameter_mm is missing"),
    ({"pipe_diameter_mm": 50}, "inventory[0].pipe_length_m is missing"),
    ({"flash_point_c": "cold"}, "inventory[0].flash_point_c"),
    ({"pipe_diameter_mm": 0, "pipe_length_m": 5}, "inventory[0].pipe_diameter_mm"),
    ({"transfers_per_year": -1}, "inventory[0].transfers_per_year"),
    ({"hazard_category": "W99"}, "inventory[0].hazard_category"),
])
def test_bad_item_attributes_name_the_field(extra, field):
    with pytest.raises(ValueError, match=field.replace("[", r"\[").replace("]", r"\]")):
        _check_inventory([{"substance": "crude_oil", "quantity_t": 10, **extra}])


def test_good_attributes_are_kept():
    item = {"substance": "crude_oil", "quantity_t": 10, "flash_point_c": -10, "boiling_point_c": 40,
            "pipe_length_m": 100, "pipe_diameter_mm": 80, "transfers_per_year": 52, "containment": "double",
            "hazard_category": "W5.3"}
    out = _check_inventory([item])[0]
    assert out == {**item, "flash_point_c": -10.0, "boiling_point_c": 40.0, "pipe_length_m": 100.0,
                   "pipe_diameter_mm": 80.0, "transfers_per_year": 52.0, "quantity_t": 10.0}


def test_api_write_gets_400_naming_the_field_and_stored_crude_states_its_default(fresh_store):
    with TestClient(create_app(Settings(api_keys=KEYS), store=fresh_store), raise_server_exceptions=False) as c:
        before = fresh_store.count("hazard_sources")
        feat = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [125.3, 43.9]},
                "properties": {"name": "原油罐区", "enterprise": "示例", "unit_type": "storage",
                               "inventory": [{"substance": "crude_oil", "quantity_t": 100_000, "containment": "triple"}]}}
        r = c.post("/collections/hazard_sources/items", json=feat, headers=EDITOR)
        assert r.status_code == 400, r.text[:300]
        doc = r.json()
        assert any(p["field"] == "inventory" for p in doc["problems"]) and "containment" in r.text
        assert fresh_store.count("hazard_sources") == before  # nothing written
        # stored without a flash point: graded on the stated default (W5.1) and the record says so
        feat["properties"]["inventory"] = [{"substance": "crude_oil", "quantity_t": 100_000}]
        r = c.post("/collections/hazard_sources/items", json=feat, headers=EDITOR)
        assert r.status_code == 201, r.text[:300]
        fid = r.json()["created"][0]
        rec = c.get(f"/analysis/grading/{fid}").json()
        assert rec["terms"][0]["hazard_category"] == "W5.1"
        assert rec["terms"][0]["category_basis"].startswith("stated default")
        assert any("stated default W5.1" in w for w in rec["warnings"])
        # with its class stored: W5.3, Q 1000 t
        feat["properties"]["inventory"] = [{"substance": "crude_oil", "quantity_t": 100_000, "flash_point_c": -10,
                                            "boiling_point_c": 40}]
        fid = c.post("/collections/hazard_sources/items", json=feat, headers=EDITOR).json()["created"][0]
        term = c.get(f"/analysis/grading/{fid}").json()["terms"][0]
        assert (term["hazard_category"], term["critical_quantity_t"]) == ("W5.3", 1000.0)
