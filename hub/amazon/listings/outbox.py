"""The listings quantity outbox (``amazon_listing_changes``): queue, claim, record, read.

Rules:
- ``enqueue`` queues only changes (``diff.changes`` against the newest row of each key), each
  with the next ``change_id`` of its key, in one audited transaction: queuing the same offers
  twice queues nothing the second time;
- ``claim`` hands out what to send for one account × marketplace: the newest ``pending`` row
  of each key; older pending or in-doubt rows of a key with a newer row are ``superseded``
  (Amazon takes absolute quantities: only the newest one matters); rows left ``sending`` by a
  crash come back as "in doubt", for the sender to check before anything is resent;
- every state change is audited, one entry per batch (entity ``amazon_listing_batch``) naming
  each change it moved.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, select, update

from hub.amazon.listings.diff import Key, Offered, Sources, changes, state_of
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import Tx, reading, writing
from hub.storage.listing_heads import head_rows
from hub.storage.tables.amazon_listings import amazon_listing_changes as t

OPEN = ("pending", "sending")
DONE = ("accepted", "invalid")


@dataclass(frozen=True, slots=True)
class Change:
    """One queued change as the sender sees it."""

    id: int
    account: str
    marketplace_id: str
    sku: str
    change_id: int
    quantity: int
    status: str
    channel: str | None
    feed_id: str | None
    message_id: int | None
    sources: Sources = ()

    @property
    def label(self) -> str:
        """``SKU#change`` for audit entries and messages."""
        return f"{self.sku}#{self.change_id}"


def _change(row: Any) -> Change:
    m = row._mapping
    return Change(
        m["id"],
        m["account"],
        m["marketplace_id"],
        m["sku"],
        m["change_id"],
        m["quantity"],
        m["status"],
        m["channel"],
        m["feed_id"],
        m["message_id"],
        _sources(m["sources"]),
    )


def _sources(stored: Any) -> Sources:
    """The JSON ``sources`` column as sorted (id, quantity) pairs."""
    return tuple(sorted((str(k), int(v)) for k, v in (stored or {}).items()))


def last_queued(conn: Connection, account: str | None = None) -> dict[Key, tuple[int, object]]:
    """(newest change id, its state: ``Offered.state``) per key."""
    return {
        (r.account, r.marketplace_id, r.sku): (r.change_id, state_of(r.quantity,
                                                                     _sources(r.sources)))
        for r in head_rows(conn, account=account)
    }


def audit_batch(
    tx: Tx,
    actor: str,
    role: str,
    action: str,
    account: str,
    market: str,
    changed: Iterable[Change | Offered],
    after: Any,
    why: str | None = None,
) -> None:
    """One audit entry for a batch of changes of one account × marketplace."""
    labels: list[Any] = [c.label if isinstance(c, Change) else c.sku for c in changed]
    tx.audit(
        AuditDraft(
            actor,
            role,
            action,
            "amazon_listing_batch",
            f"{account}/{market}",
            {"changes": labels},
            after,
            why,
        )
    )


def enqueue(engine: Engine, offered: Sequence[Offered], actor: str, role: str) -> list[Offered]:
    """Queue the offers that change a quantity; what was queued."""
    queued: list[Offered] = []
    with writing(engine) as tx:
        last = last_queued(tx.conn)
        queued = changes(offered, {k: q for k, (_, q) in last.items()})
        if not queued:
            return []
        tx.conn.execute(
            t.insert(),
            [
                {
                    "account": o.account,
                    "marketplace_id": o.marketplace_id,
                    "sku": o.sku,
                    "change_id": last.get(o.key, (0, 0))[0] + 1,
                    "quantity": o.quantity,
                    "sources": dict(o.sources) if o.sources else None,
                    "status": "pending",
                    "attempts": 0,
                    "created_at": tx.now,
                }
                for o in queued
            ],
        )
        by_market: dict[tuple[str, str], list[Offered]] = {}
        for offer in queued:
            by_market.setdefault((offer.account, offer.marketplace_id), []).append(offer)
        for (account, market), batch in sorted(by_market.items()):
            audit_batch(
                tx,
                actor,
                role,
                "amazon.listings.queued",
                account,
                market,
                batch,
                {"quantities": {o.sku: (o.quantity if not o.sources else dict(o.sources))
                                for o in batch}},
            )
    return queued


