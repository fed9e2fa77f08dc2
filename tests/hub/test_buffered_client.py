"""The hub's block-reading paho client against the real broker: every message, whole, in order."""

from __future__ import annotations

import gc
import socket
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
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
        assert hub.framed > 0  # packets that shared a block were framed in one step
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
    mids: list[int] = []
    hub = _hub_taking_ten(broker, lambda message: mids.append(message.mid), manual_ack=True)
    node = _node(broker.node_creds("store-a", "n1"))
    try:
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


def _hub_taking_ten(broker: TestBroker, on_message: Callable[[mqtt.MQTTMessage], object],
                    manual_ack: bool) -> BufferedClient:
    """A hub client subscribed to events that takes at most 10 unacked messages (its receive
    maximum: the broker sends more only once PUBACKs have arrived), its loop started."""
    creds = broker.hub_creds()
    hub = BufferedClient(CallbackAPIVersion.VERSION2, client_id=creds.client_id,
                         protocol=mqtt.MQTTv5, manual_ack=manual_ack)
    hub.username_pw_set(creds.username, creds.password)
    subscribed = threading.Event()
    hub.on_message = lambda _c, _u, message: on_message(message)
    hub.on_connect = lambda c, *_a: c.subscribe(subscription(TopicKind.EVENTS), qos=1)
    hub.on_subscribe = lambda *_a: subscribed.set()
    at_most = Properties(PacketTypes.CONNECT)
    at_most.ReceiveMaximum = 10
    hub.connect(creds.host, creds.port, properties=at_most)
    hub.loop_start()
    assert subscribed.wait(10), "the hub client never subscribed"
    return hub


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


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, byte = n >> 7, n & 127
        out.append(byte | (128 if n else 0))
        if not n:
            return bytes(out)


def _publish(topic: str, payload: bytes, qos: int = 1, mid: int = 1, props: bytes = b"",
             retain: bool = False, dup: bool = False) -> bytes:
    """An MQTT 5 PUBLISH as the broker sends it (``props``: the properties, without length)."""
    name = topic.encode()
    body = (len(name).to_bytes(2, "big") + name + (mid.to_bytes(2, "big") if qos else b"")
            + _varint(len(props)) + props + payload)
    return bytes([0x30 | dup << 3 | qos << 1 | retain]) + _varint(len(body)) + body


def _utf8(text: str) -> bytes:
    return len(text.encode()).to_bytes(2, "big") + text.encode()


def _wired() -> tuple[BufferedClient, socket.socket, list[mqtt.MQTTMessage]]:
    """A client reading one end of a socket pair (the test writes the broker's bytes)."""
    client = BufferedClient(CallbackAPIVersion.VERSION2, client_id="hub-t", protocol=mqtt.MQTTv5,
                            manual_ack=True)
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    client._sock = ours
    got: list[mqtt.MQTTMessage] = []
    client.on_message = lambda _c, _u, message: got.append(message)
    return client, theirs, got


def test_packets_in_one_block_are_framed_at_once_and_read_as_paho_reads_them() -> None:
    client, broker_end, got = _wired()
    props = (b"\x02" + (3600).to_bytes(4, "big") + b"\x03" + _utf8("application/json")
             + b"\x26" + _utf8("trace") + _utf8("t-1"))
    packets = [
        _publish("a/1", b"first", mid=1),  # read paho's way: the buffer was empty
        _publish("a/2", b"", mid=2),  # an empty payload
        _publish("a/3", b"qos0", qos=0, retain=True),
        _publish("a/4", b"x" * 200, mid=4, dup=True),  # a two-byte remaining length
        _publish("a/5", b"p", mid=5, props=props),  # properties: paho's decoding
        _publish("a/6", b"y" * 20_000, mid=6),  # three bytes of remaining length
    ]
    broker_end.sendall(b"".join(packets))
    try:
        assert client.loop_read() == MQTTErrorCode.MQTT_ERR_SUCCESS
        assert [(m.topic, m.payload, m.qos, m.mid, m.retain, m.dup) for m in got] == [
            ("a/1", b"first", 1, 1, False, False), ("a/2", b"", 1, 2, False, False),
            ("a/3", b"qos0", 0, 0, True, False), ("a/4", b"x" * 200, 1, 4, False, True),
            ("a/5", b"p", 1, 5, False, False), ("a/6", b"y" * 20_000, 1, 6, False, False)]
        assert client.framed == 5  # all but the first, which filled the buffer
        with_props = got[4].properties
        assert with_props is not None and with_props.MessageExpiryInterval == 3600
        assert with_props.ContentType == "application/json"
        assert with_props.UserProperty == [("trace", "t-1")]
        assert [m.properties for m in got[1:4]] == [None, None, None]  # none were sent
        assert client.buffered == 0
    finally:
        broker_end.close()
        client._sock_close()


