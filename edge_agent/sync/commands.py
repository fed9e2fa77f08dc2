"""Commands from the hub, applied exactly once (the store's retained config: ``store_config``).

Rules:
- a command's envelope ``id`` is its command id; the effect, the ``applied_commands`` row and the
  ``command.applied`` report in the outbox commit in ONE transaction, so after a crash a command is
  either fully applied and reported, or not at all (and the broker redelivers it);
- a command id already in ``applied_commands`` is ignored (result ``duplicate``): nothing written;
- a payload that does not decode, is addressed to another store or node, or is of a command kind
  this node has no applier for, is refused: logged, recorded and reported as ``refused`` once —
  it never raises into the link;
- ``return.expected`` upserts the cached RMA; ``refund.decided`` updates the local refund unless the
  decision held is newer (commands may arrive late);
- ``refund.status`` (where the refund's money is: submitted, confirmed, settled, failed) updates the
  local refund only when its ``at`` is newer than the status held; an older one is ``applied`` with
  a detail saying the newer status was kept;
- a refund command naming a refund this node does not have, or a return it does not belong to, is
  ``refused`` with a sentence saying which;
- ``stock.snapshot.request`` appends a snapshot of the stock totals (``edge_agent.stock.snapshot``,
  signed with the node's key when it has one) in the same transaction as its report;
- ``stock.count.task`` keeps the hub's count task open for the counter (``edge_agent.stock.tasks``);
  a count of its SKU answers it later;
- ``transfer.task`` keeps the hub's transfer task (ship one, or receive one) for the counter and
  ``transfer.delivered`` books the shipped units out of in transit, ``transfer.cancelled`` drops
  an open send task (``edge_agent.stock.transfers``);
- ``order.pick.task`` keeps the hub's pick task for the counter and reserves its units
  (``edge_agent.stock.picking``) in the command's transaction; ``order.pick.withdrawn`` closes
  an open one and releases it;
- ``event.verify`` (the hub holds rival events for one of our seqs) is answered from the outbox:
  the report's ``event`` names the message id and ``event_hash`` of the event this node wrote at
  that seq (``held``; the hub has not acked it, so it is still in the outbox), or says the node has
  not written that seq yet (``not_written``) or no longer keeps it (``gone``). It changes nothing
  else here; the hub keeps our event and dead-letters the planted one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Literal

from edge_agent.errors import RequestError
from edge_agent.returns.states import decision_supersedes, payment_supersedes, total_of
from edge_agent.stock import picking, snapshot, tasks, transfers
from edge_agent.storage import audit, outbox, records
from edge_agent.storage.store import Store, Tx
from protocol import (
    BODY_TYPES,
    COMMAND_KINDS,
    CommandApplied,
    CountTask,
    DecodeError,
    Envelope,
    EventVerify,
    ExpectedReturn,
    HeldEvent,
    PickTask,
    PickWithdrawn,
    RefundDecided,
    RefundStatus,
    SnapshotRequest,
    TransferCancelled,
    TransferDelivered,
    TransferTask,
    decode,
    event_hash,
    format_utc,
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
    envelope: Envelope | None = None  # the command as decoded (None: it did not decode)


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
    refund, refusal = _own_refund(tx, decided.refund_id, decided.return_id)
    if refund is None:
        return "refused", refusal
    if not decision_supersedes(_held_at(refund, "decided_at"), decided.decided_at):
        return "applied", f"kept the newer decision on {decided.refund_id} ({refund['status']})"
    records.save_decision(tx, decided, envelope.id)
    audit.record(tx, at=now, actor=decided.decided_by or "hub", role="hub",
                 action="refund.decided", entity="refund", entity_id=decided.refund_id,
                 before={"status": refund["status"]},
                 after={"status": decided.outcome.value, "reasons": decided.reasons})
    return "applied", f"refund {decided.refund_id} {decided.outcome.value}"


def apply_status(tx: Tx, envelope: Envelope, now: datetime) -> Effect:
    """Record where the money of one of this node's refunds is, if newer than what is held."""
    status = envelope.body
    assert isinstance(status, RefundStatus)
    refund, refusal = _own_refund(tx, status.refund_id, status.return_id)
    if refund is None:
        return "refused", refusal
    before = _payment(refund)
    if not payment_supersedes(_held_at(refund, "payment_at"), status.at):
        return "applied", (f"kept the newer payment status of {status.refund_id} "
                           f"({refund['payment_status']} at {refund['payment_at']})")
    records.save_payment(tx, status, envelope.id)
    audit.record(tx, at=now, actor="hub", role="hub", action="refund.status", entity="refund",
                 entity_id=status.refund_id, before=before,
                 after={"payment_status": status.status.value, "payment_detail": status.detail,
                        "payment_at": format_utc(status.at)})
    return "applied", f"refund {status.refund_id} payment {status.status.value}"


