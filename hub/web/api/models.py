"""Request and response bodies of the hub API (what /docs shows)."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hub.refunds.origin import Origin
from hub.refunds.states import RefundState
from hub.returns.states import ReturnState
from protocol.timeutil import UtcDatetime

T = TypeVar("T")
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class Out(BaseModel):
    """Base of response bodies: built from row dicts, extra columns ignored."""

    model_config = ConfigDict(extra="ignore", from_attributes=True)


class MoneyOut(Out):
    """An exact amount: decimal text and ISO 4217 currency."""

    amount: str = Field(examples=["12.30"])
    currency: str = Field(examples=["USD"])


class ItemOut(Out):
    """One line of a return."""

    line_no: int
    sku: str
    quantity: int
    unit_price: MoneyOut
    description: str | None = None
    gtin: str | None = None
    asin: str | None = None
    category: str | None = Field(default=None, description="as the store recorded it")
    opened: bool | None = Field(default=None, description="null: the counter did not ask")


class InspectionOut(Out):
    """A QC result."""

    seq: int
    grade: str
    reason: str | None
    notes: str
    photos: list[str]
    compliance_tags: list[str]
    inspected_by: str | None
    inspected_at: UtcDatetime


class DispositionOut(Out):
    """What the store did with the goods."""

    seq: int
    disposition: str
    location: str | None
    decided_by: str | None
    decided_at: UtcDatetime


class RefundOut(Out):
    """A refund and where it stands."""

    store_id: str
    refund_id: str
    return_id: str
    node_id: str
    origin: Origin = Field(description="who asked for it: a store's node (``store``, or ``pos`` "
                           "for a POS sale) or a person at the hub (``hub``); the hub tells the "
                           "store's node about refunds a node asked for only")
    amount: MoneyOut
    channel: str
    order_id: str | None
    state: RefundState
    outcome: str | None
    approval_level: int | None
    reasons: list[str]
    requested_by: str | None
    requested_at: UtcDatetime
    decided_by: str | None
    decided_at: UtcDatetime | None
    decision_reason: str | None
    updated_at: UtcDatetime


class ReturnOut(Out):
    """A return as the hub knows it."""

    store_id: str
    return_id: str
    node_id: str
    state: ReturnState
    channel: str
    reason: str
    order_id: str | None
    rma_id: str | None
    marketplace_id: str | None
    mismatch: bool
    staff_id: str | None
    received_at: UtcDatetime
    sold_at: UtcDatetime | None = Field(default=None, description="the sale, as the store says")
    grade: str | None
    inspected_at: UtcDatetime | None
    disposition: str | None
    disposed_at: UtcDatetime | None
    updated_at: UtcDatetime


class ReturnDetailOut(ReturnOut):
    """A return with its lines, QC results, dispositions and refunds."""

    items: list[ItemOut]
    inspections: list[InspectionOut]
    dispositions: list[DispositionOut]
    refunds: list[RefundOut]


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    limit: int
    offset: int


class NodeOut(Out):
    """One edge node of a store."""

    node_id: str
    online: bool
    last_seen_at: UtcDatetime | None
    contiguous_seq: int = Field(description="highest seq stored with no gap before it")
    highest_seq: int
    gap: bool = Field(description="the hub holds events beyond a missing seq")
    version: str | None
    outbox_pending: int | None = Field(description="events waiting at the node (its status)")
    commands_unapplied: int = Field(description="hub -> node commands not yet applied")


class StoreOut(Out):
    """A store and its nodes."""

    store_id: str
    name: str | None
    region: str | None = None
    city: str | None = None
    offline_limit: MoneyOut | None = None
    nodes: list[NodeOut]


class DeadLetterOut(Out):
    """A message the hub refused or could not apply."""

    id: int
    received_at: UtcDatetime
    topic: str
    sender: str | None
    reason: str
    field: str | None
    payload: str | None = Field(description=(
        "the first 2000 bytes, as text; null unless the caller is an admin"))
    payload_bytes: int


class HealthOut(BaseModel):
    """Is the hub able to work."""

    status: str = Field(examples=["ok", "degraded"])
    version: str
    database: dict[str, Any]
    mqtt: dict[str, Any]
    ingest: dict[str, Any] = Field(default_factory=dict, description=(
        "the MQTT ingest thread: running (null without MQTT), restarts, errors caught, "
        "last_error; not running makes the status degraded"))
    counts: dict[str, int] = Field(description="headline counts, each at most 100000 (meaning "
                                   "that many or more), so the open check stays cheap")


class ApproveIn(BaseModel):
    """Optional note with an approval."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None


class RejectIn(BaseModel):
    """A rejection must say why."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason


class ErrorItem(BaseModel):
    """One thing wrong with a request."""

    field: str | None
    message: str


class ErrorOut(BaseModel):
    """Every error answer."""

    detail: list[ErrorItem]
