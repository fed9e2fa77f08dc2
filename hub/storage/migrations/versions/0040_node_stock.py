"""Each node's own figure per SKU and state (``node_stock``), kept by the database as stock moves
are inserted, so that the consistency check no longer sums a node's whole history for every
snapshot page.

Before, each ``stock.snapshot`` page was compared with the sum of ALL the node's moves up to the
page's ``as_of_seq`` (two ``GROUP BY`` over the node's rows of ``stock_moves``), inside the
ingest's batch transaction. Measured on PostgreSQL with one node holding 1,000,000 moves (a
store's year of sales): 300 ms a page of 200 SKUs, 259 ms a page of 10, growing with every sale;
a fleet's nightly snapshots (1,000 stores, a page per 500 SKUs) would hold the ingest for
minutes. Now the check starts from ``node_stock`` and takes back the moves after ``as_of_seq``
(the few booked after the count, found by the node's seq index): a page costs what its SKUs
cost, not what the store ever sold.

- PostgreSQL: one statement-level trigger on ``stock_moves``; the statement's new rows (a
  transition table) are summed per node, SKU and state and added in one ``INSERT … ON CONFLICT
  DO UPDATE``;
- SQLite: a row trigger, two upserts (the move's ``to_state`` and ``from_state``);
- the moves already stored are summed here, once;
- its SKUs sort in byte order on PostgreSQL (collation "C"), as a snapshot page's SKU range is
  compared (``hub.inventory.check``), so the key's index finds a page's SKUs only.

Revision ID: 0040
Revises: 0039
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None

SUMMED = """
SELECT store_id, node_id, sku, state, SUM(quantity) FROM (
    SELECT store_id, node_id, sku, to_state AS state, quantity FROM {moves}
    WHERE to_state IS NOT NULL
    UNION ALL
    SELECT store_id, node_id, sku, from_state, -quantity FROM {moves}
    WHERE from_state IS NOT NULL
) m GROUP BY store_id, node_id, sku, state
"""
PG_FUNCTION = f"""
CREATE FUNCTION count_node_stock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO node_stock AS s (store_id, node_id, sku, state, quantity)
    {SUMMED.format(moves="new_moves")}
    ON CONFLICT (store_id, node_id, sku, state) DO UPDATE
    SET quantity = s.quantity + EXCLUDED.quantity;
    RETURN NULL;
END
$$
"""
PG_TRIGGER = """
CREATE TRIGGER stock_moves_count_node_stock AFTER INSERT ON stock_moves
REFERENCING NEW TABLE AS new_moves FOR EACH STATEMENT EXECUTE FUNCTION count_node_stock()
"""
SQLITE_TRIGGER = """
CREATE TRIGGER stock_moves_count_node_stock AFTER INSERT ON stock_moves
BEGIN
    INSERT INTO node_stock (store_id, node_id, sku, state, quantity)
    SELECT NEW.store_id, NEW.node_id, NEW.sku, NEW.to_state, NEW.quantity
    WHERE NEW.to_state IS NOT NULL
    ON CONFLICT (store_id, node_id, sku, state) DO UPDATE
    SET quantity = quantity + excluded.quantity;
    INSERT INTO node_stock (store_id, node_id, sku, state, quantity)
    SELECT NEW.store_id, NEW.node_id, NEW.sku, NEW.from_state, -NEW.quantity
    WHERE NEW.from_state IS NOT NULL
    ON CONFLICT (store_id, node_id, sku, state) DO UPDATE
    SET quantity = quantity + excluded.quantity;
END
"""
BACKFILL = ("INSERT INTO node_stock (store_id, node_id, sku, state, quantity)"
            + SUMMED.format(moves="stock_moves"))


def upgrade() -> None:
    op.create_table(
        "node_stock",
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("node_id", sa.String(length=40), nullable=False),
        sa.Column("sku", sa.String(length=64).with_variant(sa.String(64, collation="C"),
                                                           "postgresql"), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("store_id", "node_id", "sku", "state",
                                name=op.f("pk_node_stock")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)
    op.execute(BACKFILL)


def downgrade() -> None:
    op.execute("DROP TRIGGER stock_moves_count_node_stock"
               + (" ON stock_moves" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION count_node_stock()")
    op.drop_table("node_stock")
