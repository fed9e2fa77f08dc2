"""Publish each store's ``store.config`` (retained, QoS 1) whenever what it says changes.

Rules:
- one thread; it wakes every ``config_publish_seconds``, when told (a PIN or limit changed
  through the API) and when the hub (re)connects — then it republishes every store, because a
  broker may have lost retained messages (Mosquitto persists them only now and then);
- a store's document is compared with the content hash it was last published with; a change
  raises the store's config version; the new hash and version are saved only after the publish
  was handed to the connection, so a disconnected hub tries again next pass;
- each document carries the store's part of the active allocation rules (when any were
  published); a store first sent a rules version gets a row in ``allocation_pushes`` (version,
  the config version that carried it, when).
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from sqlalchemy import Engine, select, update

from hub.access.pins import content_hash, encode_config, staff_of, store_config
from hub.errors import HubError
from hub.inventory.allocation import store as rules_store
from hub.inventory.allocation.store_part import store_part
from hub.policy import store as policy_store
from hub.storage.engine import reading, writing
from hub.storage.money import money_of
from hub.storage.tables.core import stores
from hub.storage.tables.inventory_rules import allocation_pushes
from protocol import config_topic, utc_now

log = logging.getLogger(__name__)


class Publisher(Protocol):
    """What the sync needs from the MQTT connection."""

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        """Hand a message to the connection; False when it cannot be sent now."""


def sync_once(engine: Engine, link: Publisher, force: bool = False) -> int:
    """Publish the config of every store whose content changed (all with ``force``)."""
    now = utc_now()
    with reading(engine) as conn:
        active = policy_store.active(conn)
        rules = rules_store.active(conn)
        pushed = {r.store_id: r.version for r in conn.execute(
            select(allocation_pushes.c.store_id, allocation_pushes.c.version))}
        rows = conn.execute(select(stores).order_by(stores.c.store_id)).all()
        staff = {r.store_id: staff_of(conn, r.store_id) for r in rows}
    published = 0
    for row in rows:
        limit = (
            money_of(row.offline_limit, row.offline_currency)
            if row.offline_limit is not None and row.offline_currency
            else None
        )
        draft = store_config(
            row.store_id,
            row.config_version or 0,
            now,
            limit,
            staff[row.store_id],
            active.version if active else None,
            {"language": row.language, "time_zone": row.time_zone,
             "printer_paper": row.printer_paper},
            store_part(rules.compiled, row.store_id) if rules else None,
        )
        digest = content_hash(draft)
        if digest == row.config_hash and not force:
            continue
        version = (row.config_version or 0) + (digest != row.config_hash)
        document = {**draft, "version": version}
        if not link.publish(
            config_topic(row.store_id), encode_config(document), qos=1, retain=True
        ):
            continue
        with writing(engine) as tx:
            tx.conn.execute(
                update(stores)
                .where(stores.c.store_id == row.store_id)
                .values(config_hash=digest, config_version=version)
            )
            if rules is not None and pushed.get(row.store_id) != rules.version:
                tx.conn.execute(allocation_pushes.delete()
                                .where(allocation_pushes.c.store_id == row.store_id))
                tx.conn.execute(allocation_pushes.insert().values(
                    store_id=row.store_id, version=rules.version, config_version=version,
                    pushed_at=tx.now))
        published += 1
    return published


class StoreConfigSync:
    """Owns the sync thread; ``wake`` is safe from any thread."""

    def __init__(self, engine: Engine, link: Publisher, poll_seconds: float) -> None:
        self._engine = engine
        self._link = link
        self._poll = poll_seconds
        self._force = False
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hub-store-config", daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End the thread."""
        self._stopping.set()
        self._wakeup.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def wake(self, republish: bool = False) -> None:
        """Look for changes now (``republish``: send every store's config again)."""
        self._force = self._force or republish
        self._wakeup.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.wait(self._poll)
            self._wakeup.clear()
            if self._stopping.is_set():
                return
            force, self._force = self._force, False
            try:
                sync_once(self._engine, self._link, force)
            except HubError as err:
                log.warning("store config not published (%s); trying again later", err)
