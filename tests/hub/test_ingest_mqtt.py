"""Ingest through the real broker, as the nodes' own identities, into both databases."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from hub.access.permissions import Role
from hub.access.tokens import create_token
from hub.storage.engine import reading
from hub.storage.tables.core import (
    commands,
    dead_letters,
    inbox,
    refunds,
    returns,
    unprocessable_events,
)
from protocol import Money, TopicKind, decode, encode, encode_batch, node_topic
from tests.hub.conftest import RunningHub, hub_settings, start_hub
from tests.hub.helpers import (
    NodeProbe,
    applied,
    inspected,
    node_row,
    received,
    refund,
    status,
    wait_for,
)
from tests.support.broker import TestBroker


@pytest.fixture
def node_a(broker: TestBroker) -> Iterator[NodeProbe]:
    probe = NodeProbe(broker, "store-a", "n1")
    yield probe
    probe.close()


@pytest.fixture
def node_b(broker: TestBroker) -> Iterator[NodeProbe]:
    probe = NodeProbe(broker, "store-b", "n1")
    yield probe
    probe.close()


def scalar(hub: RunningHub, stmt: object) -> int:
    with reading(hub.engine) as conn:
        return int(conn.execute(stmt).scalar_one())  # type: ignore[call-overload]


def acked(probe: NodeProbe) -> int:
    acks = [decode(m.payload) for m in probe.on(TopicKind.ACKS)]
    return max((a.body.up_to_seq for a in acks), default=-1)  # type: ignore[attr-defined]


def test_events_published_twice_are_stored_once_and_acked(mqtt_hub: RunningHub,
                                                          node_a: NodeProbe) -> None:
    event = received("store-a", "n1", 1, "R1")
    node_a.send(event)
    node_a.send(event)
    node_a.send(received("store-a", "n1", 2, "R2"))
    wait_for(lambda: acked(node_a) == 2, what="ack up to 2")
    assert scalar(mqtt_hub, select(func.count()).select_from(inbox)) == 2
    assert scalar(mqtt_hub, select(func.count()).select_from(returns)) == 2
    runtime = mqtt_hub.context.runtime
    assert runtime is not None and runtime.writer.busy_time() > 0  # the reasons pass reads it
    ack = decode(node_a.on(TopicKind.ACKS)[-1].payload)
    assert (ack.store_id, ack.node_id, ack.seq, ack.kind) == ("store-a", "n1", 0, "ack")


def test_a_gap_is_detected_then_filled_and_everything_applies_in_order(
        mqtt_hub: RunningHub, node_a: NodeProbe) -> None:
    node_a.send(received("store-a", "n1", 1, "R1"))
    node_a.send(inspected("store-a", "n1", 2, "R1"))
    fourth = refund("store-a", "n1", 4, "R1", "F1")
    node_a.send(fourth)
    wait_for(lambda: (node_row(mqtt_hub.engine, "store-a", "n1") or None) and
             node_row(mqtt_hub.engine, "store-a", "n1").highest_seq == 4, what="seq 4 held")
    node = node_row(mqtt_hub.engine, "store-a", "n1")
    assert (node.contiguous_seq, node.highest_seq) == (2, 4)
    wait_for(lambda: acked(node_a) == 2, what="ack up to 2")
    # the ack of the batch holding seq 4 is published just after its commit: wait for it
    wait_for(lambda: decode(node_a.on(TopicKind.ACKS)[-1].payload).body.gap_after == 2,
             what="an ack reporting the gap after 2")
    assert scalar(mqtt_hub, select(func.count()).select_from(refunds)) == 0

    node_a.send(refund("store-a", "n1", 3, "R1", "F0"))
    wait_for(lambda: acked(node_a) == 3, what="ack up to 3 once the gap fills")
    # seq 4 waited beyond the gap: it applies when the node sends it again, as a node does
    # after an ack that reports a gap (hub.sync.ingest.claims)
    node_a.send(fourth)
    wait_for(lambda: acked(node_a) == 4, what="ack up to 4 once seq 4 comes again")
    with reading(mqtt_hub.engine) as conn:
        assert [r.seq for r in conn.execute(select(inbox.c.seq).order_by(inbox.c.seq))] == [
            1, 2, 3, 4]
        assert {r.refund_id for r in conn.execute(select(refunds.c.refund_id))} == {"F0", "F1"}
    viewer = {"Authorization": f"Bearer {create_token(mqtt_hub.engine, 'prom', Role.VIEWER)}"}
    assert "acorn_hub_seq_gaps_total 1.0" in mqtt_hub.client.get("/metrics", headers=viewer).text


def test_the_decision_reaches_the_requesting_node_only(mqtt_hub: RunningHub, node_a: NodeProbe,
                                                       node_b: NodeProbe) -> None:
    node_b.send(received("store-b", "n1", 1, "RB"))
    node_a.send(received("store-a", "n1", 1, "R1", "19.99"))
    node_a.send(refund("store-a", "n1", 2, "R1", "F1", "19.99"))
    message = wait_for(lambda: node_a.on(TopicKind.COMMANDS), what="refund.decided at store A")
    command = decode(message[0].payload)
    assert command.kind == "refund.decided" and (command.store_id, command.seq) == ("store-a", 1)
    assert command.body.outcome == "approved"  # type: ignore[attr-defined]
    assert command.body.amount == Money.of("19.99", "USD")  # type: ignore[attr-defined]
    wait_for(lambda: acked(node_b) == 1, what="store B's own ack")
    time.sleep(0.3)  # absence: give a stray command time to show up, then check none did
    assert node_b.on(TopicKind.COMMANDS) == []

    node_a.send(applied("store-a", "n1", 3, command.id, "refund.decided"))
    wait_for(lambda: scalar(mqtt_hub, select(func.count()).select_from(commands).where(
        commands.c.applied_at.is_not(None))) == 1, what="command marked applied")


def test_forged_and_garbage_messages_are_dead_lettered_and_the_hub_keeps_serving(
        mqtt_hub: RunningHub, node_a: NodeProbe) -> None:
    forged = received("store-b", "n1", 1, "FORGED")  # store B's envelope on store A's topic
    node_a.raw(TopicKind.EVENTS, encode(forged))
    node_a.raw(TopicKind.EVENTS, b"\x00\xffnot json at all")
    node_a.send(received("store-a", "n1", 1, "GOOD"))
    wait_for(lambda: acked(node_a) == 1, what="the good message after the bad ones")
    with reading(mqtt_hub.engine) as conn:
        dead = list(conn.execute(select(dead_letters).order_by(dead_letters.c.id)))
        stored = [r.return_id for r in conn.execute(select(returns.c.return_id))]
    assert [d.sender for d in dead] == ["store-a/n1", "store-a/n1"]
    assert "forged sender" in dead[0].reason and dead[0].field == "store_id"
    assert "not valid UTF-8 JSON" in dead[1].reason
    assert stored == ["GOOD"]
    assert mqtt_hub.client.get("/api/health").json()["mqtt"]["connected"] is True


def test_unapplied_commands_are_resent_when_the_node_comes_online(
        mqtt_hub: RunningHub, node_a: NodeProbe) -> None:
    node_a.send(received("store-a", "n1", 1, "R1"))
    node_a.send(refund("store-a", "n1", 2, "R1", "F1"))
    wait_for(lambda: len(node_a.on(TopicKind.COMMANDS)) == 1, what="first delivery")
    node_a.send(status("store-a", "n1", "offline"))
    wait_for(lambda: not node_row(mqtt_hub.engine, "store-a", "n1").online, what="offline")
    node_a.send(status("store-a", "n1", "online"))
    wait_for(lambda: len(node_a.on(TopicKind.COMMANDS)) == 2, what="resend on coming online")
    first, second = (decode(m.payload) for m in node_a.on(TopicKind.COMMANDS))
    assert (first.id, first.seq) == (second.id, second.seq)
    assert second.sent_at and first.sent_at and second.sent_at > first.sent_at


def test_a_backlog_of_3000_events_is_acked_and_stored_exactly_once(
        mqtt_hub: RunningHub, node_a: NodeProbe) -> None:
    """A burst is acked to its end and stored once; the rate is printed, not asserted (tests
    never assert on wall-clock time: ``python -m tests.hub.bench_ingest`` measures it)."""
    total = 3000
    payloads = [encode(received("store-a", "n1", n, f"R{n}")) for n in range(1, total + 1)]
    topic = node_topic("store-a", "n1", TopicKind.EVENTS)
    started = time.perf_counter()
    for payload in payloads:
        node_a.probe.client.publish(topic, payload, qos=1)
    wait_for(lambda: acked(node_a) == total, 30, f"ack up to {total}")
    rate = total / (time.perf_counter() - started)
    print(f"\n{total} events hub-confirmed at {rate:,.0f} events/s (in-process hub)")
    assert scalar(mqtt_hub, select(func.count()).select_from(returns)) == total
    assert scalar(mqtt_hub, select(func.count(func.distinct(inbox.c.seq)))
                  .where(inbox.c.node_id == "n1")) == total


def test_the_hub_waits_for_the_broker_and_reconnects_after_a_restart(
        db_url: str, broker: TestBroker) -> None:
    settings = hub_settings(db_url, broker)
    broker.stop()
    hub_iter = start_hub(settings)
    hub = next(hub_iter)
    try:
        assert hub.client.get("/api/health").json()["status"] == "degraded"
        broker.start()
        wait_for(lambda: hub.client.get("/api/health").json()["mqtt"]["connected"], 20,
                 "the hub to connect once the broker is up")
        broker.stop()
        wait_for(lambda: not hub.context.runtime.link.connected, 10,  # type: ignore[union-attr]
                 "the hub to notice the broker is gone")
        broker.start()
        node = NodeProbe(broker, "store-a", "n1")
        try:
            node.send(received("store-a", "n1", 1, "R1"))
            wait_for(lambda: acked(node) == 1, 20, "ingest after the broker restart")
        finally:
            node.close()
    finally:
        next(hub_iter, None)


def test_a_batch_is_stored_and_acked_as_its_events_one_bad_event_among_them_alone_dead(
        mqtt_hub: RunningHub, node_a: NodeProbe) -> None:
    good = [received("store-a", "n1", n, f"B{n}") for n in range(1, 6)]
    raw = json.loads(encode_batch(good))
    raw["body"]["events"][2]["body"]["items"][0]["quantity"] = -1  # seq 3: refused by the schema
    node_a.raw(TopicKind.EVENTS, json.dumps(raw).encode())
    node_a.raw(TopicKind.EVENTS, encode_batch(
        [received("store-a", "n1", n, f"B{n}") for n in range(6, 9)]))
    wait_for(lambda: acked(node_a) == 8, what="the ack past both batches")
    with reading(mqtt_hub.engine) as conn:
        stored = sorted(r.return_id for r in conn.execute(select(returns.c.return_id)))
        seqs = sorted(r.seq for r in conn.execute(select(inbox.c.seq)))
        skipped = [(r.seq, r.dead_letter_id) for r in conn.execute(select(unprocessable_events))]
        dead = conn.execute(select(dead_letters)).one()
    assert stored == ["B1", "B2", "B4", "B5", "B6", "B7", "B8"]
    assert seqs == [1, 2, 4, 5, 6, 7, 8]
    assert skipped == [(3, dead.id)]  # its seq taken, the stream moved on
    assert json.loads(dead.payload)["seq"] == 3 and "quantity" in dead.reason  # itself, alone


def test_a_batch_naming_another_node_is_refused_whole(mqtt_hub: RunningHub,
                                                      node_a: NodeProbe) -> None:
    node_a.raw(TopicKind.EVENTS, encode_batch(
        [received("store-b", "n1", n, f"X{n}") for n in (1, 2)]))
    node_a.send(received("store-a", "n1", 1, "GOOD"))
    wait_for(lambda: acked(node_a) == 1, what="the good event after the forged batch")
    with reading(mqtt_hub.engine) as conn:
        assert [r.return_id for r in conn.execute(select(returns.c.return_id))] == ["GOOD"]
        assert "forged sender" in conn.execute(select(dead_letters.c.reason)).scalar_one()
