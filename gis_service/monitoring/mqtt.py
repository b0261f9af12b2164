"""The ``gis-service ingest`` worker: MQTT (v5, QoS 1) → batches → the reading store.

Delivery guarantee: a message is acknowledged (PUBACK) only after the batch holding it is committed
(``manual_ack``), so a reading the broker accepted is either stored or still owned by the broker.

* Session: a fixed client id with ``clean_start=False`` and a session expiry, so after a broker restart
  (with persistence) or a network cut the broker redelivers what was not acknowledged. Messages received
  on an earlier connection are stored but not acknowledged (their packet ids belong to the old
  connection); their redelivered copies are recognised by the (sensor, time) key and acknowledged.
* Bounded buffer: the CONNECT property Receive Maximum = ``buffer`` caps the unacknowledged messages the
  broker sends us, so when the database is down the buffer fills to that bound, the worker retries the
  commit with back-off, and the broker holds the rest.
* Scale-out: with ``group`` set, the subscription is the MQTT v5 shared subscription
  ``$share/{group}/{prefix}/+``: the broker spreads the readings over every worker of the group. Each
  worker needs its own client id.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from .ingest import Pipeline
from .storebase import MonitoringUnavailable

log = logging.getLogger("gis_service.monitoring.ingest")


def broker_address(url: str) -> tuple[str, int]:
    u = urlparse(url)
    if u.scheme not in ("mqtt", "tcp", ""):
        raise ValueError(f"GIS_MQTT_URL: scheme must be mqtt:// (got {url!r})")
    return u.hostname or "127.0.0.1", u.port or 1883


@dataclass
class WorkerStats:
    received: int = 0
    stored: int = 0
    acked: int = 0
    batches: int = 0
    retries: int = 0
    connects: int = 0
    sessions_resumed: int = 0   # connects on which the broker still had our session (subscription, in-flight)
    rejected: Counter = field(default_factory=Counter)
    alarm_ops: int = 0


class IngestWorker:
    def __init__(self, pipeline: Pipeline, url: str, topic: str, group: str = "", client_id: str = "riskmap-ingest-1",
                 batch: int = 5000, flush_s: float = 0.05, buffer: int = 20000, session_expiry_s: int = 86400,
                 stale_every_s: float = 30.0, maintain_every_s: float = 3600.0, escalate_every_s: float = 5.0):
        self.pipeline = pipeline
        self.host, self.port = broker_address(url)
        self.subscription = f"$share/{group}/{topic}/+" if group else f"{topic}/+"
        self.client_id, self.batch, self.flush_s, self.buffer = client_id, batch, flush_s, buffer
        self.session_expiry_s = session_expiry_s
        self.stale_every_s, self.maintain_every_s = stale_every_s, maintain_every_s
        self.escalate_every_s = escalate_every_s   # unacknowledged alarms go up with no API stream open
        self.stats = WorkerStats()
        self._queue: deque = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._gen = 0
        self._connected = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                                  manual_ack=True)
        self.client.reconnect_delay_set(1, 5)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    # -- network thread ----------------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason, properties):
        if reason.is_failure:
            log.warning("MQTT connect refused: %s", reason)
            return
        self._gen += 1
        self.stats.connects += 1
        self.stats.sessions_resumed += bool(flags.session_present)
        if not flags.session_present:
            client.subscribe(self.subscription, qos=1)
        log.info("MQTT connected to %s:%s (session %s), subscribed to %s", self.host, self.port,
                 "resumed" if flags.session_present else "new", self.subscription)
        self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason, properties):
        self._gen += 1   # packet ids of the old connection must not be acknowledged on the new one
        self._connected.clear()
        if not self._stop.is_set():
            log.warning("MQTT disconnected (%s); reconnecting", reason)

    def _on_message(self, client, userdata, msg):
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            topic = ""
        self._queue.append((self._gen, msg.mid, msg.qos, topic, msg.payload))
        self.stats.received += 1
        if len(self._queue) >= self.batch:
            self._wake.set()

    # -- writer thread -----------------------------------------------------------------------
    def _take(self) -> list:
        n = min(len(self._queue), self.batch)
        return [self._queue.popleft() for _ in range(n)]

    def _store(self, items: list) -> None:
        delay = 0.2
        while True:
            try:
                result = self.pipeline.messages([(it[3], it[4]) for it in items])
                break
            except MonitoringUnavailable as exc:
                self.stats.retries += 1
                log.warning("store unavailable (%s); %d readings held, retry in %.1f s", exc, len(items), delay)
                if self._stop.wait(delay):
                    raise
                delay = min(delay * 2, 5.0)
        self.stats.batches += 1
        self.stats.stored += result.written
        self.stats.alarm_ops += len(result.ops)
        self.stats.rejected.update(result.rejected)
        if result.rejected:
            log.info("dropped %s", dict(result.rejected))
        gen = self._gen
        for g, mid, qos, _, _ in items:
            if g == gen and qos > 0:
                self.client.ack(mid, qos)
                self.stats.acked += 1

    def _housekeeping(self, last: dict[str, float]) -> None:
        now = time.monotonic()
        try:
            if now - last["stale"] >= self.stale_every_s:
                last["stale"] = now
                ops = self.pipeline.stale_check()
                if ops:
                    log.info("stale sensors: %d alarm(s) opened", len(ops))
            if now - last.get("escalate", 0.0) >= self.escalate_every_s:
                last["escalate"] = now
                events = self.pipeline.escalate()
                if events:
                    log.info("alarms escalated: %d step(s)", len(events))
            if now - last["maintain"] >= self.maintain_every_s:
                last["maintain"] = now
                log.info("retention: %s", self.pipeline.readings.maintain(
                    self.pipeline.settings.monitoring_retention_days, time.time()))
        except MonitoringUnavailable as exc:
            log.warning("housekeeping skipped: %s", exc)

    def run_writer(self) -> None:
        last = {"stale": time.monotonic(), "maintain": 0.0}
        while not self._stop.is_set():
            if len(self._queue) < self.batch:
                self._wake.wait(self.flush_s)
                self._wake.clear()
            items = self._take()
            if items:
                try:
                    self._store(items)
                except MonitoringUnavailable:
                    break  # stopping while the store is down: the broker keeps the unacknowledged
            self._housekeeping(last)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.session_expiry_s
        props.ReceiveMaximum = min(self.buffer, 65535)
        self.client.connect_async(self.host, self.port, keepalive=15, clean_start=False, properties=props)
        self.client.loop_start()
        self._writer = threading.Thread(target=self.run_writer, name="ingest-writer", daemon=True)
        self._writer.start()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def stop(self, drain_s: float = 5.0) -> None:
        deadline = time.monotonic() + drain_s
        while self._queue and time.monotonic() < deadline:
            time.sleep(0.02)
        self._stop.set()
        self._wake.set()
        self._writer.join(timeout=10)
        self.client.disconnect()
        self.client.loop_stop()


def run(pipeline: Pipeline, settings, client_id: str, batch: int, seconds: float | None = None,
        group: str | None = None, report_every_s: float = 10.0, echo=print) -> WorkerStats:
    """Run a worker until interrupted (or for ``seconds``), printing a line of counters periodically."""
    worker = IngestWorker(pipeline, settings.mqtt_url, settings.mqtt_topic,
                          settings.mqtt_group if group is None else group, client_id=client_id, batch=batch,
                          escalate_every_s=settings.alarm_escalate_every_s)
    worker.start()
    t0 = time.monotonic()
    try:
        while seconds is None or time.monotonic() - t0 < seconds:
            time.sleep(min(report_every_s, max(0.05, (seconds or 1e9) - (time.monotonic() - t0))))
            s = worker.stats
            echo(f"received {s.received}  stored {s.stored}  acked {s.acked}  batches {s.batches}  "
                 f"alarm changes {s.alarm_ops}  retries {s.retries}  dropped {dict(s.rejected)}")
    except KeyboardInterrupt:
        pass
    finally:
        worker.stop()
    return worker.stats
