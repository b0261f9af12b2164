"""Benchmark: sustained sensor-reading ingest, MQTT broker → stored rows, vs a plain COPY of the same rows;
and alarm latency from publish to the Server-Sent Event at a client, under that load.

Set-up (everything on this machine, sharing its cores): a Mosquitto of the bench's own (temp config,
unbounded queues, free port), PostgreSQL at ``--dsn`` (schema ``monitoring`` replaced), a sensors layer of
``--sensors`` points (default 10,000 = a province), ``gis-service ingest`` worker processes in one
MQTT v5 shared-subscription group, and publisher processes (paho, QoS 1, JSON payloads).

* **drain** — capacity: the workers' sessions exist but are offline while the publishers put ``--readings``
  messages into the broker; then the workers start and we time first → last stored row
  (``monitoring.ingest_counters``). Run with 1 worker and with 2.
* **live** — publishers at ``--rate`` readings/s for ``--seconds`` while 1 worker ingests and a service
  process streams alarms over SSE; ``--alarm-sensors`` sensors alternate between 60 %LEL and 1 %LEL so
  every one of their readings opens or closes an alarm. Reported: stored readings/s in the steady window,
  and alarm latency (SSE arrival − the reading's own publish timestamp) p50 / p99.
* **plain COPY** — the same number of rows as one binary ``COPY`` into the same partitioned table.

    .venv/bin/python bench/bench_ingest.py            # 10,000 sensors, 200,000 readings, live 3,000/s
    .venv/bin/python bench/bench_ingest.py --small    # smoke run
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from conftest import ServerProcess  # noqa: E402
from mqtt_broker import OwnMosquitto  # noqa: E402

from gis_service.catalog import default_catalog  # noqa: E402
from gis_service.monitoring.pgstore import PgReadings, copy_buffer  # noqa: E402
from gis_service.stores.postgis import PostGISStore  # noqa: E402
from gis_service.validation import validate_rows  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def ensure_db(dsn: str) -> None:
    base, name = dsn.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')  # noqa: S608 - bench database name from the command line
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def load_sensors(url: str, n: int) -> None:
    from shapely.geometry import Point

    rng = np.random.default_rng(1)
    rows = [(Point(122 + rng.uniform(0, 9), 41 + rng.uniform(0, 5)),
             {"name": f"测点{i}", "kind": "flammable_gas", "unit": "%LEL", "source_layer": "hazard_sources",
              "source_id": 1 + i % 300}) for i in range(n)]
    catalog = default_catalog()
    store = PostGISStore(catalog, url)
    store.init()
    valid = validate_rows(catalog["sensors"], rows)
    for i, r in enumerate(valid):
        r.id = i + 1                                      # ids 1..n, as the publishers address them
    store.replace_all("sensors", valid)
    store.close()


def publisher(url: str, topic: str, sensors: list[int], alarm_sensors: list[int], n: int, rate: float,
              seconds: float, done) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from gis_service.monitoring.mqtt import broker_address

    host, port = broker_address(url)
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(2000)
    c.connect(host, port)
    c.loop_start()
    rng = np.random.default_rng(os.getpid())
    t0 = time.time()
    sent = 0
    flip = {s: False for s in alarm_sensors}
    alarm_every = max(1, int(rate / max(1, 20 * len(alarm_sensors) // max(1, len(alarm_sensors))))) if alarm_sensors else 0
    i = 0
    last = None
    while (n and sent < n) or (seconds and time.time() - t0 < seconds):
        while len(c._out_messages) > 20_000:              # flow control: the network thread is behind
            time.sleep(0.005)
        for _ in range(200):
            s = sensors[i % len(sensors)]
            now = time.time()
            if alarm_every and i % alarm_every == 0:
                s = alarm_sensors[(i // alarm_every) % len(alarm_sensors)]
                flip[s] = not flip[s]
                v = 60.0 if flip[s] else 1.0
            else:
                v = float(rng.uniform(0, 20))
            last = c.publish(f"{topic}/{s}", json.dumps({"time": now, "value": v}), qos=1)
            while last.rc == mqtt.MQTT_ERR_QUEUE_SIZE:    # 65,535 message ids in flight: wait, send again
                time.sleep(0.01)
                last = c.publish(f"{topic}/{s}", json.dumps({"time": now, "value": v}), qos=1)
            i += 1
            sent += 1
            if n and sent >= n:
                break
        if rate:
            ahead = sent / rate - (time.time() - t0)
            if ahead > 0:
                time.sleep(ahead)
    if last is not None:
        last.wait_for_publish(120)
    deadline = time.time() + 120
    while c._out_messages and time.time() < deadline:   # every QoS 1 message acknowledged by the broker
        time.sleep(0.05)
    c.disconnect()
    c.loop_stop()
    done.put(sent)


def accepted(dsn: str, everything: bool = False) -> int:
    """Readings stored (or, with ``everything``, stored + refused) so far."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT sum(n) FILTER (WHERE reason = 'accepted'), sum(n) FROM monitoring.ingest_counters"
                           ).fetchone()
    return int(row[1 if everything else 0] or 0)


