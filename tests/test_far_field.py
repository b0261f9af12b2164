"""Honest far field (issue 17): past the dispersion model's validity (10 km: Briggs σ fitted to ~10 km, ALOHA
stops at 10 km) a zone says "beyond the model's range of 10 km" and reports no distance — not the 136.7 km a
50 t chlorine release used to get."""

from __future__ import annotations

from shapely.geometry import Point

from gis_service.analysis.consequence.combine import combine
from gis_service.analysis.consequence.inventory import parse_inventory
from gis_service.analysis.consequence.params import ScenarioParams
from gis_service.analysis.consequence.runners import _toxic
from gis_service.models import plume


def _toxic_zones(quantity_t: float, **kw):
    items, _ = parse_inventory([{"substance": "chlorine", "quantity_t": quantity_t}])
    models: list = []
    cands = _toxic(items[0], Point(125.3, 43.9), ScenarioParams(**kw), models, [])
    return cands, models[0]


def test_50t_chlorine_worst_case_beyond_the_model_range_says_so():
    cands, record = _toxic_zones(50)  # worst case: F, 1.5 m/s
    by_level = {c.level_name.split(" ")[0]: c for c in cands}
    far = [c for c in cands if c.beyond_model_range]
    assert far, [(c.level_name, c.true_distance_m) for c in cands]
    for c in far:
        assert c.true_distance_m is None  # no 136 km, no 200 km
        assert "beyond the model's range of 10 km" in c.truncation_reason
        assert c.distance_m <= plume.MODEL_RANGE_M + 1e-6  # drawn no farther than the model's range
    assert by_level["AEGL-3"].beyond_model_range  # the reviewer's 136.7 km AEGL-3
    rows = {r["level"].split(" ")[0]: r for r in record["zones"]}
    assert rows["AEGL-3"]["distance_m"] is None and rows["AEGL-3"]["beyond_model_range"]
    # the combined zone carries the same wording and no distance past the range
    zones = combine(cands)
    z = next(z for z in zones if z.level == "red")
    props = z.properties()
    assert props["beyond_model_range"] and props["true_distance_m"] is None
    assert "beyond the model's range of 10 km" in props["truncation_reason"]


def test_a_zone_inside_the_range_keeps_its_distance():
    cands, _ = _toxic_zones(0.005, weather="typical")  # 5 kg of chlorine, D 3 m/s: AEGL-1 at ~5.6 km
    assert cands and not any(c.beyond_model_range for c in cands)
    assert all(c.distance_m < plume.MODEL_RANGE_M and c.true_distance_m == c.distance_m for c in cands)


def test_drawing_never_goes_past_the_model_range():
    cands, _ = _toxic_zones(50, max_plume_m=50_000)
    assert max(c.distance_m for c in cands) <= plume.MODEL_RANGE_M + 1e-6
