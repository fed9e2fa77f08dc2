"""The stock ledger in the node's SQLite: book moves, POS sales and counts, read a SKU's stock.

Rules:
- ``book`` is the one way a quantity changes: inside the caller's write transaction it checks the
  move (``edge_agent.stock.rules``), sets the levels, keeps the move, appends its ``stock.moved``
  event to the outbox and writes its audit entry, so all of it commits together or not at all;
- a POS sale is booked once per ``pos_transaction_id`` and a count once per ``count_id``: the
  key's row commits with the moves; a repeat with the same body gets the first booking back
  (``created: false``), with another body a 409 naming the key;
- returns move stock through ``on_return`` (the counter's in-transaction hook): a received return
  enters QC hold; its disposition moves it on (to sellable only once inspected); a return
  received before the ledger existed moves nothing;
- a sale that leaves fewer sellable units than the store's part of the allocation rules keeps
  back (``kept_back``) is booked all the same and answers a warning per SKU;
- ``on_write(kind, sku)`` runs after each commit (wake the link, tell the screens).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from edge_agent.errors import Conflict, InvalidRequest
from edge_agent.staff import store_config
from edge_agent.stock import rules, snapshot, tasks
from edge_agent.stock.kept_back import KeptBack, eats_into, kept_back
from edge_agent.stock.models import (
    CountedLine,
    CountRequest,
    CountView,
    MoveRequest,
    MoveView,
    SaleRequest,
    SaleView,
    SaleWarning,
    SnapshotView,
    StockView,
)
from edge_agent.stock.rules import Draft
from edge_agent.storage import audit, idempotency, outbox
from edge_agent.storage.ids import encode_base32
from edge_agent.storage.store import Store, Tx
from protocol import MoveReason, StockMoved, StockState, format_utc, utc_now
from protocol.stock import SnapshotReason

RECENT_MOVES = 20
RECEIVED = (MoveReason.RETURN_RECEIVED.value, MoveReason.POS_RETURN.value)


def _nothing(*_args: Any) -> None:
    """The default hook: nothing to add."""


def new_move_id() -> str:
    """A fresh move id, e.g. ``M7QK2M9XH4TZA`` (60 random bits, as return ids)."""
    return "M" + encode_base32(secrets.randbits(60))


def request_hash(request: SaleRequest | CountRequest) -> str:
    """A digest of the whole request, to tell a retry from another request under one key."""
    return hashlib.sha256(request.model_dump_json().encode()).hexdigest()


def levels_of(tx: Tx, sku: str) -> dict[StockState, int]:
    """Every state's quantity of ``sku`` (zero where nothing was ever booked)."""
    held = {StockState(r["state"]): int(r["quantity"]) for r in tx.all(
        "SELECT state, quantity FROM stock_levels WHERE sku = ?", (sku,))}
    return {state: held.get(state, 0) for state in StockState}


def _move_view(row: dict[str, Any]) -> MoveView:
    return MoveView.model_validate(row)


def held_back(tx: Tx, sku: str, now: datetime | None = None) -> KeptBack:
    """What the store's part of the allocation rules keeps back of ``sku`` at ``now``."""
    held = store_config.allocation(tx)
    return kept_back(held.part if held else None, sku, now or utc_now())


def stock_view(tx: Tx, sku: str, recent: int = RECENT_MOVES,
               now: datetime | None = None) -> StockView:
    """A SKU's stock by state with its newest moves and what the rules keep back of it."""
    levels = levels_of(tx, sku)
    moves = [_move_view(r) for r in tx.all(
        "SELECT * FROM stock_moves WHERE sku = ? ORDER BY id DESC LIMIT ?", (sku, recent))]
    return StockView(sku=sku, levels=levels, on_hand=sum(levels.values()),
                     needs_count=any(v < 0 for v in levels.values()),
                     kept_back=held_back(tx, sku, now).units, moves=moves)


def sale_warning(sku: str, sellable: int, held: KeptBack) -> SaleWarning | None:
    """The warning for a SKU a sale left at ``sellable``, or None."""
    if not eats_into(sellable, held):
        return None
    return SaleWarning(
        sku=sku, sellable=sellable, kept_back=held.units, floor=held.floor,
        reserves=[f"{name} ({target})" for name, target, _ in held.reserves],
        message=f"{sku}: {sellable} sellable after this sale, below the {held.units} the "
                "allocation rules keep back (floor and reserves for online orders or in-store "
                "sale)")


