"""``acorn-hub finance entities|fx|export``: the legal entities, amounts in base currency with
their FX gains, and the exports for accountants and tax. Rules: ``hub.finance.entities``,
``hub.finance.fx_amounts_store``, ``hub.finance.exports``.

    acorn-hub finance entities show | entities publish FILE.yaml
    acorn-hub finance fx convert                      convert what has no base amount yet
    acorn-hub finance fx gains [--entity E] [--from 2026-01 --to 2026-12] [--csv]
    acorn-hub finance export journal|datev|oss --entity E --period 2026-11 [--format xlsx]
                                                     [--out FILE]
    acorn-hub finance vat-reports [--account NAME] [--limit 12] [--json]
                                 the imported VAT report months: reports, refunds matched and
                                 unmatched, the unmatched listed (hub.finance.vat_overview)
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from hub.amazon.accounts import load_accounts
from hub.cli.db import database
from hub.cli.people import operator
from hub.errors import InputError
from hub.finance import entities, fx_amounts_store, vat_overview
from hub.finance.exports import files
from hub.finance.fx_amounts import gains_table, monthly
from hub.storage.engine import reading, writing
from protocol import utc_now

app = typer.Typer(
    help="Finance: legal entities, amounts in base currency with FX gains, "
    "exports (journal, DATEV, OSS).",
    no_args_is_help=True,
)
entities_app = typer.Typer(help="The legal entities (versioned YAML).", no_args_is_help=True)
fx_app = typer.Typer(
    help="Refund and settlement amounts in base currency; FX gains.", no_args_is_help=True
)
app.add_typer(entities_app, name="entities")
app.add_typer(fx_app, name="fx")
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


@entities_app.command("show")
def entities_show() -> None:
    """Print the active entities document (YAML)."""
    with database() as engine, reading(engine) as conn:
        typer.echo(entities.active_text(conn), nl=False)


@entities_app.command("publish")
def entities_publish(
    file: Annotated[Path, typer.Argument(help="the entities document (YAML)")],
) -> None:
    """Publish a new version of the entities document (its version must be higher)."""
    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read {file}: {err}", "file") from err
    actor = operator()
    with database() as engine, writing(engine) as tx:
        document = entities.publish(tx, text, actor.name, actor.role)
    typer.echo(
        f"entities version {document.version} ({document.name}) published: "
        f"{', '.join(e.id for e in document.entities)}"
    )


@fx_app.command("convert")
def fx_convert() -> None:
    """Convert every refund and settlement amount that has no base amount yet."""
    actor = operator()
    with database() as engine:
        todo = fx_amounts_store.pending(engine)
        with typer.progressbar(length=todo, label="converting", show_pos=True) as bar:
            done = fx_amounts_store.convert_pending(
                engine, actor=(actor.name, actor.role), progress=bar.update
            )
    typer.echo(
        f"{sum(done.values())} amounts converted "
        f"({', '.join(f'{k} {v}' for k, v in sorted(done.items())) or 'none pending'})"
    )


@fx_app.command("gains")
def fx_gains(
    entity: Annotated[str | None, typer.Option(help="one entity's id")] = None,
    month_from: Annotated[str | None, typer.Option("--from", help="first month, YYYY-MM")] = None,
    month_to: Annotated[str | None, typer.Option("--to", help="last month, YYYY-MM")] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on standard output")] = False,
) -> None:
    """FX gain (+) or loss (-) per settlement month between refund day and settlement day."""
    for name, value in (("--from", month_from), ("--to", month_to)):
        if value is not None and not re.match(MONTH, value):
            raise InputError(f"{name} is a month as YYYY-MM, not {value!r}", name.strip("-"))
    with database() as engine:
        fx_amounts_store.convert_pending(engine)
        with reading(engine) as conn:
            rows = monthly(fx_amounts_store.settled(conn, entity, month_from, month_to))
    table = gains_table(rows)
    if as_csv:
        csv.writer(sys.stdout, lineterminator="\r\n").writerows(table)
    else:
        for row in table:
            typer.echo("\t".join(str(v) for v in row))


@app.command("export")
def export(
    what: Annotated[Literal["journal", "datev", "oss"], typer.Argument(help="which export")],
    entity: Annotated[str, typer.Option(help="the entity's id (acorn-hub finance entities show)")],
    period: Annotated[
        str,
        typer.Option(
            help="a month 2026-11 (DATEV: a month only) or a "
            "quarter 2026-Q4 (OSS: the period's quarter)"
        ),
    ],
    fmt: Annotated[
        Literal["csv", "xlsx"], typer.Option("--format", help="the journal's format")
    ] = "csv",
    out: Annotated[
        Path | None,
        typer.Option(help="the file to write; default: its name in the current directory"),
    ] = None,
) -> None:
    """Write an export of an entity and a period to a file."""
    with (
        database() as engine,
        typer.progressbar(length=len(files.STAGES), label="exporting") as bar,
    ):

        def step(stage: str) -> None:
            bar.label = f"exporting: {stage}"
            bar.update(1)

        made = files.make(engine, what, entity, period, utc_now(), fmt, step=step)
    target = out or Path(made.name)
    try:
        target.write_bytes(made.data)
    except OSError as err:
        raise InputError(f"cannot write {target}: {err.strerror}", "out") from err
    typer.echo(
        f"{target}: {made.rows} {'bookings' if what == 'datev' else 'rows'}, {len(made.data)} bytes"
    )


@app.command("vat-reports")
def vat_reports(
    account: Annotated[str | None, typer.Option(help="one account's months only")] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=vat_overview.MAX_MONTHS, help="months at most")
    ] = 12,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON, as the API")] = False,
) -> None:
    """List the months of imported Amazon VAT reports, newest first, with their refunds matched
    and unmatched (fetch them with: acorn-hub amazon vat-reports)."""
    with database() as engine:
        if account is not None:
            load_accounts(engine, [account])  # an unknown account is a readable error
        with reading(engine) as conn:
            found = vat_overview.months(conn, account, limit)
    if as_json:
        typer.echo(json.dumps({"months": [vat_overview.summary_json(m) for m in found]}, indent=2))
        return
    if not found:
        typer.echo("no VAT report imported yet (acorn-hub amazon vat-reports fetches them)")
    for month in found:
        reports = ", ".join(
            f"{r.marketplace_id} {r.report_type} {r.status} {r.lines} lines" for r in month.reports
        )
        typer.echo(f"{month.account} {month.month} [{month.status}]: {reports}")
        for c in month.counts:
            typer.echo(
                f"  {c.report_type}: {c.matched} matched, {c.differing} differing, "
                f"{c.only_amazon} only at Amazon, {c.only_acorn} only in ACORN"
            )
        for u in month.unmatched:
            where = "only at Amazon" if u.side == "only_amazon" else "only in ACORN"
            typer.echo(
                f"  unmatched {u.report_type} {where}: order {u.order_id} {u.sku} "
                f"{u.gross} {u.currency} ({u.refund})"
            )
