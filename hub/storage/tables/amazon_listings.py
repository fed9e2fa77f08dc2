"""The Amazon listings quantity outbox (migration ``0021``), on the hub's one ``metadata``.

Rules:
- one row per change of the quantity offered for (account, marketplace, SKU): ``change_id``
  counts 1, 2, 3 ... per key, unique with the key, so the same change is never queued twice;
- the newest row of a key holds the quantity last decided for Amazon: a new offer is a change
  only when it differs from it (``hub.amazon.listings.diff``);
- ``status``: ``pending`` (queued), ``sending`` (handed to Amazon, answer not yet recorded: in
  doubt after a crash), ``accepted``, ``invalid`` (Amazon's ``issues`` kept), ``superseded`` (a
  newer change of the key was queued before this one left);
- ``channel`` is ``patch`` (patchListingsItem) or ``feed`` (JSON_LISTINGS_FEED, ``feed_id`` and
  ``message_id`` name the message);
- ``sources`` (migration ``0023``): for multi-location marketplaces, the quantity per supply
  source id (``quantity`` is then their sum and ``DEFAULT`` is sent as 0); NULL elsewhere.

``amazon_listing_heads`` (migration ``0043``) names, per key, the ``id`` of its newest change and
of its newest accepted one, kept by the database as changes are inserted and accepted (triggers):
the readers of "the newest row of each key" fetch those rows by their primary key instead of
grouping every change ever queued.

``amazon_supply_sources`` (migration ``0023``) maps each store published to a seller account as
an Amazon supply source to its ``supply_source_id``: one row per (account, store, source);
``status`` ``active`` or ``archived`` (at most one active row per account × store, kept so by
``hub.amazon.supply_sources.registry``); ``fingerprint`` is the hash of the documents last sent,
so a changed store record is seen as a difference.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, UniqueConstraint

from hub.storage.tables.amazon import ACCOUNT
from hub.storage.tables.core import metadata
from hub.storage.types import UtcDateTime, json_column

amazon_listing_changes = Table(
    "amazon_listing_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", ACCOUNT, nullable=False),
    Column("marketplace_id", String(20), nullable=False),
    Column("sku", String(100), nullable=False),
    Column("change_id", Integer, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("status", String(12), nullable=False),
    Column("channel", String(5)),
    Column("submission_id", String(64)),
    Column("feed_id", String(40)),
    Column("message_id", Integer),
    Column("issues", json_column()),
    Column("sources", json_column()),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("done_at", UtcDateTime),
    UniqueConstraint(
        "account", "marketplace_id", "sku", "change_id", name="uq_amazon_listing_changes_key"
    ),
    Index("ix_amazon_listing_changes_status", "account", "marketplace_id", "status"),
)

amazon_listing_heads = Table(
    "amazon_listing_heads",
    metadata,
    Column("account", ACCOUNT, primary_key=True),
    Column("marketplace_id", String(20), primary_key=True),
    Column("sku", String(100), primary_key=True),
    Column("newest_id", Integer, nullable=False),  # amazon_listing_changes.id
    Column("accepted_id", Integer),
)

amazon_supply_sources = Table(
    "amazon_supply_sources",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", ACCOUNT, nullable=False),
    Column("store_id", String(40), nullable=False),
    Column("supply_source_id", String(64), nullable=False),
    Column("code", String(64), nullable=False),
    Column("status", String(10), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("document", json_column()),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("archived_at", UtcDateTime),
    UniqueConstraint("account", "supply_source_id", name="uq_amazon_supply_sources_id"),
    Index("ix_amazon_supply_sources_store", "account", "store_id", "status"),
)
