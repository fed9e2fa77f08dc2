"""python-amazon-sp-api, pointed at the simulator, does the hub's whole job end to end."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sp_api.api import Feeds, Finances, Orders, Reports
from sp_api.base import (
    ApiResponse,
    SellingApiBadRequestException,
    SellingApiForbiddenException,
    SellingApiNotFoundException,
)

from spapi_sim import client_kwargs
from spapi_sim.accounts import SellerAccount
from spapi_sim.marketplaces import BY_CODE
from tests.spapi_sim.conftest import ANCHOR, Running

US, CA, DE = (BY_CODE[c].marketplace_id for c in ("US", "CA", "DE"))
JANUARY = datetime(2026, 1, 1, tzinfo=UTC)
SETTLEMENT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"


def connect(cls: Any, sim: Running, account: SellerAccount, marketplace_id: str,
            **kwargs: Any) -> Any:
    """An sp_api client of `cls` for one account and marketplace of the simulator."""
    return cls(**client_kwargs(sim.base_url, account, marketplace_id), **kwargs)


def all_orders(client: Any, **params: Any) -> list[dict[str, Any]]:
    """Every page of searchOrders, following pagination.nextToken."""
    orders: list[dict[str, Any]] = []
    response = client.search_orders(**params)
    while True:
        orders += response.payload["orders"]
        if not response.next_token:
            return orders
        response = client.search_orders(paginationToken=response.next_token)


def wait_done(poll: Any, *, key: str = "processingStatus", limit: float = 10.0) -> ApiResponse:
    """Poll until the job is in a final state."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        response = poll()
        if response.payload[key] in ("DONE", "FATAL", "CANCELLED"):
            return response
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def rows(document: str) -> list[dict[str, str]]:
    """A tab-separated flat file as dicts by header name."""
    return list(csv.DictReader(io.StringIO(document), delimiter="\t"))


def test_orders_sync_two_accounts_three_marketplaces(sim: Running) -> None:
    na, eu = sim.accounts[0], sim.accounts[1]
    for account, marketplace_id in ((na, US), (na, CA), (eu, DE)):
        with connect(Orders, sim, account, marketplace_id, version="2026-01-01") as client:
            synced = all_orders(client, createdAfter="2026-01-01T00:00:00Z",
                                marketplaceIds=[marketplace_id], maxResultsPerPage=25,
                                includedData=["PROCEEDS", "FULFILLMENT"])
            first = client.get_order(synced[0]["orderId"], includedData=["BUYER"])
        expected = [o.order_id for o in sim.simulator.world.orders(account.seller_id)
                    if o.marketplace_id == marketplace_id and o.created >= JANUARY]
        assert [o["orderId"] for o in synced] == expected
        assert len(expected) > 25  # more than one page was followed
        assert first.payload["order"]["orderId"] == synced[0]["orderId"]
        assert "buyer" in first.payload["order"]


def test_unknown_order_is_not_found(sim: Running) -> None:
    with (connect(Orders, sim, sim.accounts[0], US, version="2026-01-01") as client,
          pytest.raises(SellingApiNotFoundException) as caught):
        client.get_order("111-0000000-0000000")
    assert caught.value.error[0]["code"] == "NotFound"


def test_mfn_returns_report_lifecycle_and_download(sim: Running) -> None:
    account = sim.accounts[0]
    with connect(Reports, sim, account, US) as reports:
        created = reports.create_report(
            reportType="GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE", marketplaceIds=[US, CA],
            dataStartTime="2026-01-05T00:00:00Z", dataEndTime="2026-03-01T00:00:00Z")
        report_id = created.payload["reportId"]
        seen = {reports.get_report(report_id).payload["processingStatus"]}
        done = wait_done(lambda: reports.get_report(report_id))
        document = reports.get_report_document(done.payload["reportDocumentId"], download=True)
    assert seen == {"IN_PROGRESS"} and done.payload["processingStatus"] == "DONE"
    table = rows(document.payload["document"])
    assert table and set(table[0]) >= {"Order ID", "Amazon RMA ID", "Label type", "Return carrier"}
    stores = [r for r in table if r["Label type"] == "StoreDropOff"]
    assert stores and all(r["Return carrier"].startswith("STORE:") for r in stores)
    waiting = [r for r in table if r["Refunded Amount"] == ""]
    assert waiting, "some recent MFN returns wait for the seller's refund"


