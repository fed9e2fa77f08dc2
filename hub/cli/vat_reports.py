"""``acorn-hub amazon vat-reports [--month YYYY-MM] [--account NAME ...] [--no-fetch]``.

Fetches the month's EU VAT reports (VAT Transactions and VAT Calculation) of each account that
are not fetched yet (``hub.amazon.sync.vat_reports``; a month is closed from the 3rd of the
next month, an open month is refused before any call) and prints, per account and report type,
Amazon's refunds matched to ACORN's: counts, then every difference (amount, VAT, missing either
way). The default month is the latest closed one. Exits 1 when a fetch had an error or a
difference was found, so a script notices.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from hub.amazon.accounts import Account, load_accounts
from hub.amazon.settings import AmazonSettings, load_amazon_settings
from hub.cli.db import database
from hub.finance.vat_match import VatMatch
from hub.finance.vat_store import month_view
from hub.storage.engine import reading

Month = Annotated[str | None, typer.Option(help="YYYY-MM (UTC); default: the latest closed")]
Names = Annotated[list[str] | None, typer.Option("--account", help="account name (repeatable)")]
Fetch = Annotated[bool, typer.Option(help="fetch what is missing first (--no-fetch: show only)")]


def vat_reports(month: Month = None, account: Names = None, fetch: Fetch = True) -> None:
    """Fetch a closed month's EU VAT reports and match their refunds to ACORN's."""
    from hub.amazon.sync.vat_reports import closed_months, require_closed

    now = datetime.now(UTC)
    chosen = month or closed_months(now, now)[-1]
    require_closed(chosen, now)
    amazon = load_amazon_settings()
    failed = False
    with database() as engine:
        accounts = [a for a in load_accounts(engine, account or []) if _eu(a)]
        if not accounts:
            typer.echo("no Amazon account with an EU marketplace")
            return
        for one in accounts:
            if fetch:
                failed |= not _fetch(engine, amazon, one, chosen)
            with reading(engine) as conn:
                view = month_view(conn, one.name, chosen)
            failed |= _show(one.name, chosen, view.matches)
    if failed:
        raise typer.Exit(1)


def _eu(account: Account) -> bool:
    return any(m.region == "EU" for m in account.marketplaces)


def _fetch(engine: Engine, amazon: AmazonSettings, account: Account, month: str) -> bool:
    """Run the job for one account and month; False when it had errors."""
    from hub.amazon.secrets import SecretSource
    from hub.amazon.sync.vat_reports import fetch_months

    secrets = SecretSource(secrets_file=amazon.secrets_file)
    t = fetch_months(engine, amazon, account, [month], secrets)
    typer.echo(
        f"{account.name} {month}: fetched {t.fetched} lines, {t.new} stored, {t.errors} problems",
        err=True,
    )
    return t.errors == 0


def _show(name: str, month: str, matches: dict[str, VatMatch]) -> bool:
    """Print one account's matches; True when something differs."""
    console = Console()
    if not matches:
        console.print(f"{name} {month}: no refunds in the fetched VAT reports")
    differs = False
    for kind, match in matches.items():
        console.print(
            f"{name} {month} {kind}: {match.count('matched')} matched, "
            f"{match.count('amount_differs')} amount differences, "
            f"{match.count('vat_differs')} VAT differences, "
            f"{len(match.only_amazon)} only at Amazon, "
            f"{len(match.only_acorn)} only in ACORN"
        )
        rows = _differences(match)
        if rows:
            differs = True
            table = Table(
                "what",
                "order",
                "SKU",
                "ACORN refund",
                "ACORN gross",
                "Amazon gross",
                "Amazon VAT",
                "expected VAT",
                title=kind,
            )
            for row in rows:
                table.add_row(*row)
            console.print(table)
    return differs


def _differences(match: VatMatch) -> Sequence[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [
        (
            p.status,
            p.amazon.order_id,
            p.amazon.sku,
            f"{p.acorn.store_id}/{p.acorn.refund_id}",
            str(p.acorn.gross),
            str(p.amazon.gross),
            str(p.amazon.vat),
            str(p.expected_vat) if p.expected_vat is not None else "",
        )
        for p in match.pairs
        if p.status != "matched"
    ]
    rows += [
        ("only at Amazon", a.order_id, a.sku, "", "", str(a.gross), str(a.vat), "")
        for a in match.only_amazon
    ]
    rows += [
        (
            "only in ACORN",
            a.order_id,
            a.sku,
            f"{a.store_id}/{a.refund_id}",
            str(a.gross),
            "",
            "",
            "",
        )
        for a in match.only_acorn
    ]
    return rows
