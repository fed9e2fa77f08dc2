"""Order adjustment feeds, presigned documents, settlement files and sandbox matching (pure)."""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from starlette.datastructures import Headers, QueryParams

from spapi_sim.documents import DocumentStore
from spapi_sim.errors import StorageError
from spapi_sim.feeds import FeedParseError, Message, check_message, parse_feed
from spapi_sim.ids import stable
from spapi_sim.marketplaces import BY_CODE
from spapi_sim.model import Buyer, Order, OrderItem, Settlement
from spapi_sim.sandbox import Sandbox, SandboxRequest, _operations
from spapi_sim.settlement import COLUMNS, settlement_report
from spapi_sim.signing import Signer

T0 = datetime(2026, 3, 1, tzinfo=UTC)
BUYER = Buyer("B", "b@example.com", "1 St", "City", "R", "1", "DE", "+1")
LINE = OrderItem("11", "SKU", "ASIN", "FNSKU", "Item", 1, Decimal("20.00"), Decimal(0),
                 Decimal("5.00"))
MFN = Order("302-1-1", "S", BY_CODE["DE"].marketplace_id, "EUR", T0, T0, T0, "MERCHANT",
            "SHIPPED", False, (LINE,), BUYER, "302-1-1")


def feed(*items: str, order_id: str = "302-1-1", action: str = "Refund") -> bytes:
    """A one-message adjustment feed."""
    return f"""<?xml version="1.0"?><AmazonEnvelope><Header><DocumentVersion>1.01
</DocumentVersion></Header><MessageType>OrderAdjustment</MessageType><Message><MessageID>7
</MessageID><OrderAdjustment><AmazonOrderID>{order_id}</AmazonOrderID><ActionType>{action}
</ActionType>{''.join(items)}</OrderAdjustment></Message></AmazonEnvelope>""".encode()


def item(amount: str = "10.00", *, code: str = "11", reason: str = "CustomerReturn",
         kind: str = "Principal", currency: str = "EUR") -> str:
    """One AdjustedItem."""
    return (f"<AdjustedItem><AmazonOrderItemCode>{code}</AmazonOrderItemCode><AdjustmentReason>"
            f"{reason}</AdjustmentReason><ItemPriceAdjustments><Component><Type>{kind}</Type>"
            f'<Amount currency="{currency}">{amount}</Amount></Component>'
            "</ItemPriceAdjustments></AdjustedItem>")


def check(data: bytes, refunded: Decimal = Decimal(0), order: Order = MFN) -> str | None:
    """The result code of the only message of `data` (None: accepted)."""
    [message] = parse_feed(data)
    problem = check_message(message, lambda o: order if o == order.order_id else None,
                            lambda o, i: refunded)
    return problem[0] if problem else None


@pytest.mark.parametrize(("data", "refunded", "code"), [
    (feed(item()), Decimal(0), None),
    (feed(item("25.00")), Decimal(0), None),                  # the whole line, shipping included
    (feed(item("25.01")), Decimal(0), "25007"),               # more than was paid
    (feed(item("10.00")), Decimal("20.00"), "25007"),         # the balance is used up
    (feed(item("10.00"), item("16.00")), Decimal(0), "25007"),  # two items, one line
    (feed(item("0.00")), Decimal(0), "25004"),
    (feed(item("-1", kind="RestockingFee")), Decimal(0), "25004"),
    (feed(item(code="99")), Decimal(0), "25002"),
    (feed(item(reason="Whim")), Decimal(0), "25005"),
    (feed(item(currency="USD")), Decimal(0), "25006"),
    (feed(item(kind="Bonus")), Decimal(0), "25008"),
    (feed(item(), order_id="999-9-9"), Decimal(0), "25001"),
    (feed(item(), action="Cancel"), Decimal(0), "25008"),
    (feed(item("ten")), Decimal(0), "25008"),
])
def test_adjustment_checks(data: bytes, refunded: Decimal, code: str | None) -> None:
    assert check(data, refunded) == code


def test_fba_orders_cannot_be_adjusted() -> None:
    assert check(feed(item()), order=replace(MFN, fulfilled_by="AMAZON")) == "25003"


@pytest.mark.parametrize("data", [b"<not xml", b"<AmazonEnvelope/>",
                                  b'<!DOCTYPE a [<!ENTITY x "y">]><AmazonEnvelope/>'])
def test_unreadable_feeds_are_refused(data: bytes) -> None:
    with pytest.raises(FeedParseError):
        parse_feed(data)


def test_a_message_without_adjustment_is_reported() -> None:
    data = b"<AmazonEnvelope><MessageType>OrderAdjustment</MessageType><Message><MessageID>1" \
           b"</MessageID></Message></AmazonEnvelope>"
    assert parse_feed(data) == [Message("1", "", "", problem="Message has no OrderAdjustment")]


