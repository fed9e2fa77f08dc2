"""Apply ``stock.moved`` events to the stock view — pure: loaded levels in, changes out.

Rules:
- an event is applied once, in its node's seq order (the ingest guarantees both); a move id the
  store already reported is refused (a ``Problem``, dead-lettered), never counted twice;
- the hub applies what the store did, as the store's ledger is the truth of its own stock: its
  quantity per (store, SKU, state) is the sum of the moves, kept beside the quantity the store
  said it held after the move (``reported_quantity``); ``as_of`` is the latest move's time;
- every applied move adds an audit draft (the node is the actor).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from hub.storage.audit_chain import AuditDraft, jsonable
from protocol import Envelope, StockMoved, StockState

LevelKey = tuple[str, str, str]  # store, sku, state
Row = dict[str, Any]
NODE_ROLE = "node"


@dataclass(frozen=True)
class Problem:
    """An accepted event the stock view could not apply, and why."""

    event: Envelope
    reason: str


@dataclass
class Loaded:
    """Current levels of what a batch touches, and the move ids already held per store."""

    levels: dict[LevelKey, Row] = field(default_factory=dict)
    move_ids: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class Changes:
    """What a batch of stock events changes."""

    levels_new: dict[LevelKey, Row] = field(default_factory=dict)
    levels_changed: dict[LevelKey, Row] = field(default_factory=dict)
    moves: list[Row] = field(default_factory=list)
    audit: list[AuditDraft] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class StockProjector:
    """Applies one batch's stock events in order."""

    def __init__(self, loaded: Loaded, now: datetime) -> None:
        self.loaded = loaded
        self.now = now
        self.changes = Changes()

    def _level(self, key: LevelKey) -> Row | None:
        return self.changes.levels_new.get(key) or self.loaded.levels.get(key)

    def _move(self, event: Envelope, body: StockMoved, state: StockState, delta: int) -> int:
        key = (event.store_id, body.sku, state.value)
        row = self._level(key)
        if row is None:
            row = {"store_id": key[0], "sku": key[1], "state": key[2], "quantity": 0,
                   "reported_quantity": None, "as_of": body.at, "updated_at": self.now}
            self.changes.levels_new[key] = row
        elif key not in self.changes.levels_new:
            self.changes.levels_changed[key] = row
        row["quantity"] = int(row["quantity"]) + delta
        row["reported_quantity"] = body.balance.get(state, row["reported_quantity"])
        row["as_of"] = max(row["as_of"], body.at)
        row["updated_at"] = self.now
        return int(row["quantity"])

    def apply(self, event: Envelope) -> None:
        """Apply one ``stock.moved``; a refusal is recorded as a Problem, never raised."""
        body = cast(StockMoved, event.body)
        ident = (event.store_id, body.move_id)
        if ident in self.loaded.move_ids:
            self.changes.problems.append(Problem(
                event, f"stock move {body.move_id!r} of store {event.store_id} was already "
                "applied (a different event reported it)"))
            return
        self.loaded.move_ids.add(ident)
        before: dict[str, int] = {}
        after: dict[str, int] = {}
        from_after = to_after = None
        if body.from_state is not None:
            from_after = self._move(event, body, body.from_state, -body.quantity)
            before[body.from_state.value] = from_after + body.quantity
            after[body.from_state.value] = from_after
        if body.to_state is not None:
            to_after = self._move(event, body, body.to_state, body.quantity)
            before[body.to_state.value] = to_after - body.quantity
            after[body.to_state.value] = to_after
        self.changes.moves.append({
            "store_id": event.store_id, "node_id": event.node_id, "seq": event.seq,
            "move_id": body.move_id, "sku": body.sku, "quantity": body.quantity,
            "from_state": _value(body.from_state), "to_state": _value(body.to_state),
            "reason": body.reason.value, "pos_transaction_id": body.pos_transaction_id,
            "return_id": body.return_id, "count_id": body.count_id,
            "transfer_id": body.transfer_id, "staff_id": body.staff_id, "at": body.at,
            "from_after": from_after, "to_after": to_after,
            "store_from_after": body.balance.get(body.from_state) if body.from_state else None,
            "store_to_after": body.balance.get(body.to_state) if body.to_state else None,
            "applied_at": self.now})
        self.changes.audit.append(AuditDraft(
            f"node:{event.store_id}/{event.node_id}", NODE_ROLE, "stock.moved", "stock",
            f"{event.store_id}/{body.sku}", jsonable(before),
            jsonable({**after, "move_id": body.move_id, "reason": body.reason.value,
                      "quantity": body.quantity})))


def _value(state: StockState | None) -> str | None:
    return state.value if state is not None else None
