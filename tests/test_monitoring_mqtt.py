"""Readings over a real Mosquitto: end to end (broker → `gis-service ingest` → PostGIS → alarm → decision
package → SSE), and restarts of the broker and of the database mid-stream with no acknowledged reading lost.

The shared machine broker (127.0.0.1:1883, GIS_TEST_MQTT_URL) is used read/write on a topic prefix of the
test's own; restarts use a Mosquitto and a PostgreSQL cluster of the test's own (tests/mqtt_broker.py,
tests/pg_cluster.py), never the shared servers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

import psycopg
import pytest
from conftest import ServerProcess, database_url, free_port, load_gpkg_into
from mqtt_broker import OwnMosquitto, Publisher, broker_available

from gis_service.config import Settings
from gis_service.monitoring.ingest import Pipeline
from gis_service.monitoring.mqtt import IngestWorker
from gis_service.monitoring.pgstore import PgReadings
from gis_service.stores.embedded import EmbeddedStore

pytestmark = pytest.mark.postgis
SHARED_BROKER = os.environ.get("GIS_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


def _shared_broker_up() -> None:
    import socket

    from gis_service.monitoring.mqtt import broker_address

    host, port = broker_address(SHARED_BROKER)
    with socket.socket() as s:
        s.settimeout(2)
        if s.connect_ex((host, port)) != 0:
            pytest.fail(f"no MQTT broker at {SHARED_BROKER} (.ci/run starts mosquitto)")


@pytest.fixture(scope="module")
def layers(sample_gpkg, tmp_path_factory, catalog):
    path = tmp_path_factory.mktemp("mqtt_layers") / "sample.gpkg"
    shutil.copyfile(sample_gpkg, path)
    store = EmbeddedStore(catalog, path)
    store.init()
    return store


def _gas_sensors(layers, n):
    frame = layers.frame("sensors", ["kind"])
    return [int(i) for i in frame.index[frame["kind"] == "flammable_gas"][:n]]


# -- end to end ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def e2e(postgis_url, sample_gpkg, catalog):
    _shared_broker_up()
    from gis_service.stores.postgis import PostGISStore

    url = database_url(postgis_url, "gis_test_e2e")
    store = PostGISStore(catalog, url)
    store.drop_all()
    store.init()
    load_gpkg_into(store, sample_gpkg)
    PgReadings(url).drop()
    store.close()
    topic = f"riskmap-test-{uuid.uuid4().hex[:8]}/readings"
    env = {"GIS_STORE": "postgis", "GIS_DATABASE_URL": url, "GIS_MQTT_URL": SHARED_BROKER, "GIS_MQTT_TOPIC": topic,
           "GIS_MQTT_GROUP": "e2e", "GIS_API_KEYS": "", "GIS_READ_REQUIRES_KEY": "false"}
    with ServerProcess(env) as srv, tempfile.NamedTemporaryFile("w+b", suffix=".log") as log:
        worker = subprocess.Popen([sys.executable, "-m", "gis_service.cli", "ingest", "--client-id",
                                   f"e2e-{uuid.uuid4().hex[:6]}", "--report", "1"],
                                  env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 60          # subscribed before anything is published
            while b"subscribed" not in open(log.name, "rb").read():
                if worker.poll() is not None or time.time() > deadline:
                    pytest.fail("ingest worker did not subscribe: " + open(log.name, "rb").read().decode()[-2000:])
                time.sleep(0.2)
            yield {"server": srv, "topic": topic, "url": url, "log": log.name}
        finally:
            worker.terminate()
            worker.wait(timeout=20)


def _get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def test_published_reading_raises_an_alarm_with_package_on_the_sse_stream(e2e):
    srv, topic = e2e["server"], e2e["topic"]
    gas = _get(f"{srv.url}/collections/sensors/items?kind=flammable_gas&limit=1")["features"][0]
    events: list[dict] = []
    connected = threading.Event()

    def listen():
        req = urllib.request.Request(f"{srv.url}/monitoring/alarms/stream", headers={"Accept": "text/event-stream"})
        with urllib.request.urlopen(req, timeout=60) as r:
            connected.set()
            for raw in r:
                line = raw.decode().rstrip("\n")
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                    return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert connected.wait(20)
    pub = Publisher(SHARED_BROKER, f"e2e-pub-{uuid.uuid4().hex[:6]}")
    now = time.time()
    for i, v in enumerate([3.0, 8.0, 62.0]):
        pub.publish(f"{topic}/{gas['id']}", json.dumps({"time": now - 3 + i, "value": v}).encode(), i)
    assert pub.wait_all_acked(20)
    pub.close()
    deadline = time.time() + 30
    while time.time() < deadline and not events:
        time.sleep(0.1)
    assert events, "no alarm event on the SSE stream; worker log: " + open(e2e["log"], "rb").read().decode()[-2000:]
    ev = events[0]
    assert ev["event"] == "opened" and ev["alarm"]["sensor_id"] == gas["id"] and ev["alarm"]["level"] == 2
    series = _get(f"{srv.url}/monitoring/sensors/{gas['id']}/readings")
    assert [r["value"] for r in series["readings"]] == [3.0, 8.0, 62.0]
    alarms = _get(f"{srv.url}/monitoring/alarms")["alarms"]
    assert any(a["id"] == ev["alarm"]["id"] for a in alarms)
    pkg = _get(f"{srv.url}/monitoring/alarms/{ev['alarm']['id']}")
    assert pkg["source"]["id"] == gas["properties"]["source_id"]
    assert pkg["exposure"]["features"] and pkg["exposure"]["metadata"]["exposure"]["receptor_count"] >= 0
    assert [f for f in pkg["rescue"]["features"] if f["properties"].get("kind") == "team"]
    with psycopg.connect(e2e["url"].replace("+psycopg", "")) as conn:   # stored in the day partition
        parts = conn.execute("SELECT tableoid::regclass::text, count(*) FROM monitoring.readings WHERE sensor_id = %s "
                             "GROUP BY 1", (gas["id"],)).fetchall()
    assert len(parts) >= 1 and all(p.startswith("monitoring.readings_20") for p, _ in parts)


# -- restarts mid-stream --------------------------------------------------------------------------

def _stream(pub, topic, sensors, n, rate, t0):
    """Publish n readings round-robin over the sensors at about `rate`/s; key = (sensor, t)."""
    for i in range(n):
        s = sensors[i % len(sensors)]
        t = round(t0 + i * 0.01, 3)
        pub.publish(f"{topic}/{s}", json.dumps({"time": t, "value": 1.0 + (i % 5)}).encode(), (s, t))
        if i % 50 == 49:
            time.sleep(50 / rate)


def _stored(url, sensors) -> set[tuple[int, float]]:
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        rows = conn.execute("SELECT sensor_id, extract(epoch FROM t)::float8 FROM monitoring.readings "
                            "WHERE sensor_id = ANY(%s)", (sensors,)).fetchall()
    return {(int(s), round(float(t), 3)) for s, t in rows}


def _run_outage(layers, readings_url, broker, outage, n=3000, rate=400.0):
    sensors = _gas_sensors(layers, 100)
    topic = f"riskmap-test-{uuid.uuid4().hex[:8]}/readings"
    settings = Settings(store="postgis", database_url=readings_url, mqtt_url=broker.url, mqtt_topic=topic,
                        monitoring_flood_rate=1000, monitoring_flood_burst=1000)
    readings = PgReadings(readings_url)
    readings.init()
    pipeline = Pipeline(readings, layers, settings)
    worker = IngestWorker(pipeline, broker.url, topic, group="", client_id=f"w-{uuid.uuid4().hex[:6]}", batch=500,
                          buffer=2000)
    worker.start()
    assert worker.wait_connected(10)
    pub = Publisher(broker.url, f"p-{uuid.uuid4().hex[:6]}")
    t0 = time.time() - 60
    sender = threading.Thread(target=_stream, args=(pub, topic, sensors, n, rate, t0))
    sender.start()
    time.sleep(2.0)
    outage()
    sender.join(timeout=120)
    assert pub.wait_all_acked(60), f"{len(pub.pending)} publishes never acknowledged by the broker"
    acked = set(pub.acked)
    deadline = time.time() + 60
    stored: set = set()
    while time.time() < deadline:
        stored = _stored(readings_url, sensors)
        if acked <= stored:
            break
        time.sleep(0.5)
    worker.stop()
    pub.close()
    readings.close()
    lost = acked - stored
    assert len(acked) > n * 0.9, "the publisher should see most readings acknowledged"
    assert not lost, f"{len(lost)} acknowledged readings lost, e.g. {sorted(lost)[:3]}"
    return worker.stats


def test_broker_restart_mid_stream_loses_no_acknowledged_reading(layers, postgis_url):
    if broker_available():
        pytest.fail(broker_available())
    url = database_url(postgis_url, "gis_test_broker_restart")
    PgReadings(url).drop()
    broker = OwnMosquitto()
    broker.start()
    try:
        def restart():
            broker.stop()
            time.sleep(1.5)
            broker.start()

        stats = _run_outage(layers, url, broker, restart)
        assert stats.connects >= 2            # the worker did reconnect
        assert stats.sessions_resumed >= 1    # …to the session it had (issue 24): clean_start=False + expiry
    finally:
        broker.destroy()


def test_database_restart_mid_stream_loses_no_acknowledged_reading(layers):
    from pg_cluster import OwnPostgres

    pg = OwnPostgres(free_port())
    pg.start()
    broker = OwnMosquitto()
    broker.start()
    try:
        def restart():
            pg.stop()
            time.sleep(3.0)
            pg.start()

        stats = _run_outage(layers, pg.url, broker, restart)
        assert stats.retries >= 1             # the worker held its batch and retried
    finally:
        broker.destroy()
        pg.destroy()


def test_bad_messages_do_not_block_good_ones_over_mqtt(layers):
    broker = OwnMosquitto()
    broker.start()
    from pg_cluster import OwnPostgres

    pg = OwnPostgres(free_port())
    pg.start()
    try:
        sensors = _gas_sensors(layers, 3)
        topic = f"riskmap-test-{uuid.uuid4().hex[:8]}/readings"
        settings = Settings(store="postgis", database_url=pg.url, mqtt_url=broker.url, mqtt_topic=topic,
                            monitoring_flood_rate=5, monitoring_flood_burst=20)
        readings = PgReadings(pg.url)
        readings.init()
        worker = IngestWorker(Pipeline(readings, layers, settings), broker.url, topic, client_id="bad-1", batch=200)
        worker.start()
        assert worker.wait_connected(10)
        pub = Publisher(broker.url, "bad-pub")
        now = time.time()
        pub.publish(f"{topic}/{sensors[0]}", b"x" * (10 * 1024 * 1024), "big")
        pub.publish(f"{topic}/999999999", json.dumps({"time": now - 1, "value": 1}).encode(), "unknown")
        pub.publish(f"{topic}/{sensors[0]}", b"{oops", "json")
        pub.publish(f"{topic}/{sensors[0]}", b'{"time": 1, "value": NaN}', "nan")
        pub.publish(f"{topic}/{sensors[0]}", json.dumps({"time": now + 86400, "value": 1}).encode(), "future")
        pub.publish(f"{topic}/{sensors[0]}", json.dumps({"time": now - 1, "value": 1, "unit": "ppm"}).encode(), "unit")
        for i in range(500):                                      # a flood from one sensor
            pub.publish(f"{topic}/{sensors[1]}", json.dumps({"time": now - 30 + i * 0.01, "value": 1}).encode(), i)
        good = [(s, round(now - 5 + k, 3)) for k, s in enumerate([sensors[0], sensors[2]])]
        for s, t in good:
            pub.publish(f"{topic}/{s}", json.dumps({"time": t, "value": 2.0}).encode(), (s, t))
        assert pub.wait_all_acked(30)
        deadline = time.time() + 30
        while time.time() < deadline and not set(good) <= _stored(pg.url, sensors):
            time.sleep(0.2)
        assert set(good) <= _stored(pg.url, sensors)
        deadline = time.time() + 30     # every message received and its batch committed and acknowledged
        while time.time() < deadline and not (worker.stats.received >= 508 and worker.stats.acked == worker.stats.received):
            time.sleep(0.1)
        counts = readings.counters()
        for reason in ("oversize", "unknown_sensor", "malformed_json", "non_finite", "future_time", "wrong_unit"):
            assert counts.get(reason) == 1, (reason, counts)
        assert counts.get("flood", 0) >= 400
        assert worker.stats.acked == worker.stats.received          # dropped ones are acknowledged too
        worker.stop()
        pub.close()
        readings.close()
    finally:
        broker.destroy()
        pg.destroy()