def start_workers(env: dict, k: int, tag: str) -> list[subprocess.Popen]:
    procs = []
    for w in range(k):
        log = tempfile.NamedTemporaryFile(prefix=f"ingest-{tag}-{w}-", suffix=".log", delete=False)
        procs.append(subprocess.Popen([sys.executable, "-m", "gis_service.cli", "ingest", "--client-id",
                                       f"bench-{tag}-{w}", "--batch", "5000", "--report", "5"],
                                      env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT))
        procs[-1].logfile = log.name  # type: ignore[attr-defined]
        _wait_subscribed(procs[-1])
    return procs


def _wait_subscribed(p) -> None:
    deadline = time.time() + 60
    while b"subscribed" not in Path(p.logfile).read_bytes():
        if p.poll() is not None or time.time() > deadline:
            raise RuntimeError("worker did not start: " + Path(p.logfile).read_text()[-2000:])
        time.sleep(0.1)


def stop(procs) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=60)
        os.unlink(p.logfile)


def publish(url, topic, sensors, alarm_sensors, n, rate, seconds, procs=2) -> int:
    q: mp.Queue = mp.Queue()
    parts = np.array_split(np.array(sensors), procs)
    alarm_parts = np.array_split(np.array(alarm_sensors, dtype=int), procs) if alarm_sensors else [[]] * procs
    ps = [mp.Process(target=publisher, args=(url, topic, [int(x) for x in parts[j]], [int(x) for x in alarm_parts[j]],
                                             n // procs if n else 0, rate / procs if rate else 0, seconds, q))
          for j in range(procs)]
    for p in ps:
        p.start()
    total = sum(q.get(timeout=600) for _ in ps)
    for p in ps:
        p.join()
    return total


def drain(dsn: str, url: str, sensors: list[int], n: int, workers: int) -> dict:
    PgReadings(dsn).drop()
    PgReadings(dsn).init()
    topic = f"bench{uuid.uuid4().hex[:6]}/readings"
    env = {"GIS_STORE": "postgis", "GIS_DATABASE_URL": dsn.replace("postgresql://", "postgresql+psycopg://"),
           "GIS_MQTT_URL": url, "GIS_MQTT_TOPIC": topic, "GIS_MQTT_GROUP": "bench", "GIS_LOG_LEVEL": "WARNING"}
    stop(start_workers(env, workers, f"d{workers}"))          # sessions + shared subscriptions exist, offline
    t = time.perf_counter()
    sent = publish(url, topic, sensors, [], n, 0, 0)
    pub_s = time.perf_counter() - t
    procs = start_workers(env, workers, f"d{workers}")
    samples = []
    deadline = time.time() + 600
    while time.time() < deadline:
        a = accepted(dsn)
        samples.append((time.perf_counter(), a))
        if a >= sent or accepted(dsn, everything=True) >= sent:
            break
        time.sleep(0.1)
    stop(procs)
    with psycopg.connect(dsn, autocommit=True) as conn:
        refused = dict(conn.execute("SELECT reason, n FROM monitoring.ingest_counters WHERE reason <> 'accepted'"
                                    ).fetchall())
    first = next(t for t, a in samples if a > 0)
    last_t, last_a = samples[-1]
    return {"workers": workers, "sent": sent, "stored": last_a, "publish_rate": sent / pub_s,
            "rate": last_a / max(1e-9, last_t - first), "refused": refused}


class SSEClient(threading.Thread):
    def __init__(self, base: str):
        super().__init__(daemon=True)
        self.host, self.port = base.replace("http://", "").split(":")
        self.latencies: list[float] = []
        self.ready = threading.Event()

    def run(self) -> None:
        conn = http.client.HTTPConnection(self.host, int(self.port), timeout=600)
        conn.request("GET", "/monitoring/alarms/stream", headers={"Accept": "text/event-stream"})
        r = conn.getresponse()
        self.ready.set()
        while True:
            line = r.fp.readline()
            if not line:
                return
            if line.startswith(b"data: "):
                doc = json.loads(line[6:])
                if doc.get("reading_time"):
                    self.latencies.append(time.time() - doc["reading_time"])


def live(dsn: str, url: str, sensors: list[int], rate: float, seconds: float, n_alarm: int) -> dict:
    PgReadings(dsn).drop()
    PgReadings(dsn).init()
    topic = f"bench{uuid.uuid4().hex[:6]}/readings"
    env = {"GIS_STORE": "postgis", "GIS_DATABASE_URL": dsn.replace("postgresql://", "postgresql+psycopg://"),
           "GIS_MQTT_URL": url, "GIS_MQTT_TOPIC": topic, "GIS_MQTT_GROUP": "bench", "GIS_LOG_LEVEL": "WARNING"}
    alarm_sensors, normal = sensors[:n_alarm], sensors[n_alarm:]
    procs = start_workers(env, 1, "live")
    with ServerProcess({**env, "GIS_API_KEYS": "", "GIS_READ_REQUIRES_KEY": "false"}) as srv:
        sse = SSEClient(srv.url)
        sse.start()
        sse.ready.wait(30)
        samples = []
        done = threading.Event()

        def sample():
            while not done.is_set():
                samples.append((time.perf_counter(), accepted(dsn)))
                time.sleep(0.25)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        sent = publish(url, topic, normal, alarm_sensors, 0, rate, seconds)
        t_end = time.time() + 30
        while time.time() < t_end and accepted(dsn) < sent:
            time.sleep(0.2)
        time.sleep(1.0)
        done.set()
        sampler.join()
    stop(procs)
    ts = np.array([t for t, _ in samples])
    ns = np.array([a for _, a in samples])
    win = (ts >= ts[0] + 2) & (ts <= ts[0] + seconds - 1)
    steady = (ns[win][-1] - ns[win][0]) / (ts[win][-1] - ts[win][0]) if win.sum() > 2 else float("nan")
    lat = np.array(sse.latencies)
    return {"sent": sent, "stored": int(ns[-1]), "steady_rate": steady, "offered": sent / seconds,
            "events": len(lat), "p50": float(np.percentile(lat, 50)) if len(lat) else float("nan"),
            "p99": float(np.percentile(lat, 99)) if len(lat) else float("nan")}


def plain_copy(dsn: str, n: int, sensors: list[int]) -> float:
    PgReadings(dsn).drop()
    PgReadings(dsn).init()
    rng = np.random.default_rng(3)
    now = time.time()
    s = np.array(sensors)[rng.integers(0, len(sensors), n)]
    t = now - 60 + np.arange(n) * 1e-4
    data = copy_buffer(s.astype(np.int64), t, rng.uniform(0, 20, n), np.zeros(n, dtype=np.int16))
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        t0 = time.perf_counter()
        with cur.copy("COPY monitoring.readings (sensor_id, t, value, quality) FROM STDIN (FORMAT BINARY)") as cp:
            cp.write(data)
        conn.commit()
        return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/gis_bench_ingest")
    ap.add_argument("--sensors", type=int, default=10_000)
    ap.add_argument("--readings", type=int, default=200_000, help="drain run size")
    ap.add_argument("--rate", type=float, default=3_000, help="live run: offered readings/s")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--alarm-sensors", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--small", action="store_true")
    args = ap.parse_args()
    if args.small:
        args.sensors, args.readings, args.rate, args.seconds = 2000, 30_000, 3000, 8
    ensure_db(args.dsn)
    load_sensors(args.dsn.replace("postgresql://", "postgresql+psycopg://"), args.sensors)
    sensors = list(range(1, args.sensors + 1))
    broker = OwnMosquitto()
    broker.start()
    try:
        results = {}
        for k in (1, 2):
            runs = [drain(args.dsn, broker.url, sensors, args.readings, k) for _ in range(args.rounds)]
            results[k] = runs
            print(f"drain, {k} worker(s): {statistics.median(r['rate'] for r in runs):,.0f} readings/s stored "
                  f"({runs[0]['stored']:,} of {runs[0]['sent']:,}, refused {runs[0]['refused']}; publishers put "
                  f"{runs[0]['publish_rate']:,.0f}/s into the broker)", flush=True)
        copy_rate = statistics.median(plain_copy(args.dsn, args.readings, sensors) for _ in range(max(1, args.rounds)))
        print(f"plain COPY of the same {args.readings:,} rows: {copy_rate:,.0f} rows/s")
        one = statistics.median(r["rate"] for r in results[1])
        two = statistics.median(r["rate"] for r in results[2])
        print(f"ratio ingest/COPY: 1 worker {one / copy_rate:.2f}, 2 workers {two / copy_rate:.2f}; "
              f"2 workers / 1 worker {two / one:.2f}")
        lv = live(args.dsn, broker.url, sensors, args.rate, args.seconds, args.alarm_sensors)
        print(f"live, 1 worker, offered {lv['offered']:,.0f}/s: steady {lv['steady_rate']:,.0f} readings/s stored "
              f"({lv['stored']:,} of {lv['sent']:,}); alarm latency publish→SSE over {lv['events']} events: "
              f"p50 {lv['p50'] * 1000:.0f} ms, p99 {lv['p99'] * 1000:.0f} ms")
    finally:
        broker.destroy()


if __name__ == "__main__":
    main()
