"""Each listing key's newest change and newest accepted change (``amazon_listing_heads``), kept
by the database, so that "the newest row of each key" no longer groups every change ever queued.

``amazon_listing_changes`` gains rows at every quantity change of every SKU in every marketplace,
all day (millions a year for a chain). Its readers took the newest row of each key by grouping
the whole table (``max(change_id)`` per key, joined back): the listings pass of each account
every five minutes inside its writing transaction, the oversell check of the stock differences,
and the listing issues (0.88 s at 1,000,000 changes, growing). Now they start from the heads (one
row a key).

- each head names its rows by ``id``: the readers fetch them by the primary key (an index probe
  a row, whatever the planner thinks of a join);
- an insert of a change makes it its key's newest (and newest accepted, when inserted
  accepted); an update of a change to ``accepted`` makes it the newest accepted unless a later
  change of the key is: row triggers on both databases (the listings write a few thousand rows
  a pass);
- the changes already stored are summed here, once.

Revision ID: 0043
Revises: 0042
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None

# the key's newest change is the one inserted last (``enqueue`` numbers each key's changes in
# order); its newest accepted one the accepted change of the highest ``change_id``
INSERTED = """
    INSERT INTO amazon_listing_heads (account, marketplace_id, sku, newest_id, accepted_id)
    SELECT NEW.account, NEW.marketplace_id, NEW.sku, NEW.id,
           CASE WHEN NEW.status = 'accepted' THEN NEW.id END
    WHERE true
    ON CONFLICT (account, marketplace_id, sku) DO UPDATE
    SET newest_id = excluded.newest_id,
        accepted_id = coalesce(excluded.accepted_id, amazon_listing_heads.accepted_id);
"""
ACCEPTED_NOW = """
    UPDATE amazon_listing_heads SET accepted_id = NEW.id
    WHERE account = NEW.account AND marketplace_id = NEW.marketplace_id AND sku = NEW.sku
      AND (accepted_id IS NULL OR NEW.change_id > (
          SELECT c.change_id FROM amazon_listing_changes c WHERE c.id = accepted_id));
"""
PG_FUNCTIONS = f"""
CREATE FUNCTION listing_head_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {INSERTED}
    RETURN NULL;
END
$$;
CREATE FUNCTION listing_head_accepted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {ACCEPTED_NOW}
    RETURN NULL;
END
$$;
"""
PG_TRIGGERS = """
CREATE TRIGGER amazon_listing_changes_head_inserted AFTER INSERT ON amazon_listing_changes
FOR EACH ROW EXECUTE FUNCTION listing_head_inserted();
CREATE TRIGGER amazon_listing_changes_head_accepted AFTER UPDATE OF status
ON amazon_listing_changes FOR EACH ROW
WHEN (NEW.status = 'accepted' AND OLD.status IS DISTINCT FROM 'accepted')
EXECUTE FUNCTION listing_head_accepted();
"""
SQLITE_TRIGGERS = (f"""
CREATE TRIGGER amazon_listing_changes_head_inserted AFTER INSERT ON amazon_listing_changes
BEGIN
    {INSERTED}
END
""", f"""
CREATE TRIGGER amazon_listing_changes_head_accepted AFTER UPDATE OF status
ON amazon_listing_changes
WHEN NEW.status = 'accepted' AND OLD.status IS NOT 'accepted'
BEGIN
    {ACCEPTED_NOW}
END
""")
BACKFILL = """
INSERT INTO amazon_listing_heads (account, marketplace_id, sku, newest_id, accepted_id)
SELECT k.account, k.marketplace_id, k.sku,
       (SELECT n.id FROM amazon_listing_changes n WHERE n.account = k.account
        AND n.marketplace_id = k.marketplace_id AND n.sku = k.sku
        ORDER BY n.change_id DESC LIMIT 1),
       (SELECT a.id FROM amazon_listing_changes a WHERE a.account = k.account
        AND a.marketplace_id = k.marketplace_id AND a.sku = k.sku AND a.status = 'accepted'
        ORDER BY a.change_id DESC LIMIT 1)
FROM (SELECT DISTINCT account, marketplace_id, sku FROM amazon_listing_changes) k
"""


def upgrade() -> None:
    op.create_table(
        "amazon_listing_heads",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("marketplace_id", sa.String(length=20), nullable=False),
        sa.Column("sku", sa.String(length=100), nullable=False),
        sa.Column("newest_id", sa.Integer(), nullable=False),
        sa.Column("accepted_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("account", "marketplace_id", "sku",
                                name=op.f("pk_amazon_listing_heads")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTIONS)
        op.execute(PG_TRIGGERS)
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)
    op.execute(BACKFILL)


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for name in ("amazon_listing_changes_head_inserted", "amazon_listing_changes_head_accepted"):
        op.execute(f"DROP TRIGGER {name}" + (" ON amazon_listing_changes" if pg else ""))
    if pg:
        op.execute("DROP FUNCTION listing_head_inserted()")
        op.execute("DROP FUNCTION listing_head_accepted()")
    op.drop_table("amazon_listing_heads")
