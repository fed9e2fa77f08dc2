"""Every served operation matches Amazon's official model: path, usage plan, every response.

The autouse fixture in conftest validates each response body against the model schema; these
tests make sure each operation is exercised on its success and its error paths.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from spapi_sim.operations import OPERATIONS
from tests.spapi_sim import official
from tests.spapi_sim.conftest import Running
from tests.support.http_calls import http_put, http_request

pytestmark = official.requires_models

US = "ATVPDKIKX0DER"
FEED = """<?xml version="1.0"?><AmazonEnvelope><MessageType>OrderAdjustment</MessageType>
</AmazonEnvelope>"""


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.operation_id)
def test_operation_table_matches_the_official_models(operation: Any) -> None:
    model = official.by_id(operation.api, operation.operation_id)
    assert (model.method, model.path) == (operation.method, operation.path)
    assert official.usage_plan(model) == (str(operation.rate), operation.burst)


def poll_done(client: httpx.Client, path: str) -> dict[str, Any]:
    """Poll a report or feed until it is final."""
    for _ in range(100):
        body: dict[str, Any] = client.get(path).json()
        if body["processingStatus"] in ("DONE", "FATAL", "CANCELLED"):
            return body
        time.sleep(0.02)
    raise AssertionError(f"{path} did not finish")


def exercise_orders(client: httpx.Client, sim: Running) -> None:
    search = "/orders/2026-01-01/orders"
    page = client.get(search, params={"createdAfter": "2026-02-01T00:00:00Z",
                                      "maxResultsPerPage": 5, "includedData": ",".join(
                                          ["BUYER", "RECIPIENT", "PROCEEDS", "FULFILLMENT",
                                           "PACKAGES", "CANCELLATION", "TAX"])}).json()
    client.get(search, params={"paginationToken": page["pagination"]["nextToken"]})
    client.get(search, params={"lastUpdatedAfter": "2026-02-20T00:00:00Z",
                               "fulfilledBy": "MERCHANT", "fulfillmentStatuses": "SHIPPED"})
    for bad in ({}, {"createdAfter": "yesterday"}, {"createdAfter": "2026-02-01",
                                                    "lastUpdatedBefore": "2026-02-02"},
                {"createdAfter": "2026-02-01", "maxResultsPerPage": "500"},
                {"paginationToken": "forged"}, {"createdAfter": "2026-02-01",
                                                "marketplaceIds": "A1PA6795UKMFR9"}):
        assert client.get(search, params=bad).status_code == 400
    client.get(f"{search}/{page['orders'][0]['orderId']}", params={"includedData": "PROCEEDS"})
    assert client.get(f"{search}/000-0000000-0000000").status_code == 404


def exercise_confirm_shipment(sim: Running) -> None:
    account, order = next(
        (a, o) for a in sim.accounts for o in sim.simulator.world.orders(a.seller_id)
        if o.fulfilled_by == "MERCHANT" and o.status == "UNSHIPPED")
    item = order.items[0]
    body = {"marketplaceId": order.marketplace_id, "packageDetail": {
        "packageReferenceId": "1", "carrierCode": "UPS", "trackingNumber": "1Z1",
        "shipDate": order.created.isoformat(),
        "orderItems": [{"orderItemId": item.order_item_id, "quantity": item.quantity}]}}
    path = f"/orders/v0/orders/{order.order_id}/shipmentConfirmation"
    with sim.client(account) as client:
        assert client.post(path, json=body).status_code == 204
        assert client.post(path, json={"marketplaceId": order.marketplace_id}).status_code == 400
        assert client.post("/orders/v0/orders/000-0000000-0000000/shipmentConfirmation",
                           json=body).status_code == 404


def exercise_reports(client: httpx.Client) -> None:
    reports = "/reports/2021-06-30/reports"
    created = client.post(reports, json={
        "reportType": "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA", "marketplaceIds": [US],
        "dataStartTime": "2026-01-01T00:00:00Z"}).json()
    done = poll_done(client, f"{reports}/{created['reportId']}")
    client.get(f"/reports/2021-06-30/documents/{done['reportDocumentId']}")
    listed = client.get(reports, params={"reportTypes": "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA,"
                                         "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2",
                                         "pageSize": 1, "createdSince": "2025-12-01"}).json()
    client.get(reports, params={"nextToken": listed["nextToken"]})
    assert client.delete(f"{reports}/{created['reportId']}").status_code == 400  # DONE
    for bad in ({"reportType": "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2",
                 "marketplaceIds": [US]}, {"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA",
                                           "marketplaceIds": [US]},
                {"reportType": "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"}):
        assert client.post(reports, json=bad).status_code == 400
    assert client.get(reports).status_code == 400
    assert client.get(reports, params={"reportTypes": "X", "processingStatuses": "NOPE"}
                      ).status_code == 400
    assert client.get(f"{reports}/1").status_code == 404
    assert client.delete(f"{reports}/1").status_code == 404
    assert client.get("/reports/2021-06-30/documents/amzn1.spdoc.none").status_code == 404


def exercise_cancellations(slow: httpx.Client) -> None:
    """On a simulator whose jobs stay IN_QUEUE: cancel a report and a feed."""
    reports, feeds = "/reports/2021-06-30/reports", "/feeds/2021-06-30/feeds"
    report = slow.post(reports, json={"reportType": "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA",
                                      "marketplaceIds": [US]}).json()
    assert slow.delete(f"{reports}/{report['reportId']}").status_code == 200
    assert slow.get(f"{reports}/{report['reportId']}").json()["processingStatus"] == "CANCELLED"
    document = slow.post("/feeds/2021-06-30/documents", json={"contentType": "text/xml"}).json()
    feed = slow.post(feeds, json={"feedType": "POST_PAYMENT_ADJUSTMENT_DATA",
                                  "marketplaceIds": [US],
                                  "inputFeedDocumentId": document["feedDocumentId"]}).json()
    assert slow.delete(f"{feeds}/{feed['feedId']}").status_code == 200
    assert slow.get(f"{feeds}/{feed['feedId']}").json()["processingStatus"] == "CANCELLED"


def exercise_feeds(client: httpx.Client) -> None:
    documents, feeds = "/feeds/2021-06-30/documents", "/feeds/2021-06-30/feeds"
    document = client.post(documents, json={"contentType": "text/xml; charset=UTF-8"}).json()
    http_put(document["url"], content=FEED, headers={"content-type": "text/xml; charset=UTF-8"})
    spec = {"feedType": "POST_PAYMENT_ADJUSTMENT_DATA", "marketplaceIds": [US],
            "inputFeedDocumentId": document["feedDocumentId"]}
    done = poll_done(client, f"{feeds}/{client.post(feeds, json=spec).json()['feedId']}")
    client.get(f"{documents}/{done['resultFeedDocumentId']}")
    client.get(f"{documents}/{document['feedDocumentId']}")
    client.get(feeds, params={"feedTypes": "POST_PAYMENT_ADJUSTMENT_DATA", "pageSize": 1})
    assert client.post(documents, json={}).status_code == 400
    assert client.post(feeds, json={**spec, "feedType": "POST_NO_SUCH_DATA"}).status_code == 400
    removed = client.post(feeds, json={**spec, "feedType": "POST_INVENTORY_AVAILABILITY_DATA"})
    assert poll_done(client, f"{feeds}/{removed.json()['feedId']}")["processingStatus"] == "FATAL"
    assert client.post(feeds, json={**spec, "inputFeedDocumentId": "x"}).status_code == 400
    assert client.get(f"{feeds}/1").status_code == 404
    assert client.delete(f"{feeds}/1").status_code == 404
    assert client.get(f"{documents}/amzn1.tortuga.none").status_code == 404
    assert client.get(feeds, params={"nextToken": "forged"}).status_code == 400


def exercise_listings(client: httpx.Client, seller_id: str) -> None:
    item = f"/listings/2021-08-01/items/{seller_id}"
    market = {"marketplaceIds": US}
    client.get(f"{item}/AC-KETTLE-17", params={
        **market, "includedData": "summaries,attributes,issues,fulfillmentAvailability"})
    body = {"productType": "PRODUCT", "patches": [{
        "op": "merge", "path": "/attributes/fulfillment_availability",
        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}]}]}
    client.patch(f"{item}/AC-KETTLE-17", params={**market, "includedData": "issues,identifiers"},
                 json=body)
    client.patch(f"{item}/NOT-LISTED", params=market, json=body)
    assert client.get(f"{item}/NOT-LISTED", params=market).status_code == 404
    assert client.get(f"{item}/AC-KETTLE-17").status_code == 400
    assert client.patch(f"{item}/AC-KETTLE-17", params=market,
                        json={"productType": "PRODUCT", "patches": []}).status_code == 400


def exercise_finances(client: httpx.Client, order_id: str) -> None:
    events = "/finances/v0/financialEvents"
    page = client.get(events, params={"PostedAfter": "2026-01-01T00:00:00Z",
                                      "PostedBefore": "2026-03-01T00:00:00Z",
                                      "MaxResultsPerPage": 50}).json()
    client.get(events, params={"NextToken": page["payload"]["NextToken"]})
    client.get(events, params={"PostedAfter": "2025-01-01", "PostedBefore": "2026-02-01"})
    client.get(f"/finances/v0/orders/{order_id}/financialEvents")
    for bad in ({"PostedBefore": "2026-02-01"}, {"PostedAfter": "2026-02-01",
                                                 "PostedBefore": "2026-01-01"},
                {"NextToken": "forged"}, {"MaxResultsPerPage": "0"},
                {"PostedAfter": "2999-01-01"}):
        assert client.get(events, params=bad).status_code == 400


def test_every_operation_answers_per_its_model(make_sim: Any) -> None:
    sim = make_sim(seed=3)
    slow = make_sim(seed=3, job_step_seconds=3600, job_step_polls=1000)
    account = sim.accounts[0]
    with sim.client(account) as client, slow.client(account) as slow_client:
        exercise_orders(client, sim)
        exercise_confirm_shipment(sim)
        exercise_reports(client)
        exercise_feeds(client)
        exercise_listings(client, account.seller_id)
        exercise_cancellations(slow_client)
        exercise_finances(client, sim.simulator.world.orders(account.seller_id)[0].order_id)
    seen = {(official.find(m, p).operation_id, s // 100)  # type: ignore[union-attr]
            for recorder in (sim.recorder, slow.recorder)
            for m, p, s, _ in recorder.exchanges if official.find(m, p) is not None}
    for operation in OPERATIONS:
        assert (operation.operation_id, 2) in seen, operation.operation_id
        if operation.operation_id != "listFinancialEventsByOrderId":
            assert (operation.operation_id, 4) in seen, operation.operation_id


def test_throttled_and_unauthorised_answers_match_the_models(make_sim: Any) -> None:
    sim = make_sim(rate_factor=Decimal(1))
    for operation in OPERATIONS:
        path = operation.path.replace("{", "").replace("}", "")
        assert http_request(operation.method, sim.base_url + path).status_code == 403
    with sim.client(sim.accounts[0]) as client:
        answers = [client.get("/finances/v0/financialEvents") for _ in range(31)]
    assert answers[-1].status_code == 429