def _own_refund(tx: Tx, refund_id: str, return_id: str) -> tuple[records.Row | None, str]:
    """This node's refund ``refund_id`` of return ``return_id``, or None and why it is refused."""
    refund = records.refund_row(tx, refund_id)
    if refund is None:
        return None, f"no refund {refund_id} at this node"
    if refund["return_id"] != return_id:
        return None, (f"refund {refund_id} belongs to return {refund['return_id']}, "
                      f"not {return_id}")
    return refund, ""


def _held_at(refund: records.Row, column: str) -> datetime | None:
    """A time stored on a refund row, in UTC (None: nothing held yet)."""
    value = refund[column]
    return to_utc(datetime.fromisoformat(value)) if value else None


def _payment(refund: records.Row) -> dict[str, str | None] | None:
    """The payment status held on a refund row, for the audit (None: nothing known yet)."""
    if refund["payment_status"] is None:
        return None
    return {"payment_status": refund["payment_status"], "payment_detail": refund["payment_detail"],
            "payment_at": refund["payment_at"]}


def verify_event(tx: Tx, envelope: Envelope) -> tuple[Effect, HeldEvent]:
    """Say which event this node wrote at the asked seq (the hub holds rivals for it)."""
    asked = envelope.body
    assert isinstance(asked, EventVerify)
    seq = asked.seq
    (own,) = outbox.read_range(tx, envelope.store_id, envelope.node_id, seq, seq) or (None,)
    if own is not None:
        held = HeldEvent(seq=seq, state="held", message_id=own.id,
                         event_hash=event_hash(own.kind, own.occurred_at, own.body))
        return ("applied", f"seq {seq} holds message {own.id}"), held
    if seq >= tx.counter(outbox.NEXT_SEQ):
        return ("applied", f"seq {seq} not written yet"), HeldEvent(seq=seq, state="not_written")
    return ("applied", f"seq {seq} no longer kept here"), HeldEvent(seq=seq, state="gone")


def apply_snapshot_request(tx: Tx, envelope: Envelope, now: datetime,
                           signer: snapshot.Signer | None = None) -> Effect:
    """Send the hub a snapshot of this node's stock totals (its pages follow this report)."""
    asked = envelope.body
    assert isinstance(asked, SnapshotRequest)
    taken = snapshot.take(tx, envelope.store_id, envelope.node_id, now, "hub",
                          asked.requested_by or "hub", "hub", signer=signer)
    return "applied", (f"snapshot {taken['snapshot_id']}: {taken['skus']} SKUs in "
                       f"{taken['pages']} pages, as of seq {taken['as_of_seq']}")


def apply_count_task(tx: Tx, envelope: Envelope, now: datetime) -> Effect:
    """Keep the hub's count task open for the counter (a task known already changes nothing)."""
    task = envelope.body
    assert isinstance(task, CountTask)
    _new, detail = tasks.receive(tx, task, envelope.id, now)
    return "applied", detail


def apply_transfer_task(tx: Tx, envelope: Envelope, now: datetime) -> Effect:
    """Keep the hub's transfer task (ship or receive) for the counter."""
    task = envelope.body
    assert isinstance(task, TransferTask)
    return transfers.take(tx, task, envelope.store_id, envelope.id, now)


def apply_transfer_delivered(tx: Tx, envelope: Envelope, now: datetime) -> Effect:
    """The transfer this store shipped arrived: its in-transit units leave the stock."""
    body = envelope.body
    assert isinstance(body, TransferDelivered)
    return transfers.delivered(tx, body, envelope.store_id, envelope.node_id, now)


