"""Commands queued for many nodes at once (a batch of refund requests decides one refund per
node) take each node's next command seqs, in order, in one statement on PostgreSQL; a command
for a node the hub does not know is refused and queues nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from hub.errors import NotFound
from hub.storage import outbox
from hub.storage.engine import reading, writing
from hub.storage.tables.core import commands, nodes
from protocol import Channel, ExpectedReturn, Money, ReturnItem, new_message_id, utc_now
from tests.support.databases import statements_sent


def expected(n: int) -> ExpectedReturn:
    return ExpectedReturn(rma_id=f"RMA-{n}", order_id=f"O-{n}", channel=Channel.AMAZON_MFN,
                          items=[ReturnItem(sku="SKU-1", quantity=1,
                                            unit_price=Money.of("9.00", "USD"))])


def drafts(keys: list[tuple[str, str]], each: int) -> list[outbox.CommandDraft]:
    return [outbox.CommandDraft(s, n, new_message_id(), expected(i))
            for s, n in keys for i in range(each)]


def test_many_nodes_take_their_next_seqs_in_order_in_one_statement(engine: Engine) -> None:
    keys = [(f"s{i:03d}", "n1") for i in range(300)]
    with writing(engine) as tx:
        for s, n in keys:
            outbox.ensure_node(tx.conn, s, n, tx.now)
        outbox.queue(tx.conn, drafts(keys[:100], 1), tx.now)  # some nodes have a seq already
    with statements_sent(engine) as statements, writing(engine) as tx:
        ids = outbox.queue(tx.conn, drafts(keys, 2), tx.now)

    reserving = [s for s in statements if s.lstrip().upper().startswith("UPDATE NODES")]
    assert len(reserving) == (1 if engine.dialect.name == "postgresql" else 300)
    with reading(engine) as conn:
        queued = {r.command_id: r for r in conn.execute(select(commands))}
        tops = {(r.store_id, r.node_id): r.command_seq for r in conn.execute(select(nodes))}
    assert len(ids) == 600 and len(queued) == 700
    for i, (s, n) in enumerate(keys):
        before = 1 if i < 100 else 0
        mine = [queued[c].seq for c in ids if queued[c].store_id == s]
        assert mine == [before + 1, before + 2], (s, mine)  # in the order they were queued
        assert tops[(s, n)] == before + 2


def test_a_command_for_an_unknown_node_is_refused_and_nothing_is_queued(engine: Engine) -> None:
    with writing(engine) as tx:
        outbox.ensure_node(tx.conn, "s1", "n1", tx.now)
    with (pytest.raises(NotFound, match="node s9/n1 is not known to the hub"),
          writing(engine) as tx):
        outbox.queue(tx.conn, drafts([("s1", "n1"), ("s9", "n1")], 1), tx.now)
    with reading(engine) as conn:
        assert list(conn.execute(select(commands))) == []
        assert conn.scalar(select(nodes.c.command_seq)) == 0


def test_queueing_no_command_sends_no_statement(engine: Engine) -> None:
    # every ingest batch queues its commands, and most have none: each statement is a round trip
    with statements_sent(engine) as statements, writing(engine) as tx:
        assert outbox.queue(tx.conn, [], tx.now) == []
    assert not [s for s in statements if "nodes" in s.lower() or "commands" in s.lower()]


def test_forced_resends_find_exactly_those_nodes_in_one_statement_of_fixed_size(
        engine: Engine) -> None:
    """A thousand stores coming online at once force their unapplied commands out again: the
    lookup is one condition however many nodes it names (it was an OR of a term per node, whose
    building held the GIL 40-140 ms and stalled the ingest writer)."""
    keys = [(f"s{i:04d}", "n1") for i in range(1000)]
    with writing(engine) as tx:
        for s, n in keys:
            outbox.ensure_node(tx.conn, s, n, tx.now)
        ids = outbox.queue(tx.conn, drafts(keys, 1), tx.now)
        outbox.mark_sent(tx.conn, ids, tx.now)  # all sent just now: none due by age
    forced = {k for i, k in enumerate(keys) if i % 3 == 0}
    shapes = []
    for force in ([sorted(forced)[0]], forced):
        with statements_sent(engine) as statements, reading(engine) as conn:
            found = outbox.due(conn, utc_now(), 600.0, force, limit=5000)
        assert {(r.store_id, r.node_id) for r in found} == set(force)
        (lookup,) = [s for s in statements if "FROM commands" in s]
        shapes.append(lookup)
    if engine.dialect.name == "postgresql":  # arrays: the same text for one node or 334
        assert shapes[0] == shapes[1]
    with reading(engine) as conn:
        assert outbox.due(conn, utc_now(), 600.0) == []
