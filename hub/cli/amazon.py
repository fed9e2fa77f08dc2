"""``acorn-hub amazon ...``: seller accounts, syncs, refund submission, the SP-API simulator.

    accounts add NAME --seller-id ID --region NA|EU|FE --marketplace US [...] [--endpoint URL]
    accounts list
    sync [--account NAME ...] [--job orders|returns|fba-returns|refund-events|settlements|all]
         [--since DATE]
    refunds submit [--account NAME ...]      send approved MFN refunds, follow their feeds
    refunds list [--state failed|...]        MFN refunds: feed, status, why failed, retry queued
    refunds retry STORE REFUND --reason TEXT send a failed refund again with the next run
    feeds list [--status ambiguous|...]      refund feeds: status, candidates, last error
    feeds resolve FEED_KEY (--amazon-feed-id ID | --abandon) --reason TEXT
                                             adopt one candidate of an ambiguous feed, or
                                             abandon it (its refunds fail, to be retried)
    listings push [--offers FILE.csv] [--account NAME ...]
                                             queue changed quantities (from the allocation rules
                                             over the stock view; with --offers: only the file's
                                             account,marketplace,sku,quantity), send queued
                                             changes, follow feeds
    listings status [--account NAME]         changes by status, and Amazon's issues per SKU
    supply-sources publish [--account NAME ...]
                                             publish stores with ship-from-store or pickup as
                                             supply sources (US multi-location marketplaces):
                                             create, update, archive as their records say
    supply-sources list [--account NAME]     which store is which supplySourceId, and status
    vat-reports [--month YYYY-MM] [--account NAME ...] [--no-fetch]
                                             fetch a closed month's EU VAT reports, match their
                                             refunds to ACORN's (hub.cli.vat_reports)
    simulator [--port 8100] [--rate-factor F] [--seed N] [--accounts N] [--models DIR]

Errors end the command with one line on stderr (``hub.cli.main.main``). ``sync``, ``refunds
submit`` and ``listings push`` exit 1 when an account or a job had an error (for listings: also
when Amazon refused a quantity; ``listings status`` shows its issue); the summary table says
which. ``refunds retry`` and ``feeds resolve`` act as the operator (``cli:<login>``, role
``operator``) and exit 1 with the reason when refused (``hub.amazon.refunds.ops`` has the rules).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy import Engine

from hub.access.tokens import cli_actor
from hub.amazon.accounts import add_account, list_accounts, load_accounts, new_account
from hub.amazon.refunds import ops as refund_ops
from hub.amazon.secrets import SecretSource, env_name
from hub.amazon.settings import AmazonSettings, load_amazon_settings
from hub.cli.db import database
from hub.cli.people import operator
from hub.cli.vat_reports import vat_reports
from hub.errors import InputError
from hub.storage.engine import reading

if TYPE_CHECKING:
    from hub.amazon.sync.runner import AccountResult, Runner

app = typer.Typer(help="Amazon seller accounts, syncs and refunds (SP-API).", no_args_is_help=True)
accounts_app = typer.Typer(
    help="Seller accounts (secrets stay in env or the secrets file).", no_args_is_help=True
)
refunds_app = typer.Typer(help="MFN refunds sent to Amazon.", no_args_is_help=True)
feeds_app = typer.Typer(
    help="Order adjustment feeds that carry refunds to Amazon.", no_args_is_help=True
)
app.add_typer(accounts_app, name="accounts")
app.add_typer(refunds_app, name="refunds")
app.add_typer(feeds_app, name="feeds")
listings_app = typer.Typer(
    help="Quantities offered on Amazon (patchListingsItem, JSON_LISTINGS_FEED).",
    no_args_is_help=True,
)
app.add_typer(listings_app, name="listings")
supply_app = typer.Typer(
    help="Stores as Amazon supply sources (multi-location inventory, US).", no_args_is_help=True
)
app.add_typer(supply_app, name="supply-sources")
shipments_app = typer.Typer(
    help="Packages the stores shipped, confirmed to Amazon (confirmShipment).", no_args_is_help=True
)
app.add_typer(shipments_app, name="shipments")
app.command("vat-reports")(vat_reports)

Names = Annotated[list[str] | None, typer.Option("--account", help="account name (repeatable)")]
Reason = Annotated[str, typer.Option(help="why (required; goes into the audit log)")]
Limit = Annotated[int, typer.Option(min=1, max=10_000, help="at most this many rows")]


@accounts_app.command("add")
def accounts_add(
    name: Annotated[str, typer.Argument(help="our name for the account, e.g. eu-main")],
    seller_id: Annotated[str, typer.Option(help="Amazon's seller (merchant) id")],
    region: Annotated[str, typer.Option(help="NA, EU or FE")],
    marketplace: Annotated[list[str], typer.Option(help="US CA DE FR IT ES UK JP (repeatable)")],
    endpoint: Annotated[
        str | None, typer.Option(help="SP-API base URL override (simulator)")
    ] = None,
) -> None:
    """Add a seller account; its secrets come from the environment or the secrets file."""
    codes = [code for value in marketplace for code in value.split(",") if code.strip()]
    account = new_account(name, seller_id, region, codes, endpoint)
    amazon = load_amazon_settings()
    with database() as engine:
        add_account(engine, account, cli_actor())
    typer.echo(f"account {name} added ({account.region}: {', '.join(codes)})")
    if not SecretSource(secrets_file=amazon.secrets_file).configured(name, seller_id):
        typer.echo(
            f"secrets not found yet: set {env_name(name, 'REFRESH_TOKEN')} (and "
            f"_CLIENT_ID, _CLIENT_SECRET) or add them to the secrets file",
            err=True,
        )


@accounts_app.command("list")
def accounts_list() -> None:
    """List the accounts: region, marketplaces, status, last error (never secrets)."""
    amazon = load_amazon_settings()
    secrets = SecretSource(secrets_file=amazon.secrets_file)
    with database() as engine, reading(engine) as conn:
        accounts = list_accounts(conn)
    table = Table(
        "name", "seller id", "region", "marketplaces", "endpoint", "status", "secrets", "last error"
    )
    for a in accounts:
        found = "found" if secrets.configured(a.name, a.seller_id) else "missing"
        table.add_row(
            a.name,
            a.seller_id,
            a.region,
            " ".join(m.code for m in a.marketplaces),
            a.endpoint or "Amazon",
            a.status.value,
            found,
            a.last_error or "",
        )
    Console().print(table)


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        raise InputError(f"--since: {value!r} is not a date (YYYY-MM-DD)", field="since") from err
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class _Bar:
    """One progress bar line per (account, job)."""

    def __init__(self, progress: Progress, account: str, job: str) -> None:
        self._progress = progress
        self._task: TaskID = progress.add_task(f"{account} {job}", total=None, rows=0)
        self._total = 0
        self._rows = 0

    def plan(self, steps: int) -> None:
        self._total += steps
        self._progress.update(self._task, total=self._total)

    def step(self) -> None:
        self._progress.advance(self._task)

    def rows(self, count: int) -> None:
        self._rows += count
        self._progress.update(self._task, rows=self._rows)


def _run(
    jobs: Sequence[str], names: Sequence[str], since: datetime | None, from_allocation: bool = True
) -> None:
    amazon = load_amazon_settings()
    if not from_allocation:
        amazon = amazon.model_copy(update={"listings_from_allocation": False})
    console = Console(stderr=True)
    with database() as engine:
        accounts = load_accounts(engine, names)
        if not accounts:
            typer.echo("no Amazon accounts: add one with `acorn-hub amazon accounts add`")
            return
        columns = (
            SpinnerColumn(),
            TextColumn("{task.description:<32}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rows]:>7} rows"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as progress:
            runner = _runner(engine, amazon, since, progress)
            from hub.amazon.sync.runner import run_jobs  # python-amazon-sp-api loads only to sync

            results = run_jobs(runner, accounts, jobs)
    _summary(results)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


def _runner(
    engine: Engine, amazon: AmazonSettings, since: datetime | None, progress: Progress
) -> Runner:
    from hub.amazon.client.ratelimit import Limiter
    from hub.amazon.sync.runner import Runner

    return Runner(
        engine,
        amazon,
        Limiter(factor=amazon.rate_factor),
        SecretSource(secrets_file=amazon.secrets_file),
        since,
        lambda account, job: _Bar(progress, account, job),
    )


def _summary(results: Sequence[AccountResult]) -> None:
    table = Table(
        "account",
        "status",
        "fetched",
        "new",
        "updated",
        "errors",
        "to stores",
        "unknown stores",
        title="Amazon sync",
    )
    for r in results:
        t = r.tally
        status = "error" if r.error else ("errors" if r.job_errors else "ok")
        table.add_row(
            r.account,
            status,
            *(
                str(n)
                for n in (t.fetched, t.new, t.updated, t.errors, t.announced, t.unknown_stores)
            ),
        )
    console = Console()
    console.print(table)
    for r in results:
        for job, message in sorted(r.job_errors.items()):
            console.print(f"{r.account} {job}: {message}", markup=False, highlight=False)
        if r.error and not r.job_errors:
            console.print(f"{r.account}: {r.error}", markup=False, highlight=False)


@app.command("sync")
def sync(
    account: Names = None,
    job: Annotated[
        str, typer.Option(help="orders, returns, fba-returns, refund-events, settlements or all")
    ] = "all",
    since: Annotated[
        str | None,
        typer.Option(help="read from this date (YYYY-MM-DD, UTC) instead of the stored cursor"),
    ] = None,
) -> None:
    """Sync orders, returns, refund events and settlements from Amazon."""
    from hub.amazon.sync.runner import SYNC_JOBS

    if job != "all" and job not in SYNC_JOBS:
        raise InputError(f"--job must be one of {', '.join(SYNC_JOBS)} or all", field="job")
    _run(SYNC_JOBS if job == "all" else (job,), account or [], _since(since))


@refunds_app.command("submit")
def refunds_submit(account: Names = None) -> None:
    """Send approved MFN refunds to Amazon (once each) and follow their feeds."""
    _run(("refunds",), account or [], None)


@refunds_app.command("list")
def refunds_list(
    state: Annotated[
        str | None,
        typer.Option(help="only refunds in this state: failed, submitted, confirmed, settled, ..."),
    ] = None,
    limit: Limit = 1000,
) -> None:
    """MFN refunds from approval on: feed, status, Amazon's message or why it failed, retries."""
    with database() as engine, reading(engine) as conn:
        rows = refund_ops.list_refunds(conn, state, limit)
    table = Table(
        "store/refund", "state", "account", "order", "amount", "feed", "feed status",
        "message / why failed", "retry queued",
    )  # fmt: skip
    for r in rows:
        table.add_row(
            f"{r['store_id']}/{r['refund_id']}",
            r["state"],
            r["account"] or "-",
            r["order_id"] or "-",
            f"{r['amount']:f} {r['currency']}",
            r["feed_id"] or "-",
            r["feed_status"] or "-",
            (r["failure"] if r["state"] == "failed" else r["error"]) or "",
            f"yes, by {r['retry_by']}: {r['retry_reason']}" if r["retry_by"] else "",
        )
    Console().print(table)


