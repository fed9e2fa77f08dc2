"""Plain, frozen values of the simulated seller world: orders, returns, refunds, settlements.

Money is `Decimal` in the order's currency. Charges follow Amazon's sign convention from the
seller's point of view: a sale's Principal is positive, a refund's Principal negative; fees are
negative when charged and positive when given back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

FulfilledBy = Literal["MERCHANT", "AMAZON"]


@dataclass(frozen=True, slots=True)
class Charge:
    """One typed amount: a ChargeType (Principal, Tax, Shipping) or a FeeType (Commission)."""

    kind: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Buyer:
    """The buyer and delivery address (personal data: synthetic, but treat it as real).

    `email` is Amazon's anonymised relay address: one per buyer, the same on all their orders."""

    name: str
    email: str
    line1: str
    city: str
    region: str
    postal_code: str
    country_code: str
    phone: str


@dataclass(frozen=True, slots=True)
class OrderItem:
    """One order line; `tax` and `shipping` are line totals."""

    order_item_id: str
    sku: str
    asin: str
    fnsku: str
    title: str
    quantity: int
    unit_price: Decimal
    tax: Decimal
    shipping: Decimal

    @property
    def principal(self) -> Decimal:
        """Unit price times quantity."""
        return self.unit_price * self.quantity

    @property
    def paid(self) -> Decimal:
        """What the buyer paid for the line: principal, tax and shipping."""
        return self.principal + self.tax + self.shipping


@dataclass(frozen=True, slots=True)
class Package:
    """A package the seller confirmed as shipped (`confirmShipment`), identified per order by
    its `reference_id`; `items` are (order item id, quantity) pairs."""

    reference_id: str
    carrier_code: str
    carrier_name: str | None
    shipping_method: str | None
    tracking_number: str
    ship_date: datetime
    items: tuple[tuple[str, int], ...]
    supply_source_id: str | None
    created: datetime
    updated: datetime

    def quantity(self, order_item_id: str) -> int:
        """Units of one order line in this package."""
        return sum(quantity for item_id, quantity in self.items if item_id == order_item_id)


@dataclass(frozen=True, slots=True)
class Order:
    """An order in one marketplace of one seller; `packages` are those confirmed live."""

    order_id: str
    seller_id: str
    marketplace_id: str
    currency: str
    created: datetime
    updated: datetime
    shipped: datetime | None
    fulfilled_by: FulfilledBy
    status: str
    is_prime: bool
    items: tuple[OrderItem, ...]
    buyer: Buyer
    seller_order_id: str
    packages: tuple[Package, ...] = ()

    @property
    def deliver_by(self) -> datetime:
        """The promised latest delivery: 4 days after the order (FBA), 7 days (MFN)."""
        return self.created + timedelta(days=4 if self.fulfilled_by == "AMAZON" else 7)

    @property
    def total(self) -> Decimal:
        """What the buyer paid for the whole order."""
        return sum((item.paid for item in self.items), Decimal(0))

    def item(self, order_item_id: str) -> OrderItem | None:
        """The line with this Amazon order item code, if any."""
        return next((i for i in self.items if i.order_item_id == order_item_id), None)


@dataclass(frozen=True, slots=True)
class ReturnRequest:
    """A customer return of one order line; MFN rows feed one report, FBA rows another.

    `store_id` is set when the customer chose to drop the item off at one of the seller's
    stores; the MFN returns report then shows it (see `reports.py`), as it shows
    `a_to_z_claim` in its `A-to-Z Claim` column.
    """

    order_id: str
    order_item_id: str
    marketplace_id: str
    fulfilled_by: FulfilledBy
    requested: datetime
    quantity: int
    reason: str
    rma_id: str
    label_type: str
    carrier: str
    tracking_id: str
    store_id: str | None
    in_policy: bool
    fulfillment_center: str
    disposition: str
    license_plate: str
    customer_comment: str
    a_to_z_claim: bool = False  # the buyer filed an A-to-z Guarantee claim (MFN)


@dataclass(frozen=True, slots=True)
class RefundEvent:
    """Money returned for one order line: a Finances RefundEvent and settlement Refund rows."""

    seller_id: str
    marketplace_id: str
    order_id: str
    seller_order_id: str
    order_item_id: str
    sku: str
    quantity: int
    posted: datetime
    adjustment_item_id: str
    merchant_adjustment_item_id: str
    currency: str
    fulfilled_by: FulfilledBy
    charges: tuple[Charge, ...]
    fees: tuple[Charge, ...]

    @property
    def refunded(self) -> Decimal:
        """The amount given back to the buyer (positive)."""
        return -sum((charge.amount for charge in self.charges), Decimal(0))


@dataclass(frozen=True, slots=True)
class AccountData:
    """Everything seeded for one seller account."""

    orders: tuple[Order, ...]
    returns: tuple[ReturnRequest, ...]
    refunds: tuple[RefundEvent, ...]


@dataclass(frozen=True, slots=True)
class Settlement:
    """A closed settlement period of one seller in one marketplace; its report is listed."""

    settlement_id: str
    seller_id: str
    marketplace_id: str
    start: datetime
    end: datetime
    report_id: str
    document_id: str
    published: datetime

    @property
    def deposit_date(self) -> datetime:
        """When the payout reaches the bank: three days after the period closes."""
        return self.end + timedelta(days=3)
