"""Amazon refunds that need a person: retry a failed refund, resolve an ambiguous feed.

Retry (``retry_refund``; the API's ``retry_as`` checks the caller first):
- only a refund in state ``failed`` and channel ``amazon_mfn`` can be retried, and a reason
  (1-2000 characters) is required;
- a refund has at most one queued retry: asking again before the next refunds run is a Conflict,
  and nothing more is sent;
- a refund whose feed is still open (``intent``, ``ambiguous``, ``sent``) is not retried: what
  Amazon made of it is not known yet;
- a refund that still cannot be expressed as an adjustment (``refund_claims.plan_problem``: SKU
  not in the order, another currency, FBA) is refused at once, with the reason;
- nothing is sent here: a retry request is recorded (``amazon_refund_retries``, audited
  ``refund.retry_requested``) and the next refunds claim sends the refund in a new feed, in the
  claim's transaction (``refund_claims``: ``failed -> submitted``, the old submission replaced,
  the request deleted). Sent again and refused again, it is simply failed again, with the new
  reason;
- over the API only finance and admin may retry, and only in their scope.

Resolve (``resolve_feed``):
- only an ``ambiguous`` feed can be resolved (Conflict otherwise) and a reason is required;
- adopt (``amazon_feed_id`` given: the person found ours in Seller Central): the id must be one of
  the candidates ``getFeeds`` listed when the feed went ambiguous, read back from its
  ``amazon.feed.ambiguous`` audit entry, and no other feed row may hold it. The feed becomes
  ``sent`` with that id; the next refunds run follows it like any sent feed;
- abandon (``amazon_feed_id`` None: none of them is ours, or the person refunds by hand): the
  feed becomes ``abandoned`` and each of its refunds moves ``submitted -> failed`` with "feed
  abandoned by <who>: <reason>", so each can be retried on its own. Refused when Amazon already
  confirmed one of its refunds (a refund event matched it): the feed did reach Amazon, so one of
  the candidates is ours and must be adopted instead;
- either way the resolution is audited (``amazon.feed.resolved``) and the account is unblocked:
  ``sent`` and ``abandoned`` are not in ``refund_claims.UNRESOLVED``.

Listing (``list_refunds``, ``list_feeds``, for ``acorn-hub amazon refunds|feeds list``): a failed
refund's reason is its last ``refund.failed`` audit entry's (every way of failing writes one:
Amazon's report, a FATAL feed, a plan error, an abandoned feed); a feed's candidates come from
its ``amazon.feed.ambiguous`` entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, select, update

from hub.access.permissions import HQ_APPROVERS, Principal, require_in_scope
from hub.access.users import Actor
from hub.amazon.refunds.claims import UNRESOLVED, plan_problem
from hub.amazon.refunds.matching import move_refund
from hub.errors import Conflict, Forbidden, InputError, NotFound
from hub.fleet import stores
from hub.refunds.projection import entity_id, refund_summary
from hub.refunds.states import RefundAction, RefundState
from hub.returns.queries import find_one
from hub.storage.audit_chain import AuditDraft, jsonable
from hub.storage.engine import Tx, writing
from hub.storage.tables.amazon import amazon_feeds, amazon_refund_retries, amazon_refund_submissions
from hub.storage.tables.core import audit_log, refunds
from protocol import Channel

REASON_MAX = 2000
OPEN_FEEDS = (*UNRESOLVED, "sent")
AMBIGUOUS = "amazon.feed.ambiguous"
FEED_STATUSES = ("intent", "sent", "done", "fatal", "refused", "ambiguous", "abandoned")
LISTED_STATES = ("approved", "submitted", "confirmed", "settled", "failed")
CHUNK = 500


@dataclass(frozen=True)
class Resolution:
    """How an ambiguous feed was resolved."""

    feed_key: str
    account: str
    status: str  # "sent" (adopted) or "abandoned"
    feed_id: str | None
    failed: list[str]  # store/refund ids moved to failed (abandon)


def check_reason(reason: str | None) -> str:
    """The reason, stripped; InputError naming ``reason`` when it is missing or too long."""
    text = (reason or "").strip()
    if not text:
        raise InputError("a reason is required", field="reason")
    if len(text) > REASON_MAX:
        raise InputError(f"a reason is at most {REASON_MAX} characters", field="reason")
    return text


def require_refund_officer(principal: Principal) -> None:
    """Raise Forbidden unless the principal may retry Amazon refunds (finance, admin)."""
    if principal.role not in HQ_APPROVERS:
        raise Forbidden(f"role {principal.role.value} may not retry refunds: finance and admin do")


def retry_refund(
    engine: Engine, actor: Actor, store_id: str, refund_id: str, reason: str
) -> dict[str, Any]:
    """Queue a failed MFN refund for the next refunds run; return the retry request."""
    why = check_reason(reason)
    with writing(engine) as tx:
        row = find_one(tx.conn, refunds, "refund_id", refund_id, store_id, "refund", lock=True)
        return _retry(tx, actor, row, why)


def retry_as(
    engine: Engine, principal: Principal, refund_id: str, store: str | None, reason: str
) -> dict[str, Any]:
    """``retry_refund`` for an API caller: finance or admin, the refund's store in scope."""
    require_refund_officer(principal)
    why = check_reason(reason)
    with writing(engine) as tx:
        row = find_one(tx.conn, refunds, "refund_id", refund_id, store, "refund", lock=True)
        require_in_scope(principal, stores.place(tx.conn, row["store_id"]))
        return _retry(tx, Actor(principal.actor, principal.role.value), row, why)


