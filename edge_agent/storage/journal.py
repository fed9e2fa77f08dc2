"""The outbox journal: a second, append-only copy of every outbox event, beside the database.

Rules:
- ``outbox.journal`` in the data directory holds one JSON line per event as it commits (seq,
  message id, kind, body, occurred_at, checksum), written and fsync'd right after the database
  commit and before the counter gets its answer; acks are noted (not fsync'd: a lost ack line
  only means an event is restored and sent again, which the hub's dedup absorbs);
- SQLite silently stops reading a WAL at its first broken frame, so a damaged WAL loses every
  later commit without a word; the journal is how the node notices (its highest seq is past the
  database's) and what it restores the lost events from;
- a line that does not parse or whose checksum fails is skipped and counted (a torn last line
  after a crash is normal); the journal never decides alone that an event exists unless its
  checksum holds;
- the journal is compacted when opened and when an ack finds it past ``COMPACT_BYTES``: only
  events the hub has not acked are kept, behind a header line that remembers the highest seq
  ever written (so no seq is ever reused).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

JOURNAL_NAME = "outbox.journal"
COMPACT_BYTES = 16 * 1024 * 1024  # past this, an ack rewrites the journal without acked events


def event_checksum(seq: int, message_id: str, kind: str, body: str, occurred_at: str) -> str:
    """The checksum of one outbox event (the same in the outbox row and the journal line)."""
    text = f"{seq}\x1f{message_id}\x1f{kind}\x1f{body}\x1f{occurred_at}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class JournalEvent:
    """One outbox event as the journal holds it."""

    seq: int
    message_id: str
    kind: str
    body: str
    occurred_at: str

    @property
    def checksum(self) -> str:
        """This event's checksum."""
        return event_checksum(self.seq, self.message_id, self.kind, self.body, self.occurred_at)

    def line(self) -> bytes:
        """The journal line of this event."""
        record = {"t": "e", "seq": self.seq, "id": self.message_id, "kind": self.kind,
                  "body": self.body, "at": self.occurred_at, "sum": self.checksum}
        return (json.dumps(record, separators=(",", ":")) + "\n").encode()


@dataclass
class JournalState:
    """What a journal file says: events by seq, the highest seq and ack seen, bad lines."""

    events: dict[int, JournalEvent] = field(default_factory=dict)
    max_seq: int = 0
    acked: int = 0
    bad_lines: int = 0


def read_journal(path: Path) -> JournalState:
    """Parse a journal file (missing: empty); bad lines are skipped and counted."""
    state = JournalState()
    if not path.exists():
        return state
    with path.open("rb") as handle:
        for raw in handle:
            _read_line(raw, state)
    return state


def _read_line(raw: bytes, state: JournalState) -> None:
    try:
        record: dict[str, Any] = json.loads(raw)
        kind = record["t"]
        if kind == "e":
            event = JournalEvent(int(record["seq"]), str(record["id"]), str(record["kind"]),
                                 str(record["body"]), str(record["at"]))
            if event.checksum != record["sum"]:
                raise ValueError("checksum mismatch")
            state.events[event.seq] = event
            state.max_seq = max(state.max_seq, event.seq)
        elif kind == "a":
            state.acked = max(state.acked, int(record["up_to"]))
        elif kind == "h":
            state.max_seq = max(state.max_seq, int(record["max_seq"]))
            state.acked = max(state.acked, int(record["acked"]))
        else:
            raise ValueError(f"unknown record {kind!r}")
    except (ValueError, KeyError, TypeError):
        state.bad_lines += 1


class Journal:
    """The open journal of one node: ``append`` after each commit, ``note_ack`` on acks."""

    def __init__(self, path: Path, state: JournalState) -> None:
        self.path = path
        self.max_seq = state.max_seq
        self._lock = threading.Lock()
        self._handle = path.open("ab")

    @classmethod
    def open(cls, data_dir: Path) -> tuple[Journal, JournalState]:
        """Read the journal in ``data_dir``, compact it, open it for appending."""
        path = data_dir / JOURNAL_NAME
        state = read_journal(path)
        if state.bad_lines:
            log.warning("outbox journal %s: %d unreadable line(s) skipped", path, state.bad_lines)
        return cls(path, state), state

    def compact(self, keep_after: int, max_seq: int, acked: int) -> None:
        """Rewrite the file with only the events past ``keep_after`` (atomic: temp + rename);
        appends wait meanwhile, so none is lost in the swap."""
        with self._lock:
            state = read_journal(self.path)
            top = max(max_seq, state.max_seq, self.max_seq)
            tmp = self.path.with_suffix(".journal.tmp")
            with tmp.open("wb") as out:
                out.write((json.dumps({"t": "h", "max_seq": top, "acked": acked}) + "\n"
                           ).encode())
                for seq in sorted(state.events):
                    if seq > keep_after:
                        out.write(state.events[seq].line())
                out.flush()
                os.fsync(out.fileno())
            self._handle.close()
            os.replace(tmp, self.path)
            _fsync_dir(self.path.parent)
            self._handle = self.path.open("ab")
            self.max_seq = top

    def append(self, events: list[JournalEvent]) -> None:
        """Write the events and fsync (OSError, e.g. disk full, goes to the caller)."""
        data = b"".join(event.line() for event in events)
        with self._lock:
            self._handle.write(data)
            self._handle.flush()
            os.fdatasync(self._handle.fileno())  # data and size; skips the mtime update
            self.max_seq = max([self.max_seq, *(event.seq for event in events)])

    def note_ack(self, up_to: int) -> None:
        """Remember the hub's ack (best effort, no fsync); compact a journal grown large."""
        with self._lock:
            try:
                self._handle.write(f'{{"t":"a","up_to":{up_to}}}\n'.encode())
                self._handle.flush()
                size = self._handle.tell()
            except OSError as err:
                log.warning("could not note ack %d in the journal: %s", up_to, err)
                return
        if size > COMPACT_BYTES:
            try:
                self.compact(keep_after=up_to, max_seq=self.max_seq, acked=up_to)
            except OSError as err:
                log.warning("could not compact the outbox journal: %s", err)

    def close(self) -> None:
        """Close the file (idempotent)."""
        with self._lock:
            self._handle.close()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
