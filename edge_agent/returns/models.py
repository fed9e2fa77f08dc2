"""Request and response shapes of the local API (the counter screen and POS software use these).

Rules: requests refuse unknown fields (a misspelt field is an error naming it, not silently
dropped); field constraints are the protocol's own (``Code``, ``Text``, ``Note``, ``Money``), so a
request that validates here always makes a valid event; money is ``{"amount": "12.34",
"currency": "USD"}`` with the amount as text or integer, never a float; timestamps are UTC with
``Z``. Every error answer has the shape of ``ErrorBody``.

Facts the refund policy weighs travel as recorded: an item's ``category`` (lower-cased, e.g.
``software``) and ``opened`` (the seal is broken), and the return's ``sold_at`` (the original sale,
UTC); each is null when the counter does not know or did not ask.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from protocol import (
    Channel,
    ComplianceTag,
    DecisionRule,
    Disposition,
    Grade,
    Money,
    RefundPayment,
    ReturnItem,
)
from protocol.limits import MAX_COMPLIANCE_TAGS, MAX_ITEMS, MAX_PHOTOS, MAX_SCANNED_CODES
from protocol.returns import Category, Code, Note, Text
from protocol.timeutil import UtcDatetime

RefundMethod = Literal["original_payment", "cash", "card", "store_credit"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScanRequest(_Request):
    """A code scanned or typed at the counter: RMA, order id, return id, or anything else."""

    code: Code


class ItemRequest(_Request):
    """One returned line."""

    sku: Code
    quantity: int = Field(ge=1, le=999)
    unit_price: Money
    description: Text | None = None
    gtin: Code | None = None
    asin: Code | None = None
    category: Category | None = Field(
        default=None, description="the product category as the refund policy names it, e.g. "
        "electronics, software, sealed_media, gift_card (lower-cased); null when not known",
        examples=["software"])
    opened: bool | None = Field(
        default=None, description="the customer opened the packaging (seal broken); null when "
        "the counter did not ask")

    def to_item(self) -> ReturnItem:
        """The protocol form of this line."""
        return ReturnItem.model_validate(self.model_dump())


class ReturnRequest(_Request):
    """Record a return taken in at the counter (and, by default, ask the hub for its refund)."""

    channel: Channel
    items: list[ItemRequest] = Field(min_length=1, max_length=MAX_ITEMS)
    reason: Text
    order_id: Code | None = None
    rma_id: Code | None = None
    marketplace_id: Code | None = None
    scanned_codes: list[Code] = Field(default_factory=list, max_length=MAX_SCANNED_CODES)
    staff_id: Code | None = None
    sold_at: UtcDatetime | None = Field(
        default=None, description="when the original sale happened (from the sale receipt), UTC "
        "with a zone; not after the return (a naive or future time is a 422); return windows "
        "count from it", examples=["2025-03-12T09:30:00Z"])
    request_refund: bool = True
    refund_method: RefundMethod | None = Field(
        default=None, description="how the customer is paid back (sent with the refund request)")
    approve_offline: bool = Field(
        default=False, description="a signed-in store manager approves and pays out the refund "
        "now, while the hub is unreachable: POS sales only, up to the store's offline limit; the "
        "hub checks it again when it syncs")


class InspectionRequest(_Request):
    """The QC result."""

    grade: Grade
    reason: Text | None = None
    notes: Note = ""
    compliance_tags: list[ComplianceTag] = Field(default_factory=list,
                                                 max_length=MAX_COMPLIANCE_TAGS)
    photos: list[Code] = Field(default_factory=list, max_length=MAX_PHOTOS)
    inspected_by: Code | None = None


class DispositionRequest(_Request):
    """What happens to the goods (only after QC)."""

    disposition: Disposition
    location: Code | None = None
    decided_by: Code | None = None


class InspectionView(BaseModel):
    """A recorded inspection."""

    grade: Grade
    reason: str | None
    notes: str
    compliance_tags: list[ComplianceTag]
    photos: list[str]
    inspected_by: str | None
    inspected_at: UtcDatetime


class DispositionView(BaseModel):
    """A recorded disposition."""

    disposition: Disposition
    location: str | None
    decided_by: str | None
    decided_at: UtcDatetime


class DecisionView(BaseModel):
    """The hub's latest decision on a refund."""

    outcome: str
    amount: Money | None
    approval_level: int | None
    reasons: list[str] = Field(description="the policy's full sentences (HQ's words, English)")
    rules: list[DecisionRule] = Field(
        default_factory=list, description="the fired rules as codes with parameters")
    decided_by: str | None
    decided_at: UtcDatetime


class PaymentView(BaseModel):
    """Where the money of an approved refund is, as the hub last said (the newest ``at`` wins)."""

    status: RefundPayment = Field(
        description="submitted (sent to the marketplace), confirmed, settled, or failed")
    detail: str = Field(description="for a failure, the marketplace's reason; else usually empty")
    at: UtcDatetime = Field(description="when the money reached this status (UTC)")


