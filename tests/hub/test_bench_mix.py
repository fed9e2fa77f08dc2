"""The benches' event mixes are what counters send, and the hub applies them whole: the capacity
bench's "lifecycle" (each return received, inspected and disposed, in batches that update many
returns at once: one statement on PostgreSQL, ``hub.storage.bulk.update_rows``) and the ingest
bench's "refunds" (the same with a refund asked for each return)."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from bench import ingest as ingest_bench
from edge_agent.storage.outbox import SendWindow
from edge_agent.sync.pace import Pace
from hub.storage.engine import reading
from hub.storage.tables.core import (
    commands,
    dead_letters,
    dispositions,
    inspections,
    refunds,
    returns,
)
from hub.storage.tables.inventory import stock_levels, stock_moves
from protocol import TopicKind, decode, node_topic
from tests.hub.helpers import ingest
from tests.support.fleet_nodes import Node, NodeCreds


def node(index: int, mix: str = "lifecycle") -> Node:
    creds = NodeCreds(f"mix-{index:03d}", f"u{index}", "-", f"c{index}")
    return Node(creds, None, index, SendWindow(1000, 5.0, 30.0),  # type: ignore[arg-type]
                Pace(1000), mix=mix)


def test_the_lifecycle_mix_receives_inspects_and_disposes_every_return(engine: Engine) -> None:
    nodes = [node(i) for i in range(40)]
    kinds = [decode(nodes[0].payload(seq)).kind for seq in range(1, 7)]
    assert kinds == ["return.received", "inspection.recorded", "disposition.recorded"] * 2

    for first in (1, 4, 7):  # three batches, each one step of every node's next three returns
        for step in range(3):
            ingest(engine, *[(node_topic(n.creds.store_id, "n1", TopicKind.EVENTS),
                              n.payload(first + step)) for n in nodes])

    with reading(engine) as conn:
        states = dict(conn.execute(select(returns.c.state, func.count())
                                   .group_by(returns.c.state)).all())
        inspected = conn.scalar(select(func.count()).select_from(inspections))
        disposed = conn.scalar(select(func.count()).select_from(dispositions))
        dead = list(conn.scalars(select(dead_letters.c.reason)))
    assert dead == []
    assert states == {"disposed": 120}
    assert inspected == disposed == 120


def test_the_sales_mix_moves_every_sale_out_of_the_sellable_stock(engine: Engine) -> None:
    """The capacity bench's "sales" mix: each event a sale's stock move (the stream inventory
    adds: every sale of every store), applied to the stock view."""
    nodes = [node(i, "sales") for i in range(20)]
    for first in (1, 51):  # two batches of 50 sales a node: every SKU sold twice by each
        ingest(engine, *[(node_topic(n.creds.store_id, "n1", TopicKind.EVENTS), n.payload(seq))
                         for n in nodes for seq in range(first, first + 50)])
    with reading(engine) as conn:
        dead = list(conn.scalars(select(dead_letters.c.reason)))
        moves = conn.scalar(select(func.count()).select_from(stock_moves))
        levels = dict(conn.execute(select(stock_levels.c.state, func.count())
                                   .group_by(stock_levels.c.state)).all())
        sold = conn.scalar(select(func.sum(stock_levels.c.quantity)))
    assert dead == []
    assert moves == 20 * 100
    assert levels == {"sellable": 20 * 50}  # one level a store and SKU
    assert sold == -2 * 20 * 50  # each level moved twice; the hub keeps what the moves say


def test_the_ingest_bench_refunds_mix_decides_every_refund_and_tells_its_node(
        engine: Engine) -> None:
    """``python -m bench ingest``'s refunds mix: each return received, refunded, inspected and
    disposed; the POS refunds are decided at once, the Amazon ones wait for their inspection;
    every refund is told to its node (twice for one that waited: its wait, then its decision)."""
    payloads = ingest_bench.messages("refunds", events=160, nodes=10)  # 4 returns a node
    assert [decode(p).kind for _, p in payloads[:40:10]] == [
        "return.received", "refund.requested", "inspection.recorded", "disposition.recorded"]
    for start in range(0, len(payloads), 50):
        result = ingest(engine, *payloads[start:start + 50])
        assert result.dead == []

    with reading(engine) as conn:
        by_state = dict(conn.execute(select(refunds.c.channel, func.count())
                                     .where(refunds.c.decided_at.is_not(None))
                                     .group_by(refunds.c.channel)).all())
        told = conn.scalar(select(func.count()).select_from(commands)
                           .where(commands.c.kind == "refund.decided"))
        disposed = conn.scalar(select(func.count()).select_from(returns)
                               .where(returns.c.state == "disposed"))
    assert by_state == {"pos": 20, "amazon_mfn": 20}
    assert told == 20 + 2 * 20
    assert disposed == 40
