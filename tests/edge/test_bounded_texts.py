"""Texts and totals the edge composes stay within the protocol's bounds (protocol/limits.py), so
whatever the counter accepts makes a valid event the hub can apply."""

from __future__ import annotations

import pytest

from edge_agent.errors import InvalidRequest
from edge_agent.returns.states import mismatches, total_of
from protocol import Channel, ExpectedReturn, Money, ReturnItem
from protocol.limits import MAX_MISMATCH_REASONS


def _items(prefix: str, n: int, price: str = "1.00") -> list[ReturnItem]:
    return [ReturnItem(sku=f"{prefix}{i}", quantity=1, unit_price=Money.of(price, "USD"))
            for i in range(n)]


def test_many_mismatches_are_capped_with_a_count() -> None:
    """Promise: a return that differs from its RMA on every line still makes a valid event."""
    expected = ExpectedReturn(rma_id="RMA-1", order_id="O-1", channel=Channel.AMAZON_MFN,
                              items=_items("T", 100))
    found = mismatches(_items("S", 100), "O-2", expected)
    assert len(found) == MAX_MISMATCH_REASONS
    assert found[-2] == f"+{201 - MAX_MISMATCH_REASONS + 1} more"


def test_a_total_beyond_the_amount_bound_is_refused_naming_items() -> None:
    """Promise: the edge refuses (422) a return whose total the hub could not store."""
    items = [ReturnItem(sku="S", quantity=999, unit_price=Money.of("999999999999", "USD"))]
    with pytest.raises(InvalidRequest) as err:
        total_of(items)
    assert err.value.field == "items"