@refunds_app.command("retry")
def refunds_retry(
    store: Annotated[str, typer.Argument(help="the refund's store id")],
    refund: Annotated[str, typer.Argument(help="the refund id")],
    reason: Reason,
) -> None:
    """Send a failed MFN refund again, in a new feed with the next refunds run (same refund id,
    never twice: it is retried, not issued again)."""
    with database() as engine:
        refund_ops.retry_refund(engine, operator(), store, refund, reason)
    typer.echo(
        f"refund {store}/{refund} queued for a retry: it goes out in a new feed with the next "
        "refunds run (`acorn-hub amazon refunds submit`, or the scheduler's)"
    )


@feeds_app.command("list")
def feeds_list(
    status: Annotated[
        str | None,
        typer.Option(help=f"only feeds in this status: {', '.join(refund_ops.FEED_STATUSES)}"),
    ] = None,
    limit: Limit = 200,
) -> None:
    """Refund feeds, newest first: account, status, messages, candidates, last error."""
    with database() as engine, reading(engine) as conn:
        rows = refund_ops.list_feeds(conn, status, limit)
    table = Table(
        "feed key", "account", "marketplace", "status", "Amazon feed id", "messages",
        "candidates", "intent at (UTC)", "last error",
    )  # fmt: skip
    for r in rows:
        table.add_row(
            r["feed_key"],
            r["account"],
            r["marketplace_id"],
            r["status"],
            r["feed_id"] or "-",
            str(r["messages"]),
            " ".join(r["candidates"]) or "-",
            f"{r['intent_at']:%Y-%m-%d %H:%M:%S}",
            r["last_error"] or "",
        )
    Console().print(table)