def book_move(tx: Tx, store_id: str, node_id: str, draft: Draft, at: datetime, actor: str,
              role: str) -> StockMoved:
    """Check and book one move inside ``tx``: levels, move row, outbox event, audit entry."""
    before = levels_of(tx, draft.sku)
    after = rules.check(draft, before)
    event = StockMoved(
        move_id=new_move_id(), sku=draft.sku, quantity=draft.quantity,
        from_state=draft.from_state, to_state=draft.to_state, reason=draft.reason,
        pos_transaction_id=draft.pos_transaction_id, return_id=draft.return_id,
        count_id=draft.count_id, transfer_id=draft.transfer_id, staff_id=draft.staff_id,
        at=at, balance=after)
    seq = outbox.append(tx, store_id, node_id, event, at).seq
    stamp = format_utc(at)
    for state, quantity in after.items():
        tx.execute("INSERT INTO stock_levels(sku, state, quantity, updated_at) "
                   "VALUES (?, ?, ?, ?) ON CONFLICT(sku, state) DO UPDATE SET "
                   "quantity = excluded.quantity, updated_at = excluded.updated_at",
                   (draft.sku, state.value, quantity, stamp))
    tx.execute(
        "INSERT INTO stock_moves(move_id, sku, quantity, from_state, to_state, reason, "
        "pos_transaction_id, return_id, count_id, transfer_id, staff_id, at, from_after, "
        "to_after, event_seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (event.move_id, draft.sku, draft.quantity, _value(draft.from_state),
         _value(draft.to_state), draft.reason.value, draft.pos_transaction_id,
         draft.return_id, draft.count_id, draft.transfer_id, draft.staff_id, stamp,
         after.get(draft.from_state) if draft.from_state else None,
         after.get(draft.to_state) if draft.to_state else None, seq))
    touched = [s for s in (draft.from_state, draft.to_state) if s is not None]
    audit.record(tx, at=at, actor=actor, role=role, action="stock.moved", entity="stock",
                 entity_id=draft.sku,
                 before={s.value: before[s] for s in touched},
                 after={**{s.value: after[s] for s in touched}, "move_id": event.move_id,
                        "reason": draft.reason.value, "quantity": draft.quantity})
    return event


