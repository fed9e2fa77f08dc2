"""Publish each store's ``store.config`` (retained, QoS 1) whenever what it says changes.

Rules:
- one thread; it wakes every ``config_publish_seconds``, when told (a PIN or limit changed
  through the API, a rules version published) and when the hub (re)connects — then it
  republishes every store, because a broker may have lost retained messages (Mosquitto persists
  them only now and then);
- a store's document is compared with the content hash it was last published with; a change
  raises the store's config version, and the new hash and version are saved *before* the publish
  is handed to the connection: a hub that crashes after publishing never sends another document
  under a version a node already holds (the node would ignore it); a crash before publishing is
  healed by the republish of every store when the hub connects again; a publish the connection
  refused (disconnected) gets its store's previous hash and version back, so the next pass
  sends it again under the same version (no node saw it);
- each document carries the store's part of the active allocation rules (when any were
  published); a store first sent a rules version gets a row in ``allocation_pushes`` (version,
  the config version that carried it, when);
- a pass costs a fixed number of queries, not a few per store: one read of every store, PIN and
  push; every due document handed to the connection without waiting for the broker (QoS 1:
  paho keeps it until the PUBACK and sends it again after a reconnect); then what was handed is
  saved set-based, ``WRITE_CHUNK`` stores per transaction (a short hold of the writers' lock,
  so the ingest is not kept waiting behind a large pass);
- with several hub workers only the leader pushes (``gate``, ``hub.sync.leader``); a worker
  that becomes the leader is woken with a republish of every store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, select

from hub.access.pins import content_hash, encode_config, store_config
from hub.errors import HubError
from hub.inventory.allocation import store as rules_store
from hub.inventory.allocation.store import ActiveRules
from hub.inventory.allocation.store_part import store_part
from hub.policy import store as policy_store
from hub.storage.bulk import update_rows
from hub.storage.engine import reading, writing
from hub.storage.money import money_of
from hub.storage.tables.access import staff_pins
from hub.storage.tables.core import stores
from hub.storage.tables.inventory_rules import allocation_pushes
from protocol import config_topic, utc_now

log = logging.getLogger(__name__)

WRITE_CHUNK = 500  # stores saved per transaction


class Publisher(Protocol):
    """What the sync needs from the MQTT connection."""

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        """Hand a message to the connection; False when it cannot be sent now."""


@dataclass(frozen=True)
class Snapshot:
    """What one pass reads: every store row, its PIN hashes, the rules version each was pushed,
    the active policy version and the active allocation rules."""

    rows: Sequence[Any]
    staff: dict[str, list[dict[str, str]]]
    pushed: dict[str, int]
    policy_version: int | None
    rules: ActiveRules | None


@dataclass(frozen=True)
class Due:
    """One store's config to publish: its topic's store, the document's hash, version, bytes
    and whether it carries a rules version this store was not pushed yet."""

    store_id: str
    digest: str
    version: int
    payload: bytes
    new_rules: bool
    was_digest: str | None = None
    was_version: int | None = None

    @property
    def raises(self) -> bool:
        """Whether saving it changes the store's row (a republish of the same content does not)."""
        return (self.digest, self.version) != (self.was_digest, self.was_version)


def read_snapshot(conn: Connection) -> Snapshot:
    """Everything a pass needs, in a handful of queries."""
    active = policy_store.active(conn)
    staff: dict[str, list[dict[str, str]]] = {}
    for pin in conn.execute(select(staff_pins.c.store_id, staff_pins.c.staff_id,
                                   staff_pins.c.role, staff_pins.c.pin_hash)
                            .order_by(staff_pins.c.store_id, staff_pins.c.staff_id)):
        staff.setdefault(pin.store_id, []).append(
            {"staff_id": pin.staff_id, "role": pin.role, "pin_hash": pin.pin_hash})
    pushed = {r.store_id: r.version for r in conn.execute(
        select(allocation_pushes.c.store_id, allocation_pushes.c.version))}
    rows = conn.execute(select(stores).order_by(stores.c.store_id)).all()
    return Snapshot(rows, staff, pushed, active.version if active else None,
                    rules_store.active(conn))


