"""The JSON listings feed (`JSON_LISTINGS_FEED`, v2): read, check, apply, report (pure).

The document is `{"header": {"sellerId", "version": "2.0", ...}, "messages": [...]}` with 1 to
25,000 messages, each `{messageId, sku, operationType}` plus, by operation: PATCH `productType`
and `patches` (as patchListingsItem), PARTIAL_UPDATE and UPDATE `productType` and `attributes`
(here: `fulfillment_availability`), DELETE nothing more. When Amazon's schema
(`listings-feed-schema-v2.json`) is given, the whole document is validated against it first:
errors inside a message make that message invalid, errors elsewhere reject the feed (no message
is processed). The simulator's own checks then apply to each message (the same rules as
patchListingsItem, `spapi_sim.listings`).

The processing report follows `listings-feed-processing-report-schema-v2.json`:
`{"header": {sellerId, version, feedId}, "issues": [...], "summary": {errors, warnings,
messagesProcessed, messagesAccepted, messagesInvalid}}`; each issue names its `messageId` and
`sku` when it belongs to one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from spapi_sim.listings import (
    ATTRIBUTE,
    INVALID_ATTRIBUTE,
    PATH,
    Issue,
    ListingBook,
    check_patch_body,
    patch_issues,
    with_quantity,
)

FEED_TYPE = "JSON_LISTINGS_FEED"
MAX_MESSAGES = 25_000
OPERATION_TYPES = frozenset({"UPDATE", "PARTIAL_UPDATE", "PATCH", "DELETE"})
FEED_ERROR = "FEED_INVALID"

SchemaCheck = Callable[[Any], list[tuple[tuple[Any, ...], str]]]


@dataclass(slots=True)
class FeedOutcome:
    """What processing a feed found."""

    processed: int = 0
    accepted: int = 0
    issues: list[dict[str, Any]] = field(default_factory=list)

    @property
    def invalid(self) -> int:
        """Messages not accepted."""
        return self.processed - self.accepted


def schema_check(schema: dict[str, Any]) -> SchemaCheck:
    """A check of documents against Amazon's feed schema (needs `jsonschema`)."""
    import jsonschema  # type: ignore[import-untyped]  # only with the schema folder configured

    validator = jsonschema.Draft7Validator(schema)

    def check(document: Any) -> list[tuple[tuple[Any, ...], str]]:
        return [(tuple(error.absolute_path), error.message)
                for error in validator.iter_errors(document)]

    return check


def _feed_issue(message: str) -> dict[str, Any]:
    return {"code": FEED_ERROR, "severity": "ERROR", "message": message}


def _message_issue(message: dict[str, Any], issue: Issue) -> dict[str, Any]:
    body: dict[str, Any] = {"messageId": message["messageId"], "code": issue.code,
                            "severity": "ERROR", "message": issue.message}
    if isinstance(message.get("sku"), str) and message["sku"]:
        body["sku"] = message["sku"]
    if issue.attribute:
        body["attributeName"] = issue.attribute
    return body


def _own_check(document: Any, seller_id: str) -> str | None:
    if not isinstance(document, dict):
        return "The feed must be a JSON object with header and messages."
    header = document.get("header")
    if not isinstance(header, dict) or header.get("version") != "2.0":
        return "header.version must be \"2.0\"."
    if header.get("sellerId") != seller_id:
        return f"header.sellerId must be the submitting seller {seller_id}."
    messages = document.get("messages")
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
        return f"messages must hold 1 to {MAX_MESSAGES} messages."
    if not all(isinstance(m, dict) and isinstance(m.get("messageId"), int) for m in messages):
        return "every message needs an integer messageId."
    return None


