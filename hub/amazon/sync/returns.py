"""The returns syncs: MFN returns (ACORN acts on them) and FBA returns (read-only).

Rules:
- MFN: ``GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE`` in windows of at most 60 days; rows keyed
  by (account, Amazon RMA id, SKU); a store drop-off return starts ``expected = pending`` and is
  then announced to its store (``hub.amazon.sync.expected``), once;
- FBA: ``GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA``; rows keyed by a hash of order, SKU, license
  plate and return date, stored with ``acorn_can_act = false``: Amazon refunds and restocks them;
- lines that cannot be read are problems (account, report id, line); unknown columns are
  reported once per report (line 1); the good rows of the report are stored;
- an MFN line with an A-to-Z claim or a SafeT claim raises a risk flag on its order
  (``hub.risk.flags``, source ``amazon``, audited as actor ``amazon:<account>``), in the same
  transaction as the rows: once per account, order and claim (an A-to-Z claim, or one SafeT
  claim id), however often the report is read again and even after a person cleared it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Table

from hub.access.users import Actor
from hub.amazon.context import JobContext
from hub.amazon.errors import ReportDataError
from hub.amazon.files.flatfile import FileFormatError, Problem
from hub.amazon.files.returns import FbaReturn, MfnReturn, parse_fba_returns, parse_mfn_returns
from hub.amazon.marketplaces import Marketplace
from hub.amazon.store import Row, hashed, problem, upsert
from hub.amazon.sync import cursors
from hub.amazon.sync.expected import push_expected
from hub.amazon.sync.reports import sync_windows
from hub.risk.flags import AutoFlag, raise_once
from hub.storage.engine import writing
from hub.storage.tables.amazon import amazon_fba_returns, amazon_returns

MFN_REPORT = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"
FBA_REPORT = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA"
WINDOW = timedelta(days=60)
MFN_FIELDS = (
    "order_id",
    "marketplace_id",
    "requested_at",
    "status",
    "label_type",
    "carrier",
    "tracking_id",
    "asin",
    "item_name",
    "quantity",
    "reason",
    "in_policy",
    "currency",
    "order_amount",
    "order_quantity",
    "refunded_amount",
    "store_ref",
)
FBA_FIELDS = (
    "marketplace_id",
    "returned_at",
    "order_id",
    "sku",
    "asin",
    "fnsku",
    "product_name",
    "quantity",
    "fulfillment_center",
    "disposition",
    "reason",
    "status",
    "license_plate",
    "customer_comments",
)


def mfn_row(account: str, market: Marketplace, line: MfnReturn) -> Row:
    """The stored form of one MFN returns line."""
    store = line.store_ref
    return {
        "account": account,
        "rma_id": line.rma_id,
        "sku": line.sku,
        "order_id": line.order_id,
        "marketplace_id": market.marketplace_id,
        "requested_at": line.requested_at,
        "status": line.status,
        "label_type": line.label_type,
        "carrier": line.carrier,
        "tracking_id": line.tracking_id,
        "asin": line.asin,
        "item_name": line.item_name[:500],
        "quantity": line.quantity,
        "reason": line.reason,
        "in_policy": line.in_policy,
        "currency": line.currency,
        "order_amount": line.order_amount,
        "order_quantity": line.order_quantity,
        "refunded_amount": line.refunded_amount,
        "store_ref": store,
        "expected": "pending" if store else "none",
    }


def claim_flags(account: str, lines: Sequence[MfnReturn]) -> list[AutoFlag]:
    """The risk flags the claims on these MFN lines raise (an order may appear more than once)."""
    actor = Actor(f"amazon:{account}", "amazon")
    flags = []
    for line in lines:
        where = f"return {line.rma_id}, account {account}"
        if line.a_to_z_claim:
            flags.append(AutoFlag("order", line.order_id,
                                  f"Amazon A-to-Z claim on the order ({where})", "amazon",
                                  _ref(account, line.order_id, "a-to-z"), actor))
        if line.safet_claim_id:
            why = f": {line.safet_reason}" if line.safet_reason else ""
            flags.append(AutoFlag("order", line.order_id,
                                  f"Amazon SafeT claim {line.safet_claim_id} ({where}){why}",
                                  "amazon",
                                  _ref(account, line.order_id, "safet", line.safet_claim_id),
                                  actor))
    return flags


def _ref(*parts: str) -> str:
    text = ":".join(("amazon", *parts))
    if len(text) <= 200:
        return text
    return f"{text[:130]}#{hashlib.sha256(text.encode()).hexdigest()}"


def fba_row(account: str, market: Marketplace, line: FbaReturn) -> Row:
    """The stored form of one FBA returns line (never actionable by ACORN)."""
    return {
        "account": account,
        "row_key": line.row_key,
        "marketplace_id": market.marketplace_id,
        "returned_at": line.returned_at,
        "order_id": line.order_id,
        "sku": line.sku,
        "asin": line.asin,
        "fnsku": line.fnsku,
        "product_name": line.product_name[:500],
        "quantity": line.quantity,
        "fulfillment_center": line.fulfillment_center,
        "disposition": line.disposition,
        "reason": line.reason,
        "status": line.status,
        "license_plate": line.license_plate,
        "customer_comments": line.customer_comments,
        "acorn_can_act": False,
    }


def sync_mfn_returns(ctx: JobContext) -> None:
    """MFN returns of every marketplace; then announce store drop-offs to their stores."""
    sync_windows(ctx, MFN_REPORT, WINDOW, _mfn_report)
    push_expected(ctx)


def sync_fba_returns(ctx: JobContext) -> None:
    """FBA returns of every marketplace (read-only)."""
    sync_windows(ctx, FBA_REPORT, WINDOW, _fba_report)


def _mfn_report(
    ctx: JobContext, market: Marketplace, report_id: str, text: str, cursor: cursors.Cursor
) -> None:
    parsed = _parsed(ctx, report_id, lambda: parse_mfn_returns(text, market.decimal_comma), text)
    rows = [mfn_row(ctx.account.name, market, line) for line in parsed.rows] if parsed else []
    _store(
        ctx,
        amazon_returns,
        ("account", "rma_id", "sku"),
        hashed(rows, MFN_FIELDS),
        ("expected",),
        report_id,
        parsed,
        cursor,
        claim_flags(ctx.account.name, parsed.rows) if parsed else [],
    )


def _fba_report(
    ctx: JobContext, market: Marketplace, report_id: str, text: str, cursor: cursors.Cursor
) -> None:
    parsed = _parsed(ctx, report_id, lambda: parse_fba_returns(text), text)
    rows = [fba_row(ctx.account.name, market, line) for line in parsed.rows] if parsed else []
    _store(
        ctx,
        amazon_fba_returns,
        ("account", "row_key"),
        hashed(rows, FBA_FIELDS),
        (),
        report_id,
        parsed,
        cursor,
    )


def _parsed(ctx: JobContext, report_id: str, parse: Any, text: str) -> Any:
    if not text:
        return None  # CANCELLED: Amazon had no data for the window
    try:
        return parse()
    except FileFormatError as err:
        raise ReportDataError(err.reason, ctx.account.name, report_id, err.line) from err


def _store(
    ctx: JobContext,
    table: Table,
    keys: Sequence[str],
    rows: list[Row],
    keep: Sequence[str],
    report_id: str,
    parsed: Any,
    cursor: cursors.Cursor,
    flags: Sequence[AutoFlag] = (),
) -> None:
    problems: list[Problem] = list(parsed.problems) if parsed else []
    unknown = parsed.unknown_columns if parsed else ()
    problems += [Problem(1, f"unknown column {name!r} ignored") for name in unknown]
    with writing(ctx.engine) as tx:
        new, updated = upsert(tx.conn, table, keys, rows, tx.now, keep)
        raise_once(tx, flags)
        for found in problems:
            problem(
                tx.conn,
                tx.now,
                ctx.account.name,
                ctx.job,
                f"account {ctx.account.name}, report {report_id}, line {found.line}: "
                f"{found.message}",
                report_id,
                found.line,
            )
        cursors.save(tx.conn, cursor, tx.now)
    ctx.counted(len(rows) + len(problems), new, updated, len(problems))