def test_a_packet_split_between_reads_is_completed_by_the_next() -> None:
    client, broker_end, got = _wired()
    whole = _publish("a/1", b"one", mid=1) + _publish("a/2", b"two" * 1000, mid=2)
    cut = len(whole) - 1500  # inside the second packet's body
    try:
        broker_end.sendall(whole[:cut])
        assert client.loop_read() == MQTTErrorCode.MQTT_ERR_SUCCESS
        assert [m.payload for m in got] == [b"one"]
        broker_end.sendall(whole[cut:])
        assert client.loop_read() == MQTTErrorCode.MQTT_ERR_SUCCESS
        assert [m.payload for m in got] == [b"one", b"two" * 1000]
    finally:
        broker_end.close()
        client._sock_close()


def test_what_is_read_in_one_step_is_pubacked_unless_acks_are_manual() -> None:
    client, broker_end, got = _wired()
    client._manual_ack = False
    broker_end.sendall(_publish("a/1", b"1", mid=7) + _publish("a/2", b"2", mid=8)
                       + _publish("a/3", b"3", qos=0) + _publish("a/4", b"4", mid=300))
    try:
        assert client.loop_read() == MQTTErrorCode.MQTT_ERR_SUCCESS
        assert client.framed == 3 and len(got) == 4
        assert client.loop_write() == MQTTErrorCode.MQTT_ERR_SUCCESS
        broker_end.settimeout(5)
        sent = b""
        while len(sent) < 12:
            sent += broker_end.recv(100)
        assert sent == b"".join(bytes([0x40, 2]) + mid.to_bytes(2, "big") for mid in (7, 8, 300))
    finally:
        broker_end.close()
        client._sock_close()


def test_a_remaining_length_of_five_bytes_is_refused_as_paho_refuses_it() -> None:
    client, broker_end, got = _wired()
    broker_end.sendall(_publish("a/1", b"fine") + b"\x30\xff\xff\xff\xff\x01rest")
    try:
        assert client.loop_read() == MQTTErrorCode.MQTT_ERR_PROTOCOL
        assert [m.payload for m in got] == [b"fine"]
    finally:
        broker_end.close()


def test_a_client_that_does_not_ack_by_hand_pubacks_what_it_reads_in_one_step(
        broker: TestBroker) -> None:
    # at most 10 unacked messages (the receive maximum): 100 arrive only if each is PUBACKed
    got: list[bytes] = []
    hub = _hub_taking_ten(broker, lambda message: got.append(bytes(message.payload)),
                          manual_ack=False)
    node = _node(broker.node_creds("store-a", "n1"))
    try:
        topic = node_topic("store-a", "n1", TopicKind.EVENTS)
        for n in range(100):
            node.publish(topic, f"event-{n}".encode(), qos=1)
        _wait(lambda: len(got) == 100, "all 100 messages")
        assert got == [f"event-{n}".encode() for n in range(100)]
    finally:
        node.disconnect()
        node.loop_stop()
        hub.disconnect()
        hub.loop_stop()


def _written(theirs: socket.socket) -> bytes:
    """What the client wrote to its end of the pair so far."""
    theirs.setblocking(False)
    out = b""
    while True:
        try:
            chunk = theirs.recv(65536)
        except BlockingIOError:
            return out
        if not chunk:
            return out
        out += chunk