@feeds_app.command("resolve")
def feeds_resolve(
    feed_key: Annotated[str, typer.Argument(help="the feed's key (see `feeds list`)")],
    reason: Reason,
    amazon_feed_id: Annotated[
        str | None,
        typer.Option(help="ours is this candidate (found in Seller Central): adopt it"),
    ] = None,
    abandon: Annotated[
        bool,
        typer.Option("--abandon", help="none of the candidates is ours: fail the feed's refunds"),
    ] = False,
) -> None:
    """Resolve an ambiguous feed: adopt the candidate that is ours, or abandon the feed."""
    if (amazon_feed_id is None) == (not abandon):
        raise InputError("give exactly one of --amazon-feed-id ID or --abandon", field="resolve")
    with database() as engine:
        done = refund_ops.resolve_feed(engine, operator(), feed_key, reason, amazon_feed_id)
    if done.status == "sent":
        typer.echo(
            f"feed {done.feed_key} adopted as Amazon feed {done.feed_id}: the next refunds run "
            f"follows it; account {done.account} sends feeds again"
        )
        return
    failed = ", ".join(done.failed) or "none"
    typer.echo(
        f"feed {done.feed_key} abandoned; its refunds failed ({failed}): retry each with "
        "`acorn-hub amazon refunds retry STORE REFUND --reason ...`; account "
        f"{done.account} sends feeds again"
    )


