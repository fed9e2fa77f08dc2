"""JSON encoding that writes `Decimal` as an exact JSON number, never through float.

Finances v0 declares amounts as JSON numbers (`BigDecimal`); Orders 2026-01-01 declares them as
strings. Builders put a `Decimal` where the model wants a number and `str(amount)` where it wants
a string; this encoder keeps every digit of the former.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from starlette.responses import Response


def dumps(value: Any) -> bytes:
    """Encode `value` (dicts, lists, str, int, bool, None, Decimal) as UTF-8 JSON."""
    parts: list[str] = []
    _encode(value, parts)
    return "".join(parts).encode("utf-8")


def _encode(value: Any, out: list[str]) -> None:
    if isinstance(value, Decimal):
        out.append(_decimal(value))
    elif value is None or isinstance(value, bool | int | str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, Mapping):
        _encode_object(value, out)
    elif isinstance(value, Sequence):
        _encode_array(value, out)
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _encode_object(value: Mapping[str, Any], out: list[str]) -> None:
    out.append("{")
    for index, (key, item) in enumerate(value.items()):
        if index:
            out.append(",")
        out.append(json.dumps(str(key), ensure_ascii=False))
        out.append(":")
        _encode(item, out)
    out.append("}")


def _encode_array(value: Sequence[Any], out: list[str]) -> None:
    out.append("[")
    for index, item in enumerate(value):
        if index:
            out.append(",")
        _encode(item, out)
    out.append("]")


def _decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"{value} is not a JSON number")
    return format(value, "f")


class AmazonJSONResponse(Response):
    """A JSON response encoded with `dumps`, so Decimal amounts stay exact."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Encode the body; `None` means an empty body (Amazon's 200 on cancel)."""
        return b"" if content is None else dumps(content)
