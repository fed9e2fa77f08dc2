"""``acorn-hub catalogue …``: the product catalogue (SKU → category, title, brand, unit cost).

    acorn-hub catalogue import FILE.csv     (header: sku,category[,title,brand,unit_cost,currency])
    acorn-hub catalogue show SKU [--json]

``import`` reads the whole file first: a file with bad lines prints each problem on its own line
(``line 4, category: …``), writes nothing and exits 1; a good one is written with a progress bar,
and importing it again changes nothing (every SKU ``unchanged``, nothing audited). The operator
running the CLI is the audit actor (``cli:<login>``, role ``operator``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from hub.cli.db import database
from hub.cli.people import operator
from hub.errors import InputError, NotFound
from hub.inventory import catalogue
from hub.storage.engine import reading

app = typer.Typer(help="The product catalogue: each SKU's category (which the allocation rules' "
                       "category entries match), title, brand and unit cost.",
                  no_args_is_help=True)
MAX_FILE = 64 * 1024 * 1024


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_FILE:
            raise InputError(f"{path} is larger than {MAX_FILE} bytes", field="file")
        return path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read {path}: {err}", field="file") from err


@app.command("import")
def catalogue_import(
    file: Annotated[Path, typer.Argument(help="CSV: sku,category[,title,brand,unit_cost,"
                                              "currency]")],
) -> None:
    """Create or update the catalogue entries of a CSV file; audited per changed SKU."""
    try:
        items = catalogue.read_csv(_read(file))
    except catalogue.CatalogueFileError as err:
        for problem in err.problems:
            typer.echo(f"{file}: {problem}", err=True)
        typer.echo(f"{file}: nothing imported", err=True)
        raise typer.Exit(1) from None
    with database() as engine, typer.progressbar(length=len(items), label="catalogue") as bar:
        result = catalogue.import_items(engine, items, operator(), bar.update)
    typer.echo(f"{result.total} SKUs: {result.created} created, {result.updated} updated, "
               f"{result.unchanged} unchanged")


@app.command("show")
def catalogue_show(sku: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show one SKU's catalogue entry and who changed it last."""
    catalogue.check_sku(sku)
    with database() as engine, reading(engine) as conn:
        stored = catalogue.get_item(conn, sku)
    if stored is None:
        raise NotFound(f"the catalogue has no SKU {sku!r}", field="sku")
    data = {"sku": sku, **stored.item.model_dump(mode="json"),
            "updated_at": stored.updated_at.isoformat(), "updated_by": stored.updated_by}
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    cost = stored.item.unit_cost
    for name, value in (("sku", sku), ("category", stored.item.category),
                        ("title", stored.item.title), ("brand", stored.item.brand),
                        ("unit cost", str(cost) if cost else None),
                        ("updated", f"{data['updated_at']} by {stored.updated_by}")):
        typer.echo(f"{name + ':':11}{value if value is not None else '-'}")
