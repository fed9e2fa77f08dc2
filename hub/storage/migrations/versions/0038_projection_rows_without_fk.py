"""A return's lines, inspections and dispositions lose their FOREIGN KEY to ``returns``.

PostgreSQL checks a foreign key once per inserted row (a lookup of the referenced row and a
share lock on it, run at the end of the statement): the ingest COPYs a batch's lines in one
statement, and the check ran 700 times for a batch of 700 ``return.received`` events. Measured
on PostgreSQL 15 with the writer's own batch (700 events from 700 nodes, ten rounds): the COPY
of ``return_items`` took 20-44 ms with the key and 2.9-4.5 ms without it, the whole batch
120-205 ms with it and 92-111 ms without; under load each of those milliseconds is the
writer's, with the audit tip held. Inspections and dispositions are written the same way, one
row per event.

Their integrity does not rest on the key: the projector (``hub.refunds.projection``) is their
only writer; it writes a return's lines with the return, in one transaction, and refuses an
inspection or disposition of a return it does not hold (the event is dead-lettered, nothing is
written). ``refunds`` keeps its key: one row per refund, and money. Nothing is deleted from
``returns``. tests/hub/test_projection_rows.py checks what the key checked.

SQLite: the same (its tables are rebuilt by alembic's batch mode; no data changes).

Revision ID: 0038
Revises: 0037
"""

from __future__ import annotations

from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None

TABLES = ("return_items", "inspections", "dispositions")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_store_id_returns", type_="foreignkey")


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(f"fk_{table}_store_id_returns", "returns",
                                     ["store_id", "return_id"], ["store_id", "return_id"])
