"""One month of Amazon's VAT reports against ACORN's refunds: read from the database, matched.

Rules:
- a month is ``YYYY-MM`` (UTC); ``parse_month`` refuses anything else with a ValueError;
- Amazon's side: the REFUND lines of the account's fetched reports of that month, per report
  type (``GET_VAT_TRANSACTION_DATA``, ``SC_VAT_TAX_REPORT``), in the marketplaces fetched;
- ACORN's side: refunds on an Amazon channel whose money went to Amazon (``submitted``,
  ``confirmed``, ``settled``), decided in that month, for an order of those marketplaces, each
  split over its returned SKUs (``vat_match.refund_lines``). A refund decided on the last day of
  a month that Amazon posted on the first of the next shows on both months' lists: the two lists
  are read side by side;
- matching is ``vat_match.match_refunds``, one result per report type.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from hub.finance.vat_match import AcornRefund, AmazonRefund, VatMatch, match_refunds, refund_lines
from hub.storage.tables.core import refunds, return_items
from hub.storage.tables.vat_reports import amazon_vat_lines, amazon_vat_reports

MONEY_SENT = ("submitted", "confirmed", "settled")
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


@dataclass(frozen=True, slots=True)
class FetchedReport:
    """One fetched (or requested) report of the month."""

    marketplace_id: str
    report_type: str
    report_id: str
    status: str
    lines: int
    problems: int
    fetched_at: datetime | None


@dataclass(frozen=True, slots=True)
class MonthView:
    """What the month's reports say against ACORN's refunds."""

    account: str
    month: str
    reports: list[FetchedReport]
    matches: dict[str, VatMatch]  # by report type


def parse_month(text: str) -> tuple[datetime, datetime]:
    """``YYYY-MM`` as its first moment and the next month's (UTC); ValueError otherwise."""
    found = _MONTH.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"month must be YYYY-MM, not {text[:20]!r}")
    year, month = int(found[1]), int(found[2])
    if not 2000 <= year <= 2999:
        raise ValueError(f"month {text!r} is out of range")
    start = datetime(year, month, 1, tzinfo=UTC)
    return start, datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


def month_view(conn: Connection, account: str, month: str) -> MonthView:
    """The month's fetched reports and their refunds matched to ACORN's."""
    start, end = parse_month(month)
    reports = _reports(conn, account, month)
    markets = sorted({r.marketplace_id for r in reports if r.status == "done"})
    ours = acorn_refunds(conn, markets, start, end)
    theirs = amazon_refunds(conn, account, month)
    matches = {kind: match_refunds(ours, rows) for kind, rows in sorted(theirs.items())}
    return MonthView(account, month, reports, matches)


def _reports(conn: Connection, account: str, month: str) -> list[FetchedReport]:
    t = amazon_vat_reports.c
    rows = conn.execute(
        select(
            t.marketplace_id,
            t.report_type,
            t.report_id,
            t.status,
            t.lines,
            t.problems,
            t.fetched_at,
        )
        .where(t.account == account, t.month == month)
        .order_by(t.marketplace_id, t.report_type)
    ).all()
    return [FetchedReport(*row) for row in rows]


def amazon_refunds(conn: Connection, account: str, month: str) -> dict[str, list[AmazonRefund]]:
    """The REFUND lines of the account's reports of the month, by report type."""
    t = amazon_vat_lines.c
    rows = conn.execute(
        select(amazon_vat_lines).where(t.account == account, t.month == month, t.kind == "REFUND")
    ).all()
    found: dict[str, list[AmazonRefund]] = defaultdict(list)
    for row in rows:
        found[row.report_type].append(
            AmazonRefund(
                row.report_type,
                row.line_no,
                row.order_id,
                row.sku,
                row.transaction_id,
                -row.gross,
                -row.vat,
                row.rate,
                row.currency,
                row.tax_date,
            )
        )
    return dict(found)


