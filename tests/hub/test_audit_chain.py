"""The audit hash chain, pure: build, verify, and detect every kind of tampering."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum

import pytest

from hub.storage.audit_chain import GENESIS, AuditDraft, AuditEntry, extend, jsonable, verify

AT = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def chain(n: int = 5) -> list[AuditEntry]:
    drafts = [AuditDraft("node:s1/n1", "node", "return.received", "return", f"s1/R{i}", None,
                         {"state": "received", "n": i}) for i in range(n)]
    return extend((0, GENESIS), AT, drafts)


def tip(entries: list[AuditEntry]) -> tuple[int, str]:
    return entries[-1].seq, entries[-1].hash


def test_an_untouched_chain_verifies() -> None:
    entries = chain()
    verdict = verify(entries, tip(entries))
    assert verdict.ok and verdict.checked == 5
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))


def test_empty_chain_is_intact() -> None:
    assert verify([], None).ok
    assert verify([], (0, GENESIS)).ok


def test_extending_continues_from_the_tip() -> None:
    first = chain(2)
    more = extend(tip(first), AT, [AuditDraft("a", "admin", "x", "refund", "s1/F1")])
    assert more[0].seq == 3 and more[0].prev_hash == first[-1].hash
    assert verify([*first, *more], tip(more)).ok


@pytest.mark.parametrize(("field", "value"), [
    ("after", {"state": "approved", "n": 2}),
    ("before", {"state": "x"}),
    ("actor", "mallory"),
    ("role", "admin"),
    ("action", "refund.approved"),
    ("entity_id", "s1/OTHER"),
    ("reason", "because"),
    ("at", AT + timedelta(seconds=1)),
])
def test_changing_any_field_of_one_entry_is_detected_at_that_entry(field: str,
                                                                    value: object) -> None:
    entries = chain()
    entries[2] = dataclasses.replace(entries[2], **{field: value})
    verdict = verify(entries, tip(entries))
    assert verdict.broken_seq == 3 and verdict.checked == 2
    assert "altered" in verdict.problem


def test_rehashing_a_changed_entry_breaks_the_next_link() -> None:
    entries = chain()
    forged = extend((2, entries[1].hash), AT, [AuditDraft("m", "admin", "x", "return", "s1/R2")])
    entries[2] = forged[0]
    verdict = verify(entries, tip(entries))
    assert verdict.broken_seq == 4 and "prev_hash" in verdict.problem


def test_a_deleted_entry_in_the_middle_is_detected() -> None:
    entries = chain()
    del entries[1]
    assert verify(entries, tip(entries)).broken_seq == 3


def test_entries_cut_off_the_end_are_detected_by_the_tip() -> None:
    entries = chain()
    verdict = verify(entries[:3], tip(entries))
    assert not verdict.ok and verdict.broken_seq == 4 and "removed" in verdict.problem


class Colour(Enum):
    RED = "red"


def test_jsonable_makes_text_of_decimals_times_and_enums_and_refuses_floats() -> None:
    assert jsonable({"a": Decimal("12.30"), "t": AT, "c": Colour.RED, "l": (1, None)}) == {
        "a": "12.30", "t": "2025-03-01T12:00:00.123456Z", "c": "red", "l": [1, None]}
    with pytest.raises(TypeError):
        jsonable({"x": 1.5})
