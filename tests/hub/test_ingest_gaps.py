"""Gaps on many nodes at once (issue 16): filled in one set-based pass, counted, logged seldom."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from hub.metrics import HubMetrics
from hub.storage.engine import reading
from hub.storage.tables.core import dead_letters, inbox, returns
from hub.sync.ingest.classify import Incoming
from hub.sync.ingest.gaps import GapLog, Waiting
from hub.sync.ingest.writer import IngestWriter
from protocol import Ack, Envelope, encode, utc_now
from tests.hub.helpers import events_topic, ingest, node_row, received, wait_for
from tests.support.databases import statements_sent


def count(engine: Engine, table: Any, *where: Any) -> int:
    with reading(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every statement the engine sends while the test is on."""
    with statements_sent(engine) as seen:
        yield seen


def stream(store: str, seqs: range | list[int]) -> list[Envelope]:
    """Events of one node (its return ids follow the seq, so a resend is the same event)."""
    return [received(store, "n1", seq, f"{store}-R{seq}") for seq in seqs]


def gapped_batches(nodes: int) -> tuple[list[Envelope], list[Envelope]]:
    """Per node: 1, 3, 4 first (2 lost), then 2 with 3 and 4 resent, as the link does."""
    first, second = [], []
    for n in range(nodes):
        events = {e.seq: e for e in stream(f"s{n:03d}", range(1, 5))}
        first += [events[1], events[3], events[4]]
        second += [events[2], events[3], events[4]]
    return first, second


def test_gaps_on_many_nodes_in_one_batch_are_filled_once_and_nothing_is_duplicated(
    engine: Engine,
) -> None:
    first, second = gapped_batches(40)
    opened = ingest(engine, *first)
    assert opened.new_gaps == 40 and len(opened.waiting) == 40
    assert all(ack == Ack(up_to_seq=1, gap_after=1) for ack in opened.acks.values())
    filled = ingest(engine, *second)
    assert filled.applied == 40 * 3 and filled.duplicates == 40 * 2 and filled.stored == 40
    assert filled.waiting == [] and set(filled.acks.values()) == {Ack(up_to_seq=4)}
    assert count(engine, inbox) == 160 and count(engine, returns) == 160
    assert count(engine, dead_letters) == 0
    assert all(node_row(engine, f"s{n:03d}", "n1").contiguous_seq == 4 for n in range(40))
    again = ingest(engine, *second)  # the same resends once more: nothing new
    assert (again.stored, again.applied, again.duplicates) == (0, 0, 120)
    assert count(engine, returns) == 160


def test_the_gap_path_asks_the_database_the_same_few_times_for_5_nodes_or_60(
    engine: Engine, statements: list[str]
) -> None:
    def selects_to_fill(nodes: int, base: int) -> int:
        first, second = gapped_batches(nodes)
        rename = {f"s{n:03d}": f"s{base + n:03d}" for n in range(nodes)}
        moved = [e.model_copy(update={"store_id": rename[e.store_id]}) for e in first + second]
        ingest(engine, *moved[: len(first)])
        statements.clear()
        ingest(engine, *moved[len(first) :])
        return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])

    few, many = selects_to_fill(5, 100), selects_to_fill(60, 200)
    assert many == few, (few, many)


def test_a_reused_seq_among_many_gapped_nodes_is_still_dead_lettered(engine: Engine) -> None:
    first, second = gapped_batches(10)
    ingest(engine, *first)
    intruder = received("s004", "n1", 1, "someone-else")  # applied seq 1 under another id
    result = ingest(engine, *second, intruder)
    assert result.applied == 30 and count(engine, returns) == 40
    assert len(result.dead) == 1 and "seq 1 of s004/n1 was already used" in result.dead[0]


def test_gap_log_says_it_at_most_once_per_interval_and_counts_the_rest() -> None:
    now = [100.0]
    log = GapLog(every=10.0, clock=lambda: now[0])
    waiting = [Waiting((f"s{n}", "n1"), 1, 4) for n in range(12)]
    line = log.report(waiting)
    assert line is not None and line.startswith("12 node(s)") and "and 7 more" in line
    now[0] = 105.0
    assert log.report(waiting) is None and log.report(waiting[:3]) is None
    assert log.report([]) is None
    now[0] = 110.0
    line = log.report(waiting[:2])
    assert line is not None and "17 node-batches waited" in line


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_writer_counts_waiting_nodes_in_metrics_and_logs_one_line(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    published: list[tuple[str, bytes]] = []

    class Link:
        def ack(self, mid: int, qos: int, generation: int) -> None:
            published.append(("puback", b""))

        def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
            published.append((topic, payload))
            return True

        def one_wake(self) -> AbstractContextManager[None]:
            return nullcontext()

    metrics = HubMetrics()
    writer = IngestWriter(
        engine, Link(), metrics, batch_size=500, batch_ms=5, gap_log=GapLog(every=3600.0)
    )
    caplog.set_level(logging.WARNING, logger="hub.sync.ingest.writer")
    writer.start()
    acks_after: list[int] = []
    try:
        first, _second = gapped_batches(30)
        beyond = [e for e in first if e.seq > 1]  # what a node acked up to 1 sends again
        rounds = [first, beyond, beyond]  # three rounds of the same gaps
        mids = iter(range(1, 10**6))
        for number, messages in enumerate(rounds, start=1):
            for envelope in messages:
                writer.submit(Incoming(events_topic(envelope), encode(envelope), next(mids), 1,
                                       1, utc_now()))
            sent = sum(len(r) for r in rounds[:number])
            # counted once the round's PUBACKs and acks are out (the count follows both)
            wait_for(lambda m=sent: metrics.registry.get_sample_value(
                "acorn_hub_mqtt_messages_total", {"topic_kind": "events"}) == m,
                     what=f"{sent} messages done")
            assert sum(p[0] == "puback" for p in published) == sent
            acks_after.append(sum(p[0].endswith("/acks") for p in published))
    finally:
        writer.stop()
    waits = metrics.registry.get_sample_value("acorn_hub_seq_gap_waits_total")
    assert waits is not None and waits >= 30 * 3
    gap_lines = [r for r in caplog.records if "wait for a missing seq" in r.getMessage()]
    assert len(gap_lines) == 1, [r.getMessage() for r in caplog.records]
    # each node's ack is published when it changes, not again for the same gap
    assert acks_after[0] >= 30 and acks_after[0] == acks_after[1] == acks_after[2]
