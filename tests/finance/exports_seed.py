"""Seeded facts of the FX and export tests: two entities, ECB quotes, Amazon orders in four
marketplaces, store and Amazon refunds, a returned line and a settlement in pounds; written as
the hub's own writers leave them. The hand-computed figures are in the tests' docstrings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from hub.finance import entities
from hub.storage.engine import writing
from hub.storage.tables.amazon import (
    amazon_orders,
    amazon_settlement_lines,
    amazon_settlement_reports,
)
from hub.storage.tables.core import refunds, return_items, returns
from hub.storage.tables.finance import fx_rates
from tests.finance.reasons_seed import add_stores

DE, FR, IT, UK, US = (
    "A1PA6795UKMFR9",
    "A13V1IB3VIYZZH",
    "APJ6JRA9NG5V4",
    "A1F83G8C2ARO7P",
    "ATVPDKIKX0DER",
)
ENTITIES = f"""
version: 2
name: test entities
entities:
  - id: de
    name: Test Handel GmbH
    country: DE
    base_currency: EUR
    vat_id: DE123456789
    stores: [s1]
    marketplaces: {{{DE}: DE, {FR}: FR, {IT}: IT, {UK}: GB}}
    oss: true
    vat_rates: {{DE: 19, FR: 20, IT: 22, AT: 20}}
    datev:
      consultant: 29098
      client: 55003
      account_length: 4
      chart: SKR03
      fiscal_year_start: "07-01"
      initials: AC
  - id: us
    name: Test Retail Inc.
    country: US
    base_currency: USD
    stores: [s2]
    marketplaces: {{{US}: US}}
"""
QUOTES = {
    ("GBP", date(2026, 11, 2)): "0.8000",
    ("GBP", date(2026, 11, 3)): "0.8000",
    ("GBP", date(2026, 11, 20)): "0.8500",
    ("USD", date(2026, 11, 2)): "1.1000",
}


def at(month: int, day: int, hour: int = 12) -> datetime:
    """A moment in 2026 (UTC)."""
    return datetime(2026, month, day, hour, tzinfo=UTC)


def publish_entities(engine: Engine) -> None:
    """The test entities, published over the shipped default."""
    with writing(engine) as tx:
        entities.publish(tx, ENTITIES, "test", "admin")


def quotes(engine: Engine) -> None:
    """ECB quotes of the test days (1 EUR = per_euro currency)."""
    with engine.begin() as conn:
        conn.execute(
            fx_rates.insert(),
            [
                {
                    "currency": c,
                    "day": d,
                    "per_euro": v,
                    "source": "test ECB file",
                    "recorded_at": at(12, 1),
                }
                for (c, d), v in QUOTES.items()
            ],
        )


def order(
    engine: Engine,
    order_id: str,
    market: str,
    when: datetime,
    items: list[tuple[str, int, str, str]],
    status: str = "SHIPPED",
    ship_country: str | None = None,
) -> None:
    """An Amazon order: items are (sku, quantity, unit price, currency); ``ship_country`` the
    buyer's ship-to country (None: not known)."""
    with engine.begin() as conn:
        conn.execute(
            amazon_orders.insert().values(
                account="acct1",
                order_id=order_id,
                marketplace_id=market,
                status=status,
                fulfilled_by="MERCHANT",
                purchased_at=when,
                last_updated_at=when,
                currency=items[0][3],
                buyer_key="b" * 64,
                ship_country=ship_country,
                content_hash="0" * 64,
                first_seen_at=when,
                updated_at=when,
                items=[
                    {
                        "order_item_id": f"{order_id}-{n}",
                        "sku": sku,
                        "asin": "B0",
                        "quantity": q,
                        "unit_price": price,
                        "currency": cur,
                    }
                    for n, (sku, q, price, cur) in enumerate(items, start=1)
                ],
            )
        )


