"""A Mosquitto broker of the test's own (temp config, free port, persistence on) that a test may stop and
start — the machine's shared broker is never restarted. Also a small QoS 1 publisher that records which
readings the broker acknowledged (PUBACK)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from conftest import free_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
# Queues unbounded (0): under overload the broker must hold QoS 1 messages, not drop them.
CONF = """listener {port} 127.0.0.1
allow_anonymous true
persistence true
persistence_location {dir}/
autosave_interval 1
max_queued_messages 0
max_inflight_messages 0
log_dest file {dir}/mosquitto.log
"""


def broker_available() -> str | None:
    return None if Path(MOSQUITTO).exists() else f"no mosquitto at {MOSQUITTO} (apt-get install mosquitto)"


class OwnMosquitto:
    def __init__(self, port: int | None = None):
        reason = broker_available()
        if reason:
            pytest.fail(reason)
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="gis_mqtt_"))
        try:
            shutil.chown(self.dir, "mosquitto")   # mosquitto started as root drops to this user
        except (LookupError, PermissionError):
            pass
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text(CONF.format(port=self.port, dir=self.dir))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        import socket

        deadline = time.time() + 10
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        """A clean stop (SIGTERM): the broker writes its persistence file, as a service restart would."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def destroy(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Publisher:
    """QoS 1 publisher (MQTT v5, persistent session) recording the payloads the broker acknowledged."""

    def __init__(self, url: str, client_id: str):
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        from gis_service.monitoring.mqtt import broker_address

        self.host, self.port = broker_address(url)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.reconnect_delay_set(0.1, 2)
        self.client.max_inflight_messages_set(1000)
        self.pending: dict[int, tuple] = {}
        self.acked: list[tuple] = []
        self.early: dict[int, bool] = {}
        self.lock = threading.Lock()
        self.client.on_publish = self._on_publish
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self.client.connect(self.host, self.port, keepalive=10, clean_start=False, properties=props)
        self.client.loop_start()

    def _on_publish(self, client, userdata, mid, reason, properties):
        with self.lock:
            key = self.pending.pop(mid, None)
            if key is None:
                self.early[mid] = not reason.is_failure   # PUBACK before publish() returned
            elif not reason.is_failure:
                self.acked.append(key)

    def publish(self, topic: str, payload: bytes, key) -> None:
        info = self.client.publish(topic, payload, qos=1)
        with self.lock:
            ok = self.early.pop(info.mid, None)
            if ok is None:
                self.pending[info.mid] = key
            elif ok:
                self.acked.append(key)

    def wait_all_acked(self, timeout: float) -> bool:
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if not self.pending:
                    return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