def claim(
    engine: Engine, account: str, market: str, actor: str, role: str
) -> tuple[list[Change], list[Change]]:
    """(pending changes to send, in-doubt changes to check) of one account × marketplace."""
    with writing(engine) as tx:
        rows = [
            _change(r)
            for r in tx.conn.execute(
                select(t)
                .where(t.c.account == account, t.c.marketplace_id == market, t.c.status.in_(OPEN))
                .order_by(t.c.sku, t.c.change_id)
            )
        ]
        newest: dict[str, Change] = {}
        for change in rows:
            newest[change.sku] = change  # ordered by change id: the last one wins
        superseded = [c for c in rows if newest[c.sku].id != c.id]
        if superseded:
            _set_status(tx, superseded, "superseded")
            audit_batch(
                tx,
                actor,
                role,
                "amazon.listings.superseded",
                account,
                market,
                superseded,
                {"status": "superseded"},
                "a newer quantity of the same SKU was queued before this one was sent",
            )
    kept = sorted(newest.values(), key=lambda c: c.id)
    return ([c for c in kept if c.status == "pending"], [c for c in kept if c.status == "sending"])


def _set_status(tx: Tx, batch: Sequence[Change], status: str) -> None:
    tx.conn.execute(
        update(t).where(t.c.id == bindparam("row_id")).values(status=status, done_at=tx.now),
        [{"row_id": c.id} for c in batch],
    )


def mark_sending(
    engine: Engine,
    batch: Sequence[Change],
    channel: str,
    actor: str,
    role: str,
    message_ids: Sequence[int] | None = None,
) -> None:
    """The batch is about to leave: ``sending`` on ``channel`` (committed before the request)."""
    if not batch:
        return
    ids = message_ids or [None] * len(batch)  # type: ignore[list-item]
    with writing(engine) as tx:
        tx.conn.execute(
            update(t)
            .where(t.c.id == bindparam("row_id"))
            .values(
                status="sending",
                channel=channel,
                attempts=t.c.attempts + 1,
                sent_at=tx.now,
                message_id=bindparam("msg"),
                feed_id=None,
            ),
            [{"row_id": c.id, "msg": m} for c, m in zip(batch, ids, strict=True)],
        )
        audit_batch(
            tx,
            actor,
            role,
            "amazon.listings.sending",
            batch[0].account,
            batch[0].marketplace_id,
            batch,
            {"status": "sending", "channel": channel},
        )


def set_feed(engine: Engine, batch: Sequence[Change], feed_id: str, actor: str, role: str) -> None:
    """createFeed answered: the batch is in Amazon's feed ``feed_id``."""
    with writing(engine) as tx:
        tx.conn.execute(update(t).where(t.c.id.in_([c.id for c in batch])).values(feed_id=feed_id))
        audit_batch(
            tx,
            actor,
            role,
            "amazon.listings.feed_sent",
            batch[0].account,
            batch[0].marketplace_id,
            batch,
            {"feed_id": feed_id},
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What Amazon said about one change."""

    change: Change
    status: str  # accepted | invalid | pending (not applied: to be sent again)
    issues: list[dict[str, Any]]
    submission_id: str | None = None


def record(
    engine: Engine, outcomes: Sequence[Outcome], actor: str, role: str, why: str | None = None
) -> None:
    """Amazon's answers, one transaction and one audit entry per status."""
    if not outcomes:
        return
    with writing(engine) as tx:
        tx.conn.execute(
            update(t)
            .where(t.c.id == bindparam("row_id"), t.c.status == "sending")
            .values(
                status=bindparam("new_status"),
                issues=bindparam("new_issues"),
                submission_id=bindparam("sub"),
                done_at=tx.now,
            ),
            [
                {
                    "row_id": o.change.id,
                    "new_status": o.status,
                    "new_issues": o.issues or None,
                    "sub": o.submission_id,
                }
                for o in outcomes
            ],
        )
        for status in sorted({o.status for o in outcomes}):
            batch = [o for o in outcomes if o.status == status]
            after: dict[str, Any] = {"status": status}
            if status == "invalid":
                after["issues"] = {
                    o.change.label: [i.get("message") for i in o.issues] for o in batch
                }
            audit_batch(
                tx,
                actor,
                role,
                f"amazon.listings.{status}",
                batch[0].change.account,
                batch[0].change.marketplace_id,
                [o.change for o in batch],
                after,
                why,
            )


def issues(conn: Connection, account: str | None = None) -> list[dict[str, Any]]:
    """The newest change of each key that Amazon refused, with its issues, by SKU."""
    rows = sorted(head_rows(conn, account=account),
                  key=lambda r: (r.account, r.marketplace_id, r.sku))
    return [
        {
            "account": r.account,
            "marketplace_id": r.marketplace_id,
            "sku": r.sku,
            "change_id": r.change_id,
            "quantity": r.quantity,
            "issues": r.issues or [],
            "channel": r.channel,
            "feed_id": r.feed_id,
            "at": r.done_at,
        }
        for r in rows
        if r.status == "invalid"
    ]


def counts(engine: Engine, account: str | None = None) -> dict[str, int]:
    """Changes by status."""
    query = select(t.c.status, func.count()).group_by(t.c.status)
    if account is not None:
        query = query.where(t.c.account == account)
    with reading(engine) as conn:
        return {status: int(n) for status, n in conn.execute(query)}
