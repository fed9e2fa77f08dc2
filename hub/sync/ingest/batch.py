"""One batch of classified messages -> one transaction.

Rules:
- an event is new unless its (store, node, seq) is already stored: at or below the node's
  contiguous seq, already held beyond a gap, or earlier in the same batch (duplicates are
  skipped but still acked);
- a repeat of an APPLIED seq is a duplicate only if its message id is the held one; the same seq
  under another id means the node's database was reset or cloned (or the event is an intruder's),
  and that event is dead-lettered whole (acked, so the node moves on, but never silently dropped);
- a repeat of a seq held but not yet applied under another id is a claim: the node is asked which
  one it wrote (``hub.sync.ingest.claims``) and its stream waits at that seq until it answers;
- new events are stored in ``inbox``; events are applied to the projections strictly in seq
  order and only up to the contiguous seq; events beyond a gap wait in ``inbox`` until the gap
  fills AND the node sends them again (gaps are counted, and logged at most every few seconds:
  ``hub.sync.ingest.gaps``; see also ``hub.sync.ingest.claims``);
- an ``Unprocessable`` event (it names its node and seq but cannot be decoded, or storing it
  failed) takes its seq: it is recorded in ``unprocessable_events`` and dead-lettered, and the
  node's contiguous seq moves past it exactly as past an applied event, so a poisoned event never
  stalls its node; a repeat of it is a duplicate (no new dead letter); an event that later
  claims a seq held as unprocessable is dead-lettered whole, never silently dropped;
- ``stock.moved`` events go to the stock view (``hub.inventory.ledger``) in the same
  transaction (and, carrying a transfer id, to the transfer they follow,
  ``hub.inventory.transfers.follow``), then ``stock.snapshot`` pages to the consistency check
  (``hub.inventory.check``, which compares as of the page's seq), ``order.shipped`` and
  ``order.pick.given_back`` to ``hub.inventory.picking``, ``evidence.recorded`` (counter photos)
  to ``hub.finance.evidence.ingest``, every other event to the returns and refunds projector;
- node status messages update presence; a status older than the one held (the last will, made
  when the node connected) changes presence only, never the newer figures; rejected messages
  and events the projections refuse are written to ``dead_letters`` (payloads capped,
  ``hub.sync.ingest.dead``);
- a revoked node is not heard (``hub.fleet.identities``): its events, statuses and broken
  events are dead-lettered as from a revoked node, unapplied and unacked, from the commit of its
  revocation on (the broker has dropped it by then; this is for what was already on its way);
- the result says what to acknowledge: the retained ``ack`` per node that sent events;
- SEVERAL WORKERS (``shared``; README "Several hub workers"): the workers split the stores between
  them (``hub.sync.partitions``), but while a store changes hands two workers may hold consecutive
  seqs of one node, so (1) the batch locks the rows of the nodes it touches (``SELECT ... FOR
  UPDATE``, in (store, node) order, so two batches cannot deadlock) before it reads their cursors:
  each node's stream is advanced by one transaction at a time, on a cursor no other worker can
  move until this one commits. The writer opens the transaction with ``tip_last``
  (``hub.storage.engine``): the per-node part (locks, cursors read and written, inbox, claims)
  runs beside other workers' batches, and the audit tip is taken only before the projections,
  which touch rows other writers share (returns, stock, transfers, picking); and (2) an event that
  arrives AHEAD of its node's stream (beyond the node's contiguous seq plus what this batch
  carries in order, above anything held) while its message id is in ``may_hold`` is not stored but
  handed back in ``BatchResult.held_back``: the writer keeps it unacked and offers it again a
  moment later, when the worker holding the seqs before it has most likely committed them. The
  inbox does hold an event whole enough to apply, but an event that waited beyond a gap is applied
  only when it arrives again (``hub.sync.ingest.claims``: a planted event must not be applied just
  because it is stored), so holding it back in memory, where it is still "arriving", is what keeps
  the claim rules and the order both. Past the writer's wait it is stored beyond the gap as
  before, and the node's resend fills the gap.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from hub.finance.evidence import ingest as evidence_ingest
from hub.finance.fx_rates import FxBook
from hub.fleet.identities import REVOKED_OF_STORES, revoked_among, revoked_in
from hub.inventory import check as stock_check
from hub.inventory import ledger as stock_ledger
from hub.inventory import picking as store_picking
from hub.inventory.transfers import follow as transfer_follow
from hub.refunds.projection import Problem, Projector
from hub.storage import audit_log
from hub.storage.bulk import (
    JsonText,
    among,
    at_pairs,
    in_array,
    insert_rows,
    pairs_among,
    pairs_params,
    select_together,
    update_rows,
)
from hub.storage.engine import Tx
from hub.storage.tables.core import (
    dead_letters,
    inbox,
    nodes,
    refunds,
    returns,
    stores,
    unprocessable_events,
)
from hub.storage.upsert import insert_ignore
from hub.sync.ingest import claims, slots, state
from hub.sync.ingest.classify import Classified, NodeEvent, Rejected, StatusUpdate, Unprocessable
from hub.sync.ingest.dead import dead_letter_row
from hub.sync.ingest.gaps import Waiting
from protocol import Ack, Envelope, TopicKind, encode, node_topic

log = logging.getLogger(__name__)

Key = tuple[str, str]


@dataclass
class Cursor:
    """A node's position in its event stream, and its presence."""

    store_id: str
    node_id: str
    contiguous: int = 0
    highest: int = 0
    online: bool = False
    status: Any = None  # loaded only for a node whose status this batch carries (``said``)
    status_at: datetime | None = None
    had_gap: bool = False
    said: bool = False  # this batch carries the node's status: presence and figures are saved

    def ack(self) -> Ack:
        """What the hub tells the node it holds."""
        gap = self.contiguous if self.highest > self.contiguous else None
        return Ack(up_to_seq=self.contiguous, gap_after=gap)


