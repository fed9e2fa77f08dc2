"""Message bodies of the return path, edge -> hub and hub -> edge.

Edge -> hub events (on ``.../nodes/N/events``):
    return.received       a return taken in at the counter, durable in the store's SQLite
    inspection.recorded   QC result: grade, reason, photos, compliance tags
    disposition.recorded  what happens to the goods (restock, RTV, refurbish, dispose)
    refund.requested      the store asks the hub to refund a return
    command.applied       the node applied (or refused) a hub command, once (for
                          ``event.verify``: which event it holds at the asked seq)

Hub -> edge commands (on ``.../nodes/N/commands``):
    return.expected       an RMA the customer may bring to this store (cached for offline use)
    refund.decided        the hub's decision on a refund request (or that it waits for the
                          inspection: outcome ``awaiting_inspection``)
    refund.status         where the money of an approved refund is: submitted to the marketplace,
                          confirmed, settled, or failed (with the marketplace's reason)
    event.verify          two different events claim one of the node's seqs: which did it send?

Bodies are frozen; unknown fields are ignored so an older node accepts a newer hub's messages.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from protocol.errors import InvalidValue
from protocol.limits import (
    MAX_AMOUNT,
    MAX_AMOUNT_INTEGER_DIGITS,
    MAX_CODE_CHARS,
    MAX_COMPLIANCE_TAGS,
    MAX_ITEMS,
    MAX_MISMATCH_REASONS,
    MAX_NOTE_CHARS,
    MAX_PHOTOS,
    MAX_REASONS,
    MAX_RULE_PARAMS,
    MAX_RULES,
    MAX_SCANNED_CODES,
    MAX_TEXT_CHARS,
)
from protocol.money import Money
from protocol.timeutil import UtcDatetime, format_utc

Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS,
                                        strip_whitespace=True)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=MAX_CODE_CHARS,
                                        strip_whitespace=True)]
Note = Annotated[str, StringConstraints(max_length=MAX_NOTE_CHARS)]
Hash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]  # a SHA-256, hex
# A product category as the refund policy names them (electronics, software, sealed_media, …):
# lower case, so "Software" at a till and "software" in the policy are the same category.
_CATEGORY = re.compile(r"[a-z0-9][a-z0-9_.-]*")


def _category(value: str) -> str:
    if not _CATEGORY.fullmatch(value):
        raise ValueError("a category is letters, digits, '_', '.' or '-', e.g. sealed_media")
    return value


Category = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_CODE_CHARS, strip_whitespace=True,
                      to_lower=True),
    AfterValidator(_category),
]


class Body(BaseModel):
    """Base of every message body."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Channel(StrEnum):
    """Where the original sale happened."""

    AMAZON_MFN = "amazon_mfn"
    AMAZON_FBA = "amazon_fba"
    POS = "pos"
    WEB = "web"


class Grade(StrEnum):
    """QC grade of a returned item."""

    NEW = "new"
    LIKE_NEW = "like_new"
    GOOD = "good"
    ACCEPTABLE = "acceptable"
    DEFECTIVE = "defective"
    DAMAGED_IN_TRANSIT = "damaged_in_transit"
    DAMAGED_BY_CUSTOMER = "damaged_by_customer"


class Disposition(StrEnum):
    """What happens to the goods after QC."""

    RESTOCK_SELLABLE = "restock_sellable"
    RESTOCK_OPEN_BOX = "restock_open_box"
    RETURN_TO_VENDOR = "return_to_vendor"
    REFURBISH = "refurbish"
    DISPOSE = "dispose"


class ComplianceTag(StrEnum):
    """Regulatory handling tags."""

    WEEE = "weee"
    BATTERY = "battery"
    HAZMAT = "hazmat"


class RefundOutcome(StrEnum):
    """The hub's answer to a refund request."""

    APPROVED = "approved"
    PENDING_APPROVAL = "pending_approval"
    MANUAL_REVIEW = "manual_review"
    REJECTED = "rejected"
    AWAITING_INSPECTION = "awaiting_inspection"  # decided once the item's inspection is in


class RefundPayment(StrEnum):
    """Where the money of an approved refund is, once the hub sends it (e.g. to Amazon)."""

    SUBMITTED = "submitted"  # sent; not yet confirmed
    CONFIRMED = "confirmed"  # the marketplace confirmed the money went back to the customer
    SETTLED = "settled"  # it appeared in a settlement (the books are closed on it)
    FAILED = "failed"  # it did not go through; ``detail`` says why; the hub may retry it


class ReturnItem(Body):
    """One line of a return."""

    sku: Code
    quantity: int = Field(ge=1, le=999)
    unit_price: Money
    description: Text | None = None
    gtin: Code | None = None
    asin: Code | None = None
    category: Category | None = Field(
        default=None, description="the product category as the refund policy names it "
        "(e.g. electronics, software, sealed_media, gift_card); null when the store does not know")
    opened: bool | None = Field(
        default=None, description="the customer opened the packaging (seal broken); "
        "null when the counter did not ask")


