"""The pure parts, by tables: token bucket, windows, flat files, settlement file, feed, refund
planning and matching, error translation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base import (
    SellingApiBadRequestException,
    SellingApiForbiddenException,
    SellingApiNotFoundException,
    SellingApiRequestThrottledException,
)

from hub.amazon import errors
from hub.amazon.client.gateway import backoff
from hub.amazon.client.ratelimit import Bucket, Limit, Limiter, floor_seconds, take, violations
from hub.amazon.files.feed import AdjustedItem, Adjustment, adjustment_feed, parse_processing_report
from hub.amazon.files.flatfile import FileFormatError, parse_amount, parse_time
from hub.amazon.files.returns import parse_fba_returns, parse_mfn_returns
from hub.amazon.files.settlement import parse_settlement
from hub.amazon.refunds.rules import (
    EventLine,
    RefundPlanError,
    ReturnLine,
    match_items,
    plan_refund,
)
from hub.amazon.sync.cursors import start_from, windows
from spapi_sim.feeds import parse_feed
from spapi_sim.reports import FBA_COLUMNS, MFN_COLUMNS
from spapi_sim.settlement import COLUMNS

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ONE = Limit(1.0, 2)


@pytest.mark.parametrize(
    ("tokens", "at", "now", "after", "wait", "anchors"),
    [
        (2.0, 0.0, 0.0, Bucket(1.0, 0.0), 0.0, True),  # drawn from full: its clock restarts
        (1.5, 0.0, 0.0, Bucket(0.5, 0.0), 0.0, False),
        (0.5, 0.0, 0.0, Bucket(0.5, 0.0), 0.5, False),  # not enough: wait for the next token
        (0.0, 0.3, 0.0, Bucket(0.0, 0.3), 1.3, False),  # refill starts later (confirmed anchor)
        (0.0, 0.0, 5.0, Bucket(1.0, 5.0), 0.0, True),  # refilled to full meanwhile
    ],
)
def test_take(
    tokens: float, at: float, now: float, after: Bucket, wait: float, anchors: bool
) -> None:
    bucket, delay, drew = take(Bucket(tokens, at), now, ONE)
    assert (bucket, drew) == (after, anchors) and delay == pytest.approx(wait)


def test_limiter_spaces_requests_and_restarts_when_the_first_is_answered() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = Limiter({"op": ONE}, factor=2.0, clock=lambda: now[0])
    first = limiter.acquire("a", "op", sleep)
    now[0] = 0.3  # Amazon answers the first request 0.3 s later
    limiter.answered("a", "op", first)
    waits = [limiter.acquire("a", "op", sleep).waited for _ in range(3)]
    assert first.anchors and waits == pytest.approx([0.0, 0.5, 0.5])
    assert limiter.times("a", "op") == pytest.approx([0.0, 0.3, 0.8, 1.3])
    assert violations(limiter.times("a", "op"), ONE.scaled(2.0)) == 0
    assert limiter.acquire("b", "op").waited == 0.0  # another account has its own bucket
    limiter.throttled("a", "op")
    assert limiter.acquire("a", "op", sleep).waited == pytest.approx(0.5)


def test_violations_and_floor() -> None:
    assert violations([0.0, 0.0, 0.0], ONE) == 1
    assert violations([0.0, 0.0, 1.0, 2.0], ONE) == 0
    assert floor_seconds(2, ONE) == 0.0 and floor_seconds(12, ONE) == 10.0
    assert [backoff(n, 0.5) for n in range(4)] == [0.5, 1.0, 2.0, 4.0]


def test_windows_and_start() -> None:
    assert windows(T0, T0 + timedelta(days=130), timedelta(days=60)) == [
        (T0, T0 + timedelta(days=60)),
        (T0 + timedelta(days=60), T0 + timedelta(days=120)),
        (T0 + timedelta(days=120), T0 + timedelta(days=130)),
    ]
    assert windows(T0, T0, timedelta(days=1)) == []
    assert start_from(None, None, T0, 30) == T0 - timedelta(days=30)
    assert start_from(T0, None, T0, 30, timedelta(days=3)) == T0 - timedelta(days=3)
    assert start_from(T0, T0 - timedelta(days=9), T0, 30) == T0 - timedelta(days=9)


@pytest.mark.parametrize(
    ("text", "comma", "value"),
    [
        ("95,00", True, "95.00"),
        ("-1.234,56", True, "-1234.56"),
        ("12.50", False, "12.50"),
        ("-1,234.56", False, "-1234.56"),
        ("0", False, "0"),
        ("1234", True, "1234"),
    ],
)
def test_amounts_in_local_formats(text: str, comma: bool, value: str) -> None:
    assert parse_amount(text, comma) == Decimal(value)


@pytest.mark.parametrize(
    ("text", "comma"),
    [
        ("12,3x", True),
        ("NaN", False),
        ("1e5", False),
        ("12.34", True),
        ("1,23.4", False),
        ("", False),
        ("--1", False),
        ("1_000", False),
        ("Infinity", False),
    ],
)
def test_malformed_amounts_are_refused(text: str, comma: bool) -> None:
    with pytest.raises(ValueError):
        parse_amount(text, comma)


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-01 00:00:00 UTC",
        "2026-01-01T00:00:00+00:00",
        "2026-01-01T01:00:00+01:00",
        "01.01.2026 00:00:00 UTC",
        "01/01/26",
    ],
)
def test_times(text: str) -> None:
    assert parse_time(text) == T0


def _settlement(rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> str:
    return (
        "\n".join(["\t".join(columns), *("\t".join(r.get(c, "") for c in columns) for r in rows)])
        + "\n"
    )


SUMMARY = {
    "settlement-id": "77",
    "settlement-start-date": "2026-01-01 00:00:00 UTC",
    "settlement-end-date": "2026-01-15 00:00:00 UTC",
    "deposit-date": "2026-01-16 00:00:00 UTC",
    "total-amount": "90,50",
    "currency": "EUR",
}
LINE = {
    "settlement-id": "77",
    "transaction-type": "Refund",
    "order-id": "302-1",
    "adjustment-id": "A1",
    "merchant-adjustment-item-id": "F1",
    "amount-type": "ItemPrice",
    "amount-description": "Principal",
    "posted-date-time": "2026-01-05 10:00:00 UTC",
    "quantity-purchased": "1",
}


def test_settlement_by_header_name_with_decimal_commas() -> None:
    reordered = (*reversed(COLUMNS), "promotion-id")
    text = _settlement(
        [SUMMARY, {**LINE, "amount": "100,00"}, {**LINE, "amount": "-9,50"}], reordered
    )
    parsed = parse_settlement(text, decimal_comma=True)
    assert parsed.summary.total == Decimal("90.50") and parsed.summary.currency == "EUR"
    assert [line.amount for line in parsed.lines] == [Decimal("100.00"), Decimal("-9.50")]
    assert parsed.lines[0].posted_at == datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert parsed.lines[0].merchant_adjustment_item_id == "F1" and parsed.lines[0].line_no == 3
    assert not parsed.problems and parsed.unknown_columns == ()


def test_settlement_problems_name_their_lines() -> None:
    text = _settlement(
        [SUMMARY, {**LINE, "amount": "100,00"}, {**LINE, "amount": "9,5q"}], (*COLUMNS, "surprise")
    )
    text += "77\tRefund\n"  # a line cut short
    parsed = parse_settlement(text, decimal_comma=True)
    assert parsed.unknown_columns == ("surprise",)
    assert [(p.line, p.message.split(":")[0]) for p in parsed.problems] == [
        (4, "malformed amount '9,5q'"),
        (5, "2 fields where the header has 24"),
        (2, "total-amount 90.50 does not equal the sum of the lines 100.00"),
    ]
    assert len(parsed.lines) == 1


@pytest.mark.parametrize(("text", "line"), [("", 1), ("a\tb\n", 1), ("\t".join(COLUMNS) + "\n", 1)])
def test_unreadable_settlements(text: str, line: int) -> None:
    with pytest.raises(FileFormatError) as caught:
        parse_settlement(text, decimal_comma=False)
    assert caught.value.line == line


def test_returns_reports_by_header_name() -> None:
    row = dict.fromkeys(MFN_COLUMNS, "")
    row.update(
        {
            "Order ID": "111-1",
            "Return request date": "2026-01-01T00:00:00+00:00",
            "Amazon RMA ID": "DRMA1",
            "Label type": "StoreDropOff",
            "Return carrier": "STORE:store-us-nyc-01",
            "Merchant SKU": "SKU-1",
            "Return quantity": "1",
            "Currency code": "USD",
            "Order Amount": "19.99",
            "In policy": "Y",
        }
    )
    columns = tuple(reversed(MFN_COLUMNS))
    text = "\t".join(columns) + "\n" + "\t".join(row[c] for c in columns) + "\n"
    (line,) = parse_mfn_returns(text + "111-2\tcut\n").rows
    assert line.store_ref == "store-us-nyc-01" and line.order_amount == Decimal("19.99")
    assert parse_mfn_returns(text + "111-2\tcut\n").problems[0].line == 3
    fba = (
        "\t".join(FBA_COLUMNS)
        + "\n"
        + "\t".join(
            [
                "2026-01-01T00:00:00+00:00",
                "222-1",
                "SKU",
                "B0",
                "X0",
                "Name",
                "1",
                "FC1",
                "SELLABLE",
                "R",
                "S",
                "LPN1",
                "ok",
            ]
        )
        + "\n"
    )
    (returned,) = parse_fba_returns(fba).rows
    assert returned.returned_at == T0 and len(returned.row_key) == 64


def test_feed_is_what_the_simulator_reads_and_results_are_read_back() -> None:
    item = AdjustedItem("11", "F1", (("Principal", Decimal("10")),))
    payload = adjustment_feed(
        "A1", [Adjustment(1, "302-1", "JPY", (item,)), Adjustment(2, "302-2", "EUR", (item,))]
    )
    messages = parse_feed(payload)
    assert [
        (m.order_id, m.items[0].merchant_adjustment_item_id, m.items[0].components["Principal"])
        for m in messages
    ] == [("302-1", "F1", Decimal("10")), ("302-2", "F1", Decimal("10.00"))]
    assert b'<Amount currency="EUR">10.00</Amount>' in payload
    report = parse_processing_report(
        "<AmazonEnvelope><Message><ProcessingReport><StatusCode>Complete</StatusCode>"
        "<ProcessingSummary><MessagesProcessed>2</MessagesProcessed><MessagesSuccessful>1"
        "</MessagesSuccessful></ProcessingSummary><Result><MessageID>2</MessageID><ResultCode>"
        "Error</ResultCode><ResultMessageCode>25007</ResultMessageCode><ResultDescription>Too"
        " much.</ResultDescription></Result></ProcessingReport></Message></AmazonEnvelope>"
    )
    assert report.error_for(1) is None and report.error_for(2) == "25007: Too much."


@pytest.mark.parametrize(
    "build",
    [
        lambda: AdjustedItem("11", "F1", (("Principal", Decimal("-1")),)),
        lambda: AdjustedItem("11", "F1", (("Bribe", Decimal("1")),)),
        lambda: AdjustedItem("11", "F1", (("Principal", Decimal("1")),), reason="Whim"),
        lambda: Adjustment(1, "302-1", "XXX", ()),
    ],
)
def test_feed_values_are_checked_when_built(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


def test_plan_splits_the_refund_exactly_over_order_items() -> None:
    lines = [
        ReturnLine("A", 1, Decimal("10.00")),
        ReturnLine("B", 2, Decimal("5.00")),
        ReturnLine("C", 1, Decimal("0.01")),
    ]
    items = plan_refund(
        "F1", Decimal("10.00"), "EUR", "EUR", lines, {"A": "i1", "B": "i2", "C": "i3"}
    )
    assert [(i.order_item_id, i.merchant_item_id, i.principal) for i in items] == [
        ("i1", "F1-1", Decimal("5.00")),
        ("i2", "F1-2", Decimal("5.00")),
    ]
    (single,) = plan_refund("F9", Decimal("7"), "JPY", "JPY", lines[:1], {"A": "i1"})
    assert (single.merchant_item_id, single.principal) == ("F9", Decimal("7"))


@pytest.mark.parametrize(
    ("amount", "currency", "skus", "why"),
    [
        ("10", "USD", {"A": "i1"}, "in USD but the Amazon order is in EUR"),
        ("0", "EUR", {"A": "i1"}, "positive"),
        ("10", "EUR", {}, "SKU A is not a line"),
    ],
)
def test_plans_that_cannot_work(amount: str, currency: str, skus: dict[str, str], why: str) -> None:
    with pytest.raises(RefundPlanError, match=why):
        plan_refund(
            "F1", Decimal(amount), currency, "EUR", [ReturnLine("A", 1, Decimal("10"))], skus
        )


def test_events_match_by_order_item_amount_and_time() -> None:
    items = [{"order_item_id": "i1", "merchant_item_id": "F1", "principal": "10.00"}]
    old = EventLine("302-1", "i1", "ADJ-0", Decimal("-10.00"), T0 - timedelta(days=9))
    other = EventLine("302-1", "i1", "ADJ-1", Decimal("-3.00"), T0)
    ours = EventLine("302-1", "i1", "ADJ-2", Decimal("-10.00"), T0 + timedelta(minutes=1))
    taken: set[str] = set()
    assert match_items("302-1", items, [old, other, ours], taken, T0) == {"F1": "ADJ-2"}
    assert match_items("302-1", items, [ours], taken, T0) == {}  # already matched


@pytest.mark.parametrize(
    ("raised", "kind", "said"),
    [
        (AuthorizationError("invalid_grant", "revoked", 400), errors.CredentialError, "revoked"),
        (
            SellingApiForbiddenException([{"code": "Unauthorized", "message": "no"}]),
            errors.CredentialError,
            "Unauthorized: no",
        ),
        (
            SellingApiRequestThrottledException([{"code": "QuotaExceeded", "message": "slow"}]),
            errors.ThrottledError,
            "QuotaExceeded",
        ),
        (
            SellingApiNotFoundException([{"code": "NotFound", "message": "gone"}]),
            errors.AmazonApiError,
            "NotFound: gone",
        ),
        (SellingApiBadRequestException([]), errors.AmazonApiError, "getOrder"),
        (httpx.ConnectError("refused"), errors.AmazonApiError, "network"),
    ],
)
def test_library_errors_map_into_the_tree(raised: Exception, kind: type, said: str) -> None:
    mapped = errors.translate(raised, "eu", "getOrder")
    assert mapped is not None
    assert isinstance(mapped, kind) and said in mapped.message and mapped.account == "eu"


def test_unknown_errors_are_not_swallowed() -> None:
    assert errors.translate(KeyError("x"), "eu", "getOrder") is None
