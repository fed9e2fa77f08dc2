"""After-commit notices that more than one context raises: their topics, and how to listen.

Rules: a writer marks its transaction with ``notify(tx.conn, TOPIC)`` (``hub.storage.engine``);
the listener registers once per engine and is called after each commit that marked its topic
(never after a rollback). The command outbox has its own topic (``hub.storage.outbox.QUEUED``).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine

from hub.storage.engine import after_commit, notify

# What a store's ``store.config`` says changed: a staff PIN, the store's attributes (offline
# limit), the active policy's version. ``hub.sync.config_push`` publishes it again.
STORE_CONFIG = "stores.config_changed"


def store_config_changed(conn: Connection) -> None:
    """Mark this transaction: once it commits, the stores' config is looked at again."""
    notify(conn, STORE_CONFIG)


def on_store_config_changed(engine: Engine, callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` after every commit on ``engine`` that changed what a store's config
    says; return the function that stops it."""
    return after_commit(engine, STORE_CONFIG, callback)
