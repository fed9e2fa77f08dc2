"""The hub's in-flight window on the real broker: it may hold a batch's worth of messages unacked.

Mosquitto gives every client ``max_inflight_messages`` (100 in our config, which suits a node)
unless the client's CONNECT says otherwise (MQTT 5 Receive Maximum). The hub says its
``ingest_batch_size``: while it commits a batch, the broker goes on sending it messages up to
that many, instead of holding all but 100 back.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.metrics import HubMetrics
from hub.settings import Settings
from hub.sync.ingest.classify import Incoming
from hub.sync.mqtt import HubLink
from protocol import TopicKind, node_topic
from tests.hub.conftest import hub_settings
from tests.hub.helpers import wait_for
from tests.support.broker import Probe, TestBroker

UNACKED = 300  # more than the broker's own max_inflight_messages (100)


@pytest.fixture
def link(broker: TestBroker) -> Iterator[tuple[HubLink, list[Incoming]]]:
    settings: Settings = hub_settings("sqlite:///unused.db", broker, ingest_batch_size=1000)
    received: list[Incoming] = []
    hub = HubLink(settings, HubMetrics(), on_message=received.append)  # never acks
    hub.start()
    try:
        wait_for(lambda: hub.connected, 10, "the hub connected")
        yield hub, received
    finally:
        hub.stop()


def test_the_broker_sends_the_hub_a_batch_worth_of_messages_before_any_ack(
        broker: TestBroker, link: tuple[HubLink, list[Incoming]]) -> None:
    _hub, received = link
    node = Probe(broker.node_creds("window-a", "n1"))
    try:
        topic = node_topic("window-a", "n1", TopicKind.EVENTS)

        def published_and_heard() -> bool:  # the hub's SUBACK may still be on its way
            node.publish(topic, "probe", qos=1)
            return any(m.payload == b"probe" for m in received)
        wait_for(published_and_heard, 10, "the hub hears the node")
        for n in range(UNACKED):
            node.publish(topic, f"event {n}", qos=1)

        def events() -> list[bytes]:  # (a probe still on its way may come among them)
            return [m.payload for m in received if m.payload != b"probe"]
        # none of them is acked: with the broker's window the hub would hold 100 at most
        wait_for(lambda: len(events()) >= UNACKED, 10, f"{UNACKED} unacked messages at the hub")
        assert events() == [f"event {n}".encode() for n in range(UNACKED)]
    finally:
        node.close()

