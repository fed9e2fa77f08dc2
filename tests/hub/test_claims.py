"""Rival events for one seq, on both databases, without MQTT: the hub asks the node which one it
wrote before it applies or dead-letters either (the promise: a planted event cannot displace the
node's real one, and the stream never stalls for good)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from hub.storage.engine import reading
from hub.storage.tables.core import commands, dead_letters, event_claims, inbox, returns
from protocol import (
    Ack,
    CommandApplied,
    Envelope,
    HeldEvent,
    event_hash,
    make_envelope,
)
from tests.hub.helpers import ingest, node_row, received

S, N = "s1", "n1"


def rows(engine: Engine, table: Any, *where: Any) -> list[Any]:
    with reading(engine) as conn:
        return list(conn.execute(select(table).where(*where)))


def verify_command(engine: Engine) -> Any:
    (cmd,) = rows(engine, commands, commands.c.kind == "event.verify")
    return cmd


def answer(seq: int, command_id: str, held: HeldEvent) -> Envelope:
    """The node's command.applied for an event.verify, at its own next ``seq``."""
    return make_envelope(S, N, seq, CommandApplied(
        command_id=command_id, command_kind="event.verify", result="applied", event=held))


def holds(event: Envelope) -> HeldEvent:
    return HeldEvent(seq=event.seq, state="held", message_id=event.id,
                     event_hash=event_hash(event.kind, event.occurred_at, event.body))


def return_ids(engine: Engine) -> list[str]:
    return sorted(r.return_id for r in rows(engine, returns))


def test_a_planted_event_ahead_is_contested_and_the_nodes_own_event_wins(engine: Engine) -> None:
    """Planted seq 3 arrives before the node's 2 and 3: the gap filling does not apply it; the
    node's real 3 opens a claim, the node's answer keeps its own event, the plant is
    dead-lettered naming its id, and the stream moves on."""
    ingest(engine, received(S, N, 1, "R1"))
    planted = received(S, N, 3, "R-PLANTED")
    ingest(engine, planted)
    r2 = ingest(engine, received(S, N, 2, "R2"))
    assert r2.acks[(S, N)] == Ack(up_to_seq=2, gap_after=2)  # 3 waits for the node's copy
    real = received(S, N, 3, "R3")
    contested = ingest(engine, real)
    assert contested.applied == 0 and contested.commands == 1 and contested.dead == []
    cmd = verify_command(engine)
    assert cmd.body["seq"] == 3
    assert {c["message_id"] for c in cmd.body["candidates"]} == {planted.id, real.id}
    assert return_ids(engine) == ["R1", "R2"]
    again = ingest(engine, real, planted)  # resends while the claim is open change nothing
    assert again.applied == 0 and again.commands == 0 and again.dead == []
    assert len(rows(engine, event_claims)) == 2

    settled = ingest(engine, answer(4, cmd.command_id, holds(real)))
    assert settled.acks[(S, N)] == Ack(up_to_seq=4)
    assert return_ids(engine) == ["R1", "R2", "R3"]
    (letter,) = rows(engine, dead_letters)
    assert planted.id in letter.reason and real.id in letter.reason
    assert b"R-PLANTED" in letter.payload
    (held,) = rows(engine, inbox, inbox.c.seq == 3)
    assert held.message_id == real.id
    outcomes = {r.message_id: r.outcome for r in rows(engine, event_claims)}
    assert outcomes == {real.id: "kept", planted.id: "planted"}
    assert verify_command(engine).applied_at is not None
    later = ingest(engine, received(S, N, 5, "R5"))
    assert later.acks[(S, N)] == Ack(up_to_seq=5) and "R5" in return_ids(engine)


def test_rivals_in_one_batch_are_contested_not_applied(engine: Engine) -> None:
    """Two events with one seq in the same batch: neither is applied until the node answers."""
    ingest(engine, received(S, N, 1, "R1"))
    planted, real = received(S, N, 2, "R-PLANTED"), received(S, N, 2, "R2")
    result = ingest(engine, planted, real)
    assert result.applied == 0 and result.commands == 1
    assert node_row(engine, S, N).contiguous_seq == 1
    cmd = verify_command(engine)
    ingest(engine, answer(3, cmd.command_id, holds(real)), real)
    assert return_ids(engine) == ["R1", "R2"]
    assert node_row(engine, S, N).contiguous_seq == 3


