"""Approved MFN refunds go to Amazon in order adjustment feeds, exactly once.

    claim (one transaction): refunds approved -> submitted (and failed ones a person asked to
        retry: failed -> submitted), feed row "intent" with the payload, a lease, one
        submission per refund (MerchantAdjustmentItemID = refund id); audited
    createFeedDocument + upload; the document id is recorded on the intent
    createFeed (the lease is renewed just before the request leaves, after the rate limiter)
    record_sent: the intent becomes "sent" with Amazon's feed id
    follow: getFeed until DONE -> processing report: failed messages fail their refunds with
        Amazon's message, the others are "accepted"; FATAL/CANCELLED fail them all

Rules:
- nothing is sent for a refund that has no feed row first, and a feed row is sent at most once:
  an "intent" whose owner died (lease expired) is reconciled, never resubmitted blindly: with no
  document id createFeed was never called; otherwise ``getFeeds`` lists the account's
  adjustment feeds created since the intent (less clock skew) that no feed row of ours names.
  Exactly one: it is ours (adopted). None: createFeed never reached Amazon (sent now). More:
  "ambiguous", left for a person, and no new feed is sent for the account meanwhile; the person
  adopts one of the candidates (the feed is "sent" and followed as usual) or abandons the feed
  (its refunds fail, to be retried one by one): ``refund_ops.resolve_feed``;
- hence at most one unresolved intent per account at a time, and ACORN must be the only sender
  of ``POST_PAYMENT_ADJUSTMENT_DATA`` for the account;
- a refund approved twice is one row: the claim takes only approved refunds without a
  submission, under the hub's write lock;
- a refund that cannot be expressed as an adjustment (SKU not in the order, other currency, FBA)
  fails before anything is sent, with the reason;
- a submission Amazon's refund event confirmed before its feed was followed (a feed followed
  late, e.g. adopted after being ambiguous) keeps its state: the processing report does not
  overwrite what the money already showed.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from hub.amazon.accounts import ROLE
from hub.amazon.context import JobContext, iso
from hub.amazon.errors import AmazonApiError, AmazonError
from hub.amazon.files.feed import CONTENT_TYPE, FEED_TYPE, ProcessingReport, parse_processing_report
from hub.amazon.refunds.claims import Claim, claim_refunds
from hub.amazon.refunds.matching import confirm_pending, move_refund
from hub.refunds.states import RefundAction
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import Tx, reading, writing
from hub.storage.tables.amazon import amazon_feeds, amazon_refund_submissions

log = logging.getLogger(__name__)
REFUSED_CODES = frozenset({"InvalidInput", "BadRequest"})


def submit_refunds(ctx: JobContext) -> None:
    """Reconcile crashed intents, send approved refunds, follow sent feeds to their results."""
    owner = uuid.uuid4().hex
    for feed in _feeds(ctx, "intent", expired=True):
        _reconcile(ctx, owner, feed)
    while (claim := _claim(ctx, owner)) is not None:
        if claim.feed is not None:  # None: every refund of the batch failed before sending
            _send(ctx, owner, claim.feed)
    for feed in _feeds(ctx, "sent"):
        _follow(ctx, feed)


def _claim(ctx: JobContext, owner: str) -> Claim | None:
    with writing(ctx.engine) as tx:
        claim = claim_refunds(tx, ctx.account, owner, ctx.settings.feed_lease_seconds)
    if claim is not None:
        ctx.counted(len(claim.refunds), errors=claim.failed)
    return claim


def _feeds(ctx: JobContext, status: str, expired: bool = False) -> list[dict[str, Any]]:
    with reading(ctx.engine) as conn:
        query = select(amazon_feeds).where(
            amazon_feeds.c.account == ctx.account.name, amazon_feeds.c.status == status
        )
        if expired:
            query = query.where(amazon_feeds.c.lease_until <= ctx.now())
        return [dict(r._mapping) for r in conn.execute(query.order_by(amazon_feeds.c.intent_at))]


def _take_lease(ctx: JobContext, owner: str, feed: dict[str, Any]) -> bool:
    """Compare-and-set the lease: True if this run now owns the intent."""
    with writing(ctx.engine) as tx:
        moved = tx.conn.execute(
            update(amazon_feeds)
            .where(
                amazon_feeds.c.feed_key == feed["feed_key"],
                amazon_feeds.c.status == "intent",
                amazon_feeds.c.owner == feed["owner"],
            )
            .values(
                owner=owner,
                updated_at=tx.now,
                lease_until=tx.now + timedelta(seconds=ctx.settings.feed_lease_seconds),
            )
        )
    feed["owner"] = owner
    return moved.rowcount == 1


def _reconcile(ctx: JobContext, owner: str, feed: dict[str, Any]) -> None:
    if not _take_lease(ctx, owner, feed):
        return
    if feed["document_id"] is None:
        _send(ctx, owner, feed)  # the document was never recorded: createFeed was not called
        return
    ours = _unknown_feeds(ctx, feed)
    if len(ours) == 1:
        record_sent(ctx, feed, str(ours[0]["feedId"]), reconciled=True)
    elif not ours:
        _send(ctx, owner, feed)
    else:
        _ambiguous(ctx, feed, [str(f["feedId"]) for f in ours])


def _unknown_feeds(ctx: JobContext, feed: dict[str, Any]) -> list[dict[str, Any]]:
    since = feed["intent_at"] - timedelta(seconds=ctx.settings.feed_clock_skew_seconds)
    query: dict[str, Any] = {
        "feedTypes": [FEED_TYPE],
        "marketplaceIds": [feed["marketplace_id"]],
        "createdSince": iso(since),
        "pageSize": 100,
    }
    listed: list[dict[str, Any]] = []
    while True:
        page = ctx.api.call("getFeeds", feed["marketplace_id"], _get_feeds(query))
        listed += page.payload.get("feeds") or []
        if not page.next_token:
            break
        query = {"nextToken": page.next_token}
    with reading(ctx.engine) as conn:
        known = set(
            conn.execute(
                select(amazon_feeds.c.feed_id).where(
                    amazon_feeds.c.feed_id.in_([str(f["feedId"]) for f in listed])
                )
            ).scalars()
        )
    return [f for f in listed if str(f["feedId"]) not in known]


def _send(ctx: JobContext, owner: str, feed: dict[str, Any]) -> None:
    market = feed["marketplace_id"]
    if feed["document_id"] is None:
        payload = io.BytesIO(feed["payload"].encode("utf-8"))
        document = ctx.api.call(
            "createFeedDocument",
            market,
            lambda client: client.create_feed_document(payload, CONTENT_TYPE),
        )
        feed["document_id"] = str(document.payload["feedDocumentId"])
        _update(ctx, feed, document_id=feed["document_id"])

    def create(client: Any) -> Any:
        _renew(ctx, owner, feed)  # after the limiter's wait, right before the request leaves
        return client.create_feed(FEED_TYPE, feed["document_id"], marketplaceIds=[market])

    try:
        response = ctx.api.call("createFeed", market, create)
    except AmazonApiError as err:
        if err.code not in REFUSED_CODES:
            raise  # maybe sent: the intent stays, to be reconciled once its lease expires
        _refused(ctx, feed, err.message)
        return
    record_sent(ctx, feed, str(response.payload["feedId"]))


def _renew(ctx: JobContext, owner: str, feed: dict[str, Any]) -> None:
    with writing(ctx.engine) as tx:
        moved = tx.conn.execute(
            update(amazon_feeds)
            .where(
                amazon_feeds.c.feed_key == feed["feed_key"],
                amazon_feeds.c.status == "intent",
                amazon_feeds.c.owner == owner,
            )
            .values(lease_until=tx.now + timedelta(seconds=ctx.settings.feed_lease_seconds))
        )
    if moved.rowcount != 1:
        raise AmazonError(
            f"feed {feed['feed_key']}: another process took it over; not sent", ctx.account.name
        )


def record_sent(
    ctx: JobContext, feed: dict[str, Any], feed_id: str, reconciled: bool = False
) -> None:
    """The intent is now a sent feed with Amazon's id (audited)."""
    why = (
        "found with getFeeds: createFeed had answered but the hub stopped before recording"
        if reconciled
        else "createFeed answered"
    )
    with writing(ctx.engine) as tx:
        _set(tx, feed, status="sent", feed_id=feed_id, sent_at=tx.now)
        _audit(
            tx,
            ctx,
            feed,
            "amazon.feed.sent",
            {"status": "intent"},
            {"status": "sent", "feed_id": feed_id},
            why,
        )
    feed.update(status="sent", feed_id=feed_id)


