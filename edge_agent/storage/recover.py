"""Salvage a quarantined (damaged) database into the live one: ``acorn-edge recover``.

Rules:
- the quarantined files are never changed: they are copied to a scratch directory and read
  there with SQLite's own ``.recover`` (the ``sqlite3`` command-line shell), which rebuilds
  every row it can still read into a new file;
- an event of the damaged file is "at the hub" when its seq is at or below the hub's position
  in the damaged file's own sequence space: the node the file belonged to (its meta) is this
  node (the file was quarantined here): the highest ack either file knows (acks are contiguous,
  and the live file's seqs always start past the damaged one's); another node of this store (a
  replaced mini-PC's file recovered into its replacement): the old file's last ack only, never
  the live node's acks, which count another sequence; ``hub_has`` (what ``acorn-hub devices
  replace`` printed) raises either. A file of another store is refused; a file whose meta is
  unreadable is refused once this node has events of its own, unless the operator names its
  node (``from_node``); "already here" when the live database holds its id or its rows (the
  outbox journal restored it at start); anything else is re-queued as a NEW outbox event with a
  NEW seq and a new message id, keeping the return's id so the hub can tell it is the same
  return, with its return / refund / QC rows rebuilt (``replay``); a stock move is added to the
  live levels (never overwrites moves booked since the damage) and its new event carries the
  live quantities after it;
- an event whose outbox row is gone (the cut took the outbox's last pages) or fails its checksum,
  and whose seq the hub does not have, is rebuilt from the business rows salvaged beside it
  (``rebuild``: the return and its items, the refund, QC, the stock move, all of which carry
  their event's seq) and goes the same way, in seq order with the salvaged events; a row that
  cannot make its event whole is reported as lost, by id;
- every event handled is remembered in ``recovered_events`` (by its old message id) in the same
  transaction, so running recover twice changes nothing the second time;
- a failure (no sqlite3 shell, nothing readable) is an ``EdgeError`` with a sentence to act on.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from edge_agent.errors import EdgeError
from edge_agent.storage import integrity, outbox
from edge_agent.storage.journal import Journal, JournalEvent, event_checksum
from edge_agent.storage.rebuild import REBUILT, TABLES, Lost, rebuild
from edge_agent.storage.replay import (
    already_recorded,
    envelope_of,
    live_body,
    replay,
    return_id_of,
)
from edge_agent.storage.store import Store, Tx
from protocol import format_utc, new_message_id, utc_now

SQLITE3 = "sqlite3"
Progress = Callable[[Iterable[dict[str, Any]]], Iterator[dict[str, Any]]]


class RecoverError(EdgeError):
    """The damaged file cannot be salvaged."""


@dataclass
class Salvage:
    """What ``.recover`` could read from a damaged file."""

    events: list[dict[str, Any]]
    return_ids: set[str]
    last_acked: int
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    store_id: str | None = None  # whose file it was (None: its meta is unreadable)
    node_id: str | None = None


@dataclass
class Outcome:
    """What recover did: counts by outcome, the returns re-queued, the new seqs."""

    salvaged_events: int = 0
    salvaged_returns: int = 0
    source_node: str = ""
    live_node: str = ""
    hub_has: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    requeued_returns: set[str] = field(default_factory=set)
    new_seqs: list[int] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report for the operator."""
        seqs = f" as seq {self.new_seqs[0]}-{self.new_seqs[-1]}" if self.new_seqs else ""
        whose = (f"from this node's own earlier database ({self.live_node})"
                 if self.source_node == self.live_node else
                 f"from node {self.source_node} (replaced by {self.live_node})")
        return [
            f"{whose}: the hub holds node {self.source_node}'s events up to seq {self.hub_has}",
            f"salvaged: {self.salvaged_returns} return(s), {self.salvaged_events} outbox event(s)",
            f"already at the hub: {self.counts['at_hub']} event(s)",
            f"already in the live database: {self.counts['already_here']} event(s)",
            f"handled by an earlier recover: {self.counts['earlier']} event(s)",
            f"damaged beyond use (checksum fails): {self.counts['damaged']} event(s)",
            f"re-queued for the hub: {self.counts['requeued']} event(s){seqs}, "
            f"{len(self.requeued_returns)} return(s)",
            f"rebuilt from salvaged rows: {self.counts['rebuilt']} event(s) (their outbox "
            "rows were cut or damaged)",
            f"rebuilt without their own row (reason, order and RMA ids lost; complete them "
            f"at the hub): {len(self.partial)} return(s){': ' if self.partial else ''}"
            f"{', '.join(self.partial)}",
            f"lost (neither an outbox row nor whole rows to rebuild from): {len(self.lost)}",
            *(f"  lost: {what}" for what in self.lost),
        ]