class ReturnReceived(Body):
    """A return taken in at the counter."""

    kind: Literal["return.received"] = "return.received"
    return_id: Code
    channel: Channel
    items: list[ReturnItem] = Field(min_length=1, max_length=MAX_ITEMS)
    reason: Text
    order_id: Code | None = None
    rma_id: Code | None = None
    marketplace_id: Code | None = None
    scanned_codes: list[Code] = Field(default_factory=list, max_length=MAX_SCANNED_CODES)
    mismatch: bool = False
    mismatch_reasons: list[Note] = Field(default_factory=list, max_length=MAX_MISMATCH_REASONS)
    staff_id: Code | None = None
    received_at: UtcDatetime
    sold_at: UtcDatetime | None = Field(
        default=None, description="when the original sale happened, from the sale receipt or the "
        "POS; return windows count from it (an Amazon order's date comes from the hub's sync)")

    @model_validator(mode="after")
    def _total_fits(self) -> Self:
        problem = items_total_fits(self.items)
        if problem:
            raise ValueError(problem)
        return self


class InspectionRecorded(Body):
    """The QC result for a return."""

    kind: Literal["inspection.recorded"] = "inspection.recorded"
    return_id: Code
    grade: Grade
    reason: Text | None = None
    notes: Note = ""
    photos: list[Code] = Field(default_factory=list, max_length=MAX_PHOTOS)
    compliance_tags: list[ComplianceTag] = Field(default_factory=list,
                                                 max_length=MAX_COMPLIANCE_TAGS)
    inspected_by: Code | None = None
    inspected_at: UtcDatetime


class DispositionRecorded(Body):
    """What the store does with the goods after QC."""

    kind: Literal["disposition.recorded"] = "disposition.recorded"
    return_id: Code
    disposition: Disposition
    location: Code | None = None
    decided_by: Code | None = None
    decided_at: UtcDatetime


class RefundRequested(Body):
    """The store asks the hub to refund a return."""

    kind: Literal["refund.requested"] = "refund.requested"
    refund_id: Code
    return_id: Code
    amount: Money
    channel: Channel
    order_id: Code | None = None
    marketplace_id: Code | None = None
    requested_by: Code | None = None
    requested_at: UtcDatetime
    approved_offline_by: Code | None = Field(
        default=None,
        description="staff id who approved and paid out at the counter while the hub was away; "
        "the hub re-checks it against the store's offline limit",
    )
    refund_method: Code | None = Field(
        default=None, description="how the customer is paid back, e.g. original_payment, cash"
    )


class HeldEvent(BaseModel):
    """The node's answer to ``event.verify``: what its own database holds at that seq.

    ``held``: ``message_id`` and ``event_hash`` name the event it wrote there (sent or still
    waiting in its outbox); ``not_written``: the node has not reached that seq yet; ``gone``: the
    seq is below what the node still keeps (it cannot say what it sent there).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    seq: int = Field(ge=1)
    state: Literal["held", "not_written", "gone"]
    message_id: Code | None = None
    event_hash: Hash | None = None


class CommandApplied(Body):
    """The node applied (or refused) a hub command; reported once per command id."""

    kind: Literal["command.applied"] = "command.applied"
    command_id: Code
    command_kind: Code
    result: Literal["applied", "refused"]
    detail: Note = ""
    event: HeldEvent | None = Field(
        default=None, description="for an event.verify command: the event the node holds at the "
        "asked seq")


class Candidate(BaseModel):
    """One event that claims a seq: its message id and ``event_hash``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    message_id: Code
    event_hash: Hash


class EventVerify(Body):
    """Two or more different events claim one seq of this node: say which one you wrote.

    The hub applies nothing of the node's stream from that seq on until the node answers with
    ``command.applied`` carrying ``event`` (the hub keeps the node's own event and dead-letters
    the others as planted).
    """

    kind: Literal["event.verify"] = "event.verify"
    seq: int = Field(ge=1)
    candidates: list[Candidate] = Field(min_length=1, max_length=20)