@dataclass
class BatchResult:
    """What one committed batch did, and what to tell the nodes."""

    acks: dict[Key, Ack] = field(default_factory=dict)
    came_online: list[Key] = field(default_factory=list)
    stored: int = 0
    duplicates: int = 0
    applied: int = 0
    new_gaps: int = 0
    commands: int = 0
    dead: list[str] = field(default_factory=list)
    unprocessable: int = 0
    waiting: list[Waiting] = field(default_factory=list)
    held_back: set[str] = field(default_factory=set)  # message ids: ahead of their stream
    resent: set[Key] = field(default_factory=set)  # nodes that resent what their ack covers


def store_batch(tx: Tx, items: Sequence[Classified],
                evidence: evidence_ingest.EvidenceSink | None = None, shared: bool = False,
                may_hold: Set[str] = frozenset()) -> BatchResult:
    """Store, dedup, apply and dead-letter one batch inside ``tx`` (counter photos go to
    ``evidence``; without one they are dead-lettered, to be replayed). ``shared``: several
    workers ingest (lock the nodes; hold back the events of ``may_hold`` that come early)."""
    conn, result = tx.conn, BatchResult()
    first = None if shared else _first_reads(tx, items)
    items = _refuse_revoked(conn, items, first.revoked if first else None)
    events = [i for i in items if isinstance(i, NodeEvent)]
    statuses = [i for i in items if isinstance(i, StatusUpdate)]
    broken = [i for i in items if isinstance(i, Unprocessable)]
    keys = [e.key for e in events] + [b.key for b in broken] + [s.key for s in statuses]
    if shared:
        _lock_nodes(conn, keys, tx.now)
    cursors = _cursors(conn, keys, tx.now, {s.key for s in statuses},
                       first.positions if first else None)
    if may_hold:
        events, result.held_back = _hold_early(cursors, events, may_hold)
    fresh, repeats = _fresh(conn, cursors, events)
    taken, broken_repeats, bad_copies = _take(conn, cursors, broken, fresh)
    done, beyond = _split_repeats(conn, cursors, repeats)
    reused = _reused(conn, done, fresh) if done else []
    _insert_inbox(conn, fresh, tx.now)
    result.dead = _record_unprocessable(conn, taken, tx.now)
    result.unprocessable = len(taken)
    step = claims.settle(tx, cursors, fresh, beyond, events)
    for key, seq in [(t.key, t.seq) for t in taken] + _skipped_ahead(conn, cursors):
        step.carried[key].setdefault(seq, None)
    result.duplicates = len(repeats) - len(reused) - step.claimants + broken_repeats
    # a node that sends again what its ack already covers has not heard that ack
    result.resent = {e.key for e in repeats if e.envelope.seq <= cursors[e.key].contiguous}
    ready, result.new_gaps, result.waiting = _advance(cursors, step.carried, step.blocked)
    stock = [e for e in ready if e.kind == stock_ledger.KIND]
    snapshots = [e for e in ready if e.kind == stock_check.KIND]
    picks = [e for e in ready if e.kind in store_picking.KINDS]
    photos = [e for e in ready if e.kind == evidence_ingest.KIND]
    ready_returns = [e for e in ready if e.kind not in _NOT_PROJECTED]
    result.came_online = _apply_statuses(cursors, statuses)
    _save_cursors(conn, cursors.values(), tx.now)  # several workers: rows this batch has locked
    tx.take_tip()  # several workers: the per-node work above ran beside theirs; from here on
    # (returns, stock, transfers, picking: rows other writers share) one writer at a time
    projector = Projector(state.load(tx, ready_returns, first.ahead if first else None),
                          tx.now)
    for envelope in ready_returns:
        projector.apply(envelope)
    state.flush(tx, projector.changes)
    problems = projector.changes.problems + [
        Problem(p.event, p.reason) for p in stock_ledger.apply(tx, stock)]
    rates = lambda conn, day: FxBook(conn).lookup(day)  # noqa: E731 (the day's FX, for pricing)
    transfer_follow.apply(tx, stock, rates)
    problems += [Problem(p.event, p.reason) for p in stock_check.apply(tx, snapshots)]
    problems += [Problem(p.event, p.reason) for p in store_picking.apply(tx, picks, rates)]
    problems += ([Problem(p.event, p.reason) for p in evidence.apply(tx, photos)]
                 if evidence is not None else
                 [Problem(e, "this hub process keeps no evidence") for e in photos])
    rejected = [i for i in items if isinstance(i, Rejected)] + reused + bad_copies + step.dead
    result.dead += _dead_letters(conn, rejected, problems, tx.now)
    result.acks = {k: cursors[k].ack() for k in dict.fromkeys(  # once per node
        [e.key for e in events] + [b.key for b in broken])}
    result.stored, result.applied = len(fresh), len(ready)
    result.commands = len(projector.changes.commands) + step.commands
    return result


