"""Which event a node really wrote at a seq: the hub asks the node before it believes anyone.

Anyone holding a node's broker credentials can publish on its events topic; an event planted a
few seqs ahead of the node would otherwise be applied as the node's own and the node's real event
dead-lettered when it arrives ("seq already used"). So:

Rules:
- the stream moves only over events THIS batch carries in order (new events, or a copy of an
  event held beyond a gap with the held message id): an event that waited beyond a gap is applied
  only when it arrives again after the gap filled. The node resends everything after a gap the hub
  reports (``gap_after`` in the ack) and after every reconnect, so its own events always come
  again; a planted one that is not resent just waits, and is contested when the node's real event
  for that seq arrives;
- an event with another message id for a seq the hub holds but has NOT applied (beyond the
  contiguous seq) is a claim: both events are recorded in ``event_claims`` with their payload and
  ``event_hash``, the node's stream stops before that seq (nothing at or after it is applied), and
  one ``event.verify`` command (seq, candidates) is queued to the node through the command outbox;
  later claimants for the same seq join the open claim;
- the node answers with ``command.applied`` whose ``event`` names the message id and hash it holds
  at that seq. The answer is read as soon as it arrives, whatever its own seq (it sits behind the
  blocked seq in the node's stream). ``held`` and a claimant matches id AND hash: that event is
  stored in ``inbox`` at the seq and applied, every other claimant is dead-lettered as planted,
  naming its id. ``held`` but nothing matches, or ``not_written``: every claimant is dead-lettered
  and the seq is left empty for the node's own event, which it sends (again) until acked.
  An agent too old to know ``event.verify`` refuses it (no ``event``): then the event received
  first is kept and the others dead-lettered, as before claims existed, so nothing waits for good.
  ``gone`` (the node no longer keeps that seq, so the real event can never come): every claimant
  is dead-lettered and the seq is recorded as an unprocessable gap (claims with outcome ``gap``)
  that the stream passes when it reaches it, so it moves on;
- a different claimant for a seq already APPLIED (at or below the contiguous seq) is not
  contested but dead-lettered by ``hub.sync.ingest.batch._reused``: the hub applies a seq only from
  an
  event it received in order with no rival, or from the node's own answer, so the applied one is
  the node's and the later one is the intruder (or the node's database was reset or cloned);
- limits: this settles rivals the hub sees before it applies the seq. An event planted exactly
  at the node's next seq that arrives before the node's own has no rival when it comes, so it is
  applied and the node's own is dead-lettered whole ("already used"); a client with the node's
  credentials that also reads the node's commands can forge the answer; one that resends its
  planted event right after the node filled the gap below it gets it applied. Broker identities
  bound to client ids (issue 9, point 2: an intruder must kick the node off to publish) are the
  guard there. An answer is sent in seq order behind the node's pending events, so it waits if
  more than ``outbox_window`` events are pending behind the contested seq.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, delete, select, update

from hub.storage import outbox
from hub.storage.bulk import among
from hub.storage.engine import Tx
from hub.storage.outbox import CommandDraft
from hub.storage.tables.core import event_claims, inbox
from hub.storage.upsert import insert_ignore
from hub.sync.ingest import slots
from hub.sync.ingest.classify import NodeEvent, Rejected
from protocol import (
    Candidate,
    CommandApplied,
    Envelope,
    EventVerify,
    HeldEvent,
    TopicKind,
    decode,
    encode,
    event_hash,
    new_message_id,
    node_topic,
)

log = logging.getLogger(__name__)

Key = tuple[str, str]
Slot = tuple[Key, int]
MAX_CANDIDATES = 20  # EventVerify.candidates' bound: the node needs only its own id anyway


@dataclass
class Step:
    """What the claim rules decided for one batch."""

    carried: dict[Key, dict[int, Envelope | None]] = field(
        default_factory=lambda: defaultdict(dict))  # None: an unprocessable gap to pass
    blocked: dict[Key, int] = field(default_factory=dict)  # lowest contested seq per node
    dead: list[Rejected] = field(default_factory=list)
    claimants: int = 0  # repeats that were claims, not duplicates
    commands: int = 0


@dataclass(frozen=True)
class Claim:
    """One event claiming a seq."""

    envelope: Envelope
    payload: bytes
    hash: str


def settle(tx: Tx, cursors: Mapping[Key, Any], fresh: Sequence[NodeEvent],
           beyond: Sequence[NodeEvent], events: Sequence[NodeEvent]) -> Step:
    """Sort this batch's events into carried ones and claims; apply the node's answers.

    ``fresh`` are already in ``inbox``; ``beyond`` are repeats of a seq above the node's
    contiguous seq; ``events`` is every event of the batch (answers may be any of them).
    """
    conn, step = tx.conn, Step()
    for event in fresh:
        step.carried[event.key][event.envelope.seq] = event.envelope
    held = _held(conn, beyond)
    rivals: dict[Slot, list[NodeEvent]] = defaultdict(list)
    for event in beyond:
        slot = (event.key, event.envelope.seq)
        if held.get(slot) == event.envelope.id:
            step.carried[event.key][event.envelope.seq] = event.envelope
        else:
            rivals[slot].append(event)
            step.claimants += 1
    # only a node held beyond its contiguous seq can have an open claim or a gap not yet passed
    # (both are about a seq the hub holds and has not applied): most batches ask for none
    keys = {e.key for e in events if cursors[e.key].highest > cursors[e.key].contiguous}
    open_rows = _open_claims(conn, keys)
    for event, answer in _answers(events):
        _resolve(tx, step, event.key, answer, open_rows, rivals)
    for slot, claimants in rivals.items():
        _contest(tx, step, slot, claimants, open_rows)
    for key, seq in _gaps(conn, keys, cursors):
        step.carried[key].setdefault(seq, None)
    for row in open_rows:
        if row.resolved_at is None:
            key = (row.store_id, row.node_id)
            step.blocked[key] = min(step.blocked.get(key, row.seq), int(row.seq))
    return step


def _held(conn: Connection, beyond: Sequence[NodeEvent]) -> dict[Slot, str]:
    """The message id the inbox holds for each (node, seq) of ``beyond`` (one statement a
    chunk, whatever the number of nodes)."""
    if not beyond:
        return {}
    found = slots.held_ids(conn, inbox, [(e.key, e.envelope.seq) for e in beyond])
    return {slot: message_id for slot, message_id in found.items() if message_id is not None}


def _gaps(conn: Connection, keys: Iterable[Key], cursors: Mapping[Key, Any]) -> list[Slot]:
    """Seqs settled as unprocessable gaps that the stream has not passed yet (usually none)."""
    wanted = set(keys)
    if not wanted:
        return []
    rows = conn.execute(select(event_claims.c.store_id, event_claims.c.node_id,
                               event_claims.c.seq).distinct().where(
        event_claims.c.outcome == "gap",
        among(conn, event_claims.c.store_id, sorted({s for s, _ in wanted}))))
    return [((r.store_id, r.node_id), int(r.seq)) for r in rows
            if (r.store_id, r.node_id) in wanted
            and int(r.seq) > cursors[(r.store_id, r.node_id)].contiguous]


def _open_claims(conn: Connection, keys: Iterable[Key]) -> list[Any]:
    """Unresolved claims of these nodes (as mutable row copies; usually none at all)."""
    wanted = set(keys)
    if not wanted:
        return []
    rows = conn.execute(select(event_claims).where(
        event_claims.c.resolved_at.is_(None),
        among(conn, event_claims.c.store_id, sorted({s for s, _ in wanted}))))
    return [_Row(r._asdict()) for r in rows if (r.store_id, r.node_id) in wanted]


class _Row(dict[str, Any]):
    """A claim row whose fields read as attributes and can be changed in place."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as err:
            raise AttributeError(name) from err


