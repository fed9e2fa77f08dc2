"""Rows of the node's business tables: writing facts and reading them back as plain dicts.

Rules: functions take an open ``Tx`` (the caller owns the transaction) and never commit; they
store what the protocol bodies say, in the column types of ``migrations`` (money as exact text,
timestamps as UTC text, lists as JSON); lookups that must find something raise ``NotFound``
naming the field the id came from.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from edge_agent.errors import NotFound
from edge_agent.storage.store import Tx
from protocol import (
    DispositionRecorded,
    ExpectedReturn,
    InspectionRecorded,
    Money,
    RefundDecided,
    RefundRequested,
    RefundStatus,
    ReturnReceived,
    ReturnState,
    format_utc,
)

Row = dict[str, Any]


def _utc(value: datetime | None) -> str | None:
    return None if value is None else format_utc(value)


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


RETURN_SUMMED = ("id", "channel", "reason", "order_id", "rma_id", "total_amount", "currency",
                 "received_at", "event_seq")


def return_checksum(row: Row) -> str:
    """Checksum of a return row's fixed facts (not its state, which moves)."""
    text = "\x1f".join(str(row.get(name)) for name in RETURN_SUMMED)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def insert_return(tx: Tx, event: ReturnReceived, state: ReturnState, total: Money,
                  mismatch_reasons: list[str], seq: int) -> None:
    """Store a received return and its items (category, opened flag and sale time as sent),
    with the checksum of its fixed facts."""
    received_at = _utc(event.received_at)
    fixed = {"id": event.return_id, "channel": event.channel.value, "reason": event.reason,
             "order_id": event.order_id, "rma_id": event.rma_id,
             "total_amount": format(total.amount, "f"), "currency": total.currency,
             "received_at": received_at, "event_seq": seq}
    tx.execute(
        "INSERT INTO returns(id, state, channel, reason, order_id, rma_id, marketplace_id, "
        "scanned_codes, mismatch, mismatch_detail, staff_id, total_amount, currency, received_at, "
        "updated_at, event_seq, sold_at, checksum) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (event.return_id, state.value, event.channel.value, event.reason, event.order_id,
         event.rma_id, event.marketplace_id, json.dumps(event.scanned_codes), int(event.mismatch),
         json.dumps(mismatch_reasons), event.staff_id, fixed["total_amount"], total.currency,
         received_at, received_at, seq, _utc(event.sold_at), return_checksum(fixed)))
    tx.db.conn.executemany(
        "INSERT INTO return_items(return_id, line, sku, quantity, unit_amount, currency, "
        "description, gtin, asin, category, opened) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [(event.return_id, line, item.sku, item.quantity, format(item.unit_price.amount, "f"),
          item.unit_price.currency, item.description, item.gtin, item.asin, item.category,
          _flag(item.opened))
         for line, item in enumerate(event.items, start=1)])


def return_row(tx: Tx, return_id: str) -> Row:
    """The return's row, or NotFound."""
    row = tx.one("SELECT * FROM returns WHERE id = ?", (return_id,))
    if row is None:
        raise NotFound(f"no return {return_id!r} at this node", field="return_id")
    return row


def set_state(tx: Tx, return_id: str, state: ReturnState, at: datetime) -> None:
    """Move a return to ``state``."""
    tx.execute("UPDATE returns SET state = ?, updated_at = ? WHERE id = ?",
               (state.value, format_utc(at), return_id))


def return_ids_for_code(tx: Tx, code: str) -> list[str]:
    """Returns whose id, RMA id or order id is ``code``, newest first."""
    rows = tx.execute(
        "SELECT id FROM returns WHERE id = ? OR id = ? OR rma_id = ? OR order_id = ? "
        "ORDER BY received_at DESC LIMIT 20", (code, code.upper(), code, code)).fetchall()
    return [row[0] for row in rows]


def return_id_for_rma(tx: Tx, rma_id: str) -> str | None:
    """The return already recorded for an RMA, if any."""
    value = tx.scalar("SELECT id FROM returns WHERE rma_id = ? LIMIT 1", (rma_id,))
    return None if value is None else str(value)


def items_of(tx: Tx, return_id: str) -> list[Row]:
    """The return's lines, in order."""
    return tx.all("SELECT * FROM return_items WHERE return_id = ? ORDER BY line", (return_id,))


def insert_inspection(tx: Tx, event: InspectionRecorded, seq: int) -> None:
    """Store a QC result."""
    tx.execute(
        "INSERT INTO inspections(return_id, grade, reason, notes, compliance_tags, photos, "
        "inspected_by, inspected_at, event_seq) VALUES (?,?,?,?,?,?,?,?,?)",
        (event.return_id, event.grade.value, event.reason, event.notes,
         json.dumps([tag.value for tag in event.compliance_tags]), json.dumps(event.photos),
         event.inspected_by, _utc(event.inspected_at), seq))


def insert_disposition(tx: Tx, event: DispositionRecorded, seq: int) -> None:
    """Store a disposition."""
    tx.execute(
        "INSERT INTO dispositions(return_id, disposition, location, decided_by, decided_at, "
        "event_seq) VALUES (?,?,?,?,?,?)",
        (event.return_id, event.disposition.value, event.location, event.decided_by,
         _utc(event.decided_at), seq))


