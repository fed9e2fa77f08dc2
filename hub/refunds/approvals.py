"""Approve or reject refunds that wait for a person, one at a time or in bulk.

Rules (checked in this order, all before anything is written):
- the caller's role must grant ``approve``                                        -> 403
- the refund's store must be in the caller's scope, and the caller's role must reach the
  refund's approval level (``hub.access.permissions.approval_refusal``)                  -> 403
- nobody approves their own request (token/user name vs ``requested_by``)         -> 403
- the refund must be in a state the table lets the action leave                   -> 409
- bulk only: every refund passes the above; the selection's total in the policy's base currency
  equals the total the client saw (``expected_total``)                            -> 409
  and does not exceed the caller's bulk limit                                     -> 403
Then, in one transaction: the refunds move, one audit entry each, and a ``refund.decided``
command is queued to each node that asked (the store sees the outcome at its counter).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, update

from hub.access.permissions import (
    Action,
    PendingRefund,
    Principal,
    require,
    require_approval,
    require_not_own,
)
from hub.errors import Conflict, Forbidden, InputError
from hub.fleet import stores
from hub.refunds.origin import to_asker
from hub.refunds.projection import entity_id, refund_decided_body, refund_summary
from hub.refunds.states import OUTCOME_OF, RefundAction, RefundState, transition
from hub.returns.queries import find_one
from hub.storage import outbox
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import Tx, writing
from hub.storage.money import money_of
from hub.storage.tables.core import refunds
from protocol import Money

MUTABLE = (
    "state",
    "outcome",
    "reasons",
    "decided_by",
    "decided_at",
    "decision_reason",
    "updated_at",
)
BULK_MAX = 200


def pending_of(row: dict[str, Any], place: Any) -> PendingRefund:
    """What the approval check needs from a refund row."""
    return PendingRefund(
        place,
        money_of(row["amount"], row["currency"]),
        row["approval_level"],
        row["outcome"] == "manual_review",
        row["requested_by"],
    )


def _check(tx: Tx, principal: Principal, row: dict[str, Any], approve: bool) -> RefundState:
    place = stores.place(tx.conn, row["store_id"])
    require_approval(
        principal, pending_of(row, place), stores.offline_limit(tx.conn, row["store_id"])
    )
    if approve:
        require_not_own(principal, row["requested_by"])
    action = RefundAction.APPROVE if approve else RefundAction.REJECT
    return transition(RefundState(row["state"]), action)


def _apply(
    tx: Tx, principal: Principal, row: dict[str, Any], state: RefundState, reason: str | None
) -> None:
    before = refund_summary(row)
    verdict = f"{'approved' if state is RefundState.APPROVED else 'rejected'} by {principal.name}"
    row.update(
        state=state.value,
        outcome=OUTCOME_OF[state].value,
        decided_by=principal.name,
        decided_at=tx.now,
        decision_reason=reason,
        updated_at=tx.now,
        reasons=[*row["reasons"], f"{verdict}: {reason}" if reason else verdict],
    )
    tx.conn.execute(
        update(refunds)
        .where(refunds.c.store_id == row["store_id"], refunds.c.refund_id == row["refund_id"])
        .values({k: row[k] for k in MUTABLE})
    )
    outbox.queue(tx.conn, to_asker(row, refund_decided_body(row, tx.now)), tx.now)
    tx.audit(
        AuditDraft(
            principal.actor,
            principal.role.value,
            f"refund.{state.value}",
            "refund",
            entity_id(row["store_id"], row["refund_id"]),
            before,
            refund_summary(row),
            reason,
        )
    )


def decide_refund(
    engine: Engine,
    principal: Principal,
    refund_id: str,
    store: str | None,
    approve: bool,
    reason: str | None,
) -> dict[str, Any]:
    """Approve (``approve=True``) or reject a pending refund; return the updated row."""
    require(principal, Action.APPROVE)
    with writing(engine) as tx:
        row = find_one(tx.conn, refunds, "refund_id", refund_id, store, "refund", lock=True)
        _apply(tx, principal, row, _check(tx, principal, row, approve), reason)
    return row


def bulk_approve(
    engine: Engine,
    principal: Principal,
    keys: Sequence[tuple[str, str]],
    expected: Money,
    reason: str | None,
    default_limit: Decimal,
) -> list[dict[str, Any]]:
    """Approve every (store, refund) in ``keys`` or none; the total must be what was shown."""
    require(principal, Action.APPROVE)
    if not keys or len(keys) > BULK_MAX or len(set(keys)) != len(keys):
        raise InputError(f"select 1 to {BULK_MAX} different refunds", field="refunds")
    with writing(engine) as tx:
        rows = [
            find_one(tx.conn, refunds, "refund_id", refund_id, store, "refund", lock=True)
            for store, refund_id in keys
        ]
        states = [_checked(tx, principal, row) for row in rows]
        total = _total(rows, expected.currency)
        _guard(total, expected, principal.bulk_limit or default_limit)
        for row, state in zip(rows, states, strict=True):
            _apply(tx, principal, row, state, reason)
    return rows


def _checked(tx: Tx, principal: Principal, row: dict[str, Any]) -> RefundState:
    try:
        return _check(tx, principal, row, approve=True)
    except (Forbidden, Conflict) as err:
        ident = entity_id(row["store_id"], row["refund_id"])
        raise type(err)(f"refund {ident}: {err.message}", field="refunds") from err


def _total(rows: Sequence[dict[str, Any]], currency: str) -> Decimal:
    total = Decimal(0)
    for row in rows:
        if row["base_amount"] is None or row["base_currency"] != currency:
            raise Conflict(
                f"refund {entity_id(row['store_id'], row['refund_id'])} has no amount "
                f"in {currency}; approve it on its own",
                field="expected_total",
            )
        total += row["base_amount"]
    return total


def _guard(total: Decimal, expected: Money, limit: Decimal) -> None:
    shown = money_of(total, expected.currency)
    if total != expected.amount:
        raise Conflict(
            f"the selection totals {shown}, not the {expected} you saw: reload and check it again",
            field="expected_total",
        )
    if total > limit:
        raise Forbidden(
            f"the selection totals {shown}, above your bulk approval limit of "
            f"{money_of(limit, expected.currency)}",
            field="expected_total",
        )
