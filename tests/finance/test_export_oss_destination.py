"""OSS by the country of consumption: a sale is declared where the goods arrive (the buyer's
ship-to country of the Amazon order), not where the marketplace is.

On top of the seeded quarter (``test_export_oss``), three amazon.de orders of entity ``de``
(Germany, OSS) in November 2026, gross prices including VAT:
  o-de-fr shipped to FR: 60.00 at 20 % -> 50.00 + 10.00, under FR
  o-de-at shipped to AT: 24.00 at 20 % -> 20.00 + 4.00, under AT; refunded 12.00 through
          rf-at -> -10.00 - 2.00 (the refund follows its order's destination): AT 10.00 + 2.00
  o-de-de shipped to DE: 119.00, domestic: not OSS
FR then holds 75.00 + 50.00 = 125.00 net, 15.00 + 10.00 = 25.00 VAT of sales, refunds -10.00
and -2.00; its four seeded facts (o-fr-oct, o-fr1, o-fr2, rf-fr) know no destination, so their
country is assumed from the marketplace and counted; o-de-fr is not.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine

from hub.amazon.sync.orders import order_row
from hub.finance.exports import files, oss
from hub.finance.exports.facts import parse_period
from hub.finance.exports.store import facts
from tests.finance.exports_seed import DE, at, order, refund, seed

NOW = datetime(2026, 12, 1, tzinfo=UTC)
D = Decimal


def _seed(engine: Engine) -> None:
    seed(engine)
    order(engine, "o-de-fr", DE, at(11, 9), [("SKU-A", 1, "60.00", "EUR")], ship_country="FR")
    order(engine, "o-de-at", DE, at(11, 9), [("SKU-B", 1, "24.00", "EUR")], ship_country="AT")
    order(engine, "o-de-de", DE, at(11, 9), [("SKU-C", 1, "119.00", "EUR")], ship_country="DE")
    refund(engine, "s1", "rf-at", "12.00", "EUR", "settled", at(11, 15), DE, "o-de-at")


def test_sales_land_under_the_ship_to_country_at_its_rate(engine: Engine) -> None:
    _seed(engine)
    _entity, found = facts(engine, "de", parse_period("2026-Q4"), use_bundle=False)
    rows = {(r.country, r.vat_rate): r for r in oss.summary(found)}
    assert set(rows) == {("AT", D(20)), ("FR", D(20)), ("IT", D(22))}
    at_row, fr = rows["AT", D(20)], rows["FR", D(20)]
    assert (at_row.sales_net, at_row.sales_vat) == (D("20.00"), D("4.00"))
    assert (at_row.refunds_net, at_row.refunds_vat) == (D("-10.00"), D("-2.00"))
    assert (at_row.net, at_row.vat, at_row.assumed) == (D("10.00"), D("2.00"), 0)
    assert (fr.sales_net, fr.sales_vat) == (D("125.00"), D("25.00"))
    assert (fr.net, fr.vat, fr.assumed) == (D("115.00"), D("23.00"), 4)
    by_doc = {(f.kind, f.document): f for f in found}
    domestic = by_doc["sale", "o-de-de"]
    assert (domestic.country, domestic.oss, domestic.basis) == ("DE", False, "ship_to")
    assert by_doc["sale", "o-de-fr"].basis == "ship_to"
    assert by_doc["sale", "o-fr1"].basis == "marketplace"
    assert (by_doc["refund", "s1/rf-at"].country, by_doc["refund", "s1/rf-at"].oss) == ("AT", True)


def test_the_csv_counts_the_countries_assumed_from_the_marketplace(engine: Engine) -> None:
    _seed(engine)
    made = files.make(engine, "oss", "de", "2026-Q4", NOW, use_bundle=False)
    rows = list(csv.reader(io.StringIO(made.data.decode("utf-8"))))
    assert rows[0][-1] == "assumed_from_marketplace"
    assert rows[1:] == [
        ["AT", "20", "EUR", "20.00", "4.00", "-10.00", "-2.00", "10.00", "2.00", "0"],
        ["FR", "20", "EUR", "125.00", "25.00", "-10.00", "-2.00", "115.00", "23.00", "4"],
        ["IT", "22", "EUR", "10.00", "2.20", "0.00", "0.00", "10.00", "2.20", "1"],
        ["total", "", "EUR", "155.00", "31.20", "-20.00", "-4.00", "135.00", "27.20", "5"],
    ]


def test_the_journal_says_where_each_country_comes_from(engine: Engine) -> None:
    _seed(engine)
    made = files.make(engine, "journal", "de", "2026-11", NOW, use_bundle=False)
    rows = {(r["kind"], r["document"]): r for r in csv.DictReader(io.StringIO(made.data.decode()))}
    assert (rows["sale", "o-de-at"]["country"], rows["sale", "o-de-at"]["country_basis"]) == (
        "AT",
        "ship_to",
    )
    assert rows["sale", "o-fr1"]["country_basis"] == "marketplace"
    assert rows["refund", "s1/rf-1"]["country_basis"] == "store"


def _api_order(address: dict[str, str] | None) -> dict[str, object]:
    order: dict[str, object] = {
        "orderId": "305-1",
        "salesChannel": {"marketplaceId": DE},
        "createdTime": "2026-11-09T10:00:00Z",
        "lastUpdatedTime": "2026-11-09T10:00:00Z",
        "orderItems": [],
    }
    if address is not None:
        order["recipient"] = {"deliveryAddress": address}
    return order


def test_the_orders_sync_keeps_the_ship_to_country_and_nothing_else_of_the_address() -> None:
    address = {"name": "Erika Muster", "addressLine1": "Ring 1", "postalCode": "1010",
               "countryCode": "at"}
    row = order_row("acct1", _api_order(address))
    assert row["ship_country"] == "AT"
    assert not any("Erika" in str(v) or "Ring 1" in str(v) for v in row.values())
    assert order_row("acct1", _api_order(None))["ship_country"] is None
    assert order_row("acct1", _api_order({"countryCode": "Austria"}))["ship_country"] is None
