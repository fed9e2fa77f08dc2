"""Rebuild a node's business rows from its own outbox events (journal restore, recover).

Rules:
- an event says everything the counter recorded with it: ``return.received`` carries the return
  and its items, ``refund.requested`` the refund, ``inspection.recorded`` and
  ``disposition.recorded`` the QC result and the disposition; replaying one inserts those rows
  (and moves the return's state) exactly as the counter did, with the event's seq;
  ``stock.moved`` carries a stock move: replaying it puts the move back and applies its quantity
  to the live levels (from state minus, to state plus), never the quantities after it that the
  event carries, so moves the live database booked since are kept; the move's after-figures
  (and, through ``live_body``, a re-queued event's balance) are the live ledger's; a level that
  goes below zero is kept and shows ``needs_count`` (as a sale beyond stock does), and each
  replayed move is audited as ``stock.restored``;
- replay is idempotent: a row already there is left alone, so replaying twice changes nothing;
- a return's state only moves forward in the shared lifecycle (``protocol.return_states``:
  expected < received < inspected < disposed), whatever order the rows are rebuilt in;
- other kinds (command reports) have no rows of their own to rebuild: their event is enough;
- each rebuilt return gets an audit entry saying where it came from.
"""

from __future__ import annotations

import json
from typing import Any

from edge_agent.storage import audit, records
from edge_agent.storage.store import Tx
from protocol import (
    DispositionRecorded,
    Envelope,
    InspectionRecorded,
    RefundRequested,
    ReturnReceived,
    ReturnState,
    StockMoved,
    StockState,
    format_utc,
    items_total,
    utc_now,
)
from protocol.return_states import lifecycle_rank


def envelope_of(store_id: str, node_id: str, seq: int, message_id: str, kind: str, body: str,
                occurred_at: str) -> Envelope:
    """The envelope of a stored event (as the outbox reads it)."""
    return Envelope.model_validate({
        "id": message_id, "store_id": store_id, "node_id": node_id, "seq": seq, "kind": kind,
        "occurred_at": occurred_at, "body": json.loads(body)})


def return_id_of(body: str) -> str | None:
    """The return an event is about, if any."""
    try:
        value: Any = json.loads(body).get("return_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def replay(tx: Tx, envelope: Envelope, seq: int, source: str) -> bool:
    """Insert the rows ``envelope`` reports, under ``seq``; True if anything was written."""
    body = envelope.body
    if isinstance(body, ReturnReceived):
        return _return(tx, body, seq, source)
    if isinstance(body, RefundRequested):
        if records.refund_of(tx, body.return_id) or not _exists(tx, body.return_id):
            return False
        records.insert_refund(tx, body, seq)
        return True
    if isinstance(body, InspectionRecorded):
        if _has(tx, "inspections", body.return_id) or not _exists(tx, body.return_id):
            return False
        records.insert_inspection(tx, body, seq)
        _advance(tx, body.return_id, ReturnState.INSPECTED, body.inspected_at)
        return True
    if isinstance(body, DispositionRecorded):
        if _has(tx, "dispositions", body.return_id) or not _exists(tx, body.return_id):
            return False
        records.insert_disposition(tx, body, seq)
        _advance(tx, body.return_id, ReturnState.DISPOSED, body.decided_at)
        return True
    if isinstance(body, StockMoved):
        return _stock_move(tx, body, seq, source)
    return False


def _stock_move(tx: Tx, body: StockMoved, seq: int, source: str) -> bool:
    if _moved(tx, body.move_id):
        return False
    at = format_utc(body.at)
    sides = [(s, sign) for s, sign in ((body.from_state, -1), (body.to_state, 1)) if s]
    before = {state: _level(tx, body.sku, state) for state, _ in sides}
    after = {state: before[state] + sign * body.quantity for state, sign in sides}
    states = (body.from_state, body.to_state)
    tx.execute(
        "INSERT INTO stock_moves(move_id, sku, quantity, from_state, to_state, reason, "
        "pos_transaction_id, return_id, count_id, transfer_id, staff_id, at, from_after, "
        "to_after, event_seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (body.move_id, body.sku, body.quantity, *(s.value if s else None for s in states),
         body.reason.value, body.pos_transaction_id, body.return_id, body.count_id,
         body.transfer_id, body.staff_id, at,
         *(after.get(s) if s else None for s in states), seq))
    for state, quantity in after.items():
        tx.execute("INSERT INTO stock_levels(sku, state, quantity, updated_at) VALUES (?,?,?,?) "
                   "ON CONFLICT(sku, state) DO UPDATE SET quantity = excluded.quantity, "
                   "updated_at = excluded.updated_at", (body.sku, state.value, quantity, at))
    audit.record(tx, at=utc_now(), actor="integrity", role="system", action="stock.restored",
                 entity="stock", entity_id=body.sku,
                 before={s.value: n for s, n in before.items()},
                 after={**{s.value: n for s, n in after.items()}, "move_id": body.move_id,
                        "reason": body.reason.value, "quantity": body.quantity,
                        "needs_count": any(n < 0 for n in after.values()), "source": source})
    return True


