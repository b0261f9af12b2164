"""One service layer: every face (JSON, PDF, map) answers one question the same way, and no cache answers an
edit with stale data.

* The siting check of parks 1–5 with ``GIS_RESCUE_STANDARD_MIN=hazmat:1`` gives the same rule outcomes and
  verdict through ``GET /analysis/siting/{id}``, ``GET /reports/siting/{id}.pdf`` and ``GET /maps/siting/{id}``
  (before the facades, the PDF and map paths did not pass the standards overrides: ``rescue_hazmat`` was
  ``warn`` in JSON and ``pass`` in the PDF and on the map).
* A road and a rescue team edited by another worker (a second store object on the same file / database) change
  the next answer on both stores: road times (the road graph), the offline basemap and the nearest team.
"""

from __future__ import annotations

import io
import re

import pytest
from conftest import database_url
from fastapi.testclient import TestClient

from gis_service.api.app import create_app
from gis_service.config import Settings
from gis_service.legend import OUTCOMES, VERDICTS
from gis_service.stores.base import Query, WriteBatch
from gis_service.validation import validate_rows

pypdf = pytest.importorskip("pypdf")

ENGINES = ["embedded", "postgis"]
OVERRIDE = "hazmat:1"


def _pdf_text(resp) -> str:
    assert resp.status_code == 200, resp.text[:300]
    reader = pypdf.PdfReader(io.BytesIO(resp.content))
    return " ".join("".join(p.extract_text() for p in reader.pages).split())


def _pdf_outcome(text: str, rule_id: str) -> str:
    """The outcome printed in the rule's row (the cell after its id; cells wrap, so spaces are dropped)."""
    labels = {f"{zh}{en}".replace(" ", ""): key for key, (zh, en) in OUTCOMES.items()}
    m = re.search(re.escape(rule_id) + "(" + "|".join(map(re.escape, labels)) + ")", text.replace(" ", ""))
    assert m, f"no outcome after {rule_id} in the PDF text"
    return labels[m.group(1)]


def _map_outcome(html: str, rule_id: str) -> str:
    """The outcome in the rule table beside the map (the panel's JSON: [id, description, outcome, …])."""
    m = re.search(r'\["' + re.escape(rule_id) + r'","[^"]*","([^"]*)"', html)
    assert m, f"no row for {rule_id} on the map"
    return {"通过 pass": "pass", "警告 warn": "warn", "不通过 fail": "fail", "未评估 n/a": "not_evaluated"}[m.group(1)]


@pytest.fixture(params=ENGINES)
def override_client(request, sample_stores):
    app = create_app(Settings(rescue_standard_min=OVERRIDE), sample_stores[request.param])
    with TestClient(app) as c:
        yield c


@pytest.mark.parametrize("park_id", [1, 2, 3, 4, 5])
def test_siting_check_is_the_same_through_json_pdf_and_map(override_client, park_id):
    doc = override_client.get(f"/analysis/siting/{park_id}").json()
    outcomes = {r["id"]: r["outcome"] for r in doc["rules"]}
    assert outcomes["rescue_hazmat"] == "warn"     # no hazmat team arrives within 1 minute
    hazmat = next(r for r in doc["rules"] if r["id"] == "rescue_hazmat")
    assert hazmat["threshold"]["value"] == 1.0 and "GIS_RESCUE_STANDARD_MIN" in hazmat["threshold"]["basis"]
    text = _pdf_text(override_client.get(f"/reports/siting/{park_id}.pdf"))
    html = override_client.get(f"/maps/siting/{park_id}").text
    for rule_id, outcome in outcomes.items():
        assert _pdf_outcome(text, rule_id) == outcome, f"PDF: {rule_id}"
        assert _map_outcome(html, rule_id) == outcome, f"map: {rule_id}"
    zh, en = VERDICTS[doc["verdict"]]
    assert f"结论 Verdict: {zh} {en}" in text
    assert f"{zh} {en}" in html


# -- caches cannot go stale ---------------------------------------------------------------------

def _second_store(store, catalog):
    """Another worker's store object over the same data."""
    if store.kind == "embedded":
        from gis_service.stores.embedded import EmbeddedStore

        return EmbeddedStore(catalog, store.path)
    from gis_service.stores.postgis import PostGISStore

    return PostGISStore(catalog, store.url)


