"""``acorn-hub stock show|moves``: the stock view from the command line (every store; the API
scopes by the caller). Rules: ``hub.inventory``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hub.cli.db import database
from hub.inventory.queries import move_page, stock_page
from hub.storage.engine import reading
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
