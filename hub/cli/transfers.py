"""``acorn-hub transfers request|cancel|list|show|settlement|rules``: transfers between stores
from the command line (every store; the API scopes by the caller).
Rules: ``hub.inventory.transfers``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hub.access.tokens import cli_actor
from hub.cli.db import database
from hub.errors import HubError
from hub.inventory.transfers import orders, rules_store, settlement
from hub.storage.engine import reading, writing

app = typer.Typer(help="Transfers between stores: request, follow, price rules and the monthly "
                       "internal settlement.", no_args_is_help=True)
rules_app = typer.Typer(help="The transfer price rules (versioned YAML).", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
OPERATOR = "operator"
TransferId = Annotated[str, typer.Argument(help="the transfer id")]


def _fail(err: HubError) -> typer.Exit:
    typer.echo(f"error: {err.message}", err=True)
    return typer.Exit(1)


def _line(spec: str) -> tuple[str, int]:
    sku, sep, quantity = spec.rpartition("=")
    if not sep or not sku or not quantity.isdigit():
        raise typer.BadParameter(f"{spec!r}: write SKU=QUANTITY, e.g. SKU-A=5")
    return sku, int(quantity)


def _summary(row: dict[str, Any]) -> str:
    return (f"{row['transfer_id']}\t{row['status']}\t{row['from_store']} -> {row['to_store']}\t"
            f"{len(row['lines'])} lines\t{row['requested_at']:%Y-%m-%d %H:%M:%S}Z\t"
            f"{row['requested_by']}")


@app.command("request")
def request(
    from_store: Annotated[str, typer.Option("--from", help="the sending store")],
    to_store: Annotated[str, typer.Option("--to", help="the receiving store")],
    line: Annotated[list[str], typer.Option(help="SKU=QUANTITY, once per SKU")],
    note: Annotated[str | None, typer.Option(help="a note for the stores")] = None,
    transfer_id: Annotated[str | None, typer.Option(help="your own id (a repeat answers the "
                                                         "first)")] = None,
) -> None:
    """Request a transfer: the sending store gets it as a task; audited."""
    lines = [_line(spec) for spec in line]
    try:
        with database() as engine, writing(engine) as tx:
            row = orders.request(tx, orders.Request(from_store, to_store, lines, note,
                                                    transfer_id), cli_actor(), OPERATOR)
    except HubError as err:
        raise _fail(err) from err
    typer.echo(_summary(row))


@app.command("cancel")
def cancel(
    transfer_id: TransferId,
    reason: Annotated[str, typer.Option(help="why (required; goes into the audit log)")],
) -> None:
    """Cancel a transfer not shipped yet: the sending store drops its task; audited."""
    try:
        with database() as engine, writing(engine) as tx:
            row = orders.cancel(tx, transfer_id, reason, cli_actor(), OPERATOR)
    except HubError as err:
        raise _fail(err) from err
    typer.echo(_summary(row))


@app.command("list")
def list_transfers(
    status: Annotated[str | None, typer.Option(help="only transfers in this state")] = None,
    store: Annotated[str | None, typer.Option(help="only this store's transfers")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
) -> None:
    """Transfers, newest first: id, status, stores, lines, when, by."""
    with database() as engine, reading(engine) as conn:
        rows = orders.listing(conn, status, store, limit)
    for row in rows:
        typer.echo(_summary(row))


@app.command("show")
def show(transfer_id: TransferId) -> None:
    """A transfer and each line: requested, shipped, received, lost, surplus, delivered."""
    try:
        with database() as engine, reading(engine) as conn:
            row = orders.detail(conn, transfer_id)
    except HubError as err:
        raise _fail(err) from err
    typer.echo(_summary(row))
    for li in row["lines"]:
        typer.echo(f"line\t{li['sku']}\trequested {li['requested']}\tshipped {li['shipped']}\t"
                   f"received {li['received']}\tlost {li['lost']}\tsurplus {li['surplus']}\t"
                   f"delivered {li['delivered']}")


@app.command("settlement")
def settlement_cmd(
    month: Annotated[str, typer.Option(help="YYYY-MM (UTC), e.g. 2026-11")],
    csv: Annotated[Path | None, typer.Option(help="also write the month's lines to this CSV "
                                                  "file ('-': print the CSV only)")] = None,
) -> None:
    """The month's internal settlement between stores and between regions (the receiving store
    owes the sending store), each store's net, and the lines as CSV when asked."""
    try:
        with database() as engine, reading(engine) as conn:
            found = settlement.summary(conn, settlement.check_month(month))
            text = settlement.csv_text(conn, month) if csv is not None else ""
    except HubError as err:
        raise _fail(err) from err
    if csv is not None and str(csv) == "-":
        typer.echo(text, nl=False)
        return
    typer.echo(f"month {month}: {len(found['lines'])} lines, {found['unpriced']} unpriced")
    for p in found["between_stores"]:
        typer.echo(f"stores\t{p['to_store']} owes {p['from_store']}\t{p['amount']} "
                   f"{p['currency']}\t{p['units']} units\t{p['lines']} lines")
    for p in found["between_regions"]:
        typer.echo(f"regions\t{p['to_region']} owes {p['from_region']}\t{p['amount']} "
                   f"{p['currency']}\t{p['units']} units\t{p['lines']} lines")
    for s in found["stores"]:
        typer.echo(f"net\t{s['store_id']}\t{s['net']} {s['currency']}")
    for t in found["totals"]:
        typer.echo(f"total\t{t['amount']} {t['currency']}")
    if csv is not None:
        csv.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {csv}")


@rules_app.command("show")
def rules_show() -> None:
    """Print the active transfer price rules (YAML)."""
    with database() as engine, reading(engine) as conn:
        typer.echo(rules_store.active_text(conn), nl=False)


@rules_app.command("publish")
def rules_publish(file: Annotated[Path, typer.Argument(help="the YAML document")]) -> None:
    """Publish a new version of the transfer price rules (audited); each bad field is named."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        typer.echo(f"error: cannot read {file}: {err}", err=True)
        raise typer.Exit(1) from err
    try:
        with database() as engine, writing(engine) as tx:
            rules = rules_store.publish(tx, text, cli_actor(), OPERATOR)
    except HubError as err:
        raise _fail(err) from err
    typer.echo(f"published transfer price rules version {rules.version} ({rules.name})")