@dataclass
class _FirstReads:
    """What a batch reads first, in one round trip on PostgreSQL (``_first_reads``)."""

    revoked: set[Key]  # the batch's nodes that are revoked
    positions: list[Any]  # the position rows of every node of the batch's stores
    ahead: state.Ahead  # the returns and refunds its events name, as stored


def _first_reads(tx: Tx, items: Sequence[Classified]) -> _FirstReads | None:
    """One hub on PostgreSQL: the audit tip (locked first, unless the transaction holds it
    already), the batch's revoked nodes, its stores' node positions, and the stored returns its
    events name and refunds they ask for or may decide (those of the returns they inspect), in
    ONE round trip (``hub.storage.bulk.select_together``: three before, each
    1.5-5 ms of the writer's wait under load; the returns and refunds were read after the
    batch's first writes, and waited for them). None elsewhere, and for a batch of rejections
    only: each is read on its own.

    They are read before the batch decides which of its events apply: some are never used
    (repeats, events held at a gap). Every event it applies is one of its own messages (new, or
    sent again past a gap: ``claims.settle``), so ``state.load`` finds its rows read; it would
    read any other itself. Nothing changes them in between: every writer of ``returns`` and
    ``refunds`` (the ingest, the approvals desk, Amazon's refund matching, hub-side requests)
    holds the audit tip, and this transaction holds it from the first statement on."""
    conn = tx.conn
    keys = [i.key for i in items if not isinstance(i, Rejected)]
    if conn.dialect.name != "postgresql" or not keys:
        return None
    stores = sorted({s for s, _ in keys})
    projected = [i.envelope for i in items
                 if isinstance(i, NodeEvent) and i.envelope.kind not in _NOT_PROJECTED]
    named = state.return_keys(projected)
    asked, inspected = state.refund_keys(projected), state.inspected_keys(projected)
    tip_first = tx.tip is None  # taken first, as ``writing`` would have (statements in order)
    queries: list[tuple[Any, dict[str, Any]]] = [
        *([(audit_log.TIP_FOR_UPDATE, {"tip_id": audit_log.TIP_ID})] if tip_first else []),
        (REVOKED_OF_STORES, {"stores": stores}), (_POSITIONS_OF_STORES, {"stores": stores}),
        # table rows from here on, as ``conn.execute`` gives them (no keys: no rows, at once)
        (_RETURNS_AT, pairs_params(sorted(named))), (_REFUNDS_AT, pairs_params(sorted(asked))),
        (_REFUNDS_OF_RETURNS, pairs_params(sorted(inspected)))]
    found = select_together(conn, queries, mapped=set(range(len(queries) - 3, len(queries))))
    if tip_first:
        tx.tip = audit_log.tip_of(found.pop(0))
    revoked, positions, stored_returns, stored_refunds, refunds_of_returns = found
    ahead = state.Ahead(
        (named, {(r["store_id"], r["return_id"]): r for r in stored_returns}),
        (asked, {(r["store_id"], r["refund_id"]): r for r in stored_refunds}),
        (inspected, {(r["store_id"], r["refund_id"]): r for r in refunds_of_returns}))
    return _FirstReads(revoked_in(revoked, keys), positions, ahead)


