"""``--help`` in plain words: a flag shows no type, a value its kind in capitals.

Rules:
- Typer's help shows a type column (``<bool>``, ``<str>``, ``<list[str]>``) for every option:
  a flag (``--dry-run``, ``--help``) takes no value, so it shows none; an option that takes a
  value shows what to give (``TEXT``, ``INTEGER``, ``FILE``, ``TEXT...`` when repeatable), as
  Click writes it, unless the command names its own ``metavar``;
- done once, over the whole command tree, when the root group is built (``cls=PlainHelpGroup``
  on the root ``typer.Typer``); arguments keep their names.
"""

from __future__ import annotations

import re
from typing import Any

from typer.core import TyperGroup, TyperOption

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
