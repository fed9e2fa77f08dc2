"""Submitted refunds followed to the money: confirmed by a refund event, settled by a settlement.

Rules:
- ``confirm_pending`` runs in the transaction that stores refund events: each item of a
  submitted refund is matched to a stored event (``refund_rules.match_items``), Amazon's
  adjustment item id is recorded on it, and when every item has one the refund moves
  ``submitted -> confirmed``;
- ``settle_pending`` runs in the transaction that stores a settlement: ``Refund`` lines whose
  ``merchant-adjustment-item-id`` is one of our items mark them settled; when all are, the refund
  moves ``confirmed -> settled`` (through ``confirmed`` first if its event was not seen yet);
- every refund state change goes through ``move_refund``: the hub's table
  (``hub.refunds.states.transition``), ``updated_at``, an audit entry with before, after and why,
  and a
  ``refund.status`` command to the store node that asked for the refund (none for a refund of
  origin ``hub``: ``hub.refunds.origin``), in the same transaction, so the counter sees where the
  money is.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from hub.amazon.accounts import ROLE, Account
from hub.amazon.refunds.rules import EventLine, match_items
from hub.errors import InvalidTransition
from hub.refunds.origin import to_asker
from hub.refunds.projection import entity_id, refund_summary
from hub.refunds.states import RefundAction, RefundState, transition
from hub.storage import outbox
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import Tx
from hub.storage.tables.amazon import (
    amazon_refund_events,
    amazon_refund_submissions,
    amazon_settlement_lines,
)
from hub.storage.tables.core import refunds
from protocol import RefundPayment, RefundStatus

log = logging.getLogger(__name__)
PAYMENT_OF: dict[RefundState, RefundPayment] = {
    RefundState.SUBMITTED: RefundPayment.SUBMITTED,
    RefundState.CONFIRMED: RefundPayment.CONFIRMED,
    RefundState.SETTLED: RefundPayment.SETTLED,
    RefundState.FAILED: RefundPayment.FAILED,
}
OPEN = ("submitted", "accepted")
SKEW = timedelta(minutes=10)


def move_refund(
    tx: Tx, store_id: str, refund_id: str, action: RefundAction, actor: str, why: str
) -> RefundState:
    """Move one refund by ``action`` (InvalidTransition if the table refuses) and audit it."""
    row = dict(
        tx.conn.execute(
            select(refunds)
            .where(refunds.c.store_id == store_id, refunds.c.refund_id == refund_id)
            .with_for_update()
        )
        .one()
        ._mapping
    )
    state = transition(RefundState(row["state"]), action)
    before = refund_summary(row)
    row.update(state=state.value, updated_at=tx.now)
    tx.conn.execute(
        update(refunds)
        .where(refunds.c.store_id == store_id, refunds.c.refund_id == refund_id)
        .values(state=state.value, updated_at=tx.now)
    )
    tx.audit(
        AuditDraft(
            actor,
            ROLE,
            f"refund.{state.value}",
            "refund",
            entity_id(store_id, refund_id),
            before,
            refund_summary(row),
            why,
        )
    )
    _tell_store(tx, row, state, why)
    return state


def _tell_store(tx: Tx, row: dict[str, Any], state: RefundState, why: str) -> None:
    """Queue ``refund.status`` to the node that asked (a failure carries the reason)."""
    payment = PAYMENT_OF.get(state)
    if payment is None:
        return
    body = RefundStatus(refund_id=row["refund_id"], return_id=row["return_id"], status=payment,
                        detail=why[:2000] if payment is RefundPayment.FAILED else "", at=tx.now)
    outbox.queue(tx.conn, to_asker(row, body), tx.now)


def _submissions(conn: Connection, account: str, statuses: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        dict(r._mapping)
        for r in conn.execute(
            select(amazon_refund_submissions).where(
                amazon_refund_submissions.c.account == account,
                amazon_refund_submissions.c.status.in_(statuses),
            )
        )
    ]


def _save(tx: Tx, sub: dict[str, Any], status: str) -> None:
    tx.conn.execute(
        update(amazon_refund_submissions)
        .where(
            amazon_refund_submissions.c.store_id == sub["store_id"],
            amazon_refund_submissions.c.refund_id == sub["refund_id"],
        )
        .values(items=sub["items"], status=status, updated_at=tx.now)
    )


def confirm_pending(tx: Tx, account: Account) -> int:
    """Confirm submitted refunds whose refund events are stored; how many were confirmed."""
    subs = _submissions(tx.conn, account.name, OPEN)
    if not subs:
        return 0
    rows = tx.conn.execute(
        select(amazon_refund_events).where(
            amazon_refund_events.c.account == account.name,
            amazon_refund_events.c.order_id.in_({s["order_id"] for s in subs}),
        )
    )
    events = [
        EventLine(r.order_id, r.order_item_id, r.adjustment_item_id, r.principal, r.posted_at)
        for r in rows
    ]
    taken = _taken(tx.conn, account.name, {s["order_id"] for s in subs})
    confirmed = 0
    for sub in subs:
        found = match_items(sub["order_id"], sub["items"], events, taken, sub["created_at"] - SKEW)
        if not found:
            continue
        sub["items"] = [
            {**i, "adjustment_id": found.get(i["merchant_item_id"], i.get("adjustment_id"))}
            for i in sub["items"]
        ]
        done = all(i.get("adjustment_id") for i in sub["items"])
        if done and _moved(
            tx,
            sub,
            RefundAction.CONFIRM,
            account.actor,
            "Amazon posted the refund: adjustment "
            + ", ".join(i["adjustment_id"] for i in sub["items"]),
        ):
            confirmed += 1
        _save(tx, sub, "confirmed" if done else sub["status"])
    return confirmed


def _taken(conn: Connection, account: str, orders: set[str]) -> set[str]:
    """The adjustment ids submissions of these ``orders`` have taken (an order's refund events
    are matched only to its own submissions: the account's other orders cannot take them)."""
    items = conn.execute(
        select(amazon_refund_submissions.c["items"]).where(
            amazon_refund_submissions.c.account == account,
            amazon_refund_submissions.c.order_id.in_(sorted(orders)),
        )
    ).scalars()
    return {str(i["adjustment_id"]) for group in items for i in group if i.get("adjustment_id")}


def settle_pending(tx: Tx, account: Account) -> int:
    """Settle refunds whose settlement lines are stored; how many were settled."""
    subs = _submissions(tx.conn, account.name, (*OPEN, "confirmed"))
    ours = {i["merchant_item_id"]: sub for sub in subs for i in sub["items"]}
    if not ours:
        return 0
    lines = tx.conn.execute(
        select(amazon_settlement_lines).where(
            amazon_settlement_lines.c.account == account.name,
            amazon_settlement_lines.c.transaction_type == "Refund",
            amazon_settlement_lines.c.merchant_adjustment_item_id.in_(list(ours)),
        )
    )
    seen: dict[str, Any] = {}
    for line in lines:
        seen.setdefault(line.merchant_adjustment_item_id, line)
    settled = 0
    for sub in {id(s): s for s in ours.values()}.values():
        if _settle(tx, account, sub, seen):
            settled += 1
    return settled


def _settle(tx: Tx, account: Account, sub: dict[str, Any], seen: dict[str, Any]) -> bool:
    items = sub["items"]
    if not all(i["merchant_item_id"] in seen for i in items):
        return False
    sub["items"] = [
        {
            **i,
            "adjustment_id": i.get("adjustment_id") or seen[i["merchant_item_id"]].adjustment_id,
            "settlement_id": seen[i["merchant_item_id"]].settlement_id,
        }
        for i in items
    ]
    settlements = ", ".join(sorted({i["settlement_id"] for i in sub["items"]}))
    if sub["status"] != "confirmed" and not _moved(
        tx,
        sub,
        RefundAction.CONFIRM,
        account.actor,
        f"Amazon settled the refund before its event was read (settlement {settlements})",
    ):
        return False
    if not _moved(
        tx, sub, RefundAction.SETTLE, account.actor, f"settlement {settlements} holds the refund"
    ):
        return False
    _save(tx, sub, "settled")
    return True


def _moved(tx: Tx, sub: dict[str, Any], action: RefundAction, actor: str, why: str) -> bool:
    """Move the refund, or log why it cannot move (someone changed it meanwhile)."""
    try:
        move_refund(tx, sub["store_id"], sub["refund_id"], action, actor, why)
    except InvalidTransition as err:
        log.warning("refund %s/%s: %s", sub["store_id"], sub["refund_id"], err.message)
        return False
    return True