def _refuse_revoked(conn: Connection, items: Sequence[Classified],
                    revoked: set[Key] | None = None) -> list[Classified]:
    """``items`` with every message of a revoked node turned into a rejection (``revoked``:
    those nodes, when already read)."""
    keyed = [i for i in items if not isinstance(i, Rejected)]
    if revoked is None:
        revoked = revoked_among(conn, (i.key for i in keyed))
    if not revoked:
        return list(items)
    return [_as_revoked(i) if not isinstance(i, Rejected) and i.key in revoked else i
            for i in items]


def _as_revoked(item: NodeEvent | StatusUpdate | Unprocessable) -> Rejected:
    kind = TopicKind.STATUS if isinstance(item, StatusUpdate) else TopicKind.EVENTS
    payload = item.payload if isinstance(item, Unprocessable) else encode(item.envelope)
    return Rejected(node_topic(item.store_id, item.node_id, kind),
                    f"{item.store_id}/{item.node_id}",
                    f"node {item.store_id}/{item.node_id} is revoked: its messages are refused",
                    "node_id", payload)


def _lock_nodes(conn: Connection, keys: Iterable[Key], now: datetime) -> None:
    """Several workers: lock the nodes' rows in (store, node) order until the commit, so one
    transaction at a time moves each node's stream; nodes never seen get their rows first.

    The rows that exist are locked before anything is inserted, so a transaction waiting on
    another's new row never holds a row that one wants (no lock cycle between batches)."""
    wanted = sorted(set(keys))
    if not wanted:
        return
    locked = _lock_rows(conn, wanted)
    missing = [k for k in wanted if k not in locked]
    if not missing:
        return
    _create_nodes(conn, missing, now)
    _lock_rows(conn, missing)


def _create_nodes(conn: Connection, keys: Sequence[Key], now: datetime) -> None:
    """Rows for nodes (and their stores) never seen, unless another transaction made them."""
    conn.execute(insert_ignore(conn, stores, ["store_id"]),
                 [{"store_id": s, "created_at": now} for s in sorted({s for s, _ in keys})])
    conn.execute(insert_ignore(conn, nodes, ["store_id", "node_id"]), [
        {"store_id": s, "node_id": n, "contiguous_seq": 0, "highest_seq": 0, "command_seq": 0,
         "online": False, "created_at": now} for s, n in keys])