@listings_app.command("push")
def listings_push(
    offers: Annotated[
        Path | None,
        typer.Option(help="CSV of account,marketplace,sku,quantity to offer (changes queued)"),
    ] = None,
    account: Names = None,
) -> None:
    """Queue the quantities that changed (the allocation rules' offers over the hub's stock
    view, or with --offers only the file's), send every queued change once, follow feeds."""
    from hub.amazon.listings.offers_file import parse_offers
    from hub.amazon.listings.outbox import enqueue

    if offers is not None:
        try:
            text = offers.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise InputError(f"cannot read {offers}: {err}", field="offers") from err
        offered = parse_offers(text)
        with database() as engine:
            _check_offers(offered, load_accounts(engine))
            queued = enqueue(engine, offered, operator().name, operator().role)
        typer.echo(f"{len(queued)} of {len(offered)} offered quantities are changes; queued")
    _run(("listings",), account or [], None, from_allocation=offers is None)


def _check_offers(offered: Sequence[Any], accounts: Sequence[Any]) -> None:
    markets = {a.name: set(a.marketplace_ids) for a in accounts}
    for offer in offered:
        if offer.account not in markets:
            raise InputError(f"offers: unknown account {offer.account!r}", field="offers")
        if offer.marketplace_id not in markets[offer.account]:
            raise InputError(
                f"offers: account {offer.account} does not sell in {offer.marketplace_id}",
                field="offers",
            )