def test_when_the_node_wrote_neither_both_are_dead_lettered_and_its_own_event_applies(
        engine: Engine) -> None:
    """``not_written``: both rivals were planted; the seq stays open for the node's event."""
    ingest(engine, received(S, N, 1, "R1"))
    a, b = received(S, N, 3, "R-A"), received(S, N, 3, "R-B")
    ingest(engine, a)
    ingest(engine, b)
    cmd = verify_command(engine)
    # the node's answer is its seq 2 (it had written only 1 when the plants arrived)
    settled = ingest(engine, answer(2, cmd.command_id, HeldEvent(seq=3, state="not_written")))
    assert settled.acks[(S, N)].up_to_seq == 2
    letters = rows(engine, dead_letters)
    assert sorted(b"R-A" in d.payload for d in letters) == [False, True] and len(letters) == 2
    assert all("not written" in d.reason for d in letters)
    assert rows(engine, inbox, inbox.c.seq == 3) == []
    own = received(S, N, 3, "R3")
    assert ingest(engine, own).acks[(S, N)] == Ack(up_to_seq=3)
    assert return_ids(engine) == ["R1", "R3"]


def test_a_seq_the_node_no_longer_keeps_is_passed_as_a_gap(engine: Engine) -> None:
    """``gone``: no rival can be confirmed, both are dead-lettered and the stream moves past."""
    ingest(engine, received(S, N, 1, "R1"))
    a, b = received(S, N, 2, "R-A"), received(S, N, 2, "R-B")
    ingest(engine, a, b)
    cmd = verify_command(engine)
    settled = ingest(engine, answer(3, cmd.command_id, HeldEvent(seq=2, state="gone")))
    assert settled.acks[(S, N)] == Ack(up_to_seq=3)
    assert len(rows(engine, dead_letters)) == 2
    assert return_ids(engine) == ["R1"]


def test_a_rival_for_an_applied_seq_is_dead_lettered_without_asking(engine: Engine) -> None:
    """At or below the contiguous seq the applied event came first and alone: a later rival is
    dead-lettered as before, no claim is opened."""
    ingest(engine, received(S, N, 1, "R1"))
    result = ingest(engine, received(S, N, 1, "R-LATE"))
    assert result.commands == 0 and len(result.dead) == 1 and "already used" in result.dead[0]
    assert rows(engine, event_claims) == []


def test_another_stores_stream_is_not_held_by_a_claim(engine: Engine) -> None:
    """A claim stops only its own node's stream."""
    ingest(engine, received(S, N, 1, "R1"))
    ingest(engine, received(S, N, 2, "R-A"), received(S, N, 2, "R-B"))
    other = ingest(engine, received("s2", "n9", 1, "X1"), received("s2", "n9", 2, "X2"))
    assert other.acks[("s2", "n9")] == Ack(up_to_seq=2) and other.applied == 2


def test_a_gone_seq_beyond_a_gap_is_passed_once_the_stream_reaches_it(engine: Engine) -> None:
    """The unprocessable gap is recorded, not just remembered for one batch: the stream passes
    it later, when the seqs below it have come."""
    ingest(engine, received(S, N, 1, "R1"))
    ingest(engine, received(S, N, 3, "R-A"), received(S, N, 3, "R-B"))
    cmd = verify_command(engine)
    reply = answer(4, cmd.command_id, HeldEvent(seq=3, state="gone"))
    assert ingest(engine, reply).acks[(S, N)].up_to_seq == 1  # seq 2 has not come yet
    assert {r.outcome for r in rows(engine, event_claims)} == {"gap"}
    later = ingest(engine, received(S, N, 2, "R2"), reply)  # the node resends after the gap
    assert later.acks[(S, N)] == Ack(up_to_seq=4)
    assert return_ids(engine) == ["R1", "R2"]
    assert verify_command(engine).applied_at is not None


def test_an_agent_that_refuses_event_verify_does_not_stall_its_stream(engine: Engine) -> None:
    """An older agent refuses the unknown command: the event received first is kept (the rule
    before claims), the other dead-lettered, and the stream moves on."""
    ingest(engine, received(S, N, 1, "R1"))
    first, second = received(S, N, 2, "R-FIRST"), received(S, N, 2, "R-SECOND")
    ingest(engine, first, second)
    cmd = verify_command(engine)
    refused = make_envelope(S, N, 3, CommandApplied(
        command_id=cmd.command_id, command_kind="event.verify", result="refused",
        detail="this node does not apply event.verify commands (update the agent)"))
    settled = ingest(engine, refused, first)
    assert settled.acks[(S, N)] == Ack(up_to_seq=3)
    assert return_ids(engine) == ["R-FIRST", "R1"]
    (letter,) = rows(engine, dead_letters)
    assert second.id in letter.reason and "could not verify" in letter.reason
