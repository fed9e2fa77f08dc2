"""What an operator does with dead letters: list, show, resolve (``acorn-hub dead-letters``);
replaying one is ``hub.sync.ingest.replay``.

Rules:
- a dead letter is never deleted; resolving it records who, when and why, once (resolving a
  resolved one is a Conflict), and writes an ``dead_letter.resolved`` entry to the audit chain;
- an unprocessable event (its seq was skipped, ``hub.sync.ingest``) is shown with its node and seq,
  so the operator knows which store's record to re-enter by hand;
- the reason is required (1-500 characters), like every other audited change.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, select, update

from hub.access.users import Actor
from hub.errors import Conflict, InputError, NotFound
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import reading, writing
from hub.storage.tables.core import dead_letters, unprocessable_events

SUMMARY = (dead_letters.c.id, dead_letters.c.received_at, dead_letters.c.sender,
           dead_letters.c.reason, dead_letters.c.payload_size, dead_letters.c.resolved_at,
           dead_letters.c.resolved_by)


def list_dead_letters(engine: Engine, include_resolved: bool = False,
                      limit: int = 50) -> list[dict[str, Any]]:
    """Dead letters, newest first (open ones only unless ``include_resolved``)."""
    query = (select(*SUMMARY, unprocessable_events.c.seq.label("skipped_seq"))
             .outerjoin(unprocessable_events,
                        unprocessable_events.c.dead_letter_id == dead_letters.c.id)
             .order_by(dead_letters.c.id.desc()).limit(max(1, min(limit, 1000))))
    if not include_resolved:
        query = query.where(dead_letters.c.resolved_at.is_(None))
    with reading(engine) as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def show_dead_letter(engine: Engine, dead_letter_id: int) -> dict[str, Any]:
    """One dead letter whole (payload as stored: at most 64 KiB), with its skipped seq if any."""
    with reading(engine) as conn:
        return one(conn, dead_letter_id)


def resolve_dead_letter(engine: Engine, dead_letter_id: int, reason: str, actor: Actor,
                        action: str = "dead_letter.resolved") -> dict[str, Any]:
    """Mark a dead letter resolved (who, when, why), audited as ``action``; Conflict if it
    already is."""
    why = reason.strip()
    if not 1 <= len(why) <= 500:
        raise InputError("a reason of 1-500 characters is required", field="reason")
    with writing(engine) as tx:
        row = one(tx.conn, dead_letter_id)
        if row["resolved_at"] is not None:
            raise Conflict(f"dead letter {dead_letter_id} was already resolved by "
                           f"{row['resolved_by']}")
        tx.conn.execute(update(dead_letters).where(dead_letters.c.id == dead_letter_id)
                        .values(resolved_at=tx.now, resolved_by=actor.name[:100], resolution=why))
        tx.audit(AuditDraft(actor.name, actor.role, action, "dead_letter",
                            str(dead_letter_id),
                            {"sender": row["sender"], "reason": row["reason"][:500],
                             "skipped_seq": row["skipped_seq"],
                             "payload_sha256": row["payload_sha256"]},
                            {"resolved": True}, why))
        return {**row, "resolved_at": tx.now, "resolved_by": actor.name, "resolution": why}


def one(conn: Connection, dead_letter_id: int) -> dict[str, Any]:
    """One dead letter whole with its skipped seq; NotFound if there is none."""
    row = conn.execute(select(dead_letters, unprocessable_events.c.seq.label("skipped_seq"))
                       .outerjoin(unprocessable_events,
                                  unprocessable_events.c.dead_letter_id == dead_letters.c.id)
                       .where(dead_letters.c.id == dead_letter_id)).first()
    if row is None:
        raise NotFound(f"no dead letter {dead_letter_id}", field="id")
    return dict(row._mapping)
