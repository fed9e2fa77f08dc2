"""An admin replays a dead-lettered event, or discards it (``acorn-hub dead-letters
replay|discard``, ``POST /api/fleet/dead-letters/{id}/replay|discard``).

The case it is for: a store machine whose database was wiped (or restored from an old copy)
comes back under its old node id and numbers its events from 1 again; the hub holds those seqs
already, so it dead-letters the new events whole (``hub.sync.ingest.batch``). Their seqs cannot
be given back to the node's stream, so a replayed event is applied under a sequence of the hub's
own: the node's replays are numbered 1, 2, ... in ``replayed_events.replay_seq``.

Rules:
- admin only (``administer``): a replay applies raw input the hub refused once;
- replayable is a dead letter whose stored payload is whole (not cut at ``PAYLOAD_CAP``) and
  classifies, by the ingest's own ``classify``, as a valid event of the node on whose topic it
  came; anything else (a forged, malformed, status or cut message) can only be discarded;
- one transaction: the event is applied to the projections, a ``replayed_events`` row records it
  (dead letter, node, replay seq, original seq and message id, who, when), the dead letter is
  marked resolved ("replayed as ..."), and ``dead_letter.replayed`` is audited;
- exactly once: a resolved dead letter is refused (Conflict, 409), and so is a message id that
  was already replayed or already applied from the node's stream (the same event dead-lettered
  twice, e.g. redelivered); the UNIQUE constraints on ``replayed_events`` hold under races too;
- an event the projections refuse (e.g. a return id the store already used) is not applied:
  Conflict with the projection's reason, nothing changed, the dead letter stays open to discard;
- ``discard`` needs a reason (1-500 characters) and is audited ``dead_letter.discarded``; the
  dead letter is kept, resolved, never deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from hub.access.permissions import Action, Principal, require
from hub.access.users import Actor
from hub.errors import Conflict, InputError
from hub.refunds.projection import Projector
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import Tx, reading, writing
from hub.storage.tables.core import dead_letters, inbox
from hub.storage.tables.fleet import replayed_events
from hub.sync.ingest import operator, state
from hub.sync.ingest.classify import NodeEvent, classify

MAX_REASON = 500


@dataclass(frozen=True)
class Replayed:
    """A dead letter applied: under which replay seq of which node."""

    dead_letter_id: int
    store_id: str
    node_id: str
    replay_seq: int
    original_seq: int
    message_id: str
    kind: str


def replayable(row: dict[str, Any]) -> NodeEvent | str:
    """The event a dead letter holds, or why it cannot be replayed."""
    payload = bytes(row["payload"])
    if row["payload_size"] is not None and row["payload_size"] != len(payload):
        return (f"only {len(payload)} of its {row['payload_size']} bytes were kept: "
                "it cannot be replayed")
    found = classify(row["topic"], payload)
    if not isinstance(found, NodeEvent):
        return "it is not a valid event of the node on whose topic it came"
    return found


def list_with_replay(engine: Engine, include_resolved: bool = False,
                     limit: int = 50) -> list[dict[str, Any]]:
    """Dead letters newest first, each with ``replayable`` (bool) and ``replayed`` (its row)."""
    rows = operator.list_dead_letters(engine, include_resolved, limit)
    ids = [r["id"] for r in rows]
    with reading(engine) as conn:
        whole = {r.id: dict(r._mapping) for r in conn.execute(
            select(dead_letters).where(dead_letters.c.id.in_(ids)))} if ids else {}
        done = {r.dead_letter_id: dict(r._mapping) for r in conn.execute(
            select(replayed_events).where(replayed_events.c.dead_letter_id.in_(ids)))} if ids \
            else {}
    out = []
    for row in rows:
        event = replayable(whole[row["id"]])
        out.append({**row, "topic": whole[row["id"]]["topic"],
                    "resolution": whole[row["id"]]["resolution"],
                    "replayable": isinstance(event, NodeEvent) and row["resolved_at"] is None,
                    "kind": event.envelope.kind if isinstance(event, NodeEvent) else None,
                    "replayed": done.get(row["id"])})
    return out


def replayed_of(engine: Engine, dead_letter_id: int) -> dict[str, Any] | None:
    """The ``replayed_events`` row of a dead letter, None if it was not replayed."""
    with reading(engine) as conn:
        row = conn.execute(select(replayed_events).where(
            replayed_events.c.dead_letter_id == dead_letter_id)).first()
    return None if row is None else dict(row._mapping)


def replay(engine: Engine, principal: Principal, dead_letter_id: int) -> Replayed:
    """Apply a dead-lettered event once under the node's next replay seq; audited."""
    require(principal, Action.ADMINISTER)
    with writing(engine) as tx:
        row = operator.one(tx.conn, dead_letter_id)
        if row["resolved_at"] is not None:
            raise Conflict(f"dead letter {dead_letter_id} was already resolved by "
                           f"{row['resolved_by']} ({row['resolution']}): it is not applied again")
        event = replayable(row)
        if isinstance(event, str):
            raise Conflict(f"dead letter {dead_letter_id}: {event}; discard it with a reason")
        _refuse_applied(tx.conn, event)
        _apply(tx, event)
        done = _record(tx, principal, dead_letter_id, event)
        why = f"replayed as replay seq {done.replay_seq} of {done.store_id}/{done.node_id}"
        tx.conn.execute(update(dead_letters).where(dead_letters.c.id == dead_letter_id).values(
            resolved_at=tx.now, resolved_by=principal.actor[:100], resolution=why))
        tx.audit(AuditDraft(principal.actor, principal.role.value, "dead_letter.replayed",
                            "dead_letter", str(dead_letter_id),
                            {"sender": row["sender"], "reason": row["reason"][:500],
                             "payload_sha256": row["payload_sha256"]},
                            {"node": f"{done.store_id}/{done.node_id}",
                             "replay_seq": done.replay_seq, "original_seq": done.original_seq,
                             "message_id": done.message_id, "kind": done.kind}, why))
    return done


