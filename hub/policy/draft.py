"""A draft of the next policy version, as the desk's policy editor builds it (form or YAML).

Rules:
- a draft is always the next version: ``version`` is set to the active version + 1, whatever the
  form or the YAML said (an approver never raises it by hand);
- from YAML text, the text is kept as it was written (comments too) but for its top-level
  ``version:`` line; from the form's sections (``document``) with the YAML the form was filled
  from (``base``), that YAML is edited in place (ruamel.yaml round trip): its comments, key order
  and the way unchanged values are written survive, changed values are replaced, keys the form
  dropped are removed and new ones are put where the model has them; without a usable base, the
  YAML is written anew in the canonical layout (``dump_policy``): sections in the model's order,
  each under a short comment, amounts as exact decimals, fields left at "none" left out;
- ``load_policy_yaml(dump_policy(doc)) == doc`` for every valid document (the round trip);
- a draft that does not validate still answers its YAML (so the advanced view follows the form)
  and lists every problem with the path of its field (``tiers[1].below``), as publishing would;
- pure: no I/O, no database.
"""

from __future__ import annotations

import io
import re
import textwrap
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, get_args, get_origin

import yaml  # type: ignore[import-untyped]
from pydantic import BaseModel
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from hub.policy.compiled import compile_policy
from hub.policy.document import PolicyDocument
from hub.policy.errors import PolicyError, Problem
from hub.policy.loader import parse_policy_data, validate_policy_data

VERSION_LINE = re.compile(r"(?m)^version:[ \t]*[^\n#]*?(?=[ \t]*(#|$))")
NOTES = {
    "schema_version": "ACORN refund approval policy, written by the desk's policy editor.\n"
                      "schema_version: the format of this file; version: raised on each change.",
    "fx_rates": "Rates for currencies ECB does not quote: 1 unit of `currency` in the base "
                "currency.",
    "tiers": "Checked in order against the converted amount; `below` is exclusive, `up_to` "
             "inclusive; the last tier takes the rest.",
    "risk": "Any of these sends the refund to manual review.",
    "faulty_grades": "Faulty goods: a warranty matter, not a change of mind.",
    "marketplaces": "Return windows (local days from delivery), the statutory withdrawal period "
                    "and the categories refused once opened, per marketplace.",
    "default_marketplace": "Any marketplace id not listed above, store sales included.",
    "timing": "When the money goes back: on_scan, after_inspection or after_approval; the most "
              "specific rule wins.",
}
HEADERLESS = {"version", "name", "base_currency"}


@dataclass(frozen=True)
class Draft:
    """What the editor shows: the YAML, the document (when valid) and every problem."""

    yaml: str
    version: int
    document: PolicyDocument | None
    problems: tuple[Problem, ...]


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]
    """Block style; decimals written as they are (50.00 stays 50.00, never through float)."""


def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> Any:
    text = format(value, "f")
    tag = "tag:yaml.org,2002:float" if "." in text else "tag:yaml.org,2002:int"
    return dumper.represent_scalar(tag, text)


_Dumper.add_representer(Decimal, _decimal)


