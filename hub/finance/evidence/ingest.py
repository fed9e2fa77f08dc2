"""Counter photos arriving over the sync path: ``evidence.recorded`` events, applied in the ingest
batch's transaction.

Rules: each event's bytes (checked by the protocol: size, SHA-256, type) are stored like any
evidence (``store.record``: content-addressed, audited, idempotent on the node's evidence id),
as a ``photo`` from the ``counter``, recorded by the staff member the event names (or the node);
the return's refund, when there is one, is named with it; an event whose id the hub holds with
other bytes is refused (dead-lettered with the reason), never applied twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from hub.errors import Conflict
from hub.finance.evidence.store import Attachment, record
from hub.storage.engine import Tx
from hub.storage.tables.core import refunds
from protocol import Envelope, EvidenceRecorded

KIND = "evidence.recorded"


@dataclass(frozen=True)
class Refused:
    """An evidence event that could not be applied, and why."""

    event: Envelope
    reason: str


@dataclass(frozen=True)
class EvidenceSink:
    """Where counter photos go: the evidence folder and the retention they get."""

    root: Path
    retention_days: int

    def apply(self, tx: Tx, events: Sequence[Envelope]) -> list[Refused]:
        """Store the photos of a batch, in order; the events refused."""
        refused = []
        for event in events:
            body = event.body
            if not isinstance(body, EvidenceRecorded):
                continue
            refund_id = tx.conn.scalar(
                select(refunds.c.refund_id)
                .where(refunds.c.store_id == event.store_id, refunds.c.return_id == body.return_id)
                .limit(1)
            )
            item = Attachment(
                event.store_id,
                body.return_id,
                "photo",
                body.media_type,
                "counter",
                refund_id,
                evidence_id=body.evidence_id,
            )
            actor = body.recorded_by or f"{event.store_id}/{event.node_id}"
            try:
                record(tx, self.root, item, body.content, actor, "node", self.retention_days)
            except Conflict as err:
                refused.append(Refused(event, err.message))
        return refused
