"""Load the rows a batch of events touches, and write a Projector's changes back in bulk.

A handful of statements per batch whatever its size: one SELECT per table touched, one
executemany per kind of change. A batch that decides refunds (refund requests, and inspections
of returns whose refunds wait for them) also loads the active policy (seeding the default one on
first use) and what deciding them needs, through ``hub.refunds.facts.load_known`` (the one loader
the simulation and hub-side requests use too). One hub on PostgreSQL reads the returns and
refunds a batch names with its first reads (``hub.sync.ingest.batch._first_reads``) and hands
them to ``load`` (``Ahead``), which then reads only the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, select

from hub.policy import store as policy_store
from hub.refunds.facts import Asked, load_known
from hub.refunds.projection import Changes, Loaded
from hub.refunds.states import RefundState
from hub.storage import outbox
from hub.storage.bulk import among, insert_rows, key_chunks, rows_at_pairs, update_rows
from hub.storage.engine import Tx
from hub.storage.tables.access import refund_rules
from hub.storage.tables.core import (
    commands,
    dispositions,
    inspections,
    refunds,
    return_items,
    returns,
)
from protocol import Channel, Envelope, RefundRequested, ReturnReceived

CHUNK = 500  # keys a lookup statement on SQLite (its parameters); PostgreSQL takes them all
RETURN_MUTABLE = ("state", "grade", "inspected_at", "disposition", "disposed_at", "updated_at")
REFUND_MUTABLE = ("state", "outcome", "approval_level", "reasons", "decided_by", "decided_at",
                  "policy_version", "decision", "base_amount", "base_currency", "updated_at")
Key = tuple[str, str]
Read = tuple[set[Key], dict[Key, dict[str, Any]]]  # keys looked up, the rows found by key


@dataclass
class Ahead:
    """Rows a batch read before its writes (``hub.sync.ingest.batch._first_reads``), none
    changed since: for each kind, the keys looked up and the rows found."""

    returns: Read  # by (store_id, return_id)
    refunds: Read  # by (store_id, refund_id)
    of_returns: Read  # refunds by (store_id, return_id) of the returns looked up, by refund key


def return_keys(events: Iterable[Envelope]) -> set[Key]:
    """The returns ``events`` mention (what ``load`` reads of them)."""
    return {(e.store_id, found) for e in events
            if (found := getattr(e.body, "return_id", None)) is not None}


def refund_keys(events: Iterable[Envelope]) -> set[Key]:
    """The refunds ``events`` ask for (``load`` reads what is stored of them)."""
    return {(e.store_id, getattr(e.body, "refund_id")) for e in events  # noqa: B009
            if e.kind == "refund.requested"}


def inspected_keys(events: Iterable[Envelope]) -> set[Key]:
    """The returns ``events`` inspect (``load`` reads the refunds waiting for them)."""
    return {(e.store_id, getattr(e.body, "return_id")) for e in events  # noqa: B009
            if e.kind == "inspection.recorded"}


def load(tx: Tx, events: Sequence[Envelope], ahead: Ahead | None = None) -> Loaded:
    """Current rows of what ``events`` mention, and what deciding their refunds needs
    (``ahead``: rows already read in this transaction: only the others are read here)."""
    conn = tx.conn
    command_ids = {getattr(e.body, "command_id") for e in events  # noqa: B009
                   if e.kind == "command.applied"}
    loaded = Loaded(
        returns=_rows_by_key(conn, returns, "return_id", return_keys(events),
                             ahead.returns if ahead else None),
        refunds=_rows_by_key(conn, refunds, "refund_id", refund_keys(events),
                             ahead.refunds if ahead else None),
        commands={r["command_id"]: r for r in _commands(conn, command_ids)})
    waiting = _waiting(conn, inspected_keys(events), ahead.of_returns if ahead else None)
    loaded.refunds.update(waiting)
    asks = [e for e in events if isinstance(e.body, RefundRequested)]
    if asks or waiting:
        loaded.policy = policy_store.active_for_write(tx).compiled
        loaded.known = load_known(conn, _deciding(loaded, asks, events, list(waiting.values())))
    return loaded


def _rows_by_key(conn: Connection, table: Table, id_column: str, wanted: set[Key],
                 ahead: Read | None) -> dict[Key, dict[str, Any]]:
    """The stored rows of ``wanted`` by (store_id, ``id_column``): those read ahead, and the
    others read now."""
    if ahead is None:
        return _by_key(conn, table, id_column, wanted)
    looked, rows = ahead
    found = {k: rows[k] for k in wanted & looked if k in rows}
    return found | _by_key(conn, table, id_column, wanted - looked)


def _waiting(conn: Connection, inspected: set[Key], ahead: Read | None = None
             ) -> dict[Key, dict[str, Any]]:
    """Stored refunds that wait for the inspection of one of these returns (``ahead``: the
    refunds of the returns looked up before, by refund key)."""
    rows: list[dict[str, Any]] = []
    if ahead is not None:
        looked, by_refund = ahead
        rows = [r for r in by_refund.values() if (r["store_id"], r["return_id"]) in inspected]
        inspected = inspected - looked
    if inspected:
        rows += _rows(conn, refunds, "return_id", inspected)
    return {(r["store_id"], r["refund_id"]): r for r in rows
            if r["state"] == RefundState.AWAITING_INSPECTION.value}


def _deciding(loaded: Loaded, asks: Sequence[Envelope], events: Sequence[Envelope],
              waiting: Sequence[dict[str, Any]]) -> list[Asked]:
    """Every refund this batch may decide, with what its return says of the sale."""
    fresh = {(e.store_id, e.body.return_id): e.body for e in events
             if isinstance(e.body, ReturnReceived)}

    def sale(key: Key) -> tuple[str | None, str | None]:
        ret = loaded.returns.get(key) or {}
        received = fresh.get(key)
        return (ret.get("order_id") or (received.order_id if received else None),
                ret.get("marketplace_id") or (received.marketplace_id if received else None))

    out = []
    for e in asks:
        body = e.body
        assert isinstance(body, RefundRequested)
        order_id, market = sale((e.store_id, body.return_id))
        out.append(Asked(e.store_id, body.return_id, body.channel, body.order_id or order_id,
                         body.marketplace_id or market))
    for row in waiting:
        order_id, market = sale((row["store_id"], row["return_id"]))
        out.append(Asked(row["store_id"], row["return_id"], Channel(row["channel"]),
                         row["order_id"] or order_id, row["marketplace_id"] or market,
                         row["customer_key"]))
    return out


def _by_key(conn: Connection, table: Table, id_column: str,
            keys: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["store_id"], r[id_column]): r for r in _rows(conn, table, id_column, keys)}


def _rows(conn: Connection, table: Table, column: str, keys: Iterable[Key]) -> list[dict[str, Any]]:
    """The rows whose (store_id, ``column``) is one of ``keys``: each pair one probe of the
    (store_id, id) index (``hub.storage.bulk.rows_at_pairs``)."""
    out: list[dict[str, Any]] = []
    for chunk in key_chunks(conn, sorted(set(keys)), CHUNK):
        result = conn.execute(rows_at_pairs(conn, table, ("store_id", column), chunk))
        out.extend(dict(row._mapping) for row in result)
    return out


def _commands(conn: Connection, ids: Iterable[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for chunk in key_chunks(conn, sorted(ids), CHUNK):
        result = conn.execute(select(commands).where(among(conn, commands.c.command_id, chunk)))
        out.extend(dict(row._mapping) for row in result)
    return out


def flush(tx: Tx, changes: Changes) -> None:
    """Write every change of a batch; audit drafts go to the transaction's chain."""
    conn = tx.conn
    _insert(conn, returns, list(changes.returns_new.values()))
    _insert(conn, return_items, changes.items)
    _update_returns(conn, list(changes.returns_changed.values()))
    _insert(conn, inspections, changes.inspections)
    _insert(conn, dispositions, changes.dispositions)
    _insert(conn, refunds, list(changes.refunds_new.values()))
    _update_refunds(conn, list(changes.refunds_changed.values()))
    _insert(conn, refund_rules, changes.refund_rules)
    _update_commands(conn, list(changes.commands_applied.values()))
    outbox.queue(conn, changes.commands, tx.now)
    for draft in changes.audit:
        tx.audit(draft)


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    insert_rows(conn, table, rows)


def _update_returns(conn: Connection, rows: list[dict[str, Any]]) -> None:
    _update_by_key(conn, returns, "return_id", RETURN_MUTABLE, rows)


def _update_refunds(conn: Connection, rows: list[dict[str, Any]]) -> None:
    _update_by_key(conn, refunds, "refund_id", REFUND_MUTABLE, rows)


def _update_by_key(conn: Connection, table: Table, id_column: str, columns: Sequence[str],
                   rows: list[dict[str, Any]]) -> None:
    """Set ``columns`` of each row found by (store_id, ``id_column``): on PostgreSQL one
    ``UPDATE ... FROM unnest(...)`` (``hub.storage.bulk.update_rows``), elsewhere one
    executemany (the rows' keys are unique: the projector keeps one row per key)."""
    update_rows(conn, table, ("store_id", id_column), [
        {"store_id": r["store_id"], id_column: r[id_column], **{name: r[name] for name in columns}}
        for r in rows])


def _update_commands(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Record each applied command (one statement on PostgreSQL, ``update_rows``)."""
    update_rows(conn, commands, ("command_id",), [
        {"command_id": r["command_id"], "applied_at": r["applied_at"], "result": r["result"],
         "detail": r["detail"]} for r in rows])
