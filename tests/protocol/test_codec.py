"""The codec, driven by the canonical message files under tests/fixtures/protocol/v1/."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import protocol as p

FIXTURES = Path(__file__).parents[1] / "fixtures" / "protocol" / "v1"
CANONICAL = sorted(FIXTURES.glob("*.json"))
INVALID: list[dict[str, Any]] = json.loads((FIXTURES / "invalid" / "cases.json").read_text())


def test_there_is_a_canonical_file_for_every_kind() -> None:
    assert {f.stem for f in CANONICAL} == set(p.BODY_TYPES)


@pytest.mark.parametrize("path", CANONICAL, ids=lambda f: f.stem)
def test_decode_then_encode_gives_the_canonical_message(path: Path) -> None:
    envelope = p.decode(path.read_bytes())
    assert envelope.kind == path.stem
    assert isinstance(envelope.body, p.BODY_TYPES[path.stem])
    assert json.loads(p.encode(envelope)) == json.loads(path.read_text())
    assert p.decode(p.encode(envelope)) == envelope


@pytest.mark.parametrize("path", CANONICAL, ids=lambda f: f.stem)
def test_unknown_fields_are_ignored(path: Path) -> None:
    data = json.loads(path.read_text())
    data["from_the_future"] = {"x": 1}
    data["body"]["also_new"] = [1, 2]
    assert p.decode(json.dumps(data)) == p.decode(path.read_bytes())


@pytest.mark.parametrize("case", INVALID, ids=lambda c: c["name"])
def test_bad_messages_raise_one_error_naming_the_field(case: dict[str, Any]) -> None:
    payload = case["payload"]
    raw = payload if isinstance(payload, str) else json.dumps(payload)
    with pytest.raises(p.DecodeError) as caught:
        p.decode(raw)
    assert caught.value.field == case["field"]
    assert case["message"] in str(caught.value)


def test_kinds_can_be_limited_to_those_a_topic_carries() -> None:
    ack = (FIXTURES / "ack.json").read_bytes()
    with pytest.raises(p.DecodeError, match="not allowed here"):
        p.decode(ack, expect=p.KINDS_ON_TOPIC[p.TopicKind.EVENTS])
    assert p.decode(ack, expect=p.KINDS_ON_TOPIC[p.TopicKind.ACKS]).kind == "ack"


def test_oversized_payload_is_refused_before_parsing() -> None:
    with pytest.raises(p.DecodeError, match="exceeds"):
        p.decode(b" " * (p.MAX_PAYLOAD_BYTES + 1))


def test_timestamps_in_other_zones_become_utc() -> None:
    data = json.loads((FIXTURES / "ack.json").read_text())
    data["occurred_at"] = "2026-11-26T10:15:30.123+01:00"
    envelope = p.decode(json.dumps(data))
    assert json.loads(p.encode(envelope))["occurred_at"] == "2026-11-26T09:15:30.123000Z"


def test_a_resend_keeps_id_and_seq() -> None:
    envelope = p.decode((FIXTURES / "return.received.json").read_bytes())
    again = envelope.resent()
    assert (again.id, again.seq, again.body) == (envelope.id, envelope.seq, envelope.body)
    assert again.sent_at != envelope.sent_at


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_no_bytes_crash_the_decoder(raw: bytes) -> None:
    with contextlib.suppress(p.DecodeError):
        p.decode(raw)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(CANONICAL), st.sampled_from(["body", "top"]), st.text(max_size=12), json_values
)
def test_no_field_mutation_crashes_the_decoder(
    path: Path, where: str, key: str, value: Any
) -> None:
    data = json.loads(path.read_text())
    target = data["body"] if where == "body" else data
    keys = list(target) or [key]
    target[keys[len(key) % len(keys)]] = value
    with contextlib.suppress(p.DecodeError):
        p.decode(json.dumps(data))
