"""The claim: approved MFN refunds of one account and marketplace become one feed intent.

Runs inside one writing transaction (the hub's write lock), so two processes cannot claim the
same refund. Rules:
- nothing is claimed while the account has an unresolved feed (``intent`` or ``ambiguous``);
- a refund is a candidate when it is approved, channel ``amazon_mfn``, has an order id and a
  marketplace of the account, has no submission yet, and its order was synced for this account
  (the feed needs Amazon's order item ids); others wait for the orders sync;
- a candidate that cannot be expressed as an adjustment fails here, with the reason;
- the claim writes the feed row (``intent``, payload, lease), one submission per refund and the
  ``approved -> submitted`` moves, all audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, exists, select

from hub.amazon.accounts import ROLE, Account
from hub.amazon.feed import AdjustedItem, Adjustment, adjustment_feed
from hub.amazon.matching import move_refund
from hub.amazon.refund_rules import PlannedItem, RefundPlanError, ReturnLine, plan_refund
from hub.amazon.tables import amazon_feeds, amazon_orders, amazon_refund_submissions
from hub.audit import AuditDraft, jsonable
from hub.db.engine import Tx
from hub.db.schema import refunds, return_items
from hub.refunds import RefundAction, RefundState
from protocol import Channel

MAX_MESSAGES = 200
UNRESOLVED = ("intent", "ambiguous")


@dataclass
class Claim:
    """What one claim produced: the feed row (None if every candidate failed)."""

    feed: dict[str, Any] | None
    refunds: list[tuple[str, str]]
    failed: int


def claim_refunds(tx: Tx, account: Account, owner: str, lease_seconds: float) -> Claim | None:
    """Claim the next batch of refunds of ``account``; None when there is nothing to claim."""
    if (
        tx.conn.execute(
            select(amazon_feeds.c.feed_key).where(
                amazon_feeds.c.account == account.name, amazon_feeds.c.status.in_(UNRESOLVED)
            )
        ).first()
        is not None
    ):
        return None
    candidates = _candidates(tx.conn, account)
    if not candidates:
        return None
    market = candidates[0][0]["marketplace_id"]
    batch = [c for c in candidates if c[0]["marketplace_id"] == market][:MAX_MESSAGES]
    planned: list[tuple[dict[str, Any], list[PlannedItem]]] = []
    failed = 0
    for refund, order in batch:
        try:
            planned.append((refund, _plan(tx.conn, refund, order)))
        except RefundPlanError as err:
            move_refund(
                tx,
                refund["store_id"],
                refund["refund_id"],
                RefundAction.FAIL,
                account.actor,
                f"cannot be refunded through Amazon: {err}",
            )
            failed += 1
    feed = _intent(tx, account, owner, lease_seconds, market, planned) if planned else None
    return Claim(feed, [(r["store_id"], r["refund_id"]) for r, _ in planned], failed)


def _candidates(conn: Connection, account: Account) -> list[tuple[dict[str, Any], Any]]:
    sub = amazon_refund_submissions
    rows = conn.execute(
        select(refunds)
        .where(
            refunds.c.state == RefundState.APPROVED.value,
            refunds.c.channel == Channel.AMAZON_MFN.value,
            refunds.c.order_id.is_not(None),
            refunds.c.marketplace_id.in_(account.marketplace_ids),
            ~exists().where(
                and_(sub.c.store_id == refunds.c.store_id, sub.c.refund_id == refunds.c.refund_id)
            ),
        )
        .order_by(refunds.c.updated_at, refunds.c.store_id, refunds.c.refund_id)
    ).all()
    if not rows:
        return []
    orders = {
        o.order_id: o
        for o in conn.execute(
            select(amazon_orders).where(
                amazon_orders.c.account == account.name,
                amazon_orders.c.order_id.in_({r.order_id for r in rows}),
            )
        )
    }
    return [(dict(r._mapping), orders[r.order_id]) for r in rows if r.order_id in orders]


def _plan(conn: Connection, refund: dict[str, Any], order: Any) -> list[PlannedItem]:
    if order.marketplace_id != refund["marketplace_id"]:
        raise RefundPlanError(f"order {order.order_id} is in marketplace {order.marketplace_id}")
    if order.fulfilled_by == "AMAZON":
        raise RefundPlanError("Amazon refunds orders it fulfilled (FBA) itself")
    lines = [
        ReturnLine(r.sku, r.quantity, Decimal(r.unit_price))
        for r in conn.execute(
            select(return_items).where(
                return_items.c.store_id == refund["store_id"],
                return_items.c.return_id == refund["return_id"],
            )
        )
    ]
    skus = {str(i["sku"]): str(i["order_item_id"]) for i in order._mapping["items"] if i["sku"]}
    return plan_refund(
        refund["refund_id"], refund["amount"], refund["currency"], order.currency, lines, skus
    )


def _intent(
    tx: Tx,
    account: Account,
    owner: str,
    lease_seconds: float,
    market: str,
    planned: list[tuple[dict[str, Any], list[PlannedItem]]],
) -> dict[str, Any]:
    feed_key = str(uuid.uuid4())
    payload = adjustment_feed(account.seller_id, _adjustments(planned)).decode("utf-8")
    lease = tx.now + timedelta(seconds=lease_seconds)
    feed = {"feed_key": feed_key, "account": account.name, "marketplace_id": market,
            "status": "intent", "document_id": None, "payload": payload,
            "messages": len(planned), "owner": owner, "intent_at": tx.now,
            "lease_until": lease, "updated_at": tx.now}  # fmt: skip
    tx.conn.execute(amazon_feeds.insert().values(feed))
    for n, (refund, items) in enumerate(planned, start=1):
        _submission(tx, account, feed_key, n, refund, items)
    refunds = [f"{r['store_id']}/{r['refund_id']}" for r, _ in planned]
    after = jsonable({"status": "intent", "marketplace_id": market, "refunds": refunds})
    tx.audit(AuditDraft(account.actor, ROLE, "amazon.feed.intent", "amazon_feed", feed_key,
                        None, after, "recorded before createFeed is called"))  # fmt: skip
    return feed


def _adjustments(planned: list[tuple[dict[str, Any], list[PlannedItem]]]) -> list[Adjustment]:
    """One message per refund, one adjusted item per order line, all given back as Principal."""
    return [
        Adjustment(n, refund["order_id"], refund["currency"], tuple(
            AdjustedItem(i.order_item_id, i.merchant_item_id, (("Principal", i.principal),))
            for i in items))
        for n, (refund, items) in enumerate(planned, start=1)
    ]  # fmt: skip


def _submission(
    tx: Tx,
    account: Account,
    feed_key: str,
    message_id: int,
    refund: dict[str, Any],
    items: list[PlannedItem],
) -> None:
    tx.conn.execute(
        amazon_refund_submissions.insert().values(
            store_id=refund["store_id"],
            refund_id=refund["refund_id"],
            account=account.name,
            feed_key=feed_key,
            message_id=message_id,
            order_id=refund["order_id"],
            marketplace_id=refund["marketplace_id"],
            amount=refund["amount"],
            currency=refund["currency"],
            status="submitted",
            created_at=tx.now,
            updated_at=tx.now,
            items=[
                {
                    "order_item_id": i.order_item_id,
                    "merchant_item_id": i.merchant_item_id,
                    "principal": format(i.principal, "f"),
                    "adjustment_id": None,
                }
                for i in items
            ],
        )
    )
    move_refund(
        tx,
        refund["store_id"],
        refund["refund_id"],
        RefundAction.SUBMIT,
        account.actor,
        f"order adjustment feed {feed_key}, message {message_id}: intent recorded "
        "before createFeed",
    )
