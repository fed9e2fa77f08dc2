"""The listings documents Amazon takes and gives back (pure).

- ``patch_body``: patchListingsItem's ``ListingsItemPatchRequest`` setting the merchant-fulfilled
  (``DEFAULT``) quantity with ``merge`` (since 2025-06-16 it changes the quantity without
  resending handling time or restock date); with supply sources (multi-location inventory) one
  entry per supply source, its ``supplySourceId`` as ``fulfillment_channel_code``, and
  ``DEFAULT`` 0, as Amazon's multi-location inventory guide asks (the stores' units are offered
  through their locations only, never twice);
- ``listings_feed``: a ``JSON_LISTINGS_FEED`` v2 document, one PATCH message per change
  (``messageId`` 1, 2, ...; at most 25,000);
- ``parse_report``: its processing report: summary counts and issues per ``messageId`` (issues
  without one concern the whole feed).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

FEED_TYPE = "JSON_LISTINGS_FEED"
CONTENT_TYPE = "application/json; charset=UTF-8"
MAX_MESSAGES = 25_000
PATH = "/attributes/fulfillment_availability"


DEFAULT = "DEFAULT"
Sources = Sequence[tuple[str, int]]


def availability(quantity: int, sources: Sources = ()) -> list[dict[str, Any]]:
    """The ``fulfillment_availability`` entries: DEFAULT, or DEFAULT 0 and one per source."""
    if not sources:
        return [{"fulfillment_channel_code": DEFAULT, "quantity": quantity}]
    return [{"fulfillment_channel_code": DEFAULT, "quantity": 0},
            *({"fulfillment_channel_code": source, "quantity": q} for source, q in sources)]


def _patch(quantity: int, sources: Sources = ()) -> dict[str, Any]:
    return {"op": "merge", "path": PATH, "value": availability(quantity, sources)}


def patch_body(quantity: int, product_type: str, sources: Sources = ()) -> dict[str, Any]:
    """The body of a patchListingsItem setting the quantity (per supply source, if any)."""
    return {"productType": product_type, "patches": [_patch(quantity, sources)]}


def _message(change: tuple[Any, ...], product_type: str) -> dict[str, Any]:
    message_id, sku, quantity = change[:3]
    sources = change[3] if len(change) > 3 else ()
    return {"messageId": message_id, "sku": sku, "operationType": "PATCH",
            "productType": product_type, "patches": [_patch(quantity, sources)]}


def listings_feed(
    seller_id: str, changes: Sequence[tuple[Any, ...]], product_type: str
) -> bytes:
    """A JSON_LISTINGS_FEED of (message id, SKU, quantity[, sources]) PATCH messages."""
    if not 1 <= len(changes) <= MAX_MESSAGES:
        raise ValueError(f"a listings feed holds 1 to {MAX_MESSAGES} messages")
    document = {
        "header": {"sellerId": seller_id, "version": "2.0", "issueLocale": "en_US"},
        "messages": [_message(change, product_type) for change in changes],
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class FeedReport:
    """What a listings feed processing report says."""

    processed: int
    accepted: int
    invalid: int
    by_message: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    whole_feed: list[dict[str, Any]] = field(default_factory=list)


def parse_report(text: str | bytes) -> FeedReport:
    """Read a processing report; ValueError when it is not one."""
    try:
        document = json.loads(text)
        summary = document["summary"]
        issues = document.get("issues", [])
        report = FeedReport(
            int(summary["messagesProcessed"]),
            int(summary["messagesAccepted"]),
            int(summary["messagesInvalid"]),
        )
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"not a listings processing report: {err}") from err
    for issue in issues if isinstance(issues, list) else []:
        if not isinstance(issue, dict):
            continue
        message_id = issue.get("messageId")
        if isinstance(message_id, int):
            report.by_message.setdefault(message_id, []).append(issue)
        else:
            report.whole_feed.append(issue)
    return report


def errors_of(issues: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issues that stop a change (severity ERROR)."""
    return [i for i in issues if i.get("severity") == "ERROR"]
