"""Reason analytics on the seeded worked example (``reasons_seed.seed``), on SQLite and
PostgreSQL, against figures computed by hand:

    line            store  region month    SKU    units reason              refund
    R1 (2 lines)    s1     north  2026-01  A 2,B 1  3   defective (counter)  59.90 EUR approved
    R2              s2     north  2026-01  A        1   defective (rule)     20.00 EUR settled
    R3              s3     west   2026-02  B        1   customer_choice      15.00 USD rejected
    R4              s3     west   2026-02  C        1   unknown              9.00 EUR pending
    MFN rma1 (DE)   -      -      2026-02  A        1   not_as_described     30.00 EUR
    MFN rma2 (US)   -      -      2026-01  B        1   defective            12.50 USD
    MFN rma3 (DE)   -      -      2026-02  A        1   unknown              -
    FBA f1 (DE)     -      -      2026-02  A        1   suspected_abuse      -

plus the stands-out test on sales, the scope of a regional manager, and the API's JSON and CSV.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import Engine, select

from hub.access.permissions import Role, Scope
from hub.access.tokens import create_token
from hub.finance.reasons import analytics, store
from hub.finance.reasons.analytics import Filters
from hub.finance.reasons.standout import standouts, tail
from hub.storage.engine import reading
from hub.storage.tables.reasons import return_reasons
from tests.finance.reasons_seed import (
    DE,
    US,
    amazon_order,
    at,
    mfn_return,
    pos_sales,
    seed,
    store_return,
)
from tests.hub.conftest import RunningHub


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed(engine)
    store.classify_pending(engine)
    return engine


def _units(engine: Engine, dimension: str, f: Filters | None = None) -> dict[str, int]:
    with reading(engine) as conn:
        return {r["key"]: r["units"] for r in analytics.breakdown(conn, dimension, f or Filters())}


def test_units_by_every_dimension(seeded: Engine) -> None:
    assert _units(seeded, "reason") == {"defective": 5, "not_as_described": 1,
                                        "customer_choice": 1, "unknown": 2,
                                        "suspected_abuse": 1}
    assert _units(seeded, "sku") == {"SKU-A": 6, "SKU-B": 3, "SKU-C": 1}
    assert _units(seeded, "category") == {"electronics": 6, "toys": 3, "(none)": 1}
    assert _units(seeded, "store") == {"s1": 3, "s2": 1, "s3": 2, "(amazon)": 4}
    assert _units(seeded, "region") == {"north": 4, "west": 2, "(none)": 4}
    assert _units(seeded, "marketplace") == {"pos": 5, "web": 1, DE: 3, US: 1}
    assert _units(seeded, "month") == {"2026-01": 5, "2026-02": 5}


def test_a_row_splits_by_reason_and_months_are_in_order(seeded: Engine) -> None:
    with reading(seeded) as conn:
        rows = analytics.breakdown(conn, "month", Filters())
        skus = analytics.breakdown(conn, "sku", Filters())
    assert [r["key"] for r in rows] == ["2026-01", "2026-02"]
    assert rows[0]["by_reason"] == {"defective": 5}
    assert rows[1]["by_reason"] == {"customer_choice": 1, "unknown": 2, "not_as_described": 1,
                                    "suspected_abuse": 1}
    assert skus[0] == {"key": "SKU-A", "units": 6, "lines": 5,
                       "by_reason": {"defective": 3, "not_as_described": 1, "unknown": 1,
                                     "suspected_abuse": 1}}


def test_filters_narrow_every_figure(seeded: Engine) -> None:
    assert _units(seeded, "reason", Filters(month_from="2026-02")) == {
        "customer_choice": 1, "unknown": 2, "not_as_described": 1, "suspected_abuse": 1}
    assert _units(seeded, "sku", Filters(month_to="2026-01", reason="defective")) == {
        "SKU-A": 3, "SKU-B": 2}
    assert _units(seeded, "store", Filters(region="north")) == {"s1": 3, "s2": 1}
    assert _units(seeded, "reason", Filters(category="toys")) == {"defective": 2,
                                                                 "customer_choice": 1}
    assert _units(seeded, "month", Filters(marketplace=DE)) == {"2026-02": 3}


def test_a_limited_scope_sees_its_stores_only(seeded: Engine) -> None:
    north = Filters(scope=Scope(region="north"))
    assert _units(seeded, "reason", north) == {"defective": 4}
    assert _units(seeded, "store", Filters(scope=Scope(store="s3"))) == {"s3": 2}
    with reading(seeded) as conn:
        assert analytics.money(conn, north) == [
            {"reason": "defective", "currency": "EUR", "amount": Decimal("79.90")}]


def test_money_refunded_per_reason_and_currency(seeded: Engine) -> None:
    with reading(seeded) as conn:
        rows = analytics.money(conn, Filters())
    # R1's two lines count its one refund once; R3 (rejected) and R4 (pending) are not refunded
    assert rows == [
        {"reason": "defective", "currency": "EUR", "amount": Decimal("79.90")},
        {"reason": "not_as_described", "currency": "EUR", "amount": Decimal("30.00")},
        {"reason": "defective", "currency": "USD", "amount": Decimal("12.50")},
    ]
    assert all(isinstance(r["amount"], Decimal) for r in rows)


def test_the_lines_behind_a_bar(seeded: Engine) -> None:
    with reading(seeded) as conn:
        behind = analytics.lines(conn, "month", "2026-01", Filters(reason="defective"))
        unknown = analytics.lines(conn, "reason", "unknown", Filters())
    assert [(r["line_key"], r["quantity"]) for r in behind] == [
        ("s2/R2/1", 1), ("acct1/rma2/SKU-B", 1), ("s1/R1/1", 2), ("s1/R1/2", 1)]
    assert sum(r["quantity"] for r in behind) == _units(
        seeded, "month", Filters(reason="defective"))["2026-01"]
    assert {r["raw_reason"] for r in unknown} == {"customer left no word", "WEIRD_NEW_CODE"}


def test_an_amazon_return_taken_in_at_a_store_counts_once(seeded: Engine) -> None:
    # rma1 (SKU-A, NOT_AS_DESCRIBED, 30.00 EUR refunded by Amazon) brought to s1's counter
    store_return(seeded, "s1", "R5", "amazon_mfn", "wrong item", at(2, 12), [("SKU-A", 1)],
                 refund=("30.00", "confirmed"), order_id="o-rma1")
    store.classify_pending(seeded)
    assert _units(seeded, "reason", Filters(month_from="2026-02")) == {
        "customer_choice": 1, "unknown": 2, "not_as_described": 1, "suspected_abuse": 1}
    assert _units(seeded, "store", Filters(sku="SKU-A", month_from="2026-02")) == {
        "s1": 1, "(amazon)": 2}
    with reading(seeded) as conn:
        money = analytics.money(conn, Filters(month_from="2026-02"))
        behind = analytics.lines(conn, "reason", "not_as_described", Filters())
    assert money == [{"reason": "not_as_described", "currency": "EUR",
                      "amount": Decimal("30.00")}]
    assert [r["line_key"] for r in behind] == ["s1/R5/1"]


def test_a_store_line_then_its_amazon_report_line_counts_once(seeded: Engine) -> None:
    """The other order: the store took the return in before the MFN report listed it; the pass
    that classifies the report's line marks it, among that batch's orders."""
    store_return(seeded, "s2", "R7", "amazon_mfn", "wrong item", at(5, 2), [("SKU-B", 1)],
                 order_id="o-rma7")
    store.classify_pending(seeded)
    mfn_return(seeded, "rma7", "SKU-B", DE, "DEFECTIVE", at(5, 3), "12.00")
    mfn_return(seeded, "rma8", "SKU-B", DE, "DEFECTIVE", at(5, 3), "12.00")  # not taken in
    assert dict(store.classify_pending(seeded)) == {"amazon_mfn": 2}
    with reading(seeded) as conn:
        counted = {key: flag for key, flag in conn.execute(
            select(return_reasons.c.line_key, return_reasons.c.counted).where(
                return_reasons.c.order_id.in_(["o-rma7", "o-rma8"])))}
    assert counted == {"s2/R7/1": True, "acct1/rma7/SKU-B": False, "acct1/rma8/SKU-B": True}
    assert _units(seeded, "store", Filters(month_from="2026-05")) == {"s2": 1, "(amazon)": 1}


def test_the_binomial_tail_by_hand() -> None:
    p = 0.02  # P(X >= 3), X ~ Bin(5, p) = C(5,3)p^3q^2 + C(5,4)p^4q + p^5
    assert tail(5, 3, p) == pytest.approx(10 * p**3 * (1 - p) ** 2 + 5 * p**4 * (1 - p) + p**5,
                                          rel=1e-9)
    assert tail(100, 1, p) == pytest.approx(1 - (1 - p) ** 100, rel=1e-9)
    assert tail(10, 0, p) == 1.0


def test_which_skus_stand_out() -> None:
    sold = {f"N{i}": 100 for i in range(10)} | {"HOT": 100, "TINY": 2}
    returned = {f"N{i}": 1 for i in range(10)} | {"HOT": 12, "TINY": 2}
    rate, rows = standouts(sold, returned)
    assert rate == pytest.approx(24 / 1102)  # 10 + 12 + 2 of 1000 + 100 + 2
    verdicts = {r.sku: r.stands_out for r in rows}
    assert verdicts.pop("HOT") is True
    assert verdicts.pop("TINY") is False  # 2 of 2 sold: too few returns to say
    assert not any(verdicts.values())
    assert rows[0].sku == "HOT"


def test_standouts_against_sales_in_the_database(engine: Engine) -> None:
    pos_sales(engine, "s1", {f"N{i}": 50 for i in range(10)} | {"HOT": 50}, at(1, 2))
    amazon_order(engine, "o-1", [{"sku": f"N{i}", "quantity": 50} for i in range(10)]
                 + [{"sku": "HOT", "quantity": 50}], at(1, 3))
    amazon_order(engine, "o-old", [{"sku": "HOT", "quantity": 1000}], at(3, 3))  # not January
    for i in range(10):
        store_return(engine, "s1", f"RN{i}", "pos", "defective", at(1, 5), [(f"N{i}", 1)])
    store_return(engine, "s1", "RH", "pos", "not as described", at(1, 6), [("HOT", 12)])
    store_return(engine, "s1", "RC", "pos", "changed mind", at(1, 6), [("N1", 30)])
    store.classify_pending(engine)
    with reading(engine) as conn:
        rate, rows = analytics.rates(conn, Filters(month_from="2026-01", month_to="2026-01"))
    assert rate == pytest.approx(22 / 1100)  # changed-mind returns are not product problems
    by_sku = {r.sku: r for r in rows}
    assert (by_sku["HOT"].sold, by_sku["HOT"].returned, by_sku["HOT"].stands_out) == (
        100, 12, True)
    assert [r.sku for r in rows if r.stands_out] == ["HOT"]


def test_the_api_answers_json_and_csv_in_the_callers_scope(api_hub: RunningHub) -> None:
    seed(api_hub.engine)
    store.classify_pending(api_hub.engine)
    finance = create_token(api_hub.engine, "fin", Role.FINANCE)
    north = create_token(api_hub.engine, "nora", Role.REGIONAL_MANAGER,
                         scope=Scope(region="north"))
    staff = create_token(api_hub.engine, "sam", Role.STORE_STAFF, scope=Scope(store="s1"))
    client = api_hub.client

    def get(path: str, token: str) -> httpx.Response:
        answer = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        return answer

    body = get("/api/reasons/breakdown?dimension=region", finance).json()
    assert {r["key"]: r["units"] for r in body["rows"]} == {"north": 4, "west": 2, "(none)": 4}
    scoped = get("/api/reasons/breakdown?dimension=store", north).json()
    assert {r["key"]: r["units"] for r in scoped["rows"]} == {"s1": 3, "s2": 1}
    text = get("/api/reasons/breakdown.csv?dimension=sku&month_to=2026-01",
               finance).text
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:4] == ["sku", "units", "lines", "defective"]
    assert {row[0]: row[1] for row in table[1:]} == {"SKU-A": "3", "SKU-B": "2"}
    money = get("/api/reasons/money.csv", finance).text
    assert "defective,EUR,79.90\r\n" in money and "defective,USD,12.50\r\n" in money
    assert client.get("/api/reasons/breakdown",
                      headers={"Authorization": f"Bearer {staff}"}).status_code == 403
    bad = client.get("/api/reasons/breakdown?month_from=2026-13",
                     headers={"Authorization": f"Bearer {finance}"})
    assert bad.status_code == 422 and "month_from" in bad.text
    unmapped = client.get("/api/reasons/unmapped", headers={"Authorization": f"Bearer {north}"})
    assert unmapped.status_code == 403
