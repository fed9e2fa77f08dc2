"""Queued quantity changes go to Amazon, each once: patchListingsItem, or a listings feed.

    publish    (``listings_from_allocation``) the stores as the account's supply sources,
               when it sells in a multi-location US marketplace (``hub.amazon.supply_sources``):
               a changed store record reaches Amazon before the quantities that depend on it
    allocate   (``listings_from_allocation``, on by default) the active allocation rules over
               the hub's stock view: the account's changed offers are queued first
               (``allocated``; a quantity per supply source where there are any)
    for each marketplace of the account:
      claim      newest pending change per SKU (older ones superseded) + in-doubt ones
      in doubt   ``sending`` left by a crash: patch -> getListingsItem; Amazon already shows
                 the quantity: accepted, nothing resent; otherwise pending again. Feed with a
                 feed id -> followed. Feed without one (createFeed may or may not have
                 reached Amazon) -> pending again: resending an absolute quantity cannot
                 double it
      send       up to ``listings_feed_threshold`` changes: one patchListingsItem each (5/s,
                 burst 5 by the shared limiter); more: JSON_LISTINGS_FEED of up to 25,000
                 PATCH messages (createFeed 0.0083/s, burst 15), followed to its report
      record     ACCEPTED -> accepted; INVALID -> invalid with Amazon's issues; a 400 (the
                 request itself refused) -> invalid with Amazon's message

Every request goes through ``SpApi.call`` (rate limiter, 429 backoff, error translation). A
change is marked ``sending`` (committed) before its request leaves, so a crash leaves it in
doubt, never forgotten.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from hub.amazon.accounts import ROLE
from hub.amazon.context import JobContext
from hub.amazon.errors import AmazonApiError
from hub.amazon.listings import outbox
from hub.amazon.listings.allocated import queue_allocated
from hub.amazon.listings.feed import (
    CONTENT_TYPE,
    FEED_TYPE,
    MAX_MESSAGES,
    errors_of,
    listings_feed,
    parse_report,
    patch_body,
)
from hub.amazon.listings.outbox import Change, Outcome
from hub.amazon.supply_sources.publish import publish_supply_sources
from hub.amazon.supply_sources.publish import tally as tally_published

log = logging.getLogger(__name__)
REFUSED_CODES = frozenset({"InvalidInput", "BadRequest", "BAD_REQUEST", "NotFound"})


@dataclass
class PushResult:
    """What one push did for one account."""

    patched: int = 0
    in_feeds: int = 0
    feeds: list[str] = field(default_factory=list)
    confirmed: int = 0
    accepted: int = 0
    invalid: int = 0
    still_open: int = 0


def send_listings(ctx: JobContext) -> None:
    """The ``listings`` job: queue the engine's changed offers, push, and tally what was sent
    and refused (``new``: changes queued from the allocation)."""
    queued = 0
    if ctx.settings.listings_from_allocation:
        tally_published(ctx, publish_supply_sources(ctx), counts=False)
        _offered, queued = queue_allocated(ctx.engine, ctx.account.name,
                                           ctx.account.marketplace_ids, ctx.now(),
                                           ctx.account.actor, ROLE)
    result = push_listings(ctx)
    ctx.counted(result.patched + result.in_feeds, new=queued, updated=result.accepted,
                errors=result.invalid)


def push_listings(ctx: JobContext) -> PushResult:
    """Send the account's queued quantity changes; the tally of what happened."""
    result = PushResult()
    for market in ctx.account.marketplace_ids:
        _push_market(ctx, market, result)
    return result


def _push_market(ctx: JobContext, market: str, result: PushResult) -> None:
    actor = ctx.account.actor
    pending, in_doubt = outbox.claim(ctx.engine, ctx.account.name, market, actor, ROLE)
    feeds: dict[str, list[Change]] = {}
    for change in in_doubt:
        if change.channel == "feed" and change.feed_id:
            feeds.setdefault(change.feed_id, []).append(change)
    doubtful = [c for c in in_doubt if not (c.channel == "feed" and c.feed_id)]
    pending = sorted([*pending, *_resolve_doubt(ctx, market, doubtful, result)], key=lambda c: c.id)
    for feed_id, batch in feeds.items():
        _follow(ctx, market, feed_id, batch, result)
    if len(pending) > ctx.settings.listings_feed_threshold:
        for start in range(0, len(pending), MAX_MESSAGES):
            _send_feed(ctx, market, pending[start : start + MAX_MESSAGES], result)
    else:
        for change in pending:
            _patch(ctx, market, change, result)


