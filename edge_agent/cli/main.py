"""``acorn-edge``: run a store's edge agent, look at its outbox, find and test its devices.

Rules: every command takes ``--config FILE`` (TOML or dotenv) on top of ``ACORN_EDGE_*``
environment variables; a configuration problem is one clear line on stderr and exit code 2, never
a traceback; ``run`` stops cleanly (offline status, link closed, store closed, exit 0) on Ctrl-C
or SIGTERM.
"""

from __future__ import annotations

import atexit
import gc
import json
import signal
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import httpx
import typer
import uvicorn

from edge_agent.agent import agent_version
from edge_agent.app import AgentServer, create_app
from edge_agent.cli import devices as cli_devices
from edge_agent.cli import enrol as cli_enrol
from edge_agent.cli import first_run
from edge_agent.cli import pair as cli_pair
from edge_agent.cli import selftest as cli_selftest
from edge_agent.cli.plain_help import PlainHelpGroup
from edge_agent.errors import EdgeError
from edge_agent.logs import configure_logging
from edge_agent.settings import EdgeSettings, load_settings
from edge_agent.storage import recover as recovery
from edge_agent.storage.store import read_counters

# docstrings are Markdown in --help: ``name`` shows as code, wrapped lines join
cli = typer.Typer(name="acorn-edge", cls=PlainHelpGroup, no_args_is_help=True, add_completion=False,
                  rich_markup_mode="markdown",
                  help="ACORN edge agent: the store counter's local API, page and hub link.")

ConfigOption = Annotated[Path | None, typer.Option(
    "--config", "-c", help="TOML or dotenv file with settings (ACORN_EDGE_* env vars win).",
    exists=False, dir_okay=False)]


def _settings(config: Path | None) -> EdgeSettings:
    try:
        return load_settings(config)
    except EdgeError as err:
        typer.echo(f"acorn-edge: {err}", err=True)
        if "ACORN_EDGE_STORE_ID" in str(err):  # a machine that has not joined the fleet yet
            typer.echo("acorn-edge: a new store machine joins first: `acorn-edge pair` (shows a "
                       "code to enter on the HQ desk) or `acorn-edge enrol CODE`", err=True)
        raise typer.Exit(2) from None


def _settings_or_pair(config: Path | None) -> EdgeSettings:
    """The agent's settings; on a machine with no identity (``first_run``) pair it first."""
    try:
        return load_settings(config)
    except EdgeError:
        first = first_run.needs_pairing(config)
        if first is None:
            return _settings(config)
    typer.echo("acorn-edge: this machine has no identity yet: pairing it (the setup page shows "
               "the code to enter on the HQ desk)", err=True)
    settings_file = first_run.settings_file_for(config)
    done = cli_pair.pair_here(
        first.hub_url or None, first.hub_ca_fingerprint or None, first.hub_insecure_http,
        first.data_dir or first_run.DEFAULT_DATA_DIR, settings_file, False, first.printer_url,
        first.printer_paper, first.http_host, first.http_port, keep_trying=True)
    typer.echo(f"paired as store {done.store_id} node {done.node_id}; identity in "
               f"{done.identity_dir}, settings in {done.settings_file}")
    return _settings(settings_file)


def _ignore_signal(_signum: int, _frame: FrameType | None) -> None:
    """Uvicorn re-raises the stop signal after its clean shutdown; nothing is left to do then."""


@cli.command()
def run(config: ConfigOption = None) -> None:
    """Start the counter page, local API and MQTT link in one process (Ctrl-C/SIGTERM stop it).

    On a machine with no identity yet (no store, node, broker password or certificate set) it
    first shows the setup page with a pairing code and joins the fleet once HQ enters it."""
    settings = _settings_or_pair(config)
    configure_logging(settings.log_level, settings.log_json)
    try:
        app = create_app(settings)
    except EdgeError as err:
        typer.echo(f"acorn-edge: {err}", err=True)
        raise typer.Exit(1) from None
    server = AgentServer(uvicorn.Config(
        app, host=settings.http_host, port=settings.http_port, log_config=None,
        access_log=False, lifespan="on", timeout_graceful_shutdown=5))
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _ignore_signal)
    typer.echo(f"ACORN edge agent store {settings.store_id} node {settings.node_id}: "
               f"counter page and API on {settings.http_url}/ (data in {settings.data_path})",
               err=False)
    server.run()
    if not server.started:
        typer.echo(f"acorn-edge: the server did not start on {settings.http_url}", err=True)
        raise typer.Exit(1)


