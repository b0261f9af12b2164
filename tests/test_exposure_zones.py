"""Consequence zones (gis_service.analysis.consequence): geodesic accuracy, combination, parameters.

Reference distances come from pyproj.Geod directly, never from the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Point, Polygon

from gis_service.analysis.consequence import dispatch as scenarios
from gis_service.analysis.consequence.params import ScenarioParams, scenario_params
from gis_service.analysis.consequence.zones import level_rank
from gis_service.models import plume
from gis_service.validation import ValidationFailed

GEOD = Geod(ellps="WGS84")
TOL = 0.005  # 0.5 %
# corners, edges and inside of Jilin's bounding box, plus random points
JILIN = [(121.6, 40.8), (131.3, 46.3), (121.6, 46.3), (131.3, 40.8), (126.5, 43.5), (124.35, 43.17)] + [
    tuple(p) for p in np.random.default_rng(3).uniform((121.6, 40.8), (131.3, 46.3), (6, 2))]


def _ring_distances(zone_geom, lon, lat):
    ring = np.asarray(zone_geom.exterior.coords)
    _, _, d = GEOD.inv(np.full(len(ring), lon), np.full(len(ring), lat), ring[:, 0], ring[:, 1])
    mids = (ring[:-1] + ring[1:]) / 2
    _, _, dm = GEOD.inv(np.full(len(mids), lon), np.full(len(mids), lat), mids[:, 0], mids[:, 1])
    return d, dm


@pytest.mark.parametrize("lon,lat", JILIN)
def test_circle_zones_radius_within_half_percent_anywhere_in_jilin(lon, lat):
    zs = scenarios.what_if_zones(lon, lat, "propane", 50.0, scenario_params(kinds="explosion"))
    assert [z.level for z in zs.zones] == ["red", "orange", "yellow"]
    for z in zs.zones:
        d, dm = _ring_distances(z.geometry, lon, lat)
        assert np.all(np.abs(d - z.distance_m) <= TOL * z.distance_m)
        assert np.all(np.abs(dm - z.distance_m) <= TOL * z.distance_m)  # edges too, not just vertices
        assert z.buffer_m == pytest.approx(z.distance_m)


@pytest.mark.parametrize("lon,lat", JILIN[:6])
@pytest.mark.parametrize("wind_from", [0.0, 75.0, 200.0, 315.0])
def test_plume_points_downwind_with_geodesic_length(lon, lat, wind_from):
    zs = scenarios.what_if_zones(lon, lat, "chlorine", 2.0,
                                 scenario_params(wind_dir_deg=wind_from, wind_speed_m_s=3, stability="D",
                                                 max_plume_m=30_000))
    toward = (wind_from + 180) % 360
    for z in zs.zones:
        ring = np.asarray(z.geometry.exterior.coords)
        az, _, d = GEOD.inv(np.full(len(ring), lon), np.full(len(ring), lat), ring[:, 0], ring[:, 1])
        if z.truncated:  # cut with its width kept: the cut edge is square, not a point
            assert d.max() >= z.distance_m * (1 - TOL)
            if z.beyond_model_range:  # past 10 km: drawn to the model's range, no distance (issue 17)
                assert z.distance_m <= 10_000 + 1e-6 and z.true_distance_m is None
                assert "beyond the model's range of 10 km" in z.properties()["truncation_reason"]
            else:
                assert z.true_distance_m > z.distance_m
                assert "max_plume_m" in z.properties()["truncation_reason"]
            continue
        k = int(np.argmax(d))
        assert d[k] == pytest.approx(z.distance_m, rel=TOL)
        assert abs((az[k] - toward + 180) % 360 - 180) < 0.5
        assert z.buffer_m is None


def test_plume_without_wind_direction_is_circle_of_max_downwind_distance():
    p = scenario_params(wind_speed_m_s=2, stability="E", kinds="toxic")
    zs = scenarios.what_if_zones(125.3, 43.9, "ammonia", 5.0, p)
    model = next(m for m in zs.models if m["kind"] == "toxic")
    expected = {z["zone"]: z["drawn_m"] for z in model["zones"]}
    for z in zs.zones:
        assert z.distance_m == pytest.approx(expected[z.level], abs=0.05)
        d, _ = _ring_distances(z.geometry, 125.3, 43.9)
        assert np.allclose(d, z.distance_m, rtol=1e-9)


def _boundary_distance(lon, lat, poly: Polygon, n=4000):
    """Minimum geodesic distance (m) from a point to the polygon's boundary, densified."""
    ring = shapely.segmentize(poly.exterior, max_segment_length=poly.exterior.length / n)
    xy = np.asarray(ring.coords)
    _, _, d = GEOD.inv(np.full(len(xy), lon), np.full(len(xy), lat), xy[:, 0], xy[:, 1])
    return d.min()


