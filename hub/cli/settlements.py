"""``acorn-hub settlements list|show|reconcile``: Amazon settlements reconciled against the refunds
ACORN made, from the command line. Rules: ``hub.finance.settlements``.

    acorn-hub settlements list [--csv]                  every settlement once, with its status
    acorn-hub settlements show SETTLEMENT_ID [--csv]    its differences, deposit check, summary
    acorn-hub settlements reconcile [SETTLEMENT_ID]     reconcile one (or every) settlement and
                                                        record its status (audited)
"""

from __future__ import annotations

import csv
import sys
from typing import Annotated, Any

import typer

from hub.cli.db import database
from hub.cli.people import operator
from hub.errors import HubError
from hub.finance.settlements import store
from hub.finance.settlements.model import COMPONENTS, OTHER
from hub.storage.engine import reading, writing

app = typer.Typer(help="Amazon settlements reconciled against ACORN's refunds: differences, the "
                       "deposit check and accounting summaries.", no_args_is_help=True)  # fmt: skip
Csv = Annotated[bool, typer.Option("--csv", help="CSV on standard output")]
PARTS = (*COMPONENTS, OTHER)


def _fail(err: HubError) -> typer.Exit:
    typer.echo(f"error: {err.message}", err=True)
    return typer.Exit(1)


def _out(rows: list[list[Any]], as_csv: bool) -> None:
    if as_csv:
        csv.writer(sys.stdout, lineterminator="\r\n").writerows(rows)
    else:
        for row in rows:
            typer.echo("\t".join("" if v is None else str(v) for v in row))


def _money(value: Any) -> str:
    return "" if value is None else format(value, "f")


@app.command("list")
def list_settlements(as_csv: Csv = False) -> None:
    """Every settlement once: id, account, currency, deposit date, total, status, repeats."""
    with database() as engine, reading(engine) as conn:
        listed = store.listing(conn)
    _out([["settlement_id", "account", "currency", "deposit_at", "total", "status",
           "unresolved", "repeated_in"],
          *([s.settlement.settlement_id, s.settlement.report.account,
             s.settlement.report.currency, s.settlement.report.deposit_at,
             _money(s.settlement.report.total), s.status.value, s.unresolved,
             " ".join(r.report_id for r in s.settlement.repeats)] for s in listed)],
         as_csv)  # fmt: skip


@app.command("show")
def show(
    settlement_id: Annotated[str, typer.Argument(help="Amazon's settlement id")],
    as_csv: Csv = False,
) -> None:
    """One settlement: the deposit check, the difference table and the accounting summary."""
    try:
        with database() as engine, reading(engine) as conn:
            result, lines = store.reconcile(conn, settlement_id)
            summary = store.summary(conn, result.settlement, lines)
            done = store.resolutions(conn, settlement_id)
    except HubError as err:
        raise _fail(err) from err
    d = result.deposit
    typer.echo(f"settlement {settlement_id}: deposit {_money(d.deposit)}, lines "
               f"{_money(d.lines_total)}, gap {_money(d.gap)}"
               f"{' (' + ', '.join(d.flags) + ')' if d.flags else ''}; {result.refund_lines} "
               f"refund items, {result.matched} matched", err=as_csv)  # fmt: skip
    _out([["kind", "order_id", "refund", "sku", "adjustment_id",
           *(f"acorn_{p}" for p in PARTS), *(f"settlement_{p}" for p in PARTS), "note",
           "resolved_by"],
          *([x.kind.value, x.order_id, x.refund, x.sku, x.adjustment_id,
             *(_money(x.acorn.get(p)) for p in PARTS),
             *(_money(x.settlement.get(p)) for p in PARTS), x.note,
             (done.get(x.key) or {}).get("resolved_by", "")] for x in result.differences)],
         as_csv)  # fmt: skip
    if not as_csv:
        typer.echo(f"accounting summary (mapping version {summary.mapping_version}):")
        _out([["month", "transaction_type", "amount_type", "account", "tax_rate", "amount"],
              *([b.month, b.transaction_type, b.amount_type, b.account, _money(b.tax_rate),
                 _money(b.amount)] for b in summary.bookings),
              *([p.month, "deposit part", "", summary.clearing_account, "", _money(p.amount)]
                for p in summary.parts)], False)  # fmt: skip


@app.command("reconcile")
def reconcile(
    settlement_id: Annotated[
        str | None, typer.Argument(help="one settlement id (default: every settlement)")
    ] = None,
) -> None:
    """Reconcile and record each settlement's status (audited when it changes)."""
    actor = operator()
    try:
        with database() as engine:
            with reading(engine) as conn:
                ids = [settlement_id] if settlement_id else [
                    s.settlement_id for s in store.settlements(conn)]  # fmt: skip
            for one in ids:
                with writing(engine) as tx:
                    result, _ = store.reconcile(tx.conn, one)
                    status = store.record(tx, result, actor.name, actor.role)
                typer.echo(f"{one}\t{status.value}\t{len(result.differences)} differences")
    except HubError as err:
        raise _fail(err) from err
