"""``acorn-edge enrol``: a new store machine joins the fleet with a technician's code.

Rules: the code (or the QR form ``acorn://enrol?...``) is the only secret typed; the key is made
here and stays here; a refusal prints the hub's reason on one line and exits 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edge_agent.enrolment import EnrolmentError, enrol, parse_ticket


def enrol_command(
    code: Annotated[str, typer.Argument(
        help="the enrolment code (XXXX-XXXX-XXXX) or the QR form acorn://enrol?...")],
    hub: Annotated[str | None, typer.Option(
        help="the hub's URL, e.g. http://hub.example:8080 (the QR form carries it)")] = None,
    store: Annotated[str | None, typer.Option(
        help="the store this machine is for: refused if the code is for another")] = None,
    ca_fingerprint: Annotated[str | None, typer.Option(
        help="SHA-256 of the fleet CA the hub must present (the QR form carries it)")] = None,
    data_dir: Annotated[Path, typer.Option(
        help="this node's data folder (its identity goes into DATA_DIR/identity)",
        file_okay=False)] = Path("var/edge"),
    settings_file: Annotated[Path, typer.Option(
        "--settings-file", help="dotenv file the settings are written to (acorn-edge run reads "
        "./.env; give the other with --config)", dir_okay=False)] = Path(".env"),
    force: Annotated[bool, typer.Option(
        "--force", help="enrol again although DATA_DIR already holds an identity")] = False,
) -> None:
    """Enrol this machine: make its key, send a CSR with the code, write its certificate and
    settings. Then `acorn-edge run` connects to the broker with mutual TLS."""
    try:
        ticket = parse_ticket(code)
        ticket = type(ticket)(ticket.code, hub or ticket.hub, store or ticket.store,
                              ca_fingerprint or ticket.ca_fingerprint)
        if not ticket.hub:
            raise EnrolmentError("say where the hub is: --hub URL (or use the code's QR form)")
        done = enrol(ticket, ticket.hub, data_dir, settings_file, force=force)
    except EnrolmentError as err:
        typer.echo(f"acorn-edge: enrolment failed: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"enrolled as store {done.store_id} node {done.node_id}; certificate valid until "
               f"{done.not_after}")
    typer.echo(f"identity in {done.identity_dir}, settings in {done.settings_file}")
    run = "acorn-edge run" if settings_file == Path(".env") else \
        f"acorn-edge run --config {settings_file}"
    typer.echo(f"next: {run}")


def register(cli: typer.Typer) -> None:
    """Add ``enrol`` (and its US spelling ``enroll``, hidden) to the CLI."""
    cli.command("enrol")(enrol_command)
    cli.command("enroll", hidden=True)(enrol_command)