@pytest.mark.parametrize("lon,lat", JILIN[:5])
def test_goaf_influence_buffer_is_geodesic(lon, lat):
    goaf = Polygon([(lon, lat), (lon + 0.03, lat + 0.005), (lon + 0.025, lat + 0.02), (lon - 0.004, lat + 0.018)])
    props = {"mining_depth_m": 450.0, "seam_thickness_m": 3.0, "tan_beta": 1.8}
    zs = scenarios.goaf_zones(goaf, props)
    red, orange = zs.zones
    assert red.geometry.equals(goaf)
    r = 450.0 / 1.8
    assert orange.distance_m == pytest.approx(r)
    assert orange.details["tan_beta_basis"] == "feature attribute"
    for x, y in np.asarray(orange.geometry.exterior.coords)[::7]:
        assert _boundary_distance(x, y, goaf) == pytest.approx(r, rel=TOL)


def test_goaf_tan_beta_override_and_default():
    goaf = Polygon([(126.0, 42.0), (126.02, 42.0), (126.02, 42.01), (126.0, 42.01)])
    props = {"mining_depth_m": 300.0, "seam_thickness_m": 2.0}
    assert scenarios.goaf_zones(goaf, props).zones[1].distance_m == pytest.approx(300 / 1.5)
    z = scenarios.goaf_zones(goaf, {**props, "tan_beta": 2.0}, scenario_params(tan_beta=3.0)).zones[1]
    assert z.distance_m == pytest.approx(100.0)
    assert z.details["tan_beta_basis"] == "scenario parameter"


@pytest.mark.parametrize("azimuth", [0.0, 90.0, 222.0])
def test_tailings_corridor_along_downstream_azimuth(azimuth):
    lon, lat = 127.5, 42.9
    props = {"dam_height_m": 30.0, "total_storage_1e4m3": 200.0, "downstream_azimuth_deg": azimuth}
    zs = scenarios.tailings_zones(Point(lon, lat), props, scenario_params(max_corridor_m=8000))
    (z,) = zs.zones
    assert z.distance_m == pytest.approx(8000.0)  # drawing limit: the computed runout is larger for this dam
    assert z.details["corridor_length_capped"] is True
    props_out = z.properties()
    assert props_out["truncated"] and props_out["true_distance_m"] > 8000
    assert "drawing limit" in props_out["truncation_reason"]
    ring = np.asarray(z.geometry.exterior.coords)
    az, _, d = GEOD.inv(np.full(len(ring), lon), np.full(len(ring), lat), ring[:, 0], ring[:, 1])
    far = d > 7000
    assert far.any()
    # the far edge is 8 km downstream (±250 m half-width → within 0.1 % of the hypotenuse)
    assert np.all(np.abs(d[far] - np.hypot(8000, 250)) < 0.005 * 8000)
    assert np.all(np.abs((az[far] - azimuth + 180) % 360 - 180) < 2.0)
    assert any("drawing limit" in w for w in zs.warnings)


