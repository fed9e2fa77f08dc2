"""Amazon's EU VAT reports as fetched (migration ``0033``; ``hub.amazon.sync.vat_reports``).

Rules:
- ``amazon_vat_reports``: one row per account, month (``YYYY-MM``), marketplace and report type
  (``GET_VAT_TRANSACTION_DATA`` or ``SC_VAT_TAX_REPORT``); it is written with status
  ``requested`` and Amazon's report id as soon as createReport answers (a killed run waits for
  that report instead of asking again), then ``done`` with its lines in one transaction, or
  ``fatal`` when Amazon ended it FATAL (asked again on the next run); a ``done`` row is never
  fetched again;
- ``amazon_vat_lines``: the report's good lines, keyed by the report row and the file's line
  number; money is ``Amount`` in the line's ``currency``, signed as Amazon writes it (refunds
  negative); ``rate`` is a fraction (0.19).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table

from hub.storage.tables.core import metadata
from hub.storage.types import Amount, UtcDateTime

ACCOUNT = String(64)
AMZ_ID = String(64)

amazon_vat_reports = Table(
    "amazon_vat_reports",
    metadata,
    Column("account", ACCOUNT, primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("marketplace_id", String(20), primary_key=True),
    Column("report_type", String(40), primary_key=True),
    Column("report_id", AMZ_ID, nullable=False),
    Column("status", String(12), nullable=False),  # requested | done | fatal
    Column("lines", Integer, nullable=False),
    Column("problems", Integer, nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("fetched_at", UtcDateTime),
)

amazon_vat_lines = Table(
    "amazon_vat_lines",
    metadata,
    Column("account", ACCOUNT, primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("marketplace_id", String(20), primary_key=True),
    Column("report_type", String(40), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("order_id", AMZ_ID, nullable=False),
    Column("transaction_id", String(100), nullable=False),
    Column("sku", AMZ_ID, nullable=False),
    Column("asin", String(20), nullable=False),
    Column("quantity", Integer),
    Column("tax_date", UtcDateTime),
    Column("currency", String(3), nullable=False),
    Column("net", Amount, nullable=False),
    Column("vat", Amount, nullable=False),
    Column("gross", Amount, nullable=False),
    Column("rate", Amount),  # exact (SQLite keeps text), four decimals: 0.0775
    Column("jurisdiction", String(40), nullable=False),
    Column("depart_country", String(2), nullable=False),
    Column("arrival_country", String(2), nullable=False),
    Column("invoice_number", String(100), nullable=False),
    Index("ix_amazon_vat_lines_order", "account", "order_id", "sku"),
)
