"""The capacity bench's "lifecycle" events are what counters send, and the hub applies them
whole: each return received, inspected and disposed, in batches that update many returns at
once (one statement on PostgreSQL, ``hub.storage.bulk.update_rows``)."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from edge_agent.storage.outbox import SendWindow
from edge_agent.sync.pace import Pace
from hub.storage.engine import reading
from hub.storage.tables.core import dead_letters, dispositions, inspections, returns
from protocol import TopicKind, decode, node_topic
from tests.hub.helpers import ingest
from tests.support.fleet_nodes import Node, NodeCreds


def node(index: int) -> Node:
    creds = NodeCreds(f"mix-{index:03d}", f"u{index}", "-", f"c{index}")
    return Node(creds, None, index, SendWindow(1000, 5.0, 30.0),  # type: ignore[arg-type]
                Pace(1000), mix="lifecycle")


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
