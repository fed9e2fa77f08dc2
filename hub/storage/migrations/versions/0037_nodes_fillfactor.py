"""Room on every page of ``nodes`` for its rows' next versions (PostgreSQL ``fillfactor`` 50).

Every ingest batch moves the cursor of each node it carries (``contiguous_seq``, ``highest_seq``,
``last_seen_at``): at 5,000 events/s that is thousands of row updates a second on a table of one
row per node. PostgreSQL writes each update as a new row version; with full pages (the default
``fillfactor`` 100) a new version that does not fit on its page goes to another page with new
index entries, and the old ones stay until a VACUUM. Measured with ``python -m bench capacity``
(1,000 nodes, one hub, autovacuum off as on these machines): after 50,000 events, 24,287 dead
versions beside 1,000 live rows, 43 % of the updates not HOT, and a 12 MB heap for 200 kB of
rows, growing with every batch (autovacuum, where it runs, visits once a minute: at this rate
that is some 200,000 updates between visits). With half of each page free, an update finds
room on its own page (a HOT update: no new index entry), and PostgreSQL prunes the dead
versions of a page as it reads it, without waiting for a VACUUM: the heap stays the size of its
live rows. The same bench after this: 98.6 % HOT, a 1.2 MB heap (its batch times did not move
measurably: on this machine a batch's round trips set them, not these reads).
tests/hub/test_nodes_hot.py: after a batch moves 200 nodes' cursors every row is still on its
page (198 of 200 moved without this setting).

The setting applies to pages written from now on, so the table is rewritten once (``VACUUM
FULL``: the hub is stopped during an upgrade, and the table is small). SQLite has no such
setting; nothing changes there.

Revision ID: 0037
Revises: 0036
"""

from __future__ import annotations

from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None

FILLFACTOR = 50


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE nodes SET (fillfactor = {FILLFACTOR})")
    with op.get_context().autocommit_block():
        op.execute("VACUUM FULL nodes")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE nodes RESET (fillfactor)")
