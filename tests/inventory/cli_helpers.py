"""Running ``acorn-hub`` in the inventory tests."""

from __future__ import annotations

from typer.testing import CliRunner

from hub.cli.main import app
from hub.errors import translate


def cli(db_url: str, *args: str) -> tuple[int, str, str]:
    """Run ``acorn-hub``; a hub error becomes stderr as ``acorn-hub`` prints it."""
    result = CliRunner().invoke(app, list(args), env={"ACORN_HUB_DATABASE_URL": db_url})
    known = translate(result.exception) if result.exception else None
    if known is not None:
        return 1, result.stdout, f"acorn-hub: error ({known.field}): {known.message}"
    return result.exit_code, result.stdout, result.stderr