def _lock_rows(conn: Connection, wanted: Sequence[Key]) -> set[Key]:
    """Lock the existing rows among ``wanted`` in (store, node) order; return their keys."""
    return {(r.store_id, r.node_id) for r in conn.execute(
        select(nodes.c.store_id, nodes.c.node_id)
        .where(pairs_among(conn, (nodes.c.store_id, nodes.c.node_id), wanted))
        .order_by(nodes.c.store_id, nodes.c.node_id).with_for_update())}


def committed_acks(conn: Connection, keys: Iterable[Key]) -> dict[Key, Ack]:
    """Several workers: each node's ack as committed, its row locked FOR SHARE until the caller's
    transaction ends (no other worker can move the node meanwhile, so what is published under
    this lock is never older than what another worker publishes after it)."""
    rows = conn.execute(select(nodes.c.store_id, nodes.c.node_id, nodes.c.contiguous_seq,
                               nodes.c.highest_seq)
                        .where(pairs_among(conn, (nodes.c.store_id, nodes.c.node_id), set(keys)))
                        .order_by(nodes.c.store_id, nodes.c.node_id).with_for_update(read=True))
    return {(r.store_id, r.node_id): Cursor(r.store_id, r.node_id, int(r.contiguous_seq),
                                            int(r.highest_seq)).ack() for r in rows}


def _hold_early(cursors: Mapping[Key, Cursor], events: Sequence[NodeEvent], may_hold: Set[str]
                ) -> tuple[list[NodeEvent], set[str]]:
    """Split off the events (of ``may_hold``) that come ahead of their node's stream: beyond
    the contiguous seq plus the seqs this batch carries in order, and above every held seq."""
    carried: dict[Key, set[int]] = defaultdict(set)
    for event in events:
        carried[event.key].add(event.envelope.seq)
    reach = {}
    for key, seqs in carried.items():
        top = cursors[key].contiguous
        while top + 1 in seqs:
            top += 1
        reach[key] = max(top, cursors[key].highest)
    kept: list[NodeEvent] = []
    held: set[str] = set()
    for event in events:
        if event.envelope.id in may_hold and event.envelope.seq > reach[event.key]:
            held.add(event.envelope.id)
        else:
            kept.append(event)
    return kept, held


_POSITION = (nodes.c.store_id, nodes.c.node_id, nodes.c.contiguous_seq, nodes.c.highest_seq)
_PRESENCE = (nodes.c.online, nodes.c.status, nodes.c.status_at)
# PostgreSQL: every node's position in the stores ``stores`` (an array; ``_first_reads``)
_POSITIONS_OF_STORES = select(*_POSITION).where(in_array(nodes.c.store_id, "stores"))
# the kinds other modules apply; every other event goes to the returns and refunds projector
_NOT_PROJECTED = frozenset({stock_ledger.KIND, stock_check.KIND, evidence_ingest.KIND,
                            *store_picking.KINDS})
_RETURNS_AT = at_pairs(returns, ("store_id", "return_id"))  # stored returns by key
_REFUNDS_AT = at_pairs(refunds, ("store_id", "refund_id"))  # stored refunds by key
_REFUNDS_OF_RETURNS = at_pairs(refunds, ("store_id", "return_id"))  # by their return's key


def _cursors(conn: Connection, keys: Iterable[Key], now: datetime,
             saying: Set[Key] = frozenset(), positions: Iterable[Any] | None = None
             ) -> dict[Key, Cursor]:
    """The nodes' positions (``positions``: rows already read for their stores, or more);
    their presence and status only for the nodes in ``saying`` (a node's status is JSON:
    reading and writing it back for every node of every batch was the larger part of the
    cursors' cost, and only a status message changes it)."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    rows: Iterable[Any] = positions if positions is not None else _positions(conn, wanted)
    found = {(r.store_id, r.node_id): r for r in rows}
    missing = [k for k in wanted if k not in found]
    if missing:
        _create_nodes(conn, missing, now)
    cursors = {k: _cursor(k, found.get(k)) for k in wanted}
    if saying:
        for r in conn.execute(select(*_POSITION[:2], *_PRESENCE).where(
                pairs_among(conn, (nodes.c.store_id, nodes.c.node_id), saying))):
            cursor = cursors[(r.store_id, r.node_id)]
            cursor.online, cursor.status, cursor.status_at = bool(r.online), r.status, r.status_at
    return cursors


def _positions(conn: Connection, keys: Sequence[Key]) -> list[Any]:
    """The position rows of every node of these keys' stores."""
    return list(conn.execute(select(*_POSITION).where(
        among(conn, nodes.c.store_id, sorted({s for s, _ in keys})))))


