"""Rebuild the outbox events of a damaged file from its salvaged business rows (``recover``).

Rules:
- every business row carries the seq of the event that reported it (``event_seq``): a return
  with its items (``return.received``), a refund (``refund.requested``), a QC result
  (``inspection.recorded``), a disposition (``disposition.recorded``), a stock move
  (``stock.moved``); when that event's outbox row is gone (cut, or failing its checksum) and the
  hub does not have the seq, the event is rebuilt from the rows, with the same return, refund
  and move ids, so the hub can tell it is the same fact;
- a rebuilt event is named ``rebuilt:<kind>:<id>`` (its original message id is lost), which is
  how ``recover`` remembers it was handled (a second run changes nothing);
- a return whose own row is gone but whose items are salvaged is rebuilt from what its other
  rows say (the refund: channel, time, staff; else its stock move: time, staff), with a reason
  that says the real one was lost (as are its order and RMA ids), and counted apart so the
  operator can complete it; its seq is the one just before its first sibling event (the counter
  writes the return, its refund and its stock move in one transaction, the return first), and
  should the hub have it after all, the hub refuses a second receipt of the same return id;
- a row that fails its checksum, or whose event cannot be rebuilt (a return whose items are
  gone), is counted as lost, never sent half-made;
- pure: plain rows in, plain outbox-like rows out; no I/O.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from edge_agent.storage.records import return_checksum
from protocol import (
    DispositionRecorded,
    InspectionRecorded,
    RefundRequested,
    ReturnReceived,
    StockMoved,
)

Row = dict[str, Any]
TABLES = ("returns", "return_items", "refunds", "inspections", "dispositions", "stock_moves")
REBUILT = "rebuilt:"  # the prefix of a rebuilt event's source id
Made = ReturnReceived | RefundRequested | InspectionRecorded | DispositionRecorded | StockMoved


@dataclass(frozen=True)
class Lost:
    """A row whose event cannot be rebuilt: its table, its key (the id its event names), why."""

    table: str
    key: str
    detail: str

    def __str__(self) -> str:
        return f"{self.table} {self.key}{self.detail}"


@dataclass
class Rebuilt:
    """The events rebuilt from rows (outbox-like rows, old seq) and the rows that could not be."""

    events: list[Row] = field(default_factory=list)
    lost: list[Lost] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)  # returns rebuilt without their own row


def rebuild(rows: dict[str, list[Row]], covered: set[int], hub_has: int,
            received: set[str] | frozenset[str] = frozenset()) -> Rebuilt:
    """The events of ``rows`` whose seq is past ``hub_has`` and not in ``covered`` (the seqs of
    the salvaged outbox rows that hold; ``received``: the returns whose ``return.received`` is
    among them), in seq order."""
    found = Rebuilt()
    returns = {str(row["id"]): row for row in rows.get("returns", []) if row.get("id")}
    items: dict[str, list[Row]] = defaultdict(list)
    for item in rows.get("return_items", []):
        items[str(item.get("return_id"))].append(item)
    makers: list[tuple[str, Callable[[Row], Made]]] = [
        ("returns", lambda row: _return(row, items.get(str(row["id"]), []))),
        ("refunds", lambda row: _refund(row, returns.get(str(row.get("return_id"))))),
        ("inspections", _inspection),
        ("dispositions", _disposition),
        ("stock_moves", _stock_move),
    ]
    for table, make in makers:
        for row in rows.get(table, []):
            seq = row.get("event_seq")
            if not isinstance(seq, int) or seq <= hub_has or seq in covered:
                continue
            _one(found, table, row, seq, make)
    for return_id in sorted(set(items) - set(returns) - set(received)):
        _without_row(found, return_id, items[return_id], rows, covered, hub_has)
    found.events.sort(key=lambda event: int(event["seq"]))
    return found


LOST_REASON = "reason lost with a damaged database (rebuilt by acorn-edge recover)"


def _without_row(found: Rebuilt, return_id: str, lines: list[Row], rows: dict[str, list[Row]],
                 covered: set[int], hub_has: int) -> None:
    """A return whose row is gone, from its items and its sibling rows."""
    siblings = [row for table in ("refunds", "stock_moves", "inspections", "dispositions")
                for row in rows.get(table, []) if row.get("return_id") == return_id
                and isinstance(row.get("event_seq"), int)]
    if not siblings:
        found.lost.append(Lost("returns", return_id, ": only its items were salvaged (check "
                               "that the hub has it)"))
        return
    seq = min(int(row["event_seq"]) for row in siblings) - 1
    if seq <= hub_has or seq in covered:
        return
    refund = next((row for row in rows.get("refunds", []) if row.get("return_id") == return_id),
                  None)
    move = next((row for row in rows.get("stock_moves", [])
                 if row.get("return_id") == return_id), None)
    if refund is None:
        found.lost.append(Lost("returns", return_id, f" (seq {seq}): its row is gone and no "
                               "refund says its channel"))
        return
    row = {"id": return_id, "channel": refund["channel"], "reason": LOST_REASON,
           "received_at": refund.get("requested_at") or (move or {}).get("at"),
           "staff_id": refund.get("requested_by") or (move or {}).get("staff_id"),
           "event_seq": seq}
    before = len(found.events)
    _one(found, "returns", row, seq, lambda row: _return(row, lines))
    if len(found.events) > before:
        found.partial.append(return_id)


def _one(found: Rebuilt, table: str, row: Row, seq: int, make: Callable[[Row], Made]) -> None:
    key = str(row.get("move_id") or row.get("return_id") or row.get("id"))
    if table == "returns" and row.get("checksum") and row["checksum"] != return_checksum(row):
        found.lost.append(Lost(table, key, f" (seq {seq}): fails its checksum"))
        return
    try:
        body = make(row)
    except (ValidationError, ValueError, TypeError, KeyError) as err:
        found.lost.append(Lost(table, key, f" (seq {seq}): {str(err).splitlines()[0]}"))
        return
    wire = body.model_dump(mode="json", exclude_none=True, exclude={"kind"})
    found.events.append({
        "seq": seq, "message_id": f"{REBUILT}{body.kind}:{key}", "kind": body.kind,
        "body": json.dumps(wire, separators=(",", ":")), "occurred_at": _when(body),
        "checksum": None})


def _when(body: Made) -> str:
    at = {"return.received": "received_at", "refund.requested": "requested_at",
          "inspection.recorded": "inspected_at", "disposition.recorded": "decided_at",
          "stock.moved": "at"}[body.kind]
    return str(body.model_dump(mode="json")[at])


def _return(row: Row, items: list[Row]) -> ReturnReceived:
    if not items:
        raise ValueError("its items were not salvaged")
    lines = [{"sku": item["sku"], "quantity": item["quantity"],
              "unit_price": {"amount": item["unit_amount"], "currency": item["currency"]},
              "description": item.get("description"), "gtin": item.get("gtin"),
              "asin": item.get("asin"), "category": item.get("category"),
              "opened": None if item.get("opened") is None else bool(item["opened"])}
             for item in sorted(items, key=lambda item: int(item["line"]))]
    return ReturnReceived.model_validate({
        "return_id": row["id"], "channel": row["channel"], "reason": row["reason"],
        "order_id": row.get("order_id"), "rma_id": row.get("rma_id"),
        "marketplace_id": row.get("marketplace_id"),
        "scanned_codes": json.loads(row.get("scanned_codes") or "[]"),
        "mismatch": bool(row.get("mismatch")),
        "mismatch_reasons": json.loads(row.get("mismatch_detail") or "[]"),
        "staff_id": row.get("staff_id"), "received_at": row["received_at"],
        "sold_at": row.get("sold_at"), "items": _no_nulls(lines)})


def _refund(row: Row, of_return: Row | None) -> RefundRequested:
    return RefundRequested.model_validate(_no_nulls({
        "refund_id": row["id"], "return_id": row["return_id"],
        "amount": {"amount": row["amount"], "currency": row["currency"]},
        "channel": row["channel"], "requested_by": row.get("requested_by"),
        "requested_at": row["requested_at"],
        "order_id": (of_return or {}).get("order_id"),
        "marketplace_id": (of_return or {}).get("marketplace_id"),
        "approved_offline_by": row.get("approved_offline_by"),
        "refund_method": row.get("refund_method")}))


def _inspection(row: Row) -> InspectionRecorded:
    return InspectionRecorded.model_validate(_no_nulls({
        "return_id": row["return_id"], "grade": row["grade"], "reason": row.get("reason"),
        "notes": row.get("notes") or "", "photos": json.loads(row.get("photos") or "[]"),
        "compliance_tags": json.loads(row.get("compliance_tags") or "[]"),
        "inspected_by": row.get("inspected_by"), "inspected_at": row["inspected_at"]}))


def _disposition(row: Row) -> DispositionRecorded:
    return DispositionRecorded.model_validate(_no_nulls({
        "return_id": row["return_id"], "disposition": row["disposition"],
        "location": row.get("location"), "decided_by": row.get("decided_by"),
        "decided_at": row["decided_at"]}))


def _stock_move(row: Row) -> StockMoved:
    balance = {row[state]: row[after] for state, after in (("from_state", "from_after"),
                                                           ("to_state", "to_after"))
               if row.get(state) is not None and row.get(after) is not None}
    return StockMoved.model_validate(_no_nulls({
        "move_id": row["move_id"], "sku": row["sku"], "quantity": row["quantity"],
        "from_state": row.get("from_state"), "to_state": row.get("to_state"),
        "reason": row["reason"], "pos_transaction_id": row.get("pos_transaction_id"),
        "return_id": row.get("return_id"), "count_id": row.get("count_id"),
        "transfer_id": row.get("transfer_id"), "staff_id": row.get("staff_id"),
        "at": row["at"], "balance": balance}))


def _no_nulls(value: Any) -> Any:
    """Drop None values (as the outbox's ``exclude_none`` does), so defaults apply."""
    if isinstance(value, dict):
        return {key: _no_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_no_nulls(item) for item in value]
    return value
