"""Amazon's EU VAT reports: ``amazon_vat_reports`` (one per account, month, marketplace and
report type) and their lines ``amazon_vat_lines`` (``hub.storage.tables.vat_reports``).

Revision ID: 0033
Revises: 0032
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.storage.types

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

UTC_TS = hub.storage.types.UtcDateTime(timezone=True)
AMOUNT = hub.storage.types.Amount()
KEY = ("account", "month", "marketplace_id", "report_type")


def _key() -> list[sa.Column[str]]:
    return [
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("marketplace_id", sa.String(length=20), nullable=False),
        sa.Column("report_type", sa.String(length=40), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "amazon_vat_reports",
        *_key(),
        sa.Column("report_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("problems", sa.Integer(), nullable=False),
        sa.Column("requested_at", UTC_TS, nullable=False),
        sa.Column("fetched_at", UTC_TS, nullable=True),
        sa.PrimaryKeyConstraint(*KEY, name=op.f("pk_amazon_vat_reports")),
    )
    op.create_table(
        "amazon_vat_lines",
        *_key(),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("transaction_id", sa.String(length=100), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("asin", sa.String(length=20), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("tax_date", UTC_TS, nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("net", AMOUNT, nullable=False),
        sa.Column("vat", AMOUNT, nullable=False),
        sa.Column("gross", AMOUNT, nullable=False),
        sa.Column("rate", AMOUNT, nullable=True),
        sa.Column("jurisdiction", sa.String(length=40), nullable=False),
        sa.Column("depart_country", sa.String(length=2), nullable=False),
        sa.Column("arrival_country", sa.String(length=2), nullable=False),
        sa.Column("invoice_number", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint(*KEY, "line_no", name=op.f("pk_amazon_vat_lines")),
    )
    op.create_index("ix_amazon_vat_lines_order", "amazon_vat_lines", ["account", "order_id", "sku"])


def downgrade() -> None:
    op.drop_index("ix_amazon_vat_lines_order", table_name="amazon_vat_lines")
    op.drop_table("amazon_vat_lines")
    op.drop_table("amazon_vat_reports")
