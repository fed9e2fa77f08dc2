"""``acorn-hub fleet …``, ``acorn-hub devices enrol|rotate|revoke|replace`` and ``acorn-hub stores
decommission``: the fleet CA, enrolment codes, a node's identity after enrolment, retiring
machines and stores (``hub.fleet.retire``).

Rules: the CA key never leaves the fleet folder (``ACORN_HUB_FLEET_DIR``, 0600); a code is printed
once (text, the QR form and a terminal QR code) and only its hash is stored; code creation,
rotation and revocation are audited as the CLI's operator (admin role, unscoped).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

import qrcode
import typer

from hub.access.permissions import Principal, Role
from hub.access.tokens import cli_actor
from hub.cli.db import database
from hub.fleet import enrolment, lifecycle, pki, retire
from hub.fleet.dynsec import broker_admins
from hub.fleet.local_broker import write_tls_files
from hub.settings import Settings, load_settings
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import writing
from protocol import format_utc, utc_now

app = typer.Typer(help="The fleet CA and the broker's mutual-TLS listener.", no_args_is_help=True)
ca_app = typer.Typer(help="The fleet certificate authority.", no_args_is_help=True)
app.add_typer(ca_app, name="ca")


@ca_app.command("init")
def ca_init() -> None:
    """Create the fleet CA in ACORN_HUB_FLEET_DIR (if it is not there yet); print its
    fingerprint, which enrolling nodes pin."""
    settings = load_settings()
    ca, created = pki.load_or_create_ca(settings.fleet_dir, utc_now())
    if created:
        with database(settings) as engine, writing(engine) as tx:
            tx.audit(AuditDraft(cli_actor(), "operator", "fleet.ca_created", "fleet_ca",
                                ca.fingerprint[:16], None, {"fingerprint": ca.fingerprint}))
    state = "created" if created else "already there"
    typer.echo(f"fleet CA {state}: {settings.fleet_dir / pki.CA_CERT_FILE}")
    typer.echo(f"fingerprint (SHA-256): {ca.fingerprint}")


@app.command("broker-tls")
def broker_tls(
    folder: Annotated[Path, typer.Argument(help="where the broker's files go", file_okay=False)],
    host: Annotated[list[str], typer.Option(
        help="a name or address stores reach the broker by (repeat for more)")],
    port: Annotated[int, typer.Option(help="the TLS listener's port")] = 8883,
) -> None:
    """Write the fleet CA and a broker server certificate into FOLDER and print the
    mosquitto.conf lines of the mutual-TLS listener."""
    settings = load_settings()
    ca, _ = pki.load_or_create_ca(settings.fleet_dir, utc_now())
    listener = write_tls_files(folder, ca, host, port, utc_now())
    typer.echo("# add to mosquitto.conf (after the password listener):")
    for line in listener.lines("0.0.0.0"):
        typer.echo(line)


@app.command("server-cert")
def server_cert(
    folder: Annotated[Path, typer.Argument(help="where hub.pem and hub.key go", file_okay=False)],
    host: Annotated[list[str], typer.Option(
        help="a name or address stores reach the hub by (repeat for more)")],
) -> None:
    """Write an HTTPS certificate for the hub's API signed by the fleet CA into FOLDER and print
    the settings that serve it; enrolling nodes verify it by the CA's fingerprint."""
    settings = load_settings()
    ca, _ = pki.load_or_create_ca(settings.fleet_dir, utc_now())
    key, cert = pki.sign_server(ca, host, utc_now())
    folder.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = folder / "hub.pem", folder / "hub.key"
    cert_file.write_text(pki.cert_pem(cert))
    pki.write_private(key_file, key)
    typer.echo("# add to the hub's settings (then stores enrol with https://HOST:PORT):")
    typer.echo(f"ACORN_HUB_HTTPS_CERT_FILE={cert_file.resolve()}")
    typer.echo(f"ACORN_HUB_HTTPS_KEY_FILE={key_file.resolve()}")
    typer.echo(f"# fleet CA fingerprint (SHA-256), which nodes pin: {ca.fingerprint}")


