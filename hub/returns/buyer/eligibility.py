"""Which items of an order may still be returned, and why not, in plain words (pure).

Rules:
- a cancelled order, or one not shipped yet, has nothing to return (cancel it on Amazon);
- an item's quantity already returned to Amazon or booked on this page is taken off; nothing
  left: "already returned or booked for return";
- otherwise the active refund policy decides as it would for an unopened item handed in now
  (category unknown, not inspected): an item it would reject is not offered, and the rejecting
  rules' sentences say why; any other outcome (approval, review) still lets the item come back;
- money stays decimal text with its currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from hub.policy import CompiledPolicy, Effect, Outcome, RefundRequest, decide
from hub.returns.buyer.lookup import OrderFacts
from protocol import Channel, Money

NOT_SHIPPED = ("UNSHIPPED", "PENDING", "PENDING_AVAILABILITY")
UNKNOWN_CATEGORY = "unknown"


@dataclass(frozen=True)
class ItemView:
    """One order line as the buyer sees it."""

    sku: str
    asin: str | None
    quantity: int  # how many may still be returned (0 when not returnable)
    unit_price: str | None
    currency: str | None
    returnable: bool
    reasons: tuple[str, ...]


def _price(item: Mapping[str, object]) -> Decimal | None:
    try:
        return Decimal(str(item["unit_price"])) if item.get("unit_price") is not None else None
    except InvalidOperation:
        return None


def _order_reason(order: OrderFacts) -> str | None:
    status = order.status.upper()
    if status in ("CANCELLED", "CANCELED"):
        return "this order was cancelled, so there is nothing to return"
    if status in NOT_SHIPPED:
        return "this order has not been shipped yet: cancel it on Amazon instead"
    return None


def _request(order: OrderFacts, price: Decimal, currency: str, quantity: int,
             now: datetime) -> RefundRequest:
    amount = Money(amount=price * quantity, currency=currency)
    delivered = order.deliver_by if order.deliver_by and order.deliver_by <= now else None
    return RefundRequest(
        refund_id=f"buyer/{order.order_id}", amount=amount, channel=Channel.AMAZON_MFN,
        marketplace_id=order.marketplace_id, category=UNKNOWN_CATEGORY,
        ordered_at=min(order.purchased_at, now), delivered_at=delivered, opened=False,
        grade=None, mismatch=False, amount_paid=amount, high_risk=False,
        customer_key=order.buyer_key or "")


def _policy_reasons(order: OrderFacts, price: Decimal | None, currency: str | None, quantity: int,
                    policy: CompiledPolicy, now: datetime) -> tuple[str, ...]:
    if price is None or not currency:
        return ()
    decision = decide(_request(order, price, currency, quantity, now), (), policy, now)
    if decision.outcome is not Outcome.REJECT:
        return ()
    return tuple(rule.sentence for rule in decision.rules if rule.effect is Effect.REJECT)


def eligible_items(order: OrderFacts, policy: CompiledPolicy, now: datetime,
                   taken: Mapping[str, int]) -> tuple[ItemView, ...]:
    """Every line of the order, each with whether (and how many) it may come back."""
    why_not = _order_reason(order)
    views = []
    for item in order.items:
        sku = str(item.get("sku") or "")
        if not sku:
            continue
        price, currency = _price(item), item.get("currency")
        left = max(0, int(str(item.get("quantity") or 0)) - taken.get(sku, 0))
        if why_not:
            reasons: tuple[str, ...] = (why_not,)
        elif left == 0:
            reasons = ("already returned or booked for return",)
        else:
            reasons = _policy_reasons(order, price, str(currency or ""), left, policy, now)
        ok = not reasons
        views.append(ItemView(sku, item.get("asin") and str(item["asin"]), left if ok else 0,
                              None if price is None else format(price, "f"),
                              str(currency) if currency else None, ok, reasons))
    return tuple(views)
