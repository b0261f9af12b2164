"""The store contract: every test runs on the embedded store and on PostGIS, and the two must
give the same answers. References are computed independently (pyproj.Geod brute force)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import Point, Polygon

from gis_service.catalog import UnknownLayer
from gis_service.stores.base import FeatureNotFound, Query, WriteBatch
from gis_service.validation import ValidationFailed, validate_rows

GEOD = Geod(ellps="WGS84")


def brute_distances(dataset, layer, lon, lat, pred=lambda p: True):
    out = []
    for i, (geom, props) in enumerate(dataset[layer], start=1):
        if pred(props):
            _, _, d = GEOD.inv(lon, lat, geom.x, geom.y)
            out.append((d, i))
    return sorted(out)


def test_items_paging_covers_every_feature_once(store, dataset):
    seen = []
    offset = 0
    while True:
        page = store.items("receptors", Query(limit=70, offset=offset))
        assert page.number_matched == len(dataset["receptors"])
        seen += [f.id for f in page.features]
        if len(page.features) < 70:
            break
        offset += 70
    assert sorted(seen) == list(range(1, len(dataset["receptors"]) + 1))
    assert seen == sorted(seen)  # default order is by id


def test_items_filters_bbox_sort_and_properties(store, dataset):
    bbox = (125.2, 43.6, 125.8, 44.0)
    q = Query(bbox=bbox, filters={"receptor_class": "school"}, limit=1000,
              sortby=(("population", False),), properties=("name", "population"))
    page = store.items("receptors", q)
    expected = [i for i, (g, p) in enumerate(dataset["receptors"], start=1)
                if p["receptor_class"] == "school" and bbox[0] <= g.x <= bbox[2] and bbox[1] <= g.y <= bbox[3]]
    assert sorted(f.id for f in page.features) == sorted(expected)
    assert page.number_matched == len(expected)
    pops = [f.properties["population"] for f in page.features]
    assert pops == sorted(pops, reverse=True)
    assert all(set(f.properties) == {"name", "population"} for f in page.features)


def test_name_search_is_literal(store):
    assert [f.properties["name"] for f in store.items("rescue_teams", Query(name_contains="队07")).features] == ["救援队07"]
    # LIKE wildcards are escaped: '%' matches nothing literal
    assert store.items("rescue_teams", Query(name_contains="%")).number_matched == 0


def test_get_and_not_found(store, dataset):
    f = store.get("rescue_teams", 3)
    geom, props = dataset["rescue_teams"][2]
    assert f.properties["name"] == props["name"]
    assert f.geometry.distance(geom) < 1e-7
    with pytest.raises(FeatureNotFound):
        store.get("rescue_teams", 10_000)


def test_unknown_identifiers_rejected(store):
    with pytest.raises(UnknownLayer):
        store.items("rescue_teams; DROP TABLE x", Query())
    with pytest.raises(ValidationFailed) as exc:
        store.items("rescue_teams", Query(filters={"name) OR 1=1 --": "x"}))
    assert exc.value.problems[0].field == "name) OR 1=1 --"
    with pytest.raises(ValidationFailed):
        store.items("rescue_teams", Query(sortby=(("pg_sleep(1)", True),)))


def test_injection_in_values_is_just_a_value(store):
    page = store.items("rescue_teams", Query(filters={"name": "x' OR '1'='1"}))
    assert page.number_matched == 0
    assert store.count("rescue_teams") == 40


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lon=st.floats(124.5, 126.8), lat=st.floats(43.2, 44.6), k=st.integers(1, 12))
def test_nearest_equals_brute_force_geodesic(store, dataset, lon, lat, k):
    ref = brute_distances(dataset, "rescue_teams", lon, lat)[:k]
    got = store.nearest("rescue_teams", Point(lon, lat), k)
    assert len(got) == k
    np.testing.assert_allclose([f.distance_m for f in got], [d for d, _ in ref], rtol=1e-6, atol=1e-3)
    # the same set (ties aside): ids at distinct distances must match
    assert {f.id for f in got} == {i for _, i in ref} or np.isclose(got[-1].distance_m, ref[-1][0])


def test_nearest_with_filter(store, dataset):
    lon, lat = 125.6, 43.9
    ref = brute_distances(dataset, "rescue_teams", lon, lat, lambda p: p["team_type"] == "hazmat" and p["on_duty"])
    got = store.nearest("rescue_teams", Point(lon, lat), 3, {"team_type": "hazmat", "on_duty": True})
    assert [f.id for f in got] == [i for _, i in ref[:3]]
    assert all(f.properties["team_type"] == "hazmat" for f in got)


def test_nearest_respects_max_distance(store, dataset):
    ref = brute_distances(dataset, "rescue_teams", 125.6, 43.9)
    limit = (ref[2][0] + ref[3][0]) / 2
    got = store.nearest("rescue_teams", Point(125.6, 43.9), 10, max_distance_m=limit)
    assert [f.id for f in got] == [i for _, i in ref[:3]]


@pytest.mark.parametrize("metres", [500.0, 5_000.0, 20_000.0])
def test_within_equals_brute_force(store, dataset, metres):
    lon, lat = 125.55, 43.85
    ref = [(d, i) for d, i in brute_distances(dataset, "receptors", lon, lat) if d <= metres]
    got = store.within("receptors", Point(lon, lat), metres)
    assert [f.id for f in got] == [i for _, i in ref]
    np.testing.assert_allclose([f.distance_m for f in got], [d for d, _ in ref], rtol=1e-6, atol=1e-3)


def test_within_polygon_and_intersecting(store, dataset):
    poly = Polygon([(125.3, 43.7), (125.5, 43.7), (125.5, 43.8), (125.3, 43.8)])
    inside = {i for i, (g, _) in enumerate(dataset["receptors"], start=1) if poly.intersects(g)}
    assert {f.id for f in store.intersecting("receptors", poly)} == inside
    near = store.within("receptors", poly, 0.0)
    assert {f.id for f in near} == inside


def test_frame_and_extent(store, dataset):
    frame = store.frame("rescue_teams", ["team_type", "personnel"])
    assert len(frame) == 40 and list(frame.columns[:2]) == ["team_type", "personnel"]
    assert frame.crs.to_epsg() == 4326
    x0, y0, x1, y1 = store.extent("rescue_teams")
    xs = [g.x for g, _ in dataset["rescue_teams"]]
    assert x0 == pytest.approx(min(xs)) and x1 == pytest.approx(max(xs))


def test_same_answers_from_both_stores(embedded_store, postgis_store):
    for lon, lat in [(125.2, 43.6), (125.9, 44.1), (126.5, 43.2)]:
        a = embedded_store.within("receptors", Point(lon, lat), 15_000)
        b = postgis_store.within("receptors", Point(lon, lat), 15_000)
        assert [f.id for f in a] == [f.id for f in b]
        np.testing.assert_allclose([f.distance_m for f in a], [f.distance_m for f in b], rtol=1e-6, atol=1e-3)
        a = embedded_store.nearest("rescue_teams", Point(lon, lat), 5, {"team_type": "fire"})
        b = postgis_store.nearest("rescue_teams", Point(lon, lat), 5, {"team_type": "fire"})
        assert [f.id for f in a] == [f.id for f in b]
    qa = embedded_store.items("hazard_sources", Query(limit=5, offset=10, sortby=(("enterprise", True),)))
    qb = postgis_store.items("hazard_sources", Query(limit=5, offset=10, sortby=(("enterprise", True),)))
    assert [f.to_dict() for f in qa.features] == [f.to_dict() for f in qb.features]


@pytest.mark.parametrize("fresh_store", ["embedded", "postgis"], indirect=True)
def test_writes_are_all_or_nothing(fresh_store, catalog):
    store = fresh_store
    spec = catalog["rescue_teams"]
    before = store.items("rescue_teams", Query(limit=1000))
    row = validate_rows(spec, [(Point(125.5, 43.9), {"name": "新队", "team_type": "fire", "personnel": 9,
                                                       "on_duty": True})])[0]
    with pytest.raises(FeatureNotFound):
        store.write("rescue_teams", WriteBatch(creates=[row], replaces={99_999: row}, deletes=[1]))
    after = store.items("rescue_teams", Query(limit=1000))
    assert [f.to_dict() for f in after.features] == [f.to_dict() for f in before.features]

    new_ids = store.write("rescue_teams", WriteBatch(creates=[row], replaces={2: row}, deletes=[1]))
    assert len(new_ids) == 1 and new_ids[0] > 40
    assert store.get("rescue_teams", 2).properties["name"] == "新队"
    with pytest.raises(FeatureNotFound):
        store.get("rescue_teams", 1)
    assert store.count("rescue_teams") == 40


@pytest.mark.parametrize("fresh_store", ["embedded", "postgis"], indirect=True)
def test_embedded_writes_survive_reopen(fresh_store, catalog):
    store = fresh_store
    spec = catalog["receptors"]
    row = validate_rows(spec, [(Point(125.1, 43.6), {"name": "新学校", "receptor_class": "school",
                                                       "population": 800})])[0]
    [fid] = store.write("receptors", WriteBatch(creates=[row]))
    if store.kind == "embedded":
        from gis_service.stores.embedded import EmbeddedStore

        store = EmbeddedStore(catalog, store.path)
        store.init()
    again = store.get("receptors", fid)
    assert again.properties == {**{a: None for a in spec.attribute_names}, "name": "新学校",
                                "receptor_class": "school", "population": 800}


@pytest.mark.parametrize("layer,columns", [("receptors", ["population"]), ("rescue_teams", ["personnel", "on_duty"]),
                                           ("hazard_sources", ["grade", "park_id"]), ("receptors", ["name"])])
def test_frame_is_the_same_from_both_stores(sample_stores, layer, columns):
    """Whole-layer reads (the PostGIS numeric fast path included: points and numbers packed in the
    database, other geometries as WKB, NULLs kept) give the embedded store's frame."""
    a = sample_stores["embedded"].frame(layer, columns)
    b = sample_stores["postgis"].frame(layer, columns)
    assert list(a.index) == list(b.index) and list(a.columns) == list(b.columns)
    import pandas as pd

    for col in columns:
        assert [None if pd.isna(v) else v for v in a[col].astype(object)] == \
               [None if pd.isna(v) else v for v in b[col].astype(object)], col
    assert a.geometry.geom_equals_exact(b.geometry, tolerance=1e-9).all()
    assert set(a.geometry.geom_type) == set(b.geometry.geom_type)


