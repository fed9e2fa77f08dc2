"""The unprocessable rule (hub.sync.ingest): an event that names its node and seq but cannot be
applied
takes its seq, is dead-lettered, and the node's later events apply; operators resolve it."""

from __future__ import annotations

import json

from sqlalchemy import Engine, select
from typer.testing import CliRunner

from hub.cli.main import app
from hub.metrics import HubMetrics
from hub.storage.engine import reading
from hub.storage.tables.core import audit_log, dead_letters, returns, unprocessable_events
from hub.sync.ingest.dead import PAYLOAD_CAP
from hub.sync.ingest.writer import IngestWriter
from protocol import TopicKind, encode, node_topic
from tests.hub.helpers import ingest, node_row, received, wait_for
from tests.hub.test_writer import MemoryLink, message, stored

TOPIC = node_topic("s1", "n1", TopicKind.EVENTS)


def _poisoned(seq: int, amount: str = "1E+30") -> bytes:
    data = json.loads(encode(received("s1", "n1", seq, f"R{seq}")))
    data["body"]["items"][0]["unit_price"]["amount"] = amount
    return json.dumps(data).encode()


def _return_ids(engine: Engine) -> list[str]:
    with reading(engine) as conn:
        return sorted(conn.execute(select(returns.c.return_id)).scalars())


def test_an_undecodable_event_with_its_seq_is_skipped_and_later_events_apply(
        engine: Engine) -> None:
    """Promise: a poisoned event never stalls its node: its seq is taken, later events apply."""
    ingest(engine, received("s1", "n1", 1, "R1"))
    poison = _poisoned(2)
    result = ingest(engine, (TOPIC, poison), received("s1", "n1", 3, "R3"))
    assert result.unprocessable == 1 and result.acks[("s1", "n1")].up_to_seq == 3
    assert node_row(engine, "s1", "n1").contiguous_seq == 3
    assert _return_ids(engine) == ["R1", "R3"]
    with reading(engine) as conn:
        skipped = conn.execute(select(unprocessable_events)).one()
        letter = conn.execute(select(dead_letters)).one()
    assert (skipped.seq, skipped.dead_letter_id) == (2, letter.id)
    assert "digits before the decimal point" in letter.reason and letter.field
    # each resend of it is a duplicate: no new dead letter, no stall
    again = ingest(engine, (TOPIC, poison), received("s1", "n1", 4, "R4"))
    assert again.duplicates == 1 and again.dead == []
    assert node_row(engine, "s1", "n1").contiguous_seq == 4


def test_an_unprocessable_event_beyond_a_gap_fills_it(engine: Engine) -> None:
    """Promise: events held behind a gap apply once the poisoned seq in the gap arrives (and the
    node sends them again, as it does after every ack that reports a gap:
    ``hub.sync.ingest.claims``)."""
    third = received("s1", "n1", 3, "R3")
    ingest(engine, received("s1", "n1", 1, "R1"), third)
    assert node_row(engine, "s1", "n1").contiguous_seq == 1
    ingest(engine, (TOPIC, _poisoned(2)))
    assert node_row(engine, "s1", "n1").contiguous_seq == 2
    ingest(engine, third)
    assert node_row(engine, "s1", "n1").contiguous_seq == 3
    assert _return_ids(engine) == ["R1", "R3"]


def test_a_message_without_a_salvageable_seq_is_only_dead_lettered(engine: Engine) -> None:
    """Promise: garbage that names no seq of this node takes no seq (nothing to skip)."""
    forged = json.loads(_poisoned(2))
    forged["store_id"] = "s2"
    result = ingest(engine, (TOPIC, b"[" * 100_000), (TOPIC, json.dumps(forged).encode()),
                    received("s1", "n1", 1, "R1"))
    assert result.unprocessable == 0 and len(result.dead) == 2
    assert node_row(engine, "s1", "n1").contiguous_seq == 1