def _retry(tx: Tx, actor: Actor, row: dict[str, Any], reason: str) -> dict[str, Any]:
    ident = entity_id(row["store_id"], row["refund_id"])
    _check_retry(tx.conn, row, ident)
    request = {
        "store_id": row["store_id"],
        "refund_id": row["refund_id"],
        "requested_by": actor.name,
        "reason": reason,
        "requested_at": tx.now,
    }
    tx.conn.execute(amazon_refund_retries.insert().values(request))
    summary = refund_summary(row)
    after = {**summary, "retry": jsonable(request)}
    tx.audit(AuditDraft(actor.name, actor.role, "refund.retry_requested", "refund", ident,
                        summary, after, reason))  # fmt: skip
    return request


def _check_retry(conn: Connection, row: dict[str, Any], ident: str) -> None:
    """Conflict with a sentence unless this refund may be queued for a retry now."""
    if row["channel"] != Channel.AMAZON_MFN.value:
        raise Conflict(
            f"refund {ident} is a {row['channel']} refund: only Amazon MFN refunds are sent "
            "again from here"
        )
    if row["state"] != RefundState.FAILED.value:
        raise Conflict(f"refund {ident} is {row['state']}: only a failed refund can be retried")
    queued = _retry_request(conn, row)
    if queued is not None:
        raise Conflict(
            f"refund {ident} already has a retry queued (by {queued.requested_by} at "
            f"{queued.requested_at:%Y-%m-%d %H:%M}Z): it goes out with the next refunds run"
        )
    feed = _feed_of(conn, row)
    if feed is not None and feed.status in OPEN_FEEDS:
        raise Conflict(
            f"refund {ident} is still in feed {feed.feed_key}, which is {feed.status}: "
            "wait for Amazon's answer (or resolve the feed) before retrying"
        )
    problem = plan_problem(conn, row)
    if problem is not None:
        raise Conflict(f"refund {ident} still cannot be refunded through Amazon: {problem}")


def _key(table: Any, row: dict[str, Any]) -> Any:
    return and_(table.c.store_id == row["store_id"], table.c.refund_id == row["refund_id"])


def _retry_request(conn: Connection, row: dict[str, Any]) -> Any:
    return conn.execute(
        select(amazon_refund_retries).where(_key(amazon_refund_retries, row))
    ).first()


def _feed_of(conn: Connection, row: dict[str, Any]) -> Any:
    """The feed row of the refund's last submission (None if it was never submitted)."""
    sub = amazon_refund_submissions
    return conn.execute(
        select(amazon_feeds.c.feed_key, amazon_feeds.c.status)
        .join(sub, sub.c.feed_key == amazon_feeds.c.feed_key)
        .where(_key(sub, row))
    ).first()


