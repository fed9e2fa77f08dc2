"""``event.verify``: the node tells the hub which event it wrote at a seq, from its own outbox,
once per command (the promise: a planted event cannot displace the node's real one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.storage import outbox
from edge_agent.storage.store import Store
from edge_agent.sync import commands
from protocol import (
    Candidate,
    CommandApplied,
    EventVerify,
    HeldEvent,
    InspectionRecorded,
    encode,
    event_hash,
    make_envelope,
    utc_now,
)

STORE, NODE = "store-a", "counter-1"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "edge.db", STORE, NODE)
    yield opened
    opened.close()


def write_events(store: Store, count: int) -> list[str]:
    """Append ``count`` events to the outbox; return their message ids."""
    ids = []
    with store.write() as tx:
        for n in range(count):
            body = InspectionRecorded(return_id=f"R{n}", grade="good",  # type: ignore[arg-type]
                                      inspected_at=utc_now())
            ids.append(outbox.append(tx, STORE, NODE, body, utc_now()).id)
    return ids


def ask(store: Store, seq: int, command_seq: int = 1) -> tuple[commands.Outcome, HeldEvent]:
    body = EventVerify(seq=seq, candidates=[Candidate(message_id="x", event_hash="0" * 64)])
    payload = encode(make_envelope(STORE, NODE, command_seq, body))
    outcome = commands.handle(store, STORE, NODE, payload, utc_now())
    with store.read() as tx:
        last = outbox.read_range(tx, STORE, NODE, 1, 10_000)[-1].body
    assert isinstance(last, CommandApplied) and last.event is not None
    return outcome, last.event


def test_the_node_names_the_event_it_holds_with_its_hash(store: Store) -> None:
    """The answer carries the id and the hash of the node's own event at that seq."""
    ids = write_events(store, 3)
    outcome, held = ask(store, 2)
    assert outcome.result == "applied"
    with store.read() as tx:
        (own,) = outbox.read_range(tx, STORE, NODE, 2, 2)
    assert (held.state, held.message_id) == ("held", ids[1])
    assert held.event_hash == event_hash(own.kind, own.occurred_at, own.body)


def test_a_seq_not_written_yet_and_one_no_longer_kept_are_told_apart(store: Store) -> None:
    """A seq beyond the node's outbox is ``not_written``; an acked (deleted) one is ``gone``."""
    write_events(store, 2)
    _, ahead = ask(store, 9, command_seq=1)
    assert ahead.state == "not_written" and ahead.message_id is None
    with store.write() as tx:
        outbox.acknowledge(tx, 1)
    _, gone = ask(store, 1, command_seq=2)
    assert gone.state == "gone"


def test_a_verify_command_is_answered_once(store: Store) -> None:
    """A resent command is a duplicate: one answer in the outbox, nothing else changed."""
    write_events(store, 1)
    body = EventVerify(seq=1, candidates=[Candidate(message_id="x", event_hash="0" * 64)])
    payload = encode(make_envelope(STORE, NODE, 1, body))
    first = commands.handle(store, STORE, NODE, payload, utc_now())
    again = commands.handle(store, STORE, NODE, payload, utc_now())
    assert (first.result, again.result) == ("applied", "duplicate")
    with store.read() as tx:
        answers = [e for e in outbox.read_range(tx, STORE, NODE, 1, 100)
                   if isinstance(e.body, CommandApplied)]
    assert len(answers) == 1
