"""Load the rows a batch of events touches, and write a Projector's changes back in bulk.

A handful of statements per batch whatever its size: one SELECT per table touched, one
executemany per kind of change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select, update

from hub import commands as outbox
from hub.db.engine import Tx
from hub.db.schema import commands, dispositions, inspections, refunds, return_items, returns
from hub.projection import Changes, Loaded
from protocol import Envelope

CHUNK = 500
RETURN_MUTABLE = ("state", "grade", "inspected_at", "disposition", "disposed_at", "updated_at")


def load(conn: Connection, events: Sequence[Envelope]) -> Loaded:
    """Current rows of the returns, refunds and commands that ``events`` mention."""
    return_keys = {(e.store_id, getattr(e.body, "return_id")) for e in events  # noqa: B009
                   if hasattr(e.body, "return_id")}
    refund_keys = {(e.store_id, getattr(e.body, "refund_id")) for e in events  # noqa: B009
                   if e.kind == "refund.requested"}
    command_ids = {getattr(e.body, "command_id") for e in events  # noqa: B009
                   if e.kind == "command.applied"}
    return Loaded(
        returns=_by_key(conn, returns, "return_id", return_keys),
        refunds=_by_key(conn, refunds, "refund_id", refund_keys),
        commands={r["command_id"]: r for r in _rows(conn, commands, "command_id", command_ids)})


def _by_key(conn: Connection, table: Table, id_column: str,
            keys: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    rows = _rows(conn, table, id_column, {local for _, local in keys})
    return {k: r for r in rows if (k := (r["store_id"], r[id_column])) in keys}


def _rows(conn: Connection, table: Table, column: str, values: Iterable[str]) -> list[
        dict[str, Any]]:
    wanted = sorted(values)
    out: list[dict[str, Any]] = []
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        result = conn.execute(select(table).where(table.c[column].in_(chunk)))
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
    _update_commands(conn, list(changes.commands_applied.values()))
    outbox.queue(conn, changes.commands, tx.now)
    for draft in changes.audit:
        tx.audit(draft)


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(table.insert(), rows)


def _update_returns(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = update(returns).where(
        returns.c.store_id == bindparam("k_store"), returns.c.return_id == bindparam("k_id")
    ).values({name: bindparam(f"v_{name}") for name in RETURN_MUTABLE})
    conn.execute(stmt, [{"k_store": r["store_id"], "k_id": r["return_id"],
                         **{f"v_{name}": r[name] for name in RETURN_MUTABLE}} for r in rows])


def _update_commands(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = update(commands).where(commands.c.command_id == bindparam("k_id")).values(
        applied_at=bindparam("v_applied_at"), result=bindparam("v_result"),
        detail=bindparam("v_detail"))
    conn.execute(stmt, [{"k_id": r["command_id"], "v_applied_at": r["applied_at"],
                         "v_result": r["result"], "v_detail": r["detail"]} for r in rows])
