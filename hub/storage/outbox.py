"""The hub -> node command outbox.

Rules:
- a command is queued in the same transaction as the change that causes it, with a per-node seq
  (``nodes.command_seq``) and an id that is also its envelope id;
- it is published (QoS 1) until the node reports ``command.applied``; the node applies each id
  once, so resending is always safe;
- queuing marks the transaction: once it commits, whoever registered with ``on_queued`` for that
  engine (the MQTT runtime's publisher) is told at once, so nothing that queues commands has to
  remember to wake the publisher;
- ``announce_expected`` is how the hub announces an RMA to a store's node, inside the caller's
  transaction (the Amazon returns sync marks the RMA announced in the same one);
  ``queue_expected_return`` does it in a transaction of its own (``acorn-hub returns expect``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, or_, select, update

from hub.errors import NotFound
from hub.storage.audit_chain import AuditDraft, jsonable
from hub.storage.bulk import pairs_among
from hub.storage.engine import Tx, after_commit, notify, writing
from hub.storage.tables.core import commands, nodes, stores
from hub.storage.upsert import insert_ignore
from protocol import Body, Envelope, ExpectedReturn, check_id, new_message_id


@dataclass(frozen=True)
class CommandDraft:
    """A hub -> node command to queue in the same transaction."""

    store_id: str
    node_id: str
    command_id: str
    body: Body


Key = tuple[str, str]
DUE_LIMIT = 500
QUEUED = "commands.queued"  # the after-commit topic of ``queue``


def ensure_node(conn: Connection, store_id: str, node_id: str, now: datetime) -> None:
    """Create the store and node rows if they do not exist yet."""
    check_id(store_id, "store id")
    check_id(node_id, "node id")
    conn.execute(insert_ignore(conn, stores, ["store_id"]),
                 [{"store_id": store_id, "created_at": now}])
    conn.execute(insert_ignore(conn, nodes, ["store_id", "node_id"]), [{
        "store_id": store_id, "node_id": node_id, "contiguous_seq": 0, "highest_seq": 0,
        "command_seq": 0, "online": False, "created_at": now}])


def queue(conn: Connection, drafts: Sequence[CommandDraft], now: datetime) -> list[str]:
    """Insert commands with the next per-node seqs; return their ids (nothing to queue: no
    statement, as for most ingest batches)."""
    if not drafts:
        return []
    per_node: dict[Key, list[CommandDraft]] = defaultdict(list)
    for draft in drafts:
        per_node[(draft.store_id, draft.node_id)].append(draft)
    rows: list[dict[str, Any]] = []
    tops = _reserve(conn, {key: len(group) for key, group in per_node.items()})
    for key, group in per_node.items():
        top = tops[key]
        for offset, draft in enumerate(group):
            rows.append(_row(draft, top - len(group) + 1 + offset, now))
    if rows:
        conn.execute(commands.insert(), rows)
        notify(conn, QUEUED)
    return [row["command_id"] for row in rows]


def on_queued(engine: Engine, callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` after every commit on ``engine`` that queued commands; return the
    function that stops it."""
    return after_commit(engine, QUEUED, callback)


_RESERVE = (  # PostgreSQL: every node's seqs in one statement (arrays), whatever their number
    "UPDATE nodes SET command_seq = nodes.command_seq + v.n "
    "FROM unnest(%s::text[], %s::text[], %s::bigint[]) AS v(store_id, node_id, n) "
    "WHERE nodes.store_id = v.store_id AND nodes.node_id = v.node_id "
    "RETURNING nodes.store_id, nodes.node_id, nodes.command_seq")


def _reserve(conn: Connection, counts: dict[Key, int]) -> dict[Key, int]:
    """Reserve ``count`` more command seqs for each node; each node's top seq after it.

    On PostgreSQL one statement for all of them: a batch of 700 refund requests from 700 nodes
    made 700 round trips here, most of the batch's time. Elsewhere one statement a node."""
    if conn.dialect.name != "postgresql":
        return {key: _reserve_seqs(conn, *key, count) for key, count in counts.items()}
    keys = sorted(counts)
    tops = {(r[0], r[1]): int(r[2]) for r in conn.exec_driver_sql(
        _RESERVE, ([s for s, _ in keys], [n for _, n in keys], [counts[k] for k in keys]))}
    for store_id, node_id in keys:
        if (store_id, node_id) not in tops:
            raise NotFound(f"node {store_id}/{node_id} is not known to the hub", field="node")
    return tops