def test_zones_combine_substances_and_name_the_driver():
    inv = [{"substance": "chlorine", "quantity_t": 5.0}, {"substance": "ammonia", "quantity_t": 50.0},
           {"substance": "propane", "quantity_t": 20.0}]
    zs = scenarios.hazard_source_zones(Point(125.3, 43.9), inv, scenario_params(max_plume_m=50_000))
    toxic = [z for z in zs.zones if z.kind == "toxic"]
    assert [z.level for z in toxic] == ["red", "orange", "yellow"]
    for z in toxic:
        subs = {s["substance"]: s["distance_m"] for s in z.details["by_substance"]}
        assert set(subs) == {"chlorine", "ammonia"}
        assert z.substance == max(subs, key=subs.get)
        assert z.distance_m == pytest.approx(max(subs.values()), abs=0.01)
    # propane drives explosion zones; ammonia is a low-reactivity fuel: no hydrocarbon VCE, and it says so
    expl = [z for z in zs.zones if z.kind == "explosion"]
    assert {s["substance"] for s in expl[0].details["by_substance"]} == {"propane"}
    assert any(s["substance"] == "ammonia" and s["model"] == "explosion" for s in zs.skipped)
    assert {z.kind for z in zs.zones} >= {"fireball", "jet_fire"}  # pressurised propane
    # most severe first; outer() is the farthest-reaching zone
    ranks = [level_rank(z.level) for z in zs.zones]
    assert ranks == sorted(ranks)
    assert zs.outer().equals(max(zs.zones, key=lambda z: z.distance_m).geometry)


def test_default_release_rate_is_stated_and_follows_ten_minute_rule():
    zs = scenarios.what_if_zones(125.3, 43.9, "chlorine", 12.0, scenario_params())
    model = next(m for m in zs.models if m["kind"] == "toxic")
    assert model["parameters"]["release_rate_g_s"] == pytest.approx(12.0e6 / 600.0)
    assert "10 min" in model["parameters"]["release_rate_basis"]
    assert model["model"].startswith("Britter–McQuaid") and "dense by the workbook criterion" in model["model_reason"]
    assert model["parameters"]["stability"] == "F" and model["parameters"]["wind_speed_m_s"] == 1.5
    assert any("68.22" in a for a in zs.assumptions)
    given = scenarios.what_if_zones(125.3, 43.9, "chlorine", 12.0, scenario_params(release_rate_g_s=500))
    assert next(m for m in given.models if m["kind"] == "toxic")["parameters"]["release_rate_g_s"] == 500


def test_feature_collection_is_rfc7946():
    zs = scenarios.what_if_zones(125.3, 43.9, "chlorine", 3.0, scenario_params(wind_dir_deg=90))
    fc = zs.to_feature_collection()
    assert fc["type"] == "FeatureCollection"
    for f in fc["features"]:
        g = shapely.geometry.shape(f["geometry"])
        polys = [g] if g.geom_type == "Polygon" else list(g.geoms)
        assert all(p.exterior.is_ccw for p in polys)
        assert f["properties"]["threshold_unit"] == "ppm"
        assert f["properties"]["distance_unit"] == "m"
    assert fc["metadata"]["models"][0]["sources"]


@pytest.mark.parametrize("kw,field,accepted", [
    ({"stability": "G"}, "stability", "A, B, C, D, E, F"),
    ({"wind_speed_m_s": 0}, "wind_speed_m_s", "greater than or equal to 1"),
    ({"wind_speed_m_s": 0.5}, "wind_speed_m_s", "greater than or equal to 1"),
    ({"wind_speed_m_s": float("inf")}, "wind_speed_m_s", "finite"),
    ({"kinds": 5}, "kinds", "list of release types"),
    ({"weather": "stormy"}, "weather", "worst"),
    ({"wind_dir_deg": 400}, "wind_dir_deg", "0–360"),
    ({"terrain": "forest"}, "terrain", "rural"),
    ({"overpressure_kpa": (10, -1)}, "overpressure_kpa", "> 0"),
    ({"kinds": "flood"}, "kinds", "explosion, fire, toxic"),
    ({"release_fraction": 1.5}, "release_fraction", "(0, 1]"),
    ({"tan_beta": 9}, "tan_beta", "0.5–4"),
    ({"bogus": 1}, "bogus", "accepted: wind_dir_deg"),
])
def test_bad_parameters_name_the_field_and_what_is_accepted(kw, field, accepted):
    with pytest.raises(ValidationFailed) as exc:
        scenario_params(**kw)
    (p,) = exc.value.problems
    assert p.field == field
    assert accepted in p.message