def _resolve_doubt(
    ctx: JobContext, market: str, doubtful: list[Change], result: PushResult
) -> list[Change]:
    """Changes whose request may have reached Amazon: confirmed ones recorded, others back."""
    if not doubtful:
        return []
    actor = ctx.account.actor
    if len(doubtful) > ctx.settings.listings_feed_threshold:
        outcomes = [Outcome(c, "pending", []) for c in doubtful]  # resent in a feed
        outbox.record(ctx.engine, outcomes, actor, ROLE, "in doubt after a crash; resent")
        return [_as_pending(c) for c in doubtful]
    confirmed: list[Change] = []
    again: list[Change] = []
    for change in doubtful:
        (confirmed if _shows(ctx, market, change) else again).append(change)
    outbox.record(
        ctx.engine,
        [Outcome(c, "accepted", []) for c in confirmed],
        actor,
        ROLE,
        "in doubt after a crash; getListingsItem shows the quantity: not resent",
    )
    outbox.record(
        ctx.engine,
        [Outcome(c, "pending", []) for c in again],
        actor,
        ROLE,
        "in doubt after a crash; Amazon does not show the quantity: sent again",
    )
    result.confirmed += len(confirmed)
    result.accepted += len(confirmed)
    return [_as_pending(c) for c in again]


def _as_pending(change: Change) -> Change:
    return replace(change, status="pending", channel=None, feed_id=None, message_id=None)


def _shows(ctx: JobContext, market: str, change: Change) -> bool:
    """Whether Amazon already shows the change's quantities (DEFAULT, or each source's)."""
    if not change.sources:
        return _amazon_quantity(ctx, market, change.sku) == change.quantity
    shown = _amazon_quantities(ctx, market, change.sku)
    return shown.get("DEFAULT") == 0 and all(shown.get(s) == q for s, q in change.sources)


def _amazon_quantity(ctx: JobContext, market: str, sku: str) -> int | None:
    """The DEFAULT quantity Amazon shows for the SKU (None: not listed or none)."""
    return _amazon_quantities(ctx, market, sku).get("DEFAULT")


def _amazon_quantities(ctx: JobContext, market: str, sku: str) -> dict[str, int]:
    """The quantity per fulfillment channel Amazon shows for the SKU (empty: not listed)."""
    seller = ctx.account.seller_id
    try:
        item = ctx.api.call(
            "getListingsItem",
            market,
            lambda client: client.get_listings_item(
                seller, sku, marketplaceIds=[market], includedData=["fulfillmentAvailability"]
            ),
        )
    except AmazonApiError as err:
        if err.code in REFUSED_CODES:
            return {}
        raise
    return {
        str(entry.get("fulfillmentChannelCode")): int(entry["quantity"])
        for entry in (item.payload or {}).get("fulfillmentAvailability", [])
        if entry.get("quantity") is not None
    }


def _patch(ctx: JobContext, market: str, change: Change, result: PushResult) -> None:
    actor, seller = ctx.account.actor, ctx.account.seller_id
    body = patch_body(change.quantity, ctx.settings.listings_product_type, change.sources)
    outbox.mark_sending(ctx.engine, [change], "patch", actor, ROLE)
    try:
        answer = ctx.api.call(
            "patchListingsItem",
            market,
            lambda client: client.patch_listings_item(
                seller, change.sku, marketplaceIds=[market], body=body
            ),
        )
    except AmazonApiError as err:
        if err.code not in REFUSED_CODES:
            raise  # maybe applied: the change stays in doubt, checked on the next push
        issue = {"code": err.code, "message": err.message, "severity": "ERROR"}
        outbox.record(ctx.engine, [Outcome(change, "invalid", [issue])], actor, ROLE)
        result.patched += 1
        result.invalid += 1
        return
    payload = answer.payload or {}
    found = list(payload.get("issues") or [])
    status = "accepted" if payload.get("status") == "ACCEPTED" else "invalid"
    if status == "invalid" and not errors_of(found):
        found.append(
            {
                "code": "INVALID",
                "severity": "ERROR",
                "message": f"Amazon answered status {payload.get('status')!r}",
            }
        )
    record_patch(ctx, Outcome(change, status, found, payload.get("submissionId")))
    result.patched += 1
    result.accepted += status == "accepted"
    result.invalid += status == "invalid"