def _answers(events: Sequence[NodeEvent]) -> list[tuple[NodeEvent, CommandApplied]]:
    found = []
    for event in events:
        body = event.envelope.body
        if isinstance(body, CommandApplied) and body.command_kind == "event.verify":
            found.append((event, body))
    return found


def _resolve(tx: Tx, step: Step, key: Key, answer: CommandApplied, open_rows: list[Any],
             rivals: dict[Slot, list[NodeEvent]]) -> None:
    """Apply the node's answer to the claim its command asked about (if still open)."""
    rows = [r for r in open_rows if r.command_id == answer.command_id
            and (r.store_id, r.node_id) == key and r.resolved_at is None]
    if not rows:
        return  # a repeated answer, or one for a claim already settled
    seq = int(rows[0].seq)
    rows = [r for r in open_rows if (r.store_id, r.node_id) == key and r.seq == seq
            and r.resolved_at is None]
    claims = [_claim_of_row(r) for r in rows]
    claims += [_claim(e) for e in rivals.pop((key, seq), [])]
    conn, now = tx.conn, tx.now
    held = answer.event or _first(conn, key, seq, answer)
    kept = _kept(claims, held)
    planted = [c for c in claims if kept is None or c.envelope.id != kept.envelope.id]
    if kept is not None:
        _store(conn, key, seq, kept.envelope, now)
        step.carried[key][seq] = kept.envelope
    else:
        conn.execute(delete(inbox).where(inbox.c.store_id == key[0], inbox.c.node_id == key[1],
                                         inbox.c.seq == seq))
        step.carried[key].pop(seq, None)
        if held.state == "gone":
            step.carried[key][seq] = None
    why = _why(key, seq, held, verified=answer.event is not None)
    for claim in _unique(planted):
        step.dead.append(Rejected(node_topic(key[0], key[1], TopicKind.EVENTS),
                                  f"{key[0]}/{key[1]}", f"planted event {claim.envelope.id}: "
                                  f"{why}", "seq", claim.payload))
    conn.execute(update(event_claims).where(
        event_claims.c.store_id == key[0], event_claims.c.node_id == key[1],
        event_claims.c.seq == seq, event_claims.c.resolved_at.is_(None)).values(
        resolved_at=now, outcome="gap" if held.state == "gone" else "planted"))
    if kept is not None:
        conn.execute(update(event_claims).where(
            event_claims.c.store_id == key[0], event_claims.c.node_id == key[1],
            event_claims.c.seq == seq, event_claims.c.message_id == kept.envelope.id).values(
            outcome="kept"))
    for row in rows:
        row["resolved_at"] = now
    log.warning("claim on seq %d of %s/%s settled by the node (%s): kept %s, dead-lettered %d",
                seq, key[0], key[1], held.state, kept.envelope.id if kept else "none",
                len(_unique(planted)))


