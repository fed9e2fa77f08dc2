"""Request and response shapes of the stock API (POS sales, counts, a SKU's stock).

Same rules as ``edge_agent.returns.models``: unknown fields are refused (named), bounds are the
protocol's (``Code``, ``protocol.limits``), timestamps are UTC with ``Z``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from protocol import MoveReason, StockState
from protocol.limits import MAX_ITEMS, MAX_STOCK_QUANTITY
from protocol.returns import Code
from protocol.timeutil import UtcDatetime

MAX_COUNT_LINES = 5000  # SKUs in one count request (a bigger store counts in parts)

SALE_EXAMPLE: dict[str, Any] = {
    "pos_transaction_id": "till-3-20250330-000188", "receipt_id": "B-2025-0330-0043",
    "lines": [{"sku": "SKU-KETTLE-1", "qty": 2}], "cashier": "cashier-17",
    "terminal_id": "till-3"}
COUNT_EXAMPLE: dict[str, Any] = {
    "count_id": "count-2025-03-30-aisle-4", "full": False, "state": "sellable",
    "lines": [{"sku": "SKU-KETTLE-1", "quantity": 7}], "counted_by": "emp-042"}


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SaleLine(_Request):
    """One line of a POS sale."""

    sku: Code = Field(description="the store's SKU")
    qty: int = Field(ge=1, le=MAX_STOCK_QUANTITY, description="units sold")


class SaleRequest(_Request):
    """A POS sale; ``pos_transaction_id`` makes retries safe (booked once per id)."""

    model_config = ConfigDict(extra="forbid", frozen=True,
                              json_schema_extra={"examples": [SALE_EXAMPLE]})

    pos_transaction_id: Code = Field(description="the till's id of this sale: the idempotency "
                                     "key (a repeat answers 200 with the first booking)")
    receipt_id: Code | None = Field(default=None, description="the sale receipt's number")
    lines: list[SaleLine] = Field(min_length=1, max_length=MAX_ITEMS)
    cashier: Code | None = None
    terminal_id: Code | None = None


class CountLine(_Request):
    """One counted figure."""

    sku: Code
    quantity: int = Field(ge=0, le=MAX_STOCK_QUANTITY, description="units counted")


class CountRequest(_Request):
    """A stock count of one state: the difference to the ledger is booked as moves (``count``).

    ``full``: every SKU of that state the ledger holds but the count does not name was counted
    at zero. Idempotent on ``count_id``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True,
                              json_schema_extra={"examples": [COUNT_EXAMPLE]})

    count_id: Code
    full: bool = False
    state: StockState = StockState.SELLABLE
    lines: list[CountLine] = Field(default_factory=list, max_length=MAX_COUNT_LINES)
    counted_by: Code | None = None


ManualReason = Literal["transfer_out", "transfer_in", "reservation", "release"]
DEFAULT_PAIRS: dict[str, tuple[StockState | None, StockState | None]] = {
    "transfer_out": (StockState.SELLABLE, StockState.IN_TRANSIT),
    "transfer_in": (None, StockState.SELLABLE),
    "reservation": (StockState.SELLABLE, StockState.RESERVED),
    "release": (StockState.RESERVED, StockState.SELLABLE),
}


class MoveRequest(_Request):
    """A transfer or reservation move (sales, returns and counts have their own routes).

    ``from_state``/``to_state`` default by reason: transfer_out sellable -> in_transit,
    transfer_in (outside) -> sellable, reservation sellable -> reserved, release reserved ->
    sellable; send them (null: outside the store) for the other moves the ledger allows, e.g. a
    transfer out delivered: in_transit -> null. Send an ``Idempotency-Key`` to retry safely.
    """

    sku: Code
    quantity: int = Field(ge=1, le=MAX_STOCK_QUANTITY)
    reason: ManualReason
    from_state: StockState | None = None
    to_state: StockState | None = None
    transfer_id: Code | None = Field(default=None, description="the transfer or order it is for")
    staff_id: Code | None = None

    def pair(self) -> tuple[StockState | None, StockState | None]:
        """The (from, to) asked: the reason's default for each side not sent."""
        default = DEFAULT_PAIRS[self.reason]
        sent = self.model_fields_set
        return (self.from_state if "from_state" in sent else default[0],
                self.to_state if "to_state" in sent else default[1])


class MoveView(BaseModel):
    """One booked move."""

    move_id: str
    sku: str
    quantity: int
    from_state: StockState | None
    to_state: StockState | None
    reason: MoveReason
    pos_transaction_id: str | None = None
    return_id: str | None = None
    count_id: str | None = None
    transfer_id: str | None = None
    staff_id: str | None = None
    at: UtcDatetime
    from_after: int | None = None
    to_after: int | None = None
    event_seq: int


class StockView(BaseModel):
    """A SKU's stock at this store, by state, with its latest moves (newest first)."""

    sku: str
    levels: dict[StockState, int]
    on_hand: int = Field(description="every state's units together")
    needs_count: bool = Field(description="a state is below zero (sold beyond what the ledger "
                              "held): count it")
    kept_back: int = Field(0, description="units the allocation rules keep back here (the "
                           "store's floor and active reserves for online orders or in-store "
                           "sale): selling below it takes from them")
    moves: list[MoveView]


class SaleWarning(BaseModel):
    """A sale left fewer sellable units of a SKU than the allocation rules keep back here."""

    sku: str
    code: Literal["below_kept_back"] = "below_kept_back"
    sellable: int = Field(description="sellable units after the sale")
    kept_back: int = Field(description="the floor and the active reserves together")
    floor: int
    reserves: list[str] = Field(description="the active reserves, as name (for)")
    message: str


class SaleView(BaseModel):
    """A booked POS sale: its moves and the stock of its SKUs after them."""

    pos_transaction_id: str
    created: bool
    moves: list[MoveView]
    stock: list[StockView]
    warnings: list[SaleWarning] = Field(default_factory=list, description=(
        "SKUs whose sellable quantity fell below what the rules keep back (the sale is booked "
        "all the same; the counter shows it in the store's language)"))


class CountedLine(BaseModel):
    """One SKU of a count: held before, counted, the difference booked."""

    sku: str
    held: int
    counted: int
    difference: int


class CountView(BaseModel):
    """A booked count."""

    count_id: str
    created: bool
    state: StockState
    full: bool
    counted_by: str | None
    counted_at: datetime
    lines: list[CountedLine]
    moves: list[MoveView]


class SnapshotView(BaseModel):
    """A snapshot of the stock totals, queued for the hub (its pages ride the outbox)."""

    snapshot_id: str
    reason: str
    taken_at: str = Field(description="UTC, ISO 8601 with Z")
    as_of_seq: int = Field(description="the seq of the last stock move it counts")
    skus: int
    pages: int
    first_seq: int
    last_seq: int
    signed: bool = Field(default=False, description=(
        "signed with this node's key (certificate nodes); a password node's snapshot is "
        "authenticated only by its broker identity"))


class CountTaskView(BaseModel):
    """One of the hub's open count tasks: count this SKU in this state (a recount it asked for)."""

    task_id: str
    sku: str
    state: StockState
    difference_id: int | None = None
    requested_by: str | None = None
    note: str | None = None
    received_at: str = Field(description="UTC, ISO 8601 with Z")


class CountTasks(BaseModel):
    """The hub's open count tasks at this store, oldest first."""

    tasks: list[CountTaskView]
