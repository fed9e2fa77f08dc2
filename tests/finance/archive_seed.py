"""Facts for the archive tests: store returns and refunds around November 2026, one Amazon
settlement deposited in November, as the hub's own writers leave them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine

from hub.storage.tables.amazon import amazon_settlement_lines, amazon_settlement_reports
from tests.finance.reasons_seed import add_stores, store_return

CLOSED_AT = datetime(2026, 12, 10, 9, tzinfo=UTC)  # the close, well after November


def nov(day: int, hour: int = 12) -> datetime:
    """A moment in November 2026 (UTC)."""
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def seed(engine: Engine) -> None:
    """Two November returns with refunds, one in October, and one November settlement."""
    add_stores(engine, {"s1": "north", "s2": "south"})
    store_return(
        engine,
        "s1",
        "R1",
        "store",
        "broken",
        nov(3),
        [("SKU-A", 1), ("SKU-B", 2)],
        refund=("30.00", "approved"),
    )
    store_return(
        engine,
        "s2",
        "R7",
        "store",
        "too small",
        nov(30, 23),
        [("SKU-C", 1)],
        refund=("12.50", "requested"),
    )
    store_return(
        engine,
        "s1",
        "R0",
        "store",
        "late",
        datetime(2026, 10, 31, 23, 59, tzinfo=UTC),
        [("SKU-A", 1)],
        refund=("10.00", "approved"),
    )
    with engine.begin() as conn:
        conn.execute(
            amazon_settlement_reports.insert().values(
                account="acct1",
                report_id="REP1",
                settlement_id="SET1",
                marketplace_id="A1PA6795UKMFR9",
                start_at=nov(1),
                end_at=nov(14),
                deposit_at=nov(16),
                total=Decimal("-20.00"),
                currency="EUR",
                lines=2,
                problems=0,
                first_seen_at=nov(16),
            )
        )
        conn.execute(
            amazon_settlement_lines.insert(),
            [
                {
                    "account": "acct1",
                    "report_id": "REP1",
                    "line_no": n,
                    "settlement_id": "SET1",
                    "transaction_type": "Refund",
                    "order_id": "302-1",
                    "adjustment_id": "ADJ1",
                    "merchant_adjustment_item_id": "M1",
                    "amount_type": "ItemPrice",
                    "amount_description": desc,
                    "amount": Decimal(amount),
                    "currency": "EUR",
                    "posted_at": nov(10),
                    "sku": "SKU-A",
                    "quantity": 1,
                    "order_item_code": "OI1",
                }
                for n, desc, amount in ((1, "Principal", "-16.81"), (2, "Tax", "-3.19"))
            ],
        )