def _cursor(key: Key, row: Any) -> Cursor:
    if row is None:
        return Cursor(*key)
    return Cursor(key[0], key[1], int(row.contiguous_seq), int(row.highest_seq),
                  had_gap=row.highest_seq > row.contiguous_seq)


def _fresh(conn: Connection, cursors: Mapping[Key, Cursor],
           events: Sequence[NodeEvent]) -> tuple[list[NodeEvent], list[NodeEvent]]:
    """Split events into new ones and repeats of a seq the hub already holds."""
    fresh: list[NodeEvent] = []
    repeats: list[NodeEvent] = []
    maybe: dict[Key, list[NodeEvent]] = defaultdict(list)
    seen: set[tuple[Key, int]] = set()
    for event in events:
        cursor, seq = cursors[event.key], event.envelope.seq
        if seq <= cursor.contiguous or (event.key, seq) in seen:
            repeats.append(event)
            continue
        seen.add((event.key, seq))
        (maybe[event.key] if seq <= cursor.highest else fresh).append(event)
    candidates = [e for events_ in maybe.values() for e in events_]
    held = _held_slots(conn, [(e.key, e.envelope.seq) for e in candidates])
    fresh.extend(e for e in candidates if (e.key, e.envelope.seq) not in held)
    repeats.extend(e for e in candidates if (e.key, e.envelope.seq) in held)
    return fresh, repeats


def _split_repeats(conn: Connection, cursors: Mapping[Key, Cursor], repeats: Sequence[NodeEvent]
                   ) -> tuple[list[NodeEvent], list[NodeEvent]]:
    """Repeats of a seq that is settled (applied, or recorded unprocessable) and repeats of a seq
    held beyond the contiguous one (for the claim rules)."""
    done: list[NodeEvent] = []
    beyond: list[NodeEvent] = []
    for event in repeats:
        (done if event.envelope.seq <= cursors[event.key].contiguous else beyond).append(event)
    skipped = slots.held_ids(conn, unprocessable_events,
                             [(e.key, e.envelope.seq) for e in beyond]) if beyond else {}
    done += [e for e in beyond if (e.key, e.envelope.seq) in skipped]
    return done, [e for e in beyond if (e.key, e.envelope.seq) not in skipped]


def _skipped_ahead(conn: Connection, cursors: Mapping[Key, Cursor]) -> list[tuple[Key, int]]:
    """Seqs recorded unprocessable beyond a node's contiguous seq: the stream passes them when it
    reaches them (only nodes with a gap can have any)."""
    gapped = {key: c.contiguous for key, c in cursors.items() if c.highest > c.contiguous}
    return slots.held_beyond(conn, unprocessable_events, gapped) if gapped else []


def _reused(conn: Connection, repeats: Sequence[NodeEvent],
            fresh: Sequence[NodeEvent]) -> list[Rejected]:
    """Repeats whose message id differs from the held one: a seq used twice by one node.

    That happens only when a node's database was reset or cloned. Treating them as duplicates
    would silently drop real returns, so they are dead-lettered with their whole payload.
    """
    in_batch = {(e.key, e.envelope.seq): e.envelope.id for e in fresh}
    wanted = [(e.key, e.envelope.seq) for e in repeats]
    held = slots.held_ids(conn, inbox, wanted)
    skipped = slots.held_ids(conn, unprocessable_events, wanted)
    reused: list[Rejected] = []
    for event in repeats:
        key, seq = event.key, event.envelope.seq
        known = held.get((key, seq), in_batch.get((key, seq)))
        sender, topic = f"{key[0]}/{key[1]}", node_topic(key[0], key[1], TopicKind.EVENTS)
        if (key, seq) in skipped and known is None and skipped[(key, seq)] != event.envelope.id:
            reused.append(Rejected(
                topic, sender, f"seq {seq} of {sender} was recorded unprocessable and skipped; "
                "this later copy is kept here for the operator to apply by hand",
                "seq", encode(event.envelope)))
        elif known is not None and known != event.envelope.id:
            reused.append(Rejected(
                topic, sender, f"seq {seq} of {sender} was already used by message {known}; "
                "the node's database was reset or cloned - re-enrol it under a new node id",
                "seq", encode(event.envelope)))
    return reused