def feed_candidates(conn: Connection, feed_keys: Iterable[str]) -> dict[str, list[str]]:
    """The candidate feed ids ``getFeeds`` listed when each feed went ambiguous, by feed key
    (from the tamper-evident ``amazon.feed.ambiguous`` audit entries; the last one wins)."""
    keys = sorted(set(feed_keys))
    found: dict[str, list[str]] = {}
    if not keys:
        return found
    rows = conn.execute(
        select(audit_log.c.entity_id, audit_log.c["after"])
        .where(
            audit_log.c.entity == "amazon_feed",
            audit_log.c.action == AMBIGUOUS,
            audit_log.c.entity_id.in_(keys),
        )
        .order_by(audit_log.c.seq)
    )
    for key, after in rows:
        if isinstance(after, dict) and isinstance(after.get("candidates"), list):
            found[key] = [str(c) for c in after["candidates"]]
    return found


def resolve_feed(
    engine: Engine, actor: Actor, feed_key: str, reason: str, amazon_feed_id: str | None
) -> Resolution:
    """Adopt one of an ambiguous feed's candidates (``amazon_feed_id``) or abandon it (None)."""
    why = check_reason(reason)
    chosen = amazon_feed_id.strip() if amazon_feed_id is not None else None
    if chosen == "":
        raise InputError("an Amazon feed id is required to adopt a feed", field="amazon_feed_id")
    with writing(engine) as tx:
        feed = _ambiguous_feed(tx.conn, feed_key)
        candidates = feed_candidates(tx.conn, [feed_key]).get(feed_key, [])
        before = {"status": feed["status"], "candidates": candidates}
        if chosen is not None:
            resolution = _adopt(tx, feed, candidates, chosen)
            after: dict[str, Any] = {"status": "sent", "feed_id": chosen}
        else:
            resolution = _abandon(tx, actor, feed, why)
            after = {"status": "abandoned", "failed": resolution.failed}
        tx.audit(AuditDraft(actor.name, actor.role, "amazon.feed.resolved", "amazon_feed",
                            feed_key, before, after, why))  # fmt: skip
    return resolution


def _ambiguous_feed(conn: Connection, feed_key: str) -> dict[str, Any]:
    row = conn.execute(
        select(amazon_feeds).where(amazon_feeds.c.feed_key == feed_key).with_for_update()
    ).first()
    if row is None:
        raise NotFound(f"no Amazon feed {feed_key!r} (see `acorn-hub amazon feeds list`)",
                       field="feed_key")  # fmt: skip
    if row.status != "ambiguous":
        raise Conflict(
            f"feed {feed_key} is {row.status}, not ambiguous: only an ambiguous feed can be "
            "resolved",
            field="feed_key",
        )
    return dict(row._mapping)


def _adopt(tx: Tx, feed: dict[str, Any], candidates: list[str], chosen: str) -> Resolution:
    if chosen not in candidates:
        listed = ", ".join(candidates) or "none were recorded"
        raise InputError(
            f"feed {chosen} is not one of the candidates getFeeds listed for feed "
            f"{feed['feed_key']} ({listed})",
            field="amazon_feed_id",
        )
    holder = tx.conn.execute(
        select(amazon_feeds.c.feed_key).where(amazon_feeds.c.feed_id == chosen)
    ).scalar()
    if holder is not None:
        raise Conflict(f"Amazon feed {chosen} is already recorded as our feed {holder}",
                       field="amazon_feed_id")  # fmt: skip
    _set_feed(tx, feed["feed_key"], status="sent", feed_id=chosen, sent_at=tx.now,
              last_error=None)  # fmt: skip
    return Resolution(feed["feed_key"], feed["account"], "sent", chosen, [])


def _abandon(tx: Tx, actor: Actor, feed: dict[str, Any], reason: str) -> Resolution:
    subs = [
        dict(s._mapping)
        for s in tx.conn.execute(
            select(amazon_refund_submissions)
            .where(amazon_refund_submissions.c.feed_key == feed["feed_key"])
            .order_by(amazon_refund_submissions.c.message_id)
        )
    ]
    moved = [s for s in subs if s["status"] != "submitted"]
    if moved:
        names = ", ".join(entity_id(s["store_id"], s["refund_id"]) for s in moved)
        raise Conflict(
            f"Amazon already confirmed refund {names} of feed {feed['feed_key']}: the feed "
            "reached Amazon, so one of its candidates is ours; adopt it with --amazon-feed-id",
            field="feed_key",
        )
    why = f"feed abandoned by {actor.name}: {reason}"
    for sub in subs:
        move_refund(tx, sub["store_id"], sub["refund_id"], RefundAction.FAIL,
                    f"amazon:{feed['account']}", why)  # fmt: skip
        tx.conn.execute(
            update(amazon_refund_submissions)
            .where(_key(amazon_refund_submissions, sub))
            .values(status="failed", error=why, updated_at=tx.now)
        )
    _set_feed(tx, feed["feed_key"], status="abandoned", last_error=why)
    failed = [entity_id(s["store_id"], s["refund_id"]) for s in subs]
    return Resolution(feed["feed_key"], feed["account"], "abandoned", None, failed)


