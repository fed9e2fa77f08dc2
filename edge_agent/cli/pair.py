"""``acorn-edge pair``: a store machine with no identity shows a pairing code (receipt printer
and setup page); a technician enters it on the HQ desk; the machine then runs as that node.

Rules: the key is made here and stays here (``edge_agent.enrolment.pairing``); the setup page
is served on the counter page's address (``ACORN_EDGE_HTTP_HOST``/``PORT``) until the machine is
paired, then the agent itself starts there (unless ``--no-run``), so the store's tablet moves on
to the counter page; Ctrl-C ends the wait (exit 1, nothing written); a refusal or an expired
code prints one line and exits 1 (``acorn-edge pair``), or, when ``acorn-edge run`` pairs a new
machine (as its systemd unit does), is shown on the setup page and tried again with a new code
after a growing wait, so a machine that boots before its network or hub does not stop trying
(a hub URL or fingerprint that cannot work, ``HubSettingsError``, still exits 1 at once).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated

import httpx
import typer
import uvicorn

from edge_agent.cli.enrol import (
    CaFingerprint,
    DataDir,
    Force,
    Hub,
    InsecureHttp,
    SettingsFile,
    hub_for,
    next_step,
)
from edge_agent.enrolment import (
    Enrolled,
    EnrolmentError,
    HubSettingsError,
    Pairing,
    PairingStatus,
    Snapshot,
    pair,
)
from edge_agent.web.setup import create_setup_app

RETRY_FIRST_SECONDS, RETRY_MAX_SECONDS = 5.0, 60.0


@contextmanager
def setup_page(status: PairingStatus, host: str, port: int) -> Iterator[None]:
    """Serve the setup page on ``host:port`` in a thread until the block ends."""
    server = uvicorn.Server(uvicorn.Config(create_setup_app(status), host=host, port=port,
                                           log_config=None, access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, name="edge-setup-page", daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10)


def _announce(snapshot: Snapshot) -> None:
    printed = {True: " (printed)", False: " (the printer failed)", None: ""}[snapshot.printed]
    typer.echo(f"pairing code: {snapshot.code}{printed}")
    typer.echo(f"enter it on the HQ desk (Fleet, Pair a machine) before {snapshot.expires_at}")


def pair_command(
    hub: Hub = None,
    ca_fingerprint: CaFingerprint = None,
    insecure_http: InsecureHttp = False,
    data_dir: DataDir = Path("var/edge"),
    settings_file: SettingsFile = Path(".env"),
    force: Force = False,
    printer_url: Annotated[str, typer.Option(
        envvar="ACORN_EDGE_PRINTER_URL", help="receipt printer the code is printed on "
        "(tcp://host:9100, serial://, usb://); empty: the setup page only")] = "",
    printer_paper: Annotated[str, typer.Option(
        envvar="ACORN_EDGE_PRINTER_PAPER", help="58mm or 80mm")] = "80mm",
    http_host: Annotated[str, typer.Option(
        envvar="ACORN_EDGE_HTTP_HOST", help="the setup page's (and then the counter's) "
        "address")] = "127.0.0.1",
    http_port: Annotated[int, typer.Option(
        envvar="ACORN_EDGE_HTTP_PORT", help="the setup page's (and then the counter's) port")]
    = 8081,
    run: Annotated[bool, typer.Option(
        "--run/--no-run", help="start the agent once paired")] = True,
) -> None:
    """Pair this machine from the desk: print and show a pairing code, wait until a technician
    enters it on the HQ desk, write this node's identity and settings, then run the agent."""
    done = pair_here(hub, ca_fingerprint, insecure_http, data_dir, settings_file, force,
                     printer_url, printer_paper, http_host, http_port)
    typer.echo(f"paired as store {done.store_id} node {done.node_id}; identity in "
               f"{done.identity_dir}, settings in {done.settings_file}")
    if not run:
        typer.echo(f"next: {next_step(settings_file)}")
        return
    _RUN_AGENT[0](settings_file)


