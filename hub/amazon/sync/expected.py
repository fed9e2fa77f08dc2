"""Store drop-off returns become expected returns at that store (``return.expected`` commands).

Rules:
- an MFN return whose label says ``StoreDropOff`` with carrier ``STORE:<id>`` is announced to
  every node of store ``<id>`` (or of ``ACORN_HUB_AMAZON_STORE_MAP[<id>]``) through
  ``hub.storage.outbox.announce_expected``, so the counter knows it, offline too;
- once per (store, node, RMA): the commands to every node of the store are queued in the same
  transaction that marks the return announced, so a sync killed at any point either announced it
  and marked it or did neither (nothing reads the command outbox, which grows with the history);
- a store the hub does not know (no node) is logged, counted and kept as ``unknown_store``; it is
  tried again on every returns sync, and announced as soon as the store has a node;
- a return already closed or refunded by the time we see it is not announced (``not_needed``);
- the unit price is the order line's: from the orders sync, else fetched with ``getOrder`` (and
  stored as the orders sync would), else order amount / quantity from the report.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update

from hub.amazon.accounts import ROLE
from hub.amazon.context import JobContext
from hub.amazon.store import problem
from hub.amazon.sync.orders import fetch_order
from hub.storage.engine import Tx, reading, writing
from hub.storage.outbox import announce_expected
from hub.storage.tables.amazon import amazon_orders, amazon_returns
from hub.storage.tables.core import nodes
from protocol import Channel, ExpectedReturn, minor_units

log = logging.getLogger(__name__)
WAITING = ("pending", "unknown_store")


def push_expected(ctx: JobContext) -> None:
    """Announce the account's waiting store drop-off returns to their stores."""
    with reading(ctx.engine) as conn:
        rows = [
            dict(r._mapping)
            for r in conn.execute(
                select(amazon_returns).where(
                    amazon_returns.c.account == ctx.account.name,
                    amazon_returns.c.expected.in_(WAITING),
                )
            )
        ]
    by_rma: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_rma[row["rma_id"]].append(row)
    for rma_id, lines in sorted(by_rma.items()):
        outcome = _announce(ctx, rma_id, lines)
        if outcome not in (lines[0]["expected"], "queued"):  # queued: marked as it was queued
            with writing(ctx.engine) as tx:
                _mark(tx, ctx, rma_id, outcome)


def _announce(ctx: JobContext, rma_id: str, lines: list[dict[str, Any]]) -> str:
    first = lines[0]
    if first["status"] == "Closed" or any(line["refunded_amount"] for line in lines):
        return "not_needed"
    store_id = ctx.settings.store_map.get(first["store_ref"], first["store_ref"])
    with reading(ctx.engine) as conn:
        node_ids = list(
            conn.execute(select(nodes.c.node_id).where(nodes.c.store_id == store_id)).scalars()
        )
    if not node_ids:
        log.warning(
            "account %s: return %s is to be dropped off at store %r, which the hub "
            "does not know; kept for later",
            ctx.account.name,
            rma_id,
            store_id,
        )
        ctx.tally.unknown_stores += 1
        return "unknown_store"
    body = _body(ctx, rma_id, lines)
    if body is None:
        return "invalid"
    with writing(ctx.engine) as tx:
        if not _mark(tx, ctx, rma_id, "queued"):
            return "queued"  # another sync announced it since this one read it
        for node_id in node_ids:
            announce_expected(tx, store_id, node_id, body, ctx.account.actor, ROLE)
    ctx.tally.announced += len(node_ids)
    return "queued"


def _body(ctx: JobContext, rma_id: str, lines: list[dict[str, Any]]) -> ExpectedReturn | None:
    first = lines[0]
    prices = _prices(ctx, first["order_id"], first["marketplace_id"])
    try:
        return ExpectedReturn.model_validate(
            {
                "rma_id": rma_id,
                "order_id": first["order_id"],
                "channel": Channel.AMAZON_MFN,
                "marketplace_id": first["marketplace_id"],
                "items": [_item(line, prices) for line in lines],
            }
        )
    except (ValidationError, ValueError, ArithmeticError) as err:
        with writing(ctx.engine) as tx:
            problem(
                tx.conn,
                tx.now,
                ctx.account.name,
                ctx.job,
                f"return {rma_id} cannot be announced to its store: {err}",
            )
        ctx.tally.errors += 1
        return None


def _item(line: dict[str, Any], prices: dict[str, Decimal]) -> dict[str, Any]:
    currency = line["currency"]
    price = prices.get(line["sku"])
    if price is None and line["order_amount"] is not None:
        price = line["order_amount"] / (line["order_quantity"] or 1)
    exponent = Decimal(1).scaleb(-minor_units(currency))
    return {
        "sku": line["sku"],
        "quantity": line["quantity"],
        "unit_price": {
            "amount": str((price or Decimal(0)).quantize(exponent)),
            "currency": currency,
        },
        "description": line["item_name"][:200] or None,
        "asin": line["asin"] or None,
    }


def _prices(ctx: JobContext, order_id: str, marketplace_id: str) -> dict[str, Decimal]:
    """Unit prices by SKU of the order: stored by the orders sync, else fetched now.

    Fetching (getOrder) rather than guessing keeps the announcement the same whichever of the
    orders and returns syncs runs first.
    """
    with reading(ctx.engine) as conn:
        items = conn.execute(
            select(amazon_orders.c["items"]).where(
                amazon_orders.c.account == ctx.account.name, amazon_orders.c.order_id == order_id
            )
        ).scalar()
    if items is None:
        row = fetch_order(ctx, marketplace_id, order_id)
        items = row["items"] if row else []
    return {
        str(item["sku"]): Decimal(item["unit_price"])
        for item in items
        if item.get("sku") and item.get("unit_price") is not None
    }


def _mark(tx: Tx, ctx: JobContext, rma_id: str, outcome: str) -> bool:
    """Set the RMA's outcome if it is still waiting; False when it no longer was."""
    changed = tx.conn.execute(
        update(amazon_returns)
        .where(amazon_returns.c.account == ctx.account.name, amazon_returns.c.rma_id == rma_id,
               amazon_returns.c.expected.in_(WAITING))
        .values(expected=outcome)
    )
    return changed.rowcount > 0
