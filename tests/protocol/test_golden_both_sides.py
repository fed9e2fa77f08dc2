"""The golden messages (tests/fixtures/protocol/v1/) through BOTH sides' real decoding.

One file per kind, one direction per kind (the topic that carries it). The hub reads the edge's
messages exactly as its ingest does (``hub.sync.ingest.classify``) and refuses its own; the edge
reads its own events back as its outbox and journal do (``edge_agent.storage.replay``) and applies
the hub's messages through the receivers its link calls (``edge_agent.sync.commands``,
``edge_agent.staff.store_config``, the link's ack decoding). So a golden file that one side would
refuse — or read differently — fails here, whichever side drifted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_agent.staff import pins as edge_pins
from edge_agent.staff import store_config
from edge_agent.storage import replay
from edge_agent.storage.store import Store
from edge_agent.sync import commands
from edge_agent.sync.link import ACK_KINDS, read_presence
from hub.access import passwords as hub_passwords
from hub.sync.ingest.classify import (
    NodeEvent,
    Rejected,
    StatusUpdate,
    Unprocessable,
    classify,
    classify_all,
)
from protocol import (
    BODY_TYPES,
    HUB_PRESENCE_TOPIC,
    KINDS_ON_TOPIC,
    PRESENCE_KINDS,
    Ack,
    StoreConfig,
    TopicKind,
    config_topic,
    decode,
    encode,
    node_topic,
    utc_now,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "protocol" / "v1"
GOLDEN: dict[str, bytes] = {path.stem: path.read_bytes() for path in FIXTURES.glob("*.json")}
TO_HUB = (TopicKind.EVENTS, TopicKind.STATUS)
PIN = "4711"  # the PIN behind the golden store config's hash (make_fixtures.py)


PRESENCE = "presence"  # the hub's presence travels on a topic of its own, no node channel


def carried_on(kind: str) -> TopicKind | str:
    """The one kind of topic that carries ``kind``."""
    if kind in PRESENCE_KINDS:
        return PRESENCE
    (topic_kind,) = [t for t, kinds in KINDS_ON_TOPIC.items() if kind in kinds]
    return topic_kind


def data(kind: str) -> dict[str, Any]:
    """The golden message as JSON."""
    loaded: dict[str, Any] = json.loads(GOLDEN[kind])
    return loaded


def topic(kind: str) -> str:
    """The topic the golden message travels on."""
    message, where = data(kind), carried_on(kind)
    if where == PRESENCE:
        return HUB_PRESENCE_TOPIC
    if where is TopicKind.CONFIG:
        return config_topic(message["store_id"])
    assert isinstance(where, TopicKind)
    return node_topic(message["store_id"], message["node_id"], where)


EDGE_SENDS = sorted(k for k in GOLDEN if carried_on(k) in TO_HUB)
HUB_SENDS = sorted(k for k in GOLDEN if carried_on(k) not in TO_HUB)


def test_every_kind_has_one_golden_file_and_one_direction() -> None:
    assert set(GOLDEN) == set(BODY_TYPES)
    assert set(EDGE_SENDS) | set(HUB_SENDS) == set(GOLDEN)
    assert EDGE_SENDS and HUB_SENDS


# -- edge -> hub ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", EDGE_SENDS)
def test_the_hub_reads_what_the_edge_sends_exactly(kind: str) -> None:
    if kind == "event.batch":  # its events, each as if it had come alone
        parts = classify_all(topic(kind), GOLDEN[kind])
        assert [json.loads(encode(p.envelope)) for p in parts if isinstance(p, NodeEvent)] == (
            data(kind)["body"]["events"])
        return
    found = classify(topic(kind), GOLDEN[kind])
    assert isinstance(found, NodeEvent | StatusUpdate), found
    assert json.loads(encode(found.envelope)) == data(kind)
    assert (found.store_id, found.node_id) == (data(kind)["store_id"], data(kind)["node_id"])


# the node's outbox and journal hold events; an event.batch exists only on the wire
@pytest.mark.parametrize("kind", [k for k in EDGE_SENDS if k != "event.batch"])
def test_the_edge_reads_back_what_it_sent_exactly(kind: str) -> None:
    message = data(kind)
    stored = replay.envelope_of(message["store_id"], message["node_id"], message["seq"],
                                message["id"], kind, json.dumps(message["body"]),
                                message["occurred_at"])
    assert stored.body == decode(GOLDEN[kind]).body
    assert (stored.id, stored.seq, stored.occurred_at) == (message["id"], message["seq"],
                                                          decode(GOLDEN[kind]).occurred_at)


@pytest.mark.parametrize("kind", EDGE_SENDS)
def test_the_edge_does_not_take_its_own_kinds_as_commands(kind: str, store: Store) -> None:
    outcome = commands.handle(store, data(kind)["store_id"], data(kind)["node_id"],
                              GOLDEN[kind], utc_now())
    assert outcome.result == "refused" and "not allowed here" in outcome.detail


# -- hub -> edge ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", HUB_SENDS)
def test_the_hub_never_takes_its_own_messages_for_a_node_s(kind: str) -> None:
    assert isinstance(classify(topic(kind), GOLDEN[kind]), Rejected)
    message = data(kind)
    on_events = node_topic(message["store_id"], "counter-1", TopicKind.EVENTS)
    assert isinstance(classify(on_events, GOLDEN[kind]), Rejected | Unprocessable)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """The node's real SQLite file, as store-berlin-1/counter-1 of the golden files."""
    opened = Store.open(tmp_path / "edge.db", data("return.received")["store_id"],
                        data("return.received")["node_id"])
    yield opened
    opened.close()


def test_the_edge_applies_every_golden_hub_message(store: Store) -> None:
    received, requested = decode(GOLDEN["return.received"]), decode(GOLDEN["refund.requested"])
    store_id, node_id = received.store_id, received.node_id
    with store.write() as tx:  # the node's own return and refund, as its journal restores them
        assert replay.replay(tx, received, received.seq, "golden files")
        assert replay.replay(tx, requested, requested.seq, "golden files")

    results = {kind: commands.handle(store, store_id, node_id, GOLDEN[kind], utc_now())
               for kind in HUB_SENDS if carried_on(kind) is TopicKind.COMMANDS}
    assert {kind: (r.result, r.detail) for kind, r in results.items()
            if r.result != "applied"} == {}

    assert store_config.receive(store, store_id, GOLDEN["store.config"], utc_now()).result == (
        "applied")
    ack = decode(GOLDEN["ack"], expect=ACK_KINDS)
    assert isinstance(ack.body, Ack) and (ack.store_id, ack.node_id) == (store_id, node_id)
    presence = read_presence(GOLDEN["hub.presence"])
    assert presence is not None and presence.state == "online"
    assert read_presence(GOLDEN["ack"]) is None  # only a presence counts as one


def test_the_golden_staff_pin_is_checked_alike_by_the_hub_and_the_counter() -> None:
    config = decode(GOLDEN["store.config"]).body
    assert isinstance(config, StoreConfig)
    for member in config.staff:
        assert edge_pins.verify(PIN, member.pin_hash) and hub_passwords.verify(PIN, member.pin_hash)
        assert not edge_pins.verify("0000", member.pin_hash)
        assert not hub_passwords.verify("0000", member.pin_hash)
