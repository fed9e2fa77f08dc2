"""``acorn-hub routing list|show|route|give-back|rules|import-postcodes``: order routing from the
command line (every store; the API scopes by the caller). Rules: ``hub.inventory.routing``."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.access.tokens import cli_actor
from hub.access.users import Actor
from hub.cli.db import database
from hub.errors import HubError
from hub.inventory.routing import Status, postcodes, rules_store, service
from hub.storage.engine import reading, writing

app = typer.Typer(help="Amazon MFN orders routed to stores: decisions, re-routing, rules, "
                       "postal-code centroids.", no_args_is_help=True)
rules_app = typer.Typer(help="The routing rules (versioned YAML).", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
OPERATOR = "operator"
OrderId = Annotated[str, typer.Argument(help="the Amazon order id")]
Reason = Annotated[str, typer.Option(help="why (kept in the audit)")]


def _fail(err: HubError) -> typer.Exit:
    typer.echo(f"error: {err.message}", err=True)
    return typer.Exit(1)


def _actor() -> Actor:
    return Actor(cli_actor(), OPERATOR)


def _summary(row: dict[str, Any]) -> str:
    stores = ",".join(row["stores"]) or "-"
    return (f"{row['order_id']}\t{row['status']}\t{stores}\t{row['country'] or '-'} "
            f"{row['postal_code'] or '-'}\tattempt {row['attempt']}\t"
            f"{row['routed_at']:%Y-%m-%d %H:%M:%S}Z\t{row['routed_by']}")


@app.command("list")
def list_orders(
    status: Annotated[Status | None, typer.Option(help="only orders in this state")] = None,
    store: Annotated[str | None, typer.Option(help="only orders this store ships")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
) -> None:
    """Routed orders, newest first: order, status, stores, destination, attempt, when, by."""
    with database() as engine, reading(engine) as conn:
        rows = service.listing(conn, status.value if status else None, store, limit)
    for row in rows:
        typer.echo(_summary(row))


@app.command("show")
def show(order_id: OrderId) -> None:
    """An order's route with every reason, each store considered, and its history."""
    try:
        with database() as engine, reading(engine) as conn:
            found = service.detail(conn, order_id)
    except HubError as err:
        raise _fail(err) from err
    typer.echo(_summary(found))
    for package in found["decision"]["packages"]:
        lines = ", ".join(f"{li['quantity']} x {li['sku']}" for li in package["lines"])
        typer.echo(f"package\t{package['store_id']}\tships {package['ship_date']}\t{lines}")
    for reason in found["decision"]["reasons"]:
        typer.echo(f"reason\t{reason}")
    for verdict in found["decision"]["stores"]:
        typer.echo("store\t" + _verdict(verdict))
    for step in found["history"]:
        typer.echo(f"history\t{step['attempt']}\t{step['cause']}\t{step['status']}\t"
                   f"{step['decided_at']:%Y-%m-%d %H:%M:%S}Z\t{step['decided_by']}\t"
                   f"{step['reason'] or ''}")


def _verdict(v: dict[str, Any]) -> str:
    where = "-" if v["distance_km"] is None else f"{v['distance_km']} km"
    if v["dropped"]:
        return f"{v['store_id']}\tdropped\t{where}\t{v['dropped']}"
    return (f"{v['store_id']}\trank {v['rank']}\t{where}\tfills {v['fills']}\t"
            f"ships {v['ship_date']}\t{v['note']}")


@app.command("route")
def route_again(
    order_id: OrderId,
    reason: Reason,
    store: Annotated[str | None, typer.Option(help="send it to this store (else: by the rules)")]
    = None,
) -> None:
    """Route an order again by the rules, or by hand to ``--store``; audited."""
    try:
        with database() as engine:
            row = service.reroute(engine, order_id, _actor(), reason, store)
    except HubError as err:
        raise _fail(err) from err
    stores = ",".join(p["store_id"] for p in row["decision"]["packages"]) or "-"
    typer.echo(f"{order_id}\t{row['status']}\t{stores}\tattempt {row['attempt']}")


@app.command("give-back")
def give_back(
    order_id: OrderId,
    store: Annotated[str, typer.Option(help="the store that cannot fill its package")],
    reason: Reason,
) -> None:
    """A store gives an order back: it is routed again without that store; audited."""
    try:
        with database() as engine:
            row = service.give_back(engine, order_id, store, _actor(), reason)
    except HubError as err:
        raise _fail(err) from err
    stores = ",".join(p["store_id"] for p in row["decision"]["packages"]) or "-"
    typer.echo(f"{order_id}\t{row['status']}\t{stores}\tattempt {row['attempt']}")


@rules_app.command("show")
def rules_show() -> None:
    """Print the active routing rules (YAML)."""
    with database() as engine, reading(engine) as conn:
        typer.echo(rules_store.active_text(conn), nl=False)


@rules_app.command("publish")
def rules_publish(
    file: Annotated[Path, typer.Argument(help="a routing rules YAML file", exists=True,
                                         dir_okay=False, readable=True)],
) -> None:
    """Publish a new routing rules version (it must validate and raise the version)."""
    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        typer.echo(f"error: cannot read {file}: {err}", err=True)
        raise typer.Exit(2) from err
    try:
        with database() as engine, writing(engine) as tx:
            rules = rules_store.publish(tx, text, cli_actor(), OPERATOR)
    except HubError as err:
        raise _fail(err) from err
    typer.echo(f"published routing rules version {rules.version} ({rules.name})")


def _text_of(path: Path) -> tuple[io.TextIOBase, int]:
    """The dump's text and its size in bytes; a GeoNames ``.zip`` is read inside."""
    if zipfile.is_zipfile(path):
        archive = zipfile.ZipFile(path)
        names = [n for n in archive.namelist()
                 if n.lower().endswith(".txt") and n.lower() != "readme.txt"]
        if len(names) != 1:
            raise ValueError(f"expected one data .txt in {path.name}, found {len(names)}")
        size = archive.getinfo(names[0]).file_size
        return io.TextIOWrapper(archive.open(names[0]), encoding="utf-8"), size
    return path.open(encoding="utf-8"), path.stat().st_size


def _lines(text: io.TextIOBase, bar: Any) -> Iterator[str]:
    for line in text:
        bar.update(len(line.encode("utf-8")))
        yield line


@app.command("import-postcodes")
def import_postcodes(
    file: Annotated[Path, typer.Argument(help="a GeoNames postal-code dump (DE.txt, "
                                              "allCountries.zip, ...)",
                                         exists=True, dir_okay=False, readable=True)],
) -> None:
    """Load postal-code centroids (GeoNames format, tab-separated; CC BY 4.0, geonames.org).
    The countries in the file replace their earlier rows; a bad line stores nothing."""
    try:
        text, size = _text_of(file)
        with text, typer.progressbar(length=size, label="reading") as bar:
            found = postcodes.read_lines(_lines(text, bar))
    except (OSError, UnicodeDecodeError, ValueError, zipfile.BadZipFile) as err:
        typer.echo(f"error: cannot read {file}: {err}", err=True)
        raise typer.Exit(2) from err
    except HubError as err:
        raise _fail(err) from err
    try:
        with database() as engine, writing(engine) as tx, \
                typer.progressbar(length=len(found), label="storing") as bar:
            done = postcodes.store(tx, found, file.name, cli_actor(), OPERATOR, bar.update)
    except HubError as err:
        raise _fail(err) from err
    for country, rows in sorted(done.rows.items()):
        typer.echo(f"{country}\t{rows} postal codes")
    typer.echo(f"{sum(done.rows.values())} postal codes from {done.lines} lines")