def _first(conn: Connection, key: Key, seq: int, answer: CommandApplied) -> HeldEvent:
    """No ``event`` in the answer (an agent too old to know ``event.verify`` refuses it): fall
    back to keeping the event the hub received first, so the stream never waits for good."""
    log.warning("node %s/%s could not verify seq %d (%s: %s); keeping the first event received",
                key[0], key[1], seq, answer.result, answer.detail)
    row = conn.execute(select(inbox).where(inbox.c.store_id == key[0], inbox.c.node_id == key[1],
                                           inbox.c.seq == seq)).first()
    if row is None:
        return HeldEvent(seq=seq, state="not_written")
    first = inbox_envelope(row)
    return HeldEvent(seq=seq, state="held", message_id=first.id,
                     event_hash=event_hash(first.kind, first.occurred_at, first.body))


def _kept(claims: Sequence[Claim], held: HeldEvent) -> Claim | None:
    if held.state != "held":
        return None
    for claim in claims:
        if claim.envelope.id == held.message_id and claim.hash == held.event_hash:
            return claim
    return None


def _why(key: Key, seq: int, held: HeldEvent, verified: bool) -> str:
    where = f"seq {seq} of {key[0]}/{key[1]}"
    if not verified:
        return (f"the node could not verify {where} (it does not know event.verify); message "
                f"{held.message_id} was received first and is kept")
    if held.state == "held":
        return (f"the node confirmed it wrote message {held.message_id} at {where}; "
                "this event claimed the same seq")
    if held.state == "not_written":
        return f"the node has not written {where} yet; it will send its own event there"
    return (f"the node no longer keeps {where}, so no claimant can be confirmed; the seq is "
            "passed as an unprocessable gap")


