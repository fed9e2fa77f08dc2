"""Request and response bodies of the people, policy, desk and audit routes (what /docs shows)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from hub.access.permissions import Role
from hub.web.api.models import MoneyOut, Out, Reason, RefundOut, ReturnDetailOut
from protocol import Money
from protocol.timeutil import UtcDatetime

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Place = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class In(BaseModel):
    """Base of request bodies: unknown fields are refused, naming them."""

    model_config = ConfigDict(extra="forbid")


class LoginIn(In):
    """Credentials for a desk session."""

    username: Name
    password: Secret


class SessionOut(BaseModel):
    """The signed-in user and the CSRF token their browser must send with changes."""

    username: str
    display_name: str
    role: Role
    region: str | None
    city: str | None
    store_id: str | None
    csrf: str
    expires_at: UtcDatetime


class UserIn(In):
    """A new user."""

    username: Name
    display_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ]
    password: Secret
    role: Role
    region: Place | None = None
    city: Place | None = None
    store: Name | None = None
    bulk_limit: Decimal | None = Field(None, ge=0, allow_inf_nan=False)


class UserPatch(In):
    """Changes to a user; only the fields sent change. ``region``, ``city``, ``store`` and
    ``bulk_limit`` may be sent as null (clear them); the other fields may be left out, not
    nulled (422)."""

    display_name: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | SkipJsonSchema[None]
    ) = None
    role: Role | SkipJsonSchema[None] = None
    region: Place | None = None
    city: Place | None = None
    store: Name | None = None
    bulk_limit: Decimal | None = Field(None, ge=0, allow_inf_nan=False)
    active: bool | SkipJsonSchema[None] = None
    password: Secret | SkipJsonSchema[None] = None

    @field_validator("display_name", "role", "active", "password")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # None is only the "not sent" default; a null sent on purpose has no meaning here
        if value is None:
            raise ValueError("may not be null: leave the field out to keep its value")
        return value


class UserOut(Out):
    """A user (never the password hash)."""

    username: str
    display_name: str
    role: Role
    region: str | None
    city: str | None
    store_id: str | None
    active: bool
    bulk_limit: Decimal | None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class StoreIn(In):
    """Store attributes; only the fields sent change (``offline_limit: null`` removes it)."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    region: Place | None = None
    city: Place | None = None
    offline_limit: Money | None = None


class PinIn(In):
    """A staff PIN (4-8 digits) and the staff member's store role."""

    pin: Annotated[str, StringConstraints(pattern=r"^[0-9]{4,8}$")]
    role: Literal["store_staff", "store_manager"] = "store_staff"


class PolicyOut(BaseModel):
    """A stored policy version."""

    version: int
    name: str
    sha256: str
    published_by: str
    published_at: UtcDatetime
    yaml: str


class PolicyVersionOut(Out):
    """One line of the policy's history."""

    version: int
    name: str
    sha256: str
    published_by: str
    published_at: UtcDatetime
    reason: str | None


class SimulateIn(In):
    """A draft policy to try over the refunds of the last ``days`` days."""

    yaml: Annotated[str, StringConstraints(min_length=1, max_length=200_000)]
    days: int = Field(30, ge=1, le=365)
    examples: int = Field(3, ge=0, le=10)


class PolicyDraftIn(In):
    """A draft from the policy editor: the YAML as written (advanced view), or the form's
    sections (``document``: the policy's fields, amounts as decimal text). One of the two; with
    ``document``, ``base`` is the YAML the form was filled from, edited in place so that its
    comments and key order survive (without it, or when it is not a YAML mapping, the YAML is
    written anew in the canonical layout)."""

    yaml: Annotated[str, StringConstraints(max_length=200_000)] | None = None
    document: dict[str, Any] | None = None
    base: Annotated[str, StringConstraints(max_length=200_000)] | None = None

    @model_validator(mode="after")
    def _one(self) -> PolicyDraftIn:
        if (self.yaml is None) == (self.document is None):
            raise ValueError("send either yaml or document")
        if self.base is not None and self.document is None:
            raise ValueError("base goes with document: the YAML the form was filled from")
        return self


class ProblemOut(BaseModel):
    """One bad field of a draft: its path (``tiers[1].below``; empty: the whole document)."""

    field: str
    message: str