def discard(engine: Engine, principal: Principal, dead_letter_id: int,
            reason: str) -> dict[str, Any]:
    """Resolve a dead letter without applying it; the reason is required; audited."""
    require(principal, Action.ADMINISTER)
    why = (reason or "").strip()
    if not 1 <= len(why) <= MAX_REASON:
        raise InputError(f"say why it is discarded (1-{MAX_REASON} characters)", field="reason")
    return operator.resolve_dead_letter(engine, dead_letter_id, f"discarded: {why}",
                                        Actor(principal.actor, principal.role.value),
                                        action="dead_letter.discarded")


def _refuse_applied(conn: Connection, event: NodeEvent) -> None:
    """Conflict if this message id was applied already, from the stream or a replay."""
    message_id = event.envelope.id
    earlier = conn.scalar(select(replayed_events.c.dead_letter_id).where(
        replayed_events.c.store_id == event.store_id, replayed_events.c.node_id == event.node_id,
        replayed_events.c.message_id == message_id))
    if earlier is not None:
        raise Conflict(f"message {message_id} was already replayed from dead letter {earlier}")
    seq = conn.scalar(select(inbox.c.seq).where(
        inbox.c.store_id == event.store_id, inbox.c.node_id == event.node_id,
        inbox.c.message_id == message_id))
    if seq is not None:
        raise Conflict(f"message {message_id} was already stored as seq {seq} of "
                       f"{event.store_id}/{event.node_id}")


def _apply(tx: Tx, event: NodeEvent) -> None:
    """Apply the event to the projections (as a batch of one), or Conflict with their reason."""
    projector = Projector(state.load(tx, [event.envelope]), tx.now)
    projector.apply(event.envelope)
    if projector.changes.problems:
        raise Conflict("the hub cannot apply this event: "
                       + "; ".join(p.reason for p in projector.changes.problems))
    state.flush(tx, projector.changes)


def _record(tx: Tx, principal: Principal, dead_letter_id: int, event: NodeEvent) -> Replayed:
    last = tx.conn.scalar(select(func.max(replayed_events.c.replay_seq)).where(
        replayed_events.c.store_id == event.store_id, replayed_events.c.node_id == event.node_id))
    done = Replayed(dead_letter_id, event.store_id, event.node_id, int(last or 0) + 1,
                    event.envelope.seq, event.envelope.id, event.envelope.kind)
    tx.conn.execute(replayed_events.insert().values(
        dead_letter_id=dead_letter_id, store_id=done.store_id, node_id=done.node_id,
        replay_seq=done.replay_seq, original_seq=done.original_seq, message_id=done.message_id,
        kind=done.kind, replayed_at=tx.now, replayed_by=principal.actor[:200]))
    return done
