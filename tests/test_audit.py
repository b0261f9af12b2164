"""The audit trail (issue 20) on both stores: an inventory edit shows in the history with before and after,
restore brings the old one back, a deleted feature comes back under its id, the audit query finds the edit
by who and when; the record is written with the write or not at all; other jurisdictions see nothing; the
trail is append-only in PostgreSQL; the change feed lets a second instance end with the same features."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import database_url
from fastapi.testclient import TestClient
from shapely.geometry import Point, box

from gis_service import access
from gis_service.api.app import create_app
from gis_service.config import Settings
from gis_service.services.container import Services
from gis_service.stores.base import AuditQuery, Query, WriteBatch
from gis_service.stores.embedded import EmbeddedStore
from gis_service.validation import validate_rows

COUNTIES = {"220102": box(125.0, 43.0, 125.5, 43.5), "220202": box(126.0, 43.0, 126.5, 43.5)}
KEYS = "county-key:editor:220102,far-key:editor:220202,prov-key:admin:22"


def _admin(store):
    rows = [(g, {"name": f"县{c}", "level": "county", "code": c}) for c, g in COUNTIES.items()]
    Services.build(Settings(), store).layers.replace_all("admin_areas", validate_rows(store.spec("admin_areas"), rows))
    for layer in ("hazard_sources", "rescue_teams"):
        store.replace_all(layer, [])


@pytest.fixture(params=["embedded", "postgis"])
def store(request, tmp_path, catalog):
    if request.param == "postgis":
        from gis_service.stores.postgis import PostGISStore

        s = PostGISStore(catalog, database_url(request.getfixturevalue("postgis_url"), "gis_test_audit"))
        s.drop_all()
        s.init()
    else:
        s = EmbeddedStore(catalog, tmp_path / "audit.gpkg")
        s.init()
    _admin(s)
    yield s
    s.close()


def _chlorine(t: float, lon: float = 125.2) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, 43.2]},
            "properties": {"name": "液氯储罐区", "enterprise": "某化工", "unit_type": "storage",
                           "inventory": [{"substance": "chlorine", "cas": "7782-50-5", "quantity_t": t}]}}


def _qty(feature: dict) -> float:
    return feature["properties"]["inventory"][0]["quantity_t"]


def test_inventory_edit_history_restore_and_audit_query(store):
    client = TestClient(create_app(Settings(api_keys=KEYS, read_requires_key=True), store=store))
    h = {"X-API-Key": "county-key"}
    t0 = datetime.now(UTC) - timedelta(seconds=1)
    fid = client.post("/collections/hazard_sources/items", headers=h, json=_chlorine(10.0)).json()["created"][0]
    r = client.put(f"/collections/hazard_sources/items/{fid}", headers=h, json=_chlorine(40.0))
    assert r.status_code == 204
    put_request = r.headers["x-request-id"]
    t1 = datetime.now(UTC) + timedelta(seconds=1)

    versions = client.get(f"/collections/hazard_sources/items/{fid}/history", headers=h).json()["versions"]
    assert [v["action"] for v in versions] == ["replace", "create"]
    edit = versions[0]
    assert _qty(edit["before"]) == 10.0 and _qty(edit["after"]) == 40.0
    assert edit["who"].startswith("env:") and edit["role"] == "editor" and edit["jurisdiction"] == "220102"
    assert edit["request_id"] == put_request and edit["admin_code"] == "220102"
    assert versions[1]["before"] is None and _qty(versions[1]["after"]) == 10.0

    # the audit query finds it by who and when (and not outside the time window)
    q = {"who": edit["who"], "from": t0.isoformat(), "to": t1.isoformat(), "layer": "hazard_sources"}
    found = client.get("/audit", params=q, headers=h).json()["records"]
    assert edit["seq"] in [rec["seq"] for rec in found]
    later = {**q, "from": t1.isoformat(), "to": (t1 + timedelta(hours=1)).isoformat()}
    assert client.get("/audit", params=later, headers=h).json()["records"] == []
    assert client.get("/audit", params={"from": "yesterday"}, headers=h).status_code == 400

    # restore brings the old inventory back, and is itself recorded
    r = client.post(f"/collections/hazard_sources/items/{fid}/restore", params={"version": edit["seq"]}, headers=h)
    assert r.status_code == 200, r.text
    now = client.get(f"/collections/hazard_sources/items/{fid}", headers=h).json()
    assert _qty(now) == 10.0
    versions = client.get(f"/collections/hazard_sources/items/{fid}/history", headers=h).json()["versions"]
    assert versions[0]["action"] == "restore" and _qty(versions[0]["before"]) == 40.0

    # a deleted feature comes back under its own id
    assert client.delete(f"/collections/hazard_sources/items/{fid}", headers=h).status_code == 204
    assert client.get(f"/collections/hazard_sources/items/{fid}", headers=h).status_code == 404
    gone = client.get(f"/collections/hazard_sources/items/{fid}/history", headers=h).json()["versions"][0]
    assert gone["action"] == "delete" and gone["after"] is None
    r = client.post(f"/collections/hazard_sources/items/{fid}/restore", params={"version": gone["seq"]}, headers=h)
    assert r.status_code == 200 and r.json()["restored"]["id"] == fid
    assert _qty(client.get(f"/collections/hazard_sources/items/{fid}", headers=h).json()) == 10.0
    # a new feature does not take a restored id
    other = client.post("/collections/hazard_sources/items", headers=h, json=_chlorine(1.0)).json()["created"][0]
    assert other != fid

    # the state before a create does not exist: 400; an unknown version: 404
    first = versions[-1]["seq"]
    assert client.post(f"/collections/hazard_sources/items/{fid}/restore", params={"version": first},
                       headers=h).status_code == 400
    assert client.post(f"/collections/hazard_sources/items/{fid}/restore", params={"version": 10**9},
                       headers=h).status_code == 404

    # another county: the feature, its history and its records do not exist for it
    far = {"X-API-Key": "far-key"}
    assert client.get(f"/collections/hazard_sources/items/{fid}/history", headers=far).status_code == 404
    assert client.post(f"/collections/hazard_sources/items/{fid}/restore", params={"version": edit["seq"]},
                       headers=far).status_code == 404
    assert all(rec["feature_id"] != fid for rec in client.get("/audit", headers=far).json()["records"]
               if rec["layer"] == "hazard_sources")  # feature ids are per layer (the admin areas' upload has 1, 2)
    assert client.get("/collections/hazard_sources/changes", headers=far).json()["changes"] == []
    # the province sees it all
    prov = client.get("/audit", params={"layer": "hazard_sources", "id": fid}, headers={"X-API-Key": "prov-key"})
    assert len(prov.json()["records"]) >= 5


def test_history_pages_newest_first_with_next_links(store):
    """A feature's history is paged (limit ≤ 1000, then `before`=next): pages in order, none lost or repeated,
    a rel=next link while older versions remain; bad paging parameters are 400."""
    client = TestClient(create_app(Settings(api_keys=KEYS, read_requires_key=True), store=store))
    h = {"X-API-Key": "county-key"}
    fid = client.post("/collections/hazard_sources/items", headers=h, json=_chlorine(1.0)).json()["created"][0]
    for t in (2.0, 3.0, 4.0, 5.0):
        assert client.put(f"/collections/hazard_sources/items/{fid}", headers=h, json=_chlorine(t)).status_code == 204
    url = f"/collections/hazard_sources/items/{fid}/history"
    whole = client.get(url, headers=h).json()
    assert whole["count"] == 5 and whole["next"] is None
    assert [link["rel"] for link in whole["links"]] == ["self"]
    pages, params = [], {"limit": 2}
    while True:
        doc = client.get(url, params=params, headers=h).json()
        pages.append([v["seq"] for v in doc["versions"]])
        nxt = [link["href"] for link in doc["links"] if link["rel"] == "next"]
        if doc["next"] is None:
            assert nxt == []
            break
        assert nxt and nxt[0].endswith(f"{url}?limit=2&before={doc['next']}")
        params = {"limit": 2, "before": doc["next"]}
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [seq for p in pages for seq in p] == [v["seq"] for v in whole["versions"]]  # newest first, all, once
    assert [_qty(v["after"]) for v in client.get(url, params={"limit": 2, "before": pages[0][-1]},
                                                    headers=h).json()["versions"]] == [3.0, 2.0]
    for bad in ({"limit": 0}, {"limit": 1001}, {"before": 0}, {"before": "x"}, {"before": 2**63}):
        assert client.get(url, params=bad, headers=h).status_code == 400, bad
    # another county: still nothing, on any page
    far = {"X-API-Key": "far-key"}
    assert client.get(url, params={"limit": 2}, headers=far).status_code == 404
    assert client.get(url, params={"before": pages[1][0]}, headers=far).json()["versions"] == []


def test_record_stands_or_falls_with_the_write(store, monkeypatch):
    """A write whose audit record cannot be written is not written (one transaction / one file swap)."""
    svc = Services.build(Settings(), store)
    spec = store.spec("hazard_sources")
    row = validate_rows(spec, [(Point(125.2, 43.2), _chlorine(5.0)["properties"])])
    [fid] = svc.layers.write("hazard_sources", WriteBatch(creates=row))
    before = store.audit(AuditQuery(layer="hazard_sources"))
    if store.kind == "embedded":
        import gis_service.stores.embedded as emb

        def boom(*a, **k):
            raise OSError("disk full while writing the audit record")

        monkeypatch.setattr(emb, "_append_audit", boom)
        with pytest.raises(OSError):
            svc.layers.write("hazard_sources", WriteBatch(deletes=[fid]))
    else:
        from sqlalchemy.exc import DBAPIError

        class Broken:  # an audit insert that the database refuses
            def __init__(self, table):
                self.table = table

        real = store.audit_table
        from sqlalchemy import Column, Integer, MetaData, Table

        missing = Table("audit", MetaData(), Column("nope", Integer), schema="riskmap")
        monkeypatch.setattr(store, "audit_table", missing)
        with pytest.raises(DBAPIError):
            svc.layers.write("hazard_sources", WriteBatch(deletes=[fid]))
        monkeypatch.setattr(store, "audit_table", real)
    assert store.get("hazard_sources", fid).id == fid       # the delete did not happen
    assert store.audit(AuditQuery(layer="hazard_sources")) == before


def test_postgres_audit_trail_is_append_only(postgis_url, catalog):
    import psycopg

    from gis_service.stores.postgis import PostGISStore

    s = PostGISStore(catalog, database_url(postgis_url, "gis_test_audit"))
    s.init()
    _admin(s)
    Services.build(Settings(), s).layers.write("hazard_sources", WriteBatch(creates=validate_rows(
        s.spec("hazard_sources"), [(Point(125.2, 43.2), _chlorine(5.0)["properties"])])))
    url = s.engine.url.render_as_string(hide_password=False).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        for sql in ("UPDATE riskmap.audit SET who = 'x'", "DELETE FROM riskmap.audit", "TRUNCATE riskmap.audit"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
    s.close()


def test_change_feed_brings_a_second_instance_to_the_same_features(store, tmp_path, catalog):
    """A county platform's writes followed by another instance (here: an embedded store fed from the feed)."""
    svc = Services.build(Settings(), store)
    spec = store.spec("hazard_sources")
    with access.scoped("220102"):
        ids = svc.layers.write("hazard_sources", WriteBatch(creates=validate_rows(
            spec, [(Point(125.1 + 0.05 * i, 43.2), _chlorine(float(i + 1))["properties"]) for i in range(4)])))
        rows = validate_rows(spec, [(Point(125.3, 43.3), _chlorine(99.0)["properties"])])
        svc.layers.write("hazard_sources", WriteBatch(replaces={ids[0]: rows[0]}))
        svc.layers.write("hazard_sources", WriteBatch(deletes=[ids[1]]))
    mirror = EmbeddedStore(catalog, tmp_path / "mirror.gpkg")
    mirror.init()
    msvc = Services.build(Settings(), mirror)
    head = svc.layers.changes("hazard_sources", 0, 1000)["next"]
    for _ in range(2):  # applying the feed twice changes nothing (idempotent)
        cursor = msvc.layers.apply_changes("hazard_sources", svc.layers.changes, 0, page=2)
    assert cursor == head

    def snapshot(s):
        return {f.id: (f.geometry.wkt, f.properties["inventory"][0]["quantity_t"])
                for f in s.items("hazard_sources", Query(limit=1000)).features}

    assert snapshot(mirror) == snapshot(store) and len(snapshot(mirror)) == 3
    # more writes upstream: following from the cursor catches up
    with access.scoped("220102"):
        svc.layers.write("hazard_sources", WriteBatch(deletes=[ids[2]]))
    msvc.layers.apply_changes("hazard_sources", svc.layers.changes, cursor, page=2)
    assert snapshot(mirror) == snapshot(store)