def pair_here(hub: str | None, ca_fingerprint: str | None, insecure_http: bool, data_dir: Path,
              settings_file: Path, force: bool, printer_url: str, printer_paper: str,
              http_host: str, http_port: int, keep_trying: bool = False) -> Enrolled:
    """Find the hub, show the code on the setup page (and the printer) until the machine is
    paired; its identity and settings are then written. Exit 1 with one line if it fails, or,
    with ``keep_trying`` (``acorn-edge run``, e.g. under systemd), show the failure on the setup
    page and try again after a growing wait (5 s doubling to a minute) until paired or stopped
    (SIGTERM or Ctrl-C: exit 0, as ``run`` stops cleanly, so systemd does not call it failed)."""
    status, stop = PairingStatus(), threading.Event()

    def interrupted(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, interrupted) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with setup_page(status, http_host, http_port):
            typer.echo(f"setup page: http://{http_host}:{http_port}/")
            wait = RETRY_FIRST_SECONDS
            while True:
                try:
                    url = hub_for(hub, ca_fingerprint)
                    how = Pairing(url, ca_fingerprint, data_dir, settings_file, insecure_http,
                                  force, printer_url, printer_paper)
                    return pair(how, status, stop, on_code=_announce)
                except EnrolmentError as err:
                    if not keep_trying or stop.is_set() or isinstance(err, HubSettingsError):
                        raise
                    _retry_later(status, err, wait)
                    if stop.wait(wait):
                        raise EnrolmentError("stopped before the machine was paired") from err
                    wait = min(wait * 2, RETRY_MAX_SECONDS)
    except EnrolmentError as err:
        if keep_trying and stop.is_set():  # `run` stopped (systemctl stop): a clean stop
            typer.echo("acorn-edge: stopped before this machine was paired (nothing written)",
                       err=True)
            raise typer.Exit(0) from None
        typer.echo(f"acorn-edge: pairing failed: {err}", err=True)
        raise typer.Exit(1) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _retry_later(status: PairingStatus, err: EnrolmentError, wait: float) -> None:
    """Say on the setup page and stderr that pairing failed and when it is tried again."""
    said = f"{err} (trying again in {wait:g} s)"
    status.update(state="failed", code=None, expires_at=None, message=said)
    typer.echo(f"acorn-edge: pairing failed: {said}", err=True)


def pairing_code_command(
    http_host: Annotated[str, typer.Option(
        envvar="ACORN_EDGE_HTTP_HOST", help="the setup page's address")] = "127.0.0.1",
    http_port: Annotated[int, typer.Option(
        envvar="ACORN_EDGE_HTTP_PORT", help="the setup page's port")] = 8081,
) -> None:
    """Print the pairing code the running agent shows on its setup page (a machine with no
    identity yet, e.g. the systemd service right after install); exit 1 if there is none."""
    url = f"http://{http_host}:{http_port}"
    try:
        answer = httpx.get(f"{url}/api/setup", timeout=3.0)
    except httpx.HTTPError:
        typer.echo(f"acorn-edge: no agent answers at {url} (is the service running? "
                   "systemctl status acorn-edge)", err=True)
        raise typer.Exit(1) from None
    if answer.status_code == 404:
        typer.echo("this machine is paired: the agent runs as the counter (no pairing code)")
        return
    try:
        snapshot = Snapshot(**answer.raise_for_status().json())
    except (httpx.HTTPError, ValueError, TypeError) as err:
        typer.echo(f"acorn-edge: the setup page at {url} answered oddly: {err}", err=True)
        raise typer.Exit(1) from None
    if snapshot.code is None:
        typer.echo(f"no pairing code yet ({snapshot.state}): {snapshot.message}", err=True)
        raise typer.Exit(1)
    _announce(snapshot)


_RUN_AGENT: list[Callable[[Path], None]] = []


def register(cli: typer.Typer, run_agent: Callable[[Path], None]) -> None:
    """Add ``pair`` to the CLI; ``run_agent(settings_file)`` starts the agent once paired."""
    _RUN_AGENT[:] = [run_agent]
    cli.command("pair")(pair_command)
    cli.command("pairing-code")(pairing_code_command)
