"""/monitoring over HTTP (in-process, the Jilin sample in the embedded store): roles, bad input, alarms,
the decision package (compared with the exposure and rescue analyses called directly), series."""

from __future__ import annotations

import shutil
import time

import pytest
from fastapi.testclient import TestClient

from gis_service.analysis.consequence.params import scenario_params
from gis_service.api.app import create_app
from gis_service.config import Settings

KEYS = "s3nsor:sensor,v1ewer:viewer,ed1tor:editor"


@pytest.fixture(scope="module")
def client(sample_gpkg, tmp_path_factory):
    path = tmp_path_factory.mktemp("mon_api") / "sample.gpkg"
    shutil.copyfile(sample_gpkg, path)
    app = create_app(Settings(store="embedded", gpkg_path=path, api_keys=KEYS))
    with TestClient(app) as c:
        yield c


def _sensor(client, kind, **props):
    fc = client.get("/collections/sensors/items", params={"kind": kind, "limit": 1000}).json()
    for f in fc["features"]:
        if all(f["properties"].get(k) == v for k, v in props.items()):
            return f
    raise AssertionError(f"no {kind} sensor with {props}")


def _post(client, rows, key="s3nsor"):
    return client.post("/monitoring/readings", json={"readings": rows}, headers={"X-API-Key": key} if key else {})


def test_posting_readings_needs_a_sensor_or_editor_key(client):
    gas = _sensor(client, "flammable_gas")
    row = [{"sensor_id": gas["id"], "time": time.time() - 5, "value": 1.0}]
    assert _post(client, row, key=None).status_code == 401
    assert _post(client, row, key="v1ewer").status_code == 403
    assert _post(client, row, key="s3nsor").json()["accepted"] == 1
    assert _post(client, [{**row[0], "time": time.time() - 4}], key="ed1tor").status_code == 200


def test_bad_readings_are_named_and_good_ones_kept(client):
    gas = _sensor(client, "flammable_gas")
    now = time.time()
    r = _post(client, [{"sensor_id": gas["id"], "time": now - 3, "value": 2.0},
                       {"sensor_id": 99_999_999, "time": now, "value": 1},
                       {"sensor_id": gas["id"], "time": now + 7200, "value": 1},
                       {"sensor_id": gas["id"], "time": now - 2, "value": 1, "unit": "ppm"},
                       {"sensor_id": gas["id"], "time": now - 1, "value": "high"}])
    body = r.json()
    assert r.status_code == 200 and body["accepted"] == 1
    assert {(p["row"], p["field"]) for p in body["problems"]} == {(1, "sensor_id"), (2, "time"), (3, "unit"), (4, "value")}
    r = _post(client, [{"sensor_id": 99_999_999, "time": now, "value": 1}])
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "sensor_id"
    r = client.post("/monitoring/readings", content=b"{nope", headers={"X-API-Key": "s3nsor"})
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "body"
    r = client.post("/monitoring/readings", content=b'{"readings": [{"sensor_id": 1, "time": 1, "value": NaN}]}',
                    headers={"X-API-Key": "s3nsor"})
    assert r.status_code == 400 and r.json()["rejected"] == {"non_finite": 1}
    assert client.get("/monitoring/alarms", params={"status": "nope"}).status_code == 400
    assert client.get("/monitoring/alarms/123456789").status_code == 404


