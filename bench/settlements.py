"""Benchmark of settlement reconciliation (issue 15). Prints the figure beside its target.

A 100,000-line settlement (60,000 sale lines, 10,000 refunded items of 4 lines each) stored as
the Amazon sync stores it, in a SQLite file, against ACORN's 10,500 confirmed refunds (500 of
them not settled, 1 in 50 with a component that differs) and their refund events. Timed: reading
the settlement, its lines and ACORN's refunds, the matching, the deposit check, the accounting
summary and recording the status (one writing transaction, audited). Target: <= 5 s.

Run: ``.venv/bin/python -m bench settlements``.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hub.finance.settlements import store
from hub.storage.engine import make_engine, writing
from hub.storage.migrations import upgrade
from hub.storage.tables.amazon import (
    amazon_refund_events,
    amazon_refund_submissions,
    amazon_settlement_lines,
    amazon_settlement_reports,
)

SALES, REFUNDS, UNSETTLED = 60_000, 10_000, 500
ACCOUNT, SETTLEMENT = "bench", "BENCH-1"
START = datetime(2026, 1, 20, tzinfo=UTC)
COMPONENTS = (("Principal", "-20.00"), ("Tax", "-3.80"), ("Commission", "3.00"),
              ("RefundCommission", "-0.60"))  # fmt: skip
BATCH = 5000


def _line(n: int, kind: str, order: str, description: str, amount: Decimal, at: datetime,
          adjustment: str = "", merchant: str = "") -> dict[str, Any]:  # fmt: skip
    return {"account": ACCOUNT, "report_id": "R1", "line_no": n, "settlement_id": SETTLEMENT,
            "transaction_type": kind, "order_id": order, "adjustment_id": adjustment,
            "merchant_adjustment_item_id": merchant,
            "amount_type": "ItemFees" if "Commission" in description else "ItemPrice",
            "amount_description": description, "amount": amount, "currency": "EUR",
            "posted_at": at, "sku": f"SKU-{n % 500}", "quantity": 1,
            "order_item_code": ""}  # fmt: skip


def _lines() -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for n in range(SALES):
        at = START + timedelta(seconds=20 * n)  # 14 days: across the month end
        lines.append(_line(len(lines) + 3, "Order", f"302-S{n}", "Principal",
                           Decimal(n % 9000 + 100) / 100, at))  # fmt: skip
    for n in range(REFUNDS):
        at = START + timedelta(seconds=100 * n)
        for description, amount in COMPONENTS:
            line = _line(len(lines) + 3, "Refund", f"302-R{n}", description, Decimal(amount), at,
                         f"AJ{n}", f"F{n}")  # fmt: skip
            line["sku"] = f"SKU-R{n}"
            lines.append(line)
    return lines


def _refunds(tx: Any) -> None:
    subs, events = [], []
    for n in range(REFUNDS + UNSETTLED):
        at = START + timedelta(seconds=100 * n)
        subs.append({"store_id": "store-1", "refund_id": f"F{n}", "account": ACCOUNT,
                     "feed_key": "feed", "message_id": n, "order_id": f"302-R{n}",
                     "marketplace_id": "A1PA6795UKMFR9", "amount": Decimal("20.00"),
                     "currency": "EUR", "status": "confirmed", "error": None,
                     "created_at": at, "updated_at": at,
                     "items": [{"order_item_id": f"OI{n}", "merchant_item_id": f"F{n}",
                                "principal": "20.00", "adjustment_id": f"AJ{n}"}]})  # fmt: skip
        tax = "-3.90" if n % 50 == 0 else "-3.80"  # 1 in 50 differs
        charges = [["Principal", "-20.00"], ["Tax", tax], ["Commission", "3.00"],
                   ["RefundCommission", "-0.60"]]  # fmt: skip
        events.append({"account": ACCOUNT, "order_id": f"302-R{n}", "adjustment_item_id": f"AJ{n}",
                       "marketplace_name": "Amazon.de", "posted_at": at, "order_item_id": f"OI{n}",
                       "sku": f"SKU-R{n}", "quantity": 1, "currency": "EUR",
                       "principal": Decimal("-20.00"), "total": Decimal("-21.40"),
                       "charges": charges, "content_hash": "h", "first_seen_at": at,
                       "updated_at": at})  # fmt: skip
    for rows, table in ((subs, amazon_refund_submissions), (events, amazon_refund_events)):
        for start in range(0, len(rows), BATCH):
            tx.conn.execute(table.insert(), rows[start : start + BATCH])


def _seed(database: str) -> None:
    lines = _lines()
    total = sum((line["amount"] for line in lines), Decimal(0))
    engine = make_engine(database)
    with writing(engine) as tx:
        tx.conn.execute(amazon_settlement_reports.insert().values(
            account=ACCOUNT, report_id="R1", settlement_id=SETTLEMENT,
            marketplace_id="A1PA6795UKMFR9", start_at=START, end_at=START + timedelta(days=14),
            deposit_at=START + timedelta(days=15), total=total, currency="EUR", lines=len(lines),
            problems=0, first_seen_at=START + timedelta(days=15)))  # fmt: skip
        for start in range(0, len(lines), BATCH):
            tx.conn.execute(amazon_settlement_lines.insert(), lines[start : start + BATCH])
        _refunds(tx)
    engine.dispose()


def main() -> None:
    """Seed, then time one reconciliation."""
    with tempfile.TemporaryDirectory() as scratch:
        database = f"sqlite:///{Path(scratch) / 'bench-settlements.db'}"
        upgrade(database)
        _seed(database)
        engine = make_engine(database)
        started = time.perf_counter()
        with writing(engine) as tx:
            result, lines = store.reconcile(tx.conn, SETTLEMENT)
            summary = store.summary(tx.conn, result.settlement, lines)
            status = store.record(tx, result, "bench", "finance")
        seconds = time.perf_counter() - started
        engine.dispose()
    kinds: dict[str, int] = {}
    for difference in result.differences:
        kinds[difference.kind.value] = kinds.get(difference.kind.value, 0) + 1
    print(f"settlement of {len(lines):,} lines against {REFUNDS + UNSETTLED:,} ACORN refunds: "
          f"reconciled in {seconds:.2f} s   target <= 5 s")  # fmt: skip
    print(f"    {result.matched:,} matched, differences {kinds}, deposit adds up: "
          f"{result.deposit.adds_up}, {len(summary.bookings)} bookings in "
          f"{len(summary.parts)} months, status {status.value}")  # fmt: skip


if __name__ == "__main__":
    main()
