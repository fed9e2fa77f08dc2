"""The claim: approved MFN refunds of one account and marketplace become one feed intent.

Runs inside one writing transaction (the hub's write lock), so two processes cannot claim the
same refund. Rules:
- nothing is claimed while the account has an unresolved feed (``intent`` or ``ambiguous``; a
  feed a person resolved is ``sent`` or ``abandoned``, neither blocks);
- a refund is a candidate when it is channel ``amazon_mfn``, has an order id and a marketplace of
  the account, its order was synced for this account (the feed needs Amazon's order item ids;
  others wait for the orders sync), and it is either approved with no submission yet, or failed
  with a retry request (``amazon_refund_retries``, made by ``refund_ops.retry_refund``);
- a candidate that cannot be expressed as an adjustment fails here, with the reason: an approved
  one moves ``approved -> failed``; a retried one is failed already, so it stays failed, its
  retry request is consumed and a ``refund.failed`` entry records the new reason;
- the claim writes the feed row (``intent``, payload, lease), one submission per refund and the
  ``approved -> submitted`` moves, all audited;
- a retried refund's old submission row is replaced by the new one (the old row goes into the
  ``amazon.refund.resubmitted`` audit entry's ``before``), it moves ``failed -> submitted``
  (``RefundAction.RETRY``) and its retry request is deleted, in the same transaction. Its items
  keep the same ``MerchantAdjustmentItemID`` (the refund id, ``refund_rules``): Amazon applied
  nothing of a refused message, so the id stays the refund's one key in the settlement.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, exists, or_, select

from hub.amazon.accounts import ROLE, Account
from hub.amazon.files.feed import AdjustedItem, Adjustment, adjustment_feed
from hub.amazon.refunds.matching import move_refund
from hub.amazon.refunds.rules import PlannedItem, RefundPlanError, ReturnLine, plan_refund
from hub.refunds.projection import entity_id, refund_summary
from hub.refunds.states import RefundAction, RefundState
from hub.storage.audit_chain import AuditDraft, jsonable
from hub.storage.engine import Tx
from hub.storage.tables.amazon import (
    amazon_feeds,
    amazon_orders,
    amazon_refund_retries,
    amazon_refund_submissions,
)
from hub.storage.tables.core import refunds, return_items
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
            _fail(tx, account, refund, f"cannot be refunded through Amazon: {err}")
            failed += 1
    feed = _intent(tx, account, owner, lease_seconds, market, planned) if planned else None
    return Claim(feed, [(r["store_id"], r["refund_id"]) for r, _ in planned], failed)


def _fail(tx: Tx, account: Account, refund: dict[str, Any], why: str) -> None:
    """An approved refund fails; a retried one (failed already) is failed again."""
    if refund["state"] == RefundState.APPROVED.value:
        move_refund(tx, refund["store_id"], refund["refund_id"], RefundAction.FAIL,
                    account.actor, why)  # fmt: skip
        return
    request = _take(tx, amazon_refund_retries, refund)
    summary = refund_summary(refund)
    ident = entity_id(refund["store_id"], refund["refund_id"])
    before = {**summary, "retry": jsonable(request)}
    tx.audit(AuditDraft(account.actor, ROLE, "refund.failed", "refund", ident, before, summary,
                        f"retry not sent: {why}"))  # fmt: skip


def _of(table: Any) -> Any:
    """``table``'s row for the refund being selected (correlated)."""
    return and_(table.c.store_id == refunds.c.store_id, table.c.refund_id == refunds.c.refund_id)


def _candidates(conn: Connection, account: Account) -> list[tuple[dict[str, Any], Any]]:
    approved = and_(
        refunds.c.state == RefundState.APPROVED.value,
        ~exists().where(_of(amazon_refund_submissions)),
    )
    retried = and_(
        refunds.c.state == RefundState.FAILED.value, exists().where(_of(amazon_refund_retries))
    )
    rows = conn.execute(
        select(refunds)
        .where(
            or_(approved, retried),
            refunds.c.channel == Channel.AMAZON_MFN.value,
            refunds.c.order_id.is_not(None),
            refunds.c.marketplace_id.in_(account.marketplace_ids),
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


def plan_problem(conn: Connection, refund: dict[str, Any]) -> str | None:
    """Why ``refund`` cannot be expressed as an adjustment now; None when it can, or when its
    order is not synced yet (the claim waits for it)."""
    order = conn.execute(
        select(amazon_orders)
        .where(
            amazon_orders.c.order_id == refund["order_id"],
            amazon_orders.c.marketplace_id == refund["marketplace_id"],
        )
        .order_by(amazon_orders.c.account)
    ).first()
    if order is None:
        return None
    try:
        _plan(conn, refund, order)
    except RefundPlanError as err:
        return str(err)
    return None


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
    """Insert the refund's submission and move it to ``submitted`` (a retried refund: see
    ``_resubmitted``)."""
    retried = refund["state"] == RefundState.FAILED.value
    request = _take(tx, amazon_refund_retries, refund) if retried else None
    old = _take(tx, amazon_refund_submissions, refund) if retried else None
    row = _submission_row(tx, account, feed_key, message_id, refund, items)
    tx.conn.execute(amazon_refund_submissions.insert().values(row))
    why = (
        f"order adjustment feed {feed_key}, message {message_id}: intent recorded before createFeed"
    )
    if request is None:
        move_refund(tx, refund["store_id"], refund["refund_id"], RefundAction.SUBMIT,
                    account.actor, why)  # fmt: skip
    else:
        _resubmitted(tx, account, request, old, row, why)


def _submission_row(
    tx: Tx,
    account: Account,
    feed_key: str,
    message_id: int,
    refund: dict[str, Any],
    items: list[PlannedItem],
) -> dict[str, Any]:
    return {
        "store_id": refund["store_id"],
        "refund_id": refund["refund_id"],
        "account": account.name,
        "feed_key": feed_key,
        "message_id": message_id,
        "order_id": refund["order_id"],
        "marketplace_id": refund["marketplace_id"],
        "amount": refund["amount"],
        "currency": refund["currency"],
        "status": "submitted",
        "error": None,
        "created_at": tx.now,
        "updated_at": tx.now,
        "items": [
            {
                "order_item_id": i.order_item_id,
                "merchant_item_id": i.merchant_item_id,
                "principal": format(i.principal, "f"),
                "adjustment_id": None,
            }
            for i in items
        ],
    }


def _resubmitted(
    tx: Tx,
    account: Account,
    request: dict[str, Any],
    old: dict[str, Any] | None,
    row: dict[str, Any],
    why: str,
) -> None:
    """A retried refund: ``failed -> submitted``, and the replaced submission audited."""
    asked = f"retry requested by {request['requested_by']}: {request['reason']}"
    move_refund(tx, row["store_id"], row["refund_id"], RefundAction.RETRY, account.actor,
                f"{asked}; {why}")  # fmt: skip
    tx.audit(AuditDraft(account.actor, ROLE, "amazon.refund.resubmitted",
                        "amazon_refund_submission", entity_id(row["store_id"], row["refund_id"]),
                        jsonable(old), jsonable(row), asked))  # fmt: skip


def _take(tx: Tx, table: Any, refund: dict[str, Any]) -> dict[str, Any] | None:
    """Delete the refund's row of ``table`` (its retry request, its old submission) and return
    it as it was; None if it had none."""
    key = and_(table.c.store_id == refund["store_id"], table.c.refund_id == refund["refund_id"])
    row = tx.conn.execute(select(table).where(key)).first()
    if row is None:
        return None
    tx.conn.execute(table.delete().where(key))
    return dict(row._mapping)
