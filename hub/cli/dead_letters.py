"""``acorn-hub dead-letters list|show|resolve|replay|discard``: messages the hub refused or
could not apply, and the replay tool for events of a wiped node that reused its id.

The operator running the CLI is the audit actor (``cli:<login>``; role ``operator`` for resolve,
``admin`` for replay and discard, which need that right). Rules: ``hub.sync.ingest.operator``,
``hub.sync.ingest.replay``; the unprocessable rule: ``hub.sync.ingest``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hub.access.permissions import Principal, Role
from hub.access.tokens import cli_actor
from hub.cli.db import database
from hub.cli.people import operator
from hub.sync.ingest import operator as dead
from hub.sync.ingest import replay as replaying

app = typer.Typer(help="Dead letters: refused or unprocessable messages; list, show, resolve, "
                       "replay (apply once), discard.",
                  no_args_is_help=True)


def _line(row: dict[str, Any]) -> str:
    state = (f"resolved by {row['resolved_by']}" if row["resolved_at"] is not None else "open")
    skipped = f"seq {row['skipped_seq']} skipped" if row["skipped_seq"] is not None else "-"
    size = row["payload_size"] if row["payload_size"] is not None else "?"
    return (f"{row['id']}\t{row['received_at']:%Y-%m-%d %H:%M:%S}Z\t{row['sender'] or '-'}\t"
            f"{state}\t{skipped}\t{size} B\t{row['reason'][:200]}")


@app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="also the resolved ones")] = False,
    limit: Annotated[int, typer.Option(help="at most this many, newest first")] = 50,
) -> None:
    """Dead letters, newest first: id, when, sender, open/resolved, skipped seq, size, reason."""
    with database() as engine:
        for row in dead.list_dead_letters(engine, all_, limit):
            typer.echo(_line(row))


@app.command("show")
def show(dead_letter_id: Annotated[int, typer.Argument(help="the dead letter's id")]) -> None:
    """One dead letter whole, its payload as stored (at most 64 KiB) as text."""
    with database() as engine:
        row = dead.show_dead_letter(engine, dead_letter_id)
    for name in ("id", "received_at", "topic", "sender", "field", "skipped_seq", "payload_size",
                 "payload_sha256", "resolved_at", "resolved_by", "resolution", "reason"):
        typer.echo(f"{name}: {row[name] if row[name] is not None else '-'}")
    typer.echo("payload:")
    typer.echo(bytes(row["payload"]).decode("utf-8", errors="replace"))


@app.command("resolve")
def resolve(
    dead_letter_id: Annotated[int, typer.Argument(help="the dead letter's id")],
    reason: Annotated[str, typer.Option(help="what was done about it (required)")],
) -> None:
    """Mark a dead letter resolved: who, when and why go to the row and the audit chain."""
    with database() as engine:
        dead.resolve_dead_letter(engine, dead_letter_id, reason, operator())
    typer.echo(f"dead letter {dead_letter_id} resolved")


@app.command("replay")
def replay(dead_letter_id: Annotated[int, typer.Argument(help="the dead letter's id")]) -> None:
    """Apply a dead-lettered event (e.g. of a wiped node that reused its id) once, under the
    node's next replay seq; audited. A second replay of it is refused."""
    with database() as engine:
        done = replaying.replay(engine, Principal(cli_actor(), Role.ADMIN), dead_letter_id)
    typer.echo(f"dead letter {dead_letter_id} applied: {done.kind} {done.message_id} of "
               f"{done.store_id}/{done.node_id} (its seq {done.original_seq}) as replay seq "
               f"{done.replay_seq}")


@app.command("discard")
def discard(
    dead_letter_id: Annotated[int, typer.Argument(help="the dead letter's id")],
    reason: Annotated[str, typer.Option(help="why it is not applied (required)")],
) -> None:
    """Resolve a dead letter without applying it; the reason goes to the row and the audit."""
    with database() as engine:
        replaying.discard(engine, Principal(cli_actor(), Role.ADMIN), dead_letter_id, reason)
    typer.echo(f"dead letter {dead_letter_id} discarded")
