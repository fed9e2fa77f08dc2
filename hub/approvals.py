"""Approve or reject a refund that waits for a person.

Rules (checked in this order, all before anything is written):
- the caller's role must grant ``approve``                               -> 403
- nobody approves their own request (token name vs ``requested_by``)     -> 403
- the refund must be in a state the table lets the action leave          -> 409
Then, in one transaction: the refund moves, the audit entry is written, and a ``refund.decided``
command is queued to the node that asked.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, update

from hub import commands as outbox
from hub.audit import AuditDraft
from hub.db.engine import writing
from hub.db.schema import refunds
from hub.permissions import Action, Principal, require, require_not_own
from hub.projection import CommandDraft, entity_id, refund_decided_body, refund_summary
from hub.queries import find_one
from hub.refunds import OUTCOME_OF, RefundAction, RefundState, transition
from protocol import new_message_id

MUTABLE = ("state", "outcome", "reasons", "decided_by", "decided_at", "decision_reason",
           "updated_at")


def decide_refund(engine: Engine, principal: Principal, refund_id: str, store: str | None,
                  approve: bool, reason: str | None) -> dict[str, Any]:
    """Approve (``approve=True``) or reject a pending refund; return the updated row."""
    require(principal, Action.APPROVE)
    action = RefundAction.APPROVE if approve else RefundAction.REJECT
    with writing(engine) as tx:
        row = find_one(tx.conn, refunds, "refund_id", refund_id, store, "refund", lock=True)
        if approve:
            require_not_own(principal, row["requested_by"])
        state = transition(RefundState(row["state"]), action)
        before = refund_summary(row)
        verdict = f"{'approved' if approve else 'rejected'} by {principal.name}"
        row.update(state=state.value, outcome=OUTCOME_OF[state].value, decided_by=principal.name,
                   decided_at=tx.now, decision_reason=reason, updated_at=tx.now,
                   reasons=[*row["reasons"], f"{verdict}: {reason}" if reason else verdict])
        tx.conn.execute(update(refunds).where(
            refunds.c.store_id == row["store_id"], refunds.c.refund_id == refund_id)
            .values({k: row[k] for k in MUTABLE}))
        outbox.queue(tx.conn, [CommandDraft(row["store_id"], row["node_id"], new_message_id(),
                                            refund_decided_body(row, tx.now))], tx.now)
        tx.audit(AuditDraft(principal.actor, principal.role.value, f"refund.{state.value}",
                            "refund", entity_id(row["store_id"], refund_id), before,
                            refund_summary(row), reason))
    return row
