"""Incidents: report, attach analyses, dispatch, move units through their states, close — an append-only
timeline on both engines; committed units are not planned again; bad input → 4xx (409 for steps out of order or
units already out); writes need the editor role; SSE carries the timeline."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from gis_service.analysis.incidents.store import IncidentStore
from gis_service.api.app import create_app
from gis_service.config import Settings

EDITOR = {"X-API-Key": "edit"}
VIEWER = {"X-API-Key": "view"}
KEYS = "edit:editor,view:viewer"
LIAOYUAN = [125.20, 42.95]
NEEDS = {"drainage_pump_300m3h": 2, "drilling_rig": 1, "personnel_mine_rescue": 30}


@pytest.fixture(scope="module", params=["embedded", "postgis"])
def client(request, sample_stores):
    store = sample_stores[request.param]
    db = IncidentStore.for_store(store)
    db.drop()                                    # a clean record for this module
    app = create_app(Settings(api_keys=KEYS), store)
    with TestClient(app) as c:
        yield c
    db.drop()


def _new(client, **over):
    body = {"point": LIAOYUAN, "incident_type": "mine", "title": "辽源矿区透水（演练）", "reporter": "值班员 张三", **over}
    r = client.post("/incidents", json=body, headers=EDITOR)
    assert r.status_code == 201, r.text
    return r.json()


def test_writes_need_the_editor_role(client):
    body = {"point": LIAOYUAN, "incident_type": "mine", "title": "t", "reporter": "r"}
    assert client.post("/incidents", json=body).status_code == 401
    assert client.post("/incidents", json=body, headers=VIEWER).status_code == 403


def test_a_commander_assembles_dispatches_and_moves_units_through_their_states(client):
    inc = _new(client)
    iid = inc["id"]
    assert inc["status"] == "active" and [e["kind"] for e in inc["timeline"]] == ["created"]
    r = client.post(f"/incidents/{iid}/analyses", json={"kind": "resources", "params": {"needs": NEEDS}},
                    headers=EDITOR)
    assert r.status_code == 200, r.text
    plan = [f["properties"] for f in r.json()["result"]["features"] if f["properties"]["role"] == "source"]
    assert r.json()["summary"]["all_met"] and plan
    units = [{"layer": p["layer"], "id": p["id"], "eta_min": p["eta_min"],
              **({"items": {i["type"]: i["quantity"] for i in p["items"]}} if p["layer"] == "supply_depots" else {})}
             for p in plan]
    r = client.post(f"/incidents/{iid}/dispatch", json={"units": units}, headers=EDITOR)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert len(doc["dispatch_ids"]) == len(units) and all(u["state"] == "dispatched" for u in doc["units"])
    d0 = doc["dispatch_ids"][0]
    # out of order: dispatched → on_scene
    r = client.post(f"/incidents/{iid}/dispatches/{d0}/state", json={"state": "on_scene"}, headers=EDITOR)
    assert r.status_code == 409 and r.json()["problems"][0]["field"] == "state"
    for state in ("en_route", "on_scene", "released"):
        r = client.post(f"/incidents/{iid}/dispatches/{d0}/state", json={"state": state}, headers=EDITOR)
        assert r.status_code == 200, r.text
    unit = next(u for u in r.json()["units"] if u["dispatch_id"] == d0)
    assert unit["state"] == "released" and list(unit["times"]) == ["dispatched", "en_route", "on_scene", "released"]
    assert unit["times"]["dispatched"] <= unit["times"]["en_route"] <= unit["times"]["released"]
    r = client.post(f"/incidents/{iid}/dispatches/{d0}/state", json={"state": "en_route"}, headers=EDITOR)
    assert r.status_code == 409
    kinds = [e["kind"] for e in r.json()["timeline"]] if r.status_code == 200 else \
        [e["kind"] for e in client.get(f"/incidents/{iid}").json()["timeline"]]
    assert kinds[:3] == ["created", "analysis", "dispatch"] and kinds.count("unit_state") == 3
    seqs = [e["seq"] for e in client.get(f"/incidents/{iid}").json()["timeline"]]
    assert seqs == sorted(seqs)
    r = client.post(f"/incidents/{iid}/close", json={"note": "险情排除"}, headers=EDITOR)
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert all(u["state"] == "released" for u in r.json()["units"])
    assert client.post(f"/incidents/{iid}/notes", json={"text": "late"}, headers=EDITOR).status_code == 409
    assert iid not in [i["id"] for i in client.get("/incidents").json()["incidents"]]
    assert iid in [i["id"] for i in client.get("/incidents?status=closed").json()["incidents"]]


def test_a_committed_team_is_refused_and_not_planned_again(client):
    a, b = _new(client), _new(client, title="second")
    first = client.post("/analysis/resources/assemble", json={"point": LIAOYUAN, "needs": {"personnel_mine_rescue": 10}})
    team = next(f["properties"] for f in first.json()["features"] if f["properties"]["role"] == "source")
    assert team["layer"] == "rescue_teams"
    ok = client.post(f"/incidents/{a['id']}/dispatch", json={"units": [{"layer": "rescue_teams", "id": team["id"]}]},
                     headers=EDITOR)
    assert ok.status_code == 200
    again = client.post(f"/incidents/{b['id']}/dispatch",
                        json={"units": [{"layer": "rescue_teams", "id": team["id"]}]}, headers=EDITOR)
    assert again.status_code == 409 and again.json()["problems"][0]["field"] == "units[0]"
    second = client.post("/analysis/resources/assemble", json={"point": LIAOYUAN, "needs": {"personnel_mine_rescue": 10}})
    ids = [f["properties"]["id"] for f in second.json()["features"] if f["properties"].get("layer") == "rescue_teams"]
    assert team["id"] not in ids
    client.post(f"/incidents/{a['id']}/close", json={}, headers=EDITOR)
    client.post(f"/incidents/{b['id']}/close", json={}, headers=EDITOR)


def test_a_depot_cannot_send_more_than_it_has_free(client):
    inc = _new(client)
    r = client.post(f"/incidents/{inc['id']}/dispatch",
                    json={"units": [{"layer": "supply_depots", "id": 1, "items": {"drilling_rig": 999}}]}, headers=EDITOR)
    assert r.status_code == 409 and "drilling_rig" in r.text
    r = client.post(f"/incidents/{inc['id']}/dispatch",
                    json={"units": [{"layer": "supply_depots", "id": 1, "items": {"warp_drive": 1}}]}, headers=EDITOR)
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "units[0].items"
    r = client.post(f"/incidents/{inc['id']}/dispatch",
                    json={"units": [{"layer": "supply_depots", "id": 99999, "items": {"drilling_rig": 1}}]},
                    headers=EDITOR)
    assert r.status_code == 404
    client.post(f"/incidents/{inc['id']}/close", json={}, headers=EDITOR)


@pytest.mark.parametrize("path, body, status", [
    ("/incidents", {"point": LIAOYUAN, "incident_type": "alien", "title": "t", "reporter": "r"}, 400),
    ("/incidents", {"point": [10.0, 50.0], "incident_type": "mine", "title": "t", "reporter": "r"}, 400),
    ("/incidents", {"point": "here", "incident_type": "mine", "title": "t", "reporter": "r"}, 400),
    ("/incidents", {"point": LIAOYUAN, "incident_type": "mine", "title": "", "reporter": "r"}, 400),
    ("/incidents/424242/notes", {"text": "x"}, 404),
    ("/incidents/424242/dispatches/1/state", {"state": "en_route"}, 404),
    ("/incidents/424242/dispatch", {"units": [{"layer": "rescue_teams", "id": 1}]}, 404),
])
def test_bad_input_is_a_4xx(client, path, body, status):
    r = client.post(path, json=body, headers=EDITOR)
    assert r.status_code == status, r.text


def test_bad_analysis_params_are_400(client):
    inc = _new(client)
    r = client.post(f"/incidents/{inc['id']}/analyses", json={"kind": "resources", "params": {"needs": {"x": 1}}},
                    headers=EDITOR)
    assert r.status_code == 400 and "needs.x" in r.text
    r = client.post(f"/incidents/{inc['id']}/analyses", json={"kind": "telepathy"}, headers=EDITOR)
    assert r.status_code == 400
    client.post(f"/incidents/{inc['id']}/close", json={}, headers=EDITOR)


def test_the_timeline_is_append_only_in_the_database(client):
    inc = _new(client)
    db = client.app.state.services.incidents.db
    for stmt in (sa.update(db.events).values(kind="forged"), sa.delete(db.events),
                 sa.update(db.incidents).values(title="forged"), sa.delete(db.incidents)):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(stmt)
    assert client.get(f"/incidents/{inc['id']}").json()["title"] != "forged"
    client.post(f"/incidents/{inc['id']}/close", json={}, headers=EDITOR)


def test_the_stream_refuses_a_seq_beyond_its_column(client):
    # the timeline's seq is a PostgreSQL integer: a larger `since` was a 500 inside the started stream (fuzz, PostGIS)
    r = client.get("/incidents/stream", params={"since": 2**31, "timeout_s": 0.5})
    assert r.status_code == 400 and "since" in r.text
    for header in (str(2**40).encode(), "²".encode("latin-1"), b"12x"):              # an unusable Last-Event-ID is ignored, never a 500
        r = client.get("/incidents/stream", params={"timeout_s": 0.5}, headers={"Last-Event-ID": header})
        assert r.status_code == 200, (header, r.text[:200])


def test_the_stream_carries_timeline_events(client):
    inc = _new(client)
    r = client.get("/incidents/stream", params={"since": 0, "timeout_s": 1.5})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert "event: incident" in r.text and f'"incident_id":{inc["id"]}' in r.text
    client.post(f"/incidents/{inc['id']}/close", json={}, headers=EDITOR)


def test_after_action_pdf_has_the_timeline_and_units(client):
    import io

    from pypdf import PdfReader

    inc = _new(client, title="报告测试")
    client.post(f"/incidents/{inc['id']}/analyses", json={"kind": "resources", "params": {"needs": {"drilling_rig": 1}}},
                headers=EDITOR)
    plan = client.get(f"/incidents/{inc['id']}").json()["timeline"][-1]["data"]["result"]["features"]
    src = next(f["properties"] for f in plan if f["properties"]["role"] == "source")
    client.post(f"/incidents/{inc['id']}/dispatch", json={"units": [
        {"layer": src["layer"], "id": src["id"], "items": {"drilling_rig": 1}}]}, headers=EDITOR)
    client.post(f"/incidents/{inc['id']}/close", json={"note": "结束"}, headers=EDITOR)
    r = client.get(f"/incidents/{inc['id']}/report.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    assert "报告测试" in text and src["name"] in text and "closed" in text
    assert client.get("/incidents/999999/report.pdf").status_code == 404


def test_concurrent_dispatches_of_one_team_from_two_workers_commit_exactly_one(client):
    """Two 'workers' (separate incident stores, separate connections) race to send the same team to different
    incidents: the serialised check-and-write lets exactly one through; the other gets the 409."""
    from concurrent.futures import ThreadPoolExecutor

    from gis_service.analysis.incidents.timeline import TransitionRefused
    from gis_service.services.incidents import IncidentService

    svc = client.app.state.services
    workers = [IncidentService(svc.store, svc.exposure, svc.rescue, svc.resources) for _ in range(2)]
    incidents = [_new(client, title=f"race {i}")["id"] for i in range(6)]
    team = next(int(t) for t in range(1, 200)
                if ("rescue_teams", t) not in svc.incidents.commitments()
                and svc.resources.sources()[0].usable[svc.resources.sources()[0].index[("rescue_teams", t)]])

    def go(k):
        try:
            workers[k % 2].dispatch(incidents[k], [{"layer": "rescue_teams", "id": team}], "race")
            return "ok"
        except TransitionRefused:
            return "refused"

    with ThreadPoolExecutor(6) as pool:
        got = list(pool.map(go, range(6)))
    assert got.count("ok") == 1 and got.count("refused") == 5, got
    out = [u for i in incidents for u in client.get(f"/incidents/{i}").json()["units"]]
    assert len(out) == 1 and out[0]["unit_id"] == team
    for i in incidents:
        client.post(f"/incidents/{i}/close", json={}, headers=EDITOR)
