"""The hub and a store's agent wired by hand (no broker): the hub's queued commands are applied
by the agent's real command code, the agent's outbox is ingested by the hub's real batch code."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from edge_agent.storage import outbox
from edge_agent.sync import commands as edge_commands
from hub.storage.engine import reading, writing
from hub.storage.outbox import ensure_node
from hub.storage.tables.core import commands
from protocol import BODY_TYPES, encode, make_envelope, utc_now
from tests.edge.conftest import Running
from tests.hub.helpers import ingest
from tests.routing.db_support import add_store, publish_rules, put_stock


def two_stores(engine: Engine, near: str, far: str, node: str, sku: str = "SKU-A") -> None:
    """``near`` in Springfield, IL and ``far`` in Chicago, each with a node and 3 of ``sku``."""
    for store, place in ((near, "us-spi"), (far, "us-chi")):
        add_store(engine, store, place=place)
        put_stock(engine, store, sku, 3)
        with writing(engine) as tx:
            ensure_node(tx.conn, store, node, tx.now)
    publish_rules(engine)


def deliver_commands(engine: Engine, agent: Running, store: str, node: str) -> list[str]:
    """Apply every command the hub queued for the agent's node; their results."""
    with reading(engine) as conn:
        rows = conn.execute(select(commands).where(
            commands.c.store_id == store, commands.c.node_id == node)
            .order_by(commands.c.seq)).all()
    results = []
    for row in rows:
        body = BODY_TYPES[row.kind].model_validate({**row.body, "kind": row.kind})
        payload = encode(make_envelope(store, node, row.seq, body, message_id=row.command_id))
        results.append(edge_commands.handle(agent.agent.store, store, node, payload,
                                            utc_now()).result)
    return results


def send_events(engine: Engine, agent: Running, store: str, node: str) -> Any:
    """Ingest the agent's whole outbox at the hub (a resend of what it had is a duplicate)."""
    with agent.agent.store.read() as tx:
        events = outbox.read_range(tx, store, node, 1, 10**9)
    return ingest(engine, *events)