RefundStatus = Literal["requested", "approved_offline", "approved", "pending_approval",
                       "manual_review", "rejected", "awaiting_inspection"]


class RefundView(BaseModel):
    """The local view of a refund request and the hub's decision."""

    refund_id: str
    amount: Money
    status: RefundStatus = Field(
        description="awaiting_inspection: the hub refunds only after inspection and decides "
        "again once the inspection is recorded")
    outcome: str | None = Field(description="the hub's latest decision; null while waiting")
    requested_by: str | None
    requested_at: UtcDatetime
    sent_to_hub: bool = Field(description="the hub has acknowledged the refund request")
    decision: DecisionView | None
    approved_offline_by: str | None = Field(
        default=None, description="the store manager who paid it out while the hub was away; "
        "status approved_offline until the hub's decision arrives and replaces it")
    refund_method: str | None = None
    payment: PaymentView | None = Field(
        default=None, description="where the money is once the hub sends it (e.g. to Amazon): "
        "submitted, confirmed, settled or failed with the reason; null until the hub says")
    staff_reasons: list[str] = Field(
        default_factory=list, description="why, in a few short sentences for counter staff in "
        "the store's language (STORE_LANGUAGE), amounts in the store's currency: one per fired "
        "rule of the hub's decision, or what happens next while there is none")


class ReturnView(BaseModel):
    """A return with its items, QC, disposition and refund."""

    return_id: str
    return_code: str = Field(description="printed on the drop-off receipt (text, QR, Code 128); "
                             "a scan of it finds this return")
    state: Literal["expected", "received", "inspected", "disposed"]
    channel: Channel
    reason: str
    order_id: str | None
    rma_id: str | None
    marketplace_id: str | None
    scanned_codes: list[str]
    mismatch: bool
    mismatch_reasons: list[str] = Field(
        description="why the items differ from the RMA, in short sentences in the store's "
        "language (STORE_LANGUAGE); recorded and sent to the hub in English")
    staff_id: str | None
    items: list[ReturnItem]
    total: Money
    sold_at: UtcDatetime | None = Field(
        default=None, description="the original sale, as recorded; null when not known")
    received_at: UtcDatetime
    updated_at: UtcDatetime
    sent_to_hub: bool = Field(description="the hub has acknowledged the return")
    allowed_actions: list[Literal["receive", "inspect", "dispose"]]
    inspection: InspectionView | None
    disposition: DispositionView | None
    refund: RefundView | None


class ReturnPage(BaseModel):
    """Recent returns, newest first."""

    items: list[ReturnView]
    limit: int
    offset: int
    next_offset: int | None


class ExpectedView(BaseModel):
    """An RMA cached from the hub."""

    rma_id: str
    order_id: str
    channel: Channel
    marketplace_id: str | None
    items: list[ReturnItem]
    total: Money
    customer_hint: str | None
    expected_by: UtcDatetime | None


class ScanResult(BaseModel):
    """What a scanned code matched: an expected return, an existing return, or nothing."""

    code: str
    match: Literal["expected_return", "return", "unknown"]
    expected_return: ExpectedView | None
    returns: list[ReturnView]
    scanned_at: UtcDatetime


class HealthProblem(BaseModel):
    """Something wrong with the store's data: a code, what happened, what to do about it."""

    code: str = Field(description="disk_full, quarantined, lost_commits, damaged, journal, "
                      "seq_behind_hub, broker_refused")
    message: str
    action: str


class Health(BaseModel):
    """Is the agent up, is it connected, how much does it still owe the hub."""

    status: Literal["ok", "degraded"] = Field(
        default="ok", description="degraded while ``problems`` is not empty")
    problems: list[HealthProblem] = Field(
        default_factory=list, description="what is wrong with the store's data and what to do")
    store_id: str
    node_id: str
    store_name: str
    store_timezone: str
    currency: str
    broker_connected: bool
    broker: str | None = Field(default=None, description=(
        "the broker this node is on or trying, host:port (with several: where the hub is)"))
    subscribed: bool
    outbox_pending: int
    last_acked_seq: int
    next_seq: int
    version: str
    protocol_version: str
    started_at: UtcDatetime
    now: UtcDatetime
    config_version: int | None = Field(default=None,
                                       description="the store config in force; null before one")
    signin_required: bool = Field(default=False,
                                  description="the counter needs a staff sign-in (or a POS key)")


class ErrorItem(BaseModel):
    """One problem: the dotted path of the field at fault (None when no single field) and why."""

    field: str | None
    message: str


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer: ``{"detail": [{"field": "items.0.quantity", "message": …}]}``."""

    detail: list[ErrorItem]