def _follow(ctx: JobContext, feed: dict[str, Any]) -> None:
    deadline = ctx.now() + timedelta(seconds=ctx.settings.report_timeout_seconds)
    market = feed["marketplace_id"]
    while True:
        state = ctx.api.call(
            "getFeed", market, lambda client: client.get_feed(feed["feed_id"])
        ).payload
        status = state.get("processingStatus")
        if status == "DONE":
            text = ctx.api.call(
                "getFeedDocument", market, _result_document(str(state["resultFeedDocumentId"]))
            )
            _done(ctx, feed, _report(text))
            return
        if status in {"FATAL", "CANCELLED"}:
            _done(ctx, feed, ProcessingReport(status, 0, 0, {"0": f"the feed ended {status}"}))
            return
        if ctx.now() > deadline:
            return  # still processing: the next run follows it further
        ctx.api.wait(ctx.settings.report_poll_seconds)


def _get_feeds(query: dict[str, Any]) -> Callable[[Any], Any]:
    return lambda client: client.get_feeds(**query)


def _result_document(document_id: str) -> Callable[[Any], Any]:
    return lambda client: client.get_feed_result_document(document_id)


def _report(text: Any) -> ProcessingReport:
    try:
        return parse_processing_report(text if isinstance(text, str | bytes) else str(text))
    except ValueError as err:
        return ProcessingReport("Unreadable", 0, 0, {"0": f"processing report unreadable: {err}"})