@dataclass
class Ledger:
    """The store's stock: moves booked in the caller's transaction; sales, counts in their own."""

    store: Store
    store_id: str
    node_id: str
    clock: Callable[[], datetime] = utc_now
    on_write: Callable[[str, str], None] = _nothing
    signer: snapshot.Signer | None = None  # this node's key (certificate nodes sign snapshots)

    # -- the one way stock moves ---------------------------------------------------------------

    def book(self, tx: Tx, draft: Draft, at: datetime, actor: str, role: str) -> StockMoved:
        """Check and book one move inside ``tx``: levels, move row, outbox event, audit entry."""
        return book_move(tx, self.store_id, self.node_id, draft, at, actor, role)

    # -- returns (the counter's in-transaction hook) -------------------------------------------

    def on_return(self, tx: Tx, kind: str, return_id: str) -> None:
        """Move a return's goods: received -> QC hold; disposed -> where its disposition says."""
        if kind == "return.received":
            self._received(tx, return_id)
        elif kind == "disposition.recorded":
            self._disposed(tx, return_id)

    def _received(self, tx: Tx, return_id: str) -> None:
        row = tx.one("SELECT channel, staff_id, received_at FROM returns WHERE id = ?",
                     (return_id,))
        if row is None:
            return
        at = self.clock()
        reason = rules.received_reason(str(row["channel"]))
        for sku, quantity in _lines(tx, return_id):
            self.book(tx, Draft(sku, quantity, None, StockState.QC_HOLD, reason,
                                staff_id=row["staff_id"], return_id=return_id),
                      at, row["staff_id"] or "counter", "counter")

    def _disposed(self, tx: Tx, return_id: str) -> None:
        row = tx.one("SELECT disposition, decided_by FROM dispositions WHERE return_id = ?",
                     (return_id,))
        received = tx.scalar(
            "SELECT count(*) FROM stock_moves WHERE return_id = ? AND reason IN (?, ?)",
            (return_id, *RECEIVED))
        if row is None or not received:
            return  # received before the ledger existed: its goods were never booked in
        inspected = tx.scalar("SELECT 1 FROM inspections WHERE return_id = ?",
                              (return_id,)) is not None
        target = rules.disposed_to(str(row["disposition"]))
        at = self.clock()
        for sku, quantity in _lines(tx, return_id):
            self.book(tx, Draft(sku, quantity, StockState.QC_HOLD, target,
                                MoveReason.DISPOSITION, staff_id=row["decided_by"],
                                return_id=return_id, inspected=inspected),
                      at, row["decided_by"] or "counter", "counter")

    # -- POS sales ------------------------------------------------------------------------------

    def record_sale(self, request: SaleRequest) -> SaleView:
        """Book a POS sale once per ``pos_transaction_id``; a repeat gets the first booking."""
        digest, at = request_hash(request), self.clock()
        key = request.pos_transaction_id
        with self.store.write() as tx:
            row = tx.one("SELECT request_hash FROM pos_sales WHERE pos_transaction_id = ?",
                         (key,))
            if row is not None:
                if row["request_hash"] != digest:
                    raise Conflict(f"pos_transaction_id {key} was already booked with a "
                                   "different body", field="pos_transaction_id")
                return self._sale_view(tx, key, created=False)
            tx.execute("INSERT INTO pos_sales(pos_transaction_id, receipt_id, cashier, "
                       "terminal_id, request_hash, recorded_at) VALUES (?,?,?,?,?,?)",
                       (key, request.receipt_id, request.cashier, request.terminal_id, digest,
                        format_utc(at)))
            for index, line in enumerate(request.lines):
                try:
                    self.book(tx, Draft(line.sku, line.qty, StockState.SELLABLE, None,
                                        MoveReason.POS_SALE, staff_id=request.cashier,
                                        pos_transaction_id=key),
                              at, request.cashier or "pos", "pos")
                except Conflict as err:
                    raise type(err)(err.message, field=f"lines.{index}.{err.field}") from err
            view = self._sale_view(tx, key, created=True)
        for sku in dict.fromkeys(line.sku for line in request.lines):
            self.on_write("stock.sale", sku)
        return view

    def _sale_view(self, tx: Tx, key: str, created: bool) -> SaleView:
        moves = [_move_view(r) for r in tx.all(
            "SELECT * FROM stock_moves WHERE pos_transaction_id = ? AND reason = ? ORDER BY id",
            (key, MoveReason.POS_SALE.value))]
        skus = dict.fromkeys(m.sku for m in moves)
        now = self.clock()
        stock = [stock_view(tx, sku, recent=0, now=now) for sku in skus]
        warnings = [w for view in stock if (w := sale_warning(
            view.sku, view.levels.get(StockState.SELLABLE, 0), held_back(tx, view.sku, now)))]
        return SaleView(pos_transaction_id=key, created=created, moves=moves, stock=stock,
                        warnings=warnings)

    # -- counts ---------------------------------------------------------------------------------

    def record_count(self, request: CountRequest) -> CountView:
        """Book a count's differences once per ``count_id``; audited as ``stock.counted``."""
        digest, at = request_hash(request), self.clock()
        skus = [line.sku for line in request.lines]
        if len(set(skus)) != len(skus):
            dupe = next(s for s in skus if skus.count(s) > 1)
            raise InvalidRequest(f"{dupe} is counted twice in one count", field="lines")
        with self.store.write() as tx:
            row = tx.one("SELECT * FROM stock_counts WHERE count_id = ?", (request.count_id,))
            if row is not None:
                if row["request_hash"] != digest:
                    raise Conflict(f"count_id {request.count_id} was already booked with a "
                                   "different body", field="count_id")
                return self._count_view(tx, row, created=False)
            counted = {line.sku: line.quantity for line in request.lines}
            if request.full:
                for sku in self._held_in(tx, request.state):
                    counted.setdefault(sku, 0)
            lines: list[CountedLine] = []
            for sku, quantity in counted.items():
                held = levels_of(tx, sku)[request.state]
                draft = rules.count_draft(sku, request.state, held, quantity, request.count_id,
                                          request.counted_by)
                if draft is not None:
                    self.book(tx, draft, at, request.counted_by or "counter", "counter")
                lines.append(CountedLine(sku=sku, held=held, counted=quantity,
                                         difference=quantity - held))
            row = {"count_id": request.count_id, "state": request.state.value,
                   "full_count": int(request.full), "counted_by": request.counted_by,
                   "request_hash": digest, "counted_at": format_utc(at),
                   "lines": json.dumps([line.model_dump() for line in lines])}
            tx.execute("INSERT INTO stock_counts(count_id, state, full_count, counted_by, "
                       "request_hash, counted_at, lines) VALUES (:count_id, :state, "
                       ":full_count, :counted_by, :request_hash, :counted_at, :lines)", row)
            differences = {line.sku: line.difference for line in lines if line.difference}
            audit.record(tx, at=at, actor=request.counted_by or "counter", role="counter",
                         action="stock.counted", entity="stock_count",
                         entity_id=request.count_id, before=None,
                         after={"state": request.state.value, "full": request.full,
                                "skus": len(lines), "differences": differences})
            answered = self._answer_tasks(tx, request, counted, at)
            view = self._count_view(tx, row, created=True)
        for sku in differences:
            self.on_write("stock.count", sku)
        if answered:
            self.on_write("stock.snapshot", "")
        return view

    def _answer_tasks(self, tx: Tx, request: CountRequest, counted: dict[str, int],
                      at: datetime) -> bool:
        """Close the hub's count tasks this count answers and send them, with the new figures,
        in a ``recount`` snapshot (same transaction: the answer never leaves without them)."""
        actor = request.counted_by or "counter"
        answers = tasks.answer(tx, request.state, counted, request.count_id, at, actor)
        if answers:
            taken = snapshot.take(tx, self.store_id, self.node_id, at, "recount", actor,
                                  "counter", signer=self.signer, answers=answers)
            tasks.sent_with(tx, answers, taken["snapshot_id"])
        return bool(answers)

    def count_tasks(self) -> list[dict[str, Any]]:
        """The hub's open count tasks here, oldest first (works offline)."""
        with self.store.read() as tx:
            return tasks.open_tasks(tx)

    @staticmethod
    def _held_in(tx: Tx, state: StockState) -> list[str]:
        return [str(r["sku"]) for r in tx.all(
            "SELECT sku FROM stock_levels WHERE state = ? AND quantity != 0 ORDER BY sku",
            (state.value,))]

    @staticmethod
    def _count_view(tx: Tx, row: dict[str, Any], created: bool) -> CountView:
        moves = [_move_view(r) for r in tx.all(
            "SELECT * FROM stock_moves WHERE count_id = ? AND reason = ? ORDER BY id",
            (row["count_id"], MoveReason.COUNT.value))]
        return CountView(count_id=row["count_id"], created=created,
                         state=StockState(row["state"]), full=bool(row["full_count"]),
                         counted_by=row["counted_by"], counted_at=row["counted_at"],
                         lines=[CountedLine.model_validate(x) for x in json.loads(row["lines"])],
                         moves=moves)

    # -- transfers and reservations --------------------------------------------------------------

    def record_move(self, request: MoveRequest) -> MoveView:
        """Book one transfer or reservation move; its answer seals the request's idempotency
        key (if it has one) in the same transaction."""
        at = self.clock()
        frm, to = request.pair()
        with self.store.write() as tx:
            event = self.book(tx, Draft(request.sku, request.quantity, frm, to,
                                        MoveReason(request.reason), staff_id=request.staff_id,
                                        transfer_id=request.transfer_id),
                              at, request.staff_id or "counter", "counter")
            view = _move_view(tx.one("SELECT * FROM stock_moves WHERE move_id = ?",
                                     (event.move_id,)) or {})
            idempotency.seal(tx, view.model_dump_json())
        self.on_write("stock.move", request.sku)
        return view

    # -- snapshots for the hub's consistency check ----------------------------------------------

    def snapshot(self, reason: SnapshotReason, actor: str, role: str) -> SnapshotView:
        """Send the hub a snapshot of the stock totals now (``edge_agent.stock.snapshot``)."""
        with self.store.write() as tx:
            taken = snapshot.take(tx, self.store_id, self.node_id, self.clock(), reason, actor,
                                  role, signer=self.signer)
        self.on_write("stock.snapshot", "")
        return SnapshotView.model_validate(taken)

    def snapshot_if_due(self, since: datetime, every: timedelta) -> datetime:
        """Take a scheduled snapshot if one is due; when the next one is due."""
        with self.store.read() as tx:
            due = snapshot.next_due(tx, since, every)
        if due <= self.clock():
            self.snapshot("schedule", "schedule", "system")
            with self.store.read() as tx:
                due = snapshot.next_due(tx, since, every)
        return due

    # -- reads ----------------------------------------------------------------------------------

    def stock(self, sku: str) -> StockView:
        """A SKU's stock at this store (zeros for a SKU never booked)."""
        with self.store.read() as tx:
            return stock_view(tx, sku, now=self.clock())


def _value(state: StockState | None) -> str | None:
    return state.value if state is not None else None


def _lines(tx: Tx, return_id: str) -> Iterable[tuple[str, int]]:
    """A return's (sku, quantity), one per SKU, in line order."""
    totals: dict[str, int] = {}
    for row in tx.all("SELECT sku, quantity FROM return_items WHERE return_id = ? ORDER BY line",
                      (return_id,)):
        totals[str(row["sku"])] = totals.get(str(row["sku"]), 0) + int(row["quantity"])
    return totals.items()
