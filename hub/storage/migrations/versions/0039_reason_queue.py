"""The returns whose lines wait for a reason (``reason_queue``), filled by the database itself,
so that the classification pass looks at what arrived instead of walking every line ever
classified.

Before, each batch of the pass searched for store lines with no reason by an anti-join of
``return_items`` against ``return_reasons``. On PostgreSQL with 320,000 lines it took 0.3-0.5 s
a batch of 2,000 (a parallel hash join over both tables on both cores of a 2-core hub, spilling
to disk without statistics), growing with every line stored: a pass with nothing to do took
1.7 s, and the pass classified about 2,400 lines a second, fewer than a hub ingesting 5,000
returns a second stores. Now an insert into ``return_items`` names the line's return in
``reason_queue`` (a trigger: every writer, the ingest's ``COPY`` included, without a statement
or a row built in Python for it; written by the hub's code it cost the ingest 2.9 % more
instructions an event), and the pass takes the queued returns by the primary key and deletes
them as it classifies (``hub.finance.reasons.store``).

- PostgreSQL: one statement-level trigger; the statement's new rows (a transition table) go
  into the queue in one ``INSERT … SELECT DISTINCT … ON CONFLICT DO NOTHING``;
- SQLite: a row trigger, ``INSERT OR IGNORE``;
- the lines already stored without a reason are queued here, once.

Revision ID: 0039
Revises: 0038
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None

PG_FUNCTION = """
CREATE FUNCTION queue_return_reasons() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reason_queue (store_id, return_id)
    SELECT DISTINCT store_id, return_id FROM new_lines
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$
"""
PG_TRIGGER = """
CREATE TRIGGER return_items_queue_reasons AFTER INSERT ON return_items
REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION queue_return_reasons()
"""
SQLITE_TRIGGER = """
CREATE TRIGGER return_items_queue_reasons AFTER INSERT ON return_items
BEGIN
    INSERT OR IGNORE INTO reason_queue (store_id, return_id) VALUES (NEW.store_id, NEW.return_id);
END
"""
BACKFILL = """
INSERT INTO reason_queue (store_id, return_id)
SELECT DISTINCT i.store_id, i.return_id FROM return_items i
WHERE NOT EXISTS (SELECT 1 FROM return_reasons c WHERE c.source = 'store'
                  AND c.store_id = i.store_id AND c.return_id = i.return_id
                  AND c.line_no = i.line_no)
"""


def upgrade() -> None:
    op.create_table(
        "reason_queue",
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("return_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("store_id", "return_id", name=op.f("pk_reason_queue")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)
    op.execute(BACKFILL)


def downgrade() -> None:
    op.execute("DROP TRIGGER return_items_queue_reasons"
               + (" ON return_items" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION queue_return_reasons()")
    op.drop_table("reason_queue")