@pytest.mark.parametrize("fresh_store", ENGINES, indirect=True)
def test_an_edited_road_and_team_change_the_next_answer(fresh_store, catalog):
    other = _second_store(fresh_store, catalog)
    params = {"lon": 126.15, "lat": 43.58, "incident": "mine", "k": 1, "by": "time"}
    with TestClient(create_app(Settings(), fresh_store)) as client:
        before = client.get("/analysis/rescue/nearest", params=params).json()["features"][0]["properties"]
        assert before["road_distance_m"] - before["access_m"] > 10_000   # the route runs on the roads
        basemap = client.get("/viewer/basemap/roads").content
        # another worker slows every road down to 5 km/h in place (same ids, count and extent) and renames the
        # class of one: the road graph and the basemap must follow
        roads = other.items("roads", Query(limit=1000))
        replaces = {}
        for i, f in enumerate(roads.features):
            props = {**f.properties, "speed_kmh": 5.0, "road_class": "service" if i == 0 else f.properties["road_class"]}
            replaces[f.id] = validate_rows(catalog["roads"], [(f.geometry, props)])[0]
        other.write("roads", WriteBatch(replaces=replaces))
        after = client.get("/analysis/rescue/nearest", params=params).json()["features"][0]["properties"]
        assert after["eta_min"] > before["eta_min"] + 5   # slower roads: a later arrival
        assert client.get("/viewer/basemap/roads").content != basemap
        # … and takes that team off duty: the next answer names another team
        team = other.get("rescue_teams", before["team_id"])
        row = validate_rows(catalog["rescue_teams"], [(team.geometry, {**team.properties, "on_duty": False})])[0]
        other.write("rescue_teams", WriteBatch(replaces={team.id: row}))
        again = client.get("/analysis/rescue/nearest", params=params).json()["features"][0]["properties"]
        assert again["team_id"] != before["team_id"]
    other.close()


def test_revision_changes_with_every_write_and_only_for_its_layer(store_kind_fresh):
    store, other = store_kind_fresh
    rev_roads, rev_teams = store.revision("roads"), store.revision("rescue_teams")
    f = other.items("roads", Query(limit=1)).features[0]
    other.write("roads", WriteBatch(replaces={f.id: validate_rows(other.catalog["roads"], [(f.geometry, f.properties)])[0]}))
    assert store.revision("roads") > rev_roads
    assert store.revision("rescue_teams") == rev_teams
    assert store.revisions(["roads", "rescue_teams"]) == (store.revision("roads"), rev_teams)


@pytest.fixture(params=ENGINES)
def store_kind_fresh(request, tmp_path, catalog, dataset):
    from conftest import fill

    if request.param == "postgis":
        from gis_service.stores.postgis import PostGISStore

        url = database_url(request.getfixturevalue("postgis_url"), "gis_test_revisions")
        store = PostGISStore(catalog, url)
        store.drop_all()
        store.init()
    else:
        from gis_service.stores.embedded import EmbeddedStore

        store = EmbeddedStore(catalog, tmp_path / "rev.gpkg")
        store.init()
    fill(store, catalog, dataset)
    other = _second_store(store, catalog)
    yield store, other
    other.close()
    store.close()


@pytest.mark.parametrize("fresh_store", ENGINES, indirect=True)
def test_the_data_extent_follows_an_edit_without_a_round_trip_per_answer(fresh_store, catalog):
    """Straight-line nearest teams ask the store one question on PostGIS (the ranking) once the data extent is
    known; an incident outside the extent last read is judged on the current data, so an admin area another
    worker adds far away makes an incident there answerable at once, and one outside every extent is refused."""
    other = _second_store(fresh_store, catalog)
    far = {"lon": 131.9, "lat": 47.9, "incident": "fire", "k": 1}   # outside the dataset (≈125–127 E, 43–45 N)
    with TestClient(create_app(Settings(), fresh_store)) as client:
        inside = {"lon": 125.6, "lat": 43.9, "incident": "fire", "k": 3}
        assert client.get("/analysis/rescue/nearest", params=inside).status_code == 200
        if fresh_store.kind == "postgis":
            from sqlalchemy import event

            seen: list[str] = []

            def hook(conn, cursor, statement, *args):
                seen.append(statement)

            event.listen(fresh_store.engine, "before_cursor_execute", hook)
            try:
                assert client.get("/analysis/rescue/nearest", params=inside).status_code == 200
            finally:
                event.remove(fresh_store.engine, "before_cursor_execute", hook)
            assert len(seen) == 1 and "<->" in seen[0], seen   # the KNN ranking only: no revisions query
        assert client.get("/analysis/rescue/nearest", params=far).status_code == 400
        box = "POLYGON((131.8 47.8, 132.0 47.8, 132.0 48.0, 131.8 48.0, 131.8 47.8))"
        import shapely

        row = validate_rows(catalog["admin_areas"], [(shapely.from_wkt(box), {"name": "远区", "level": "county", "code": "229999"})])[0]
        other.write("admin_areas", WriteBatch(creates=[row]))
        assert client.get("/analysis/rescue/nearest", params=far).status_code == 200
        assert client.get("/analysis/rescue/nearest", params={**far, "lon": 100.0, "lat": 30.0}).status_code == 400
    other.close()
