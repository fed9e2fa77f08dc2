"""Stored evidence: record an attachment, list a return's, read one, purge what passed retention.

Rules: see the package; ``record`` runs in the caller's write transaction (the blob is written
first: bytes without a row are harmless and written again next time, a row never lacks its
bytes); the purge pass is one transaction with one audit entry listing what it purged.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, and_, select, update

from hub.errors import Conflict, InputError, NotFound
from hub.finance.evidence import blobs
from hub.finance.evidence.media import KINDS
from hub.storage.audit_chain import AuditDraft, jsonable
from hub.storage.engine import Tx, reading, writing
from hub.storage.tables.evidence import evidence_items
from protocol import utc_now

RECORDED, PURGED = "evidence.recorded", "evidence.purged"
SYSTEM = ("system:evidence", "system")
NOTE_MAX = 500
AUDITED = (
    "sha256",
    "size",
    "media_type",
    "kind",
    "source",
    "store_id",
    "return_id",
    "refund_id",
)  # what the audit entry of an attachment holds


@dataclass(frozen=True)
class Attachment:
    """What is known about a file before it is stored (its bytes checked by ``media.check``)."""

    store_id: str
    return_id: str
    kind: str
    media_type: str
    source: str  # counter | desk
    refund_id: str | None = None
    note: str = ""
    evidence_id: str | None = None  # the recorder's own id; a new one when None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"kind is one of {', '.join(KINDS)}, not {self.kind!r}", field="kind")
        if len(self.note) > NOTE_MAX:
            raise InputError(f"a note has at most {NOTE_MAX} characters", field="note")


def record(
    tx: Tx, root: Path, item: Attachment, data: bytes, actor: str, role: str, retention_days: int
) -> dict[str, Any]:
    """Store the bytes and the attachment (audited); the stored row as a dict."""
    evidence_id = item.evidence_id or uuid.uuid4().hex
    sha = blobs.put(root, data)
    found = tx.conn.execute(
        select(evidence_items).where(evidence_items.c.evidence_id == evidence_id)
    ).one_or_none()
    if found is not None:
        if found.sha256 != sha:
            raise Conflict(f"evidence {evidence_id} is recorded already with other content")
        return dict(found._mapping)
    row = {
        "evidence_id": evidence_id,
        "sha256": sha,
        "size": len(data),
        "media_type": item.media_type,
        "kind": item.kind,
        "source": item.source,
        "store_id": item.store_id,
        "return_id": item.return_id,
        "refund_id": item.refund_id,
        "note": item.note,
        "recorded_by": actor,
        "recorded_at": tx.now,
        "purge_after": tx.now + timedelta(days=retention_days),
        "purged_at": None,
    }
    tx.conn.execute(evidence_items.insert().values(row))
    after = jsonable({key: row[key] for key in AUDITED})
    tx.audit(AuditDraft(actor, role, RECORDED, "evidence", evidence_id, None, after))
    return row


def for_return(conn: Connection, store_id: str, return_id: str) -> list[dict[str, Any]]:
    """A return's evidence, oldest first."""
    c = evidence_items.c
    rows = conn.execute(
        select(evidence_items)
        .where(c.store_id == store_id, c.return_id == return_id)
        .order_by(c.recorded_at, c.evidence_id)
    )
    return [dict(row._mapping) for row in rows]


def find(conn: Connection, evidence_id: str) -> dict[str, Any]:
    """One attachment's row (NotFound when there is none)."""
    row = conn.execute(
        select(evidence_items).where(evidence_items.c.evidence_id == evidence_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no evidence {evidence_id}")
    return dict(row._mapping)


def content(root: Path, row: dict[str, Any]) -> bytes:
    """The attachment's bytes (NotFound once purged)."""
    if row["purged_at"] is not None:
        raise NotFound(f"evidence {row['evidence_id']} was purged after its retention period")
    return blobs.get(root, row["sha256"])


def purge(engine: Engine, root: Path, now: datetime | None = None) -> int:
    """Mark the evidence past its retention purged and delete bytes nothing else needs."""
    c = evidence_items.c
    with reading(engine) as conn:  # most passes find nothing: no write lock for them
        if (
            conn.scalar(
                select(c.evidence_id)
                .where(c.purged_at.is_(None), c.purge_after <= (now or utc_now()))
                .limit(1)
            )
            is None
        ):
            return 0
    with writing(engine, now) as tx:
        due = tx.conn.execute(
            select(c.evidence_id, c.sha256)
            .where(c.purged_at.is_(None), c.purge_after <= tx.now)
            .order_by(c.evidence_id)
        ).all()
        if not due:
            return 0
        ids = [row.evidence_id for row in due]
        tx.conn.execute(
            update(evidence_items).where(c.evidence_id.in_(ids)).values(purged_at=tx.now)
        )
        removed = []
        for sha in sorted({row.sha256 for row in due}):
            kept = tx.conn.scalar(
                select(c.evidence_id).where(and_(c.sha256 == sha, c.purged_at.is_(None))).limit(1)
            )
            if kept is None and blobs.remove(root, sha):
                removed.append(sha)
        tx.audit(
            AuditDraft(
                *SYSTEM,
                PURGED,
                "evidence",
                tx.now.isoformat(),
                None,
                {"evidence_ids": ids, "files_removed": removed},
            )
        )
    return len(ids)