def damaged_file(quarantined: Path) -> Path:
    """The database file in a quarantine directory (or the file itself)."""
    path = quarantined / "edge.db" if quarantined.is_dir() else quarantined
    if not path.is_file():
        raise RecoverError(f"no damaged database at {path}")
    return path


def salvage(damaged: Path) -> Salvage:
    """Every readable outbox event and return id of ``damaged``: through ``sqlite3 .recover``,
    else (a shell built without ``sqlite_dbpage``, as Debian's 3.40 is) a row-by-row read that
    walks each table forward and backward past damaged pages, as ``.dump`` does."""
    if shutil.which(SQLITE3) is None:
        raise RecoverError("the sqlite3 command-line shell is not installed (Debian package "
                           "sqlite3; deploy/scripts/setup.sh installs it)")
    with tempfile.TemporaryDirectory(prefix="acorn-recover-") as scratch:
        work = Path(scratch)
        for path in integrity.sidecars(damaged):
            if path.exists():
                shutil.copy2(path, work / path.name)
        copy = work / damaged.name
        _pad(copy)
        rebuilt = work / "salvaged.db"
        dump = subprocess.run([SQLITE3, str(copy), ".recover"], capture_output=True,
                              check=False, timeout=3600)
        if b"INSERT INTO" in dump.stdout and b"sql error" not in dump.stderr + dump.stdout:
            subprocess.run([SQLITE3, str(rebuilt)], input=dump.stdout, capture_output=True,
                           check=False, timeout=3600)
            if rebuilt.exists():
                return _read(rebuilt)
        return _read(copy)


def _pad(copy: Path) -> None:
    """Give a truncated file back its missing pages (zeros: unreadable, skipped), so SQLite
    reads what is left instead of refusing the whole file."""
    with copy.open("r+b") as handle:
        header = handle.read(100)
        if len(header) < 100 or not header.startswith(b"SQLite format 3"):
            return
        page_size = int.from_bytes(header[16:18], "big") or 65536
        pages = int.from_bytes(header[28:32], "big")
        handle.seek(0, 2)
        if handle.tell() < pages * page_size:
            handle.truncate(pages * page_size)


def _read(path: Path) -> Salvage:
    try:
        conn = sqlite3.connect(path)
    except sqlite3.Error as err:
        raise RecoverError(f"nothing readable in {path.name}: {err}") from err
    conn.row_factory = sqlite3.Row
    try:
        events = sorted(_rows(conn, "outbox"), key=lambda row: int(row["seq"]))
        ids = _return_ids(conn)
        counters = {str(row["name"]): row["value"] for row in _rows(conn, "counters")}
        rows = {table: _rows(conn, table) for table in TABLES}
        meta = {str(row.get("key")): row.get("value") for row in _rows(conn, "meta")}
    finally:
        conn.close()
    if not events and not ids:
        raise RecoverError(f"no outbox event and no return could be read from {path.name}")
    owner = (_text(meta.get("store_id")), _text(meta.get("node_id")))
    return Salvage(events, ids, int(counters.get("last_acked_seq") or 0), rows, *owner)


def _text(value: Any) -> str | None:
    return str(value) if value else None


def _return_ids(conn: sqlite3.Connection) -> set[str]:
    """The ids of the returns: from the id index alone when the table's own pages are gone."""
    try:
        return {str(row[0]) for row in conn.execute("SELECT id FROM returns") if row[0]}
    except sqlite3.Error:
        return {str(row["id"]) for row in _rows(conn, "returns") if row.get("id")}


