"""confirmShipment through python-amazon-sp-api: packages recorded, edited, refused, visible."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sp_api.api import Orders
from sp_api.base import (
    SellingApiBadRequestException,
    SellingApiNotFoundException,
    SellingApiRequestThrottledException,
)

from spapi_sim import client_kwargs
from spapi_sim.accounts import SellerAccount
from spapi_sim.model import Order
from tests.spapi_sim.conftest import Running
from tests.support.http_calls import http_get

CONFIRM = "/orders/v0/orders/{}/shipmentConfirmation"
SOURCE_ADDRESS = {"name": "Store", "addressLine1": "1 Main St", "city": "New York",
                  "stateOrRegion": "NY", "postalCode": "10001", "countryCode": "US"}


def open_order(sim: Running, units: int = 2,
               wanted: Callable[[Order], bool] = lambda o: True) -> tuple[SellerAccount, Order]:
    """An unshipped merchant-fulfilled order of at least `units` units."""
    for account in sim.accounts:
        for order in sim.simulator.world.orders(account.seller_id):
            if (order.fulfilled_by == "MERCHANT" and order.status == "UNSHIPPED"
                    and sum(i.quantity for i in order.items) >= units and wanted(order)):
                return account, order
    raise AssertionError("the seeded data has no such order")


def package(order: Order, reference: str = "1", items: list[tuple[str, int]] | None = None,
            **changes: Any) -> dict[str, Any]:
    """A packageDetail for `order`, by default with every unit of its first line."""
    first = order.items[0]
    return {"packageReferenceId": reference, "carrierCode": "UPS", "trackingNumber": "1Z999",
            "shipDate": (order.created + timedelta(hours=3)).isoformat().replace("+00:00", "Z"),
            "orderItems": [{"orderItemId": i, "quantity": q}
                           for i, q in (items or [(first.order_item_id, first.quantity)])],
            **changes}


def orders_v0(sim: Running, account: SellerAccount, order: Order) -> Orders:
    """The library's default (v0) Orders client for the order's seller and marketplace."""
    return Orders(**client_kwargs(sim.base_url, account, order.marketplace_id))


def current(sim: Running, account: SellerAccount, order: Order) -> dict[str, Any]:
    """The order as Orders 2026-01-01 getOrder shows it now, with fulfilment and packages."""
    kwargs = client_kwargs(sim.base_url, account, order.marketplace_id)
    with Orders(version="2026-01-01", **kwargs) as api:
        found: dict[str, Any] = api.get_order(
            order.order_id, includedData=["FULFILLMENT", "PACKAGES"]).payload["order"]
    return found


def recorded(sim: Running, account: SellerAccount, order: Order) -> list[dict[str, Any]]:
    """The packages the control API shows for the order."""
    response = http_get(f"{sim.base_url}/_sim/sellers/{account.seller_id}/shipments",
                        params={"orderId": order.order_id})
    found = response.json()["orders"]
    return found[0]["packages"] if found else []


def test_packages_ship_the_order_partly_then_fully(make_sim: Any) -> None:
    sim = make_sim()
    account, order = open_order(sim)
    units = [(i.order_item_id, n) for i in order.items for n in range(i.quantity)]
    first, rest = units[:1], units[1:]
    with orders_v0(sim, account, order) as api:
        answer = api.confirm_shipment(order.order_id, marketplaceId=order.marketplace_id,
                                      packageDetail=package(order, "1", [(first[0][0], 1)]))
        assert answer.payload == {"status_code": 204}  # the library's way of saying 204
        partly = current(sim, account, order)
        assert partly["fulfillment"]["fulfillmentStatus"] == "PARTIALLY_SHIPPED"
        for reference, (item_id, _) in enumerate(rest, start=2):
            api.confirm_shipment(order.order_id, marketplaceId=order.marketplace_id,
                                 packageDetail=package(order, str(reference), [(item_id, 1)],
                                                       shippingMethod="Ground"))
    shipped = current(sim, account, order)
    assert shipped["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    assert [p["packageReferenceId"] for p in shipped["packages"]] == [
        str(n) for n in range(1, len(units) + 1)]
    assert all(p["packageStatus"]["status"] == "SHIPPED" and p["trackingNumber"] == "1Z999"
               for p in shipped["packages"])
    assert all(i["fulfillment"] == {"quantityFulfilled": i["quantityOrdered"],
                                    "quantityUnfulfilled": 0} for i in shipped["orderItems"])
    assert [p["confirmations"] for p in recorded(sim, account, order)] == [1] * len(units)
    assert sim.simulator.world.order(account.seller_id, order.order_id).shipped is not None


def test_the_same_package_reference_edits_that_package(make_sim: Any) -> None:
    sim = make_sim()
    account, order = open_order(sim, wanted=lambda o: o.items[0].quantity >= 2)
    line = order.items[0].order_item_id
    with orders_v0(sim, account, order) as api:
        def send(reference: str, quantity: int, tracking: str) -> None:
            api.confirm_shipment(order.order_id, marketplaceId=order.marketplace_id,
                                 packageDetail=package(order, reference, [(line, quantity)],
                                                       trackingNumber=tracking))

        send("1", 1, "FIRST")
        send("1", 1, "CORRECTED")
        assert [(p["trackingNumber"], p["orderItems"]) for p in recorded(sim, account, order)] \
            == [("CORRECTED", [{"orderItemId": line, "quantity": 1}])]
        send("1", 2, "CORRECTED")  # the edit may take what the package held before
        with pytest.raises(SellingApiBadRequestException) as caught:
            send("2", 1, "SECOND")  # nothing of the line is left for a second package
    assert "exceeds" in caught.value.error[0]["message"]
    packages = recorded(sim, account, order)
    assert [p["orderItems"][0]["quantity"] for p in packages] == [2]
    assert packages[0]["created"] < packages[0]["updated"]
    assert packages[0]["confirmations"] == 3


def refusal(api: Orders, order_id: str, marketplace_id: str, detail: Any) -> str:
    """The message of a refused confirmation."""
    with pytest.raises(SellingApiBadRequestException) as caught:
        api.confirm_shipment(order_id, marketplaceId=marketplace_id, packageDetail=detail)
    return str(caught.value.error[0]["message"])


def test_orders_that_cannot_be_confirmed_are_refused(make_sim: Any) -> None:
    sim = make_sim()
    account, order = open_order(sim, units=1)
    orders = sim.simulator.world.orders(account.seller_id)
    fba = next(o for o in orders if o.fulfilled_by == "AMAZON"
               and o.marketplace_id == order.marketplace_id)
    shipped = next(o for o in orders if o.fulfilled_by == "MERCHANT" and o.status == "SHIPPED"
                   and o.marketplace_id == order.marketplace_id)
    cancelled = next(o for o in orders if o.status == "CANCELLED" and o.fulfilled_by == "MERCHANT")
    with orders_v0(sim, account, order) as api:
        assert "fulfilled by Amazon" in refusal(api, fba.order_id, fba.marketplace_id,
                                                package(fba))
        assert "exceeds" in refusal(api, shipped.order_id, shipped.marketplace_id,
                                    package(shipped))
        assert "cancelled" in refusal(api, cancelled.order_id, cancelled.marketplace_id,
                                      package(cancelled))
        with pytest.raises(SellingApiNotFoundException):
            api.confirm_shipment("999-0000000-0000000", marketplaceId=order.marketplace_id,
                                 packageDetail=package(order))
    other = sim.accounts[(sim.accounts.index(account) + 1) % len(sim.accounts)]
    with orders_v0(sim, other, order) as api, pytest.raises(SellingApiNotFoundException):
        api.confirm_shipment(order.order_id, marketplaceId=order.marketplace_id,
                             packageDetail=package(order))  # another seller's order
    assert current(sim, account, order)["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"
    assert recorded(sim, account, order) == []


BAD_BODIES: list[tuple[str, Callable[[Order, dict[str, Any]], Any], str]] = [
    ("no marketplace", lambda o, b: {k: v for k, v in b.items() if k != "marketplaceId"},
     "marketplaceId"),
    ("another marketplace", lambda o, b: {**b, "marketplaceId": "A1PA6795UKMFR9"
                                          if o.marketplace_id != "A1PA6795UKMFR9"
                                          else "ATVPDKIKX0DER"}, "marketplace"),
    ("no package", lambda o, b: {"marketplaceId": b["marketplaceId"]}, "packageDetail"),
    ("reference not numeric", lambda o, b: _detail(b, packageReferenceId="PKG-1"),
     "packageReferenceId"),
    ("reference zero", lambda o, b: _detail(b, packageReferenceId="0"), "packageReferenceId"),
    ("no carrier", lambda o, b: _detail(b, carrierCode=None), "carrierCode"),
    ("Other without a name", lambda o, b: _detail(b, carrierCode="Other"), "carrierName"),
    ("no tracking number", lambda o, b: _detail(b, trackingNumber=""), "trackingNumber"),
    ("US date", lambda o, b: _detail(b, shipDate="02/21/2026"), "shipDate"),
    ("no offset", lambda o, b: _detail(b, shipDate="2026-02-27T10:00:00"), "shipDate"),
    ("before the order", lambda o, b: _detail(b, shipDate="2020-01-01T00:00:00Z"), "shipDate"),
    ("no items", lambda o, b: _detail(b, orderItems=[]), "orderItems"),
    ("unknown item", lambda o, b: _detail(b, orderItems=[{"orderItemId": "1", "quantity": 1}]),
     "not part of order"),
    ("quantity zero", lambda o, b: _detail(b, orderItems=[
        {"orderItemId": o.items[0].order_item_id, "quantity": 0}]), "quantity"),
    ("quantity text", lambda o, b: _detail(b, orderItems=[
        {"orderItemId": o.items[0].order_item_id, "quantity": "1"}]), "quantity"),
    ("beyond the order", lambda o, b: _detail(b, orderItems=[
        {"orderItemId": o.items[0].order_item_id, "quantity": o.items[0].quantity + 1}]),
     "exceeds"),
    ("twice in one package", lambda o, b: _detail(b, orderItems=[
        {"orderItemId": o.items[0].order_item_id, "quantity": 1}] * 2), "twice"),
    ("unknown supply source", lambda o, b: _detail(b, shipFromSupplySourceId="nope"),
     "supply source"),
    ("cash on delivery outside Japan", lambda o, b: {**b, "codCollectionMethod":
                                                     "DirectPayment"}, "JP"),
    ("a list", lambda o, b: [b], "ConfirmShipmentRequest"),
]


def _detail(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    detail = {k: v for k, v in {**body["packageDetail"], **changes}.items() if v is not None}
    return {**body, "packageDetail": detail}


@pytest.mark.parametrize(("case", "change", "says"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bodies_breaking_the_model_are_refused(sim: Running, case: str,
                                               change: Callable[[Order, dict[str, Any]], Any],
                                               says: str) -> None:
    account, order = open_order(sim, units=1, wanted=lambda o: o.marketplace_id != "A1VC38T7YXB528")
    body = change(order, {"marketplaceId": order.marketplace_id, "packageDetail": package(order)})
    with sim.client(account) as client:
        answer = client.post(CONFIRM.format(order.order_id), json=body)
    assert answer.status_code == 400, case
    assert answer.json()["errors"][0]["code"] == "InvalidInput"
    assert says in answer.json()["errors"][0]["message"]
    assert recorded(sim, account, order) == []


def test_a_body_that_is_not_json_is_refused(sim: Running) -> None:
    account, order = open_order(sim, units=1)
    with sim.client(account) as client:
        answer = client.post(CONFIRM.format(order.order_id), content=b"{not json",
                             headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert "JSON" in answer.json()["errors"][0]["message"]


def test_a_supply_source_of_the_seller_is_accepted(make_sim: Any) -> None:
    sim = make_sim()
    account, order = open_order(sim, units=1)
    with sim.client(account) as client:
        created = client.post("/supplySources/2020-07-01/supplySources", json={
            "supplySourceCode": "store-1", "alias": "Store 1", "address": SOURCE_ADDRESS})
        source = created.json()["supplySourceId"]
    with orders_v0(sim, account, order) as api:
        api.confirm_shipment(order.order_id, marketplaceId=order.marketplace_id,
                             packageDetail=package(order, shipFromSupplySourceId=source,
                                                   carrierCode="Other", carrierName="Courier"))
    assert [(p["shipFromSupplySourceId"], p["carrierName"])
            for p in recorded(sim, account, order)] == [(source, "Courier")]
    assert current(sim, account, order)["packages"][0]["carrier"] == "Courier"


def test_a_confirmed_order_is_found_by_its_last_update(make_sim: Any) -> None:
    sim = make_sim()
    account, order = open_order(sim, units=1)
    before = sim.simulator.now() - timedelta(seconds=1)
    with orders_v0(sim, account, order) as api:
        api.confirm_shipment(order.order_id, marketplaceId=order.marketplace_id,
                             packageDetail=package(order))
    kwargs = client_kwargs(sim.base_url, account, order.marketplace_id)
    with Orders(version="2026-01-01", **kwargs) as api:
        found = api.search_orders(lastUpdatedAfter=before.isoformat().replace("+00:00", "Z"),
                                  marketplaceIds=[order.marketplace_id],
                                  includedData=["FULFILLMENT"]).payload["orders"]
    assert [o["orderId"] for o in found] == [order.order_id]
    assert found[0]["fulfillment"]["fulfillmentStatus"] in ("SHIPPED", "PARTIALLY_SHIPPED")


def test_confirm_shipment_keeps_to_two_a_second_with_a_burst_of_ten(make_sim: Any) -> None:
    sim = make_sim(rate_factor=Decimal(1))
    account, order = open_order(sim, units=1)
    with orders_v0(sim, account, order) as api:
        for _ in range(10):  # unknown orders: each answered 404, each taking a token
            with pytest.raises(SellingApiNotFoundException):
                api.confirm_shipment("999-0000000-0000000", marketplaceId=order.marketplace_id,
                                     packageDetail=package(order))
        with pytest.raises(SellingApiRequestThrottledException) as caught:
            api.confirm_shipment(order.order_id, marketplaceId=order.marketplace_id,
                                 packageDetail=package(order))
    assert caught.value.headers["x-amzn-RateLimit-Limit"] == "2"
    stats = http_get(f"{sim.base_url}/_sim/stats").json()["operations"]
    assert stats[f"{account.seller_id}/confirmShipment"] == {"requests": 11, "throttled": 1}
    assert recorded(sim, account, order) == []

