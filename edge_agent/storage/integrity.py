"""Open the node's database only once it has proved itself; quarantine it when it cannot.

Rules:
- at start, before SQLite touches the files: the WAL's frames are checked (``walcheck``), since
  SQLite silently drops every commit behind a damaged frame; then the file is opened and must
  pass ``PRAGMA quick_check`` and the checksum of every outbox event and return row;
- a file that fails is never used again: the database, its ``-wal`` and ``-shm`` move to
  ``<data>/quarantine/<UTC timestamp>/`` (with a ``reason.txt``), an error is logged, a fresh
  database is opened and the counter keeps recording; health says so (and what to run:
  ``acorn-edge recover``) until the operator has run it;
- the outbox journal (``edge_agent.storage.journal``) is the second copy: every event it holds past
  the
  database's last seq is a commit the database lost, restored with its own seq and id (and its
  return, refund, QC rows rebuilt by ``replay``); a fresh database starts its seq past the
  highest seq the journal, the damaged file or its counters ever held, so no seq is reused;
- ``check_now`` repeats quick_check and the checksums while the agent runs; damage found then is
  reported in health (the next start quarantines the file).
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from edge_agent.errors import StoreError
from edge_agent.storage import outbox, records
from edge_agent.storage.journal import Journal, JournalState, event_checksum
from edge_agent.storage.replay import envelope_of, replay
from edge_agent.storage.store import Problem, Store, Tx
from edge_agent.storage.walcheck import check_wal

log = logging.getLogger(__name__)

QUARANTINE_DIR = "quarantine"
PENDING_KEY = "integrity.quarantined"  # meta: quarantined dirs not yet recovered (newline list)
CORRUPT_CODES = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB


class Damaged(Exception):
    """The database failed a check; carries the reason."""


@dataclass(frozen=True)
class Opened:
    """What happened while opening: the quarantine dir (if any) and events restored."""

    quarantined: Path | None
    restored: int


def sidecars(db_path: Path) -> list[Path]:
    """The database file and its WAL and shared-memory files."""
    return [db_path, db_path.with_name(db_path.name + "-wal"),
            db_path.with_name(db_path.name + "-shm")]


def open_checked(db_path: Path, store_id: str, node_id: str) -> Store:
    """Open the store after checking it (quarantining a damaged file) and restore lost commits."""
    journal, state = Journal.open(db_path.parent)
    try:
        store, quarantined = _open_or_quarantine(db_path, store_id, node_id)
    except BaseException:
        journal.close()
        raise
    store.journal = journal
    try:
        floor = _floor(quarantined) if quarantined else 0
        restored = _restore(store, state, fresh=quarantined is not None, floor=floor)
        _remember(store, quarantined)
        with store.read() as tx:
            acked, next_seq = tx.counter(outbox.LAST_ACKED), tx.counter(outbox.NEXT_SEQ)
        journal.compact(keep_after=acked, max_seq=next_seq - 1, acked=acked)
    except BaseException:
        store.close()
        raise
    _report(store, Opened(quarantined, restored))
    return store


def _open_or_quarantine(db_path: Path, store_id: str, node_id: str) -> tuple[Store, Path | None]:
    wal = check_wal(sidecars(db_path)[1])
    if wal.broken:
        return _fresh(db_path, store_id, node_id, wal.reason)
    try:
        store = Store.open(db_path, store_id, node_id)
    except StoreError as err:
        cause = err.__cause__
        if isinstance(cause, sqlite3.DatabaseError) and (
                getattr(cause, "sqlite_errorcode", 0) & 0xFF) in CORRUPT_CODES:
            return _fresh(db_path, store_id, node_id, str(err))
        raise
    try:
        check_store(store)
    except Damaged as damage:
        store.close()
        return _fresh(db_path, store_id, node_id, str(damage))
    return store, None


def _fresh(db_path: Path, store_id: str, node_id: str, reason: str) -> tuple[Store, Path]:
    target = quarantine(db_path, reason)
    log.error("the store database is damaged (%s): moved to %s; recording continues in a fresh "
              "database; run `acorn-edge recover %s` to salvage what the hub does not have",
              reason, target, target)
    return Store.open(db_path, store_id, node_id), target


def quarantine(db_path: Path, reason: str) -> Path:
    """Move the database and its sidecars into ``quarantine/<UTC timestamp>/``; its path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = db_path.parent / QUARANTINE_DIR / stamp
    target.mkdir(parents=True)
    for path in sidecars(db_path):
        if path.exists():
            shutil.move(str(path), target / path.name)
    (target / "reason.txt").write_text(reason + "\n")
    return target


def check_store(store: Store) -> None:
    """Raise Damaged unless quick_check passes and every checksum holds."""
    try:
        with store.read() as tx:
            _check(tx)
    except sqlite3.DatabaseError as err:
        raise Damaged(f"the database cannot be read: {err}") from err


