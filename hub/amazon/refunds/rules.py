"""How an approved refund becomes feed items, and how Amazon's events are matched back (pure).

Planning (``plan_refund``):
- the refund's currency must be the order's; its amount must be positive;
- every returned SKU must be a line of the Amazon order; lines of the same order item merge;
- the amount is split over the order items by returned value (unit price x quantity), each part
  rounded to the currency's minor unit and the last one taking the remainder, so the parts add
  up to the refund exactly; it is given back as ``Principal``;
- each item's ``MerchantAdjustmentItemID`` is the refund id (``<refund id>-<n>`` when a refund
  spans several order items): it comes back in the settlement report.

Matching (``match_items``): Amazon's refund event does not carry our id. An event matches an item
of a submitted refund when it is for the same order and order item, gives back the same
principal, was posted after the submission (less clock skew), and is not already matched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from protocol import minor_units


class RefundPlanError(ValueError):
    """The refund cannot be expressed as an order adjustment; the message says why."""


@dataclass(frozen=True, slots=True)
class ReturnLine:
    """A returned line as the store recorded it."""

    sku: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class PlannedItem:
    """One ``AdjustedItem`` of the feed."""

    order_item_id: str
    merchant_item_id: str
    principal: Decimal


@dataclass(frozen=True, slots=True)
class EventLine:
    """One adjusted item of a refund event, as stored."""

    order_id: str
    order_item_id: str
    adjustment_item_id: str
    principal: Decimal
    posted_at: datetime


def plan_refund(
    refund_id: str,
    amount: Decimal,
    currency: str,
    order_currency: str | None,
    returned: Sequence[ReturnLine],
    order_items: Mapping[str, str],
) -> list[PlannedItem]:
    """Feed items for a refund; ``order_items`` maps SKU -> Amazon order item id."""
    if order_currency and currency != order_currency:
        raise RefundPlanError(
            f"the refund is in {currency} but the Amazon order is in {order_currency}"
        )
    if amount <= 0:
        raise RefundPlanError("only a positive amount can be refunded")
    weights: dict[str, Decimal] = {}
    for line in returned:
        item = order_items.get(line.sku)
        if item is None:
            raise RefundPlanError(f"SKU {line.sku} is not a line of the Amazon order")
        weights[item] = weights.get(item, Decimal(0)) + line.unit_price * line.quantity
    if not weights:
        raise RefundPlanError("the return has no items")
    parts = _split(amount, weights, currency)
    named = [(item, part) for item, part in parts if part > 0]
    return [
        PlannedItem(item, refund_id if len(named) == 1 else f"{refund_id}-{n}", part)
        for n, (item, part) in enumerate(named, start=1)
    ]


def _split(
    amount: Decimal, weights: Mapping[str, Decimal], currency: str
) -> list[tuple[str, Decimal]]:
    unit = Decimal(1).scaleb(-minor_units(currency))
    total = sum(weights.values(), Decimal(0))
    items = list(weights)
    parts: list[tuple[str, Decimal]] = []
    left = amount.quantize(unit)
    for item in items[:-1]:
        share = weights[item] / total if total else Decimal(1) / len(items)
        part = min(left, (amount * share).quantize(unit))
        parts.append((item, part))
        left -= part
    parts.append((items[-1], left))
    return parts


def match_items(
    order_id: str,
    items: Sequence[Mapping[str, Any]],
    events: Iterable[EventLine],
    taken: set[str],
    not_before: datetime,
) -> dict[str, str]:
    """Merchant item id -> Amazon adjustment item id, for items newly matched by ``events``.

    ``taken`` (adjustment ids already matched to something) grows with every match.
    """
    found: dict[str, str] = {}
    ordered = sorted(events, key=lambda e: (e.posted_at, e.adjustment_item_id))
    for item in items:
        if item.get("adjustment_id"):
            continue
        wanted = -Decimal(str(item["principal"]))
        event = next(
            (
                e
                for e in ordered
                if e.order_id == order_id
                and e.order_item_id == item["order_item_id"]
                and e.principal == wanted
                and e.posted_at >= not_before
                and e.adjustment_item_id not in taken
            ),
            None,
        )
        if event is not None:
            found[str(item["merchant_item_id"])] = event.adjustment_item_id
            taken.add(event.adjustment_item_id)
    return found
