"""``acorn-hub fx import|fetch|show``: the ECB reference rates the hub converts refunds at.

Rules: ``hub.finance.fx_rates``. ``import FILE`` reads ECB's CSV (``eurofxref-hist.csv``,
``eurofxref.csv``, also inside ECB's ``.zip``) or XML (``eurofxref-daily.xml``,
``eurofxref-hist.xml``), with a progress bar while it stores; a file that cannot be read is one
line naming the line or element and exit 1, nothing stored. The operator is the audit actor.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from hub.cli.db import database
from hub.cli.people import operator
from hub.errors import InputError
from hub.finance import fx_rates
from hub.finance.fx import ECB, FxFileError, parse_file
from hub.settings import load_settings
from hub.storage.engine import reading
from protocol import utc_now

app = typer.Typer(help="ECB euro reference rates: import, fetch, show.", no_args_is_help=True)


def _read(path: Path) -> tuple[str, bytes]:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror}", "file") from err
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                name = archive.namelist()[0]
                return name, archive.read(name)
        except (zipfile.BadZipFile, IndexError) as err:
            raise InputError(f"{path} is not a readable zip file", "file") from err
    return path.name, data


@app.command("import")
def import_rates(
    file: Annotated[Path, typer.Argument(help="ECB's eurofxref CSV, XML or zip file")],
) -> None:
    """Store the rates of ECB's FILE; they replace earlier ones of the same day."""
    name, data = _read(file)
    try:
        days = parse_file(name, data)
    except FxFileError as err:
        raise InputError(f"{file}: {err}", "file") from err
    source = f"{ECB}, imported from {name}"
    total = sum(len(day.rates) for day in days)
    actor = operator()
    with database() as engine, typer.progressbar(length=total, label="storing rates") as bar:
        count = fx_rates.store(engine, days, source, actor.name, actor.role, bar.update)
    first, last = min(d.day for d in days), max(d.day for d in days)
    typer.echo(f"{count} rates stored, {first} to {last}, "
               f"{len(fx_rates.currencies(days))} currencies")


@app.command("fetch")
def fetch_rates(
    url: Annotated[str | None, typer.Option(help="instead of ACORN_HUB_FX_FETCH_URL")] = None,
) -> None:
    """Fetch ECB's rates now from ACORN_HUB_FX_FETCH_URL (or --url) and store them."""
    settings = load_settings()
    target = url or settings.fx_fetch_url
    if not target:
        raise InputError("no URL: set ACORN_HUB_FX_FETCH_URL or pass --url", "url")
    with database(settings) as engine:
        count = fx_rates.fetch(engine, target)
    typer.echo(f"{count} rates stored from {target}")


@app.command("show")
def show(
    currency: Annotated[str, typer.Argument(help="a currency code, e.g. GBP")],
    base: Annotated[str, typer.Option(help="the currency to express it in")] = "USD",
    day: Annotated[str | None, typer.Option(help="YYYY-MM-DD; default: today (UTC)")] = None,
) -> None:
    """The rate a refund requested on DAY converts at: 1 CURRENCY in BASE, its date and source."""
    try:
        when = date.fromisoformat(day) if day else utc_now().date()
    except ValueError as err:
        raise InputError(f"--day {day!r} is not a date (YYYY-MM-DD)", "day") from err
    code, base = currency.upper(), base.upper()
    with database() as engine, reading(engine) as conn:
        found = fx_rates.FxBook(conn).rate(code, base, when)
    if found is None:
        raise InputError(f"no ECB rate converts {code} into {base} on or before {when}",
                         "currency")
    typer.echo(f"1 {code} = {found.rate} {base} ({found.source}, {found.day})")