def test_alarm_with_its_decision_package_built_by_the_analyses(client):
    vane = _sensor(client, "wind_direction")
    hs = vane["properties"]["source_id"]
    gas = next(f for f in client.get("/collections/sensors/items", params={"source_id": hs, "limit": 50}).json()["features"]
               if f["properties"]["kind"] in ("flammable_gas", "toxic_gas"))
    speed = _sensor(client, "wind_speed", source_id=hs)
    now = time.time()
    assert _post(client, [{"sensor_id": vane["id"], "time": now, "value": 270.0},
                          {"sensor_id": speed["id"], "time": now, "value": 3.0}]).json()["accepted"] == 2
    high = gas["properties"]["kind"] == "flammable_gas" and 60.0 or 250.0
    r = _post(client, [{"sensor_id": gas["id"], "time": now + 1, "value": high}]).json()
    assert r["alarm_changes"] == [{"kind": "open", "sensor_id": gas["id"], "rule": "high", "level": 2}]
    alarms = client.get("/monitoring/alarms").json()["alarms"]
    alarm = next(a for a in alarms if a["sensor_id"] == gas["id"])
    assert alarm["status"] == "open" and alarm["level"] == 2
    pkg = client.get(f"/monitoring/alarms/{alarm['id']}").json()
    assert pkg["source"]["layer"] == "hazard_sources" and pkg["source"]["id"] == hs
    assert pkg["scenario"]["wind_dir_deg"] == 270.0 and pkg["scenario"]["wind_speed_m_s"] == 3.0
    # the same answers as the analyses give when called directly
    svc = client.app.state.services
    store = svc.store
    params = scenario_params(wind_dir_deg=270.0, wind_speed_m_s=3.0)
    direct = svc.exposure.feature("hazard_sources", hs, params).to_feature_collection(receptor_features=True)
    assert pkg["exposure"]["metadata"]["exposure"] == direct["metadata"]["exposure"]
    assert len(pkg["exposure"]["features"]) == len(direct["features"])
    teams = svc.rescue.nearest_to(store.get("hazard_sources", hs).geometry, "chemical", k=5, by="time")
    got = [f["properties"]["name"] for f in pkg["rescue"]["features"] if f["properties"].get("kind") == "team"]
    assert got == [t.name for t in teams.teams]
    assert any(f["properties"].get("eta_min") is not None for f in pkg["rescue"]["features"])
    # acknowledge: editor only, then closes when the value falls back
    url = f"/monitoring/alarms/{alarm['id']}/acknowledge"
    assert client.post(url, headers={"X-API-Key": "s3nsor"}).status_code == 403
    acked = client.post(url, json={"note": "已派出救援"}, headers={"X-API-Key": "ed1tor"}).json()["alarm"]
    assert acked["status"] == "acknowledged" and acked["ack_note"] == "已派出救援"
    _post(client, [{"sensor_id": gas["id"], "time": now + 2, "value": 0.5}])
    assert client.get(f"/monitoring/alarms/{alarm['id']}", params={"package": False}).json()["alarm"]["status"] == "closed"
    assert all(a["id"] != alarm["id"] for a in client.get("/monitoring/alarms").json()["alarms"])
    # the series and the sensor state
    series = client.get(f"/monitoring/sensors/{gas['id']}/readings", params={"to": now + 10}).json()
    assert [p["value"] for p in series["readings"]][-2:] == [high, 0.5]
    states = {f["id"]: f["properties"]["state"] for f in client.get("/monitoring/sensors").json()["features"]}
    assert states[gas["id"]] == "normal" and states[vane["id"]] == "normal"
    assert client.get(f"/monitoring/sensors/{gas['id']}/readings", params={"from": "soon"}).status_code == 400


def test_readings_replay_bins_every_visible_sensor(client):
    """GET /monitoring/readings/replay: each reporting sensor's last reading per bin with its set points; bad
    windows and steps are a clear 400/422."""
    gas = _sensor(client, "toxic_gas")
    level = _sensor(client, "tank_level")
    now = time.time()
    t0 = now - 3000
    r = _post(client, [{"sensor_id": gas["id"], "time": t0 + 20, "value": 3.0},
                       {"sensor_id": gas["id"], "time": t0 + 200, "value": 4.0},
                       {"sensor_id": gas["id"], "time": t0 + 1250, "value": 8.0},
                       {"sensor_id": level["id"], "time": t0 + 700, "value": 55.0}])
    assert r.status_code == 200, r.text
    doc = client.get("/monitoring/readings/replay", params={"from": t0, "to": now, "step_min": 5}).json()
    assert doc["step_s"] == 300 and doc["bins"] == 10 and doc["truncated"] is False
    by = {s["sensor_id"]: s for s in doc["sensors"]}
    assert (by[gas["id"]]["k"], by[gas["id"]]["values"]) == ([0, 4], [4.0, 8.0])
    assert (by[level["id"]]["k"], by[level["id"]]["values"]) == ([2], [55.0])
    assert by[gas["id"]]["thresholds"] == {"low_low": None, "low": None, "high": 100.0, "high_high": 200.0}  # GB/T 50493
    assert by[gas["id"]]["unit"] == "%OEL"
    default = client.get("/monitoring/readings/replay").json()        # the last 24 h in 5-minute bins
    assert default["bins"] == 288 and {gas["id"], level["id"]} <= {s["sensor_id"] for s in default["sensors"]}
    for params in ({"from": now, "to": t0}, {"from": now - 8 * 86400, "to": now}, {"from": "soon"}):
        assert client.get("/monitoring/readings/replay", params=params).status_code == 400, params
    for step in (0.5, 61, "x"):
        assert client.get("/monitoring/readings/replay", params={"step_min": step}).status_code in (400, 422), step