def _rows(conn: sqlite3.Connection, table: str) -> list[dict[str, Any]]:
    """Every readable row of ``table``: a plain scan, else forward and backward by rowid."""
    try:
        return [dict(row) for row in conn.execute(f"SELECT rowid AS _rowid, * FROM {table}")]
    except sqlite3.Error:
        pass
    found: dict[int, dict[str, Any]] = {}
    for order, compare, start in (("ASC", ">", -(2**63)), ("DESC", "<", 2**63 - 1)):
        last = start
        while True:
            try:
                row = conn.execute(f"SELECT rowid AS _rowid, * FROM {table} WHERE rowid "
                                   f"{compare} ? ORDER BY rowid {order} LIMIT 1",
                                   (last,)).fetchone()
            except sqlite3.Error:
                break
            if row is None:
                break
            last = int(row["_rowid"])
            found[last] = dict(row)
    return list(found.values())


def source_node(found: Salvage, damaged: Path, store_id: str, node_id: str,
                named: str | None, own_events: bool) -> str:
    """The node whose sequence the damaged file's seqs count (see the module rules)."""
    if found.store_id is not None and found.store_id != store_id:
        raise RecoverError(f"{damaged} is store {found.store_id}'s database, not store "
                           f"{store_id}'s: a node speaks only for its own store")
    if named and found.node_id and named != found.node_id:
        raise RecoverError(f"{damaged} is node {found.node_id}'s database, not {named}'s")
    if found.node_id or named:
        return str(found.node_id or named)
    if own_events:
        raise RecoverError(
            f"{damaged} no longer says which node it was (its meta is unreadable) and this "
            "node has recorded events of its own, so its seqs cannot be told apart: say which "
            f"node the file was with --from-node NODE ({node_id} if it is this node's own)")
    return node_id  # this node has no seqs of its own yet: nothing to confuse


def hub_position(found: Salvage, source: str, node_id: str, live_acked: int,
                 given: int | None) -> int:
    """The highest seq of the damaged file's node that the hub holds (see the module rules)."""
    own = live_acked if source == node_id else 0  # the live acks count this node's seqs only
    return max(found.last_acked, own, given or 0)


def recover(store: Store, quarantined: Path, progress: Progress | None = None,
            from_node: str | None = None, hub_has: int | None = None) -> Outcome:
    """Put into ``store`` what the damaged file holds and the hub lacks; report what happened.
    ``from_node``: the node the file was, when its meta is unreadable; ``hub_has``: that node's
    highest seq the hub holds, when known (``acorn-hub devices replace`` prints it)."""
    damaged = damaged_file(quarantined)
    quarantined = damaged.parent if quarantined.is_file() else quarantined
    found = salvage(damaged)
    with store.read() as tx:
        store_id, node_id = str(tx.meta("store_id")), str(tx.meta("node_id"))
        live_acked, own_events = tx.counter(outbox.LAST_ACKED), tx.counter(outbox.NEXT_SEQ) > 1
    source = source_node(found, damaged, store_id, node_id, from_node, own_events)
    hub_has = hub_position(found, source, node_id, live_acked, hub_has)
    result = Outcome(salvaged_events=len(found.events), salvaged_returns=len(found.return_ids),
                     source_node=source, live_node=node_id, hub_has=hub_has)
    covered = {int(row["seq"]) for row in found.events if _holds(row)}
    received = {str(return_id_of(row["body"])) for row in found.events
                if row["kind"] == "return.received" and _holds(row)}
    rebuilt = rebuild(found.rows, covered, hub_has, received)
    merged = sorted([*found.events, *rebuilt.events], key=lambda row: int(row["seq"]))
    events = progress(merged) if progress else iter(merged)
    with store.write() as tx:
        for row in events:
            outcome = _one(tx, row, hub_has, store_id, node_id, str(quarantined), result)
            result.counts[outcome] += 1
            if outcome == "requeued" and str(row["message_id"]).startswith(REBUILT):
                result.counts["rebuilt"] += 1
                return_id = return_id_of(row["body"])
                if row["kind"] == "return.received" and return_id in rebuilt.partial:
                    result.partial.append(str(return_id))
        result.lost = [str(lost) for lost in rebuilt.lost if not _here(tx, lost)]
        integrity.mark_recovered(tx, quarantined)
    store.resolve("quarantined")
    return result