def _plain(value: Any) -> Any:
    """Model data as YAML-able values: enums as their values, tuples as lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value.value if isinstance(value, Enum) else value


def _sections(data: dict[str, Any]) -> str:
    chunks: list[str] = []
    for key, value in data.items():
        note = NOTES.get(str(key))
        text = yaml.dump({key: value}, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                         default_flow_style=False, width=100)
        lines = [part for line in (note or "").splitlines() for part in textwrap.wrap(line, 96)]
        comment = "".join(f"# {line}\n" for line in lines)
        gap = "" if key in HEADERLESS or not chunks else "\n"
        chunks.append(f"{gap}{comment}{text}")
    return "".join(chunks)


def _no_nones(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _no_nones(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_no_nones(v) for v in value]
    return value


def _as_written(data: dict[str, Any]) -> dict[str, Any]:
    """Leave out what a person would not write: fields at none, no categories refused once
    opened; ``risk.frequent_refunder`` stays (required, and none switches it off)."""
    out: dict[str, Any] = _no_nones(_plain(data))
    markets = [*(out.get("marketplaces") or {}).values(), out.get("default_marketplace")]
    for market in markets:
        if isinstance(market, dict) and market.get("no_refund_once_opened") == []:
            del market["no_refund_once_opened"]
    risk = data.get("risk")
    if isinstance(risk, dict) and "frequent_refunder" in risk and isinstance(out["risk"], dict):
        out["risk"] = {"frequent_refunder": risk["frequent_refunder"], **out["risk"]}
    return out


def dump_policy(doc: PolicyDocument) -> str:
    """A valid document as canonical YAML (see the rules)."""
    return _sections(_as_written(doc.model_dump(mode="python")))


def _with_version(text: str, version: int) -> str | None:
    """``text`` with its top-level ``version:`` value replaced; None without one."""
    replaced, count = VERSION_LINE.subn(f"version: {version}", text, count=1)
    return replaced if count else None


def _check(data: dict[str, Any]) -> tuple[PolicyDocument | None, tuple[Problem, ...]]:
    try:
        doc = validate_policy_data(data)
        compile_policy(doc)
    except PolicyError as err:
        return None, err.problems
    return doc, ()


def from_text(text: str, active_version: int) -> Draft:
    """A draft from YAML text: the text kept, its version raised."""
    version = active_version + 1
    try:
        data = parse_policy_data(text)
    except PolicyError as err:
        return Draft(text, version, None, err.problems)
    data["version"] = version
    doc, problems = _check(data)
    kept = _with_version(text, version)
    if kept is None:  # no version line to raise in place: write the document anew
        kept = dump_policy(doc) if doc is not None else _sections(_as_written(data))
    return Draft(kept, version, doc, problems)


def from_sections(sections: dict[str, Any], active_version: int,
                  base: str | None = None) -> Draft:
    """A draft from the form's sections, the version raised: ``base`` (the YAML the form was
    filled from) edited in place, else YAML written anew (see the rules)."""
    version = active_version + 1
    data = {**sections, "version": version}
    doc, problems = _check(data)
    written = _as_written(doc.model_dump(mode="python") if doc is not None else data)
    kept = _edited(base, written, _lean(PolicyDocument, written)) if base else None
    if kept is not None:
        return Draft(kept, version, doc, problems)
    text = dump_policy(doc) if doc is not None else _sections(written)
    return Draft(text, version, doc, problems)


def _edited(base: str, data: dict[str, Any], lean: dict[str, Any]) -> str | None:
    """``base`` with its values made ``data``'s, comments and order kept, a key it lacks added
    only when ``lean`` (``data`` less the model's defaults) has it; None when ``base`` is not a
    YAML mapping or the result would not read back as ``data`` (then it is written anew)."""
    try:
        tree, indent, offset = load_yaml_guess_indent(base)
    except YAMLError:
        return None
    if not isinstance(tree, CommentedMap):
        return None
    writer = YAML(typ="rt")
    writer.width = 100
    sequence, offset = indent or 2, offset or 0  # "  - id:" is sequence 4, offset 2
    writer.indent(mapping=max(sequence - offset, 1), sequence=sequence, offset=offset)
    writer.representer.add_representer(Decimal, _decimal_rt)
    out = io.StringIO()
    writer.dump(_merge(tree, data, lean), out)
    text = out.getvalue()
    try:
        same = _as_text(_full(parse_policy_data(text), data)) == _as_text(data)
    except PolicyError:
        same = False
    return text if same else None


def _as_text(value: Any) -> Any:
    """Every leaf as its text, so ``50.00`` read back equals the form's ``"50.00"``."""
    if isinstance(value, dict):
        return {str(k): _as_text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_as_text(v) for v in value]
    return str(value)


def _decimal_rt(representer: Any, value: Decimal) -> Any:
    text = format(value, "f")
    tag = "tag:yaml.org,2002:float" if "." in text else "tag:yaml.org,2002:int"
    return representer.represent_scalar(tag, text)


def _merge(old: Any, new: Any, lean: Any) -> Any:
    """``new`` written into ``old`` (a round-trip node): mappings and lists edited in place (a
    key ``old`` lacks is added from ``lean``, so a default nobody wrote stays unwritten), a
    scalar kept as written when it says the same value."""
    if isinstance(old, CommentedMap) and isinstance(new, dict):
        lean = lean if isinstance(lean, dict) else new
        for key in [key for key in old if key not in new]:
            del old[key]
        for key, value in new.items():
            if key in old:
                old[key] = _merge(old[key], value, lean.get(key, value))
            elif key in lean:
                before = [k for k in new if k in old or k == key].index(key)
                old.insert(before, key, _styled(lean[key], _flow(old)))
        return old
    if isinstance(old, CommentedSeq) and isinstance(new, list):
        lean = lean if isinstance(lean, list) and len(lean) == len(new) else new
        like = old[-1] if len(old) else old  # a new item is written as the one before it
        if _flow(old):
            old.fa.set_flow_style()  # "[]" filled stays on its line, with its comment
        del old[len(new):]
        for index, value in enumerate(new):
            if index < len(old):
                old[index] = _merge(old[index], value, lean[index])
            else:
                old.append(_styled(lean[index], _flow(old) or _flow(like)))
        return old
    return old if _same(old, new) else lean  # lean: a mapping put in, less its defaults


def _flow(node: Any) -> bool:
    """Is ``node`` written in flow style (``[a, b]``, ``{a: 1}``; an empty one always is)?"""
    if not isinstance(node, CommentedMap | CommentedSeq):
        return False
    return bool(node.fa.flow_style()) or not node


def _styled(value: Any, flow: bool) -> Any:
    """``value`` as round-trip nodes, in flow style when ``flow`` (inside ``[...]``, or like
    its neighbours), so that a comment after ``[]`` stays on its line."""
    if not flow:
        return value
    if isinstance(value, dict):
        node: CommentedMap | CommentedSeq = CommentedMap(
            (key, _styled(item, True)) for key, item in value.items())
    elif isinstance(value, list):
        node = CommentedSeq(_styled(item, True) for item in value)
    else:
        return value
    node.fa.set_flow_style()
    return node


def _lean(model: type[BaseModel], data: Any) -> Any:
    """``data`` (a ``model``'s fields) without the fields at their default, nested too."""
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        info = model.model_fields.get(str(key))
        if info is None:
            out[key] = value
            continue
        if not info.is_required():
            default = _plain(info.get_default(call_default_factory=True))
            if _as_text(default) == _as_text(value):
                continue
        out[key] = _lean_nested(info.annotation, value)
    return out


def _lean_nested(annotation: Any, value: Any) -> Any:
    models = [arg for arg in (get_args(annotation) or (annotation,))
              if isinstance(arg, type) and issubclass(arg, BaseModel)]
    if not models:
        return value
    if isinstance(value, dict) and get_origin(annotation) is dict:
        return {key: _lean(models[0], item) for key, item in value.items()}
    if isinstance(value, list):
        return [_lean(models[0], item) for item in value]
    return _lean(models[0], value)


def _full(read: Any, data: Any) -> Any:
    """What was read back, with the defaults ``data`` has and the text left unwritten."""
    if isinstance(read, dict) and isinstance(data, dict):
        return {key: _full(read[key], value) if key in read else value
                for key, value in data.items()} | {k: v for k, v in read.items() if k not in data}
    if isinstance(read, list) and isinstance(data, list) and len(read) == len(data):
        return [_full(r, d) for r, d in zip(read, data, strict=True)]
    return read


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, bool) or isinstance(new, bool):
        return old is new
    if isinstance(old, int | float) and isinstance(new, int | float | Decimal | str):
        try:
            return Decimal(str(old)) == Decimal(str(new))
        except ArithmeticError:
            return False
    return type(old) is type(new) and old == new