@cli.command()
def status(config: ConfigOption = None,
           as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Outbox depth, last acked seq, next seq and broker state (from the agent, else its file)."""
    settings = _settings(config)
    try:
        health = httpx.get(f"{settings.http_url}/api/health", timeout=2.0).raise_for_status()
        data: dict[str, Any] = health.json()
        figures = {key: data[key] for key in ("outbox_pending", "last_acked_seq", "next_seq")}
        report = {"source": f"running agent at {settings.http_url}",
                  "broker": "connected" if data["broker_connected"] else "disconnected", **figures}
    except (httpx.HTTPError, ValueError, KeyError):
        try:
            figures = read_counters(settings.db_path)
        except EdgeError as err:
            typer.echo(f"acorn-edge: agent not answering at {settings.http_url} and {err}",
                       err=True)
            raise typer.Exit(1) from None
        report = {"source": f"database {settings.db_path} (agent not running)",
                  "broker": "unknown (agent not running)", **figures}
    _print(report, as_json)


@cli.command()
def recover(
        quarantined: Annotated[Path | None, typer.Argument(
            help="a quarantine directory (DATA_DIR/quarantine/UTC-TIME) or a damaged database "
            "file; default: the newest one not yet recovered")] = None,
        config: ConfigOption = None,
        from_node: Annotated[str | None, typer.Option(
            help="the node the file was, when it no longer says so itself (its meta is "
            "unreadable)")] = None,
        hub_has: Annotated[int | None, typer.Option(
            min=0, help="the highest seq of the file's node the hub holds, if known "
            "(`acorn-hub devices replace` prints it): those events are not sent again")]
        = None) -> None:
    """Salvage every readable return and outbox event from a damaged (quarantined) database
    with SQLite's .recover, and queue for the hub what it does not have, under new seqs.

    Also into a replacement machine: the old node's file (same store) is compared with the
    old node's position at the hub, not this node's. Safe while the agent runs, and to run
    twice (the second run changes nothing)."""
    settings = _settings(config)

    def progress(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        with typer.progressbar(list(rows), label="sorting out the salvaged events",
                               file=sys.stderr) as bar:
            yield from bar

    try:
        with recovery.live_store(settings.db_path, settings.store_id, settings.node_id) as store:
            source = quarantined or recovery.latest_quarantine(store, settings.data_path)
            typer.echo(f"recovering {source} into {settings.db_path} (reading it with sqlite3 "
                       ".recover)")
            outcome = recovery.recover(store, source, progress, from_node, hub_has)
    except EdgeError as err:
        typer.echo(f"acorn-edge: recover failed: {err}", err=True)
        raise typer.Exit(1) from None
    for line in outcome.lines():
        typer.echo(line)


def _print(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report))
        return
    for key in ("source", "broker", "outbox_pending", "last_acked_seq", "next_seq"):
        typer.echo(f"{key.replace('_', ' '):>15}: {report[key]}")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"acorn-edge {agent_version()}")
        raise typer.Exit()


@cli.callback()
def _main(version: Annotated[bool, typer.Option(
        "--version", help="print the version and exit", callback=_version,
        is_eager=True)] = False) -> None:
    """ACORN edge agent."""


cli_devices.register(cli)
cli_enrol.register(cli)
cli_selftest.register(cli)
cli_pair.register(cli, lambda settings_file: run(config=settings_file))


def main() -> None:
    """Console-script entry point.

    The heap is frozen at exit (``gc.freeze`` as an exit handler): by then ``run`` has stopped
    the agent (offline status said, threads joined, store and journal closed), and without it
    the interpreter's final garbage collections walk every object of the app (pydantic's
    schemas, FastAPI's routes) for nothing, 0.3 to 0.7 s of CPU (over a second on a busy
    machine) before the process can end. The other exit handlers still run (logging's flush
    among them) and objects are still freed by reference counting; only the collector's passes
    skip what is frozen.
    """
    atexit.register(gc.freeze)
    cli()
