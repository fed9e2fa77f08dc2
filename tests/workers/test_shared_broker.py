"""What Mosquitto does with a shared subscription whose member dies (the facts ``hub.sync.mqtt``
is built on): with a session that outlives the connection the dead member keeps its turn and
its messages are lost to the group; with a session that ends with the connection the others
get everything at once. Either way what the dead member held unacked is not handed on (the
nodes' resends cover that)."""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hub.sync.mqtt import SESSION_ENDS_WITH_CONNECTION, SESSION_NEVER_EXPIRES, shared_subscriptions
from tests.support.broker import MqttCreds, TestBroker
from tests.workers.conftest import wait_for, worker_creds

TOPIC = "acorn/v1/stores/s1/nodes/n1/events"


class Member:
    """A hub worker's MQTT side, reduced to its subscription (acking, or holding everything)."""

    def __init__(self, creds: MqttCreds, expiry: int, acks: bool) -> None:
        self.got: list[bytes] = []
        self._acks = acks
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=creds.client_id or "",
                                  protocol=mqtt.MQTTv5, manual_ack=True)
        self.client.username_pw_set(creds.username, creds.password)
        self.client.on_connect = lambda c, *_: c.subscribe(shared_subscriptions())
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = expiry
        self.client.connect(creds.host, creds.port, clean_start=expiry == 0, properties=props)
        self.client.loop_start()
        assert self._subscribed.wait(10)

    def _on_message(self, client: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        self.got.append(bytes(message.payload))
        if self._acks:
            client.ack(message.mid, message.qos)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def die(self) -> None:
        """Vanish as a SIGKILLed process does: the socket closes, no DISCONNECT."""
        self.client.loop_stop()
        sock = self.client.socket()
        if sock is not None:
            sock.close()


def _publish(broker: TestBroker, numbers: range) -> None:
    node = broker.node_creds("s1", "n1")
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=node.client_id or "")
    client.username_pw_set(node.username, node.password)
    client.connect(node.host, node.port)
    client.loop_start()
    try:
        for n in numbers:
            client.publish(TOPIC, f"m{n}".encode(), qos=1).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


@pytest.mark.parametrize("expiry", [SESSION_ENDS_WITH_CONNECTION, SESSION_NEVER_EXPIRES])
def test_a_dead_member_of_the_shared_group(broker: TestBroker, expiry: int) -> None:
    # both identities first: changing the hub role's ACLs makes dynsec kick its clients
    one, two = (worker_creds(broker, f"{w}-{secrets.token_hex(3)}") for w in ("w1", "w2"))
    alive = Member(one, expiry, acks=True)
    dying = Member(two, expiry, acks=False)
    try:
        _publish(broker, range(10))
        wait_for(lambda: len(alive.got) + len(dying.got) == 10, 10, "the first ten delivered")
        assert alive.got and dying.got  # round robin: both members get some
        held = set(dying.got)
        dying.die()
        time.sleep(0.5)  # the broker sees the closed socket
        _publish(broker, range(10, 20))
        later = {f"m{n}".encode() for n in range(10, 20)}
        if expiry == SESSION_ENDS_WITH_CONNECTION:
            wait_for(lambda: later <= set(alive.got), 10, "every later message at the survivor")
        else:
            time.sleep(1.0)
            assert 0 < len(later & set(alive.got)) < len(later)  # the dead one keeps its turn
        assert not held & set(alive.got)  # what the dead member held is not handed on
    finally:
        alive.close()
        dying.close()