def _set_feed(tx: Tx, feed_key: str, **values: Any) -> None:
    tx.conn.execute(
        update(amazon_feeds)
        .where(amazon_feeds.c.feed_key == feed_key)
        .values(updated_at=tx.now, **values)
    )


def list_refunds(conn: Connection, state: str | None, limit: int) -> list[dict[str, Any]]:
    """Amazon MFN refunds from approval on (or in ``state``), oldest change first: their
    submission and feed, the reason of a failure and a queued retry."""
    if state is not None and state not in {s.value for s in RefundState}:
        raise InputError(
            f"--state must be one of {', '.join(s.value for s in RefundState)}", field="state"
        )
    sub, retry = amazon_refund_submissions, amazon_refund_retries
    query = (
        select(
            refunds.c.store_id, refunds.c.refund_id, refunds.c.state, refunds.c.amount,
            refunds.c.currency, refunds.c.order_id, sub.c.account, sub.c.status,
            sub.c.error, amazon_feeds.c.feed_id, amazon_feeds.c.status.label("feed_status"),
            retry.c.requested_by.label("retry_by"), retry.c.reason.label("retry_reason"),
        )
        .select_from(refunds)
        .outerjoin(sub, _same_refund(sub))
        .outerjoin(amazon_feeds, amazon_feeds.c.feed_key == sub.c.feed_key)
        .outerjoin(retry, _same_refund(retry))
        .where(refunds.c.channel == Channel.AMAZON_MFN.value)
        .where(refunds.c.state == state if state else refunds.c.state.in_(LISTED_STATES))
        .order_by(refunds.c.updated_at, refunds.c.store_id, refunds.c.refund_id)
        .limit(limit)
    )  # fmt: skip
    rows = [dict(r._mapping) for r in conn.execute(query)]
    reasons = failure_reasons(
        conn, [entity_id(r["store_id"], r["refund_id"]) for r in rows if r["state"] == "failed"]
    )
    for row in rows:
        row["failure"] = reasons.get(entity_id(row["store_id"], row["refund_id"]))
    return rows


def _same_refund(table: Any) -> Any:
    return and_(table.c.store_id == refunds.c.store_id, table.c.refund_id == refunds.c.refund_id)


def failure_reasons(conn: Connection, idents: Iterable[str]) -> dict[str, str]:
    """The last ``refund.failed`` reason of each refund (``store/refund`` ids)."""
    wanted = sorted(set(idents))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = conn.execute(
            select(audit_log.c.entity_id, audit_log.c.reason)
            .where(
                audit_log.c.entity == "refund",
                audit_log.c.action == "refund.failed",
                audit_log.c.entity_id.in_(wanted[start : start + CHUNK]),
            )
            .order_by(audit_log.c.seq)
        )
        found.update({ident: reason or "" for ident, reason in rows})
    return found


def list_feeds(conn: Connection, status: str | None, limit: int) -> list[dict[str, Any]]:
    """Refund feeds (or those in ``status``), newest first, with the candidates of ambiguous
    ones."""
    if status is not None and status not in FEED_STATUSES:
        raise InputError(f"--status must be one of {', '.join(FEED_STATUSES)}", field="status")
    query = select(
        amazon_feeds.c.feed_key, amazon_feeds.c.account, amazon_feeds.c.marketplace_id,
        amazon_feeds.c.status, amazon_feeds.c.feed_id, amazon_feeds.c.messages,
        amazon_feeds.c.intent_at, amazon_feeds.c.last_error,
    )  # fmt: skip
    if status is not None:
        query = query.where(amazon_feeds.c.status == status)
    rows = [
        dict(r._mapping)
        for r in conn.execute(
            query.order_by(amazon_feeds.c.intent_at.desc(), amazon_feeds.c.feed_key).limit(limit)
        )
    ]
    candidates = feed_candidates(conn, [r["feed_key"] for r in rows])
    for row in rows:
        row["candidates"] = candidates.get(row["feed_key"], [])
    return rows