def _check(tx: Tx) -> None:
    verdict = [row[0] for row in tx.execute("PRAGMA quick_check").fetchall()]
    if verdict != ["ok"]:
        raise Damaged("PRAGMA quick_check: " + "; ".join(map(str, verdict[:5])))
    for seq, message_id, kind, body, at, checksum in tx.execute(
            "SELECT seq, message_id, kind, body, occurred_at, checksum FROM outbox "
            "WHERE checksum IS NOT NULL"):
        if checksum != event_checksum(seq, message_id, kind, body, at):
            raise Damaged(f"outbox event seq {seq} fails its checksum")
    for row in tx.all("SELECT * FROM returns WHERE checksum IS NOT NULL"):
        if row["checksum"] != records.return_checksum(row):
            raise Damaged(f"return {row['id']} fails its checksum")


def check_file(path: Path) -> None:
    """``check_store`` on a connection of its own (read-only), so a long check of a large file
    never holds up the counter's or the link's reads."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                               timeout=10)
    except sqlite3.Error as err:
        raise Damaged(f"the database cannot be opened: {err}") from err
    try:
        conn.execute("BEGIN")
        _check(Tx(Database(conn, execute_plugins=False)))
    except sqlite3.DatabaseError as err:
        if (getattr(err, "sqlite_errorcode", 0) & 0xFF) in CORRUPT_CODES:
            raise Damaged(f"the database cannot be read: {err}") from err
        raise
    finally:
        conn.close()


def check_now(store: Store) -> bool:
    """The periodic check: True if the store is sound; else the damage is reported in health."""
    try:
        check_file(store.path)
    except Damaged as damage:
        log.error("the store database is damaged: %s; restart the agent to quarantine it and "
                  "continue on a fresh database", damage)
        store.report(Problem("damaged", f"the store database is damaged: {damage}",
                             "restart the agent (it quarantines the file and keeps recording), "
                             "then run `acorn-edge recover`"))
        return False
    return True


def _floor(quarantined: Path) -> int:
    """The highest seq the damaged file shows (read without changing it), 0 if unreadable."""
    path = quarantined / "edge.db"
    try:
        conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        try:
            counter = conn.execute("SELECT value FROM counters WHERE name = 'next_seq'").fetchone()
            top = conn.execute("SELECT max(seq) FROM outbox").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return 0
    return max((counter[0] - 1) if counter else 0, top[0] or 0)


def _restore(store: Store, state: JournalState, fresh: bool, floor: int) -> int:
    """Put back the journal's events the database lacks; return how many."""
    sid, nid = _identity(store)
    restored = 0
    with store.write() as tx:
        next_seq = tx.counter(outbox.NEXT_SEQ)
        if fresh:
            tx.set_counter(outbox.LAST_ACKED, state.acked)
        start = max(next_seq, state.acked + 1) if fresh else next_seq
        for seq in sorted(state.events):
            if seq < start:
                continue
            event = state.events[seq]
            outbox.insert(tx, event)
            tx.journal.clear()  # it is in the journal already
            envelope = envelope_of(sid, nid, seq, event.message_id, event.kind, event.body,
                                   event.occurred_at)
            replay(tx, envelope, seq, "outbox journal")
            restored += 1
        top = max(next_seq - 1, state.max_seq, floor, state.acked)
        tx.set_counter(outbox.NEXT_SEQ, top + 1)
    if restored:
        log.error("the store database had lost %d committed event(s) (seq %d-%d): restored from "
                  "the outbox journal", restored, min(s for s in state.events if s >= start),
                  state.max_seq)
    return restored


def _identity(store: Store) -> tuple[str, str]:
    with store.read() as tx:
        return str(tx.meta("store_id")), str(tx.meta("node_id"))


def _remember(store: Store, quarantined: Path | None) -> None:
    if quarantined is None:
        return
    with store.write() as tx:
        held = [line for line in (tx.meta(PENDING_KEY) or "").splitlines() if line]
        tx.set_meta(PENDING_KEY, "\n".join([*held, str(quarantined)]))


def pending_quarantines(store: Store) -> list[str]:
    """Quarantined files not yet run through ``acorn-edge recover``."""
    with store.read() as tx:
        return [line for line in (tx.meta(PENDING_KEY) or "").splitlines() if line]


def mark_recovered(tx: Tx, quarantined: Path) -> None:
    """``acorn-edge recover`` has salvaged this quarantined file."""
    held = [line for line in (tx.meta(PENDING_KEY) or "").splitlines()
            if line and Path(line).resolve() != quarantined.resolve()]
    tx.set_meta(PENDING_KEY, "\n".join(held))


def _report(store: Store, opened: Opened) -> None:
    if opened.restored and opened.quarantined is None:
        store.report(Problem(
            "lost_commits", f"the store database had lost {opened.restored} committed "
            "event(s); they were restored from the outbox journal",
            "nothing is missing; check the disk of this mini-PC"))
    pending = pending_quarantines(store)
    if pending:
        store.report(Problem(
            "quarantined", f"the store database was damaged and moved to {pending[-1]}; "
            "recording continues in a fresh database (the events not yet at the hub were "
            "restored from the outbox journal)",
            f"run `acorn-edge recover {pending[-1]}` to salvage what the hub does not have"))
