"""``acorn-hub archive close|list|show|verify``: the monthly archive from the command line.
Rules: ``hub.finance.archive``.

    acorn-hub archive close --month 2026-11                          close a month (version 1)
    acorn-hub archive close --month 2026-11 --correction --reason …  a corrected new version
    acorn-hub archive list                                           every version, newest first
    acorn-hub archive show --month 2026-11 [--version 2]             one version's files
    acorn-hub archive verify --month 2026-11 [--version 2]           recompute; exit 1 if altered
"""

from __future__ import annotations

from typing import Annotated

import typer

from hub.cli.db import database
from hub.cli.people import operator
from hub.errors import HubError
from hub.finance.archive import store
from hub.settings import load_settings
from hub.storage.engine import reading

app = typer.Typer(
    help="The monthly archive: close a month (write-once files with a SHA-256 "
    "manifest, its hash audited), correct it, list, show and verify.",
    no_args_is_help=True,
)
Month = Annotated[str, typer.Option("--month", help="the month, YYYY-MM (UTC)")]
Version = Annotated[
    int | None, typer.Option("--version", min=1, help="the version (default: the latest)")
]


def _fail(err: HubError) -> typer.Exit:
    typer.echo(f"error: {err.message}", err=True)
    return typer.Exit(1)


def _version(month: str, version: int | None) -> int:
    with database() as engine, reading(engine) as conn:
        found = store.archives(conn, month)
    if not found:
        raise _fail(HubError(f"{month} has no archive: close it first"))
    return version or int(found[-1]["version"])


@app.command("close")
def close(
    month: Month,
    correction: Annotated[
        bool, typer.Option("--correction", help="write a corrected new version of a closed month")
    ] = False,
    reason: Annotated[str | None, typer.Option(help="why (required for a correction)")] = None,
) -> None:
    """Close a past month: write its archive once and audit its manifest's hash."""
    settings = load_settings()
    who = operator()
    try:
        with database(settings) as engine:
            record = store.close(
                engine, settings.archive_dir, month, who.name, who.role, reason, correction
            )
    except HubError as err:
        raise _fail(err) from err
    typer.echo(
        f"{month} version {record['version']}: {record['files']} files, "
        f"{record['bytes']} bytes, manifest SHA-256 {record['manifest_sha256']} in "
        f"{settings.archive_dir / record['folder']}"
    )


@app.command("list")
def list_archives() -> None:
    """Every archive version: month, version, files, bytes, closed at, by, manifest hash."""
    try:
        with database() as engine, reading(engine) as conn:
            rows = store.archives(conn)
    except HubError as err:
        raise _fail(err) from err
    for row in rows:
        typer.echo(
            f"{row['month']}\tv{row['version']}\t{row['files']}\t{row['bytes']}\t"
            f"{row['closed_at'].isoformat()}\t{row['closed_by']}\t{row['manifest_sha256']}"
        )


@app.command("show")
def show(month: Month, version: Version = None) -> None:
    """One version's files: name, size, SHA-256."""
    try:
        number = _version(month, version)
        with database() as engine, reading(engine) as conn:
            record, listed = store.one(conn, month, number)
    except HubError as err:
        raise _fail(err) from err
    typer.echo(
        f"{month} version {number} · closed {record['closed_at'].isoformat()} by "
        f"{record['closed_by']}" + (f" · {record['reason']}" if record["reason"] else "")
    )
    for item in listed:
        typer.echo(f"{item.name}\t{item.size}\t{item.sha256}")


@app.command("verify")
def verify(month: Month, version: Version = None) -> None:
    """Recompute every file against the manifest and the audit chain (exit 1 if any differs)."""
    settings = load_settings()
    try:
        number = _version(month, version)
        with database(settings) as engine:
            found = store.verify(engine, settings.archive_dir, month, number)
    except HubError as err:
        raise _fail(err) from err
    if found.ok:
        typer.echo(
            f"{month} version {number}: {found.files} files verified, manifest and audit "
            "entry agree"
        )
        return
    for problem in found.problems:
        typer.echo(f"ALTERED {problem}", err=True)
    raise typer.Exit(1)
