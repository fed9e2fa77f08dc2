"""A draft of the next policy version, as the desk's policy editor builds it (form or YAML).

Rules:
- a draft is always the next version: ``version`` is set to the active version + 1, whatever the
  form or the YAML said (an approver never raises it by hand);
- from YAML text, the text is kept as it was written (comments too) but for its top-level
  ``version:`` line; from the form's sections (``document``), the YAML is written anew in the
  canonical layout (``dump_policy``): sections in the model's order, each under a short comment,
  amounts as exact decimals, fields left at "none" left out;
- ``load_policy_yaml(dump_policy(doc)) == doc`` for every valid document (the round trip);
- a draft that does not validate still answers its YAML (so the advanced view follows the form)
  and lists every problem with the path of its field (``tiers[1].below``), as publishing would;
- pure: no I/O, no database.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

import yaml  # type: ignore[import-untyped]

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


def from_sections(sections: dict[str, Any], active_version: int) -> Draft:
    """A draft from the form's sections: YAML written anew, the version raised."""
    version = active_version + 1
    data = {**sections, "version": version}
    doc, problems = _check(data)
    text = dump_policy(doc) if doc is not None else _sections(_as_written(data))
    return Draft(text, version, doc, problems)