def store() -> DocumentStore:
    """A document store holding one report and one upload slot."""
    documents = DocumentStore(Signer(b"k"), gzip_min_bytes=100, ttl_seconds=300)
    documents.add("amzn1.spdoc.big", "S", "text/plain", lambda: b"x" * 200)
    documents.add("amzn1.spdoc.small", "S", "text/plain", lambda: b"small")
    documents.add_upload("amzn1.tortuga.up", "S", "text/xml")
    return documents


def query_of(url: str) -> dict[str, str]:
    """The query parameters of a URL."""
    return dict(QueryParams(url.split("?", 1)[1]))


def test_large_documents_are_gzipped_and_owned() -> None:
    documents = store()
    big, small = documents.find("amzn1.spdoc.big"), documents.find("amzn1.spdoc.small")
    assert big and big.compressed and gzip.decompress(big.data or b"") == b"x" * 200
    assert small and not small.compressed and small.data == b"small"
    assert documents.find("amzn1.spdoc.big", owner="OTHER") is None


def test_presigned_urls_expire_and_resist_tampering() -> None:
    documents = store()
    query = query_of(documents.presign("amzn1.spdoc.small", "GET", "http://h", T0))
    documents.check("amzn1.spdoc.small", "GET", query, T0 + timedelta(seconds=299))
    cases = [("amzn1.spdoc.small", "GET", query, T0 + timedelta(seconds=301), "AccessDenied"),
             ("amzn1.spdoc.small", "PUT", query, T0, "SignatureDoesNotMatch"),
             ("amzn1.spdoc.big", "GET", query, T0, "SignatureDoesNotMatch"),
             ("amzn1.spdoc.small", "GET", {}, T0, "AccessDenied"),
             ("amzn1.spdoc.nothing", "GET", query, T0, "NoSuchKey")]
    for document_id, method, given, when, code in cases:
        with pytest.raises(StorageError) as caught:
            documents.check(document_id, method, given, when)
        assert caught.value.code == code


def test_uploads_need_the_announced_content_type() -> None:
    documents = store()
    with pytest.raises(StorageError):
        documents.put("amzn1.tortuga.up", b"<x/>", "text/plain")
    assert documents.uploaded("amzn1.tortuga.up") is None
    documents.put("amzn1.tortuga.up", b"<x/>", "text/xml")
    assert documents.uploaded("amzn1.tortuga.up") == b"<x/>"


def test_settlement_file_has_the_official_columns_and_a_summary_row() -> None:
    settlement = Settlement("123", "S", MFN.marketplace_id, T0 - timedelta(days=14), T0,
                            "9", "amzn1.spdoc.s", T0)
    text = settlement_report(settlement, BY_CODE["DE"], [MFN], [])
    table = list(csv.DictReader(io.StringIO(text), delimiter="\t"))
    assert tuple(table[0]) == COLUMNS and len(COLUMNS) == 23
    assert table[0]["total-amount"] == "22,00"  # 20 principal + 5 shipping - 3 commission
    assert table[0]["settlement-end-date"] == "2026-03-01 00:00:00 UTC"
    assert [r["amount-description"] for r in table[1:]] == ["Principal", "Shipping", "Commission"]
    assert table[1]["posted-date"] == "03/01/26" and table[1]["amount"] == "20,00"


def sandbox_of(examples: list[dict[str, Any]]) -> Sandbox:
    """A sandbox with one GET operation `/things/{id}` carrying `examples` (as 200s)."""
    model = {"paths": {"/things/{id}": {"get": {
        "operationId": "getThing",
        "parameters": [{"name": "id", "in": "path", "type": "string"},
                       {"name": "tags", "in": "query", "type": "array"},
                       {"name": "size", "in": "query", "type": "integer"}],
        "responses": {"200": {"x-amzn-api-sandbox": {"static": examples}}}}}}}
    return Sandbox(_operations("things", model))


@pytest.mark.parametrize(("path", "query", "expected"), [
    ("/things/a", "", "any a"),
    ("/things/a", "tags=x,y", "tagged"),
    ("/things/a", "tags=x&tags=y&size=3", "sized"),  # most specific wins; repeated arrays
    ("/things/a", "tags=y,x", "any a"),              # array order matters
    ("/things/b", "size=3", None),
])
def test_sandbox_matching(path: str, query: str, expected: str | None) -> None:
    sandbox = sandbox_of([
        {"request": {"parameters": {"id": {"value": "a"}}}, "response": "any a"},
        {"request": {"parameters": {"id": {"value": "a"}, "tags": {"value": ["x", "y"]}}},
         "response": "tagged"},
        {"request": {"parameters": {"tags": {"value": ["x", "y"]}, "size": {"value": 3},
                                    "id": {"value": "a"}}}, "response": "sized"},
    ])
    routed = sandbox.route("GET", path)
    assert routed is not None
    example = sandbox.answer(routed[0], SandboxRequest(routed[1], QueryParams(query),
                                                       Headers(), b""))
    assert (example.response if example else None) == expected


def test_ids_are_stable_and_sized() -> None:
    assert stable("a", 1) == stable("a", 1) != stable("a", 2)
    assert len(stable("x", digits=14)) == 14
