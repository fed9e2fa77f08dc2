"""Request and response shapes of the POS API, with the examples the OpenAPI page shows.

Same rules as ``edge_agent.returns.models``: unknown fields are refused (named), money is
``{"amount": "19.99", "currency": "EUR"}`` with the amount as text, timestamps are UTC with ``Z``.
A line's ``category`` and ``opened`` and the request's ``sold_at`` (the original sale at the till)
are what the hub's refund policy weighs; leave them out when the till does not know.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from edge_agent.returns.models import ExpectedView, RefundMethod, ReturnView
from protocol import Money
from protocol.limits import MAX_ITEMS
from protocol.returns import Category, Code, Text
from protocol.timeutil import UtcDatetime

RefundMode = RefundMethod

LINE_EXAMPLE: dict[str, Any] = {
    "sku": "SKU-KETTLE-1", "qty": 1, "price": {"amount": "34.90", "currency": "EUR"},
    "description": "Kettle 1.7 l", "gtin": "4006381333931", "category": "home", "opened": True}
REQUEST_EXAMPLE: dict[str, Any] = {
    "pos_transaction_id": "till-3-20250330-000187", "receipt_id": "B-2025-0330-0042",
    "lines": [LINE_EXAMPLE], "reason": "defective", "refund_mode": "original_payment",
    "cashier": "cashier-17", "terminal_id": "till-3", "sold_at": "2025-03-14T15:42:10Z"}


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PosLine(_Request):
    """One line of the original sale being returned."""

    model_config = ConfigDict(extra="forbid", frozen=True,
                              json_schema_extra={"examples": [LINE_EXAMPLE]})

    sku: Code = Field(description="the store's SKU")
    qty: int = Field(ge=1, le=999, description="units returned")
    price: Money = Field(description="unit price paid, as on the sale receipt")
    description: Text | None = Field(default=None, description="printed on the receipt")
    gtin: Code | None = Field(default=None, description="the item's barcode, if known")
    category: Category | None = Field(
        default=None, description="the product category as the refund policy names it: "
        "electronics, software, sealed_media, gift_card, apparel, toys, home, other, … "
        "(letters, digits, '_', '.', '-'; lower-cased); leave out when not known")
    opened: bool | None = Field(
        default=None, description="the customer opened the packaging (seal broken); leave out "
        "when the till did not ask")


class PosReturnRequest(_Request):
    """A POS sale return; ``pos_transaction_id`` makes retries safe (one return per id)."""

    model_config = ConfigDict(extra="forbid", frozen=True,
                              json_schema_extra={"examples": [REQUEST_EXAMPLE]})

    pos_transaction_id: Code = Field(
        description="the POS's own id of this return transaction; posting it again returns the "
        "return already recorded (200) instead of recording a second one")
    receipt_id: Code = Field(description="the original sale receipt (kept as the order id)")
    lines: list[PosLine] = Field(min_length=1, max_length=MAX_ITEMS)
    reason: Text = Field(description="why the customer returns it, e.g. defective")
    refund_mode: RefundMode = Field(default="original_payment",
                                    description="how the POS refunds the customer")
    cashier: Code | None = Field(default=None, description="who took the return at the till")
    terminal_id: Code | None = Field(default=None, description="which till")
    sold_at: UtcDatetime | None = Field(
        default=None, description="when the original sale was rung up at the till (UTC, with a "
        "zone; not in the future); return windows count from it")
    approve_offline: bool = Field(
        default=False, description="a store manager signed in at the counter (this request "
        "carries their session) approves and pays out the refund while the hub is unreachable: "
        "up to the store's offline limit; the hub checks it again on sync")


class PosReturnView(BaseModel):
    """A POS return as recorded: the ids to print or keep, and the full return."""

    pos_transaction_id: str
    created: bool = Field(description="false when this pos_transaction_id was already recorded")
    return_id: str
    return_code: str = Field(description="printed on the customer's receipt (QR, Code 128)")
    receipt_id: str
    refund_mode: RefundMode
    cashier: str | None
    terminal_id: str | None
    record: ReturnView = Field(description="the return with items, refund request and sync state")


class PosLookup(BaseModel):
    """What the store knows about a receipt or an order."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "receipt": "B-2025-0330-0042", "order": None, "found": True,
        "returned_quantities": {"SKU-KETTLE-1": 1}, "expected_return": None, "returns": []}]})

    receipt: str | None
    order: str | None
    found: bool = Field(description="a return or an expected return matches")
    returned_quantities: dict[str, int] = Field(
        description="units already returned per SKU, to refuse returning more than was sold")
    expected_return: ExpectedView | None = Field(
        description="an RMA the hub told this store to expect for the order, not yet received")
    returns: list[ReturnView] = Field(description="returns already recorded, newest first")
