"""``acorn-edge selftest``: run the running agent's self-test and print what each check found.

Rules (those of ``edge_agent.cli.main``): exit 0 when every check passed or was skipped, 1 when
one failed or the agent does not answer, 2 for a configuration problem; never a traceback. The
agent runs the checks (it owns the scanner, the printer and the link); this command asks it over
its local API (``POST /api/selftest``) and waits for the test scan it asks for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from edge_agent.errors import EdgeError
from edge_agent.settings import EdgeSettings, load_settings

MARKS = {"pass": "ok  ", "fail": "FAIL", "skip": "skip"}


def _settings(config: Path | None) -> EdgeSettings:
    try:
        return load_settings(config)
    except EdgeError as err:
        typer.echo(f"acorn-edge: {err}", err=True)
        raise typer.Exit(2) from None


def lines(answer: dict[str, Any]) -> list[str]:
    """The report as a person reads it: one line per check, then the verdict."""
    report = answer["report"]
    out = [f"{MARKS.get(c['outcome'], c['outcome'])}  {c['name']:<8} {c['detail']}"
           for c in report["checks"]]
    out.append("self-test passed" if report["passed"] else "self-test FAILED: " + ", ".join(
        c["name"] for c in report["checks"] if c["outcome"] == "fail"))
    if answer.get("refusal"):
        out.append(answer["refusal"])
    return out


def selftest(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="settings file")] = None,
    scan: Annotated[bool, typer.Option(help="ask for a test scan at the counter")] = True,
    print_page: Annotated[bool, typer.Option("--print/--no-print",
                                             help="print the store ready page")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Check the hub, broker, clock, disk, scanner (a test scan), printer (the store ready page)
    and POS; exit 1 when a check fails."""
    settings = _settings(config)
    if scan and settings.scanner_url:
        typer.echo(f"scan any barcode at the counter within {settings.selftest_scan_seconds:g} s",
                   err=True)
    try:
        answer = httpx.post(f"{settings.http_url}/api/selftest",
                            json={"scan": scan, "print_page": print_page},
                            timeout=settings.selftest_scan_seconds + 60).raise_for_status().json()
    except httpx.HTTPStatusError as err:
        typer.echo(f"acorn-edge: the agent refused the self-test: {err.response.text[:300]}",
                   err=True)
        raise typer.Exit(1) from None
    except (httpx.HTTPError, ValueError) as err:
        typer.echo(f"acorn-edge: no agent answers at {settings.http_url} ({err}); start it with "
                   "`acorn-edge run`", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(answer))
    else:
        for line in lines(answer):
            typer.echo(line)
    if not answer["report"]["passed"]:
        raise typer.Exit(1)


def register(cli: typer.Typer) -> None:
    """Add the command to ``acorn-edge``."""
    cli.command(name="selftest")(selftest)
