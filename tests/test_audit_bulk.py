"""Issue 20, Deliver 4: the bulk writes are in the audit trail too, on both stores. An upload (a bulk replace
of a layer: `gis-service load --replace`, load-sample, import-osm) records one entry per changed feature
(added, changed with before and after, removed; an identical re-upload records nothing), in the write's
transaction; the grading recompute (`POST /analysis/grading/recompute`) records every grade it writes under
the caller's key. Both are found with `GET /audit?who=&layer=` and shown in the feature's history."""

from __future__ import annotations

import pytest
import test_audit
from fastapi.testclient import TestClient
from shapely.geometry import Point
from test_audit import KEYS, _chlorine, _qty

from gis_service import access
from gis_service.api.app import create_app
from gis_service.config import Settings
from gis_service.services.container import Services
from gis_service.stores.base import AuditQuery
from gis_service.validation import validate_rows

store = test_audit.store  # the same two-store fixture (embedded, PostGIS)


def _rows(store, quantities: dict[int, float]):
    spec = store.spec("hazard_sources")
    rows = validate_rows(spec, [(Point(125.1 + 0.01 * fid, 43.2), _chlorine(q)["properties"])
                                for fid, q in quantities.items()])
    for fid, row in zip(quantities, rows, strict=True):
        row.id = fid
    return rows


def _upload(store, quantities: dict[int, float]) -> list[int]:
    """What `gis-service load hazard_sources FILE --replace` does (the command line's local identity)."""
    with access.scoped(access.LOCAL):
        return Services.build(Settings(), store).layers.replace_all("hazard_sources", _rows(store, quantities))


def test_upload_records_each_changed_feature(store):
    client = TestClient(create_app(Settings(api_keys=KEYS, read_requires_key=True), store=store))
    prov = {"X-API-Key": "prov-key"}
    assert _upload(store, {1: 10.0, 2: 20.0, 3: 30.0}) == [1, 2, 3]
    first = client.get("/audit", params={"layer": "hazard_sources", "who": "local"}, headers=prov).json()["records"]
    assert sorted((r["feature_id"], r["action"], r["before"]) for r in first) == [
        (1, "upload", None), (2, "upload", None), (3, "upload", None)]
    assert {r["role"] for r in first} == {"admin"} and _qty(first[0]["after"]) in (10.0, 20.0, 30.0)

    # again: 1 changed, 2 identical, 3 gone, 4 new → three records, none for 2
    _upload(store, {1: 40.0, 2: 20.0, 4: 5.0})
    seen = max(r["seq"] for r in first)
    second = [r for r in client.get("/audit", params={"layer": "hazard_sources", "who": "local"},
                                    headers=prov).json()["records"] if r["seq"] > seen]
    by_id = {r["feature_id"]: r for r in second}
    assert sorted(by_id) == [1, 3, 4] and {r["action"] for r in second} == {"upload"}
    assert _qty(by_id[1]["before"]) == 10.0 and _qty(by_id[1]["after"]) == 40.0
    assert _qty(by_id[3]["before"]) == 30.0 and by_id[3]["after"] is None
    assert by_id[4]["before"] is None and _qty(by_id[4]["after"]) == 5.0
    assert by_id[1]["admin_code"] == "220102"   # stamped from the admin areas, as any write

    # the feature's history shows the upload, and restore brings the uploaded-over version back
    versions = client.get("/collections/hazard_sources/items/1/history", headers=prov).json()["versions"]
    assert [v["action"] for v in versions] == ["upload", "upload"] and _qty(versions[0]["before"]) == 10.0
    r = client.post("/collections/hazard_sources/items/1/restore", params={"version": versions[0]["seq"]},
                    headers=prov)
    assert r.status_code == 200, r.text
    assert _qty(client.get("/collections/hazard_sources/items/1", headers=prov).json()) == 10.0
    # another county's key sees none of it; a key with another subject finds nothing under its name
    far = client.get("/audit", params={"layer": "hazard_sources"}, headers={"X-API-Key": "far-key"}).json()
    assert far["records"] == []
    assert client.get("/audit", params={"layer": "hazard_sources", "who": "someone-else"},
                      headers=prov).json()["records"] == []


def test_upload_record_stands_or_falls_with_the_upload(store, monkeypatch):
    _upload(store, {1: 10.0})
    before = store.audit(AuditQuery(layer="hazard_sources"))
    if store.kind == "embedded":
        import gis_service.stores.embedded as emb

        def boom(*a, **k):
            raise OSError("disk full while writing the audit record")

        monkeypatch.setattr(emb, "_append_audit", boom)
        with pytest.raises(OSError):
            _upload(store, {1: 99.0})
    else:
        from sqlalchemy import Column, Integer, MetaData, Table
        from sqlalchemy.exc import DBAPIError

        monkeypatch.setattr(store, "audit_table", Table("audit", MetaData(), Column("nope", Integer), schema="riskmap"))
        with pytest.raises(DBAPIError):
            _upload(store, {1: 99.0})
        monkeypatch.undo()
    assert _qty(store.get("hazard_sources", 1).to_dict()) == 10.0     # the upload did not happen
    assert store.audit(AuditQuery(layer="hazard_sources")) == before


def test_recompute_records_each_grade_under_the_caller(store):
    client = TestClient(create_app(Settings(api_keys=KEYS, read_requires_key=True), store=store))
    prov = {"X-API-Key": "prov-key"}
    spec = store.spec("hazard_sources")
    # 50 t of chlorine (critical quantity 5 t, GB 18218-2018 Table 1) and no grade stored: recompute writes one
    body = _chlorine(50.0)
    body["properties"].pop("grade", None)
    fid = client.post("/collections/hazard_sources/items", headers=prov, json=body).json()["created"][0]
    assert store.get("hazard_sources", fid).properties.get("grade") is None
    r = client.post("/analysis/grading/recompute", headers=prov)
    assert r.status_code == 200, r.text
    grade = store.get("hazard_sources", fid).properties["grade"]
    assert grade is not None and "grade" in spec.attribute_names

    who = client.get("/identity", headers=prov).json()["subject"]
    found = client.get("/audit", params={"who": who, "layer": "hazard_sources"}, headers=prov).json()["records"]
    regrade = [rec for rec in found if rec["action"] == "recompute"]
    assert [rec["feature_id"] for rec in regrade] == [fid]
    rec = regrade[0]
    assert rec["before"]["properties"].get("grade") is None and rec["after"]["properties"]["grade"] == grade
    assert rec["role"] == "admin" and rec["jurisdiction"] == "22" and rec["request_id"] == r.headers["x-request-id"]
    versions = client.get(f"/collections/hazard_sources/items/{fid}/history", headers=prov).json()["versions"]
    assert [v["action"] for v in versions] == ["recompute", "create"]
    # a dry run writes nothing and records nothing; a second recompute finds nothing to change
    n = len(store.audit(AuditQuery(layer="hazard_sources")))
    assert client.post("/analysis/grading/recompute", params={"dry_run": True}, headers=prov).status_code == 200
    assert client.post("/analysis/grading/recompute", headers=prov).status_code == 200
    assert len(store.audit(AuditQuery(layer="hazard_sources"))) == n
