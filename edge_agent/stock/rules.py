"""The ledger's pure rules: may this move happen, and what are the quantities after it.

Rules:
- a move fits ``protocol.MOVES`` (which reason may move which state to which), else 409;
- a returned item enters QC hold and leaves it only by its disposition, and only to sellable once
  its return was inspected (``Draft.inspected``): never sellable before inspection; a scrapped
  unit never becomes sellable (no move goes from scrap to sellable; a count can only book it out);
- no quantity goes below zero, except by a POS sale: the sale happened at the till and refusing
  it would lose a fact, so it is booked and the SKU shows ``needs_count`` until a count books the
  difference (a count sets a state to what was counted, never below zero);
- ``count_draft`` turns one counted figure into the move that books its difference (or None).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from edge_agent.errors import Conflict, InvalidRequest
from protocol import Channel, Disposition, MoveReason, StockState, move_allowed
from protocol.limits import MAX_STOCK_BALANCE, MAX_STOCK_QUANTITY
from protocol.stock import describe

Levels = Mapping[StockState, int]
MAY_GO_NEGATIVE = frozenset({MoveReason.POS_SALE})

DISPOSED_TO: Mapping[Disposition, StockState | None] = {
    Disposition.RESTOCK_SELLABLE: StockState.SELLABLE,
    Disposition.RESTOCK_OPEN_BOX: StockState.SELLABLE,
    Disposition.REFURBISH: StockState.REFURBISH,
    Disposition.DISPOSE: StockState.SCRAP,
    Disposition.RETURN_TO_VENDOR: None,  # leaves the store
}


class StockRefused(Conflict):
    """A move the ledger's rules do not allow (409)."""


@dataclass(frozen=True)
class Draft:
    """A move asked for, before it is checked and booked."""

    sku: str
    quantity: int
    from_state: StockState | None
    to_state: StockState | None
    reason: MoveReason
    staff_id: str | None = None
    pos_transaction_id: str | None = None
    return_id: str | None = None
    count_id: str | None = None
    transfer_id: str | None = None
    inspected: bool = False  # for a disposition: the return's inspection is recorded


def received_reason(channel: str) -> MoveReason:
    """Why a returned item enters QC hold: a POS sale return, or any other return."""
    return MoveReason.POS_RETURN if channel == Channel.POS.value else MoveReason.RETURN_RECEIVED


def disposed_to(disposition: str) -> StockState | None:
    """Where a disposition sends the goods (None: out of the store, e.g. back to the vendor)."""
    return DISPOSED_TO[Disposition(disposition)]


def check(draft: Draft, levels: Levels) -> dict[StockState, int]:
    """The quantities of the states ``draft`` touches after it, or StockRefused saying why."""
    if not 1 <= draft.quantity <= MAX_STOCK_QUANTITY:
        raise InvalidRequest(f"a move is 1 to {MAX_STOCK_QUANTITY} units", field="quantity")
    if not move_allowed(draft.reason, draft.from_state, draft.to_state):
        raise StockRefused(f"{draft.sku}: a {draft.reason.value} move cannot go from "
                           f"{describe(draft.from_state)} to {describe(draft.to_state)}",
                           field="reason")
    if (draft.from_state is StockState.QC_HOLD and draft.to_state is StockState.SELLABLE
            and not draft.inspected):
        raise StockRefused(f"{draft.sku}: a returned item is not sellable before its "
                           "inspection", field="to_state")
    after: dict[StockState, int] = {}
    if draft.from_state is not None:
        left = levels.get(draft.from_state, 0) - draft.quantity
        if left < 0 and draft.reason not in MAY_GO_NEGATIVE:
            raise StockRefused(
                f"{draft.sku}: only {levels.get(draft.from_state, 0)} {draft.from_state.value}, "
                f"cannot move {draft.quantity}", field="quantity")
        after[draft.from_state] = left
    if draft.to_state is not None:
        after[draft.to_state] = levels.get(draft.to_state, 0) + draft.quantity
    if any(abs(value) > MAX_STOCK_BALANCE for value in after.values()):
        raise InvalidRequest(f"{draft.sku}: a quantity beyond ±{MAX_STOCK_BALANCE}",
                             field="quantity")
    return after


def count_draft(sku: str, state: StockState, current: int, counted: int, count_id: str,
                staff_id: str | None) -> Draft | None:
    """The move that makes ``state`` hold ``counted`` units of ``sku`` (None: nothing differs).

    A difference beyond one move's bound is refused: a count that far off is a typing error.
    """
    if counted < 0:
        raise InvalidRequest("a counted quantity is 0 or more", field="quantity")
    difference = counted - current
    if difference == 0:
        return None
    if abs(difference) > MAX_STOCK_QUANTITY:
        raise InvalidRequest(f"{sku}: {counted} counted against {current} held is a difference "
                             f"beyond {MAX_STOCK_QUANTITY}; check the figure", field="quantity")
    base = Draft(sku, abs(difference), None, state, MoveReason.COUNT, staff_id=staff_id,
                 count_id=count_id)
    return base if difference > 0 else replace(base, from_state=state, to_state=None)
