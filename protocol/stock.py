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
  * a reservation moves sellable to reserved and a release back; a shipped order package
    takes reserved stock out of the store (``shipped``); a transfer out moves sellable to
    in transit (or in-transit stock out of the store once delivered), a transfer in brings stock
    in as sellable (or into in transit, announced) and in-transit stock to sellable;
- ``balance`` is the store's quantity of each state the move touched, right after it: the hub
  keeps it beside its own sum, so the two are compared event by event;
- bounds as everywhere in the protocol (``protocol.limits``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Final, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from protocol.limits import MAX_STOCK_BALANCE, MAX_STOCK_QUANTITY
from protocol.returns import Body, Code, Hash, Note
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
    SHIPPED = "shipped"


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
    MoveReason.SHIPPED: frozenset({(S.RESERVED, None)}),
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


# -- the consistency check: the store's own totals ----------------------------------------------

MAX_SNAPSHOT_LINES = 500  # SKUs in one snapshot page (about 120 kB at worst: under the payload cap)
MAX_SNAPSHOT_PAGES = 10_000  # pages of one snapshot (5 million SKUs)
SnapshotReason = Literal["schedule", "hub", "local", "recount"]
MAX_SNAPSHOT_ANSWERS = 100  # count tasks one page may answer
SIGNATURE_CONTEXT = "acorn/v1 stock.snapshot signature"
# An ECDSA P-256 / SHA-256 signature (DER, at most 72 bytes), base64: at most 96 characters.
Signature = Annotated[str, StringConstraints(min_length=8, max_length=120,
                                             pattern=r"^[A-Za-z0-9+/]+={0,2}$")]


class SnapshotLine(Body):
    """One SKU's quantity per state at the store (states at zero left out)."""

    sku: Code
    levels: dict[StockState, int] = Field(max_length=len(StockState))

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        if any(abs(v) > MAX_STOCK_BALANCE for v in self.levels.values()):
            raise ValueError(f"a level is beyond ±{MAX_STOCK_BALANCE}")
        return self


class CountAnswer(Body):
    """A count that answered one of the hub's count tasks (``stock.count.task``)."""

    task_id: Code
    sku: Code
    state: StockState
    count_id: Code
    counted: int = Field(ge=-MAX_STOCK_BALANCE, le=MAX_STOCK_BALANCE)


def snapshot_digest(snapshot_id: str, page: int, as_of_seq: int, after_sku: str | None,
                    last_sku: str | None, lines: list[SnapshotLine],
                    answers: list[CountAnswer] | None = None) -> str:
    """The SHA-256 (hex) of one page's content in a canonical form: the page's seal (answers,
    when the page carries any, are sealed with it)."""
    parts = [snapshot_id, str(page), str(as_of_seq), after_sku or "", last_sku or ""]
    for line in lines:
        levels = ",".join(f"{s.value}={line.levels[s]}" for s in sorted(line.levels))
        parts.append(f"{line.sku}:{levels}")
    for a in answers or []:
        parts.append(f"answer:{a.task_id}:{a.sku}:{a.state.value}:{a.count_id}:{a.counted}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def signing_message(store_id: str, node_id: str, digest: str) -> bytes:
    """The bytes a node signs for one snapshot page: a context, who it is, and the page's digest
    (naming the node, so a page signed by one node cannot pass for another's)."""
    return "\n".join([SIGNATURE_CONTEXT, store_id, node_id, digest]).encode()


class StockSnapshot(Body):
    """One page of a store node's stock totals (``stock.snapshot``, edge -> hub, via the outbox).

    The page covers the SKUs after ``after_sku`` up to and including ``last_sku`` (``None``:
    from the first / to the last); a SKU in that range that is not listed holds nothing at the
    store. The totals count every stock move the node booked with an event seq up to
    ``as_of_seq`` and none after it, so moves still in flight never look like a difference.
    ``digest`` seals the page (``snapshot_digest``); a page whose digest does not match is refused.
    ``signature`` (a node enrolled with a certificate) is its key's ECDSA P-256 / SHA-256
    signature over ``signing_message``, base64 (DER); a node that logs in with a password has no
    key and sends none: its page is authenticated only by its broker identity.
    ``answers`` (reason ``recount``) names the hub's count tasks that a count answered; each
    answer's SKU lies in the page's range.
    """

    kind: Literal["stock.snapshot"] = "stock.snapshot"
    snapshot_id: Code
    reason: SnapshotReason = "schedule"
    page: int = Field(ge=1, le=MAX_SNAPSHOT_PAGES)
    pages: int = Field(ge=1, le=MAX_SNAPSHOT_PAGES)
    as_of_seq: int = Field(ge=0)
    taken_at: UtcDatetime
    after_sku: Code | None = None
    last_sku: Code | None = None
    lines: list[SnapshotLine] = Field(default_factory=list, max_length=MAX_SNAPSHOT_LINES)
    answers: list[CountAnswer] | None = Field(default=None, max_length=MAX_SNAPSHOT_ANSWERS)
    digest: Hash
    signature: Signature | None = None

    @model_validator(mode="after")
    def _sealed(self) -> Self:
        if self.page > self.pages:
            raise ValueError(f"page {self.page} of {self.pages}")
        skus = [line.sku for line in self.lines]
        if skus != sorted(set(skus)):
            raise ValueError("lines must be sorted by SKU, each SKU once")
        if skus and ((self.after_sku is not None and skus[0] <= self.after_sku)
                     or (self.last_sku is not None and skus[-1] > self.last_sku)):
            raise ValueError("a line's SKU lies outside the page's range")
        if any(not self.covers(a.sku) for a in self.answers or []):
            raise ValueError("an answer's SKU lies outside the page's range")
        if self.digest != snapshot_digest(self.snapshot_id, self.page, self.as_of_seq,
                                          self.after_sku, self.last_sku, self.lines,
                                          self.answers):
            raise ValueError("digest does not match the page's content")
        return self

    def covers(self, sku: str) -> bool:
        """True when ``sku`` lies in the page's range."""
        return ((self.after_sku is None or sku > self.after_sku)
                and (self.last_sku is None or sku <= self.last_sku))


class CountTask(Body):
    """The hub asks a node to count one SKU in one state (``stock.count.task``): a difference
    being resolved by a recount. The node's next count of that SKU and state answers it (its
    ``recount`` snapshot carries the answer), and the difference is checked again from it."""

    kind: Literal["stock.count.task"] = "stock.count.task"
    task_id: Code
    sku: Code
    state: StockState = StockState.SELLABLE
    difference_id: int | None = Field(default=None, ge=1)
    requested_by: Code | None = None
    note: Note | None = None


class SnapshotRequest(Body):
    """The hub asks a node for a snapshot of its stock totals now (``stock.snapshot.request``)."""

    kind: Literal["stock.snapshot.request"] = "stock.snapshot.request"
    requested_by: Code | None = None
