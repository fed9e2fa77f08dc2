"""Message ids made in bulk are the ids ``uuid4`` makes: version 4, RFC 4122, all different; a
message id is valid exactly when ``uuid.UUID`` takes it."""

from __future__ import annotations

import uuid

import pytest
from pydantic import TypeAdapter

from protocol import new_message_id, new_message_ids
from protocol.ids import MessageId

VALID = TypeAdapter(MessageId)


@pytest.mark.parametrize("count", [0, 1, 2, 1000])
def test_many_ids_at_once_are_valid_distinct_uuid4s(count: int) -> None:
    ids = new_message_ids(count)
    assert len(ids) == count == len(set(ids))
    for text in ids:
        made = uuid.UUID(text)
        assert (made.version, made.variant) == (4, uuid.RFC_4122)
        assert str(made) == text == VALID.validate_python(text)  # canonical lower-case text


def test_ids_of_two_calls_differ_and_look_like_one_made_alone() -> None:
    first, second = new_message_ids(500), new_message_ids(500)
    assert not set(first) & set(second)
    alone = new_message_id()
    assert [len(i) for i in (alone, first[0])] == [36, 36]
    assert alone[14] == first[0][14] == "4"  # the version digit, where uuid4 puts it


CANONICAL = "2b0d946f-f1c9-4750-b484-f2a5ce7aca6b"


@pytest.mark.parametrize("text", [
    CANONICAL, CANONICAL.upper(), "{" + CANONICAL + "}", "urn:uuid:" + CANONICAL,
    CANONICAL.replace("-", ""), "00000000-0000-0000-0000-000000000000",
    "", "nope", CANONICAL[:-1], CANONICAL + "0", CANONICAL + "\n", " " + CANONICAL,
    CANONICAL.replace("b", "g"), CANONICAL.replace("-", "_"),
    "2b0d946f-f1c9-4750-b484f2a5-ce7aca6b",  # the hyphens elsewhere: uuid takes it
])
def test_a_message_id_is_valid_exactly_when_uuid_takes_it(text: str) -> None:
    """The canonical form is recognised by a regex match first (the hot path); what is valid
    is still exactly what ``uuid.UUID`` takes, so no id accepted before is refused now."""
    try:
        uuid.UUID(text)
    except ValueError:
        with pytest.raises(ValueError):
            VALID.validate_python(text)
    else:
        assert VALID.validate_python(text) == text
