"""Load the rows a batch of events touches, and write a Projector's changes back in bulk.

A handful of statements per batch whatever its size: one SELECT per table touched, one
executemany per kind of change. A batch with refund requests also loads the active policy
(seeding the default one on first use), the returns' item totals, the customers' earlier refunds,
the stores' offline limits and, when Amazon sales ask for refunds, their orders as the Amazon sync
stored them (one more SELECT; an order id held by two accounts with different facts is left out).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select, update

from hub import commands as outbox
from hub import policy_store
from hub.amazon.tables import amazon_orders
from hub.db.desk_schema import refund_rules
from hub.db.engine import Tx
from hub.db.schema import (
    commands,
    dispositions,
    inspections,
    refunds,
    return_items,
    returns,
    stores,
)
from hub.decisions import AMAZON_CHANNELS, OrderFacts, customer_key_of
from hub.policy import PriorRefund
from hub.projection import Changes, Loaded
from hub.values import money_of
from protocol import Envelope, Money, RefundRequested, ReturnReceived

CHUNK = 500
RETURN_MUTABLE = ("state", "grade", "inspected_at", "disposition", "disposed_at", "updated_at")


def load(tx: Tx, events: Sequence[Envelope]) -> Loaded:
    """Current rows of what ``events`` mention, and what deciding their refunds needs."""
    conn = tx.conn
    return_keys = {(e.store_id, getattr(e.body, "return_id")) for e in events  # noqa: B009
                   if hasattr(e.body, "return_id")}
    refund_keys = {(e.store_id, getattr(e.body, "refund_id")) for e in events  # noqa: B009
                   if e.kind == "refund.requested"}
    command_ids = {getattr(e.body, "command_id") for e in events  # noqa: B009
                   if e.kind == "command.applied"}
    loaded = Loaded(
        returns=_by_key(conn, returns, "return_id", return_keys),
        refunds=_by_key(conn, refunds, "refund_id", refund_keys),
        commands={r["command_id"]: r for r in _rows(conn, commands, "command_id", command_ids)})
    asks = [e for e in events if isinstance(e.body, RefundRequested)]
    if asks:
        _load_for_decisions(tx, loaded, asks, events)
    return loaded


def _load_for_decisions(tx: Tx, loaded: Loaded, asks: Sequence[Envelope],
                        events: Sequence[Envelope]) -> None:
    conn = tx.conn
    loaded.policy = policy_store.active_for_write(tx).compiled
    keys = {(e.store_id, getattr(e.body, "return_id")) for e in asks}  # noqa: B009
    loaded.paid = _paid(conn, {k for k in keys if k in loaded.returns})
    orders = {getattr(e.body, "order_id") or loaded.returns.get(  # noqa: B009
        (e.store_id, getattr(e.body, "return_id")), {}).get("order_id") for e in asks}  # noqa: B009
    customers = {k for o in orders if (k := customer_key_of(o))}
    loaded.history = _history(conn, customers)
    loaded.offline_limits = _offline_limits(conn, {e.store_id for e in asks})
    loaded.orders = _amazon_orders(conn, _amazon_order_ids(loaded, asks, events))


def _amazon_order_ids(loaded: Loaded, asks: Sequence[Envelope],
                      events: Sequence[Envelope]) -> set[str]:
    """Order ids of the Amazon sales asking for refunds (theirs, else their return's)."""
    fresh = {(e.store_id, e.body.return_id): e.body.order_id for e in events
             if isinstance(e.body, ReturnReceived)}
    ids: set[str] = set()
    for e in asks:
        body = e.body
        if not isinstance(body, RefundRequested) or body.channel not in AMAZON_CHANNELS:
            continue
        key = (e.store_id, body.return_id)
        order_id = (body.order_id or loaded.returns.get(key, {}).get("order_id")
                    or fresh.get(key))
        if order_id:
            ids.add(order_id)
    return ids


def _amazon_orders(conn: Connection, order_ids: set[str]) -> dict[str, OrderFacts]:
    """The synced Amazon orders with these ids (those the accounts agree on)."""
    found: dict[str, set[tuple[str, Any]]] = {}
    wanted = sorted(order_ids)
    for start in range(0, len(wanted), CHUNK):
        rows = conn.execute(select(amazon_orders.c.order_id, amazon_orders.c.marketplace_id,
                                   amazon_orders.c.purchased_at)
                            .where(amazon_orders.c.order_id.in_(wanted[start:start + CHUNK])))
        for r in rows:
            found.setdefault(r.order_id, set()).add((r.marketplace_id, r.purchased_at))
    return {order_id: OrderFacts(order_id, *facts.pop())
            for order_id, facts in found.items() if len(facts) == 1}


def _paid(conn: Connection, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Money | None]:
    """Item totals of stored returns (None when their lines mix currencies)."""
    lines: dict[tuple[str, str], list[Any]] = {k: [] for k in keys}
    for row in _rows(conn, return_items, "return_id", {r for _, r in keys}):
        key = (row["store_id"], row["return_id"])
        if key in lines:
            lines[key].append(row)
    out: dict[tuple[str, str], Money | None] = {}
    for key, rows in lines.items():
        currencies = {r["currency"] for r in rows}
        out[key] = None if len(currencies) != 1 else money_of(
            sum(r["unit_price"] * r["quantity"] for r in rows), currencies.pop())
    return out


def _history(conn: Connection, customers: set[str]) -> dict[str, list[PriorRefund]]:
    """Earlier refunds (not rejected) of these customers, oldest first."""
    history: dict[str, list[PriorRefund]] = {c: [] for c in customers}
    for start in range(0, len(customers), CHUNK):
        chunk = sorted(customers)[start:start + CHUNK]
        rows = conn.execute(select(refunds.c.customer_key, refunds.c.requested_at,
                                   refunds.c.amount, refunds.c.currency)
                            .where(refunds.c.customer_key.in_(chunk),
                                   refunds.c.state != "rejected")
                            .order_by(refunds.c.requested_at))
        for r in rows:
            history[r.customer_key].append(PriorRefund(r.requested_at,
                                                       money_of(r.amount, r.currency)))
    return history


def _offline_limits(conn: Connection, store_ids: set[str]) -> dict[str, Money | None]:
    rows = conn.execute(select(stores.c.store_id, stores.c.offline_limit,
                               stores.c.offline_currency)
                        .where(stores.c.store_id.in_(sorted(store_ids))))
    return {r.store_id: money_of(r.offline_limit, r.offline_currency)
            if r.offline_limit is not None and r.offline_currency else None for r in rows}


def _by_key(conn: Connection, table: Table, id_column: str,
            keys: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    rows = _rows(conn, table, id_column, {local for _, local in keys})
    return {k: r for r in rows if (k := (r["store_id"], r[id_column])) in keys}


def _rows(conn: Connection, table: Table, column: str, values: Iterable[str]) -> list[
        dict[str, Any]]:
    wanted = sorted(values)
    out: list[dict[str, Any]] = []
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        result = conn.execute(select(table).where(table.c[column].in_(chunk)))
        out.extend(dict(row._mapping) for row in result)
    return out


def flush(tx: Tx, changes: Changes) -> None:
    """Write every change of a batch; audit drafts go to the transaction's chain."""
    conn = tx.conn
    _insert(conn, returns, list(changes.returns_new.values()))
    _insert(conn, return_items, changes.items)
    _update_returns(conn, list(changes.returns_changed.values()))
    _insert(conn, inspections, changes.inspections)
    _insert(conn, dispositions, changes.dispositions)
    _insert(conn, refunds, list(changes.refunds_new.values()))
    _insert(conn, refund_rules, changes.refund_rules)
    _update_commands(conn, list(changes.commands_applied.values()))
    outbox.queue(conn, changes.commands, tx.now)
    for draft in changes.audit:
        tx.audit(draft)


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(table.insert(), rows)


def _update_returns(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = update(returns).where(
        returns.c.store_id == bindparam("k_store"), returns.c.return_id == bindparam("k_id")
    ).values({name: bindparam(f"v_{name}") for name in RETURN_MUTABLE})
    conn.execute(stmt, [{"k_store": r["store_id"], "k_id": r["return_id"],
                         **{f"v_{name}": r[name] for name in RETURN_MUTABLE}} for r in rows])


def _update_commands(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = update(commands).where(commands.c.command_id == bindparam("k_id")).values(
        applied_at=bindparam("v_applied_at"), result=bindparam("v_result"),
        detail=bindparam("v_detail"))
    conn.execute(stmt, [{"k_id": r["command_id"], "v_applied_at": r["applied_at"],
                         "v_result": r["result"], "v_detail": r["detail"]} for r in rows])
