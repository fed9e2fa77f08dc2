"""Seeded VAT report months of the desk, API and CLI tests, written as the ``vat-reports`` job
and the hub's own writers leave them (account ``eu``, amazon.de):

  2026-11, both report types done:
    ACORN refunds (settled, decided in November): rf-m1 of o-m1 (SKU-A 11.90 EUR) and
    rf-m2 of o-m2 (SKU-B 20.00 EUR);
    VAT Transactions: o-m1 SKU-A -11.90 (VAT -1.90 at 19 %) and o-m3 SKU-C -5.95 ->
      1 matched, 0 differing, 1 only at Amazon (o-m3), 1 only in ACORN (rf-m2);
    VAT Calculation: o-m1 SKU-A -11.90 with VAT -2.00 -> 0 matched, 1 differing (VAT),
      1 only in ACORN (rf-m2);
  2026-10: the VAT Transactions report requested, not in yet (status ``requested``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine

from hub.storage.tables.vat_reports import amazon_vat_lines, amazon_vat_reports
from tests.finance.exports_seed import at, refund
from tests.finance.reasons_seed import add_stores

DE = "A1PA6795UKMFR9"
AVTR, CALC = "GET_VAT_TRANSACTION_DATA", "SC_VAT_TAX_REPORT"
ACCOUNT = "eu"


def _report(month: str, kind: str, status: str, lines: int) -> dict[str, object]:
    return {
        "account": ACCOUNT,
        "month": month,
        "marketplace_id": DE,
        "report_type": kind,
        "report_id": f"R-{month}-{kind[:4]}",
        "status": status,
        "lines": lines,
        "problems": 0,
        "requested_at": datetime(2026, 12, 3, tzinfo=UTC),
        "fetched_at": datetime(2026, 12, 3, 1, tzinfo=UTC) if status == "done" else None,
    }


def _line(kind: str, n: int, order_id: str, sku: str, gross: str, vat: str) -> dict[str, object]:
    g, v = Decimal(gross), Decimal(vat)
    return {
        "account": ACCOUNT,
        "month": "2026-11",
        "marketplace_id": DE,
        "report_type": kind,
        "line_no": n,
        "kind": "REFUND",
        "order_id": order_id,
        "transaction_id": f"T-{order_id}-{n}",
        "sku": sku,
        "asin": "B0",
        "quantity": 1,
        "tax_date": at(11, 11),
        "currency": "EUR",
        "net": g - v,
        "vat": v,
        "gross": g,
        "rate": Decimal("0.19"),
        "jurisdiction": "GERMANY",
        "depart_country": "DE",
        "arrival_country": "DE",
        "invoice_number": f"INV-{n}",
    }


def seed_vat(engine: Engine) -> None:
    """The months of the module docstring."""
    add_stores(engine, {"s1": "north"})
    refund(engine, "s1", "rf-m1", "11.90", "EUR", "settled", at(11, 10), DE, "o-m1",
           lines=[("SKU-A", 1, "11.90")])
    refund(engine, "s1", "rf-m2", "20.00", "EUR", "settled", at(11, 12), DE, "o-m2",
           lines=[("SKU-B", 1, "20.00")])
    with engine.begin() as conn:
        conn.execute(amazon_vat_reports.insert(), [
            _report("2026-11", AVTR, "done", 2),
            _report("2026-11", CALC, "done", 1),
            _report("2026-10", AVTR, "requested", 0),
        ])
        conn.execute(amazon_vat_lines.insert(), [
            _line(AVTR, 1, "o-m1", "SKU-A", "-11.90", "-1.90"),
            _line(AVTR, 2, "o-m3", "SKU-C", "-5.95", "-0.95"),
            _line(CALC, 1, "o-m1", "SKU-A", "-11.90", "-2.00"),
        ])