def test_mfn_returns_report_over_60_days_is_fatal(sim: Running) -> None:
    with connect(Reports, sim, sim.accounts[0], US) as reports:
        report_id = reports.create_report(
            reportType="GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE", marketplaceIds=[US],
            dataStartTime="2025-11-01T00:00:00Z", dataEndTime="2026-03-01T00:00:00Z",
        ).payload["reportId"]
        done = wait_done(lambda: reports.get_report(report_id))
    assert done.payload["processingStatus"] == "FATAL" and "reportDocumentId" not in done.payload


def test_fba_returns_report_in_shift_jis_for_japan(sim: Running) -> None:
    japan = BY_CODE["JP"].marketplace_id
    with connect(Reports, sim, sim.accounts[2], japan) as reports:
        report_id = reports.create_report(
            reportType="GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA", marketplaceIds=[japan],
            dataStartTime="2025-12-01T00:00:00Z").payload["reportId"]
        done = wait_done(lambda: reports.get_report(report_id))
        document = reports.get_report_document(done.payload["reportDocumentId"], download=True)
    assert document.character_code == "cp932"
    table = rows(document.payload["document"])
    assert table and list(table[0])[:3] == ["return-date", "order-id", "sku"]


def test_settlements_are_listed_not_requested(sim: Running) -> None:
    with connect(Reports, sim, sim.accounts[1], DE) as reports:
        with pytest.raises(SellingApiBadRequestException):
            reports.create_report(reportType=SETTLEMENT, marketplaceIds=[DE])
        listed = reports.get_reports(reportTypes=[SETTLEMENT], processingStatuses=["DONE"],
                                     marketplaceIds=[DE], createdSince="2026-01-01T00:00:00Z",
                                     createdUntil="2026-03-01T00:00:00Z")
        settlement = listed.payload["reports"][0]
        document = reports.get_report_document(settlement["reportDocumentId"], download=True)
    table = rows(document.payload["document"])
    summary, lines = table[0], table[1:]
    assert summary["currency"] == "EUR" and "," in summary["total-amount"]
    total = sum(Decimal(line["amount"].replace(",", ".")) for line in lines)
    assert total == Decimal(summary["total-amount"].replace(",", "."))


def adjustment_feed(seller_id: str, order_id: str, item_id: str, amount: str,
                    merchant_id: str) -> str:
    """An order adjustment feed refunding `amount` of the principal of one line."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
 xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">
<Header><DocumentVersion>1.01</DocumentVersion><MerchantIdentifier>{seller_id}</MerchantIdentifier>
</Header><MessageType>OrderAdjustment</MessageType>
<Message><MessageID>1</MessageID><OrderAdjustment><AmazonOrderID>{order_id}</AmazonOrderID>
<ActionType>Refund</ActionType><AdjustedItem><AmazonOrderItemCode>{item_id}</AmazonOrderItemCode>
<MerchantAdjustmentItemID>{merchant_id}</MerchantAdjustmentItemID>
<AdjustmentReason>CustomerReturn</AdjustmentReason><ItemPriceAdjustments><Component>
<Type>Principal</Type><Amount currency="EUR">{amount}</Amount></Component>
</ItemPriceAdjustments></AdjustedItem></OrderAdjustment></Message>
<Message><MessageID>2</MessageID><OrderAdjustment><AmazonOrderID>999-0000000-0000000</AmazonOrderID>
<AdjustedItem><AmazonOrderItemCode>1</AmazonOrderItemCode><AdjustmentReason>CustomerReturn
</AdjustmentReason></AdjustedItem></OrderAdjustment></Message></AmazonEnvelope>"""


