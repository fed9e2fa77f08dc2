"""``--help`` of every ``acorn-hub`` and ``acorn-edge`` command reads as plain text: flags
without double negatives and without a type (no ``<bool>``), options that take a value say what
to give in Click's words (``TEXT``, ``INTEGER``, ``FILE``), no reStructuredText markup from
docstrings, no secret taken as an argument, and placeholders in help texts kept (Markdown help
would eat ``<word>``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from edge_agent.cli.main import cli as edge_cli
from hub.cli.main import app as hub_cli

SECRET_OPTION = re.compile(r"--(password|secret|token|pin)\b(?!-file)")
# an option row of the Options panel: "│ --name  TYPE  help"; the type Typer would show is <...>
OPTION_TYPE = re.compile(r"^│\s+(?:\*\s+)?(--[\w-]+)(?:,\s*-\w)?\s+(-\w\s+)?(<[^>]*>)", re.M)


def _paths(command: Any, path: list[str]) -> Iterator[list[str]]:
    yield path
    if hasattr(command, "list_commands"):  # its groups built on demand (``hub.cli.plain_help``)
        ctx = command.context_class(command)
        for name in sorted(command.list_commands(ctx)):
            yield from _paths(command.get_command(ctx, name), [*path, name])


def _all_help() -> Iterator[tuple[str, list[str], typer.Typer]]:
    for name, app in (("acorn-hub", hub_cli), ("acorn-edge", edge_cli)):
        for path in _paths(typer.main.get_command(app), []):
            yield name, path, app


HELP = list(_all_help())


@pytest.mark.parametrize(("program", "path", "app"), HELP,
                         ids=[" ".join([p, *a]) for p, a, _ in HELP])
def test_help_is_plain(program: str, path: list[str], app: typer.Typer) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=100,
                                env={"COLUMNS": "100"})
    text = result.stdout
    assert result.exit_code == 0 and "Usage" in text, text
    assert "``" not in text and ":func:" not in text and ":class:" not in text, text
    assert "\b" not in text and "\\b" not in text, text  # Click's no-rewrap marker
    assert "<bool>" not in text, text
    assert not OPTION_TYPE.search(text), f"an option's type in Typer's <...> form:\n{text}"
    assert "--no-no-" not in text and "[default: no-" not in text, text
    assert not SECRET_OPTION.search(text), f"a secret taken as an argument:\n{text}"


def test_the_whole_tree_is_walked() -> None:
    walked = {(p, " ".join(a)) for p, a, _ in HELP}
    assert {("acorn-hub", "devices list"), ("acorn-hub", "stores set"),
            ("acorn-hub", "amazon accounts"), ("acorn-edge", "recover")} <= walked


def _help(app: typer.Typer, *path: str) -> str:
    return CliRunner().invoke(app, [*path, "--help"], terminal_width=100,
                              env={"COLUMNS": "100"}).stdout


def test_docstring_markup_renders_as_words() -> None:
    upgrade = _help(hub_cli, "db", "upgrade")
    assert "up to revision (default: the newest)" in upgrade
    # a docstring wrapped in the source reads as one sentence, not broken mid-line
    assert "Amazon scheduler and mDNS" in " ".join(_help(hub_cli, "serve").split())


def _row(text: str, option: str) -> str:
    """The Options panel's row of ``option``."""
    return next(line for line in text.splitlines()
                if line.startswith("│") and line.lstrip("│ *").startswith(f"{option} "))


def test_a_flag_shows_once_and_placeholders_survive() -> None:
    stores = _help(hub_cli, "stores", "set")
    assert stores.count("--no-offline-limit") == 1
    # a flag: its name and its help, no type; a value: what to give
    assert _row(stores, "--no-offline-limit").split() == [
        "│", "--no-offline-limit", "remove", "the", "offline", "limit", "│"]
    assert _row(stores, "--offline-limit").split()[2] == "TEXT"
    assert _row(_help(hub_cli, "devices", "add"), "--password-file").split()[2] == "FILE"
    assert _row(_help(hub_cli, "devices", "add"), "--broker-port").split()[2] == "INTEGER"
    assert _row(_help(edge_cli, "run"), "--help").split()[2:4] == ["Show", "this"]
    assert "buyer:HEX" in _help(hub_cli, "risk", "flag")
    assert "DATA_DIR/quarantine/UTC-TIME" in " ".join(_help(edge_cli, "recover").split())


def test_a_mistyped_group_is_suggested_though_groups_are_built_on_demand() -> None:
    result = CliRunner().invoke(hub_cli, ["devicez"], terminal_width=100, env={"COLUMNS": "100"})
    assert result.exit_code == 2 and "Did you mean 'devices'?" in result.output, result.output
