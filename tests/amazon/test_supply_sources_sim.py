"""The simulator's Supply Sources 2020-07-01, driven through python-amazon-sp-api: the six
operations, their validation and error shapes, paging and rate limit, every answer checked
against Amazon's model; and listings taking a quantity per supply source only for the seller's
own sources that are not archived."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sp_api.api import ListingsItems, SupplySources
from sp_api.base import SellingApiException

from spapi_sim import client_kwargs
from spapi_sim.accounts import SellerAccount
from tests.amazon.conftest import Sim
from tests.amazon.test_listings import US, start
from tests.spapi_sim import official
from tests.spapi_sim.conftest import Recorder

MODEL = "supplySources_2020-07-01"
ADDRESS = {"name": "Herald Sq", "addressLine1": "1 Main St", "city": "New York",
           "stateOrRegion": "NY", "postalCode": "10001", "countryCode": "US"}


def recorded(make_sim: Callable[..., Sim], **overrides: Any) -> tuple[Sim, list[Recorder]]:
    recorders: list[Recorder] = []

    def wrap(app: Any, _sim: Any) -> Recorder:
        recorders.append(Recorder(app))
        return recorders[0]

    return start(make_sim, wrap=wrap, **overrides), recorders


def model_problems(recorders: list[Recorder]) -> list[str]:
    """Every Supply Sources answer that does not match the official model.

    The model gives its 204 answers an ``ErrorList`` schema, which no 204 can carry (HTTP forbids
    a body; the static sandbox answers them empty too): an empty 204 counts as conforming."""
    problems: list[str] = []
    for method, path, status, body in recorders[0].exchanges:
        if status == 204 and not body:
            continue
        operation = official.find(method, path) if path.startswith("/supplySources/") else None
        if operation is not None:
            problems += official.schema_errors(operation, status, body)
    return problems


def refused(call: Callable[[], Any]) -> tuple[int, dict[str, Any]]:
    with pytest.raises(SellingApiException) as caught:
        call()
    return caught.value.code, caught.value.error[0]


def sources_client(sim: Sim, seller: SellerAccount) -> SupplySources:
    return SupplySources(**client_kwargs(sim.url, seller, US))


@official.requires_store_models
def test_supply_sources_live_validate_page_and_archive_as_the_model_says(
    make_sim: Callable[..., Sim]
) -> None:
    sim, recorders = recorded(make_sim)
    seller = sim.sellers[0]
    with sources_client(sim, seller) as api:
        made = [api.create_supply_source(supplySourceCode=f"store-{n}", alias=f"Store {n}",
                                         address=ADDRESS).payload for n in range(5)]
        assert {m["supplySourceCode"] for m in made} == {f"store-{n}" for n in range(5)}
        first = made[0]["supplySourceId"]
        code, error = refused(lambda: api.create_supply_source(
            supplySourceCode="store-0", alias="again", address=ADDRESS))
        assert (code, error["details"]) == (400, "1004")
        without_state = {k: v for k, v in ADDRESS.items() if k != "stateOrRegion"}
        code, error = refused(lambda: api.create_supply_source(
            supplySourceCode="store-x", alias="x", address=without_state))
        assert code == 400 and "stateOrRegion" in error["details"]

        assert api.get_supply_source(first).payload["status"] == "Inactive"
        hours = {"monday": [{"startTime": "09:00", "endTime": "18:00"}]}
        api.update_supply_source(first, configuration={
            "timezone": "America/New_York", "operationalConfiguration": {
                "operatingHoursByDay": hours}},
            capabilities={"outbound": {"isSupported": True,
                                       "deliveryChannel": {"isSupported": True}}})
        code, error = refused(lambda: api.update_supply_source(first, configuration={
            "operationalConfiguration": {"operatingHoursByDay": {
                "tuesday": [{"startTime": "2:00", "endTime": "2:00"}]}}}))
        assert code == 400 and "HH:mm" in error["details"]  # as the model's own 400 example
        api.update_supply_source_status(first, status="Active")
        code, _ = refused(lambda: api.update_supply_source_status(first, status="Gone"))
        assert code == 400
        shown = api.get_supply_source(first).payload
        assert shown["status"] == "Active"
        assert shown["configuration"]["operationalConfiguration"]["operatingHoursByDay"] == hours

        seen, token = [], None
        while True:
            page = api.get_supply_sources(pageSize=2, **(
                {"nextPageToken": token} if token else {})).payload
            seen += [s["supplySourceId"] for s in page["supplySources"]]
            token = page.get("nextPageToken")
            if not token:
                break
        assert sorted(seen) == sorted(m["supplySourceId"] for m in made)
        assert refused(lambda: api.get_supply_sources(nextPageToken="forged"))[0] == 400

        assert refused(lambda: api.get_supply_source("not-a-uuid"))[0] == 400
        assert refused(lambda: api.get_supply_source(str(uuid.uuid4())))[0] == 404
        api.archive_supply_source(first)
        code, error = refused(lambda: api.archive_supply_source(first))
        assert (code, error["details"]) == (400, "1005")
        code, error = refused(lambda: api.update_supply_source_status(first, status="Active"))
        assert (code, error["details"]) == (400, "1005")
        listed = api.get_supply_sources(pageSize=50).payload["supplySources"]
        assert first not in {s["supplySourceId"] for s in listed}
    with sources_client(sim, sim.sellers[1]) as other:  # another seller's id is unknown to it
        assert refused(lambda: other.get_supply_source(made[1]["supplySourceId"]))[0] == 404
    assert model_problems(recorders) == []
    answered = {(official.find(m, p).operation_id, status // 100)  # type: ignore[union-attr]
                for m, p, status, _ in recorders[0].exchanges if p.startswith("/supplySources/")}
    assert {op for op, kind in answered if kind == 2} == {
        "createSupplySource", "getSupplySources", "getSupplySource", "updateSupplySource",
        "updateSupplySourceStatus", "archiveSupplySource"}
    assert {op for op, kind in answered if kind == 4} == {op for op, _ in answered}


def test_supply_sources_hold_their_rate_limit(make_sim: Callable[..., Sim]) -> None:
    sim = start(make_sim, rate_factor=Decimal(1))
    with sources_client(sim, sim.sellers[0]) as api:
        for _ in range(10):  # the burst
            api.get_supply_sources()
        code, error = refused(api.get_supply_sources)
    assert (code, error["code"]) == (429, "QuotaExceeded")
    assert sim.stats()[f"{sim.sellers[0].seller_id}/getSupplySources"]["throttled"] == 1


def test_listings_take_quantities_only_for_the_seller_s_usable_supply_sources(
    make_sim: Callable[..., Sim]
) -> None:
    sim = start(make_sim)
    seller = sim.sellers[0]
    with sources_client(sim, seller) as api:
        mine = [api.create_supply_source(supplySourceCode=f"s{n}", alias=f"s{n}",
                                         address=ADDRESS).payload["supplySourceId"]
                for n in range(2)]
        api.archive_supply_source(mine[1])

    def patch(channel: str, quantity: int) -> dict[str, Any]:
        body = {"productType": "PRODUCT", "patches": [{
            "op": "merge", "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0},
                      {"fulfillment_channel_code": channel, "quantity": quantity}]}]}
        with ListingsItems(version="2021-08-01", **client_kwargs(sim.url, seller, US)) as items:
            answer: dict[str, Any] = items.patch_listings_item(
                seller.seller_id, "AC-KETTLE-17", marketplaceIds=[US], body=body).payload
        return answer

    assert patch(mine[0], 6)["status"] == "ACCEPTED"
    archived, unknown = patch(mine[1], 2), patch(str(uuid.uuid4()), 2)
    assert [a["issues"][0]["code"] for a in (archived, unknown)] == ["4000003", "4000003"]
    listing = sim.simulator.listings.get(seller.seller_id, "AC-KETTLE-17", US)
    assert listing is not None and (listing.quantity, listing.by_source) == (0, ((mine[0], 6),))
    with ListingsItems(version="2021-08-01", **client_kwargs(sim.url, seller, US)) as items:
        shown = items.get_listings_item(seller.seller_id, "AC-KETTLE-17", marketplaceIds=[US],
                                        includedData=["fulfillmentAvailability"]).payload
    assert {"fulfillmentChannelCode": mine[0], "quantity": 6} in shown["fulfillmentAvailability"]