class PolicyDraftOut(BaseModel):
    """The draft as the editor shows it: its YAML (version raised to the next one), the
    document's fields when it is valid, and every problem at its field."""

    valid: bool
    version: int
    yaml: str
    document: dict[str, Any] | None
    problems: list[ProblemOut]


class RefundKey(In):
    """One refund of a bulk selection."""

    store_id: Name
    refund_id: Name


class BulkIn(In):
    """Refunds to approve together, and the total the approver saw (base currency)."""

    refunds: list[RefundKey] = Field(min_length=1, max_length=200)
    expected_total: Money
    reason: Reason | None = None


class RequestIn(In):
    """A refund request for a return; the amount defaults to the return's items total."""

    amount: Money | None = None


class QueueItemOut(Out):
    """A refund in the approval queue."""

    store_id: str
    refund_id: str
    return_id: str
    amount: MoneyOut
    base_amount: MoneyOut | None
    channel: str
    marketplace_id: str | None
    approval_level: int | None
    manual_review: bool
    reasons: list[str]
    requested_by: str | None
    requested_at: UtcDatetime
    age_hours: float
    ageing: Literal["ok", "due", "late"]
    policy_version: int | None


class QueuePage(BaseModel):
    """One page of the queue, with what the filters can take."""

    items: list[QueueItemOut]
    total: int
    limit: int
    offset: int
    target_hours: float


Search = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Bound = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=6, allow_inf_nan=False)]
DecidedState = Literal["approved", "rejected", "submitted", "confirmed", "settled", "failed"]


class DecidedQuery(In):
    """The decided view's search: exact matches, an inclusive amount range (the decision's base
    currency, or the refund's own amount with ``currency``), inclusive UTC decision days, paging."""

    order_id: Search | None = None
    return_code: Search | None = Field(None, description="the return id or its RMA code")
    customer_key: Search | None = None
    store: Search | None = None
    sku: Search | None = None
    min_amount: Bound | None = None
    max_amount: Bound | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    decided_from: date | None = None
    decided_to: date | None = None
    outcome: Literal["approved", "rejected"] | None = None
    state: DecidedState | None = None
    limit: int = Field(25, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _ranges(self) -> DecidedQuery:
        if (self.min_amount is not None and self.max_amount is not None
                and self.min_amount > self.max_amount):
            raise ValueError(f"min_amount {self.min_amount} is above max_amount {self.max_amount}")
        if (self.decided_from is not None and self.decided_to is not None
                and self.decided_from > self.decided_to):
            raise ValueError(f"decided_from {self.decided_from} is after decided_to "
                             f"{self.decided_to}")
        return self


class DecidedItemOut(Out):
    """A decided refund."""

    store_id: str
    refund_id: str
    return_id: str
    rma_id: str | None
    order_id: str | None
    amount: MoneyOut
    base_amount: MoneyOut | None
    channel: str
    marketplace_id: str | None
    state: str
    outcome: str | None
    manual_review: bool
    approval_level: int | None
    requested_by: str | None
    requested_at: UtcDatetime
    decided_by: str | None
    decided_at: UtcDatetime | None
    decision_reason: str | None
    policy_version: int | None


class DecidedPage(BaseModel):
    """One page of decided refunds, newest decision first."""

    items: list[DecidedItemOut]
    total: int
    limit: int
    offset: int


class StoryOut(BaseModel):
    """Everything about one refund."""

    refund: RefundOut
    decision: dict[str, Any] | None
    return_: ReturnDetailOut = Field(alias="return")
    store: dict[str, Any]
    customer_key: str | None = Field(description="how the hub recognises the customer (the "
                                     "decided view searches by it)")
    customer_history: list[RefundOut]
    audit: list[dict[str, Any]]
    ageing: Literal["ok", "due", "late"]
    age_hours: float
    can_decide: bool
    why_not: str | None

    model_config = ConfigDict(populate_by_name=True)


class AuditEntryOut(BaseModel):
    """One audit entry (personal data masked unless asked for by an admin)."""

    seq: int
    at: str
    actor: str
    role: str
    action: str
    entity: str
    entity_id: str
    reason: str | None
    before: Any
    after: Any
    hash: str


class AuditPage(BaseModel):
    """A page of the audit trail."""

    items: list[AuditEntryOut]
    total: int
    limit: int
    offset: int