def _done(ctx: JobContext, feed: dict[str, Any], report: ProcessingReport) -> None:
    with writing(ctx.engine) as tx:
        subs = tx.conn.execute(
            select(amazon_refund_submissions).where(
                amazon_refund_submissions.c.feed_key == feed["feed_key"]
            )
        ).all()
        failed = sum(_verdict(tx, ctx, feed, dict(s._mapping), report) for s in subs)
        status = "done" if report.status not in {"FATAL", "CANCELLED"} else "fatal"
        result = {
            "status": report.status,
            "processed": report.processed,
            "successful": report.successful,
            "failed": failed,
        }
        _set(tx, feed, status=status, processed_at=tx.now, result=result)
        _audit(tx, ctx, feed, f"amazon.feed.{status}", {"status": "sent"}, result, None)
        confirm_pending(tx, ctx.account)
    ctx.counted(len(subs), errors=failed)


def _verdict(
    tx: Tx, ctx: JobContext, feed: dict[str, Any], sub: dict[str, Any], report: ProcessingReport
) -> bool:
    error = report.error_for(sub["message_id"])
    if sub["status"] != "submitted":  # confirmed (or settled) by Amazon's refund event already
        if error is not None:
            log.warning(
                "feed %s: Amazon's report fails refund %s/%s, which its refund event confirmed: %s",
                feed["feed_id"],
                sub["store_id"],
                sub["refund_id"],
                error,
            )
        return False
    if error is None:
        _set_sub(tx.conn, sub, "accepted", None, tx)
        return False
    move_refund(
        tx,
        sub["store_id"],
        sub["refund_id"],
        RefundAction.FAIL,
        ctx.account.actor,
        f"Amazon refused the refund (feed {feed['feed_id']}): {error}",
    )
    _set_sub(tx.conn, sub, "failed", error, tx)
    return True


def _refused(ctx: JobContext, feed: dict[str, Any], message: str) -> None:
    """createFeed said no (a 400): nothing was created; the refunds fail with Amazon's words."""
    report = ProcessingReport("Refused", 0, 0, {"0": message})
    with writing(ctx.engine) as tx:
        subs = tx.conn.execute(
            select(amazon_refund_submissions).where(
                amazon_refund_submissions.c.feed_key == feed["feed_key"]
            )
        ).all()
        for sub in subs:
            _verdict(tx, ctx, {**feed, "feed_id": "not created"}, dict(sub._mapping), report)
        _set(tx, feed, status="refused", last_error=message)
        _audit(
            tx,
            ctx,
            feed,
            "amazon.feed.refused",
            {"status": "intent"},
            {"status": "refused"},
            message,
        )
    ctx.counted(0, errors=len(subs))


def _ambiguous(ctx: JobContext, feed: dict[str, Any], candidates: list[str]) -> None:
    message = (
        f"cannot tell which of feeds {', '.join(candidates)} is ours; check them in "
        "Seller Central before anything else is sent for this account"
    )
    log.error("account %s, feed %s: %s", ctx.account.name, feed["feed_key"], message)
    with writing(ctx.engine) as tx:
        _set(tx, feed, status="ambiguous", last_error=message)
        _audit(
            tx,
            ctx,
            feed,
            "amazon.feed.ambiguous",
            {"status": "intent"},
            {"status": "ambiguous", "candidates": candidates},
            message,
        )
    ctx.counted(0, errors=1)


def _update(ctx: JobContext, feed: dict[str, Any], **values: Any) -> None:
    with writing(ctx.engine) as tx:
        _set(tx, feed, **values)


def _set(tx: Tx, feed: dict[str, Any], **values: Any) -> None:
    tx.conn.execute(
        update(amazon_feeds)
        .where(amazon_feeds.c.feed_key == feed["feed_key"])
        .values(updated_at=tx.now, **values)
    )


def _set_sub(conn: Connection, sub: dict[str, Any], status: str, error: str | None, tx: Tx) -> None:
    conn.execute(
        update(amazon_refund_submissions)
        .where(
            amazon_refund_submissions.c.store_id == sub["store_id"],
            amazon_refund_submissions.c.refund_id == sub["refund_id"],
        )
        .values(status=status, error=error, updated_at=tx.now)
    )


def _audit(
    tx: Tx,
    ctx: JobContext,
    feed: dict[str, Any],
    action: str,
    before: Any,
    after: Any,
    why: str | None,
) -> None:
    tx.audit(
        AuditDraft(
            ctx.account.actor, ROLE, action, "amazon_feed", feed["feed_key"], before, after, why
        )
    )