def _unprocessable_seqs(conn: Connection, key: Key, seqs: list[int]) -> dict[int, str | None]:
    rows = conn.execute(select(unprocessable_events.c.seq, unprocessable_events.c.message_id)
                        .where(unprocessable_events.c.store_id == key[0],
                               unprocessable_events.c.node_id == key[1],
                               unprocessable_events.c.seq.in_(seqs)))
    return {int(r.seq): r.message_id for r in rows}


def _held_slots(conn: Connection, wanted: Sequence[tuple[Key, int]]) -> set[tuple[Key, int]]:
    """Which of ``wanted`` the hub holds: stored, or recorded unprocessable (set-based)."""
    if not wanted:
        return set()
    return {*slots.held_ids(conn, inbox, wanted), *slots.held_ids(conn, unprocessable_events,
                                                                    wanted)}


def _take(conn: Connection, cursors: Mapping[Key, Cursor], broken: Sequence[Unprocessable],
          fresh: Sequence[NodeEvent]) -> tuple[list[Unprocessable], int, list[Rejected]]:
    """Unprocessable events whose seq is free (they take it); how many are resends of one
    already recorded (duplicates); and bad copies of a seq the hub holds otherwise (dead)."""
    claimed = {(e.key, e.envelope.seq) for e in fresh}
    taken: list[Unprocessable] = []
    repeats = 0
    bad_copies: list[Rejected] = []
    for item in broken:
        cursor = cursors[item.key]
        held = (item.seq <= cursor.contiguous or (item.key, item.seq) in claimed
                or (item.seq <= cursor.highest and _held_slots(conn, [(item.key, item.seq)])))
        if not held:
            claimed.add((item.key, item.seq))
            taken.append(item)
            continue
        recorded = {t.seq: t.message_id for t in taken if t.key == item.key}
        recorded |= _unprocessable_seqs(conn, item.key, [item.seq])
        if item.seq in recorded and recorded[item.seq] == item.message_id:
            repeats += 1  # the node resending the same unprocessable event
            continue
        sender = f"{item.store_id}/{item.node_id}"
        bad_copies.append(Rejected(
            node_topic(item.store_id, item.node_id, TopicKind.EVENTS), sender,
            f"an unprocessable message claims seq {item.seq} of {sender}, which the hub already "
            f"holds: {item.reason}", item.field, item.payload))
    return taken, repeats, bad_copies


def _record_unprocessable(conn: Connection, taken: Sequence[Unprocessable],
                          now: datetime) -> list[str]:
    reasons = []
    for item in taken:
        sender = f"{item.store_id}/{item.node_id}"
        reason = (f"event seq {item.seq} of {sender} is unprocessable and was skipped (the "
                  f"node's later events apply): {item.reason}")
        row = dead_letter_row(now, node_topic(item.store_id, item.node_id, TopicKind.EVENTS),
                              sender, reason, item.field, item.payload)
        dead_id = conn.execute(dead_letters.insert().values(row)).inserted_primary_key
        conn.execute(unprocessable_events.insert().values(
            store_id=item.store_id, node_id=item.node_id, seq=item.seq,
            message_id=item.message_id, received_at=now, reason=row["reason"],
            dead_letter_id=dead_id[0] if dead_id else None))
        reasons.append(reason)
    return reasons


