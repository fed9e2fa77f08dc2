"""The hub tells the broker how many unacked messages it may send (MQTT 5 Receive Maximum), so a
batch can fill while the one before commits: on the real broker, whose ``max_inflight_messages``
(100) holds back every other client, the hub's link takes as many unacked messages as its
setting says, and no more."""

from __future__ import annotations

import time

import pytest

from hub.metrics import HubMetrics
from hub.sync.ingest.classify import Incoming
from hub.sync.mqtt import HubLink
from protocol import TopicKind, node_topic
from tests.hub.conftest import hub_settings
from tests.support.broker import Probe, TestBroker
from tests.workers.conftest import wait_for


@pytest.mark.parametrize("receive_maximum", [300, 40])
def test_the_broker_sends_the_hub_as_many_unacked_messages_as_it_asked_for(
        broker: TestBroker, receive_maximum: int) -> None:
    received: list[Incoming] = []  # handed to ingest; nothing PUBACKs them here
    settings = hub_settings("sqlite:///unused.db", broker, mqtt_receive_maximum=receive_maximum)
    hub = HubLink(settings, HubMetrics(), on_message=received.append)
    node = Probe(broker.node_creds("store-rm", "n1"))
    hub.start()
    try:
        wait_for(lambda: hub.connected, 10, "the hub connected")
        topic = node_topic("store-rm", "n1", TopicKind.EVENTS)
        first = f"probe-{time.monotonic()}".encode()

        def heard() -> bool:  # the subscription may still be on its way: publish until heard
            node.publish(topic, first, qos=0)
            time.sleep(0.05)
            return any(m.payload == first for m in received)
        wait_for(heard, 10, "the hub's subscription")
        for n in range(400):
            node.publish(topic, f"event-{n}".encode(), qos=1)

        def events() -> list[bytes]:  # (a late probe at QoS 0 takes no slot and is left out)
            return [m.payload for m in received if m.payload.startswith(b"event-")]
        wait_for(lambda: len(events()) >= receive_maximum, 20,
                 f"{receive_maximum} unacked messages")
        time.sleep(0.5)  # a broker that sent more than asked would be caught here
        assert events() == [f"event-{n}".encode() for n in range(receive_maximum)]
    finally:
        node.close()
        hub.stop()
