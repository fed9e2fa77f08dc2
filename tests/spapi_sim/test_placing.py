"""Orders placed through the control API: seen by searchOrders, shipped with confirmShipment."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sp_api.api import Orders

from spapi_sim import client_kwargs
from tests.spapi_sim.conftest import Running
from tests.support.http_calls import http_post

US = "ATVPDKIKX0DER"
ADDRESS = {"name": "Pat Doe", "addressLine1": "1 Main St", "city": "New York",
           "stateOrRegion": "NY", "postalCode": "10001"}


def place(sim: Running, seller_id: str, body: Any) -> httpx.Response:
    """POST a placing request to the control API."""
    return http_post(f"{sim.base_url}/_sim/sellers/{seller_id}/orders", json=body)


def test_a_placed_order_is_found_and_can_be_shipped(make_sim: Any) -> None:
    sim = make_sim()
    account = sim.accounts[0]
    placed = place(sim, account.seller_id, {
        "marketplaceId": US, "address": ADDRESS, "purchaseDate": "2026-03-01T00:00:00Z",
        "items": [{"sku": "AC-KETTLE-17", "quantity": 2}, {"sku": "AC-PAN-28"}]})
    assert placed.status_code == 201
    order_id = placed.json()["orderId"]
    lines = placed.json()["orderItems"]
    assert [(i["sellerSku"], i["quantity"]) for i in lines] == [("AC-KETTLE-17", 2),
                                                                 ("AC-PAN-28", 1)]
    kwargs = client_kwargs(sim.base_url, account, US)
    with Orders(version="2026-01-01", **kwargs) as api:
        found = api.search_orders(createdAfter="2026-02-28T23:00:00Z", marketplaceIds=[US],
                                  includedData=["RECIPIENT", "FULFILLMENT"]).payload["orders"]
    order = next(o for o in found if o["orderId"] == order_id)
    assert order["recipient"]["deliveryAddress"]["postalCode"] == "10001"
    assert order["recipient"]["deliveryAddress"]["countryCode"] == "US"
    assert order["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"
    with Orders(**kwargs) as api:
        api.confirm_shipment(order_id, marketplaceId=US, packageDetail={
            "packageReferenceId": "1", "carrierCode": "USPS", "trackingNumber": "9400",
            "shipDate": "2026-03-01T10:00:00Z",
            "orderItems": [{"orderItemId": i["orderItemId"], "quantity": i["quantity"]}
                           for i in lines]})
    assert sim.simulator.world.order(account.seller_id, order_id).status == "SHIPPED"
    again = place(sim, account.seller_id, {"marketplaceId": US, "items": [{"sku": "AC-PAN-28"}]})
    assert again.json()["orderId"] != order_id


@pytest.mark.parametrize("body", [
    {"items": [{"sku": "AC-PAN-28"}]},
    {"marketplaceId": "A1PA6795UKMFR9", "items": [{"sku": "AC-PAN-28"}]},  # not this seller's
    {"marketplaceId": US, "items": []},
    {"marketplaceId": US, "items": [{"sku": "NO-SUCH-SKU"}]},
    {"marketplaceId": US, "items": [{"sku": "AC-PAN-28", "quantity": 0}]},
    {"marketplaceId": US, "items": [{"sku": "AC-PAN-28"}, {"sku": "AC-PAN-28"}]},
    {"marketplaceId": US, "items": [{"sku": "AC-PAN-28"}], "fulfilledBy": "SELLER"},
    {"marketplaceId": US, "items": [{"sku": "AC-PAN-28"}], "purchaseDate": "yesterday"},
    {"marketplaceId": US, "items": [{"sku": "AC-PAN-28"}], "purchaseDate": "2999-01-01T00:00Z"},
    {"marketplaceId": US, "items": [{"sku": "AC-PAN-28"}], "address": {"name": "x"}},
    ["not", "an", "object"],
])
def test_bad_placing_requests_are_refused(sim: Running, body: Any) -> None:
    account = sim.accounts[0]
    before = len(sim.simulator.world.orders(account.seller_id))
    answer = place(sim, account.seller_id, body)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["code"] == "InvalidInput"
    assert len(sim.simulator.world.orders(account.seller_id)) == before


def test_placing_for_an_unknown_seller_is_not_found(sim: Running) -> None:
    assert place(sim, "NOBODY", {"marketplaceId": US}).status_code == 404
