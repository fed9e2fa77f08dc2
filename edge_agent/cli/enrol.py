"""``acorn-edge enrol``: a new store machine joins the fleet with a technician's code.

Rules: the code (or the QR form ``acorn://enrol?...``) is the only secret typed; the key is made
here and stays here; without ``--hub`` the hub is found over mDNS (``_acorn-hub._tcp``, only one
of this fleet's CA when its fingerprint is known); an ``https://`` hub is verified by the fleet
CA's fingerprint, a plain ``http://`` one is used only with ``--insecure-http``; a refusal prints
the hub's reason on one line and exits 1; the "next:" line names the step for how this machine
runs the agent (``next_step``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer

from edge_agent.enrolment import EnrolmentError, Ticket, enrol, find_hub, parse_ticket

# how deploy/install-edge.sh runs the agent (deploy/systemd/acorn-edge.service)
SERVICE = "acorn-edge.service"
SERVICE_UNIT = Path("/etc/systemd/system") / SERVICE
SERVICE_SETTINGS = Path("/var/lib/acorn/edge.env")
LAUNCHER_ENV = "ACORN_EDGE_LAUNCHER"  # acorn-store sets it to "acorn-store"

Hub = Annotated[str | None, typer.Option(
    help="the hub's URL, e.g. https://hub.example:8080 (default: the QR form's, else the one "
         "hub of this fleet announcing itself on the network)")]
CaFingerprint = Annotated[str | None, typer.Option(
    help="SHA-256 of the fleet CA the hub must present (printed with the code; the QR form "
         "carries it)")]
InsecureHttp = Annotated[bool, typer.Option(
    "--insecure-http", help="allow a plain http:// hub: nothing verifies it, the answer "
    "travels in clear text (a trusted test network only)")]
DataDir = Annotated[Path, typer.Option(
    help="this node's data folder (its identity goes into DATA_DIR/identity)", file_okay=False)]
SettingsFile = Annotated[Path, typer.Option(
    "--settings-file", help="dotenv file the settings are written to (acorn-edge run reads "
    "./.env; give the other with --config)", dir_okay=False)]
Force = Annotated[bool, typer.Option(
    "--force", help="enrol again although DATA_DIR already holds an identity")]


def hub_for(given: str | None, fingerprint: str | None, timeout: float = 3.0) -> str:
    """The hub URL given, else the one found over mDNS (EnrolmentError if none or several)."""
    if given:
        return given
    typer.echo("no --hub given: looking for the hub on this network…", err=True)
    found = find_hub(fingerprint, timeout)
    typer.echo(f"found the hub at {found}", err=True)
    return found


def next_step(settings_file: Path, environ: Mapping[str, str] | None = None,
              unit: Path = SERVICE_UNIT) -> str:
    """What to do once enrolled, for how this machine runs the agent: through ``acorn-store``
    (it starts the service itself), as the systemd service ``deploy/install-edge.sh`` installs
    (restart it, if the settings went where the service reads them), or by hand."""
    env = os.environ if environ is None else environ
    if env.get(LAUNCHER_ENV) == "acorn-store":
        return f"acorn-store starts the {SERVICE} now; then: sudo acorn-store check"
    if unit.exists():
        if settings_file.absolute() == SERVICE_SETTINGS:
            return f"sudo systemctl restart {SERVICE}, then: sudo acorn-store check"
        return (f"this machine runs the agent as the {SERVICE}, which reads {SERVICE_SETTINGS}, "
                f"not {settings_file}: enrol with `sudo acorn-store enrol CODE` instead")
    return "acorn-edge run" if settings_file == Path(".env") else \
        f"acorn-edge run --config {settings_file}"


def enrol_command(
    code: Annotated[str, typer.Argument(
        help="the enrolment code (XXXX-XXXX-XXXX) or the QR form acorn://enrol?...")],
    hub: Hub = None,
    store: Annotated[str | None, typer.Option(
        help="the store this machine is for: refused if the code is for another")] = None,
    ca_fingerprint: CaFingerprint = None,
    insecure_http: InsecureHttp = False,
    data_dir: DataDir = Path("var/edge"),
    settings_file: SettingsFile = Path(".env"),
    force: Force = False,
) -> None:
    """Enrol this machine: make its key, send a CSR with the code, write its certificate and
    settings. Then `acorn-edge run` connects to the broker with mutual TLS."""
    try:
        ticket = parse_ticket(code)
        fingerprint = ca_fingerprint or ticket.ca_fingerprint
        url = hub_for(hub or ticket.hub, fingerprint)
        ticket = Ticket(ticket.code, url, store or ticket.store, fingerprint)
        done = enrol(ticket, url, data_dir, settings_file, force=force,
                     insecure_http=insecure_http)
    except EnrolmentError as err:
        typer.echo(f"acorn-edge: enrolment failed: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"enrolled as store {done.store_id} node {done.node_id}; certificate valid until "
               f"{done.not_after}")
    typer.echo(f"identity in {done.identity_dir}, settings in {done.settings_file}")
    typer.echo(f"next: {next_step(settings_file)}")


def register(cli: typer.Typer) -> None:
    """Add ``enrol`` (and its US spelling ``enroll``, hidden) to the CLI."""
    cli.command("enrol")(enrol_command)
    cli.command("enroll", hidden=True)(enrol_command)
