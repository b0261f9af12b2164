"""Jurisdiction-scoped reads and writes (issue 20): one matrix of callers × operations × layers on both stores,
the database's own enforcement on PostGIS (a session as the caller's role), and the API's answers to attacks.

A small province 22 with two cities (2201, 2202) and three counties (220102, 220103 in 2201; 220202 in 2202);
each county holds hazard sources (regulated) and rescue teams (shared). Expected answers are computed from
the fixture's own county of each feature, not from the code under test's admin_code.
"""

from __future__ import annotations

import pytest
from conftest import database_url
from fastapi.testclient import TestClient
from shapely.geometry import Point, box

from gis_service import access
from gis_service.access import ScopeDenied
from gis_service.api.app import create_app
from gis_service.config import Settings
from gis_service.services.container import Services
from gis_service.stores.base import FeatureNotFound, Query, WriteBatch
from gis_service.stores.embedded import EmbeddedStore
from gis_service.validation import validate_rows

COUNTIES = {"220102": box(125.0, 43.0, 125.5, 43.5), "220103": box(125.5, 43.0, 126.0, 43.5),
            "220202": box(126.0, 43.0, 126.5, 43.5)}
CITIES = {"220100": box(125.0, 43.0, 126.0, 43.5), "220200": box(126.0, 43.0, 126.5, 43.5)}
PROVINCE = box(125.0, 43.0, 126.5, 43.5)
CALLERS = ["", "22", "2201", "220102", "220103", "220202"]


def _admin_rows():
    rows = [(PROVINCE, {"name": "省", "level": "province", "code": "220000"})]
    rows += [(g, {"name": f"市{c}", "level": "prefecture", "code": c, "parent_code": "220000"})
             for c, g in CITIES.items()]
    rows += [(g, {"name": f"县{c}", "level": "county", "code": c, "parent_code": c[:4] + "00"})
             for c, g in COUNTIES.items()]
    return rows


def _points(code: str, n: int = 4) -> list[Point]:
    x0, y0, x1, y1 = COUNTIES[code].bounds
    return [Point(x0 + (x1 - x0) * (i + 1) / (n + 1), y0 + (y1 - y0) * (i + 1) / (n + 2)) for i in range(n)]


def _hazard(name: str, t: float = 10.0) -> dict:
    return {"name": name, "enterprise": "企业", "unit_type": "storage",
            "inventory": [{"substance": "chlorine", "cas": "7782-50-5", "quantity_t": t}]}


def _team(name: str) -> dict:
    return {"name": name, "team_type": "hazmat", "personnel": 20, "on_duty": True}


def _fill(store) -> dict[str, dict[int, str]]:
    """Load the province; return {layer: {id: county code}} (the truth the matrix checks against)."""
    svc = Services.build(Settings(), store)
    svc.layers.replace_all("admin_areas", validate_rows(store.spec("admin_areas"), _admin_rows()))
    truth: dict[str, dict[int, str]] = {}
    for layer, make in (("hazard_sources", _hazard), ("rescue_teams", _team)):
        pairs, codes = [], []
        for code in COUNTIES:
            for i, p in enumerate(_points(code)):
                pairs.append((p, make(f"{layer}-{code}-{i}")))
                codes.append(code)
        svc.layers.replace_all(layer, [])
        ids = svc.layers.write(layer, WriteBatch(creates=validate_rows(store.spec(layer), pairs)))
        truth[layer] = dict(zip(ids, codes, strict=True))
    return truth


@pytest.fixture(scope="module")
def emb(tmp_path_factory, catalog):
    store = EmbeddedStore(catalog, tmp_path_factory.mktemp("scope") / "scope.gpkg")
    store.init()
    return store, _fill(store)


@pytest.fixture(scope="module")
def pg(postgis_url, catalog):
    from gis_service.stores.postgis import PostGISStore

    store = PostGISStore(catalog, database_url(postgis_url, "gis_test_scope"))
    store.drop_all()
    store.init()
    truth = _fill(store)
    yield store, truth
    store.close()


@pytest.fixture(params=["emb", "pg"])
def scoped_store(request):
    return request.getfixturevalue(request.param)


def _sees(layer: str, caller: str, county: str) -> bool:
    return layer == "rescue_teams" or county.startswith(caller)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("layer", ["hazard_sources", "rescue_teams"])
