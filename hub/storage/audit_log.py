"""The audit log in the database: lock the tip, append chained entries, read the chain back.

The chain itself (hashing, verification) is pure and lives in ``hub.storage.audit_chain``; this
module only moves entries in and out of ``audit_log`` / ``audit_head`` (a transaction's entries
in one statement, ``hub.storage.bulk.insert_rows``; before/after stored as the canonical text
the chain hashed, ``audit_chain.chain``).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from hub.storage import write_pipeline
from hub.storage.audit_chain import GENESIS, AuditDraft, AuditEntry, Link, chain
from hub.storage.bulk import JsonText, insert_rows
from hub.storage.tables.core import audit_head, audit_log

TIP_ID = 1


# the tip, locked until the transaction ends (``tip_id``: TIP_ID); also run with other reads
# in one round trip by the ingest (``hub.storage.bulk.select_together``, ``tip_of``)
TIP_FOR_UPDATE = (select(audit_head.c.seq, audit_head.c.hash)
                  .where(audit_head.c.id == bindparam("tip_id")).with_for_update())


def lock_tip(conn: Connection) -> tuple[int, str]:
    """Read the chain tip (seq, hash) and hold its row lock until the transaction ends."""
    return tip_of(list(conn.execute(TIP_FOR_UPDATE, {"tip_id": TIP_ID})))


def tip_of(rows: Sequence[Any]) -> tuple[int, str]:
    """The tip (seq, hash) from ``TIP_FOR_UPDATE``'s rows (none: the chain is empty)."""
    return (int(rows[0].seq), str(rows[0].hash)) if rows else (0, GENESIS)

# the tip moved (or first written) in one statement whose row count nobody reads, so it can go
# in the write pipeline with the entries (``hub.storage.write_pipeline``)
MOVE_TIP_PG = ("INSERT INTO audit_head (id, seq, hash) VALUES (%s, %s, %s) "
               "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash")


def read_tip(conn: Connection) -> tuple[int, str] | None:
    """The stored tip, or None if the chain has never been written."""
    row = conn.execute(select(audit_head.c.seq, audit_head.c.hash)
                       .where(audit_head.c.id == TIP_ID)).one_or_none()
    return (int(row.seq), str(row.hash)) if row else None


def append(conn: Connection, tip: tuple[int, str], at: datetime,
           drafts: Sequence[AuditDraft]) -> tuple[int, str]:
    """Chain ``drafts`` after ``tip``, insert them, move the tip; return the new tip (on
    PostgreSQL both writes go in the write pipeline, answered at the next statement or the
    commit)."""
    links = chain(tip, at, drafts)
    insert_rows(conn, audit_log, [_row(link) for link in links])
    new_tip = (links[-1].entry.seq, links[-1].entry.hash)
    if conn.dialect.name == "postgresql":  # sent with the entries, answered at the commit
        write_pipeline.send(conn, MOVE_TIP_PG, (TIP_ID, *new_tip))
        return new_tip
    moved = conn.execute(update(audit_head).where(audit_head.c.id == TIP_ID)
                         .values(seq=new_tip[0], hash=new_tip[1]))
    if moved.rowcount == 0:
        conn.execute(audit_head.insert().values(id=TIP_ID, seq=new_tip[0], hash=new_tip[1]))
    return new_tip


def _row(link: Link) -> dict[str, object]:
    e = link.entry
    return {"seq": e.seq, "at": e.at, "actor": e.actor, "role": e.role, "action": e.action,
            "entity": e.entity, "entity_id": e.entity_id,
            "before": None if link.before is None else JsonText(link.before),
            "after": None if link.after is None else JsonText(link.after),
            "reason": e.reason, "prev_hash": e.prev_hash, "hash": e.hash}


def entries(conn: Connection, batch: int = 1000) -> Generator[AuditEntry, None, None]:
    """Every entry in seq order, streamed (close the generator if you stop early)."""
    result = conn.execute(
        select(audit_log).order_by(audit_log.c.seq).execution_options(yield_per=batch))
    try:
        for row in result:
            yield AuditEntry(int(row.seq), row.at, row.actor, row.role, row.action, row.entity,
                             row.entity_id, row.before, row.after, row.reason, row.prev_hash,
                             row.hash)
    finally:
        result.close()  # a verifier may stop early: release the server-side cursor now


def for_entity(conn: Connection, entity: str, entity_id: str) -> list[AuditEntry]:
    """The entries about one entity, oldest first."""
    rows = conn.execute(select(audit_log).where(audit_log.c.entity == entity,
                                                audit_log.c.entity_id == entity_id)
                        .order_by(audit_log.c.seq))
    return [AuditEntry(int(r.seq), r.at, r.actor, r.role, r.action, r.entity, r.entity_id,
                       r.before, r.after, r.reason, r.prev_hash, r.hash) for r in rows]
