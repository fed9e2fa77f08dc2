"""Bounds on every input (protocol/limits.py): refused by the codec before or while parsing, with
one DecodeError, never a RecursionError, an InvalidOperation or a value the hub cannot store."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import protocol as p
from protocol import limits

FIXTURES = Path(__file__).parents[1] / "fixtures" / "protocol" / "v1"
ROOT = Path(__file__).parents[2]


def _received() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "return.received.json").read_text())
    return data


@pytest.mark.parametrize("payload", [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"kind":"return.received","x":' + b'{"a":' * 30_000 + b"1" + b"}" * 30_001,
    b"[" * 200_000,
])
def test_deep_nesting_is_one_decode_error_not_a_recursion(payload: bytes) -> None:
    """Promise: a deeply nested payload cannot kill the ingest thread (no RecursionError)."""
    with pytest.raises(p.DecodeError, match="nested deeper"):
        p.decode(payload)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    """Promise: the depth bound refuses only real nesting, so a reason with brackets still works."""
    data = _received()
    data["body"]["reason"] = '[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{"\\"[[[['
    envelope = p.decode(json.dumps(data))
    assert envelope.body.reason.startswith("[[[[")  # type: ignore[attr-defined]


def test_nesting_up_to_the_limit_is_allowed() -> None:
    """Promise: the bound is exact — MAX_JSON_DEPTH levels parse, one more is refused."""
    data = _received()
    inner: Any = 1
    for _ in range(limits.MAX_JSON_DEPTH - 1):
        inner = [inner]
    data["ignored"] = inner  # the envelope object is level 1
    p.decode(json.dumps(data))
    data["ignored"] = [inner]
    with pytest.raises(p.DecodeError, match="nested deeper"):
        p.decode(json.dumps(data))


def test_a_huge_json_integer_is_a_decode_error() -> None:
    """Promise: an integer too long for Python's int parser is refused, not raised as ValueError."""
    data = json.dumps(_received()).replace('"seq":', '"seq":' + "9" * 5000 + ",\"x\":", 1)
    with pytest.raises(p.DecodeError):
        p.decode(data)


@pytest.mark.parametrize("amount", ["1E+30", "1" * 30, "1000000000000", "-1000000000000",
                                    "1E+999999999", 10**20])
def test_amounts_beyond_the_bound_are_refused_naming_the_field(amount: Any) -> None:
    """Promise: every amount the protocol accepts fits the hub's NUMERIC(19, 4) columns."""
    data = json.loads((FIXTURES / "refund.requested.json").read_text())
    data["body"]["amount"]["amount"] = amount
    with pytest.raises(p.DecodeError, match="digits before the decimal point") as err:
        p.decode(json.dumps(data))
    assert err.value.field == "body.amount.amount"


def test_exponent_forms_are_normalised() -> None:
    """Promise: an amount in exponent form is stored and sent as plain digits."""
    assert str(p.Money.of("1E+2", "USD")) == "100 USD"
    assert p.Money.of("1E+2", "USD").amount.as_tuple().exponent == 0
    assert str(p.Money.of("999999999999.99", "USD")) == "999999999999.99 USD"


def test_every_accepted_amount_fits_the_hub_column() -> None:
    """Promise: the protocol's amount bound leaves room in NUMERIC(19, 4), with FX headroom."""
    integer_room = limits.DB_AMOUNT_PRECISION - limits.DB_AMOUNT_SCALE
    assert integer_room >= limits.MAX_AMOUNT_INTEGER_DIGITS + 3
    assert max(p.MINOR_UNITS.values()) <= limits.MAX_AMOUNT_SCALE <= limits.DB_AMOUNT_SCALE
    assert limits.amount_fits(Decimal("999999999999.999"))
    assert not limits.amount_fits(Decimal("1000000000000"))


def test_a_return_whose_total_does_not_fit_is_refused() -> None:
    """Promise: a return's total is itself a valid amount, so its refund can be asked for."""
    data = _received()
    item = data["body"]["items"][0]
    item["quantity"] = 999
    item["unit_price"]["amount"] = "999999999999"
    with pytest.raises(p.DecodeError, match="items total"):
        p.decode(json.dumps(data))


@pytest.mark.parametrize(("field", "value"), [
    ("compliance_tags", ["weee"] * (limits.MAX_COMPLIANCE_TAGS + 1)),
    ("photos", ["p"] * (limits.MAX_PHOTOS + 1)),
    ("notes", "n" * (limits.MAX_NOTE_CHARS + 1)),
])
def test_list_and_text_bounds_hold_on_inspections(field: str, value: Any) -> None:
    """Promise: lists and texts are bounded, so one event cannot grow without limit."""
    data = json.loads((FIXTURES / "inspection.recorded.json").read_text())
    data["body"][field] = value
    with pytest.raises(p.DecodeError) as err:
        p.decode(json.dumps(data))
    assert err.value.field == f"body.{field}"


def test_clip_and_clip_list_bound_composed_texts() -> None:
    """Promise: texts the hub composes are bounded by construction (ellipsis, "+N more")."""
    assert limits.clip("x" * 5000) == "x" * (limits.MAX_NOTE_CHARS - 1) + "…"
    assert len(limits.clip("x" * 5000)) == limits.MAX_NOTE_CHARS
    assert limits.clip("short") == "short"
    many = limits.clip_list([f"r{i}" for i in range(50)])
    assert len(many) == limits.MAX_REASONS
    assert many[-2] == f"+{50 - limits.MAX_REASONS + 1} more"
    assert many[-1] == "r49"
    assert limits.clip_list(["a", "b"]) == ["a", "b"]


def test_the_broker_limit_is_the_codec_limit() -> None:
    """Promise: the broker refuses exactly what the codec would (one source: MAX_PAYLOAD_BYTES)."""
    conf = (ROOT / "deploy" / "mosquitto" / "acorn.conf").read_text()
    assert f"message_size_limit {limits.MAX_PAYLOAD_BYTES}\n" in conf
    from hub.fleet.local_broker import render_config
    rendered = render_config(Path("/tmp/x"), "127.0.0.1", 1883, "plugin.so")
    assert f"message_size_limit {limits.MAX_PAYLOAD_BYTES}\n" in rendered