def _patches_of(message: dict[str, Any]) -> tuple[list[dict[str, Any]] | None, Issue | None]:
    kind = message.get("operationType")
    if kind == "PATCH":
        body = {"productType": message.get("productType"), "patches": message.get("patches")}
        problem = check_patch_body(body)
        return (None, Issue(INVALID_ATTRIBUTE, problem)) if problem else (message["patches"],
                                                                          None)
    attributes = message.get("attributes")
    if not isinstance(message.get("productType"), str) or not isinstance(attributes, dict):
        return None, Issue(INVALID_ATTRIBUTE, f"{kind} needs productType and attributes.")
    patches = [{"op": "replace", "path": f"/attributes/{name}", "value": value}
               for name, value in attributes.items()]
    if not patches:
        return None, Issue(INVALID_ATTRIBUTE, "attributes is empty.", ATTRIBUTE)
    return patches, None


def apply_message(book: ListingBook, seller_id: str, marketplace_id: str,
                  message: dict[str, Any], now: datetime) -> Issue | None:
    """Apply one message to the listings; the issue that made it invalid, or None."""
    sku, kind = message.get("sku"), message.get("operationType")
    if not isinstance(sku, str) or not sku or kind not in OPERATION_TYPES:
        return Issue(INVALID_ATTRIBUTE, "Each message needs a sku and an operationType of "
                                        f"{', '.join(sorted(OPERATION_TYPES))}.")
    if kind == "DELETE":
        if not book.delete(seller_id, sku, marketplace_id):
            return Issue("4000001", f"The SKU {sku!r} is not listed in this marketplace.",
                         category="MISSING_ATTRIBUTE")
        return None
    patches, issue = _patches_of(message)
    if issue is not None or patches is None:
        return issue
    listing = book.get(seller_id, sku, marketplace_id)
    issues, quantity = patch_issues(patches, listing is not None, sku,
                                    book.sources_of(seller_id))
    if issues:
        return issues[0]
    assert listing is not None  # patch_issues reports an unlisted SKU
    book.put(with_quantity(listing, quantity, str(message["productType"]), now))
    return None


def process_feed(data: bytes, book: ListingBook, seller_id: str, marketplace_id: str,
                 now: datetime, schema: SchemaCheck | None) -> FeedOutcome:
    """Check and apply a listings feed document; what the processing report says."""
    try:
        document = json.loads(data)
    except ValueError as err:
        return FeedOutcome(issues=[_feed_issue(f"The feed is not valid JSON: {err}")])
    problems = schema(document) if schema is not None else []
    invalid: dict[int, str] = {}
    for path, text in problems:
        if len(path) >= 2 and path[0] == "messages" and isinstance(path[1], int):
            invalid.setdefault(path[1], f"{'/'.join(map(str, path[2:])) or 'message'}: {text}")
        else:
            problem = f"{'/'.join(map(str, path)) or 'feed'}: {text}"
            return FeedOutcome(issues=[_feed_issue(f"The feed does not match the schema: "
                                                   f"{problem}")])
    own = _own_check(document, seller_id)
    if own is not None:
        return FeedOutcome(issues=[_feed_issue(own)])
    outcome = FeedOutcome()
    for index, message in enumerate(document["messages"]):
        outcome.processed += 1
        issue = (Issue(INVALID_ATTRIBUTE, invalid[index]) if index in invalid
                 else apply_message(book, seller_id, marketplace_id, message, now))
        if issue is None:
            outcome.accepted += 1
        else:
            outcome.issues.append(_message_issue(message, issue))
    return outcome


def processing_report(seller_id: str, feed_id: str, outcome: FeedOutcome) -> bytes:
    """The processing report document (JSON, UTF-8)."""
    report = {
        "header": {"sellerId": seller_id, "version": "2.0", "feedId": feed_id},
        "issues": outcome.issues,
        "summary": {"errors": len(outcome.issues), "warnings": 0,
                    "messagesProcessed": outcome.processed,
                    "messagesAccepted": outcome.accepted,
                    "messagesInvalid": outcome.invalid},
    }
    return json.dumps(report, ensure_ascii=False).encode("utf-8")


__all__ = ["FEED_TYPE", "PATH", "FeedOutcome", "apply_message", "process_feed",
           "processing_report", "schema_check"]