def test_reads_stay_inside_the_jurisdiction(scoped_store, layer, caller):
    store, truth = scoped_store
    expected = sorted(fid for fid, county in truth[layer].items() if _sees(layer, caller, county))
    with access.scoped(caller):
        page = store.items(layer, Query(limit=1000))
        assert sorted(f.id for f in page.features) == expected
        assert page.number_matched == len(expected)
        small = store.items(layer, Query(limit=2))  # numberMatched from the count path, not the page
        assert small.number_matched == len(expected)
        assert store.count(layer) == len(expected)
        # bbox across every border, CQL-free filters, spatial questions and whole frames: same rows
        assert sorted(f.id for f in store.items(layer, Query(bbox=PROVINCE.bounds, limit=1000)).features) == expected
        assert sorted(f.id for f in store.intersecting(layer, PROVINCE)) == expected
        assert sorted(f.id for f in store.within(layer, Point(125.75, 43.25), 200_000)) == expected
        near = store.nearest(layer, Point(126.4, 43.4), 3)
        assert all(f.id in expected for f in near) and len(near) == min(3, len(expected))
        assert sorted(store.frame(layer, columns=["name"]).index.tolist()) == expected
        for fid in truth[layer]:
            if fid in expected:
                assert store.get(layer, fid).id == fid
            else:
                with pytest.raises(FeatureNotFound):
                    store.get(layer, fid)
        extent = store.extent(layer)
        if expected:
            assert extent is not None and box(*extent).within(
                box(*PROVINCE.bounds) if not caller else PROVINCE.buffer(1e-9))


@pytest.mark.parametrize("caller", ["2201", "220102", "220202"])
@pytest.mark.parametrize("layer", ["hazard_sources", "rescue_teams"])
def test_writes_stay_inside_the_jurisdiction(scoped_store, layer, caller):
    store, truth = scoped_store
    svc = Services.build(Settings(), store)
    make = _hazard if layer == "hazard_sources" else _team
    spec = store.spec(layer)
    inside = next(c for c in COUNTIES if c.startswith(caller))
    outside = next(c for c in COUNTIES if not c.startswith(caller))
    with access.scoped(caller):
        # create: inside is written (and stamped with the county), outside is refused, nothing written
        created = svc.layers.write(layer, WriteBatch(creates=validate_rows(spec, [(_points(inside)[0], make("新"))])))
        assert store.get(layer, created[0]).properties["admin_code"] == inside
        before = store.count(layer)
        with pytest.raises(ScopeDenied):
            svc.layers.write(layer, WriteBatch(creates=validate_rows(spec, [(_points(outside)[1], make("越界"))])))
        # a claimed admin_code does not help: the service derives it from the geometry
        forged = validate_rows(spec, [(_points(outside)[1], {**make("伪造"), "admin_code": inside})])
        with pytest.raises(ScopeDenied):
            svc.layers.write(layer, WriteBatch(creates=forged))
        assert store.count(layer) == before
        # moving an own feature into another county is refused too
        with pytest.raises(ScopeDenied):
            svc.layers.write(layer, WriteBatch(replaces={created[0]: validate_rows(spec, [(_points(outside)[2],
                                                                                        make("搬走"))])[0]}))
        # another county's feature: regulated → not found (404); shared → readable, so refused (403)
        foreign = next(fid for fid, c in truth[layer].items() if not c.startswith(caller))
        expected_error = FeatureNotFound if layer == "hazard_sources" else ScopeDenied
        with pytest.raises(expected_error):
            svc.layers.write(layer, WriteBatch(deletes=[foreign]))
        with pytest.raises(expected_error):
            svc.layers.write(layer, WriteBatch(replaces={foreign: validate_rows(spec, [(_points(inside)[0],
                                                                                     make("抢"))])[0]}))
        with pytest.raises(ScopeDenied):
            svc.layers.replace_all(layer, [])
        svc.layers.write(layer, WriteBatch(deletes=created))
    assert store.get(layer, foreign).id == foreign  # untouched


