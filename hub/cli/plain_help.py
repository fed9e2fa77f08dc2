"""``--help`` in plain words: a flag shows no type, a value its kind in capitals.

Rules:
- Typer's help shows a type column (``<bool>``, ``<str>``, ``<list[str]>``) for every option:
  a flag (``--dry-run``, ``--help``) takes no value, so it shows none; an option that takes a
  value shows what to give (``TEXT``, ``INTEGER``, ``FILE``, ``TEXT...`` when repeatable), as
  Click writes it, unless the command names its own ``metavar``;
- done once, over the whole command tree, when the root group is built (``cls=PlainHelpGroup``
  on the root ``typer.Typer``); arguments keep their names;
- command groups may be lazy (``LazyGroups``): the root lists them by name and builds one (its
  module imported, its help rewritten as above) only when it is asked for, so ``acorn-hub
  serve`` does not import every command's module; the listing order is the declared one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from difflib import get_close_matches
from typing import Any, ClassVar

import typer
from typer import _click
from typer.core import TyperGroup, TyperOption
from typer.main import get_group_from_info
from typer.models import TyperInfo

KINDS = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "path": "PATH", "file": "FILE",
         "dir": "DIRECTORY", "datetime": "DATETIME", "Decimal": "DECIMAL", "bool": "BOOLEAN"}
_LIST = re.compile(r"^list\[(.+)\]$")


def value_metavar(typed: str) -> str:
    """Click's word for the type Typer shows as ``typed`` (``<str>`` -> ``TEXT``)."""
    inner = typed.removeprefix("<").removesuffix(">")
    repeated = _LIST.match(inner)
    if repeated:
        return f"{value_metavar(repeated.group(1))}..."
    if "|" in inner:  # a choice: the values themselves
        return f"[{inner}]"
    return KINDS.get(inner, inner.upper())


def _plain(option: TyperOption, ctx: Any) -> None:
    if option.metavar is not None:
        return
    if option.is_flag or option.count:
        option.metavar = ""  # nothing to give
    else:
        option.metavar = value_metavar(option.display_type(ctx))


def _walk(command: Any, parent: Any) -> None:
    ctx = command.context_class(command, parent=parent, info_name=command.name)
    for param in command.get_params(ctx):  # with its --help, made once and kept
        if isinstance(param, TyperOption):
            _plain(param, ctx)
    for sub in getattr(command, "commands", {}).values():
        _walk(sub, ctx)


class PlainHelpGroup(TyperGroup):
    """The root group: rewrites the help of every command below it (see the module rules)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _walk(self, None)


LazyGroups = Sequence[tuple[str, Callable[[], typer.Typer]]]
"""``(name, loader)`` of each command group, in the order listed; ``loader`` returns its
``typer.Typer`` (importing its module) and is called only when the group is asked for."""


class LazyPlainHelpGroup(PlainHelpGroup):
    """A root group whose command groups (``groups``, set by a subclass) are built on demand, as
    ``add_typer(app, name=name)`` would have built them, with the root's help rewriting."""

    groups: ClassVar[LazyGroups] = ()

    def list_commands(self, ctx: _click.Context) -> list[str]:
        lazy = [name for name, _ in self.groups]
        return [name for name in self.commands if name not in lazy] + lazy

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        if cmd_name not in self.commands:
            loader = dict(self.groups).get(cmd_name)
            if loader is None:
                return None
            group = get_group_from_info(
                TyperInfo(loader(), name=cmd_name), pretty_exceptions_short=True,  # Typer's default
                suggest_commands=self.suggest_commands, rich_markup_mode=self.rich_markup_mode)
            _walk(group, ctx)
            self.commands[cmd_name] = group
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: _click.Context, args: list[str]
                        ) -> tuple[str | None, _click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except _click.exceptions.UsageError as err:
            # Typer suggests from the groups built so far: suggest from every group instead
            if self.suggest_commands and args:
                message = err.message.split(". Did you mean ")[0].rstrip(".")
                matches = get_close_matches(args[0], self.list_commands(ctx))
                err.message = f"{message}. Did you mean {', '.join(map(repr, matches))}?" \
                    if matches else f"{message}."
            raise
