"""A private Mosquitto (with dynamic security) per test, and per-identity credentials."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hub.fleet.acl import HUB_CLIENT_ID, node_client_id
from hub.fleet.local_broker import LocalBroker
from tests.support.ports import free_port


@dataclass(frozen=True)
class MqttCreds:
    """Where and as whom to connect; ``client_id`` is the one the broker binds the user to."""

    host: str
    port: int
    username: str
    password: str
    client_id: str | None = None  # None: unbound (the dynsec admin)


class TestBroker:
    """A real mosquitto on a free loopback port, stopped after the test."""

    __test__ = False  # not a test class

    def __init__(self, state_dir: Path) -> None:
        self.local = LocalBroker(state_dir, port=free_port())
        self.local.prepare()
        self.local.start()

    @property
    def host(self) -> str:
        return self.local.host

    @property
    def port(self) -> int:
        return self.local.port

    def hub_creds(self, client_id: str = HUB_CLIENT_ID) -> MqttCreds:
        """Provision (idempotently) and return the hub's credentials, bound to ``client_id``."""
        password = secrets.token_urlsafe(12)
        with self.local.admin() as admin:
            username = admin.provision_hub(password, client_id=client_id)
        return MqttCreds(self.host, self.port, username, password, client_id)

    def node_creds(self, store_id: str, node_id: str) -> MqttCreds:
        """Provision (idempotently) and return one edge node's credentials."""
        password = secrets.token_urlsafe(12)
        with self.local.admin() as admin:
            username = admin.provision_node(store_id, node_id, password)
        return MqttCreds(self.host, self.port, username, password,
                         node_client_id(store_id, node_id))

    def admin_creds(self) -> MqttCreds:
        """The dynamic-security admin (may read every topic; for observing in tests)."""
        return MqttCreds(self.host, self.port, self.local.admin_user, self.local.admin_password)

    def stop(self) -> None:
        self.local.stop()

    def kill(self) -> None:
        self.local.kill()

    def start(self) -> None:
        self.local.start()


def broker_fixture(tmp_path: Path) -> Iterator[TestBroker]:
    """Body of the ``broker`` fixture (see tests/conftest.py)."""
    broker = TestBroker(tmp_path / "mosquitto")
    try:
        yield broker
    finally:
        broker.kill()


class Probe:
    """A plain paho client for tests: connect as someone, publish, subscribe, collect.

    It connects with the client id its credentials are bound to (a random one for the unbound
    admin) unless told another; ``expect_refusal`` returns after a refused CONNACK instead of
    raising, and stops paho from retrying, so a test can read ``connect_reason``.
    """

    def __init__(self, creds: MqttCreds, client_id: str | None = None,
                 expect_refusal: bool = False) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or creds.client_id or f"probe-{secrets.token_hex(4)}",
        )
        self._expect_refusal = expect_refusal
        self.client.username_pw_set(creds.username, creds.password)
        self.messages: list[mqtt.MQTTMessage] = []
        self.got = threading.Event()
        self.connect_reason: Any = None
        self.suback: list[Any] = []
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.connect(creds.host, creds.port)
        self.client.loop_start()
        if not self._connected.wait(10):
            raise TimeoutError("probe did not connect")

    @property
    def refused(self) -> bool:
        """True when the broker refused the login."""
        return bool(self.connect_reason is not None and self.connect_reason.is_failure)

    def _on_connect(self, client: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connect_reason = reason
        if reason.is_failure and self._expect_refusal:
            client.disconnect()  # no retries: one refused attempt is what the test wants
        self._connected.set()

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        self.messages.append(message)
        self.got.set()

    def _on_subscribe(self, _c: Any, _u: Any, _mid: Any, reasons: Any, _p: Any) -> None:
        self.suback = list(reasons)
        self._subscribed.set()

    def subscribe(self, topic: str, qos: int = 1) -> list[Any]:
        """Subscribe and return the broker's reason codes."""
        self._subscribed.clear()
        self.client.subscribe(topic, qos=qos)
        if not self._subscribed.wait(10):
            raise TimeoutError("no SUBACK")
        return self.suback

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> None:
        """Publish and wait until the broker has it (QoS 1 PUBACK)."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        # paho closes its wake-up socket pair only in Client.__del__; while the callbacks point
        # back at this probe the two form a cycle, and the garbage collector may then finalise
        # the sockets first (an "unclosed socket" ResourceWarning, an error under our filters).
        self.client.on_connect = self.client.on_message = self.client.on_subscribe = None
