"""Which hub worker runs the schedulers: a PostgreSQL advisory lock held on its own connection.

Several ``acorn-hub serve`` workers share the ingest (``hub_workers`` > 1), but the passes that
must run once for the whole hub run in exactly one of them: the command publisher, the store
config push, the Amazon scheduler, the ECB rates fetch and the periodic finance passes (return
reasons, evidence purge, month close). Each checks ``Leadership.leading`` before every pass.

Rules:
- one worker (one hub process) or SQLite: always the leader, no lock, no thread (SQLite refuses
  several workers anyway, ``hub.settings``);
- several workers on PostgreSQL: every ``leader_poll_seconds`` a thread calls
  ``pg_try_advisory_lock(LOCK_KEY)`` on a connection of its own, outside the pool's
  transactions (autocommit), until it gets it; the holder then checks every round that its
  session still answers. PostgreSQL releases a session's advisory locks when the session ends,
  so a worker killed with SIGKILL (or whose machine is gone, once the server drops the
  connection) frees the lock and another worker takes it within about one poll;
- a worker whose lock connection fails steps down at once (``leading`` turns False before it
  tries again) and drops the connection, whose session, and lock, the server then ends;
- ``on_change(True)`` is called when this worker becomes the leader (the runtime wakes the
  command publisher and republishes store configs), ``on_change(False)`` when it steps down; a
  pass already running when leadership is lost finishes (every pass is idempotent), the next
  one does not start;
- ``stop`` releases the lock (closing the connection), so a worker stopped cleanly hands over
  at the next poll of another.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

# a fixed 64-bit key for pg_try_advisory_lock: "acorn-hub-leader" folded to a bigint
LOCK_KEY = int.from_bytes(b"acornldr", "big") & 0x7FFF_FFFF_FFFF_FFFF


def end_session(conn: Connection | None, what: str) -> None:
    """Close ``conn`` so that its server session ends, and every advisory lock it held with it
    (invalidated: never given back to the pool, where the session would live on)."""
    if conn is None:
        return
    try:
        conn.invalidate()
        conn.close()
    except SQLAlchemyError:
        log.debug("closing %s failed", what, exc_info=True)


class Leadership:
    """``leading`` says whether this process runs the once-per-hub passes now."""

    def __init__(self, engine: Engine, shared: bool, poll_seconds: float = 2.0,
                 on_change: Callable[[bool], None] = lambda _leading: None,
                 name: str = "hub") -> None:
        self._engine = engine
        self._locking = shared and engine.dialect.name == "postgresql"
        self._poll = poll_seconds
        self._on_change = on_change
        self._name = name
        self._leading = not self._locking
        self._conn: Connection | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hub-leader", daemon=True)

    def leading(self) -> bool:
        """True while this process may run the once-per-hub passes."""
        return self._leading

    def state(self) -> dict[str, object]:
        """For health: whether this worker leads, and whether leadership is contested at all."""
        return {"leading": self._leading, "shared": self._locking}

    def start(self) -> Leadership:
        """Try for the lock in the background (nothing to do for a single hub)."""
        if self._locking:
            self.try_once()
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop trying and release the lock."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(self._poll + 5)
        if self._locking:
            if self._leading and self._conn is not None:
                try:  # hand over now, not when the server notices the session ended
                    self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                except SQLAlchemyError:
                    log.debug("unlocking the leader lock failed", exc_info=True)
            self._drop()
            self._set(False)

    def _run(self) -> None:
        while not self._stopping.wait(self._poll):
            self.try_once()

    def try_once(self) -> bool:
        """One round: take the lock if free, or check that the held one is still ours."""
        try:
            if self._conn is None:
                conn = self._engine.connect()
                self._conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            if self._leading:
                self._conn.execute(text("SELECT 1"))
            else:
                got = self._conn.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                         {"key": LOCK_KEY}).scalar()
                if got:
                    log.info("%s now runs the schedulers (advisory lock %d)", self._name,
                             LOCK_KEY)
                    self._set(True)
        except SQLAlchemyError as err:
            if self._leading:
                log.error("%s lost its leader connection (%s); stepping down", self._name, err)
            self._set(False)
            self._drop()
        return self._leading

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        end_session(conn, "the leader connection")

    def _set(self, leading: bool) -> None:
        if leading == self._leading:
            return
        self._leading = leading
        if not leading:
            log.warning("%s no longer runs the schedulers", self._name)
        try:
            self._on_change(leading)
        except Exception:  # a listener must not break the leadership loop
            log.exception("a leadership listener failed")
