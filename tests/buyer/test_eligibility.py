"""Which items may still be returned, decided by the default refund policy (pure, by table)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hub.policy import compile_policy, default_policy
from hub.returns.buyer import OrderFacts, eligible_items

NOW = datetime(2026, 6, 15, 18, 0, tzinfo=UTC)
POLICY = compile_policy(default_policy())
ORDER = OrderFacts(
    account="na", order_id="113-1", marketplace_id="ATVPDKIKX0DER", status="SHIPPED",
    fulfilled_by="MERCHANT", purchased_at=NOW - timedelta(days=10),
    deliver_by=NOW - timedelta(days=7),
    items=({"sku": "MUG-01", "asin": "B1", "quantity": 2, "unit_price": "12.50",
            "currency": "USD"},),
    buyer_key=None, country="US", postal_code="02108")


@pytest.mark.parametrize(("order", "taken", "quantity", "reason"), [
    (ORDER, {}, 2, None),
    (ORDER, {"MUG-01": 1}, 1, None),
    (ORDER, {"MUG-01": 2}, 0, "already returned or booked for return"),
    (replace(ORDER, status="CANCELLED"), {}, 0, "this order was cancelled"),
    (replace(ORDER, status="UNSHIPPED"), {}, 0, "has not been shipped yet"),
    (replace(ORDER, deliver_by=NOW - timedelta(days=40)), {}, 0, "30-day return window"),
    # delivery not yet known (promised date still ahead): the window counts from the order
    (replace(ORDER, purchased_at=NOW - timedelta(days=29), deliver_by=NOW + timedelta(days=2)),
     {}, 2, None),
    (replace(ORDER, purchased_at=NOW - timedelta(days=45), deliver_by=NOW + timedelta(days=2)),
     {}, 0, "after the order (delivery unknown)"),
])
def test_eligibility(order: OrderFacts, taken: dict[str, int], quantity: int,
                     reason: str | None) -> None:
    (item,) = eligible_items(order, POLICY, NOW, taken)
    assert item.quantity == quantity
    assert item.returnable is (reason is None)
    if reason is not None:
        assert reason in " ".join(item.reasons)
    else:
        assert item.reasons == ()