def test_postgres_enforces_the_scope_itself(pg):
    """A session running as the county's database role — no application in between — sees and changes only
    the county's regulated rows, and cannot widen its scope with a setting."""
    import psycopg

    store, truth = pg
    store._role("220102")  # the role exists once a caller of the county has been served
    url = store.engine.url.render_as_string(hide_password=False).replace("postgresql+psycopg://", "postgresql://")
    own = sorted(fid for fid, c in truth["hazard_sources"].items() if c == "220102")
    other = next(fid for fid, c in truth["hazard_sources"].items() if c == "220202")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET ROLE riskmap_j_220102")
        conn.execute("SELECT set_config('riskmap.jurisdiction', '', false)")  # no such back door
        ids = sorted(r[0] for r in conn.execute("SELECT id FROM riskmap.hazard_sources"))
        assert ids == own
        # the settings that carry the bounds for the planner cannot widen the role's range: any other range
        # (the province's, or a wider end) lets nothing through; the role's own range is what the service sets
        for lo, hi in (("22", "23"), ("220102", "23"), ("2202", "2203")):
            conn.execute("SELECT set_config('riskmap.scope_lo', %s, false), set_config('riskmap.scope_hi', %s, false)",
                         (lo, hi))
            assert conn.execute("SELECT count(*) FROM riskmap.hazard_sources").fetchone()[0] == 0
            assert conn.execute("SELECT count(*) FROM riskmap.hazard_sources WHERE id = %s", (other,)).fetchone()[0] == 0
            assert conn.execute("UPDATE riskmap.hazard_sources SET name = 'x' WHERE id = %s", (other,)).rowcount == 0
        conn.execute("SELECT set_config('riskmap.scope_lo', '220102', false), set_config('riskmap.scope_hi', '220103', "
                     "false)")
        assert sorted(r[0] for r in conn.execute("SELECT id FROM riskmap.hazard_sources")) == own
        assert conn.execute("SELECT count(*) FROM riskmap.rescue_teams").fetchone()[0] == len(truth["rescue_teams"])
        assert conn.execute("UPDATE riskmap.hazard_sources SET name = 'x' WHERE id = %s", (other,)).rowcount == 0
        assert conn.execute("DELETE FROM riskmap.hazard_sources WHERE id = %s", (other,)).rowcount == 0
        team = next(fid for fid, c in truth["rescue_teams"].items() if c == "220202")
        assert conn.execute("UPDATE riskmap.rescue_teams SET name = 'x' WHERE id = %s", (team,)).rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO riskmap.hazard_sources (name, enterprise, unit_type, inventory, admin_code, geom) "
                         "VALUES ('x', 'x', 'storage', '[]', '220202', ST_SetSRID(ST_MakePoint(126.2, 43.2), 4326))")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE riskmap.layer_revisions SET revision = 0")
    with access.scoped(""):
        assert store.get("hazard_sources", other).properties["name"] != "x"


# -- the API: keys with a jurisdiction, attacks → 4xx without leaks ------------------------------------------

KEYS = "prov-key:editor:22,city-key:editor:2201,county-key:editor:220102,far-key:editor:220202,view-key:viewer:220102"


@pytest.fixture(params=["emb", "pg"])
def api(request):
    store, truth = request.getfixturevalue(request.param)
    return TestClient(create_app(Settings(api_keys=KEYS, read_requires_key=True), store=store)), truth


def _feature(pt: Point, name: str) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [pt.x, pt.y]}, "properties": _hazard(name)}


def test_api_county_key_sees_and_edits_only_its_county(api):
    client, truth = api
    own = {fid for fid, c in truth["hazard_sources"].items() if c == "220102"}
    other = next(fid for fid, c in truth["hazard_sources"].items() if c == "220202")
    h = {"X-API-Key": "county-key"}
    r = client.get("/collections/hazard_sources/items?limit=1000", headers=h)
    assert r.status_code == 200
    got = {f["id"] for f in r.json()["features"]}
    assert own <= got and all(f["properties"]["admin_code"] == "220102" for f in r.json()["features"])
    assert r.json()["numberMatched"] == len(got)
    # another county's id: 404, and the body says nothing about the feature
    r = client.get(f"/collections/hazard_sources/items/{other}", headers=h)
    assert r.status_code == 404 and "hazard_sources-220202" not in r.text
    missing = client.get("/collections/hazard_sources/items/999999", headers=h)
    assert missing.status_code == 404
    assert r.json()["code"] == missing.json()["code"]
    # filters and bbox across the border find nothing more
    for q in ("bbox=126.0,43.0,126.5,43.5", "name=hazard_sources-220202-0", "q=220202", "admin_code=220202"):
        r = client.get(f"/collections/hazard_sources/items?{q}", headers=h)
        assert r.status_code == 200 and r.json()["numberMatched"] == 0, q
    # CQL2 tricks: a filter is AND-ed with the scope, never OR-ed around it
    for cql in ("admin_code = '220202'", "admin_code <> '220102' OR admin_code = '220202'",
                "S_INTERSECTS(geometry, POLYGON((126 43, 126.5 43, 126.5 43.5, 126 43.5, 126 43)))",
                "name LIKE 'hazard_sources-220202%'", "S_INTERSECTS(geometry, BBOX(126, 43, 126.5, 43.5))"):
        r = client.get("/collections/hazard_sources/items", params={"filter": cql, "limit": 1000}, headers=h)
        assert r.status_code == 200 and r.json()["numberMatched"] == 0, (cql, r.text[:300])
    r = client.get("/collections/hazard_sources/items", params={"filter": "1 = 1", "limit": 1000}, headers=h)
    assert r.status_code in (200, 400) and all(f["properties"]["admin_code"] == "220102"
                                               for f in r.json().get("features", []))
    # writes: inside → 201; geometry in another county → 403; another county's id → 404
    r = client.post("/collections/hazard_sources/items", headers=h, json=_feature(_points("220102")[3], "新建"))
    assert r.status_code == 201, r.text
    new = r.json()["created"][0]
    r = client.post("/collections/hazard_sources/items", headers=h, json=_feature(_points("220202")[3], "越界"))
    assert r.status_code == 403 and r.json()["code"] == "Forbidden"
    r = client.put(f"/collections/hazard_sources/items/{other}", headers=h, json=_feature(_points("220102")[0], "抢"))
    assert r.status_code == 404
    assert client.delete(f"/collections/hazard_sources/items/{other}", headers=h).status_code == 404
    r = client.put(f"/collections/hazard_sources/items/{new}", headers=h, json=_feature(_points("220202")[0], "搬"))
    assert r.status_code == 403
    assert client.delete(f"/collections/hazard_sources/items/{new}", headers=h).status_code == 204
    # the city sees its two counties, the province everything, the far county none of these
    city = client.get("/collections/hazard_sources/items?limit=1000", headers={"X-API-Key": "city-key"}).json()
    assert {f["properties"]["admin_code"] for f in city["features"]} == {"220102", "220103"}
    prov = client.get("/collections/hazard_sources/items?limit=1000", headers={"X-API-Key": "prov-key"}).json()
    assert prov["numberMatched"] == len(truth["hazard_sources"])
    far = client.get(f"/collections/hazard_sources/items/{min(own)}", headers={"X-API-Key": "far-key"})
    assert far.status_code == 404
    # a viewer of the county may read but not write
    r = client.post("/collections/hazard_sources/items", headers={"X-API-Key": "view-key"},
                    json=_feature(_points("220102")[3], "x"))
    assert r.status_code == 403


