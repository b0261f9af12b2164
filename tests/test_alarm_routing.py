"""Alarms routed by jurisdiction and escalated (issue 20), on the Jilin sample in the embedded store:
the alarm list and the SSE stream carry only the caller's jurisdiction; an unacknowledged county alarm reaches
the city's stream after its escalation time (1.8 s here) as an ``escalated`` event; the decision package names
who was told and when; another county's key gets 404 for the alarm and nothing on its stream."""

from __future__ import annotations

import asyncio
import shutil
import time

import orjson
import pytest
from fastapi.testclient import TestClient

from gis_service.api.app import create_app
from gis_service.config import Settings
from gis_service.monitoring import escalation

ESCALATE_MIN = 0.03  # 1.8 s at the county, for both alarm levels


@pytest.fixture(scope="module")
def setup(sample_gpkg, tmp_path_factory):
    path = tmp_path_factory.mktemp("routing") / "sample.gpkg"
    shutil.copyfile(sample_gpkg, path)
    probe = TestClient(create_app(Settings(store="embedded", gpkg_path=path)))
    gases = probe.get("/collections/sensors/items", params={"kind": "flammable_gas", "limit": 1000}).json()["features"]
    a = gases[0]
    county = a["properties"]["admin_code"]
    b = next(g for g in gases if g["properties"]["admin_code"][:4] != county[:4])
    far = b["properties"]["admin_code"]
    keys = (f"s3nsor:sensor,county:editor:{county},city:editor:{county[:4]},prov:editor:22,far:editor:{far},"
            f"whole:admin")
    app = create_app(Settings(store="embedded", gpkg_path=path, api_keys=keys,
                              alarm_escalation_min=f"1:county:{ESCALATE_MIN},2:county:{ESCALATE_MIN}"))
    with TestClient(app) as client:
        yield client, a, county


async def _listen(app, key: str, query: bytes, want: int, timeout_s: float) -> list[dict]:
    """Alarm events of GET /monitoring/alarms/stream for ``key`` until ``want`` arrived or ``timeout_s`` passed."""
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
            if b"".join(chunks).count(b"event: alarm") >= want:
                gone.set()

    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": "/monitoring/alarms/stream",
             "raw_path": b"/monitoring/alarms/stream", "root_path": "", "query_string": query,
             "headers": [(b"host", b"test"), (b"accept", b"text/event-stream"), (b"x-api-key", key.encode())],
             "client": ("127.0.0.1", 1), "server": ("test", 80)}
    task = asyncio.ensure_future(app(scope, receive, send))
    try:
        await asyncio.wait_for(asyncio.shield(gone.wait()), timeout_s)
    except TimeoutError:
        gone.set()
    await asyncio.wait_for(task, 5.0)
    body = b"".join(chunks).decode()
    return [orjson.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]


def test_chain_and_reach():
    assert escalation.chain("220102") == [("220102", "county"), ("2201", "city"), ("22", "province")]
    assert escalation.chain("220100") == [("2201", "city"), ("22", "province")]
    assert escalation.reaches("220102", "220102", "220102")
    assert not escalation.reaches("2201", "220102", "220102")        # the city: not yet
    assert escalation.reaches("2201", "220102", "2201")              # escalated to the city
    assert escalation.reaches("220102", "220102", "2201")            # the county still hears it
    assert not escalation.reaches("220202", "220102", "2201")        # another county never
    assert not escalation.reaches("22", "220102", "2201") and escalation.reaches("22", "220102", "22")
    steps = escalation.steps(2, "220102", 1000.0, {(2, "county"): 15.0, (2, "city"): 30.0})
    assert [(s.to, s.due) for s in steps] == [("220102", 1000.0), ("2201", 1900.0), ("22", 3700.0)]
    with pytest.raises(ValueError):
        escalation.parse_overrides("2:town:5")


def test_alarm_routed_and_escalated_to_the_city(setup):
    client, sensor, county = setup
    app = client.app
    opened = time.time()
    r = client.post("/monitoring/readings", headers={"X-API-Key": "s3nsor"},
                    json={"readings": [{"sensor_id": sensor["id"], "time": opened - 1, "value": 61.0}]})
    assert r.status_code == 200, r.text

    def alarms(key):
        return client.get("/monitoring/alarms", headers={"X-API-Key": key}).json()["alarms"]

    mine = [a for a in alarms("county") if a["sensor_id"] == sensor["id"]]
    assert len(mine) == 1 and mine[0]["routed_to"] == county
    alarm_id = mine[0]["id"]
    assert all(a["sensor_id"] != sensor["id"] for a in alarms("far"))
    assert any(a["id"] == alarm_id for a in alarms("city"))   # the city may look; it is not told yet
    assert client.get(f"/monitoring/alarms/{alarm_id}?package=false", headers={"X-API-Key": "far"}).status_code == 404
    assert client.post(f"/monitoring/alarms/{alarm_id}/acknowledge", headers={"X-API-Key": "far"}).status_code == 404
    assert client.get(f"/reports/alarm/{alarm_id}.pdf", headers={"X-API-Key": "far"}).status_code == 404

    async def streams():
        return await asyncio.gather(
            _listen(app, "county", b"since=0", 1, 10.0),    # its own alarm, at once
            _listen(app, "city", b"since=0", 1, 15.0),      # the escalation, after ~1.8 s
            _listen(app, "far", b"since=0", 1, 4.0),        # nothing
            _listen(app, "prov", b"since=0", 1, 4.0))       # not yet: the city has 10+ min

    t0 = time.time()
    county_ev, city_ev, far_ev, prov_ev = client.portal.call(streams)
    assert county_ev and county_ev[0]["alarm"]["id"] == alarm_id and county_ev[0]["event"] == "opened"
    mine_city = [e for e in city_ev if e["alarm"]["id"] == alarm_id]
    assert mine_city and mine_city[0]["event"] == "escalated" and mine_city[0]["to"] == county[:4]
    assert time.time() - opened >= ESCALATE_MIN * 60 - 0.5 and time.time() - t0 < 15
    assert not [e for e in far_ev if e["alarm"]["sensor_id"] == sensor["id"]]
    assert not [e for e in prov_ev if e["alarm"]["id"] == alarm_id]
    # the list says where it is now; the decision package says who was told and when
    assert next(a for a in alarms("city") if a["id"] == alarm_id)["routed_to"] == county[:4]
    pkg = client.get(f"/monitoring/alarms/{alarm_id}", headers={"X-API-Key": "county"}).json()
    told = [(t["jurisdiction"], t["how"]) for t in pkg["told"]]
    assert told[0] == (county, "opened") and told[1][0] == county[:4] and "escalated" in told[1][1]
    assert pkg["told"][1]["at"] is not None
    # acknowledged: no further step; the acknowledgement names the key's id, not the key
    r = client.post(f"/monitoring/alarms/{alarm_id}/acknowledge", headers={"X-API-Key": "county"})
    assert r.status_code == 200 and r.json()["alarm"]["acknowledged_by"].startswith("editor:env:")
    assert app.state.services.monitoring.escalate(time.time() + 86400) == []
    client.post("/monitoring/readings", headers={"X-API-Key": "s3nsor"},
                json={"readings": [{"sensor_id": sensor["id"], "time": time.time(), "value": 0.2}]})
