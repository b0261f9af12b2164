"""Escalation outside API processes (issue 20): an unacknowledged county alarm goes up to the city with no API
process and no SSE stream open — in the MQTT ingest worker (real Mosquitto, `gis-service ingest` as a
subprocess, the sample in the embedded store) and with `gis-service escalate` (PostGIS readings store). The
escalation time is shortened to 1.8 s (GIS_ALARM_ESCALATION_MIN); the expected city is the sensor's own code's
first four digits (GB/T 2260), read from the layer, not from the code under test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import orjson
import pytest
from conftest import database_url, load_gpkg_into
from mqtt_broker import Publisher
from test_monitoring_mqtt import SHARED_BROKER, _shared_broker_up
from typer.testing import CliRunner

from gis_service import cli
from gis_service.config import Settings, get_settings
from gis_service.monitoring.ingest import Pipeline
from gis_service.monitoring.sqlitestore import SqliteReadings, side_file
from gis_service.stores.embedded import EmbeddedStore

ESCALATE_MIN = 0.03          # 1.8 s at the county level, both alarm levels
POLICY = f"1:county:{ESCALATE_MIN},2:county:{ESCALATE_MIN}"


def _gas_sensor(store) -> tuple[int, str]:
    frame = store.frame("sensors", ["kind", "admin_code"])
    gas = frame[(frame["kind"] == "flammable_gas") & frame["admin_code"].notna()].iloc[0]
    return int(gas.name), str(gas["admin_code"])


def _events(readings) -> list[dict]:
    return [orjson.loads(doc) for _, doc in readings.events_since(0, 10_000)]


def test_ingest_worker_escalates_with_no_stream_open(sample_gpkg, tmp_path, catalog):
    _shared_broker_up()
    path = tmp_path / "sample.gpkg"
    shutil.copyfile(sample_gpkg, path)
    store = EmbeddedStore(catalog, path)
    store.init()
    sensor, county = _gas_sensor(store)
    topic = f"riskmap-esc-{uuid.uuid4().hex[:8]}/readings"
    env = {"GIS_STORE": "embedded", "GIS_GPKG_PATH": str(path), "GIS_MQTT_URL": SHARED_BROKER,
           "GIS_MQTT_TOPIC": topic, "GIS_MQTT_GROUP": "", "GIS_ALARM_ESCALATION_MIN": POLICY,
           "GIS_ALARM_ESCALATE_EVERY_S": "0.5"}
    with tempfile.NamedTemporaryFile("w+b", suffix=".log") as log:
        worker = subprocess.Popen([sys.executable, "-m", "gis_service.cli", "ingest", "--client-id",
                                   f"esc-{uuid.uuid4().hex[:6]}", "--report", "1"],
                                  env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)

        def worker_log() -> str:
            return open(log.name, "rb").read().decode(errors="replace")[-3000:]

        try:
            deadline = time.time() + 60
            while "subscribed" not in worker_log():
                if worker.poll() is not None or time.time() > deadline:
                    pytest.fail("ingest worker did not subscribe: " + worker_log())
                time.sleep(0.2)
            pub = Publisher(SHARED_BROKER, f"esc-pub-{uuid.uuid4().hex[:6]}")
            now = time.time()
            for i, v in enumerate([3.0, 8.0, 62.0]):           # 62 %LEL: a level-2 alarm
                pub.publish(f"{topic}/{sensor}", json.dumps({"time": now - 3 + i, "value": v}).encode(), i)
            assert pub.wait_all_acked(20)
            pub.close()
            readings = SqliteReadings(side_file(path))
            deadline = time.time() + 40
            escalated: list[dict] = []
            while time.time() < deadline and not escalated:
                time.sleep(0.3)
                escalated = [e for e in _events(readings) if e["event"] == "escalated"
                             and e["alarm"]["sensor_id"] == sensor]
            assert escalated, "no escalation by the worker; its log: " + worker_log()
        finally:
            worker.terminate()
            worker.wait(timeout=20)
    events = [e for e in _events(readings) if e["alarm"]["sensor_id"] == sensor]
    assert [e["event"] for e in events][:2] == ["opened", "escalated"]
    first = escalated[0]
    assert first["to"] == county[:4] and first["to_level"] == "city" and first["step"] == 1
    opened_at = events[0]["alarm"]["opened_at"]
    from datetime import datetime
    due = datetime.fromisoformat(first["at"].replace("Z", "+00:00")).timestamp()
    t_open = datetime.fromisoformat(opened_at.replace("Z", "+00:00")).timestamp()
    assert due - t_open == pytest.approx(ESCALATE_MIN * 60, abs=0.01)   # due after the county's 1.8 s, not before


@pytest.fixture(scope="module")
def pg_sample(postgis_url, sample_gpkg, catalog):
    from gis_service.monitoring.pgstore import PgReadings
    from gis_service.stores.postgis import PostGISStore

    url = database_url(postgis_url, "gis_test_escalate")
    store = PostGISStore(catalog, url)
    store.drop_all()
    store.init()
    load_gpkg_into(store, sample_gpkg)
    PgReadings(url).drop()
    yield store, url
    store.close()


def test_escalate_command_passes_overdue_alarms_up(pg_sample, monkeypatch):
    from gis_service.monitoring.pgstore import PgReadings

    store, url = pg_sample
    sensor, county = _gas_sensor(store)
    readings = PgReadings(url)
    readings.init()
    settings = Settings(store="postgis", database_url=url, alarm_escalation_min=POLICY)
    now = time.time() + 0.9            # the alarm opens with the last reading (at now - 1): 1.8 s to go
    Pipeline(readings, store, settings).rows([{"sensor_id": sensor, "time": now - 3 + i, "value": v}
                                              for i, v in enumerate([3.0, 8.0, 62.0])])
    opened = [e for e in _events(readings) if e["alarm"]["sensor_id"] == sensor]
    assert [e["event"] for e in opened] == ["opened"]
    from datetime import datetime
    t_open = datetime.fromisoformat(opened[0]["alarm"]["opened_at"].replace("Z", "+00:00")).timestamp()
    for k, v in {"GIS_STORE": "postgis", "GIS_DATABASE_URL": url, "GIS_ALARM_ESCALATION_MIN": POLICY}.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    try:
        early = CliRunner().invoke(cli.app, ["escalate"])                  # before the 1.8 s are up: nothing
        assert early.exit_code == 0, early.output
        assert [e["event"] for e in _events(readings) if e["alarm"]["sensor_id"] == sensor] == ["opened"] \
            or time.time() - t_open > ESCALATE_MIN * 60                  # (a slow machine may be past it)
        time.sleep(max(0.0, t_open + ESCALATE_MIN * 60 + 0.5 - time.time()))
        result = CliRunner().invoke(cli.app, ["escalate"])
        again = CliRunner().invoke(cli.app, ["escalate"])                  # recorded once
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert f"escalated to {county[:4]} (step 1)" in result.output + early.output
    assert "escalated" not in again.output
    events = [e for e in _events(readings) if e["alarm"]["sensor_id"] == sensor]
    assert [e["event"] for e in events] == ["opened", "escalated"] and events[1]["to"] == county[:4]
