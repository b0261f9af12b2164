"""Exposure use case on both stores: receptors inside each zone, counts, population, distances.

The expected receptors are found independently: pyproj.Geod distances over the whole receptor frame
(distance zones) or shapely intersects (footprint zones), never via the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Geod

from gis_service.analysis.consequence import exposure
from gis_service.analysis.consequence.params import scenario_params
from gis_service.stores.base import FeatureNotFound, Query
from gis_service.validation import ValidationFailed

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="session")
def exposure_stores(postgis_url, sample_gpkg, catalog, tmp_path_factory):
    """Both engines holding the Jilin sample, in this capability's own database (gis_test_exposure)
    so that parallel test runs of other capabilities cannot drop the tables under us."""
    yield from sample_pair(postgis_url, sample_gpkg, catalog, tmp_path_factory, "gis_test_exposure")


def sample_pair(postgis_url, sample_gpkg, catalog, tmp_path_factory, db):
    import shutil

    from conftest import database_url, load_gpkg_into

    from gis_service.stores.embedded import EmbeddedStore
    from gis_service.stores.postgis import PostGISStore

    pg = PostGISStore(catalog, database_url(postgis_url, db))
    pg.drop_all()
    pg.init()
    load_gpkg_into(pg, sample_gpkg)
    copy = tmp_path_factory.mktemp(db) / "sample.gpkg"
    shutil.copyfile(sample_gpkg, copy)
    emb = EmbeddedStore(catalog, copy)
    emb.init()
    yield {"embedded": emb, "postgis": pg}
    pg.close()


def _expected_ids(store, zone, source):
    rec = store.frame("receptors", ["population"])
    if zone.buffer_m is not None:
        pts = rec.geometry.values
        assert all(g.geom_type == "Point" for g in pts)  # the small dataset: exact point distances
        _, _, d = GEOD.inv(np.full(len(pts), source.x), np.full(len(pts), source.y),
                           shapely.get_x(pts), shapely.get_y(pts))
        return set(rec.index[d <= zone.buffer_m].tolist()), dict(zip(rec.index, d, strict=True))
    hit = shapely.intersects(zone.geometry, rec.geometry.values)
    return set(rec.index[hit].tolist()), None


@pytest.mark.parametrize("wind", [None, 250.0])
def test_receptors_in_each_zone_match_brute_force(store, wind):
    params = scenario_params(wind_dir_deg=wind, wind_speed_m_s=2.0, stability="D", max_plume_m=20_000)
    feature = store.items("hazard_sources", Query(limit=1)).features[0]
    result = exposure.feature_exposure(store, "hazard_sources", feature.id, params)
    assert result.zones, "chlorine must give toxic zones"
    total_seen = set()
    for ze in result.zones:
        want, dists = _expected_ids(store, ze.zone, feature.geometry)
        got = [r["id"] for r in ze.receptors]
        assert set(got) == want
        total_seen |= want
        pops = store.frame("receptors", ["population", "receptor_class"]).loc[sorted(want)]
        assert ze.total_population == int(pops["population"].sum())
        assert ze.counts_by_class == {k: int(v) for k, v in pops["receptor_class"].value_counts().sort_index().items()}
        d = [r["distance_m"] for r in ze.receptors]
        assert d == sorted(d)
        if dists is not None:
            for r in ze.receptors:
                assert r["distance_m"] == pytest.approx(dists[r["id"]], abs=0.01)
    assert result.summary["receptor_count"] == len(total_seen)


def test_zones_are_nested_per_model(store):
    result = exposure.feature_exposure(store, "hazard_sources", 3, scenario_params(max_plume_m=15_000))
    by_kind = {}
    for ze in result.zones:
        by_kind.setdefault(ze.zone.kind, []).append({r["id"] for r in ze.receptors})
    for sets in by_kind.values():
        for inner, outer in zip(sets, sets[1:], strict=False):
            assert inner <= outer


def test_feature_collection_carries_models_and_exposure(store):
    fc = exposure.feature_exposure(store, "hazard_sources", 2, scenario_params()).to_feature_collection(
        receptor_features=True)
    zones = [f for f in fc["features"] if f["properties"]["feature_type"] == "zone"]
    recs = [f for f in fc["features"] if f["properties"]["feature_type"] == "receptor"]
    assert zones and {"receptor_count", "total_population", "counts_by_class", "receptors"} <= set(
        zones[0]["properties"]["exposure"])
    assert len(recs) == fc["metadata"]["exposure"]["receptor_count"]
    meta = fc["metadata"]
    assert meta["source"]["layer"] == "hazard_sources" and meta["source"]["id"] == 2
    assert meta["parameters"]["stability"] == "F"
    toxic = [m for m in meta["models"] if m["kind"] == "toxic"]
    assert toxic and all(m["model"] and m["model_reason"] for m in toxic)  # which model and why
    for f in zones:
        p = f["properties"]
        assert p["model"] and p["threshold_source"] and "truncated" in p
    assert meta["units"]["distance_m"] == "m"


def test_unknown_feature_and_wrong_layer(store):
    with pytest.raises(FeatureNotFound):
        exposure.feature_exposure(store, "hazard_sources", 987654)
    with pytest.raises(ValidationFailed) as exc:
        exposure.feature_exposure(store, "rescue_teams", 1)
    assert exc.value.problems[0].field == "layer"


def _answer(result):
    return [(z.zone.kind, z.zone.level, [(r["id"], r["distance_m"]) for r in z.receptors], z.total_population)
            for z in result.zones]


@pytest.mark.parametrize("layer", ["hazard_sources", "tailings_dams", "goaf_areas"])
def test_same_answer_from_both_stores_on_the_jilin_sample(exposure_stores, layer):
    emb, pg = exposure_stores["embedded"], exposure_stores["postgis"]
    frame = emb.frame(layer, ["name"])
    ids = frame.index[:: max(1, len(frame) // 12)].tolist()
    params = scenario_params(wind_dir_deg=300, wind_speed_m_s=3, stability="D")
    nonempty = 0
    for fid in ids:
        a = exposure.feature_exposure(emb, layer, fid, params)
        b = exposure.feature_exposure(pg, layer, fid, params)
        ea, eb = _answer(a), _answer(b)
        assert [x[:2] for x in ea] == [x[:2] for x in eb]
        for (_, _, ra, pa), (_, _, rb, pb) in zip(ea, eb, strict=True):
            assert [i for i, _ in ra] == [i for i, _ in rb]
            assert np.allclose([d for _, d in ra], [d for _, d in rb], atol=0.02)
            assert pa == pb
        nonempty += bool(a.summary["receptor_count"])
    if layer == "hazard_sources":
        assert nonempty, "the sample puts receptors near hazard sources; the comparison must not be vacuous"


def test_what_if_exposure_point(store):
    lon, lat = 125.6, 43.9
    r = exposure.what_if_exposure(store, lon, lat, "氯", 8.0, scenario_params(max_plume_m=20_000))
    assert r.zoneset.source["substance"] == "chlorine"
    yellow = r.zones[-1]
    want, _ = _expected_ids(store, yellow.zone, shapely.Point(lon, lat))
    assert {x["id"] for x in yellow.receptors} == want


@pytest.mark.parametrize("layer", ["hazard_sources", "tailings_dams", "goaf_areas"])
def test_typed_exposure_is_the_same_document(exposure_stores, layer):
    """ExposureZones (what the map and the PDF read) holds the very document the API writes: its JSON form equals
    the answer's GeoJSON member for member (the model families' extra members kept), and its attributes are the
    document's values — on both stores, with and without receptor features, for a what-if release too."""
    import json

    from gis_service.analysis.consequence.results import ReceptorProperties, ZoneProperties

    for name, store in exposure_stores.items():
        frame = store.frame(layer, ["name"])
        ids = frame.index[:: max(1, len(frame) // 6)].tolist()
        results = [exposure.feature_exposure(store, layer, fid, scenario_params(wind_dir_deg=300)) for fid in ids]
        results.append(exposure.what_if_exposure(store, 125.6, 43.9, "chlorine", 8.0, scenario_params()))
        receptors_seen = 0
        for r in results:
            for with_receptors in (False, True):
                doc = json.loads(json.dumps(r.to_feature_collection(with_receptors)))
                typed = r.to_model(with_receptors)
                assert typed.model_dump(mode="json") == doc, (name, layer)
                zones = [f["properties"] for f in doc["features"] if f["properties"]["feature_type"] == "zone"]
                assert [(z.level, z.kind, z.exposure.receptor_count) for z in typed.zones] == \
                    [(z["level"], z["kind"], z["exposure"]["receptor_count"]) for z in zones]
                assert all(isinstance(f.properties, ZoneProperties | ReceptorProperties) for f in typed.features)
                assert typed.metadata.exposure.total_population == doc["metadata"]["exposure"]["total_population"]
                receptors_seen += len(typed.receptors)
        if layer == "hazard_sources":
            assert receptors_seen, "receptor features must be checked too"