def _reserve_seqs(conn: Connection, store_id: str, node_id: str, count: int) -> int:
    top = conn.execute(
        update(nodes).where(nodes.c.store_id == store_id, nodes.c.node_id == node_id)
        .values(command_seq=nodes.c.command_seq + count).returning(nodes.c.command_seq)
    ).scalar_one_or_none()
    if top is None:
        raise NotFound(f"node {store_id}/{node_id} is not known to the hub", field="node")
    return int(top)


def _row(draft: CommandDraft, seq: int, now: datetime) -> dict[str, Any]:
    kind = getattr(draft.body, "kind")  # noqa: B009 - every body class defines its kind
    return {"command_id": draft.command_id, "store_id": draft.store_id,
            "node_id": draft.node_id, "seq": seq, "kind": kind,
            "body": draft.body.model_dump(mode="json", exclude={"kind"}), "created_at": now,
            "send_count": 0}


def due(conn: Connection, now: datetime, resend_after: float, force: Iterable[Key] = (),
        limit: int = DUE_LIMIT) -> list[Any]:
    """Unapplied commands never sent, sent too long ago, or for a node in ``force``.

    ``force`` is one condition however many nodes it holds (``pairs_among``: two arrays on
    PostgreSQL). It was an OR of one term per node: when a thousand stores came online in one
    batch, building that statement took 40-140 ms of CPU with the GIL held, and the ingest
    writer's batches of the moment waited for it (single events took 75-80 ms to store)."""
    cutoff = now - timedelta(seconds=resend_after)
    conditions = [commands.c.last_sent_at.is_(None), commands.c.last_sent_at <= cutoff]
    forced = sorted(set(force))
    if forced:
        conditions.append(pairs_among(conn, (commands.c.store_id, commands.c.node_id), forced))
    return list(conn.execute(
        select(commands).where(commands.c.applied_at.is_(None), or_(*conditions))
        .order_by(commands.c.store_id, commands.c.node_id, commands.c.seq).limit(limit)))


def mark_sent(conn: Connection, command_ids: Sequence[str], now: datetime) -> None:
    """Record that these commands went out now."""
    if command_ids:
        conn.execute(update(commands).where(commands.c.command_id == bindparam("b_id"))
                     .values(last_sent_at=now, send_count=commands.c.send_count + 1),
                     [{"b_id": cid} for cid in command_ids])


def envelope_of(row: Any) -> Envelope:
    """The envelope a stored command is published as (same id and seq on every resend)."""
    return Envelope.model_validate({
        "id": row.command_id, "store_id": row.store_id, "node_id": row.node_id,
        "seq": row.seq, "kind": row.kind, "occurred_at": row.created_at, "body": row.body})


def unapplied_counts(conn: Connection) -> dict[Key, int]:
    """Unapplied commands per node (the outbox lag)."""
    rows = conn.execute(select(commands.c.store_id, commands.c.node_id, func.count())
                        .where(commands.c.applied_at.is_(None))
                        .group_by(commands.c.store_id, commands.c.node_id))
    return {(r[0], r[1]): int(r[2]) for r in rows}


def queue_expected_return(engine: Engine, store_id: str, node_id: str, body: ExpectedReturn,
                          actor: str, role: str) -> str:
    """Announce an expected return (RMA) to one node of a store; return the command id."""
    with writing(engine) as tx:
        return announce_expected(tx, store_id, node_id, body, actor, role)


def announce_expected(tx: Tx, store_id: str, node_id: str, body: ExpectedReturn, actor: str,
                      role: str) -> str:
    """Queue an expected return (RMA) for one node of a store inside ``tx``, audited; return
    the command id."""
    ensure_node(tx.conn, store_id, node_id, tx.now)
    draft = CommandDraft(store_id, node_id, new_message_id(), body)
    (command_id,) = queue(tx.conn, [draft], tx.now)
    tx.audit(AuditDraft(actor, role, "return.expected", "rma", f"{store_id}/{body.rma_id}",
                        None, jsonable({"node_id": node_id, "command_id": command_id,
                                        **body.model_dump(mode="json")})))
    return command_id
