"""A worker's hold on its partitions of the ingest: PostgreSQL advisory locks on its own session.

Several ``acorn-hub serve`` workers (``hub_workers`` > 1) split the stores' events between them
(``hub.sync.partitions`` says which store is in which partition and how many a worker holds).
This thread holds the partitions and tells the MQTT link which stores' events topics to
subscribe to.

Rules:
- one worker (one hub process) or SQLite: no keeper, the link subscribes to every store with one
  wildcard, as before;
- several workers on PostgreSQL: on a connection of its own (autocommit, outside the pool's
  transactions) each worker holds a shared advisory lock ``(NAMESPACE, 0)`` while it takes part
  (so ``pg_locks`` counts the members) and an exclusive ``(NAMESPACE, 1 + p)`` for each partition
  ``p`` it holds. Every ``leader_poll_seconds`` it reads ``pg_locks`` (members, partitions held
  by others), takes free partitions up to its fair share with ``pg_try_advisory_lock`` (two
  workers reaching for one: one gets it) and gives back what it holds beyond its share, then
  reads the store list (``stores``) and hands the link the stores of its partitions;
- PostgreSQL releases a session's advisory locks when the session ends: a worker killed with
  SIGKILL frees its partitions at once, and the others take them at their next round (the events
  the dead worker held unacked are sent again by their nodes, ``resend_after_seconds``);
- a worker not connected to the broker holds no partitions and is not counted among the
  members (it gives both back, so the others' shares grow and they take its stores while it
  reconnects); a worker whose lock connection fails drops every
  partition at once (the link unsubscribes) and drops the connection, whose session, and locks,
  the server then ends;
- a store seen for the first time (its first status comes through the shared group, and the
  ingest records the store) is subscribed to at the owner's next round; its events sent before
  that reach no worker and are sent again by the node;
- a partition changes hands without a pause in correctness: the giver unsubscribes before it
  unlocks, and while the two overlap (messages already in the giver's queue), the rules for
  shared ingest hold as before (``hub.sync.ingest.batch``: node row locks, events ahead of their
  stream held back): partitions only make them rare;
- ``stop`` gives everything back (unsubscribes, then unlocks by closing the session).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Set

from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import SQLAlchemyError

from hub.storage.tables.core import stores
from hub.sync import partitions
from hub.sync.leader import end_session

log = logging.getLogger(__name__)

NAMESPACE = int.from_bytes(b"ACPT", "big")  # the first key of every lock this module takes
MEMBER = 0  # second key of the members' shared lock; partition p is 1 + p

# advisory locks are per database, but pg_locks shows the whole server's: only this database's
_LOCKS = text(
    "SELECT objid, mode, pid = pg_backend_pid() AS mine FROM pg_locks "
    "WHERE locktype = 'advisory' AND granted AND classid = :ns AND objsubid = 2 AND database = "
    "(SELECT oid FROM pg_database WHERE datname = current_database())")


class PartitionKeeper:
    """Holds this worker's partitions; ``on_stores`` gets the stores whose events it takes."""

    def __init__(self, engine: Engine, worker: str, poll_seconds: float,
                 on_stores: Callable[[frozenset[str]], None],
                 connected: Callable[[], bool]) -> None:
        self._engine = engine
        self._worker = worker
        self._poll = poll_seconds
        self._on_stores = on_stores
        self._connected = connected
        self._start = partitions.start_of(worker)
        self._conn: Connection | None = None
        self._member = False  # holds the members' shared lock (counted among the workers)
        self._mine: set[int] = set()
        self._members = 0
        self._stores: frozenset[str] = frozenset()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hub-partitions", daemon=True)

    def state(self) -> dict[str, object]:
        """For health: partitions held, stores subscribed, workers taking part."""
        return {"partitions": len(self._mine), "stores": len(self._stores),
                "members": self._members}

    def start(self) -> PartitionKeeper:
        """Hold partitions in the background."""
        self._thread.start()
        return self

    def wake(self) -> None:
        """Run a round now (the link connected, or a store appeared)."""
        self._wake.set()

    def stop(self) -> None:
        """Give every partition back and stop."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(self._poll + 5)
        self._drop()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.round()
            self._wake.wait(self._poll)
            self._wake.clear()

    def round(self) -> None:
        """Take or give back partitions, then subscribe to their stores."""
        try:
            conn = self._session()
            if not self._connected():
                self._publish(set(), [])
                self._release(conn, set(self._mine))
                self._leave(conn)
                return
            if not self._member:
                conn.execute(text("SELECT pg_advisory_lock_shared(:ns, :key)"),
                             {"ns": NAMESPACE, "key": MEMBER})
                self._member = True
            members, others = self._look(conn)
            known = list(conn.execute(select(stores.c.store_id)).scalars())
            step = partitions.plan(self._mine, others, members, self._start)
            if step.release:
                self._publish(self._mine - set(step.release), known)  # unsubscribe, then unlock
                self._release(conn, set(step.release))
            for p in step.take:
                if conn.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"),
                                {"ns": NAMESPACE, "key": 1 + p}).scalar():
                    self._mine.add(p)
            if step.take or step.release:
                log.info("%s holds %d of %d ingest partitions (%d workers)", self._worker,
                         len(self._mine), partitions.PARTITIONS, members)
            self._publish(self._mine, known)
        except SQLAlchemyError as err:
            log.error("%s lost its partitions' connection (%s): it takes no store's events "
                      "until it holds partitions again", self._worker, err)
            self._drop()

    def _session(self) -> Connection:
        if self._conn is None:
            self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._member = False
        return self._conn

    def _leave(self, conn: Connection) -> None:
        """No longer counted among the workers (the others' shares grow to cover ours)."""
        if self._member:
            conn.execute(text("SELECT pg_advisory_unlock_shared(:ns, :key)"),
                         {"ns": NAMESPACE, "key": MEMBER})
            self._member = False

    def _look(self, conn: Connection) -> tuple[int, set[int]]:
        """How many workers take part, and the partitions the others hold."""
        members, others = 0, set()
        for objid, mode, mine in conn.execute(_LOCKS, {"ns": NAMESPACE}):
            if int(objid) == MEMBER:
                members += 1 if mode == "ShareLock" else 0
            elif not mine:
                others.add(int(objid) - 1)
        self._members = members
        return max(members, 1), others

    def _release(self, conn: Connection, which: Set[int]) -> None:
        for p in sorted(which):
            conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"),
                         {"ns": NAMESPACE, "key": 1 + p})
            self._mine.discard(p)

    def _publish(self, held: Set[int], known: Iterable[str]) -> None:
        """Tell the link the stores among ``known`` whose events ``held`` partitions take."""
        names = frozenset(partitions.stores_in(known, held))
        if names != self._stores:
            self._stores = names
            self._on_stores(names)

    def _drop(self) -> None:
        self._mine.clear()
        self._publish(set(), [])
        conn, self._conn = self._conn, None
        end_session(conn, "the partitions' connection")