def record_patch(ctx: JobContext, outcome: Outcome) -> None:
    """Amazon's answer to one patch, recorded (a crash before this leaves the change in doubt)."""
    outbox.record(ctx.engine, [outcome], ctx.account.actor, ROLE)


def _send_feed(ctx: JobContext, market: str, batch: list[Change], result: PushResult) -> None:
    actor = ctx.account.actor
    message_ids = list(range(1, len(batch) + 1))
    document = listings_feed(
        ctx.account.seller_id,
        [(m, c.sku, c.quantity, c.sources) for m, c in zip(message_ids, batch, strict=True)],
        ctx.settings.listings_product_type,
    )
    outbox.mark_sending(ctx.engine, batch, "feed", actor, ROLE, message_ids)
    batch = [
        replace(c, status="sending", channel="feed", feed_id=None, message_id=m)
        for c, m in zip(batch, message_ids, strict=True)
    ]
    created = ctx.api.call(
        "createFeedDocument",
        market,
        lambda client: client.create_feed_document(io.BytesIO(document), CONTENT_TYPE),
    )
    document_id = str(created.payload["feedDocumentId"])
    feed = ctx.api.call(
        "createFeed",
        market,
        lambda client: client.create_feed(FEED_TYPE, document_id, marketplaceIds=[market]),
    )
    feed_id = str(feed.payload["feedId"])
    outbox.set_feed(ctx.engine, batch, feed_id, actor, ROLE)
    result.in_feeds += len(batch)
    result.feeds.append(feed_id)
    _follow(ctx, market, feed_id, batch, result)


def _follow(
    ctx: JobContext, market: str, feed_id: str, batch: list[Change], result: PushResult
) -> None:
    """Poll the feed to its end and record its processing report (or leave it for later)."""
    deadline = ctx.now() + timedelta(seconds=ctx.settings.report_timeout_seconds)
    while True:
        state = ctx.api.call("getFeed", market, lambda client: client.get_feed(feed_id)).payload
        status = state.get("processingStatus")
        if status == "DONE":
            document_id = str(state["resultFeedDocumentId"])
            text = ctx.api.call(
                "getFeedDocument",
                market,
                _result_document(document_id),
            )
            _record_report(ctx, feed_id, batch, text, result)
            return
        if status in {"FATAL", "CANCELLED"}:
            issue = {
                "code": status,
                "severity": "ERROR",
                "message": f"the listings feed {feed_id} ended {status}",
            }
            _record(ctx, [Outcome(c, "invalid", [issue]) for c in batch], feed_id, result)
            return
        if ctx.now() > deadline:
            result.still_open += len(batch)
            return  # still processing: the next push follows it
        ctx.api.wait(ctx.settings.report_poll_seconds)


def _result_document(document_id: str) -> Any:
    return lambda client: client.get_feed_result_document(document_id)


def _record_report(
    ctx: JobContext, feed_id: str, batch: list[Change], text: Any, result: PushResult
) -> None:
    try:
        report = parse_report(text if isinstance(text, str | bytes) else str(text))
    except ValueError as err:
        issue = {"code": "UNREADABLE", "severity": "ERROR", "message": str(err)}
        _record(ctx, [Outcome(c, "invalid", [issue]) for c in batch], feed_id, result)
        return
    outcomes = []
    for change in batch:
        found = list(report.whole_feed) + report.by_message.get(change.message_id or 0, [])
        status = "invalid" if errors_of(found) else "accepted"
        outcomes.append(Outcome(change, status, found))
    _record(ctx, outcomes, feed_id, result)


def _record(ctx: JobContext, outcomes: list[Outcome], feed_id: str, result: PushResult) -> None:
    outbox.record(
        ctx.engine,
        outcomes,
        ctx.account.actor,
        ROLE,
        f"processing report of listings feed {feed_id}",
    )
    result.accepted += sum(o.status == "accepted" for o in outcomes)
    result.invalid += sum(o.status == "invalid" for o in outcomes)