def _insert_inbox(conn: Connection, fresh: Sequence[NodeEvent], now: datetime) -> None:
    """A plain insert (COPY on PostgreSQL), no conflict rule: ``fresh`` holds only free slots,
    judged on cursors read under the write lock (``_fresh``). Should a slot be taken all the
    same, the batch fails and is retried message by message (``writer``): loud, never lost."""
    if fresh:
        insert_rows(conn, inbox, [
            {"store_id": e.store_id, "node_id": e.node_id, "seq": e.envelope.seq,
             "message_id": e.envelope.id, "kind": e.envelope.kind,
             "body": JsonText(e.envelope.body.model_dump_json(exclude={"kind"})),
             "occurred_at": e.envelope.occurred_at, "received_at": now} for e in fresh])


def _advance(cursors: Mapping[Key, Cursor], carried: Mapping[Key, Mapping[int, Envelope | None]],
             blocked: Mapping[Key, int]) -> tuple[list[Envelope], int, list[Waiting]]:
    """Move each node's contiguous seq over what this batch carries; return the events to apply.

    The walk stops at a contested seq (``blocked``); a ``None`` in ``carried`` is a seq passed
    without an event to apply (recorded unprocessable, or settled as a gap by the claim rules).
    Nodes left short of what they sent are returned as ``Waiting`` (the writer counts them and
    logs them at most every few seconds, ``hub.sync.ingest.gaps``).
    """
    ready: list[Envelope] = []
    waiting: list[Waiting] = []
    new_gaps = 0
    for key, held in carried.items():
        cursor = cursors[key]
        if held:
            cursor.highest = max(cursor.highest, *held)
        stop = blocked.get(key)
        while cursor.contiguous + 1 in held and (stop is None or cursor.contiguous + 1 < stop):
            cursor.contiguous += 1
            envelope = held[cursor.contiguous]
            if envelope is not None:
                ready.append(envelope)
        if cursor.highest > cursor.contiguous:
            new_gaps += 0 if cursor.had_gap else 1
            waiting.append(Waiting(key, cursor.contiguous, cursor.highest))
    return ready, new_gaps, waiting


def _apply_statuses(cursors: Mapping[Key, Cursor], statuses: Sequence[StatusUpdate]) -> list[Key]:
    came_online: list[Key] = []
    for update_ in statuses:
        cursor = cursors[update_.key]
        was_online, cursor.online = cursor.online, update_.status.state == "online"
        said = update_.status.model_dump(mode="json", exclude={"kind"})
        at = update_.envelope.sent_at or update_.envelope.occurred_at
        if cursor.status is not None and cursor.status_at is not None and at < cursor.status_at:
            # an older message delivered now: the last will, whose figures the broker has kept
            # since the node connected. Presence is what it says; the figures stay the newer ones.
            said, at = {**cursor.status, "state": said["state"]}, cursor.status_at
        cursor.status, cursor.status_at, cursor.said = said, at, True
        if cursor.online and not was_online:
            came_online.append(update_.key)
    return came_online


def _save_cursors(conn: Connection, cursors: Iterable[Cursor], now: datetime) -> None:
    """Every node's position; presence and status only where this batch said them."""
    quiet: list[dict[str, Any]] = []
    said: list[dict[str, Any]] = []
    for c in cursors:
        row = {"store_id": c.store_id, "node_id": c.node_id, "contiguous_seq": c.contiguous,
               "highest_seq": c.highest, "last_seen_at": now}
        if c.said:
            said.append(row | {"online": c.online, "status": c.status, "status_at": c.status_at})
        else:
            quiet.append(row)
    for rows in (quiet, said):  # update_rows takes rows of one shape
        update_rows(conn, nodes, ("store_id", "node_id"), rows)


def _dead_letters(conn: Connection, rejected: Sequence[Rejected], problems: Sequence[Problem],
                  now: datetime) -> list[str]:
    rows: list[dict[str, Any]] = [
        dead_letter_row(now, r.topic, r.sender, r.reason, r.field, r.payload) for r in rejected]
    rows += [dead_letter_row(now, node_topic(p.event.store_id, p.event.node_id, TopicKind.EVENTS),
                             f"{p.event.store_id}/{p.event.node_id}",
                             f"event seq {p.event.seq} stored but not applied: {p.reason}", None,
                             encode(p.event)) for p in problems]
    if rows:
        conn.execute(dead_letters.insert(), rows)
    return [row["reason"] for row in rows]
