"""POS terminals: look up returns by receipt or order, and record POS sale returns exactly once.

Rules:
- a POS return is recorded like any counter return (``Counter.record_return``: channel ``pos``,
  the sale receipt as the order id, the cashier as staff, one transaction with its outbox events,
  so it syncs to the hub like the rest) and its drop-off receipt is queued the same way;
- ``pos_transaction_id`` is the POS's idempotency key: its row commits in the same transaction as
  the return, so a retried request (a lost answer, a double tap, a POS restart) finds the return
  already recorded and gets it back (``created: false``, HTTP 200) instead of making a second;
  two concurrent first tries end the same way (the second one's transaction is rolled back);
- the same key with a different body is a 409 naming ``pos_transaction_id``: the POS has a bug,
  and guessing which body it meant could pay a refund twice;
- errors name the POS request's own fields (``lines.0.price``), not the counter's (``items``);
- a line's ``category``/``opened`` and the sale's ``sold_at`` are recorded and sent as given
  (``sold_at`` in the future is a 422 naming it);
- ``refund_mode`` is kept with the transaction and travels to the hub as the refund request's
  ``refund_method``; ``approve_offline`` (a signed-in store manager, checked by the caller) makes
  it a refund approved offline, within the store's limit.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections import Counter as Tally
from collections.abc import Callable
from typing import Any

from edge_agent.errors import Conflict, InvalidRequest, RequestError
from edge_agent.pos.models import PosLookup, PosReturnRequest, PosReturnView
from edge_agent.returns import views
from edge_agent.returns.counter import Counter
from edge_agent.returns.models import ItemRequest, ReturnRequest, ReturnView
from edge_agent.storage import records
from edge_agent.storage.ids import return_code, return_id_for_code
from edge_agent.storage.store import Store, Tx
from protocol import Channel, format_utc, utc_now

_LINE_FACTS = ("category", "opened")
_FIELDS = {"items": "lines", "quantity": "qty", "unit_price": "price", "order_id": "receipt_id",
           "staff_id": "cashier"}


def request_hash(request: PosReturnRequest) -> str:
    """A digest of the whole request, to tell a retry from a different return under one key.

    Fields added later are left out while unset (``approve_offline`` when false; ``sold_at`` and
    each line's ``category``/``opened`` when null), so digests kept from before they existed
    still match a till that retries the same body.
    """
    return hashlib.sha256(
        request.model_dump_json(exclude=_unset_later_fields(request)).encode()).hexdigest()


def _unset_later_fields(request: PosReturnRequest) -> dict[str, Any]:
    leave_out: dict[str, Any] = {}
    if not request.approve_offline:
        leave_out["approve_offline"] = True
    if request.sold_at is None:
        leave_out["sold_at"] = True
    lines = {index: unset for index, line in enumerate(request.lines)
             if (unset := {name for name in _LINE_FACTS if getattr(line, name) is None})}
    if lines:
        leave_out["lines"] = lines
    return leave_out


def to_return_request(request: PosReturnRequest) -> ReturnRequest:
    """The counter's form of a POS return (category, opened and the sale time carried over)."""
    items = [ItemRequest(sku=line.sku, quantity=line.qty, unit_price=line.price,
                         description=line.description, gtin=line.gtin, category=line.category,
                         opened=line.opened) for line in request.lines]
    return ReturnRequest(channel=Channel.POS, items=items, reason=request.reason,
                         order_id=request.receipt_id, staff_id=request.cashier,
                         scanned_codes=[request.receipt_id], refund_method=request.refund_mode,
                         approve_offline=request.approve_offline, sold_at=request.sold_at)


def pos_field(field: str | None) -> str | None:
    """A counter field path (``items.1.unit_price.currency``) in POS terms (``lines.1.price…``)."""
    if field is None:
        return None
    return ".".join(_FIELDS.get(part, part) for part in field.split("."))


class Pos:
    """The POS face of the counter."""

    def __init__(self, store: Store, counter: Counter) -> None:
        self._store, self._counter = store, counter

    def lookup(self, receipt: str | None, order: str | None) -> PosLookup:
        """Returns recorded for a receipt (sale receipt, return code or id) or an order."""
        if (receipt is None) == (order is None):
            raise InvalidRequest("give either receipt or order (exactly one)", field="receipt")
        key = (return_id_for_code(receipt) or receipt) if receipt else order
        assert key is not None
        with self._store.read() as tx:
            found = [views.return_view(tx, rid, self._counter.words_in(tx))
                     for rid in records.return_ids_for_code(tx, key)]
            expected = records.expected_for(tx, None, order) if order else None
        returned: Tally[str] = Tally()
        for view in found:
            for item in view.items:
                returned[item.sku] += item.quantity
        return PosLookup(receipt=receipt, order=order, found=bool(found or expected),
                         returns=found, returned_quantities=dict(returned),
                         expected_return=views.expected_view(expected) if expected else None)

    def record(self, request: PosReturnRequest,
               approver: Callable[[], str | None] = lambda: None) -> PosReturnView:
        """Record a POS return once per ``pos_transaction_id``; repeats get the same return.
        ``approver()`` names the store manager approving its refund offline (or refuses); it is
        asked only when a new return is recorded with ``approve_offline``."""
        digest = request_hash(request)
        existing = self._existing(request.pos_transaction_id)
        if existing is not None:
            return self._repeat(existing, digest, request.pos_transaction_id)
        approved_by = approver() if request.approve_offline else None
        try:
            view = self._counter.record_return(
                to_return_request(request), approved_by=approved_by,
                within=lambda tx, rid: _remember(tx, request, rid, digest))
        except sqlite3.IntegrityError:
            existing = self._existing(request.pos_transaction_id)
            if existing is None:
                raise
            return self._repeat(existing, digest, request.pos_transaction_id)
        except RequestError as err:
            raise type(err)(err.message, field=pos_field(err.field)) from err
        return _view(request.pos_transaction_id, request.receipt_id, request.refund_mode,
                     request.cashier, request.terminal_id, view, created=True)

    def _existing(self, pos_transaction_id: str) -> tuple[dict[str, object], ReturnView] | None:
        with self._store.read() as tx:
            row = tx.one("SELECT * FROM pos_transactions WHERE pos_transaction_id = ?",
                         (pos_transaction_id,))
            if row is None:
                return None
            return row, views.return_view(tx, str(row["return_id"]))

    def _repeat(self, existing: tuple[dict[str, object], ReturnView], digest: str,
                pos_transaction_id: str) -> PosReturnView:
        row, view = existing
        if row["request_hash"] != digest:
            raise Conflict(f"pos_transaction_id {pos_transaction_id} was already used for "
                           f"return {view.return_id} with a different body",
                           field="pos_transaction_id")
        return _view(pos_transaction_id, str(row["receipt_id"]), str(row["refund_mode"]),
                     _text(row["cashier"]), _text(row["terminal_id"]), view, created=False)


def _remember(tx: Tx, request: PosReturnRequest, return_id: str, digest: str) -> None:
    tx.execute(
        "INSERT INTO pos_transactions(pos_transaction_id, return_id, receipt_id, refund_mode, "
        "cashier, terminal_id, request_hash, recorded_at) VALUES (?,?,?,?,?,?,?,?)",
        (request.pos_transaction_id, return_id, request.receipt_id, request.refund_mode,
         request.cashier, request.terminal_id, digest, format_utc(utc_now())))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _view(pos_transaction_id: str, receipt_id: str, refund_mode: str, cashier: str | None,
          terminal_id: str | None, view: ReturnView, created: bool) -> PosReturnView:
    return PosReturnView.model_validate({
        "pos_transaction_id": pos_transaction_id, "created": created,
        "return_id": view.return_id, "return_code": return_code(view.return_id),
        "receipt_id": receipt_id, "refund_mode": refund_mode, "cashier": cashier,
        "terminal_id": terminal_id, "record": view})