def apply_transfer_cancelled(tx: Tx, envelope: Envelope, now: datetime) -> Effect:
    """The hub cancelled a transfer this store was to ship: its open task is dropped."""
    body = envelope.body
    assert isinstance(body, TransferCancelled)
    return transfers.cancelled(tx, body, now)


def apply_pick_task(tx: Tx, envelope: Envelope, now: datetime) -> Effect:
    """Keep the hub's pick task for the counter and reserve its units in the ledger."""
    task = envelope.body
    assert isinstance(task, PickTask)
    _new, detail = picking.receive(tx, picking.Node(envelope.store_id, envelope.node_id), task,
                                   envelope.id, now)
    return "applied", detail


def apply_pick_withdrawn(tx: Tx, envelope: Envelope, now: datetime) -> Effect:
    """Close a pick task the hub took back and release its reservation."""
    taken = envelope.body
    assert isinstance(taken, PickWithdrawn)
    node = picking.Node(envelope.store_id, envelope.node_id)
    return "applied", picking.withdraw(tx, node, taken.package_id, now)


APPLIERS: dict[str, Applier] = {
    "transfer.task": apply_transfer_task,
    "transfer.delivered": apply_transfer_delivered,
    "transfer.cancelled": apply_transfer_cancelled,
    "order.pick.task": apply_pick_task,
    "order.pick.withdrawn": apply_pick_withdrawn,
    "stock.snapshot.request": apply_snapshot_request,
    "stock.count.task": apply_count_task,
    "return.expected": apply_expected,
    "refund.decided": apply_decided,
    "refund.status": apply_status,
}


def handle(store: Store, store_id: str, node_id: str, payload: bytes, now: datetime,
           signer: snapshot.Signer | None = None) -> Outcome:
    """Decode, check and apply one command payload exactly once; never raises on bad input
    (``signer``: the node's key, which signs the snapshots a command asks for)."""
    try:
        envelope = decode(payload, expect=COMMAND_KINDS)
    except DecodeError as err:
        command_id, kind = _salvage(payload)
        return _settle(store, store_id, node_id, command_id, kind, now, refusal=str(err))
    if (envelope.store_id, envelope.node_id) != (store_id, node_id):
        refusal = (f"addressed to store {envelope.store_id} node {envelope.node_id}, "
                   f"not this node")
        return _settle(store, store_id, node_id, envelope.id, envelope.kind, now, refusal=refusal)
    return _settle(store, store_id, node_id, envelope.id, envelope.kind, now, envelope=envelope,
                   signer=signer)


def _settle(store: Store, store_id: str, node_id: str, command_id: str, kind: str,
            now: datetime, envelope: Envelope | None = None, refusal: str = "",
            signer: snapshot.Signer | None = None) -> Outcome:
    with store.write() as tx:
        if records.command_seen(tx, command_id):
            return Outcome(command_id, kind, "duplicate", "already applied")
        held: HeldEvent | None = None
        if envelope is not None and envelope.kind == "event.verify":
            (result, detail), held = verify_event(tx, envelope)
        elif envelope is not None:
            result, detail = _apply(tx, envelope, now, signer)
        else:
            result, detail = "refused", refusal
        detail = detail[:MAX_DETAIL]
        report = CommandApplied(command_id=command_id, command_kind=kind, result=result,
                                detail=detail, event=held)
        seq = outbox.append(tx, store_id, node_id, report, now).seq
        records.record_command(tx, command_id, kind, result, detail, now, seq)
        if result == "refused":
            audit.record(tx, at=now, actor="hub", role="hub", action="command.refused",
                         entity="command", entity_id=command_id, before=None,
                         after={"kind": kind, "detail": detail})
    if result == "refused":
        log.warning("refused hub command %s (%s): %s", command_id, kind, detail,
                    extra={"command_id": command_id, "command_kind": kind})
    return Outcome(command_id, kind, result, detail, envelope)


def _apply(tx: Tx, envelope: Envelope, now: datetime,
           signer: snapshot.Signer | None = None) -> Effect:
    """Run the kind's applier; a command kind this node has none for is refused, never raised."""
    applier = APPLIERS.get(envelope.kind)
    if envelope.kind == "stock.snapshot.request":
        applier = partial(apply_snapshot_request, signer=signer)
    if applier is None:
        return "refused", f"this node does not apply {envelope.kind} commands (update the agent)"
    return applier(tx, envelope, now)


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