def hub_base_url(settings: Settings) -> str:
    """The hub's own URL from its settings: https when it serves TLS."""
    scheme = "https" if settings.https_cert_file else "http"
    return f"{scheme}://{settings.http_host}:{settings.http_port}"


HubUrl = Annotated[str | None, typer.Option(
    help="the hub's URL as the store reaches it, for the QR form (default: "
         "https://ACORN_HUB_HTTP_HOST:ACORN_HUB_HTTP_PORT, http:// without HTTPS)")]


def devices_enrol(
    store: Annotated[str, typer.Argument(help="the store the new node joins")],
    node: Annotated[str | None, typer.Option(help="its node id (default: next counter-N)")]
    = None,
    minutes: Annotated[int | None, typer.Option(
        help="how long the code is valid (default ACORN_HUB_ENROL_CODE_MINUTES, at most 60)")]
    = None,
    hub_url: HubUrl = None,
    qr: Annotated[bool, typer.Option(help="print a terminal QR code of the code's link")] = True,
) -> None:
    """Make a single-use enrolment code for a new node of STORE; print it, its QR form and the
    command the technician runs on the store machine."""
    settings = load_settings()
    with database(settings) as engine:
        issued = enrolment.create_code(engine, Principal(cli_actor(), Role.ADMIN), store,
                                       minutes or settings.enrol_code_minutes, node)
    print_code(settings, issued, hub_url, qr)


def print_code(settings: Settings, issued: enrolment.IssuedCode, hub_url: str | None,
               qr: bool) -> None:
    """Print a new code, its QR form and the technician's command on the store machine."""
    ca, _ = pki.load_or_create_ca(settings.fleet_dir, utc_now())
    store = issued.store_id
    url = hub_url or hub_base_url(settings)
    link = "acorn://enrol?" + urlencode({"hub": url, "code": issued.code, "store": store,
                                         "ca": ca.fingerprint})
    typer.echo(f"enrolment code for store {store}: {issued.code}")
    typer.echo(f"valid until {format_utc(issued.expires_at)}, once; node "
               f"{issued.node_id or 'next free counter-N'}")
    insecure = "" if url.lower().startswith("https:") else "--insecure-http "
    typer.echo(f"on the store machine: acorn-edge enrol --hub {url} {insecure}--store {store} "
               f"--ca-fingerprint {ca.fingerprint} {issued.code}")
    typer.echo(f"or: acorn-edge enrol {insecure}'{link}'")
    if qr:
        typer.echo(terminal_qr(link))


def devices_rotate(
    store: Annotated[str, typer.Argument(help="the node's store")],
    node: Annotated[str, typer.Argument(help="the node to give a new key and certificate")],
    minutes: Annotated[int | None, typer.Option(
        help="how long the code is valid (default ACORN_HUB_ENROL_CODE_MINUTES, at most 60)")]
    = None,
    hub_url: HubUrl = None,
    qr: Annotated[bool, typer.Option(help="print a terminal QR code of the code's link")] = True,
) -> None:
    """Make an enrolment code bound to NODE: `acorn-edge enrol --force CODE` on the machine gives
    it a new key and certificate, and its old certificate is then refused renewal."""
    settings = load_settings()
    with database(settings) as engine:
        issued = lifecycle.rotate(engine, Principal(cli_actor(), Role.ADMIN), store, node,
                                  minutes or settings.enrol_code_minutes)
    print_code(settings, issued, hub_url, qr)
    typer.echo("(the machine already holds an identity: add --force to acorn-edge enrol)")


