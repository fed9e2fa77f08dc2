"""The ``ConfirmShipmentRequest`` of a package (pure, by table): the order's item ids by SKU,
the package's number as ``packageReferenceId``, the store's supply source when published, and a
SKU the order does not have refused before anything is sent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.amazon.shipments.confirm import request_body

ROW = {"order_id": "111-1", "marketplace_id": "ATVPDKIKX0DER", "reference_id": 2,
       "carrier": "UPS", "tracking_number": "1Z9",
       "shipped_at": datetime(2026, 12, 3, 9, tzinfo=UTC),
       "lines": [{"sku": "SKU-A", "quantity": 2}]}
ITEMS = [{"order_item_id": "OI-7", "sku": "SKU-A", "quantity": 3},
         {"order_item_id": "OI-8", "sku": "SKU-B", "quantity": 1}]


@pytest.mark.parametrize(("source", "expected"), [(None, {}),
                                                  ("SS-9", {"shipFromSupplySourceId": "SS-9"})])
def test_the_request_of_one_package(source: str | None, expected: dict[str, str]) -> None:
    assert request_body(ROW, ITEMS, source) == {
        "marketplaceId": "ATVPDKIKX0DER",
        "packageDetail": {**expected, "packageReferenceId": "2", "carrierCode": "UPS",
                          "trackingNumber": "1Z9", "shipDate": "2026-12-03T09:00:00Z",
                          "orderItems": [{"orderItemId": "OI-7", "quantity": 2}]}}


def test_a_sku_the_order_does_not_have_is_refused() -> None:
    with pytest.raises(ValueError, match="order 111-1 has no item of SKU SKU-Z"):
        request_body({**ROW, "lines": [{"sku": "SKU-Z", "quantity": 1}]}, ITEMS)


@pytest.mark.parametrize(("units", "expected"), [
    (1, [{"orderItemId": "OI-1", "quantity": 1}]),
    (3, [{"orderItemId": "OI-1", "quantity": 1}, {"orderItemId": "OI-2", "quantity": 2}]),
    (4, [{"orderItemId": "OI-1", "quantity": 1}, {"orderItemId": "OI-2", "quantity": 2},
         {"orderItemId": "OI-3", "quantity": 1}]),
])
def test_a_sku_on_several_items_is_spread_over_them(units: int,
                                                    expected: list[dict[str, object]]) -> None:
    items = [{"order_item_id": f"OI-{n}", "sku": "SKU-A", "quantity": q}
             for n, q in ((1, 1), (2, 2), (3, 1))]
    body = request_body({**ROW, "lines": [{"sku": "SKU-A", "quantity": units}]}, items)
    assert body["packageDetail"]["orderItems"] == expected


def test_more_units_than_the_order_has_are_refused() -> None:
    with pytest.raises(ValueError, match="fewer units of SKU SKU-A than the package ships"):
        request_body({**ROW, "lines": [{"sku": "SKU-A", "quantity": 4}]}, ITEMS)