def test_second_instance_follows_the_feed_over_http(tmp_path, catalog, monkeypatch):
    """`gis-service sync URL LAYER` against a running county instance: the second instance (its own store) ends
    with the same features, and a second run with the printed cursor applies only what is new."""
    from conftest import ServerProcess
    from typer.testing import CliRunner

    from gis_service import cli
    from gis_service.config import get_settings

    county = EmbeddedStore(catalog, tmp_path / "county.gpkg")
    county.init()
    _admin(county)
    svc = Services.build(Settings(), county)
    spec = county.spec("hazard_sources")
    ids = svc.layers.write("hazard_sources", WriteBatch(creates=validate_rows(
        spec, [(Point(125.1 + 0.05 * i, 43.2), _chlorine(float(i + 1))["properties"]) for i in range(3)])))
    svc.layers.write("hazard_sources", WriteBatch(deletes=[ids[1]]))
    province = tmp_path / "province.gpkg"
    runner = CliRunner()
    with ServerProcess({"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(county.path),
                        "GIS_API_KEYS": "feed:viewer:22", "GIS_PUBLIC_JURISDICTION": "none"}) as server:
        monkeypatch.setenv("GIS_STORE", "embedded")
        monkeypatch.setenv("GIS_GPKG_PATH", str(province))
        get_settings.cache_clear()
        first = runner.invoke(cli.app, ["sync", server.url, "hazard_sources", "--key", "feed", "--page", "2"])
        assert first.exit_code == 0, first.output
        cursor = int(first.output.split("seq")[-1])
        svc.layers.write("hazard_sources", WriteBatch(deletes=[ids[0]]))
        again = runner.invoke(cli.app, ["sync", server.url, "hazard_sources", "--key", "feed", "--since", str(cursor)])
        assert again.exit_code == 0 and int(again.output.split("seq")[-1]) > cursor
        refused = runner.invoke(cli.app, ["sync", server.url, "hazard_sources", "--key", "wrong"])
        assert refused.exit_code == 3 and "401" in refused.output
    get_settings.cache_clear()
    mirror = EmbeddedStore(catalog, province)

    def snapshot(s):
        return {f.id: (f.geometry.wkt, f.properties["inventory"][0]["quantity_t"])
                for f in s.items("hazard_sources", Query(limit=1000)).features}

    assert snapshot(mirror) == snapshot(county) and list(snapshot(mirror)) == [ids[2]]