def devices_revoke(
    store: Annotated[str, typer.Argument(help="the node's store")],
    node: Annotated[str, typer.Argument(help="the node to cut off for good")],
    reason: Annotated[str, typer.Option(help="why (kept in the audit trail)")],
) -> None:
    """Revoke a node for good: the broker drops it at once, and its renewals, re-enrolment under
    the same node id and events are refused from now on. Running it again retries the broker."""
    settings = load_settings()
    settings.require_admin_secret()
    with database(settings) as engine:
        done = lifecycle.revoke(engine, Principal(cli_actor(), Role.ADMIN), store, node, reason,
                                _unprovisioner(settings))
    state = "was already revoked" if done.already else "revoked"
    typer.echo(f"{store}/{node} {state} ({format_utc(done.revoked_at)}); removed from the broker")


def _unprovisioner(settings: Settings) -> Callable[[str, str], None]:
    """Remove a node's client and role from the broker (one admin login each)."""
    settings.require_admin_secret()

    def unprovision(store_id: str, node_id: str) -> None:
        with broker_admins(settings) as admin:
            admin.remove_node(store_id, node_id)
    return unprovision


def devices_replace(
    store: Annotated[str, typer.Argument(help="the store whose machine is replaced")],
    old_node: Annotated[str, typer.Argument(help="the node of the machine being replaced")],
    reason: Annotated[str, typer.Option(help="why (kept in the audit trail)")]
    = "store machine replaced",
    minutes: Annotated[int | None, typer.Option(
        help="how long the new node's code is valid (default ACORN_HUB_ENROL_CODE_MINUTES)")]
    = None,
    hub_url: HubUrl = None,
    qr: Annotated[bool, typer.Option(help="print a terminal QR code of the code's link")] = True,
) -> None:
    """Replace a store machine: revoke OLD_NODE, print an enrolment code for the new machine
    (a new node id), and say how many of the old node's events the hub does not hold."""
    settings = load_settings()
    with database(settings) as engine:
        done = retire.replace(engine, Principal(cli_actor(), Role.ADMIN), store, old_node,
                              reason, minutes or settings.enrol_code_minutes,
                              _unprovisioner(settings))
    b = done.backlog
    typer.echo(f"{store}/{old_node} revoked ({format_utc(done.revoked.revoked_at)}); the hub "
               f"holds its events up to seq {b.hub_seq}")
    if b.unsent is None:
        typer.echo("its unsent events are unknown (it never reported a status): recover its "
                   "data folder onto the new machine if you can (README: replacing a machine)")
    elif b.unsent == 0:
        typer.echo(f"nothing unsent at its last report ({_when(b.reported_at)}): nothing lost")
    else:
        typer.echo(f"{b.unsent} event(s) unsent at its last report ({_when(b.reported_at)}; seqs "
                   f"{b.hub_seq + 1}-{b.written_seq}): LOST unless its data folder is recovered "
                   "onto the new machine (acorn-edge recover, README: replacing a machine)")
    print_code(settings, done.code, hub_url, qr)


def _when(at: datetime | None) -> str:
    return format_utc(at) if at is not None else "never"


def stores_decommission(
    store: Annotated[str, typer.Argument(help="the store to close")],
    reason: Annotated[str, typer.Option(help="why (kept in the audit trail)")],
) -> None:
    """Decommission a store: revoke all its nodes, remove them from the broker, refuse new
    enrolment codes for it; its returns, refunds and audit trail are kept."""
    settings = load_settings()
    with database(settings) as engine:
        done = retire.decommission(engine, Principal(cli_actor(), Role.ADMIN), store, reason,
                                   _unprovisioner(settings))
    state = "was already decommissioned" if done.already else "decommissioned"
    typer.echo(f"store {store} {state} ({format_utc(done.decommissioned_at)}); nodes revoked "
               f"and removed from the broker: {', '.join(done.nodes) or 'none'}")


def terminal_qr(text: str) -> str:
    """A QR code of ``text`` drawn with block characters."""
    code = qrcode.QRCode(border=1, error_correction=qrcode.constants.ERROR_CORRECT_L)
    code.add_data(text)
    out = io.StringIO()
    code.print_ascii(out=out, invert=True)
    return out.getvalue()
