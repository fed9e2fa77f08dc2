"""The plain values of settlement reconciliation (pure).

Rules:
- components are the five amounts finance compares (``COMPONENTS``); any other description of a
  refund line is summed under ``Other``; amounts carry Amazon's sign (money to the buyer is
  negative, commission given back positive);
- a refund item's key is (order id, SKU, adjustment id): how Amazon's settlement names it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

COMPONENTS = ("Principal", "Tax", "Shipping", "Commission", "RefundCommission")
OTHER = "Other"
ZERO = Decimal(0)


class Kind(StrEnum):
    """What one difference is."""

    NOT_SETTLED = "not_settled"  # in ACORN (confirmed by Amazon) but not in the settlement
    UNKNOWN = "unknown_to_acorn"  # settled, but not a refund ACORN made
    AMOUNTS = "amounts_differ"  # both, with components that differ
    DEPOSIT = "deposit"  # the lines do not add up to the deposit


class Status(StrEnum):
    """Where a settlement's reconciliation stands."""

    OPEN = "open"  # not reconciled yet
    DIFFERENCES = "differences"  # reconciled, with unresolved differences
    RECONCILED = "reconciled"  # the deposit adds up and every difference is resolved


@dataclass(frozen=True, slots=True)
class Line:
    """One stored settlement line."""

    line_no: int
    transaction_type: str
    order_id: str
    adjustment_id: str
    merchant_adjustment_item_id: str
    sku: str
    amount_type: str
    amount_description: str
    amount: Decimal
    posted_at: datetime | None


@dataclass(frozen=True, slots=True)
class Report:
    """One stored settlement report: Amazon may deliver the same settlement in several."""

    account: str
    report_id: str
    settlement_id: str
    marketplace_id: str
    currency: str
    start: datetime | None
    end: datetime | None
    deposit_at: datetime | None
    total: Decimal | None
    lines: int
    first_seen_at: datetime


@dataclass(frozen=True, slots=True)
class Settlement:
    """One settlement, counted once: the report read and the reports that repeat it."""

    report: Report
    repeats: tuple[Report, ...] = ()

    @property
    def settlement_id(self) -> str:
        """Amazon's settlement id."""
        return self.report.settlement_id


@dataclass(frozen=True, slots=True)
class RefundItem:
    """One adjusted item of a refund ACORN approved and Amazon confirmed."""

    store_id: str
    refund_id: str  # ACORN's refund document
    merchant_item_id: str  # what ACORN sent as MerchantAdjustmentItemID
    order_id: str
    sku: str
    adjustment_id: str  # Amazon's OrderAdjustmentItemId, from the refund event
    currency: str
    posted_at: datetime | None  # when Amazon posted the refund (its event)
    components: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Difference:
    """One row of the difference table; ``key`` names it for its resolution."""

    key: str
    kind: Kind
    order_id: str
    sku: str
    adjustment_id: str
    refund: str  # "store_id/refund_id", "" when ACORN has none
    acorn: dict[str, Decimal]
    settlement: dict[str, Decimal]
    lines: tuple[int, ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class DepositCheck:
    """Do the lines add up to the deposit, and what is missing when they do not."""

    deposit: Decimal | None
    lines_total: Decimal
    gap: Decimal
    flags: tuple[str, ...]

    @property
    def adds_up(self) -> bool:
        """The lines equal the deposit and no reserve line is missing."""
        return self.gap == ZERO and not any(f.endswith("_missing") for f in self.flags)