def test_pubacks_and_quick_publishes_in_one_wake_leave_as_one_write_of_pahos_own_bytes() -> None:
    client, theirs, _got = _wired()
    paho_way, paho_theirs, _ = _wired()
    topic = node_topic("store-a", "n1", TopicKind.ACKS)
    ack = b'{"id":"x","kind":"ack","body":{"up_to_seq":7}}'
    try:
        with client.one_wake():
            client.ack(5, 1)
            assert client.publish_quick(topic, ack, retain=True)
            assert client.publish_quick(topic + "x", b"", retain=False)
            client.ack(300, 1)
            assert _written(theirs) == b""  # nothing before the block ends
            assert len(client._out_packet) == 0
        assert len(client._out_packet) == 0  # queued as one record, written at once (no loop)
        for mid in (5, 300):  # what paho itself sends for the same calls
            paho_way._send_puback(mid)
        paho_way.publish(topic, ack, qos=0, retain=True)
        paho_way.publish(topic + "x", b"", qos=0, retain=False)
        expected = _written(paho_theirs)
        first, second, publishes = expected[:4], expected[4:8], expected[8:]
        assert _written(theirs) == first + publishes + second  # in the order they were made
        assert publishes.startswith(_publish(topic, ack, qos=0, retain=True))
    finally:
        for end in (theirs, paho_theirs):
            end.close()
        client._sock_close()
        paho_way._sock_close()


def test_what_one_wake_gathered_for_a_connection_that_changed_is_dropped() -> None:
    client, theirs, _got = _wired()
    ours, later = socket.socketpair()
    try:
        with client.one_wake():
            client.ack(5, 1)
            assert client.publish_quick(node_topic("store-a", "n1", TopicKind.ACKS), b"{}", True)
            first = client._sock
            ours.setblocking(False)
            client._sock = ours  # a reconnect inside the block: a new socket
        assert _written(theirs) == b"" and _written(later) == b""
        assert len(client._out_packet) == 0
        client._sock = None  # not connected: a quick publish says so
        with client.one_wake():
            assert not client.publish_quick(node_topic("store-a", "n1", TopicKind.ACKS), b"{}")
    finally:
        for sock in (theirs, later, ours, first):
            sock.close()


def test_receiving_messages_leaves_no_reference_cycle_to_collect(broker: TestBroker) -> None:
    # paho's topic matcher made a cycle (a recursive closure) per message: 500 messages left
    # about 3,000 objects for the cyclic collector
    count = 500
    got: list[bytes] = []
    done = threading.Event()
    hub = _hub(broker.hub_creds(), got, done, count)
    node = _node(broker.node_creds("store-a", "n1"))
    gc.collect()
    gc.disable()
    try:
        topic = node_topic("store-a", "n1", TopicKind.EVENTS)
        for n in range(count):
            node.publish(topic, f"event {n}".encode(), qos=1)
        assert done.wait(30), f"{len(got)} of {count} messages arrived"
        assert gc.collect() < count // 5  # the test's own threads leave a little
    finally:
        gc.enable()
        node.disconnect()
        node.loop_stop()
        hub.disconnect()
        hub.loop_stop()


def test_a_per_topic_callback_still_gets_its_messages(broker: TestBroker) -> None:
    got: list[bytes] = []
    done = threading.Event()
    hub = _hub(broker.hub_creds(), [], threading.Event(), 1)
    topic = node_topic("store-a", "n1", TopicKind.EVENTS)

    def on_topic(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        got.append(bytes(message.payload))
        done.set()

    hub.message_callback_add(topic, on_topic)
    node = _node(broker.node_creds("store-a", "n1"))
    try:
        node.publish(topic, b"for the callback", qos=1)
        assert done.wait(10) and got == [b"for the callback"]
    finally:
        node.disconnect()
        node.loop_stop()
        hub.disconnect()
        hub.loop_stop()
