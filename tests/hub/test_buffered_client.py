"""The hub's block-reading paho client against the real broker: every message, whole, in order."""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hub.sync.buffered_client import READ_CHUNK, BufferedClient
from protocol import TopicKind, node_topic, subscription
from tests.support.broker import MqttCreds, TestBroker


def _hub(creds: MqttCreds, got: list[bytes], done: threading.Event, want: int) -> BufferedClient:
    client = BufferedClient(CallbackAPIVersion.VERSION2, client_id=creds.client_id,
                            protocol=mqtt.MQTTv5, manual_ack=True)
    client.username_pw_set(creds.username, creds.password)
    subscribed = threading.Event()

    def on_message(c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        got.append(bytes(message.payload))
        c.ack(message.mid, message.qos)
        if len(got) >= want:
            done.set()

    client.on_message = on_message
    client.on_subscribe = lambda *_a: subscribed.set()
    client.on_connect = lambda c, *_a: c.subscribe(subscription(TopicKind.EVENTS), qos=1)
    client.connect(creds.host, creds.port)
    client.loop_start()
    assert subscribed.wait(10), "the hub client never subscribed"
    return client


def _node(creds: MqttCreds) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=creds.client_id)
    client.username_pw_set(creds.username, creds.password)
    client.max_inflight_messages_set(0)
    client.max_queued_messages_set(0)
    client.connect(creds.host, creds.port)
    client.loop_start()
    return client


def test_many_small_and_some_large_messages_arrive_whole_and_in_order(broker: TestBroker) -> None:
    # small messages share a block; the large ones span several blocks and split packets
    # across two reads, as a storm of events and a counter photo do
    sizes = [40 + n % 300 for n in range(3000)]
    for at in (7, 1500, 2999):
        sizes[at] = READ_CHUNK * 2 + 123
    payloads = [f"{n:06d}:".encode() + bytes([65 + n % 26]) * size for n, size in enumerate(sizes)]
    got: list[bytes] = []
    done = threading.Event()
    hub = _hub(broker.hub_creds(), got, done, len(payloads))
    node = _node(broker.node_creds("store-a", "n1"))
    try:
        topic = node_topic("store-a", "n1", TopicKind.EVENTS)
        for payload in payloads:
            node.publish(topic, payload, qos=1)
        assert done.wait(60), f"{len(got)} of {len(payloads)} messages arrived"
        time.sleep(0.2)  # a duplicate delivery would show up now
        assert got == payloads
        assert hub.buffered == 0
    finally:
        node.disconnect()
        node.loop_stop()
        hub.disconnect()
        hub.loop_stop()


def test_a_new_connection_reads_nothing_left_from_the_old_one(broker: TestBroker) -> None:
    creds = broker.hub_creds()
    hub = BufferedClient(CallbackAPIVersion.VERSION2, client_id=creds.client_id,
                         protocol=mqtt.MQTTv5)
    hub.username_pw_set(creds.username, creds.password)
    got: list[bytes] = []
    subscribed: list[int] = []
    hub.on_message = lambda _c, _u, message: got.append(bytes(message.payload))
    hub.on_connect = lambda c, *_a: c.subscribe(subscription(TopicKind.EVENTS), qos=1)
    hub.on_subscribe = lambda _c, _u, mid, *_a: subscribed.append(mid)
    node = _node(broker.node_creds("store-a", "n1"))
    topic = node_topic("store-a", "n1", TopicKind.EVENTS)

    def loop_until(done: object, what: str) -> None:  # this thread drives the hub's client
        deadline = time.monotonic() + 30
        while not done():  # type: ignore[operator]
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            hub.loop(0.05)

    try:
        hub.connect(creds.host, creds.port)
        loop_until(lambda: len(subscribed) == 1, "the first subscription")
        for n in range(200):
            node.publish(topic, f"first-{n}".encode(), qos=1)
        loop_until(lambda: len(got) == 200, "the first messages")
        # bytes the old socket left half read (a PUBLISH header claiming 256 MB): gone with it
        hub._block, hub._at = b"\x30\xff\xff\xff\x7f stale", 0
        hub.reconnect()
        loop_until(lambda: len(subscribed) == 2, "the second subscription")
        for n in range(200):
            node.publish(topic, f"second-{n}".encode(), qos=1)
        loop_until(lambda: len(got) == 400, "the second messages")
        assert got == [f"first-{n}".encode() for n in range(200)] + [
            f"second-{n}".encode() for n in range(200)]
    finally:
        node.disconnect()
        node.loop_stop()
        hub.disconnect()


def test_acks_inside_one_wake_wake_the_loop_once_and_reach_the_broker_after_it(
        broker: TestBroker) -> None:
    # the hub takes at most 10 unacked messages (its receive maximum): the broker sends more
    # only when its PUBACKs have arrived, which proves they left after the block
    creds = broker.hub_creds()
    hub = BufferedClient(CallbackAPIVersion.VERSION2, client_id=creds.client_id,
                         protocol=mqtt.MQTTv5, manual_ack=True)
    hub.username_pw_set(creds.username, creds.password)
    mids: list[int] = []
    subscribed = threading.Event()
    hub.on_message = lambda _c, _u, message: mids.append(message.mid)  # not acked yet
    hub.on_connect = lambda c, *_a: c.subscribe(subscription(TopicKind.EVENTS), qos=1)
    hub.on_subscribe = lambda *_a: subscribed.set()
    node = _node(broker.node_creds("store-a", "n1"))
    at_most = Properties(PacketTypes.CONNECT)
    at_most.ReceiveMaximum = 10
    try:
        hub.connect(creds.host, creds.port, properties=at_most)
        hub.loop_start()
        assert subscribed.wait(10), "the hub client never subscribed"
        wakes = _count_wakes(hub)
        topic = node_topic("store-a", "n1", TopicKind.EVENTS)
        for n in range(50):
            node.publish(topic, f"event-{n}".encode(), qos=1)
        _wait(lambda: len(mids) == 10, "the first 10 messages")
        time.sleep(0.2)  # (a broker that sent an 11th unasked would be caught here)
        assert len(mids) == 10
        with hub.one_wake():
            for mid in mids:
                hub.ack(mid, 1)
            assert wakes == []  # 10 PUBACKs queued, the loop not woken
        assert wakes == [b"0"]  # once, at the end
        _wait(lambda: len(mids) == 50, "the other 40, sent once the PUBACKs arrived")
        with hub.one_wake():
            for mid in mids[10:]:
                hub.ack(mid, 1)
        assert wakes == [b"0", b"0"]
        hub.ack(mids[0], 1)  # outside the block: paho's own wake, as before
        assert wakes == [b"0"] * 3
    finally:
        node.disconnect()
        node.loop_stop()
        hub.disconnect()
        hub.loop_stop()


def _count_wakes(client: BufferedClient) -> list[bytes]:
    """What is written to ``client``'s wake-up socket from now on (still written through)."""
    sock, wakes = client.__dict__["_wake_socket"], []

    class Counting:
        def send(self, data: bytes) -> int:
            wakes.append(data)
            return int(sock.send(data))

        def close(self) -> None:
            sock.close()

    client._sockpairW = Counting()
    return wakes


def _wait(done: object, what: str) -> None:
    deadline = time.monotonic() + 30
    while not done():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)