def due_configs(snap: Snapshot, now: datetime, force: bool,
                event_batch: int | None = None) -> list[Due]:
    """The stores whose config changed (all with ``force``), each with its next document (pure;
    ``event_batch``: the most events a node may send in one message, None: one)."""
    out = []
    for row in snap.rows:
        limit = (
            money_of(row.offline_limit, row.offline_currency)
            if row.offline_limit is not None and row.offline_currency
            else None
        )
        draft = store_config(
            row.store_id, row.config_version or 0, now, limit, snap.staff.get(row.store_id, []),
            snap.policy_version,
            {"language": row.language, "time_zone": row.time_zone,
             "printer_paper": row.printer_paper},
            store_part(snap.rules.compiled, row.store_id) if snap.rules else None,
            event_batch,
        )
        digest = content_hash(draft)
        if digest == row.config_hash and not force:
            continue
        version = (row.config_version or 0) + (digest != row.config_hash)
        new_rules = snap.rules is not None and snap.pushed.get(row.store_id) != snap.rules.version
        out.append(Due(row.store_id, digest, version,
                       encode_config({**draft, "version": version}), new_rules,
                       row.config_hash, row.config_version))
    return out


def _save_rows(engine: Engine, rows: Sequence[tuple[str, str | None, int | None]]) -> None:
    """Set each store's config hash and version (store id, hash, version), in chunks, each
    one statement on PostgreSQL (``update_rows``): as an executemany, 500 stores held the
    writers' lock 65-124 ms while a thousand new stores came online, and the ingest waited."""
    for start in range(0, len(rows), WRITE_CHUNK):
        with writing(engine) as tx:
            update_rows(tx.conn, stores, ("store_id",), [
                {"store_id": sid, "config_hash": digest, "config_version": ver}
                for sid, digest, ver in rows[start:start + WRITE_CHUNK]])


def reserve(engine: Engine, due: Sequence[Due]) -> None:
    """Save the hash and version of each config about to be handed over (before it is)."""
    _save_rows(engine, [(d.store_id, d.digest, d.version) for d in due if d.raises])


def put_back(engine: Engine, refused: Sequence[Due]) -> None:
    """The configs the connection did not take: their stores' previous hash and version."""
    _save_rows(engine, [(d.store_id, d.was_digest, d.was_version) for d in refused if d.raises])


def record_pushes(engine: Engine, handed: Sequence[Due], rules_version: int | None) -> None:
    """A rules push row for each store handed a rules version it was not pushed before."""
    firsts = [d for d in handed if d.new_rules]
    if rules_version is None:
        return
    for start in range(0, len(firsts), WRITE_CHUNK):
        chunk = firsts[start:start + WRITE_CHUNK]
        with writing(engine) as tx:
            tx.conn.execute(allocation_pushes.delete().where(
                allocation_pushes.c.store_id.in_([d.store_id for d in chunk])))
            tx.conn.execute(allocation_pushes.insert(), [
                {"store_id": d.store_id, "version": rules_version, "config_version": d.version,
                 "pushed_at": tx.now} for d in chunk])


def hand_over(link: Publisher, due: Iterable[Due]) -> list[Due]:
    """Publish each config retained, QoS 1, without waiting; those the connection took."""
    return [d for d in due
            if link.publish(config_topic(d.store_id), d.payload, qos=1, retain=True)]


def sync_once(engine: Engine, link: Publisher, force: bool = False,
              event_batch: int | None = None) -> int:
    """Publish the config of every store whose content changed (all with ``force``)."""
    started = time.perf_counter()
    with reading(engine) as conn:
        snap = read_snapshot(conn)
    due = due_configs(snap, utc_now(), force, event_batch)
    if not due:
        return 0
    reserve(engine, due)
    handed = hand_over(link, due)
    taken = {d.store_id for d in handed}
    put_back(engine, [d for d in due if d.store_id not in taken])
    record_pushes(engine, handed, snap.rules.version if snap.rules else None)
    if handed:
        log.info("published %d of %d store config(s) in %.0f ms%s", len(handed), len(due),
                 (time.perf_counter() - started) * 1000, " (republish)" if force else "")
    return len(handed)


class StoreConfigSync:
    """Owns the sync thread; ``wake`` is safe from any thread."""

    def __init__(self, engine: Engine, link: Publisher, poll_seconds: float,
                 gate: Callable[[], bool] = lambda: True,
                 event_batch: int | None = None) -> None:
        self._engine = engine
        self._event_batch = event_batch  # told to every store's nodes (StoreConfig.event_batch)
        self._gate = gate  # several hub workers: only the leader pushes (hub.sync.leader)
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
            if not self._gate():
                continue  # the leader pushes; on taking over it is woken with republish
            force, self._force = self._force, False
            try:
                sync_once(self._engine, self._link, force, self._event_batch)
            except HubError as err:
                log.warning("store config not published (%s); trying again later", err)
