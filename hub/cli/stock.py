"""``acorn-hub stock show|moves|check|differences|resolve|refusals|dismiss|amazon``: the stock
view and its consistency check from the command line (every store; the API scopes by the
caller). Rules: ``hub.inventory`` (the check: ``hub.inventory.check`` and
``hub.inventory.differences``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hub.access.tokens import cli_actor
from hub.cli.db import database
from hub.errors import HubError
from hub.inventory import differences as diffs
from hub.inventory.queries import move_page, stock_page
from hub.settings import Settings, load_settings
from hub.storage.engine import reading, writing
from protocol import StockState

app = typer.Typer(help="Stock per SKU, store and state, and its movement history.",
                  no_args_is_help=True)
STATES = [state.value for state in StockState]
Store = Annotated[str | None, typer.Option(help="only this store")]


def _figures(levels: dict[str, int]) -> str:
    return "\t".join(str(levels[state]) for state in STATES)


@app.command("show")
def show(sku: Annotated[str, typer.Argument(help="the SKU")], store: Store = None) -> None:
    """The SKU's stock: one line per store (state columns, on hand, as of), then the chain's
    totals; ``*`` marks a store whose own figure differs from the hub's sum of its moves."""
    with database() as engine, reading(engine) as conn:
        rows, _ = stock_page(conn, sku, store, 1, 0)
    if not rows:
        typer.echo(f"no stock known for {sku}" + (f" in store {store}" if store else ""),
                   err=True)
        raise typer.Exit(1)
    (item,) = rows
    typer.echo("store\t" + "\t".join(STATES) + "\ton_hand\tas_of")
    for place in item["stores"]:
        mark = " *" if place["differs"] else ""
        typer.echo(f"{place['store_id']}{mark}\t{_figures(place['levels'])}\t"
                   f"{place['on_hand']}\t{place['as_of']:%Y-%m-%d %H:%M:%S}Z")
    typer.echo(f"chain\t{_figures(item['totals'])}\t{item['on_hand']}\t"
               f"{item['as_of']:%Y-%m-%d %H:%M:%S}Z")


def _move(row: dict[str, Any]) -> str:
    frm, to = row["from_state"] or "-", row["to_state"] or "-"
    refs = row["pos_transaction_id"] or row["return_id"] or row["count_id"] or \
        row["transfer_id"] or "-"
    return (f"{row['at']:%Y-%m-%d %H:%M:%S}Z\t{row['store_id']}\t{row['sku']}\t"
            f"{row['reason']}\t{frm} -> {to}\t{row['quantity']}\t{refs}\t{row['move_id']}")