def test_dead_letter_payloads_are_capped_with_size_and_hash(engine: Engine) -> None:
    """Promise: an oversized message costs the hub at most PAYLOAD_CAP bytes of storage."""
    big = b"x" * (300 * 1024)
    ingest(engine, (TOPIC, big))
    with reading(engine) as conn:
        row = conn.execute(select(dead_letters)).one()
    assert len(row.payload) == PAYLOAD_CAP and row.payload_size == len(big)
    assert len(row.payload_sha256) == 64


def test_operator_lists_shows_and_resolves_dead_letters_audited(engine: Engine,
                                                                db_url: str) -> None:
    """Promise: an operator sees which seq was skipped and resolves it; who/why is audited."""
    ingest(engine, received("s1", "n1", 1, "R1"), (TOPIC, _poisoned(2)))
    env = {"ACORN_HUB_DATABASE_URL": db_url}
    runner = CliRunner()
    listed = runner.invoke(app, ["dead-letters", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    letter_id = listed.stdout.split("\t", 1)[0]
    assert "seq 2 skipped" in listed.stdout and "open" in listed.stdout
    shown = runner.invoke(app, ["dead-letters", "show", letter_id], env=env)
    assert shown.exit_code == 0 and "1E+30" in shown.stdout and "skipped_seq: 2" in shown.stdout
    done = runner.invoke(app, ["dead-letters", "resolve", letter_id, "--reason",
                               "re-entered R2 by hand"], env=env)
    assert done.exit_code == 0, done.output
    assert runner.invoke(app, ["dead-letters", "list"], env=env).stdout == ""
    again = runner.invoke(app, ["dead-letters", "resolve", letter_id, "--reason", "x"], env=env)
    assert again.exit_code != 0 and "already resolved" in str(again.exception)
    with reading(engine) as conn:
        entry = conn.execute(select(audit_log).where(
            audit_log.c.action == "dead_letter.resolved")).one()
    assert entry.entity_id == letter_id and entry.reason == "re-entered R2 by hand"


def test_a_bad_copy_of_a_held_seq_is_dead_lettered_not_dropped(engine: Engine) -> None:
    """Promise: nothing is silently dropped: a poisoned message claiming a seq the hub already
    applied is dead-lettered, and the applied event stays."""
    ingest(engine, received("s1", "n1", 1, "R1"), received("s1", "n1", 2, "R2"))
    result = ingest(engine, (TOPIC, _poisoned(2)))
    assert result.unprocessable == 0 and len(result.dead) == 1
    assert "already holds" in result.dead[0]
    assert _return_ids(engine) == ["R1", "R2"]
    assert node_row(engine, "s1", "n1").contiguous_seq == 2


def test_a_writer_thread_that_dies_is_restarted_and_its_batch_is_not_lost(engine: Engine) -> None:
    """Promise: if the ingest thread really dies (a BaseException escapes), ensure_running
    starts it again, the dying batch is processed again, and nothing is stored twice."""
    deaths: list[int] = []

    def die_once(_result: object) -> None:
        if not deaths:
            deaths.append(1)
            raise SystemExit("the ingest thread is killed")

    link = MemoryLink()
    writer = IngestWriter(engine, link, HubMetrics(), batch_size=10, batch_ms=5,
                          on_batch=die_once)
    writer.start()
    try:
        writer.submit(message(1, encode(received("s1", "n1", 1, "R1"))))
        wait_for(lambda: not writer.running, what="the thread to die")
        assert writer.state()["running"] is False
        assert "SystemExit" in str(writer.state()["last_error"])
        assert writer.ensure_running() and writer.restarts == 1
        writer.submit(message(2, encode(received("s1", "n1", 2, "R2"))))
        wait_for(lambda: node_row(engine, "s1", "n1").contiguous_seq == 2, what="ingest goes on")
        assert stored(engine) == 2 and _return_ids(engine) == ["R1", "R2"]
    finally:
        writer.stop()