def test_kinds_and_stats(client):
    kinds = client.get("/monitoring/kinds").json()["kinds"]
    assert any(k["kind"] == "flammable_gas" and "GB/T 50493" in k["source"] for k in kinds)
    counters = client.get("/monitoring/stats").json()["counters"]
    assert counters.get("accepted", 0) >= 1


# -- the SSE stream never ends by itself: a bounded test drives it over ASGI (the fuzz test leaves it out) ---------

async def _read_stream(app, query: bytes, want_events: int, timeout_s: float, during=None) -> tuple[list[bytes], float]:
    """GET /monitoring/alarms/stream over ASGI until ``want_events`` alarm events arrived, then disconnect.
    Returns the body chunks and the seconds the app took to finish after the disconnect; fails on timeout."""
    import asyncio

    chunks: list[bytes] = []
    gone = asyncio.Event()
    asked = False

    async def receive():
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            assert message["status"] == 200, message
        elif message["type"] == "http.response.body" and message.get("body"):
            chunks.append(message["body"])
            if b"".join(chunks).count(b"event: alarm") >= want_events:
                gone.set()

    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": "/monitoring/alarms/stream", "raw_path": b"/monitoring/alarms/stream",
             "root_path": "", "query_string": query, "headers": [(b"host", b"test"), (b"accept", b"text/event-stream")],
             "client": ("127.0.0.1", 1), "server": ("test", 80)}
    task = asyncio.ensure_future(app(scope, receive, send))
    if during is not None:
        while not chunks:  # connected first, then the reading that raises an event
            await asyncio.sleep(0.05)
        await during()
    await asyncio.wait_for(asyncio.shield(gone.wait()), timeout_s)
    t0 = time.monotonic()
    await asyncio.wait_for(task, 5.0)  # the stream ends once the client is gone
    return chunks, time.monotonic() - t0


def test_alarm_stream_replays_delivers_and_ends_on_disconnect(client):
    import anyio

    # a gas sensor no other test reads (alarms follow each sensor's readings in time order)
    gas = client.get("/collections/sensors/items", params={"kind": "flammable_gas", "limit": 1000}).json()["features"][-1]
    now = time.time() - 30
    _post(client, [{"sensor_id": gas["id"], "time": now, "value": 61.0}])        # opens an alarm
    _post(client, [{"sensor_id": gas["id"], "time": now + 1, "value": 0.2}])     # closes it
    app, hub = client.app, None

    async def replay():
        return await _read_stream(app, b"since=0", 2, 20.0)

    chunks, closing_s = client.portal.call(replay)
    body = b"".join(chunks)
    assert body.startswith(b"retry: 2000\n: connected\n\n")
    assert body.count(b"event: alarm") >= 2 and b"id: " in body
    assert closing_s < 5.0
    hub = app.state.monitoring.hub
    assert not hub.queues  # the disconnected client's queue is gone

    async def live():
        async def publish():
            await anyio.to_thread.run_sync(lambda: _post(client, [{"sensor_id": gas["id"], "time": now + 10,
                                                                    "value": 62.0}]))
        return await _read_stream(app, b"", 1, 20.0, during=publish)

    chunks, closing_s = client.portal.call(live)
    body = b"".join(chunks)
    assert b'"opened"' in body and f'"sensor_id":{gas["id"]}'.encode() in body.replace(b" ", b"")
    assert closing_s < 5.0 and not hub.queues
    _post(client, [{"sensor_id": gas["id"], "time": now + 11, "value": 0.2}])


def test_alarm_stream_refuses_a_bad_since(client):
    assert client.get("/monitoring/alarms/stream", params={"since": str(2**63)}).status_code == 400
    assert client.get("/monitoring/alarms/stream", params={"since": "-1"}).status_code == 400
