"""Commands from the hub, applied exactly once (the store's retained config: ``store_config``).

Rules:
- a command's envelope ``id`` is its command id; the effect, the ``applied_commands`` row and the
  ``command.applied`` report in the outbox commit in ONE transaction, so after a crash a command is
  either fully applied and reported, or not at all (and the broker redelivers it);
- a command id already in ``applied_commands`` is ignored (result ``duplicate``): nothing written;
- a payload that does not decode, or is addressed to another store or node, is refused: logged,
  recorded and reported as ``refused`` once — it never raises into the link;
- ``return.expected`` upserts the cached RMA; ``refund.decided`` updates the local refund unless the
  decision held is newer (commands may arrive late).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from edge_agent import audit, outbox, records
from edge_agent.errors import RequestError
from edge_agent.returns import decision_supersedes, total_of
from edge_agent.store import Store, Tx
from protocol import (
    BODY_TYPES,
    COMMAND_KINDS,
    CommandApplied,
    DecodeError,
    Envelope,
    ExpectedReturn,
    RefundDecided,
    decode,
    to_utc,
)

log = logging.getLogger(__name__)

Result = Literal["applied", "refused", "duplicate"]
Effect = tuple[Literal["applied", "refused"], str]
Applier = Callable[[Tx, Envelope, datetime], Effect]
MAX_DETAIL = 2000


@dataclass(frozen=True)
class Outcome:
    """What became of one command."""

    command_id: str
    kind: str
    result: Result
    detail: str


def apply_expected(tx: Tx, envelope: Envelope, now: datetime) -> Effect:
    """Cache the RMA for offline matching at the counter."""
    expected = envelope.body
    assert isinstance(expected, ExpectedReturn)
    try:
        total_of(list(expected.items))
    except RequestError as err:
        return "refused", f"RMA {expected.rma_id}: {err.message}"
    records.upsert_expected(tx, expected, envelope.id, now)
    audit.record(tx, at=now, actor="hub", role="hub", action="return.expected",
                 entity="expected_return", entity_id=expected.rma_id, before=None,
                 after={"order_id": expected.order_id, "items": len(expected.items)})
    return "applied", f"cached RMA {expected.rma_id}"


def apply_decided(tx: Tx, envelope: Envelope, now: datetime) -> Effect:
    """Record the hub's decision on one of this node's refunds."""
    decided = envelope.body
    assert isinstance(decided, RefundDecided)
    refund = records.refund_row(tx, decided.refund_id)
    if refund is None:
        return "refused", f"no refund {decided.refund_id} at this node"
    if refund["return_id"] != decided.return_id:
        return "refused", (f"refund {decided.refund_id} belongs to return {refund['return_id']},"
                           f" not {decided.return_id}")
    held = to_utc(datetime.fromisoformat(refund["decided_at"])) if refund["decided_at"] else None
    if not decision_supersedes(held, decided.decided_at):
        return "applied", f"kept the newer decision on {decided.refund_id} ({refund['status']})"
    records.save_decision(tx, decided, envelope.id)
    audit.record(tx, at=now, actor=decided.decided_by or "hub", role="hub",
                 action="refund.decided", entity="refund", entity_id=decided.refund_id,
                 before={"status": refund["status"]},
                 after={"status": decided.outcome.value, "reasons": decided.reasons})
    return "applied", f"refund {decided.refund_id} {decided.outcome.value}"


APPLIERS: dict[str, Applier] = {
    "return.expected": apply_expected,
    "refund.decided": apply_decided,
}


def handle(store: Store, store_id: str, node_id: str, payload: bytes, now: datetime) -> Outcome:
    """Decode, check and apply one command payload exactly once; never raises on bad input."""
    try:
        envelope = decode(payload, expect=COMMAND_KINDS)
    except DecodeError as err:
        command_id, kind = _salvage(payload)
        return _settle(store, store_id, node_id, command_id, kind, now, refusal=str(err))
    if (envelope.store_id, envelope.node_id) != (store_id, node_id):
        refusal = (f"addressed to store {envelope.store_id} node {envelope.node_id}, "
                   f"not this node")
        return _settle(store, store_id, node_id, envelope.id, envelope.kind, now, refusal=refusal)
    return _settle(store, store_id, node_id, envelope.id, envelope.kind, now, envelope=envelope)


def _settle(store: Store, store_id: str, node_id: str, command_id: str, kind: str,
            now: datetime, envelope: Envelope | None = None, refusal: str = "") -> Outcome:
    with store.write() as tx:
        if records.command_seen(tx, command_id):
            return Outcome(command_id, kind, "duplicate", "already applied")
        if envelope is not None:
            result, detail = APPLIERS[kind](tx, envelope, now)
        else:
            result, detail = "refused", refusal
        detail = detail[:MAX_DETAIL]
        report = CommandApplied(command_id=command_id, command_kind=kind, result=result,
                                detail=detail)
        seq = outbox.append(tx, store_id, node_id, report, now).seq
        records.record_command(tx, command_id, kind, result, detail, now, seq)
        if result == "refused":
            audit.record(tx, at=now, actor="hub", role="hub", action="command.refused",
                         entity="command", entity_id=command_id, before=None,
                         after={"kind": kind, "detail": detail})
    if result == "refused":
        log.warning("refused hub command %s (%s): %s", command_id, kind, detail,
                    extra={"command_id": command_id, "command_kind": kind})
    return Outcome(command_id, kind, result, detail)


def _salvage(payload: bytes) -> tuple[str, str]:
    """A command id and kind from an undecodable payload, so its refusal is recorded once."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        data = None
    raw_id = data.get("id") if isinstance(data, dict) else None
    raw_kind = data.get("kind") if isinstance(data, dict) else None
    digest = hashlib.sha256(payload).hexdigest()[:16]
    usable = isinstance(raw_id, str) and 0 < len(raw_id) <= 100
    command_id = str(raw_id) if usable else f"unreadable-{digest}"
    kind = str(raw_kind) if isinstance(raw_kind, str) and raw_kind in BODY_TYPES else "unknown"
    return command_id, kind

