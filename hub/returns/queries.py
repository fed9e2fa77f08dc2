"""Read models for the API: plain dicts in the API's shape (money as amount text + currency).

Ids from stores are only unique within a store, so ``find_one`` refuses to guess: an id that two
stores use needs the ``store`` filter (409 naming the ``store`` field).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, Table, false, func, literal, or_, select

from hub.access.permissions import Scope
from hub.errors import Conflict, NotFound
from hub.fleet.stores import in_scope
from hub.storage import outbox
from hub.storage.money import money_json
from hub.storage.tables.core import (
    dead_letters,
    dispositions,
    inspections,
    nodes,
    refunds,
    return_items,
    returns,
    stores,
)
from protocol.topics import PREFIX as TOPIC_PREFIX

Row = dict[str, Any]
PAYLOAD_PREVIEW = 2000


def find_one(conn: Connection, table: Table, id_column: str, ident: str, store: str | None,
             what: str, lock: bool = False) -> Row:
    """The one row with this id (in ``store`` if given); NotFound / Conflict otherwise."""
    stmt = select(table).where(table.c[id_column] == ident)
    if store:
        stmt = stmt.where(table.c.store_id == store)
    rows = conn.execute(stmt.with_for_update() if lock else stmt).all()
    if not rows:
        where = f" in store {store!r}" if store else ""
        raise NotFound(f"no {what} {ident!r}{where}", field="id")
    if len(rows) > 1:
        names = ", ".join(sorted(r.store_id for r in rows))
        raise Conflict(f"{what} id {ident!r} exists in stores {names}; pass ?store= to choose",
                       field="store")
    return dict(rows[0]._mapping)


def _page(conn: Connection, stmt: Select[Any], order: list[Any], limit: int,
          offset: int) -> tuple[list[Row], int]:
    total = conn.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = conn.execute(stmt.order_by(*order).limit(limit).offset(offset))
    return [dict(r._mapping) for r in rows], int(total)


def list_returns(conn: Connection, store: str | None, state: str | None, limit: int,
                 offset: int, scope: Scope = Scope()) -> tuple[list[Row], int]:
    """A page of returns in ``scope``, newest first."""
    stmt = select(returns).where(in_scope(scope, returns.c.store_id))
    if store:
        stmt = stmt.where(returns.c.store_id == store)
    if state:
        stmt = stmt.where(returns.c.state == state)
    return _page(conn, stmt, [returns.c.received_at.desc(), returns.c.store_id,
                              returns.c.return_id], limit, offset)


def return_detail(conn: Connection, return_id: str, store: str | None) -> Row:
    """One return with its items, inspections, dispositions and refunds."""
    row = find_one(conn, returns, "return_id", return_id, store, "return")
    row["items"] = [item_out(dict(r._mapping)) for r in conn.execute(
        _children(return_items, row).order_by(return_items.c.line_no))]
    row["inspections"] = [dict(r._mapping) for r in conn.execute(
        _children(inspections, row).order_by(inspections.c.seq))]
    row["dispositions"] = [dict(r._mapping) for r in conn.execute(
        _children(dispositions, row).order_by(dispositions.c.seq))]
    row["refunds"] = [refund_out(dict(r._mapping)) for r in conn.execute(
        _children(refunds, row).order_by(refunds.c.requested_at))]
    return row


def _children(table: Table, parent: Row) -> Select[Any]:
    return select(table).where(table.c.store_id == parent["store_id"],
                               table.c.return_id == parent["return_id"])


def item_out(row: Row) -> Row:
    """An item row with its price as money."""
    row["unit_price"] = money_json(row["unit_price"], row["currency"])
    return row


def refund_out(row: Row) -> Row:
    """A refund row with its amount as money."""
    row["amount"] = money_json(row["amount"], row["currency"])
    return row


def list_refunds(conn: Connection, store: str | None, state: str | None, limit: int,
                 offset: int, scope: Scope = Scope()) -> tuple[list[Row], int]:
    """A page of refunds in ``scope``, oldest request first (the approval queue's order)."""
    stmt = select(refunds).where(in_scope(scope, refunds.c.store_id))
    if store:
        stmt = stmt.where(refunds.c.store_id == store)
    if state:
        stmt = stmt.where(refunds.c.state == state)
    rows, total = _page(conn, stmt, [refunds.c.requested_at, refunds.c.store_id,
                                     refunds.c.refund_id], limit, offset)
    return [refund_out(r) for r in rows], total


def stores_overview(conn: Connection) -> list[Row]:
    """Every store with its nodes: presence, last seen, seq position, command backlog."""
    lag = outbox.unapplied_counts(conn)
    by_store: dict[str, Row] = {
        r.store_id: {"store_id": r.store_id, "name": r.name, "region": r.region,
                     "city": r.city, "offline_limit": money_json(r.offline_limit,
                                                                 r.offline_currency)
                     if r.offline_limit is not None and r.offline_currency else None,
                     "nodes": []}
        for r in conn.execute(select(stores).order_by(stores.c.store_id))}
    for r in conn.execute(select(nodes).order_by(nodes.c.store_id, nodes.c.node_id)):
        status = r.status or {}
        by_store[r.store_id]["nodes"].append({
            "node_id": r.node_id, "online": r.online, "last_seen_at": r.last_seen_at,
            "contiguous_seq": r.contiguous_seq, "highest_seq": r.highest_seq,
            "gap": r.highest_seq > r.contiguous_seq, "version": status.get("version"),
            "outbox_pending": status.get("outbox_pending"),
            "commands_unapplied": lag.get((r.store_id, r.node_id), 0)})
    return list(by_store.values())


def list_dead_letters(conn: Connection, limit: int, offset: int, scope: Scope | None = None,
                      payloads: bool = True) -> tuple[list[Row], int]:
    """A page of dead letters, newest first, payloads shown as (truncated) text.

    With a ``scope``, only the dead letters that came on a topic of a known store inside it
    (a store the hub does not know is in no scope); without
    ``payloads``, ``payload`` is None (its size is still given)."""
    stmt = select(dead_letters)
    if scope is not None:
        covered = conn.execute(select(stores.c.store_id).where(
            in_scope(scope, stores.c.store_id))).scalars().all()
        stmt = stmt.where(or_(false(), *[
            dead_letters.c.topic.like(f"{TOPIC_PREFIX}/stores/{_like(store)}/%", escape="\\")
            for store in covered]))
    rows, total = _page(conn, stmt, [dead_letters.c.id.desc()], limit, offset)
    for row in rows:
        payload: bytes = row.pop("payload")
        row["payload_bytes"] = len(payload)
        row["payload"] = (payload[:PAYLOAD_PREVIEW].decode("utf-8", errors="replace")
                          if payloads else None)
    return rows, total


def _like(text: str) -> str:
    """``text`` with LIKE's wildcards escaped (store ids have none; the database may)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


HEALTH_COUNT_CAP = 100_000


def counts(conn: Connection, cap: int = HEALTH_COUNT_CAP) -> dict[str, int]:
    """Headline numbers for the health page, each counted up to ``cap`` (``cap`` means "that
    many or more"), so the open health check stays cheap on a hub with millions of rows."""
    def n(table: Table, *where: Any) -> int:
        capped = select(literal(1)).select_from(table).where(*where).limit(cap).subquery()
        return int(conn.execute(select(func.count()).select_from(capped)).scalar_one())

    return {"stores": n(stores), "nodes": n(nodes), "returns": n(returns),
            "refunds": n(refunds),
            "refunds_pending_approval": n(refunds, refunds.c.state == "pending_approval"),
            "dead_letters": n(dead_letters)}