def test_refund_feed_becomes_refund_event_and_settlement_line(make_sim: Any) -> None:
    sim = make_sim()
    account = sim.accounts[1]
    world = sim.simulator.world
    order = next(o for o in world.orders(account.seller_id)
                 if o.marketplace_id == DE and o.fulfilled_by == "MERCHANT" and o.shipped)
    item = order.items[0]
    feed_xml = adjustment_feed(account.seller_id, order.order_id, item.order_item_id, "10.00",
                               "ACORN-R-1")
    with connect(Feeds, sim, account, DE) as feeds:
        _, created = feeds.submit_feed("POST_PAYMENT_ADJUSTMENT_DATA", io.StringIO(feed_xml),
                                       content_type="text/xml; charset=UTF-8")
        done = wait_done(lambda: feeds.get_feed(created.payload["feedId"]))
        report = feeds.get_feed_result_document(done.payload["resultFeedDocumentId"])
    assert done.payload["processingStatus"] == "DONE"
    assert "<MessagesSuccessful>1</MessagesSuccessful>" in report
    assert "<MessagesWithError>1</MessagesWithError>" in report

    with connect(Finances, sim, account, DE) as finances:
        an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
        events = finances.list_financial_events(PostedAfter=an_hour_ago.isoformat()).payload
    refunds = events["FinancialEvents"]["RefundEventList"]
    assert [r["AmazonOrderId"] for r in refunds] == [order.order_id]
    charges = refunds[0]["ShipmentItemAdjustmentList"][0]["ItemChargeAdjustmentList"]
    assert charges == [{"ChargeType": "Principal",
                        "ChargeAmount": {"CurrencyCode": "EUR", "CurrencyAmount": -10.0}}]

    time.sleep(0.01)  # the open settlement closes after the (zero) settlement delay
    with connect(Reports, sim, account, DE) as reports:
        listed = reports.get_reports(reportTypes=[SETTLEMENT], marketplaceIds=[DE])
        newest = listed.payload["reports"][0]
        latest = reports.get_report_document(newest["reportDocumentId"], download=True)
    refund_rows = [r for r in rows(latest.payload["document"])
                   if r["merchant-adjustment-item-id"] == "ACORN-R-1"]
    assert [(r["amount-description"], r["amount"]) for r in refund_rows] == [
        ("Principal", "-10,00"), ("Commission", "1,50"), ("RefundCommission", "-0,30")]


def test_revoked_seller_is_refused(make_sim: Any) -> None:
    sim = make_sim(seed=11)
    account = sim.accounts[0]
    with connect(Orders, sim, account, US, version="2026-01-01") as client:
        client.search_orders(createdAfter="2026-02-20T00:00:00Z")
        sim.simulator.revoke(account.seller_id)
        with pytest.raises(SellingApiForbiddenException) as caught:
            client.search_orders(createdAfter="2026-02-20T00:00:00Z")
    assert caught.value.error[0]["code"] == "Unauthorized"


def test_large_reports_come_gzipped(make_sim: Any) -> None:
    sim = make_sim(gzip_min_bytes=1)
    with connect(Reports, sim, sim.accounts[0], US) as reports:
        report_id = reports.create_report(
            reportType="GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA", marketplaceIds=[US],
            dataStartTime="2026-01-01T00:00:00Z").payload["reportId"]
        done = wait_done(lambda: reports.get_report(report_id))
        document = reports.get_report_document(done.payload["reportDocumentId"], download=True)
    assert document.payload["compressionAlgorithm"] == "GZIP"
    assert document.payload["document"].startswith("return-date\torder-id")


def test_refund_events_page_with_next_token(sim: Running) -> None:
    account = sim.accounts[1]
    window = {"PostedAfter": "2025-12-15T00:00:00Z", "PostedBefore": "2026-03-01T00:00:00Z"}
    refunds: list[dict[str, Any]] = []
    pages = 0
    with connect(Finances, sim, account, DE) as finances:
        response = finances.list_financial_events(MaxResultsPerPage=20, **window)
        while True:
            pages += 1
            refunds += response.payload["FinancialEvents"]["RefundEventList"]
            if not response.next_token:
                break
            response = finances.list_financial_events(NextToken=response.next_token, **window)
    expected = [r.adjustment_item_id for r in sim.simulator.world.refunds(account.seller_id, ANCHOR)
                if r.posted >= datetime(2025, 12, 15, tzinfo=UTC)]
    got = [r["ShipmentItemAdjustmentList"][0]["OrderAdjustmentItemId"] for r in refunds]
    assert got == expected and pages > 1 and expected
