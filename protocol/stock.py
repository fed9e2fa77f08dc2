"""The store's stock ledger on the wire: ``stock.moved`` (edge -> hub) and its pure move table.

A store holds each SKU in states (``StockState``): sellable, QC hold, refurbish, scrap, reserved
(for orders) and in transit. Every change of a quantity is ONE move of ``quantity`` units of one
SKU from one state to another, for one reason; ``None`` on a side is outside the store's stock
(a sale leaves it, a received return enters it).

Rules:
- ``MOVES`` is the one table of which (from, to) a reason may move, used by the counter (which
  refuses anything else with a 409) and by the hub (which applies only what fits); in short:
  * a returned item enters QC hold, never sellable (``return_received``, ``pos_return``);
  * only a disposition takes it out of QC hold: to sellable, refurbish or scrap, or out of the
    store (returned to the vendor); the counter allows it only after the return's inspection;
  * a POS sale takes sellable stock out; a count books the difference in or out of any state;
  * a reservation moves sellable to reserved and a release back; a transfer out moves sellable to
    in transit (or in-transit stock out of the store once delivered), a transfer in brings stock
    in as sellable (or into in transit, announced) and in-transit stock to sellable;
- ``balance`` is the store's quantity of each state the move touched, right after it: the hub
  keeps it beside its own sum, so the two are compared event by event;
- bounds as everywhere in the protocol (``protocol.limits``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Literal, Self

from pydantic import Field, model_validator

from protocol.limits import MAX_STOCK_BALANCE, MAX_STOCK_QUANTITY
from protocol.returns import Body, Code
from protocol.timeutil import UtcDatetime


class StockState(StrEnum):
    """Where a unit of a SKU is, inside the store."""

    SELLABLE = "sellable"
    QC_HOLD = "qc_hold"
    REFURBISH = "refurbish"
    SCRAP = "scrap"
    RESERVED = "reserved"
    IN_TRANSIT = "in_transit"


class MoveReason(StrEnum):
    """Why stock moved."""

    POS_SALE = "pos_sale"
    POS_RETURN = "pos_return"
    RETURN_RECEIVED = "return_received"
    DISPOSITION = "disposition"
    COUNT = "count"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    RESERVATION = "reservation"
    RELEASE = "release"


S = StockState
ANY_STATE: Final = frozenset(StockState)
Pair = tuple[StockState | None, StockState | None]

MOVES: Final[Mapping[MoveReason, frozenset[Pair]]] = MappingProxyType({
    MoveReason.POS_SALE: frozenset({(S.SELLABLE, None)}),
    MoveReason.POS_RETURN: frozenset({(None, S.QC_HOLD)}),
    MoveReason.RETURN_RECEIVED: frozenset({(None, S.QC_HOLD)}),
    MoveReason.DISPOSITION: frozenset({(S.QC_HOLD, S.SELLABLE), (S.QC_HOLD, S.REFURBISH),
                                       (S.QC_HOLD, S.SCRAP), (S.QC_HOLD, None)}),
    MoveReason.COUNT: frozenset({(None, s) for s in ANY_STATE} | {(s, None) for s in ANY_STATE}),
    MoveReason.TRANSFER_OUT: frozenset({(S.SELLABLE, S.IN_TRANSIT), (S.IN_TRANSIT, None)}),
    MoveReason.TRANSFER_IN: frozenset({(None, S.SELLABLE), (None, S.IN_TRANSIT),
                                       (S.IN_TRANSIT, S.SELLABLE)}),
    MoveReason.RESERVATION: frozenset({(S.SELLABLE, S.RESERVED)}),
    MoveReason.RELEASE: frozenset({(S.RESERVED, S.SELLABLE)}),
})


def move_allowed(reason: MoveReason, from_state: StockState | None,
                 to_state: StockState | None) -> bool:
    """True when ``reason`` may move stock from ``from_state`` to ``to_state``."""
    return (from_state, to_state) in MOVES[reason]


def describe(state: StockState | None) -> str:
    """A state's name in a sentence (``None`` is outside the store)."""
    return state.value if state is not None else "outside the store"


class StockMoved(Body):
    """One move of one SKU's stock at the store, durable in its ledger before it is sent."""

    kind: Literal["stock.moved"] = "stock.moved"
    move_id: Code
    sku: Code
    quantity: int = Field(ge=1, le=MAX_STOCK_QUANTITY)
    from_state: StockState | None = Field(
        default=None, description="where the units were; null: outside the store (received)")
    to_state: StockState | None = Field(
        default=None, description="where they are now; null: outside the store (sold, sent away)")
    reason: MoveReason
    pos_transaction_id: Code | None = None
    return_id: Code | None = None
    count_id: Code | None = None
    transfer_id: Code | None = None
    staff_id: Code | None = None
    at: UtcDatetime
    balance: dict[StockState, int] = Field(
        default_factory=dict, max_length=2,
        description="the store's quantity of each state this move touched, right after it")

    @model_validator(mode="after")
    def _fits_the_table(self) -> Self:
        if not move_allowed(self.reason, self.from_state, self.to_state):
            raise ValueError(f"a {self.reason.value} move cannot go from "
                             f"{describe(self.from_state)} to {describe(self.to_state)}")
        touched = {s for s in (self.from_state, self.to_state) if s is not None}
        if set(self.balance) - touched:
            raise ValueError("balance names a state the move does not touch")
        if any(abs(v) > MAX_STOCK_BALANCE for v in self.balance.values()):
            raise ValueError(f"a balance is beyond ±{MAX_STOCK_BALANCE}")
        return self
