"""A worker's link takes the events of the stores it is told to follow, and no others: what it
stops following the broker no longer sends it (checked on the real broker, with the worker's
own broker identity)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from hub.metrics import HubMetrics
from hub.settings import load_settings
from hub.sync.ingest.classify import Incoming
from hub.sync.mqtt import HubLink
from protocol import TopicKind, node_topic
from tests.support.broker import Probe, TestBroker
from tests.workers.conftest import wait_for, worker_creds


@pytest.fixture
def link(broker: TestBroker) -> Iterator[tuple[HubLink, list[Incoming]]]:
    creds = worker_creds(broker, "acorn-hub-w1")
    received: list[Incoming] = []
    settings = load_settings(
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/unused",  # the link never uses it
        hub_workers=2, mqtt_host=creds.host, mqtt_port=creds.port,
        mqtt_username=creds.username, mqtt_password=creds.password,
        mqtt_client_id=creds.client_id)
    hub = HubLink(settings, HubMetrics(), on_message=received.append)
    hub.start()
    try:
        wait_for(lambda: hub.connected, 10, "the worker connected")
        yield hub, received
    finally:
        hub.stop()


def _events_of(broker: TestBroker, store: str) -> Probe:
    return Probe(broker.node_creds(store, "n1"))


def _seen(received: list[Incoming], store: str, text: str) -> bool:
    return any(m.topic.split("/")[3] == store and m.payload == text.encode() for m in received)


def _reaches(received: list[Incoming], probe: Probe, store: str, text: str) -> None:
    """Publish ``text`` from ``store`` until the worker has it (the SUBACK may be on its way)."""
    def sent_and_seen() -> bool:
        probe.publish(node_topic(store, "n1", TopicKind.EVENTS), text, qos=0)
        time.sleep(0.1)
        return _seen(received, store, text)
    wait_for(sent_and_seen, 10, f"{store}'s event reaches the worker")


def test_the_worker_hears_the_stores_it_follows_and_stops_hearing_those_it_drops(
        broker: TestBroker, link: tuple[HubLink, list[Incoming]]) -> None:
    hub, received = link
    kept, dropped = _events_of(broker, "sub-a"), _events_of(broker, "sub-b")
    try:
        hub.follow_stores(frozenset({"sub-a", "sub-b"}))
        _reaches(received, kept, "sub-a", "one")
        _reaches(received, dropped, "sub-b", "one")
        hub.follow_stores(frozenset({"sub-a"}))
        _reaches(received, kept, "sub-a", "two")  # its UNSUBSCRIBE went out before this
        dropped.publish(node_topic("sub-b", "n1", TopicKind.EVENTS), "two", qos=1)
        _reaches(received, kept, "sub-a", "three")  # the broker has handled "two" by now
        assert not _seen(received, "sub-b", "two")
        hub.follow_stores(frozenset({"sub-a", "sub-b"}))  # and back again
        _reaches(received, dropped, "sub-b", "three")
    finally:
        kept.close()
        dropped.close()
