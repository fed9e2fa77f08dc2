"""``acorn-edge devices`` and ``acorn-edge print-test``: find the devices, prove the printer.

Rules (those of ``edge_agent.cli.main``): a device problem is one clear line on stderr and a
non-zero
exit code, never a traceback; ``print-test`` exits 1 when the printer is offline or out of paper
(nothing is sent), 2 when no printer is configured or its URL is unusable.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from edge_agent.devices import discovery
from edge_agent.errors import EdgeError
from edge_agent.returns import receipts
from edge_agent.settings import EdgeSettings, load_settings

NOT_READY = {"offline": "is offline or unreachable", "paper_out": "is out of paper"}


def _settings(config: Path | None) -> tuple[EdgeSettings | None, str]:
    """Settings when they load, else None and why (ids may be unset on a machine being set up)."""
    try:
        return load_settings(config), ""
    except EdgeError as err:
        return None, str(err)


def devices(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="settings file")] = None,
    timeout: Annotated[float, typer.Option(help="seconds to browse the network")] = 3.0,
    interface: Annotated[list[str] | None, typer.Option(
        "--interface", "-i", help="browse only on this address (repeatable), e.g. 127.0.0.1"),
    ] = None,
    network: Annotated[bool, typer.Option(help="browse mDNS for printers and the hub")] = True,
    serial: Annotated[bool, typer.Option(help="list serial ports")] = True,
    all_serial: Annotated[bool, typer.Option(
        "--all-serial", help="also list serial ports that say nothing about themselves"),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List network printers, the hub and serial scanners, with the settings line for each."""
    from hardware.errors import DiscoveryError

    del config  # every command takes --config (see edge_agent.cli.main); discovery needs none
    try:
        found = discovery.discover(timeout, interface or None, network, serial, all_serial)
    except DiscoveryError as err:
        typer.echo(f"acorn-edge: {err}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps([asdict(item) for item in found], indent=2))
        return
    if not found:
        typer.echo("no printers, hub or serial ports found")
    for item in found:
        typer.echo(f"{item.kind:<8} {item.name}  [{item.where}]" + (f"  ({item.note})"
                                                                     if item.note else ""))
        for line in item.config_lines:
            typer.echo(f"         {line}")


def print_test(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="settings file")] = None,
    url: Annotated[str | None, typer.Option(help="printer URL (default ACORN_EDGE_PRINTER_URL)")]
    = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the status answer")] = 1.0,
) -> None:
    """Print a test page (width, code page, Code 128, QR) and report the printer's status."""
    from hardware.errors import HardwareError
    from hardware.printing import make_profile, printer_from_url

    settings, problem = _settings(config)
    target = url or (settings.printer_url if settings else "")
    if not target:
        why = f" ({problem})" if problem else ""
        typer.echo(f"acorn-edge: no printer configured: set ACORN_EDGE_PRINTER_URL or pass --url"
                   f"{why}", err=True)
        raise typer.Exit(2)
    try:
        profile = receipts.profile_for(settings) if settings else make_profile()
        printer = printer_from_url(target, profile)
    except HardwareError as err:
        typer.echo(f"acorn-edge: {err}", err=True)
        raise typer.Exit(2) from None
    status = printer.status(timeout).value
    if status in NOT_READY:
        typer.echo(f"acorn-edge: printer {target} {NOT_READY[status]} (status {status}); "
                   "nothing printed", err=True)
        raise typer.Exit(1)
    try:
        printer.print_test_page()
    except HardwareError as err:
        typer.echo(f"acorn-edge: printing on {target} failed: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"test page sent to {target}; status {status}"
               + (" (the printer answers no status query)" if status == "unknown" else ""))


def register(cli: typer.Typer) -> None:
    """Add ``devices`` and ``print-test`` to the ``acorn-edge`` CLI."""
    cli.command("devices")(devices)
    cli.command("print-test")(print_test)