@app.command("moves")
def moves(
    sku: Annotated[str | None, typer.Option(help="only this SKU")] = None,
    store: Store = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """Stock moves, newest first: at, store, SKU, reason, from -> to, quantity, reference,
    move id."""
    with database() as engine, reading(engine) as conn:
        rows, total = move_page(conn, sku, store, limit, 0)
    for row in rows:
        typer.echo(_move(row))
    if total > len(rows):
        typer.echo(f"({total - len(rows)} more; raise --limit)", err=True)


def _thresholds(settings: Settings) -> diffs.Thresholds:
    return diffs.Thresholds(settings.stock_check_threshold,
                            dict(settings.stock_check_store_thresholds))


@app.command("check")
def check(store: Store = None) -> None:
    """Ask each node of the store (or of every store) for a snapshot of its stock totals now;
    the hub compares each when it arrives (see ``stock differences``)."""
    try:
        with database() as engine, writing(engine) as tx:
            asked = diffs.request_snapshots(tx, store, cli_actor(), "operator")
    except HubError as err:
        typer.echo(f"error: {err.message}", err=True)
        raise typer.Exit(1) from err
    for row in asked:
        typer.echo(f"asked {row['store_id']}/{row['node_id']}\tcommand {row['command_id']}")
    if not asked:
        typer.echo("no nodes known to the hub", err=True)


@app.command("differences")
def differences(
    store: Store = None,
    sku: Annotated[str | None, typer.Option(help="only this SKU")] = None,
    all_: Annotated[bool, typer.Option("--all", help="settled ones too")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 200,
) -> None:
    """Differences between the stores' snapshots and the hub: id, store/node, SKU, state, store,
    hub, difference, status, ``ALERT`` when over the store's threshold. Exit 3 when any
    alerts."""
    settings = load_settings()
    with database(settings) as engine, reading(engine) as conn:
        rows, total = diffs.listing(conn, _thresholds(settings), store, sku, not all_, limit)
    typer.echo("id\tstore/node\tsku\tstate\tstore\thub\tdifference\tstatus\talert")
    for r in rows:
        typer.echo(f"{r['id']}\t{r['store_id']}/{r['node_id']}\t{r['sku']}\t{r['state']}\t"
                   f"{r['store_quantity']}\t{r['hub_quantity']}\t{r['difference']:+d}\t"
                   f"{r['status']}\t{'ALERT' if r['alert'] else '-'}")
    if total > len(rows):
        typer.echo(f"({total - len(rows)} more; raise --limit)", err=True)
    if any(r["alert"] for r in rows):
        raise typer.Exit(3)


@app.command("resolve")
def resolve(
    difference_id: Annotated[int, typer.Argument(help="the difference's id", min=1)],
    action: Annotated[diffs.Action, typer.Argument(help="accept | recount | investigate")],
    note: Annotated[str | None, typer.Option(help="why (kept in the audit)")] = None,
) -> None:
    """Resolve a difference: accept the store's figure, ask for a recount, or investigate."""
    if note is not None and len(note) > 2000:
        typer.echo("error: --note is longer than 2000 characters", err=True)
        raise typer.Exit(2)
    try:
        with database() as engine, writing(engine) as tx:
            row = diffs.resolve(tx, difference_id, action, cli_actor(), "operator", note)
    except HubError as err:
        typer.echo(f"error: {err.message}", err=True)
        raise typer.Exit(1) from err
    typer.echo(f"{difference_id}\t{row['store_id']}/{row['sku']}\t{row['state']}\t"
               f"{row['status']}" + (f"\tcount task {row['count_task_id']} sent to "
                                    f"{row['node_id']}" if action == "recount" else ""))


@app.command("refusals")
def refusals(store: Store = None,
             all_: Annotated[bool, typer.Option("--all", help="dismissed ones too")] = False,
             ) -> None:
    """Snapshot pages refused because a node's signature is missing or does not verify: id,
    store/node, snapshot, page, seq, why, status. Exit 3 while any is open (it alerts)."""
    with database() as engine, reading(engine) as conn:
        rows = diffs.refusals(conn, store, not all_)
    typer.echo("id\tstore/node\tsnapshot\tpage\tseq\treason\tstatus")
    for r in rows:
        typer.echo(f"{r['id']}\t{r['store_id']}/{r['node_id']}\t{r['snapshot_id']}\t"
                   f"{r['page']}\t{r['seq']}\t{r['reason']}\t{r['status']}")
    if any(r["alert"] for r in rows):
        raise typer.Exit(3)


@app.command("dismiss")
def dismiss(
    refusal_id: Annotated[int, typer.Argument(help="the refused page's id", min=1)],
    note: Annotated[str | None, typer.Option(help="why (kept in the audit)")] = None,
) -> None:
    """Dismiss a refused snapshot page once it was looked into (it stops alerting)."""
    if note is not None and len(note) > 2000:
        typer.echo("error: --note is longer than 2000 characters", err=True)
        raise typer.Exit(2)
    try:
        with database() as engine, writing(engine) as tx:
            row = diffs.dismiss_refusal(tx, refusal_id, cli_actor(), "operator", note)
    except HubError as err:
        typer.echo(f"error: {err.message}", err=True)
        raise typer.Exit(1) from err
    typer.echo(f"{refusal_id}\t{row['store_id']}/{row['node_id']}\t{row['status']}")


@app.command("amazon")
def amazon() -> None:
    """Where Amazon lists more of a SKU than the stores hold sellable: account, marketplace,
    SKU, Amazon, stores, difference, ``ALERT`` over the threshold. Exit 3 when any alerts."""
    settings = load_settings()
    with database(settings) as engine, reading(engine) as conn:
        rows = diffs.amazon_report(conn, _thresholds(settings))
    typer.echo("account\tmarketplace\tsku\tamazon\tstores\tdifference\talert")
    for r in rows:
        typer.echo(f"{r['account']}\t{r['marketplace_id']}\t{r['sku']}\t{r['amazon_listed']}\t"
                   f"{r['chain_sellable']}\t{r['difference']:+d}\t"
                   f"{'ALERT' if r['alert'] else '-'}")
    if any(r["alert"] for r in rows):
        raise typer.Exit(3)
