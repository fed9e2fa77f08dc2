"""Read models of the local API, built from the node's rows (no writes here).

``sent_to_hub`` is derived, not stored: an event is with the hub once the hub's ack covers its
seq, which is exactly when the outbox may forget it (or, for a refund, once the hub has decided
it: the decision can overtake the batched ack deletion).
"""

from __future__ import annotations

import json
from typing import Any

from edge_agent.returns import words
from edge_agent.returns.check_words import mismatch_reasons
from edge_agent.returns.models import (
    DecisionView,
    DispositionView,
    ExpectedView,
    InspectionView,
    PaymentView,
    RefundView,
    ReturnPage,
    ReturnView,
)
from edge_agent.returns.states import ReturnState, allowed_actions, total_of
from edge_agent.storage import records
from edge_agent.storage.ids import return_code
from edge_agent.storage.outbox import LAST_ACKED
from edge_agent.storage.store import Tx
from protocol import DecisionRule, ExpectedReturn, Money, ReturnItem

Row = dict[str, Any]


def return_view(tx: Tx, return_id: str, language: str = "en") -> ReturnView:
    """The full view of one return (NotFound if there is none); staff sentences in
    ``language``."""
    row = records.return_row(tx, return_id)
    return _assemble(tx, row, tx.counter(LAST_ACKED), language)


def recent_returns(tx: Tx, limit: int, offset: int, language: str = "en") -> ReturnPage:
    """A page of returns, newest first."""
    rows = tx.all("SELECT * FROM returns ORDER BY received_at DESC, id LIMIT ? OFFSET ?",
                  (limit + 1, offset))
    acked = tx.counter(LAST_ACKED)
    views = [_assemble(tx, row, acked, language) for row in rows[:limit]]
    more = offset + limit if len(rows) > limit else None
    return ReturnPage(items=views, limit=limit, offset=offset, next_offset=more)


def _assemble(tx: Tx, row: Row, acked: int, language: str) -> ReturnView:
    state = ReturnState(row["state"])
    return ReturnView(
        return_id=row["id"], return_code=return_code(row["id"]), state=state.value,
        channel=row["channel"], reason=row["reason"],
        order_id=row["order_id"], rma_id=row["rma_id"], marketplace_id=row["marketplace_id"],
        scanned_codes=json.loads(row["scanned_codes"]), mismatch=bool(row["mismatch"]),
        mismatch_reasons=mismatch_reasons(json.loads(row["mismatch_detail"]), language),
        staff_id=row["staff_id"],
        items=[_item(item) for item in records.items_of(tx, row["id"])],
        total=Money.of(row["total_amount"], row["currency"]), sold_at=row["sold_at"],
        received_at=row["received_at"], updated_at=row["updated_at"],
        sent_to_hub=row["event_seq"] <= acked,
        allowed_actions=[action.value for action in allowed_actions(state)],
        inspection=_inspection(tx, row["id"]), disposition=_disposition(tx, row["id"]),
        refund=_refund(records.refund_of(tx, row["id"]), acked, language),
    )


def _item(row: Row) -> ReturnItem:
    opened = None if row["opened"] is None else bool(row["opened"])
    return ReturnItem(sku=row["sku"], quantity=row["quantity"],
                      unit_price=Money.of(row["unit_amount"], row["currency"]),
                      description=row["description"], gtin=row["gtin"], asin=row["asin"],
                      category=row["category"], opened=opened)


def _inspection(tx: Tx, return_id: str) -> InspectionView | None:
    row = tx.one("SELECT * FROM inspections WHERE return_id = ?", (return_id,))
    if row is None:
        return None
    return InspectionView(
        grade=row["grade"], reason=row["reason"], notes=row["notes"],
        compliance_tags=json.loads(row["compliance_tags"]), photos=json.loads(row["photos"]),
        inspected_by=row["inspected_by"], inspected_at=row["inspected_at"])


def _disposition(tx: Tx, return_id: str) -> DispositionView | None:
    row = tx.one("SELECT * FROM dispositions WHERE return_id = ?", (return_id,))
    if row is None:
        return None
    return DispositionView(disposition=row["disposition"], location=row["location"],
                           decided_by=row["decided_by"], decided_at=row["decided_at"])


def _refund(row: Row | None, acked: int, language: str) -> RefundView | None:
    if row is None:
        return None
    decision = None
    if row["decided_at"] is not None:
        decision = DecisionView(
            outcome=row["status"],
            amount=Money.of(row["decided_amount"], row["decided_currency"]),
            approval_level=row["approval_level"], reasons=json.loads(row["reasons"] or "[]"),
            rules=[DecisionRule.model_validate(r) for r in json.loads(row["rules"] or "[]")],
            decided_by=row["decided_by"], decided_at=row["decided_at"])
    return RefundView(
        refund_id=row["id"], amount=Money.of(row["amount"], row["currency"]),
        status=row["status"], outcome=decision.outcome if decision else None,
        requested_by=row["requested_by"], requested_at=row["requested_at"],
        sent_to_hub=row["event_seq"] <= acked or decision is not None, decision=decision,
        approved_offline_by=row["approved_offline_by"], refund_method=row["refund_method"],
        payment=_payment(row), staff_reasons=_staff_reasons(row, decision, language))


def _staff_reasons(row: Row, decision: DecisionView | None, language: str) -> list[str]:
    """What the counter tells its staff about the refund (``edge_agent.returns.words``)."""
    if decision is not None:
        said = words.rule_sentences(decision.rules, decision.outcome, decision.amount, language)
        who = words.decided_sentence(decision.decided_by, language)
        return [*said, who] if who else said
    if row["status"] == "approved_offline" and row["approved_offline_by"]:
        return [words.offline_sentence(row["approved_offline_by"], language)]
    return []


def _payment(row: Row) -> PaymentView | None:
    if row["payment_status"] is None:
        return None
    return PaymentView(status=row["payment_status"], detail=row["payment_detail"] or "",
                       at=row["payment_at"])


def expected_view(expected: ExpectedReturn) -> ExpectedView:
    """An API view of a cached RMA, with its total."""
    return ExpectedView(
        rma_id=expected.rma_id, order_id=expected.order_id, channel=expected.channel,
        marketplace_id=expected.marketplace_id, items=list(expected.items),
        total=total_of(list(expected.items)), customer_hint=expected.customer_hint,
        expected_by=expected.expected_by)
