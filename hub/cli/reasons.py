"""``acorn-hub reasons classify|unmapped|breakdown|money|standouts|rules``: return reasons from
the command line (every store). Rules: ``hub.finance.reasons``.

    acorn-hub reasons classify                      classify the lines that have no reason yet
    acorn-hub reasons unmapped                      texts and codes nothing maps, for review
    acorn-hub reasons breakdown --by sku [--from 2026-01 --to 2026-03] [--csv]
    acorn-hub reasons money | standouts [--from --to] [--csv]
    acorn-hub reasons rules show | rules publish FILE.yaml
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from hub.cli.db import database
from hub.cli.people import operator
from hub.errors import HubError, InputError
from hub.finance.reasons import analytics, store
from hub.finance.reasons.taxonomy import TAXONOMY
from hub.storage.engine import reading, writing

app = typer.Typer(help="Return reasons: one taxonomy for the counter, the POS and Amazon; "
                       "classification, analytics and the text rules.", no_args_is_help=True)
rules_app = typer.Typer(help="The text rules (versioned YAML).", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
From = Annotated[str | None, typer.Option("--from", help="first month, YYYY-MM (UTC)")]
To = Annotated[str | None, typer.Option("--to", help="last month, YYYY-MM (UTC)")]
Csv = Annotated[bool, typer.Option("--csv", help="CSV on standard output")]
Dimension = Literal["reason", "sku", "category", "store", "region", "marketplace", "month"]


def _fail(err: HubError) -> typer.Exit:
    typer.echo(f"error: {err.message}", err=True)
    return typer.Exit(1)


def _filters(month_from: str | None, month_to: str | None) -> analytics.Filters:
    for name, value in (("--from", month_from), ("--to", month_to)):
        if value is not None and not re.match(MONTH, value):
            raise _fail(InputError(f"{name} is a month as YYYY-MM, not {value!r}"))
    return analytics.Filters(month_from, month_to)


def _out(rows: list[list[Any]], as_csv: bool) -> None:
    if as_csv:
        csv.writer(sys.stdout, lineterminator="\r\n").writerows(rows)
    else:
        for row in rows:
            typer.echo("\t".join(str(v) for v in row))


@app.command("classify")
def classify() -> None:
    """Classify every return line that has no reason yet (the hub also does it every minute)."""
    with database() as engine:
        done = store.classify_pending(engine)
    typer.echo(f"{sum(done.values())} lines classified "
               f"({', '.join(f'{k} {v}' for k, v in sorted(done.items())) or 'none pending'})")


@app.command("unmapped")
def unmapped() -> None:
    """Texts and codes no rule maps, most frequent first: source, lines, text."""
    with database() as engine, reading(engine) as conn:
        for row in store.unmapped(conn):
            typer.echo(f"{row['source']}\t{row['lines']}\t{row['raw_reason']}")


@app.command("breakdown")
def breakdown(
    by: Annotated[Dimension, typer.Option(help="the dimension")] = "reason",
    month_from: From = None, month_to: To = None, as_csv: Csv = False,
) -> None:
    """Units returned per key of a dimension, in total and per reason."""
    f = _filters(month_from, month_to)
    with database() as engine, reading(engine) as conn:
        rows = analytics.breakdown(conn, by, f)
    reasons = list(TAXONOMY)
    _out([[by, "units", "lines", *reasons],
          *([r["key"], r["units"], r["lines"], *(r["by_reason"].get(x, 0) for x in reasons)]
            for r in rows)], as_csv)


@app.command("money")
def money(month_from: From = None, month_to: To = None, as_csv: Csv = False) -> None:
    """Money refunded per reason and currency."""
    f = _filters(month_from, month_to)
    with database() as engine, reading(engine) as conn:
        rows = analytics.money(conn, f)
    _out([["reason", "currency", "amount"],
          *([r["reason"], r["currency"], format(r["amount"], "f")] for r in rows)], as_csv)


@app.command("standouts")
def standouts(month_from: From = None, month_to: To = None, as_csv: Csv = False) -> None:
    """SKUs whose defect or "not as described" rate stands out against their sales."""
    f = _filters(month_from, month_to)
    with database() as engine, reading(engine) as conn:
        chain, rows = analytics.rates(conn, f)
    typer.echo(f"chain rate {chain:.4f}", err=True)
    _out([["sku", "sold", "returned", "rate", "p_value", "stands_out"],
          *([r.sku, r.sold, r.returned, f"{r.rate:.6f}", f"{r.p_value:.3g}",
             "yes" if r.stands_out else "no"] for r in rows)], as_csv)


@rules_app.command("show")
def rules_show() -> None:
    """Print the active text rules (YAML)."""
    with database() as engine, reading(engine) as conn:
        typer.echo(store.active_text(conn), nl=False)


@rules_app.command("publish")
def rules_publish(file: Annotated[Path, typer.Argument(help="the rules document (YAML)")]) -> None:
    """Publish a new version of the text rules; the lines they map are mapped again."""
    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise _fail(InputError(f"cannot read {file}: {err}")) from err
    actor = operator()
    try:
        with database() as engine, writing(engine) as tx:
            rules, changed = store.publish(tx, text, actor.name, actor.role)
    except HubError as err:
        raise _fail(err) from err
    typer.echo(f"reason rules version {rules.version} ({rules.name}) published; "
               f"{changed} lines mapped again")
