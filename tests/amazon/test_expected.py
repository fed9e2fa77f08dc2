"""Store drop-off returns reach their store's nodes as return.expected commands, once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from sqlalchemy import Engine, select

from hub.amazon.settings import AmazonSettings
from hub.storage.engine import reading, writing
from hub.storage.outbox import ensure_node
from hub.storage.tables.amazon import amazon_returns
from hub.storage.tables.core import commands
from tests.amazon.conftest import Sim
from tests.amazon.helpers import add_accounts, sync

KNOWN = ("store-us-nyc-01", "store-us-bos-02", "store-de-ber-01")


def _nodes(engine: Engine, *stores: str) -> None:
    with writing(engine) as tx:
        for store in stores:
            ensure_node(tx.conn, store, "counter-1", tx.now)
        ensure_node(tx.conn, "store-us-nyc-01", "counter-2", tx.now)  # a store with two nodes


def _expected_commands(engine: Engine) -> Counter[tuple[str, str, str]]:
    with reading(engine) as conn:
        rows = conn.execute(
            select(commands.c.store_id, commands.c.node_id, commands.c.body).where(
                commands.c.kind == "return.expected"
            )
        ).all()
    return Counter((r.store_id, r.node_id, r.body["rma_id"]) for r in rows)


def _waiting(engine: Engine) -> dict[str, set[str]]:
    with reading(engine) as conn:
        rows = conn.execute(
            select(
                amazon_returns.c.rma_id, amazon_returns.c.store_ref, amazon_returns.c.expected
            ).where(amazon_returns.c.store_ref.is_not(None))
        ).all()
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row.expected, set()).add(f"{row.store_ref}:{row.rma_id}")
    return found


def test_store_drop_offs_become_expected_returns_once(
    engine: Engine, make_sim: Callable[..., Sim], amazon_settings: AmazonSettings
) -> None:
    sim = make_sim(orders_per_day=24)  # enough recent store drop-offs in every marketplace
    accounts = add_accounts(
        engine, sim, amazon_settings, {"na": (0, ("US", "CA")), "eu": (1, ("DE",))}
    )
    _nodes(engine, *KNOWN)
    first = sync(engine, amazon_settings, accounts, ["orders", "returns"])
    waiting = _waiting(engine)
    queued, unknown = waiting.get("queued", set()), waiting.get("unknown_store", set())
    assert queued and unknown, waiting
    assert all(ref.split(":")[0] in KNOWN for ref in queued)
    assert all(ref.startswith("store-ca-tor-01:") for ref in unknown)
    assert sum(r.tally.unknown_stores for r in first.values()) == len(unknown)

    sent = _expected_commands(engine)
    assert set(sent.values()) == {1}
    nyc = {rma for store, node, rma in sent if store == "store-us-nyc-01" and node == "counter-1"}
    assert nyc == {rma for store, _, rma in sent if store == "store-us-nyc-01" and _ == "counter-2"}
    assert len(sent) == sum(r.tally.announced for r in first.values())

    _nodes(engine, "store-ca-tor-01")  # the Toronto store comes online
    sync(engine, amazon_settings, accounts, ["returns"])
    again = _expected_commands(engine)
    assert set(again.values()) == {1}, "an RMA was announced twice to one node"
    assert {rma for store, _, rma in again if store == "store-ca-tor-01"} == {
        ref.split(":")[1] for ref in unknown
    }
    assert "unknown_store" not in _waiting(engine)
