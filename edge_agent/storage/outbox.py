"""The outbox: every event this node owes the hub, in seq order, until the hub's ack covers it.

Rules:
- ``append`` runs inside the caller's write transaction, so an event exists if and only if the
  business change it reports does; seq comes from ``counters.next_seq`` in that same transaction,
  so it is per node, starts at 1 and is gap-free even after acked rows are deleted; each row
  carries a checksum (``journal.event_checksum``) and is handed to the journal after the commit;
- ``read_range`` verifies each row's checksum: a damaged row is replaced by the journal's copy
  when it has a good one, else it raises ``CorruptEvent`` (nothing damaged is ever sent);
- a row is deleted only by ``acknowledge`` (the hub's ack covers it), never by sending;
- ``SendWindow`` is the pure sending policy: at most ``window`` events beyond the last ack in
  flight; resend from ``last_acked + 1`` on every (re)connect, when the ack has not advanced for
  ``resend_after`` seconds while events are pending, and once when the hub reports a gap; a
  resend after silence is one event (the window shrinks to one; the link's ``Pace`` grows it
  again from the acks), as a slow hub still has the originals queued; while resends bring no
  ack (the hub is down) the wait doubles up to ``resend_max``, so a dead hub does not fill the
  broker's queue with copies; any ack (the hub is alive) or reconnect resets it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from edge_agent.errors import StoreError
from edge_agent.storage.journal import JournalEvent, event_checksum
from edge_agent.storage.records import return_checksum
from edge_agent.storage.store import Tx
from protocol import Body, Envelope, format_utc, make_envelope, to_utc

NEXT_SEQ = "next_seq"
LAST_ACKED = "last_acked_seq"


class CorruptEvent(StoreError):
    """An outbox row whose checksum fails and that no journal copy can replace."""

    def __init__(self, seq: int) -> None:
        super().__init__(f"outbox event seq {seq} is damaged (checksum mismatch)")
        self.seq = seq


@dataclass(frozen=True)
class Figures:
    """Outbox numbers for health, status and metrics."""

    pending: int
    last_acked_seq: int
    next_seq: int


def append(tx: Tx, store_id: str, node_id: str, body: Body, occurred_at: datetime) -> Envelope:
    """Add one event with the next seq, inside the caller's transaction; return its envelope."""
    seq = tx.counter(NEXT_SEQ)
    envelope = make_envelope(store_id, node_id, seq, body, occurred_at=occurred_at)
    wire = envelope.body.model_dump(mode="json", exclude_none=True, exclude={"kind"})
    insert(tx, JournalEvent(seq, envelope.id, envelope.kind,
                            json.dumps(wire, separators=(",", ":")),
                            format_utc(envelope.occurred_at)))
    tx.set_counter(NEXT_SEQ, seq + 1)
    return envelope


def insert(tx: Tx, event: JournalEvent) -> None:
    """Store one event row with its checksum and hand it to the journal (the caller moves
    ``next_seq``)."""
    tx.execute(
        "INSERT INTO outbox(seq, message_id, kind, body, occurred_at, checksum) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (event.seq, event.message_id, event.kind, event.body, event.occurred_at,
         event.checksum))
    tx.journal.append(event)


def read_range(tx: Tx, store_id: str, node_id: str, first: int, last: int,
               spare: dict[int, JournalEvent] | None = None) -> list[Envelope]:
    """The pending events with first <= seq <= last, in seq order, as envelopes, each checked
    against its checksum (``spare``: good copies by seq, e.g. the journal's)."""
    rows = tx.execute(
        "SELECT seq, message_id, kind, body, occurred_at, checksum FROM outbox "
        "WHERE seq BETWEEN ? AND ? ORDER BY seq", (first, last)).fetchall()
    envelopes = []
    for seq, message_id, kind, body, occurred_at, checksum in rows:
        if checksum is not None and checksum != event_checksum(seq, message_id, kind, body,
                                                               occurred_at):
            copy = (spare or {}).get(seq)
            if copy is None:
                raise CorruptEvent(seq)
            message_id, kind, body, occurred_at = (copy.message_id, copy.kind, copy.body,
                                                   copy.occurred_at)
        envelopes.append(Envelope.model_validate({
            "id": message_id, "store_id": store_id, "node_id": node_id, "seq": seq,
            "kind": kind, "occurred_at": occurred_at, "body": json.loads(body)}))
    return envelopes


def acknowledge(tx: Tx, up_to_seq: int) -> int:
    """Drop the events the hub has stored (seq <= up_to_seq) and remember the ack; rows deleted."""
    deleted = tx.execute("DELETE FROM outbox WHERE seq <= ?", (up_to_seq,)).rowcount
    if up_to_seq > tx.counter(LAST_ACKED):
        tx.set_counter(LAST_ACKED, up_to_seq)
    return int(deleted)


UNVERIFIED = "seq.unverified_from"  # meta: seqs from here were written before the hub's
# position was known in this run (a rolled-back database may have reused them)


def mark_unverified(tx: Tx) -> None:
    """A run starts: seqs written from now on are unverified until the hub's position is known
    (kept if already set: a run that never reached the hub verified nothing)."""
    if tx.meta(UNVERIFIED) is None:
        tx.set_meta(UNVERIFIED, str(tx.counter(NEXT_SEQ)))