def test_api_whole_service_batches_are_not_a_county_callers(api):
    """Batch runs cover the whole service on Dask workers outside any scope: a county key cannot start or read one."""
    client, _ = api
    h = {"X-API-Key": "county-key"}
    r = client.post("/processes/batch-regrade/execution", json={"inputs": {}}, headers=h)
    assert r.status_code == 403 and r.json()["code"] == "Forbidden"
    assert client.get("/batches/qra-0123456789abcdef", headers=h).status_code == 404


def test_api_unknown_key_and_anonymous(api):
    client, _ = api
    assert client.get("/collections/hazard_sources/items", headers={"X-API-Key": "nope"}).status_code == 401
    assert client.get("/collections/hazard_sources/items").status_code == 401  # reads require a key here


def test_api_vector_tiles_keep_to_the_jurisdiction(api):
    """A tile covering the whole province holds only the caller's regulated features (both stores)."""
    import math

    import mapbox_vector_tile

    client, truth = api
    z, lon, lat = 6, 125.75, 43.25
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)

    def ids(key):
        r = client.get(f"/collections/hazard_sources/tiles/WebMercatorQuad/{z}/{y}/{x}", headers={"X-API-Key": key})
        assert r.status_code in (200, 204), r.text[:200]
        layer = mapbox_vector_tile.decode(r.content).get("hazard_sources", {}) if r.content else {}
        return {int(f["id"]) for f in layer.get("features", [])}

    foreign = {f for f, c in truth["hazard_sources"].items() if c != "220102"}
    county = ids("county-key")
    assert county and not county & foreign
    assert ids("prov-key") & foreign


@pytest.mark.parametrize("fmt", ["csv", "gpkg"])
def test_api_bulk_downloads_keep_to_the_jurisdiction(api, fmt, tmp_path):
    """A download is a read like any other: a county key gets its county's regulated rows, whatever the filter."""
    import csv
    import io

    import pyogrio

    client, truth = api
    own = {fid for fid, c in truth["hazard_sources"].items() if c == "220102"}

    def ids(key, **params):
        r = client.get("/collections/hazard_sources/items", params={"f": fmt, **params}, headers={"X-API-Key": key})
        assert r.status_code == 200, r.text[:300]
        if fmt == "csv":
            return {int(row["id"]) for row in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))}
        path = tmp_path / f"{key}.gpkg"
        path.write_bytes(r.content)
        return set(pyogrio.read_dataframe(path)["id"].tolist())

    assert own and own <= ids("county-key")
    assert all(truth["hazard_sources"].get(f, "220102") == "220102" for f in ids("county-key"))
    assert not ids("county-key", filter="admin_code = '220202'") & set(truth["hazard_sources"])
    assert ids("prov-key") >= set(truth["hazard_sources"])