def _unique(claims: Iterable[Claim]) -> list[Claim]:
    return list({c.envelope.id: c for c in claims}.values())


def _store(conn: Connection, key: Key, seq: int, envelope: Envelope, now: datetime) -> None:
    """Put the node's own event into the inbox at ``seq`` (replacing a planted one)."""
    values = {"message_id": envelope.id, "kind": envelope.kind,
              "body": envelope.body.model_dump(mode="json", exclude={"kind"}),
              "occurred_at": envelope.occurred_at, "received_at": now}
    done = conn.execute(update(inbox).where(inbox.c.store_id == key[0],
                                            inbox.c.node_id == key[1], inbox.c.seq == seq)
                        .values(**values)).rowcount
    if not done:
        conn.execute(inbox.insert(), [{"store_id": key[0], "node_id": key[1], "seq": seq,
                                       **values}])


def _contest(tx: Tx, step: Step, slot: Slot, claimants: Sequence[NodeEvent],
             open_rows: list[Any]) -> None:
    """Record the held event and its rivals as claims; ask the node once which it wrote."""
    (key, seq), conn, now = slot, tx.conn, tx.now
    held_row = conn.execute(select(inbox).where(
        inbox.c.store_id == key[0], inbox.c.node_id == key[1], inbox.c.seq == seq)).first()
    claims = [_claim(e) for e in claimants]
    if held_row is not None:
        claims.insert(0, _claim_of_envelope(inbox_envelope(held_row)))
    if not claims:
        return
    existing = [r for r in open_rows if (r.store_id, r.node_id) == key and r.seq == seq]
    known = {r.message_id for r in existing}
    new = [c for c in _unique(claims) if c.envelope.id not in known]
    command_id = next((r.command_id for r in existing if r.command_id), None)
    if command_id is None:
        command_id = _ask(conn, key, seq, [*map(_claim_of_row, existing), *new], now)
        step.commands += 1
    rows = [{"store_id": key[0], "node_id": key[1], "seq": seq, "message_id": c.envelope.id,
             "event_hash": c.hash, "payload": c.payload, "received_at": now,
             "command_id": command_id, "resolved_at": None, "outcome": None} for c in new]
    if rows:
        conn.execute(insert_ignore(conn, event_claims,
                                   ["store_id", "node_id", "seq", "message_id"]), rows)
        open_rows.extend(_Row(r) for r in rows)
        log.warning("seq %d of %s/%s is claimed by %d different events; asked the node (%s)",
                    seq, key[0], key[1], len(known) + len(new), command_id)


def _ask(conn: Connection, key: Key, seq: int, claims: Sequence[Claim], now: datetime) -> str:
    body = EventVerify(seq=seq, candidates=[
        Candidate(message_id=c.envelope.id, event_hash=c.hash)
        for c in _unique(claims)[:MAX_CANDIDATES]])
    (command_id,) = outbox.queue(conn, [CommandDraft(key[0], key[1], new_message_id(), body)],
                                 now)
    return command_id


def _claim(event: NodeEvent) -> Claim:
    return _claim_of_envelope(event.envelope)


def _claim_of_envelope(envelope: Envelope) -> Claim:
    return Claim(envelope, encode(envelope),
                 event_hash(envelope.kind, envelope.occurred_at, envelope.body))


def _claim_of_row(row: Any) -> Claim:
    envelope = decode(bytes(row.payload))
    return Claim(envelope, bytes(row.payload), cast(str, row.event_hash))


def inbox_envelope(row: Any) -> Envelope:
    """The envelope of a stored inbox row."""
    return Envelope.model_validate({
        "id": row.message_id, "store_id": row.store_id, "node_id": row.node_id, "seq": row.seq,
        "kind": row.kind, "occurred_at": row.occurred_at, "body": row.body})