def _level(tx: Tx, sku: str, state: StockState) -> int:
    held = tx.scalar("SELECT quantity FROM stock_levels WHERE sku = ? AND state = ?",
                     (sku, state.value))
    return int(held) if held is not None else 0


def live_body(tx: Tx, envelope: Envelope, body: str) -> str:
    """``body`` as the live ledger tells it: a replayed ``stock.moved`` carries the live
    quantities after its move (other events, or a move not in the ledger, unchanged)."""
    if not isinstance(envelope.body, StockMoved):
        return body
    row = tx.one("SELECT from_state, to_state, from_after, to_after FROM stock_moves "
                 "WHERE move_id = ?", (envelope.body.move_id,))
    if row is None:
        return body
    wire = json.loads(body)
    wire["balance"] = {row[f"{side}_state"]: row[f"{side}_after"] for side in ("from", "to")
                       if row[f"{side}_state"]}
    return json.dumps(wire, separators=(",", ":"))


def _moved(tx: Tx, move_id: str) -> bool:
    return tx.scalar("SELECT 1 FROM stock_moves WHERE move_id = ?", (move_id,)) is not None


def already_recorded(tx: Tx, envelope: Envelope) -> bool:
    """True if the rows this event reports are already in the database."""
    body = envelope.body
    if isinstance(body, ReturnReceived):
        return _exists(tx, body.return_id)
    if isinstance(body, RefundRequested):
        return records.refund_of(tx, body.return_id) is not None
    if isinstance(body, InspectionRecorded):
        return _has(tx, "inspections", body.return_id)
    if isinstance(body, DispositionRecorded):
        return _has(tx, "dispositions", body.return_id)
    if isinstance(body, StockMoved):
        return _moved(tx, body.move_id)
    return False


def _return(tx: Tx, body: ReturnReceived, seq: int, source: str) -> bool:
    if _exists(tx, body.return_id):
        return False
    total = items_total(body.items)  # our own event: the counter checked it when it was made
    records.insert_return(tx, body, ReturnState.RECEIVED, total, list(body.mismatch_reasons),
                          seq)
    audit.record(tx, at=utc_now(), actor="integrity", role="system", action="return.restored",
                 entity="return", entity_id=body.return_id, before=None,
                 after={"state": ReturnState.RECEIVED.value, "total": str(total),
                        "source": source})
    return True


def _exists(tx: Tx, return_id: str) -> bool:
    return tx.scalar("SELECT 1 FROM returns WHERE id = ?", (return_id,)) is not None


def _has(tx: Tx, table: str, return_id: str) -> bool:
    return tx.scalar(f"SELECT 1 FROM {table} WHERE return_id = ?", (return_id,)) is not None


def _advance(tx: Tx, return_id: str, state: ReturnState, at: Any) -> None:
    current = ReturnState(records.return_row(tx, return_id)["state"])
    if lifecycle_rank(state) > lifecycle_rank(current):  # a replay never moves a return back
        records.set_state(tx, return_id, state, at)