def settle(tx: Tx, hub_acked: int | None) -> tuple[int, int] | None:
    """The hub's position is known (``hub_acked``, or None: the hub has no ack for us).

    If the hub holds seqs this node also used since its database rolled back (seq >= the
    unverified mark) or beyond anything it wrote, the database lost commits: the events written
    since the mark move to new seqs just past the hub's position (same ids: the hub never saw
    them under those seqs, nothing was sent before now), what the hub holds is dropped, and
    ``next_seq`` follows. Returns (highest seq this node had written, first seq moved to) when
    that happened, else None."""
    mark = tx.meta(UNVERIFIED)
    tx.execute("DELETE FROM meta WHERE key = ?", (UNVERIFIED,))
    written = tx.counter(NEXT_SEQ) - 1
    if hub_acked is None:
        return None
    unverified = int(mark) if mark is not None else written + 1
    if hub_acked < unverified and hub_acked <= written:
        return None
    shift = hub_acked + 1 - unverified if hub_acked >= unverified else 0
    rows = tx.all("SELECT seq, message_id, kind, body, occurred_at FROM outbox WHERE seq >= ? "
                  "ORDER BY seq DESC", (unverified,)) if shift else []
    for row in rows:
        event = JournalEvent(row["seq"] + shift, row["message_id"], row["kind"], row["body"],
                             row["occurred_at"])
        tx.execute("UPDATE outbox SET seq = ?, checksum = ? WHERE seq = ?",
                   (event.seq, event.checksum, row["seq"]))
        tx.journal.append(event)
        _renumber_rows(tx, row["seq"], event.seq)
    tx.journal.reverse()
    acknowledge(tx, hub_acked)
    tx.set_counter(NEXT_SEQ, max(written + shift, hub_acked) + 1)
    return written, hub_acked + 1


def _renumber_rows(tx: Tx, old: int, new: int) -> None:
    """Point the business rows of a moved event at its new seq (and re-sum the return)."""
    for table in ("inspections", "dispositions", "refunds", "stock_moves"):
        tx.execute(f"UPDATE {table} SET event_seq = ? WHERE event_seq = ?", (new, old))
    row = tx.one("SELECT * FROM returns WHERE event_seq = ?", (old,))
    if row is not None:
        row["event_seq"] = new
        tx.execute("UPDATE returns SET event_seq = ?, checksum = ? WHERE id = ?",
                   (new, return_checksum(row) if row["checksum"] else None, row["id"]))


def figures(tx: Tx) -> Figures:
    """Pending count, last acked seq and next seq."""
    return Figures(
        pending=int(tx.scalar("SELECT count(*) FROM outbox")),
        last_acked_seq=tx.counter(LAST_ACKED),
        next_seq=tx.counter(NEXT_SEQ),
    )


def oldest_unsent_at(tx: Tx) -> datetime | None:
    """When the oldest event the hub has not acknowledged happened (None: the outbox is empty)."""
    value = tx.scalar("SELECT occurred_at FROM outbox ORDER BY seq LIMIT 1")
    return None if value is None else to_utc(datetime.fromisoformat(str(value)))


@dataclass
class Batch:
    """Seqs to publish now: ``first..last`` inclusive (empty when first > last)."""

    first: int
    last: int
    resend: bool = False

    def __bool__(self) -> bool:
        return self.first <= self.last


@dataclass
class SendWindow:
    """Pure sending policy of the link; the link feeds it events and asks what is due."""

    window: int
    resend_after: float
    resend_max: float = 0.0
    last_acked: int = 0
    next_to_send: int = 1
    progress_at: float = 0.0
    connected: bool = False
    _gap_rewound_at: int = -1
    _wait: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._wait = self.resend_after

    @property
    def wait(self) -> float:
        """Seconds without ack progress before the next resend (doubles while nothing moves)."""
        return self._wait

    def on_connect(self, now: float) -> None:
        """A (re)connect: everything not acked is sent again, from the oldest."""
        self.connected = True
        self.next_to_send = self.last_acked + 1
        self.progress_at = now
        self._wait = self.resend_after

    def on_disconnect(self) -> None:
        """The link is down: send nothing until it is back."""
        self.connected = False

    def on_ack(self, up_to: int, now: float, gap: bool = False) -> bool:
        """Apply an ack; True if it advanced. A reported gap rewinds once per ack value.

        Any ack, even one that does not advance, shows the hub is alive: the resend backoff
        goes back to ``resend_after`` (so a hub that restarts and re-publishes its ack gets the
        stalled events within ``resend_after``, not after a long backoff).
        """
        self._wait = self.resend_after
        advanced = up_to > self.last_acked
        if advanced:
            self.last_acked = up_to
            self.next_to_send = max(self.next_to_send, up_to + 1)
            self.progress_at = now
        if gap and up_to == self.last_acked and self._gap_rewound_at != up_to:
            self._gap_rewound_at = up_to
            self.next_to_send = up_to + 1
        return advanced

    def due(self, now: float, last_written: int) -> Batch:
        """What to publish now, given the highest seq written to the outbox."""
        if not self.connected or last_written <= self.last_acked:
            return Batch(1, 0)
        resend = False
        if self.next_to_send == self.last_acked + 1:
            self.progress_at = now  # nothing in flight: the wait for an ack starts with this send
        elif now - self.progress_at >= self._wait:
            resend = True
            self.next_to_send = self.last_acked + 1
            self.window = 1  # one probe, not the window again (a slow hub has the originals)
            self.progress_at = now
            self._wait = min(self._wait * 2, max(self.resend_after, self.resend_max))
        last = min(last_written, self.last_acked + self.window)
        return Batch(self.next_to_send, last, resend)

    def sent(self, up_to: int) -> None:
        """Record that everything up to ``up_to`` was handed to the MQTT client."""
        self.next_to_send = max(self.next_to_send, up_to + 1)

    def deadline(self, last_written: int) -> float | None:
        """When a resend becomes due (monotonic), or None with nothing pending or offline."""
        if not self.connected or last_written <= self.last_acked:
            return None
        return self.progress_at + self._wait
