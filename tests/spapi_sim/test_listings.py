"""Listings Items and the JSON listings feed of the simulator, through python-amazon-sp-api."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sp_api.api import Feeds, ListingsItems
from sp_api.base import SellingApiRequestThrottledException

from spapi_sim import client_kwargs
from tests.spapi_sim import official
from tests.spapi_sim.conftest import Running

US = "ATVPDKIKX0DER"


def quantity_patch(quantity: Any, channel: str = "DEFAULT",
                   path: str = "/attributes/fulfillment_availability") -> dict[str, Any]:
    return {"productType": "PRODUCT", "patches": [{"op": "replace", "path": path, "value": [
        {"fulfillment_channel_code": channel, "quantity": quantity}]}]}


@official.requires_store_models
def test_a_feed_message_amazons_schema_refuses_is_invalid_and_the_others_apply(
    make_sim: Callable[..., Running]
) -> None:
    sim = make_sim(store_models_dir=official.STORES_DIR)
    account = sim.accounts[0]
    feed = {"header": {"sellerId": account.seller_id, "version": "2.0"}, "messages": [
        {"messageId": 1, "sku": "AC-KETTLE-17", "operationType": "PATCH",
         "productType": "PRODUCT", "patches": quantity_patch(4)["patches"]},
        {"messageId": 2, "sku": "AC-GRINDER-01", "operationType": "PATCH",
         "productType": "PRODUCT", "attributes": {}},  # PATCH takes no attributes
        {"messageId": 3, "sku": "AC-GRINDER-01", "operationType": "PARTIAL_UPDATE",
         "productType": "PRODUCT", "attributes": {"fulfillment_availability": [
             {"fulfillment_channel_code": "AMAZON_NA", "quantity": 1}]}}]}
    with Feeds(**client_kwargs(sim.base_url, account, US)) as feeds:
        document = feeds.create_feed_document(io.BytesIO(json.dumps(feed).encode()),
                                              "application/json; charset=UTF-8")
        feed_id = feeds.create_feed("JSON_LISTINGS_FEED", document.payload["feedDocumentId"],
                                    marketplaceIds=[US]).payload["feedId"]
        for _ in range(100):
            state = feeds.get_feed(feed_id).payload
            if state["processingStatus"] == "DONE":
                break
            time.sleep(0.05)
        report = json.loads(feeds.get_feed_result_document(state["resultFeedDocumentId"]))
    assert official.feed_errors("listings-feed-processing-report-schema-v2", report) == []
    assert report["summary"] == {"errors": 2, "warnings": 0, "messagesProcessed": 3,
                                 "messagesAccepted": 1, "messagesInvalid": 2}
    assert [(i["messageId"], i["sku"]) for i in report["issues"]] == [
        (2, "AC-GRINDER-01"), (3, "AC-GRINDER-01")]
    assert "AMAZON_NA" in report["issues"][1]["message"]
    assert sim.simulator.listings.get(account.seller_id, "AC-KETTLE-17", US).quantity == 4  # type: ignore[union-attr]


def test_patches_are_held_to_5_per_second_burst_5(make_sim: Callable[..., Running]) -> None:
    sim = make_sim(rate_factor=Decimal(1))
    account = sim.accounts[0]
    answers = []
    with ListingsItems(**client_kwargs(sim.base_url, account, US)) as items:
        for quantity in range(7):
            try:
                answers.append(items.patch_listings_item(
                    account.seller_id, "AC-KETTLE-17", marketplaceIds=[US],
                    body=quantity_patch(quantity)).payload["status"])
            except SellingApiRequestThrottledException:
                answers.append("429")
    # seven requests in well under the 0.2 s one token takes: the burst of 5, then throttled
    assert answers[:5] == ["ACCEPTED"] * 5 and "429" in answers[5:]
    stats = sim.simulator.limiter.snapshot()[f"{account.seller_id}/patchListingsItem"]
    assert stats["requests"] == 7 and stats["throttled"] == answers.count("429")


def test_patch_issues_name_the_attribute_and_validation_preview_changes_nothing(
    sim: Running
) -> None:
    account = sim.accounts[1]
    market = account.marketplace_ids[0]
    book = sim.simulator.listings
    before = book.get(account.seller_id, "AC-KETTLE-17", market).quantity  # type: ignore[union-attr]
    with ListingsItems(**client_kwargs(sim.base_url, account, market)) as items:
        preview = items.patch_listings_item(account.seller_id, "AC-KETTLE-17",
                                            marketplaceIds=[market], mode="VALIDATION_PREVIEW",
                                            body=quantity_patch(before + 1)).payload
        wrong = items.patch_listings_item(account.seller_id, "AC-KETTLE-17",
                                          marketplaceIds=[market],
                                          body=quantity_patch(1, path="/attributes/item_name")
                                          ).payload
        negative = items.patch_listings_item(account.seller_id, "AC-KETTLE-17",
                                             marketplaceIds=[market],
                                             body=quantity_patch(-3)).payload
    assert preview["status"] == "VALID"
    assert wrong["status"] == "INVALID" and wrong["issues"][0]["attributeNames"] == ["item_name"]
    assert negative["status"] == "INVALID" and "-3" in negative["issues"][0]["message"]
    assert book.get(account.seller_id, "AC-KETTLE-17", market).quantity == before  # type: ignore[union-attr]