@listings_app.command("status")
def listings_status(
    account: Annotated[str | None, typer.Option(help="only this account")] = None,
) -> None:
    """Queued changes by status, and the SKUs whose newest change Amazon refused (its issues)."""
    from hub.amazon.listings.outbox import counts, issues

    with database() as engine:
        by_status = counts(engine, account)
        with reading(engine) as conn:
            refused = issues(conn, account)
    summary = Table("status", "changes", title="Amazon quantity changes")
    for status, n in sorted(by_status.items()):
        summary.add_row(status, str(n))
    Console().print(summary)
    table = Table("account", "marketplace", "sku", "quantity", "issue", title="Amazon's issues")
    for row in refused:
        text = "; ".join(f"{i.get('code', '')}: {i.get('message', '')}" for i in row["issues"])
        table.add_row(row["account"], row["marketplace_id"], row["sku"], str(row["quantity"]), text)
    Console().print(table)


@supply_app.command("publish")
def supply_sources_publish(account: Names = None) -> None:
    """Publish the stores (ship-from-store or pickup, US address) as supply sources of each
    account selling in a multi-location US marketplace; updates and archives follow the records."""
    _run(("supply-sources",), account or [], None)


@supply_app.command("list")
def supply_sources_list(
    account: Annotated[str | None, typer.Option(help="only this account")] = None,
) -> None:
    """Each store's supply source per account: its id, status and when it changed."""
    from hub.amazon.supply_sources.registry import listed

    with database() as engine, reading(engine) as conn:
        found = listed(conn, account)
    table = Table("account", "store", "supply source id", "status", "created", "archived",
                  title="Amazon supply sources")
    for row in found:
        table.add_row(row["account"], row["store_id"], row["supply_source_id"], row["status"],
                      str(row["created_at"]), str(row["archived_at"] or ""))
    Console().print(table)


@shipments_app.command("confirm")
def shipments_confirm(account: Names = None) -> None:
    """Confirm to Amazon every package the stores shipped (once each; a resend edits it)."""
    _run(("shipments",), account or [], None)


@shipments_app.command("decide")
def shipments_decide(
    package: Annotated[str, typer.Argument(help="the package id (`amazon shipments list`)")],
    action: Annotated[str, typer.Argument(help="resend (corrected or not) or drop")],
    reason: Reason,
    carrier: Annotated[str | None, typer.Option(help="a corrected carrier code")] = None,
    tracking: Annotated[str | None, typer.Option(help="a corrected tracking number")] = None,
) -> None:
    """Decide a package Amazon refused or a store shipped twice: resend it with the next
    shipments run (same packageReferenceId: Amazon edits its package) or drop it; audited."""
    from hub.amazon.shipments import decide
    from hub.storage.engine import writing

    who = operator()
    with database() as engine, writing(engine) as tx:
        done = decide(tx, package, action, reason, who.name, who.role, carrier, tracking)
    typer.echo(f"package {package}: {done['confirm_state']}"
               + (" (sent with the next shipments run)" if action == "resend" else ""))


@shipments_app.command("list")
def shipments_list(
    state: Annotated[
        str | None, typer.Option(help="pending, sending, confirmed, failed, held or dropped")
    ] = None,
) -> None:
    """The packages the stores shipped and where their confirmation stands."""
    from sqlalchemy import select

    from hub.storage.tables.picking import package_shipments

    s = package_shipments.c
    with database() as engine, reading(engine) as conn:
        query = select(package_shipments).order_by(s.recorded_at, s.package_id)
        if state:
            query = query.where(s.confirm_state == state)
        for r in conn.execute(query):
            typer.echo(f"{r.package_id}\t{r.account}\t{r.order_id}\t{r.store_id}\t{r.carrier}"
                       f"\t{r.tracking_number}\t{r.confirm_state}\t{r.last_error or ''}")