def refund(
    engine: Engine,
    store_id: str,
    refund_id: str,
    amount: str,
    currency: str,
    state: str,
    decided: datetime,
    market: str | None = None,
    order_id: str | None = None,
    lines: list[tuple[str, int, str]] | None = None,
) -> None:
    """A return taken in at a store with its lines (sku, quantity, unit price) and its refund."""
    return_id = f"R-{refund_id}"
    with engine.begin() as conn:
        conn.execute(
            returns.insert().values(
                store_id=store_id,
                return_id=return_id,
                node_id="n1",
                state="received",
                channel="amazon" if market else "pos",
                reason="Kunde Erika Muster sagt: kaputt",
                order_id=order_id,
                marketplace_id=market,
                mismatch=False,
                staff_id="staff-anna",
                received_at=decided,
                created_at=decided,
                updated_at=decided,
            )
        )
        for n, (sku, quantity, price) in enumerate(lines or [], start=1):
            conn.execute(
                return_items.insert().values(
                    store_id=store_id,
                    return_id=return_id,
                    line_no=n,
                    sku=sku,
                    quantity=quantity,
                    unit_price=Decimal(price),
                    currency=currency,
                )
            )
        conn.execute(
            refunds.insert().values(
                store_id=store_id,
                refund_id=refund_id,
                return_id=return_id,
                node_id="n1",
                origin="store",
                amount=Decimal(amount),
                currency=currency,
                channel="amazon" if market else "pos",
                order_id=order_id,
                marketplace_id=market,
                state=state,
                reasons=[],
                requested_by="staff-anna",
                requested_at=decided,
                decided_by="boss-bert",
                decided_at=decided,
                customer_key="cust-erika",
                created_at=decided,
                updated_at=decided,
            )
        )


def settlement(
    engine: Engine, report_id: str, market: str, currency: str, lines: list[dict[str, Any]]
) -> None:
    """A settlement report and its lines (transaction_type, order_id, amount, posted_at)."""
    with engine.begin() as conn:
        conn.execute(
            amazon_settlement_reports.insert().values(
                account="acct1",
                report_id=report_id,
                settlement_id=f"S-{report_id}",
                marketplace_id=market,
                start_at=at(11, 1),
                end_at=at(11, 30),
                deposit_at=at(12, 2),
                total=Decimal(0),
                currency=currency,
                lines=len(lines),
                problems=0,
                first_seen_at=at(12, 2),
            )
        )
        for n, line in enumerate(lines, start=1):
            conn.execute(
                amazon_settlement_lines.insert().values(
                    account="acct1",
                    report_id=report_id,
                    line_no=n,
                    settlement_id=f"S-{report_id}",
                    transaction_type=line["type"],
                    order_id=line["order_id"],
                    adjustment_id="",
                    merchant_adjustment_item_id="",
                    amount_type="ItemPrice",
                    amount_description="Principal",
                    amount=Decimal(line["amount"]),
                    currency=currency,
                    posted_at=line.get("posted_at"),
                    sku=line.get("sku", ""),
                    quantity=1,
                    order_item_code="",
                )
            )


def seed(engine: Engine) -> None:
    """The worked example of the export and FX tests."""
    publish_entities(engine)
    quotes(engine)
    add_stores(engine, {"s1": "north", "s2": "north"})
    order(engine, "o-de1", DE, at(11, 3), [("SKU-A", 2, "59.50", "EUR")])
    order(engine, "o-fr1", FR, at(11, 5), [("SKU-B", 1, "24.00", "EUR")])
    order(engine, "o-fr2", FR, at(11, 6), [("SKU-A", 3, "10.00", "EUR")])
    order(engine, "o-it1", IT, at(11, 7), [("SKU-C", 1, "12.20", "EUR")])
    order(engine, "o-uk1", UK, at(11, 2), [("SKU-D", 1, "40.00", "GBP")])
    order(engine, "o-cx", FR, at(11, 8), [("SKU-B", 1, "99.00", "EUR")], status="CANCELLED")
    order(
        engine,
        "o-oct",
        DE,
        datetime(2026, 10, 31, 23, 59, tzinfo=UTC),
        [("SKU-A", 1, "5.95", "EUR")],
    )
    order(engine, "o-fr-oct", FR, at(10, 15), [("SKU-B", 1, "36.00", "EUR")])
    order(engine, "o-us1", US, at(11, 4), [("SKU-A", 1, "20.00", "USD")])
    refund(
        engine, "s1", "rf-1", "11.90", "EUR", "approved", at(11, 10), lines=[("SKU-A", 1, "11.90")]
    )
    refund(engine, "s1", "rf-fr", "12.00", "EUR", "settled", at(11, 12), FR, "o-fr1")
    refund(engine, "s1", "rf-uk", "40.00", "GBP", "settled", at(11, 2), UK, "o-uk1")
    refund(engine, "s1", "rf-rej", "99.00", "EUR", "rejected", at(11, 13))
    refund(engine, "s2", "rf-us", "20.00", "USD", "approved", at(11, 14), US, "o-us1")
    settlement(
        engine,
        "rep-uk",
        UK,
        "GBP",
        [
            {"type": "Order", "order_id": "o-uk1", "amount": "40.00", "posted_at": at(11, 3)},
            {"type": "Refund", "order_id": "o-uk1", "amount": "-40.00", "posted_at": at(11, 20)},
        ],
    )