def insert_refund(tx: Tx, event: RefundRequested, seq: int) -> None:
    """Store a refund request: ``requested``, or ``approved_offline`` when a store manager paid
    it out with the hub away, until the hub decides."""
    status = "approved_offline" if event.approved_offline_by else "requested"
    tx.execute(
        "INSERT INTO refunds(id, return_id, amount, currency, channel, requested_by, "
        "requested_at, event_seq, status, approved_offline_by, refund_method) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (event.refund_id, event.return_id, format(event.amount.amount, "f"),
         event.amount.currency, event.channel.value, event.requested_by,
         _utc(event.requested_at), seq, status, event.approved_offline_by,
         event.refund_method))


def refund_row(tx: Tx, refund_id: str) -> Row | None:
    """A refund's row, or None."""
    return tx.one("SELECT * FROM refunds WHERE id = ?", (refund_id,))


def refund_of(tx: Tx, return_id: str) -> Row | None:
    """The refund of a return, or None."""
    return tx.one("SELECT * FROM refunds WHERE return_id = ?", (return_id,))


def save_decision(tx: Tx, decided: RefundDecided, command_id: str) -> None:
    """Record the hub's decision on a refund."""
    tx.execute(
        "UPDATE refunds SET status = ?, decided_amount = ?, decided_currency = ?, "
        "approval_level = ?, reasons = ?, rules = ?, decided_by = ?, decided_at = ?, "
        "decision_command_id = ? WHERE id = ?",
        (decided.outcome.value, format(decided.amount.amount, "f"), decided.amount.currency,
         decided.approval_level, json.dumps(decided.reasons),
         json.dumps([rule.model_dump(mode="json") for rule in decided.rules]),
         decided.decided_by, _utc(decided.decided_at), command_id, decided.refund_id))


def save_payment(tx: Tx, status: RefundStatus, command_id: str) -> None:
    """Record where the money of a refund is now (the hub's ``refund.status``)."""
    tx.execute(
        "UPDATE refunds SET payment_status = ?, payment_detail = ?, payment_at = ?, "
        "payment_command_id = ? WHERE id = ?",
        (status.status.value, status.detail, _utc(status.at), command_id, status.refund_id))


def upsert_expected(tx: Tx, expected: ExpectedReturn, command_id: str, at: datetime) -> None:
    """Cache (or refresh) an RMA the hub expects at this store."""
    items = [item.model_dump(mode="json", exclude_none=True) for item in expected.items]
    tx.execute(
        "INSERT INTO expected_returns(rma_id, order_id, channel, marketplace_id, items, "
        "customer_hint, expected_by, cached_at, command_id) VALUES (?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT(rma_id) DO UPDATE SET order_id = excluded.order_id, "
        "channel = excluded.channel, marketplace_id = excluded.marketplace_id, "
        "items = excluded.items, customer_hint = excluded.customer_hint, "
        "expected_by = excluded.expected_by, cached_at = excluded.cached_at, "
        "command_id = excluded.command_id",
        (expected.rma_id, expected.order_id, expected.channel.value, expected.marketplace_id,
         json.dumps(items), expected.customer_hint, _utc(expected.expected_by), format_utc(at),
         command_id))


def expected_for(tx: Tx, rma_id: str | None, order_id: str | None) -> ExpectedReturn | None:
    """The cached RMA with this id, else the newest not yet received for this order, else None."""
    row = None
    if rma_id:
        row = tx.one("SELECT * FROM expected_returns WHERE rma_id = ?", (rma_id,))
    if row is None and order_id:
        row = tx.one(
            "SELECT * FROM expected_returns WHERE order_id = ? AND rma_id NOT IN "
            "(SELECT rma_id FROM returns WHERE rma_id IS NOT NULL) "
            "ORDER BY cached_at DESC LIMIT 1", (order_id,))
    return None if row is None else expected_from_row(row)


def expected_from_row(row: Row) -> ExpectedReturn:
    """Rebuild the cached protocol body from its row."""
    return ExpectedReturn.model_validate({
        "rma_id": row["rma_id"], "order_id": row["order_id"], "channel": row["channel"],
        "marketplace_id": row["marketplace_id"], "items": json.loads(row["items"]),
        "customer_hint": row["customer_hint"], "expected_by": row["expected_by"]})


def record_scan(tx: Tx, code: str, matched: str, matched_id: str | None, at: datetime) -> None:
    """Keep a local record of a scan."""
    tx.execute("INSERT INTO scans(code, matched, matched_id, scanned_at) VALUES (?,?,?,?)",
               (code, matched, matched_id, format_utc(at)))


def command_seen(tx: Tx, command_id: str) -> bool:
    """True if this command id was already applied or refused."""
    found = tx.scalar("SELECT 1 FROM applied_commands WHERE command_id = ?", (command_id,))
    return found is not None


def record_command(tx: Tx, command_id: str, kind: str, result: str, detail: str, at: datetime,
                   report_seq: int) -> None:
    """Remember that a command was applied (or refused), and the seq of its report."""
    tx.execute(
        "INSERT INTO applied_commands(command_id, kind, applied_at, result, detail, report_seq) "
        "VALUES (?,?,?,?,?,?)", (command_id, kind, format_utc(at), result, detail, report_seq))
