"""``acorn-hub risk flag|list|clear``: risk flags on orders and customers from the command line.

The operator running the CLI is the audit actor (``cli:<login>``, role ``operator``), as for
``acorn-hub users``; the API lets finance and admin do the same. Rules: ``hub.risk.flags``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hub.cli.db import database
from hub.cli.people import operator
from hub.risk import flags as risk_flags
from hub.storage.engine import reading

app = typer.Typer(help="Risk flags: orders and customers whose refunds go to manual review.",
                  no_args_is_help=True)
KIND_HELP = "order (an order id) or customer (a customer key such as buyer:HEX)"


def _line(row: dict[str, Any]) -> str:
    state = ("active" if row["active"]
             else f"cleared {row['cleared_at']:%Y-%m-%d %H:%M}Z by {row['cleared_by']}")
    return (f"{row['id']}\t{row['kind']}\t{row['subject']}\t{state}\t{row['source']}\t"
            f"{row['flagged_by']}\t{row['flagged_at']:%Y-%m-%d %H:%M}Z\t{row['reason']}")


@app.command("flag")
def flag(
    kind: Annotated[str, typer.Argument(help=KIND_HELP)],
    subject: Annotated[str, typer.Argument(help="the order id or the customer key")],
    reason: Annotated[str, typer.Option(help="why it is high-risk (required)")],
) -> None:
    """Flag an order or a customer as high-risk; print the flag's id."""
    with database() as engine:
        made = risk_flags.flag(engine, kind, subject, reason, operator())
    typer.echo(made["id"])
    typer.echo(f"{made['kind']} {made['subject']} flagged", err=True)


@app.command("list")
def list_flags(
    all_flags: Annotated[bool, typer.Option("--all", help="cleared flags too")] = False,
    kind: Annotated[str | None, typer.Option(help="only this kind: order or customer")] = None,
    subject: Annotated[str | None, typer.Option(help="only this order id or customer key")]
    = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 200,
) -> None:
    """List flags, newest first: id, kind, subject, state, source, by, at, reason."""
    with database() as engine, reading(engine) as conn:
        rows, total = risk_flags.list_flags(conn, None if all_flags else True, kind, subject,
                                            limit)
    for row in rows:
        typer.echo(_line(row))
    if total > len(rows):
        typer.echo(f"({total - len(rows)} more; raise --limit)", err=True)


@app.command("clear")
def clear(
    flag_id: Annotated[int, typer.Argument(help="the flag's id (see `risk list`)")],
    reason: Annotated[str, typer.Option(help="why it no longer holds (required)")],
) -> None:
    """Clear an active flag."""
    with database() as engine:
        done = risk_flags.clear(engine, flag_id, reason, operator())
    typer.echo(f"risk flag {done['id']} on {done['kind']} {done['subject']} cleared")