def event_hash(kind: str, occurred_at: datetime, body: Body) -> str:
    """SHA-256 (hex) of an event's kind, time and body in one canonical JSON form.

    Edge and hub compute it from the validated model (not from the bytes on the wire), so the
    same event gives the same hash on both sides whatever the field order or spacing.
    """
    wire = body.model_dump(mode="json", exclude_none=True, exclude={"kind"})
    canonical = json.dumps({"kind": kind, "occurred_at": format_utc(occurred_at), "body": wire},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


class ExpectedReturn(Body):
    """An RMA the customer may bring to this store."""

    kind: Literal["return.expected"] = "return.expected"
    rma_id: Code
    order_id: Code
    channel: Channel
    marketplace_id: Code | None = None
    items: list[ReturnItem] = Field(min_length=1, max_length=MAX_ITEMS)
    customer_hint: Text | None = None  # masked, e.g. "J*** D***"
    expected_by: UtcDatetime | None = None

    @model_validator(mode="after")
    def _total_fits(self) -> Self:
        problem = items_total_fits(self.items)
        if problem:
            raise ValueError(problem)
        return self


class RuleEffect(StrEnum):
    """What one fired rule did to a refund decision."""

    AUTO_APPROVE = "auto_approve"
    NEEDS_APPROVAL = "needs_approval"
    MANUAL_REVIEW = "manual_review"
    REJECT = "reject"
    WAIVED = "waived"  # the rule matched, but a later rule set it aside
    TIMING = "timing"  # when the money goes back
    NOTE = "note"  # said for the record, changes nothing


_KNOWN_EFFECTS = frozenset(effect.value for effect in RuleEffect)


# A rule's stable code, e.g. ``tier.regional``, ``window.expired``, ``timing.on_scan``.
RuleCode = Annotated[str, StringConstraints(min_length=1, max_length=MAX_CODE_CHARS,
                                            pattern=r"^[a-z0-9_]+(\.[a-z0-9_-]+)*$")]
ParamKey = Annotated[str, StringConstraints(min_length=1, max_length=32,
                                            pattern=r"^[a-z][a-z0-9_]*$")]
ParamText = Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)]


class DecisionRule(Body):
    """One rule the policy fired for a decision, as data: a stable ``code`` and its parameters.

    The store words it for its staff from ``code`` (``reasons`` keep the hub's full sentences for
    the desk). ``params`` are text: amounts as exact decimals (``"43.39"``) beside a
    ``currency``, which may be the policy's base currency rather than the store's. An ``effect``
    this node does not know yet reads as null, so a newer hub's decision still applies.
    """

    code: RuleCode
    effect: RuleEffect | None = None
    level: int | None = Field(default=None, ge=0, le=99, description="approval level it asks")
    params: dict[ParamKey, ParamText] = Field(default_factory=dict, max_length=MAX_RULE_PARAMS)

    @field_validator("effect", mode="before")
    @classmethod
    def _unknown_effect(cls, value: object) -> object:
        known = value is None or value in _KNOWN_EFFECTS or not isinstance(value, str)
        return value if known else None


class RefundDecided(Body):
    """The hub's decision on a refund request.

    ``reasons`` are the policy's full sentences (the desk's words); ``rules`` name the same fired
    rules as codes with parameters, for the store to say in its own language (empty from a hub
    older than the field, and for a refund that waits for its inspection).
    """

    kind: Literal["refund.decided"] = "refund.decided"
    refund_id: Code
    return_id: Code
    outcome: RefundOutcome
    amount: Money
    approval_level: int | None = None
    reasons: list[Note] = Field(default_factory=list, max_length=MAX_REASONS)
    rules: list[DecisionRule] = Field(default_factory=list, max_length=MAX_RULES)
    decided_by: Code | None = None
    decided_at: UtcDatetime


class RefundStatus(Body):
    """Where the money of an approved refund is now; the newest ``at`` is the truth."""

    kind: Literal["refund.status"] = "refund.status"
    refund_id: Code
    return_id: Code
    status: RefundPayment
    detail: Note = Field(default="", description="why, for a failure: the marketplace's message")
    at: UtcDatetime


def items_total_fits(items: list[ReturnItem]) -> str | None:
    """None when the lines' total (quantity × unit price, per currency) is a valid amount, else
    why not: a refund of the whole return must itself be a valid amount."""
    totals: dict[str, Decimal] = {}
    for item in items:
        money = item.unit_price
        so_far = totals.get(money.currency, Decimal(0))
        totals[money.currency] = so_far + money.amount * item.quantity
    for currency, total in totals.items():
        if abs(total) >= MAX_AMOUNT:
            return (f"the items total {total} {currency} has more than {MAX_AMOUNT_INTEGER_DIGITS} "
                    "digits before the decimal point")
    return None



def items_total(items: list[ReturnItem]) -> Money:
    """Sum of quantity × unit price, exact, in the lines' one currency; InvalidValue naming the
    first line in another currency, or ``items`` when the total is not a valid amount."""
    currency = items[0].unit_price.currency
    amount = Decimal(0)
    for index, item in enumerate(items):
        if item.unit_price.currency != currency:
            raise InvalidValue(
                f"all items must be in one currency: {item.unit_price.currency} is not {currency}",
                field=f"items.{index}.unit_price.currency")
        amount += item.unit_price.amount * item.quantity
    problem = items_total_fits(items)
    if problem:  # the hub could not apply it: refuse it where it is made
        raise InvalidValue(problem, field="items")
    return Money(amount=amount, currency=currency)
