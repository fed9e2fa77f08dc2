"""The refund events sync: Finances v0 ``listFinancialEvents``, ``RefundEventList``.

Rules:
- Finances is per seller, not per marketplace: one cursor per account (marketplace ``"*"``);
- a run reads ``PostedAfter`` = cursor .. ``PostedBefore`` = now - ``posted_lag_seconds``
  (Amazon wants more than two minutes), in windows of at most 180 days (Amazon answers nothing
  for longer ones), following ``NextToken``;
- every page is stored with the cursor moved to the newest ``PostedDate`` on it, in one
  transaction, and refunds ACORN submitted are confirmed from the stored events in the same one;
- a refund event is a ``ShipmentEvent`` whose amounts sit in the ``...AdjustmentList`` fields;
  each adjusted item becomes one row keyed by (account, order id, ``OrderAdjustmentItemId``),
  its charges kept as exact decimals; money comes as ``Decimal`` from the gateway, never float.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sp_api.base import ApiResponse

from hub.amazon.context import JobContext, iso, parse_iso, whole_seconds
from hub.amazon.refunds.matching import confirm_pending
from hub.amazon.store import Row, hashed, problem, upsert
from hub.amazon.sync import cursors
from hub.storage.engine import reading, writing
from hub.storage.tables.amazon import amazon_refund_events

JOB = "refund-events"
WINDOW = timedelta(days=180)
FIELDS = (
    "marketplace_name",
    "posted_at",
    "order_item_id",
    "sku",
    "quantity",
    "currency",
    "principal",
    "total",
    "charges",
)


def _amounts(entries: list[dict[str, Any]] | None, kind: str) -> list[tuple[str, Decimal, str]]:
    found = []
    for entry in entries or []:
        money = entry[f"{kind}Amount"]
        found.append(
            (
                str(entry[f"{kind}Type"]),
                Decimal(str(money["CurrencyAmount"])),
                str(money["CurrencyCode"]),
            )
        )
    return found


def refund_rows(account: str, event: dict[str, Any]) -> list[Row]:
    """The stored rows of one refund event (one per adjusted item); KeyError if unreadable."""
    rows = []
    for item in event.get("ShipmentItemAdjustmentList") or []:
        charges = _amounts(item.get("ItemChargeAdjustmentList"), "Charge") + _amounts(
            item.get("ItemFeeAdjustmentList"), "Fee"
        )
        currencies = {currency for _, _, currency in charges}
        rows.append(
            {
                "account": account,
                "order_id": str(event["AmazonOrderId"]),
                "adjustment_item_id": str(item["OrderAdjustmentItemId"]),
                "marketplace_name": str(event.get("MarketplaceName", "")),
                "posted_at": parse_iso(event["PostedDate"]),
                "order_item_id": str(item.get("OrderItemId", "")),
                "sku": str(item.get("SellerSKU", "")),
                "quantity": item.get("QuantityShipped"),
                "currency": currencies.pop() if len(currencies) == 1 else "",
                "principal": sum((a for k, a, _ in charges if k == "Principal"), Decimal(0)),
                "total": sum((a for _, a, _ in charges), Decimal(0)),
                "charges": [[kind, format(amount, "f")] for kind, amount, _ in charges],
            }
        )
    return rows


def sync_refund_events(ctx: JobContext) -> None:
    """Fetch refund events posted since the cursor; confirm submitted refunds they prove."""
    with reading(ctx.engine) as conn:
        cursor = cursors.load(conn, ctx.account.name, JOB, cursors.ALL_MARKETPLACES)
    start = cursors.start_from(cursor.position, ctx.since, ctx.now(), ctx.settings.backfill_days)
    # Whole seconds, as ``iso`` sends them: the cursor then is exactly the bound Amazon saw.
    before = whole_seconds(ctx.now() - timedelta(seconds=ctx.settings.posted_lag_seconds))
    spans = cursors.windows(start, before, WINDOW)
    ctx.progress.plan(len(spans))
    for after, until in spans:
        cursor = _window(ctx, cursor, after, until)
        ctx.progress.step()


def _window(
    ctx: JobContext, cursor: cursors.Cursor, after: datetime, until: datetime
) -> cursors.Cursor:
    marketplace_id = ctx.account.marketplace_ids[0]  # Finances is regional: any of them
    query: dict[str, Any] = {
        "PostedAfter": iso(after),
        "PostedBefore": iso(until),
        "MaxResultsPerPage": 100,
    }
    while True:
        page = ctx.api.call("listFinancialEvents", marketplace_id, _list(query))
        events = page.payload.get("FinancialEvents") or {}
        token = page.next_token
        rows = _rows(ctx, events.get("RefundEventList") or [])
        position = _newest(events, cursor.position) if token else until
        cursor = _store(ctx, cursor.moved(position), rows)
        if not token:
            return cursor
        query = {"NextToken": token}


def _list(query: dict[str, Any]) -> Callable[[Any], ApiResponse]:
    return lambda client: client.list_financial_events(**query)


def _newest(events: dict[str, Any], position: datetime | None) -> datetime | None:
    posted = [
        parse_iso(e["PostedDate"])
        for entries in events.values()
        if isinstance(entries, list)
        for e in entries
        if e.get("PostedDate")
    ]
    return max(posted, default=position)


def _rows(ctx: JobContext, events: list[dict[str, Any]]) -> list[Row]:
    rows: list[Row] = []
    for event in events:
        try:
            rows += refund_rows(ctx.account.name, event)
        except (KeyError, TypeError, ValueError, ArithmeticError) as err:
            with writing(ctx.engine) as tx:
                problem(
                    tx.conn,
                    tx.now,
                    ctx.account.name,
                    JOB,
                    f"refund event of order {event.get('AmazonOrderId', '?')} unreadable: "
                    f"{type(err).__name__}: {err}",
                    sample=str(event),
                )
            ctx.counted(0, errors=1)
    return hashed(rows, FIELDS)


def _store(ctx: JobContext, cursor: cursors.Cursor, rows: list[Row]) -> cursors.Cursor:
    with writing(ctx.engine) as tx:
        new, updated = upsert(
            tx.conn,
            amazon_refund_events,
            ("account", "order_id", "adjustment_item_id"),
            rows,
            tx.now,
        )
        cursors.save(tx.conn, cursor, tx.now)
        if new:
            confirm_pending(tx, ctx.account)
    ctx.counted(len(rows), new, updated)
    return cursor