@pytest.mark.parametrize("fresh_store", ["embedded", "postgis"], indirect=True)
def test_extent_follows_writes(fresh_store, catalog):
    store = fresh_store
    before = store.extent("rescue_teams")
    row = validate_rows(catalog["rescue_teams"], [(Point(130.9, 46.1), {"name": "远队", "team_type": "fire",
                                                                        "personnel": 5, "on_duty": True})])[0]
    [fid] = store.write("rescue_teams", WriteBatch(creates=[row]))
    grown = store.extent("rescue_teams")
    assert grown[2] == pytest.approx(130.9) and grown[3] == pytest.approx(46.1)
    store.write("rescue_teams", WriteBatch(deletes=[fid]))
    assert store.extent("rescue_teams") == pytest.approx(before)


@pytest.mark.parametrize("fresh_store", ["embedded", "postgis"], indirect=True)
def test_spatial_queries_follow_inserts_replaces_and_deletes(fresh_store, catalog):
    """After a write that creates, moves and deletes features, every spatial question (bbox page,
    within, nearest, intersecting) answers for the new state — on the embedded store by updating its
    R-tree in place (the same index object, one entry per feature; no rebuild)."""
    store = fresh_store
    spec = catalog["rescue_teams"]
    index = store._layers["rescue_teams"].index if store.kind == "embedded" else None
    far = (131.5, 47.5)  # far from the dataset: whatever is here came from this write
    rows = validate_rows(spec, [(Point(far[0] + 0.01 * i, far[1]), {"name": f"新队{i}", "team_type": "fire",
                                                                    "personnel": 5, "on_duty": True})
                                for i in range(3)])
    moved = validate_rows(spec, [(Point(far[0], far[1] + 0.005), {"name": "搬来", "team_type": "fire",
                                                                  "personnel": 5, "on_duty": True})])[0]
    old_2 = store.get("rescue_teams", 2)
    new_ids = store.write("rescue_teams", WriteBatch(creates=rows, replaces={2: moved}, deletes=[1]))
    centre = Point(*far)
    near = store.within("rescue_teams", centre, 5_000)
    assert {f.id for f in near} == {*new_ids, 2}
    assert [f.id for f in store.nearest("rescue_teams", centre, 2)] == [new_ids[0], 2]
    box = (far[0] - 0.1, far[1] - 0.1, far[0] + 0.1, far[1] + 0.1)
    assert {f.id for f in store.items("rescue_teams", Query(bbox=box, limit=100)).features} == {*new_ids, 2}
    assert {f.id for f in store.intersecting("rescue_teams", centre.buffer(0.05))} == {*new_ids, 2}
    old_point = old_2.geometry
    assert 2 not in {f.id for f in store.within("rescue_teams", old_point, 1.0)}  # moved away from there
    store.write("rescue_teams", WriteBatch(deletes=new_ids))
    assert {f.id for f in store.within("rescue_teams", centre, 5_000)} == {2}
    assert 1 not in {f.id for f in store.nearest("rescue_teams", old_point, 40)}
    if index is not None:
        assert store._layers["rescue_teams"].index is index  # updated in place, never rebuilt
        assert len(index) == store.count("rescue_teams") == 40 - 1


def test_embedded_first_write_of_a_new_store_object(tmp_path, catalog, dataset):
    """A write as the very first call of a store object on an existing file (another worker's first request)
    opens the file before taking the file lock; it used to take the lock twice and wait for itself forever."""
    from conftest import fill

    from gis_service.stores.embedded import EmbeddedStore

    path = tmp_path / "first.gpkg"
    first = EmbeddedStore(catalog, path)
    first.init()
    fill(first, catalog, dataset)
    row = validate_rows(catalog["receptors"], [(Point(125.1, 43.6), {"name": "新", "receptor_class": "school",
                                                                       "population": 1})])[0]
    for op in ("write", "replace_all"):
        other = EmbeddedStore(catalog, path)   # never read before
        import threading

        done = threading.Event()

        def run(store=other, op=op, done=done):
            if op == "write":
                store.write("receptors", WriteBatch(creates=[row]))
            else:
                store.replace_all("rescue_teams", [])
            done.set()

        threading.Thread(target=run, daemon=True).start()
        assert done.wait(60), f"{op} as the first call of a store object did not finish"
        other.close()
    first.close()