def test_bad_what_if_inputs():
    with pytest.raises(ValidationFailed) as exc:
        scenarios.what_if_zones(125.0, 43.0, "unobtainium", 1.0)
    assert exc.value.problems[0].field == "substance"
    assert "chlorine" in exc.value.problems[0].message  # lists the accepted keys
    with pytest.raises(ValidationFailed) as exc:
        scenarios.what_if_zones(125.0, 43.0, "chlorine", -3.0)
    assert exc.value.problems[0].field == "quantity_t"
    with pytest.raises(ValidationFailed) as exc:
        scenarios.what_if_zones(125.0, 43.0, "oxygen", 3.0)  # no model applies
    assert exc.value.problems[0].field == "release_type"
    with pytest.raises(ValidationFailed) as exc:
        scenarios.hazard_source_zones(Point(125, 43), [{"substance": "chlorine", "quantity_t": -1}])
    assert exc.value.problems[0].field == "inventory[0].quantity_t"
    with pytest.raises(ValidationFailed) as exc:
        scenarios.check_layer("roads")
    assert "hazard_sources, tailings_dams, goaf_areas" in exc.value.problems[0].message


def test_params_are_immutable_and_sorted():
    p = ScenarioParams(overpressure_kpa=(2.07, 34.5, 13.8), stability="d", terrain="URBAN")
    assert p.overpressure_kpa == (34.5, 13.8, 2.07)
    assert p.stability == "D" and p.terrain == "urban"


def test_scenario_set_follows_substance_and_storage():
    pt = Point(125.3, 43.9)
    kinds = lambda inv, **kw: {z.kind for z in scenarios.hazard_source_zones(pt, inv, scenario_params(**kw)).zones}  # noqa: E731
    assert kinds([{"substance": "propane", "quantity_t": 20}]) == {"explosion", "fireball", "jet_fire"}
    assert kinds([{"substance": "propane", "quantity_t": 20, "storage": "refrigerated"}]) == {"explosion"}
    assert kinds([{"substance": "natural_gas", "quantity_t": 20}]) == {"explosion", "jet_fire"}
    assert kinds([{"substance": "gasoline", "quantity_t": 20}]) == {"fire"}
    assert kinds([{"substance": "ammonia", "quantity_t": 20}]) == {"toxic"}
    assert kinds([{"substance": "ammonia", "quantity_t": 20}], vce_low_reactivity=True) == {"toxic", "explosion"}
    with pytest.raises(ValidationFailed) as exc:
        scenarios.hazard_source_zones(pt, [{"substance": "propane", "quantity_t": 1, "storage": "cave"}])
    assert exc.value.problems[0].field == "inventory[0].storage"


def test_passive_release_says_why_and_uses_gaussian():
    # methanol vapour (ρ 1.33 vs air 1.20 kg/m³) in a strong wind is not dense by the workbook criterion
    zs = scenarios.what_if_zones(125.3, 43.9, "methanol", 1.0,
                                 scenario_params(wind_speed_m_s=25, stability="D", kinds="toxic"))
    m = next(m for m in zs.models if m["kind"] == "toxic")
    assert m["model"] == plume.MODEL and "not dense by the workbook criterion" in m["model_reason"]
    assert all(z.model == plume.MODEL and "not dense" in z.model_reason for z in zs.zones)


def test_typical_weather_preset_and_user_override():
    p = scenario_params(weather="typical")
    assert (p.wind_speed_m_s, p.stability) == (3.0, "D")
    p = scenario_params(weather="typical", stability="E")
    assert (p.wind_speed_m_s, p.stability) == (3.0, "E")
    assert (scenario_params().wind_speed_m_s, scenario_params().stability) == (1.5, "F")


def test_no_zone_is_cut_without_saying_so():
    zs = scenarios.what_if_zones(125.3, 43.9, "chlorine", 10.0, scenario_params(kinds="toxic"))
    model = next(m for m in zs.models if m["kind"] == "toxic")
    by_zone = {r["zone"]: r for r in model["zones"]}
    for z in zs.zones:
        p = z.properties()
        row = by_zone[z.level]
        assert p["truncated"] == row["beyond_model_range"] == (row["distance_m"] is None)
        if p["truncated"]:  # past the model's 10 km: drawn to 10 km, no distance, said so (issue 17)
            assert p["distance_m"] == pytest.approx(10_000) and p["true_distance_m"] is None
            assert "lower bound" in p["truncation_reason"]
            assert "beyond the model's range of 10 km" in p["truncation_reason"]
        else:
            assert p["distance_m"] == pytest.approx(row["distance_m"], abs=0.1)
    assert any(z.truncated for z in zs.zones)
