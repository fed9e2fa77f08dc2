"""The ingest writer with an in-memory link: ack after commit, retry, isolate poison, drain."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError

from hub.errors import StorageError
from hub.metrics import HubMetrics
from hub.refunds import projection
from hub.storage.engine import reading
from hub.storage.tables.core import dead_letters, inbox, returns, unprocessable_events
from hub.sync.ingest import writer as writer_module
from hub.sync.ingest.classify import Incoming
from hub.sync.ingest.writer import IDLE_GAP_S, IngestWriter, gather_wait
from protocol import decode, encode, encode_batch, utc_now
from tests.hub.helpers import ON_PG, events_topic, node_row, received, wait_for


@dataclass
class MemoryLink:
    """Records what the writer acks and publishes."""

    acks: list[int] = field(default_factory=list)
    published: list[tuple[str, bytes, bool]] = field(default_factory=list)

    def ack(self, mid: int, qos: int, generation: int) -> None:
        self.acks.append(mid)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        self.published.append((topic, payload, retain))
        return True

    def one_wake(self) -> AbstractContextManager[None]:
        return nullcontext()  # nothing to wake: everything is recorded at once


@pytest.fixture
def link() -> MemoryLink:
    return MemoryLink()


@pytest.fixture
def writer(engine: Engine, link: MemoryLink) -> Iterator[IngestWriter]:
    w = IngestWriter(engine, link, HubMetrics(), batch_size=50, batch_ms=5)
    w.start()
    yield w
    w.stop()


def message(mid: int, payload: bytes, topic: str = "acorn/v1/stores/s1/nodes/n1/events") -> (
        Incoming):
    return Incoming(topic, payload, mid, 1, 1, utc_now())


def stored(engine: Engine, table: Any = inbox) -> int:
    with reading(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_every_message_is_acked_once_in_arrival_order_after_commit(
        engine: Engine, writer: IngestWriter, link: MemoryLink) -> None:
    events = [received("s1", "n1", n, f"R{n}") for n in range(1, 121)]
    for mid, event in enumerate([*events, events[0]], start=1):
        writer.submit(message(mid, encode(event), events_topic(event)))
    wait_for(lambda: len(link.acks) == 121, what="all acks")
    assert link.acks == list(range(1, 122))
    assert stored(engine) == 120

    def last_ack() -> int:
        topic, payload, retain = link.published[-1]
        assert topic.endswith("/acks") and retain
        return int(decode(payload).body.up_to_seq)  # type: ignore[attr-defined]

    # the retained ack of the last batch may follow its PUBACKs by a moment
    wait_for(lambda: last_ack() == 120, what="the retained ack up to 120")


def test_a_database_outage_is_retried_and_nothing_is_acked_meanwhile(
        engine: Engine, writer: IngestWriter, link: MemoryLink,
        monkeypatch: pytest.MonkeyPatch) -> None:
    real, calls = writer_module.store_batch, []

    def flaky(*args: Any) -> Any:
        calls.append(1)
        if len(calls) < 3:
            raise StorageError("database error: gone") from OperationalError("x", {}, Exception())
        return real(*args)

    monkeypatch.setattr(writer_module, "store_batch", flaky)
    writer.submit(message(7, encode(received("s1", "n1", 1, "R1"))))
    wait_for(lambda: link.acks == [7], what="the ack after the database came back")
    assert len(calls) == 3 and stored(engine) == 1


def test_a_message_that_breaks_the_projection_is_isolated_and_dead_lettered(
        engine: Engine, writer: IngestWriter, link: MemoryLink,
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = projection.HANDLERS["return.received"]

    def buggy(self: projection.Projector, event: Any) -> None:
        if event.body.return_id == "BOOM":
            raise KeyError("a bug")
        real(self, event)

    monkeypatch.setitem(projection.HANDLERS, "return.received", buggy)
    poisoned = encode(received("s1", "n1", 2, "BOOM"))
    for mid, rid in enumerate(["R1", "BOOM", "R3"], start=1):
        writer.submit(message(mid, poisoned if rid == "BOOM" else
                              encode(received("s1", "n1", mid, rid))))
    wait_for(lambda: sorted(link.acks) == [1, 2, 3], what="every message acked")
    assert stored(engine, dead_letters) == 1
    with reading(engine) as conn:
        reason = conn.execute(select(dead_letters.c.reason)).scalar_one()
        skipped = conn.execute(select(unprocessable_events.c.seq)).scalars().all()
    assert "unprocessable and was skipped" in reason and "a bug" in reason
    # seq 2 is recorded unprocessable: the node's stream moves past it and seq 3 applies
    assert skipped == [2]
    assert stored(engine) == 2 and node_row(engine, "s1", "n1").contiguous_seq == 3
    # the node resending the same message is a duplicate: no new dead letter
    writer.submit(message(4, poisoned))
    wait_for(lambda: 4 in link.acks, what="the resend acked")
    assert stored(engine, dead_letters) == 1


@ON_PG
def test_a_row_the_database_refuses_in_the_write_pipeline_is_isolated_too(
        engine: Engine, writer: IngestWriter, link: MemoryLink,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the refusal comes back only when the batch's pipelined writes are answered, at the commit
    # (``hub.storage.write_pipeline``): the batch fails there and is retried message by message
    real = projection.HANDLERS["return.received"]

    def too_long(self: projection.Projector, event: Any) -> None:
        real(self, event)
        if event.body.return_id == "LONG":
            self.changes.returns_new[(event.store_id, "LONG")]["reason"] = "x" * 300

    monkeypatch.setitem(projection.HANDLERS, "return.received", too_long)
    for mid, rid in enumerate(["R1", "LONG", "R3"], start=1):
        writer.submit(message(mid, encode(received("s1", "n1", mid, rid))))
    wait_for(lambda: sorted(link.acks) == [1, 2, 3], what="every message acked")
    with reading(engine) as conn:
        reason = conn.execute(select(dead_letters.c.reason)).scalar_one()
        kept = conn.execute(select(returns.c.return_id).order_by(returns.c.return_id)).scalars()
        assert list(kept) == ["R1", "R3"]
    assert "value too long" in reason
    assert node_row(engine, "s1", "n1").contiguous_seq == 3

def test_stop_finishes_what_was_queued(engine: Engine, link: MemoryLink) -> None:
    w = IngestWriter(engine, link, HubMetrics(), batch_size=10, batch_ms=5)
    for mid in range(1, 31):
        w.submit(message(mid, encode(received("s1", "n1", mid, f"R{mid}"))))
    w.start()
    w.stop()
    assert len(link.acks) == 30 and stored(engine) == 30


def test_the_ack_payload_is_the_codecs_envelope_of_the_ack() -> None:
    from protocol import Ack, make_envelope

    at = utc_now()
    for ack in (Ack(up_to_seq=7), Ack(up_to_seq=3, gap_after=3), Ack(up_to_seq=0)):
        payload = writer_module.ack_payload(("store-9", "till-1"), ack, at)
        fast = decode(payload, expect=frozenset({"ack"}))
        slow = make_envelope("store-9", "till-1", 0, ack, occurred_at=at, message_id=fast.id)
        assert fast == slow
        assert payload == encode(slow)  # the very bytes the codec sends
        assert writer_module.ack_payload(("s1", "n1"), ack, at) != (
            writer_module.ack_payload(("s1", "n1"), ack, at))  # a fresh message id each


def test_a_live_event_is_written_before_other_stores_backlogs(
        engine: Engine, link: MemoryLink) -> None:
    """Twenty stores come back with 100 events each; then another store records a return. The
    writer (200 events a batch) takes the live one in its first batch, not after the backlogs."""
    w = IngestWriter(engine, link, HubMetrics(), batch_size=200, batch_ms=5)
    for n in range(1, 21):
        events = [received(f"s{n}", "n1", seq, f"R{seq}") for seq in range(1, 101)]
        w.submit(message(n, encode_batch(events), events_topic(events[0])))
    live = received("s99", "n1", 1, "LIVE")
    w.submit(message(99, encode(live), events_topic(live)))
    w.start()
    try:
        wait_for(lambda: len(link.acks) == 21, what="all 21 messages acked")
    finally:
        w.stop()
    assert link.acks.index(99) < 3  # in the first batch, beside two backlogs
    assert [m for m in link.acks if m != 99] == list(range(1, 21))  # the backlogs in order
    assert stored(engine) == 2001


def test_a_node_that_resends_gets_its_ack_again(engine: Engine, link: MemoryLink) -> None:
    """Its resends say it has not heard the ack this connection already published (lost with
    its connection, or an older retained one left while its store changed workers)."""
    w = IngestWriter(engine, link, HubMetrics(), batch_size=50, batch_ms=5)
    w.start()
    first = received("s1", "n1", 1, "R1")

    def acks_to_n1() -> list[int]:
        return [int(decode(p).body.up_to_seq)  # type: ignore[attr-defined]
                for t, p, _r in link.published if t == "acorn/v1/stores/s1/nodes/n1/acks"]

    try:
        w.submit(message(1, encode(first), events_topic(first)))
        wait_for(lambda: acks_to_n1() == [1], what="the first ack")
        other = received("s2", "n1", 1, "R2")  # another node's batch: n1's ack is not repeated
        w.submit(message(2, encode(other), events_topic(other)))
        wait_for(lambda: 2 in link.acks, what="the other node's message")
        assert acks_to_n1() == [1]
        w.submit(message(3, encode(first), events_topic(first)))  # n1 resends seq 1
        wait_for(lambda: acks_to_n1() == [1, 1], what="the ack published again")
    finally:
        w.stop()
    assert stored(engine) == 2


def test_the_wait_from_arrival_to_puback_is_measured(engine: Engine, link: MemoryLink) -> None:
    """``acorn_hub_ingest_wait_seconds``: a message that arrived two seconds before the writer
    took it is counted as having waited those two seconds (past the 1 s bucket), not from when
    the writer took it. (No upper bound: a busy host may take a while over the first batch.)"""
    metrics = HubMetrics()
    w = IngestWriter(engine, link, metrics, batch_size=10, batch_ms=5)
    late = received("s1", "n1", 1, "R1")
    w.submit(Incoming(events_topic(late), encode(late), 1, 1, 1,
                      utc_now() - timedelta(seconds=2)))
    w.start()
    try:
        wait_for(lambda: link.acks == [1], what="the ack")
    finally:
        w.stop()
    samples = [s for m in metrics.registry.collect() if m.name == "acorn_hub_ingest_wait_seconds"
               for s in m.samples]
    buckets = {s.labels["le"]: s.value for s in samples if s.name.endswith("_bucket")}
    waited = next(s.value for s in samples if s.name.endswith("_sum"))
    assert buckets["1.0"] == 0 and buckets["+Inf"] == 1 and waited >= 2.0


def test_a_batch_that_began_with_messages_waiting_takes_only_those() -> None:
    # behind: the writer commits what waited instead of waiting for what comes next
    assert gather_wait(True, deadline=100.0, now=0.0) == 0.0
    # gathering a burst: each next message waited for at most the idle gap, until the deadline
    assert gather_wait(False, deadline=100.0, now=0.0) == IDLE_GAP_S
    assert gather_wait(False, deadline=100.0, now=100.0 - IDLE_GAP_S / 2) == pytest.approx(
        IDLE_GAP_S / 2)
    assert gather_wait(False, deadline=100.0, now=101.0) <= 0.0