KEYS = {"returns": "id", "refunds": "return_id", "inspections": "return_id",
        "dispositions": "return_id", "stock_moves": "move_id"}


def _here(tx: Tx, lost: Lost) -> bool:
    """True if the live database holds what a lost row recorded (the journal restored it)."""
    return tx.scalar(f"SELECT 1 FROM {lost.table} WHERE {KEYS[lost.table]} = ?",
                     (lost.key,)) is not None


def _holds(row: dict[str, Any]) -> bool:
    """True unless the salvaged outbox row fails its checksum."""
    checksum = row.get("checksum")
    return not checksum or checksum == event_checksum(
        int(row["seq"]), str(row["message_id"]), row["kind"], row["body"], row["occurred_at"])


def _one(tx: Tx, row: dict[str, Any], hub_has: int, store_id: str, node_id: str, source: str,
         result: Outcome) -> str:
    old_id, seq = str(row["message_id"]), int(row["seq"])
    if tx.scalar("SELECT 1 FROM recovered_events WHERE source_id = ?", (old_id,)):
        return "earlier"
    if not _holds(row):
        return "damaged"
    return_id = return_id_of(row["body"])
    if seq <= hub_has:
        outcome, new_seq = "at_hub", None
    elif tx.scalar("SELECT 1 FROM outbox WHERE message_id = ?", (old_id,)):
        outcome, new_seq = "already_here", None
    else:
        outcome, new_seq = _requeue(tx, row, store_id, node_id, source)
    if new_seq is not None:
        result.new_seqs.append(new_seq)
        if return_id:
            result.requeued_returns.add(return_id)
    tx.execute("INSERT INTO recovered_events(source_id, source, return_id, outcome, new_seq, "
               "recovered_at) VALUES (?,?,?,?,?,?)",
               (old_id, source, return_id, outcome, new_seq, format_utc(utc_now())))
    return outcome


def _requeue(tx: Tx, row: dict[str, Any], store_id: str, node_id: str,
             source: str) -> tuple[str, int | None]:
    seq = tx.counter(outbox.NEXT_SEQ)
    event = JournalEvent(seq, new_message_id(), str(row["kind"]), str(row["body"]),
                         str(row["occurred_at"]))
    envelope = envelope_of(store_id, node_id, seq, event.message_id, event.kind, event.body,
                           event.occurred_at)
    if already_recorded(tx, envelope):
        return "already_here", None  # its rows are here: the hub has it or will get it
    replay(tx, envelope, seq, f"recovered from {source}")
    event = replace(event, body=live_body(tx, envelope, event.body))  # the live stock after it
    outbox.insert(tx, event)
    tx.set_counter(outbox.NEXT_SEQ, seq + 1)
    return "requeued", seq


def latest_quarantine(store: Store, data_dir: Path) -> Path:
    """The quarantined file to recover when none is named: the newest not yet recovered."""
    pending = integrity.pending_quarantines(store)
    if pending:
        return Path(pending[-1])
    held = sorted((data_dir / integrity.QUARANTINE_DIR).glob("*/edge.db"))
    if not held:
        raise RecoverError(f"nothing quarantined under {data_dir / integrity.QUARANTINE_DIR}")
    return held[-1].parent


@contextmanager
def live_store(db_path: Path, store_id: str, node_id: str) -> Iterator[Store]:
    """The live database (the agent may be running: SQLite serialises the writers) with its
    journal, so re-queued events get their second copy too."""
    store = Store.open(db_path, store_id, node_id)
    store.journal, _ = Journal.open(db_path.parent)
    try:
        yield store
    finally:
        store.close()