def acorn_refunds(
    conn: Connection, marketplaces: list[str], start: datetime, end: datetime
) -> list[AcornRefund]:
    """ACORN's Amazon refunds decided in [start, end) whose money went to Amazon, per SKU."""
    if not marketplaces:
        return []
    r = refunds.c
    chosen = conn.execute(
        select(
            r.store_id, r.refund_id, r.return_id, r.order_id, r.amount, r.currency, r.state
        ).where(
            r.channel.like("amazon%"),
            r.order_id.is_not(None),
            r.marketplace_id.in_(marketplaces),
            r.state.in_(MONEY_SENT),
            r.decided_at >= start,
            r.decided_at < end,
        )
    ).all()
    items = _returned(conn, {(row.store_id, row.return_id) for row in chosen})
    return [
        line
        for row in chosen
        for line in refund_lines(
            row.store_id,
            row.refund_id,
            row.order_id,
            row.amount,
            row.currency,
            row.state,
            items.get((row.store_id, row.return_id), []),
        )
    ]


def _returned(
    conn: Connection, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], list[tuple[str, int, Decimal]]]:
    found: dict[tuple[str, str], list[tuple[str, int, Decimal]]] = defaultdict(list)
    i = return_items.c
    return_ids = sorted({return_id for _, return_id in keys})
    for start in range(0, len(return_ids), 500):
        rows = conn.execute(
            select(i.store_id, i.return_id, i.sku, i.quantity, i.unit_price)
            .where(i.return_id.in_(return_ids[start : start + 500]))
            .order_by(i.store_id, i.return_id, i.line_no)
        ).all()
        for row in rows:
            if (row.store_id, row.return_id) in keys:
                found[(row.store_id, row.return_id)].append(
                    (row.sku, row.quantity, row.unit_price or Decimal(0))
                )
    return dict(found)


def view_json(view: MonthView) -> dict[str, Any]:
    """The view as plain JSON-able values (amounts as strings)."""
    return {
        "account": view.account,
        "month": view.month,
        "reports": [_report_json(r) for r in view.reports],
        "matches": {kind: _match_json(m) for kind, m in view.matches.items()},
    }


def _report_json(report: FetchedReport) -> dict[str, Any]:
    return {
        "marketplace_id": report.marketplace_id,
        "report_type": report.report_type,
        "report_id": report.report_id,
        "status": report.status,
        "lines": report.lines,
        "problems": report.problems,
        "fetched_at": report.fetched_at.isoformat() if report.fetched_at else None,
    }


def _match_json(match: VatMatch) -> dict[str, Any]:
    return {
        "pairs": [
            {
                "status": p.status,
                "order_id": p.amazon.order_id,
                "sku": p.amazon.sku,
                "store_id": p.acorn.store_id,
                "refund_id": p.acorn.refund_id,
                "line_no": p.amazon.line_no,
                "currency": p.amazon.currency,
                "acorn_gross": _money(p.acorn.gross),
                "amazon_gross": _money(p.amazon.gross),
                "amount_difference": _money(p.amount_difference),
                "amazon_vat": _money(p.amazon.vat),
                "expected_vat": _text(p.expected_vat),
                "vat_difference": _text(p.vat_difference),
            }
            for p in match.pairs
        ],
        "only_amazon": [
            {
                "order_id": a.order_id,
                "sku": a.sku,
                "line_no": a.line_no,
                "transaction_id": a.transaction_id,
                "gross": _money(a.gross),
                "vat": _money(a.vat),
                "currency": a.currency,
            }
            for a in match.only_amazon
        ],
        "only_acorn": [
            {
                "order_id": a.order_id,
                "sku": a.sku,
                "store_id": a.store_id,
                "refund_id": a.refund_id,
                "gross": _money(a.gross),
                "currency": a.currency,
                "state": a.state,
            }
            for a in match.only_acorn
        ],
    }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else _money(value)


def money_text(value: Decimal) -> str:
    """An amount as text with at least two decimals (PostgreSQL's NUMERIC pads to four)."""
    text = format(value.normalize(), "f")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


_money = money_text
