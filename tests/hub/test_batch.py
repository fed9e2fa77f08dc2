"""The ingest transaction on both databases, without MQTT: dedup, gaps, projections, dead letters.

(The same code runs behind the real broker in test_ingest_mqtt.py.)
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from hub.storage.engine import reading
from hub.storage.tables.core import (
    audit_log,
    commands,
    dead_letters,
    inbox,
    inspections,
    refunds,
    return_items,
    returns,
)
from protocol import Ack, TopicKind, encode, make_envelope, node_topic, utc_now
from protocol.link import NodeStatus
from tests.hub.helpers import (
    applied,
    disposed,
    ingest,
    inspected,
    node_row,
    received,
    refund,
    status,
)
from tests.support.databases import statements_sent


def rows(engine: Engine, table: Any, *where: Any) -> list[Any]:
    with reading(engine) as conn:
        return list(conn.execute(select(table).where(*where)))


def count(engine: Engine, table: Any) -> int:
    with reading(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_return_is_stored_applied_and_acked(engine: Engine) -> None:
    result = ingest(engine, received("s1", "n1", 1, "R1"))
    assert result.acks == {("s1", "n1"): Ack(up_to_seq=1)}
    assert (result.stored, result.applied, result.duplicates) == (1, 1, 0)
    (ret,) = rows(engine, returns)
    assert (ret.store_id, ret.return_id, ret.state, ret.node_id) == ("s1", "R1", "received", "n1")
    (item,) = rows(engine, return_items)
    assert (item.sku, str(item.unit_price), item.currency) in {("SKU-1", "12.00", "USD"),
                                                               ("SKU-1", "12.0000", "USD")}
    assert node_row(engine, "s1", "n1").contiguous_seq == 1


def test_duplicates_in_a_batch_and_across_batches_are_stored_once(engine: Engine) -> None:
    first = received("s1", "n1", 1, "R1")
    result = ingest(engine, first, first)
    assert (result.stored, result.duplicates) == (1, 1)
    again = ingest(engine, first)
    assert (again.stored, again.duplicates, again.acks[("s1", "n1")].up_to_seq) == (0, 1, 1)
    assert count(engine, inbox) == count(engine, returns) == 1
    assert count(engine, dead_letters) == 0


def test_a_seq_reused_by_another_message_is_dead_lettered_not_dropped(engine: Engine) -> None:
    ingest(engine, received("s1", "n1", 1, "R1"))
    wiped = received("s1", "n1", 1, "R-AFTER-RESET")  # same seq, new message: a reset node
    result = ingest(engine, wiped, wiped)
    assert result.duplicates == 0 and result.stored == 0
    letters = rows(engine, dead_letters)
    assert len(letters) == 2 and all("already used" in d.reason for d in letters)
    assert all(b"R-AFTER-RESET" in d.payload for d in letters)  # the return is kept, not lost
    assert [r.return_id for r in rows(engine, returns)] == ["R1"]


def test_a_gap_holds_later_events_until_it_fills_and_they_come_again_then_all_apply_in_order(
        engine: Engine) -> None:
    """An event held beyond a gap is applied only when the node sends it again after the gap
    filled (the node resends everything after a gap the ack reports), so an event planted
    ahead of the node is never applied just because the gap below it filled."""
    fourth = refund("s1", "n1", 4, "R1", "F1")
    r = ingest(engine, received("s1", "n1", 1, "R1"), inspected("s1", "n1", 2, "R1"), fourth)
    assert r.acks[("s1", "n1")] == Ack(up_to_seq=2, gap_after=2)
    assert r.new_gaps == 1 and r.stored == 3 and r.applied == 2
    node = node_row(engine, "s1", "n1")
    assert (node.contiguous_seq, node.highest_seq) == (2, 4)
    assert rows(engine, refunds) == []  # seq 4 is held, not applied
    again = ingest(engine, fourth)  # resent while the gap is open
    assert (again.stored, again.duplicates) == (0, 1)

    filled = ingest(engine, disposed("s1", "n1", 3, "R1"))
    assert filled.acks[("s1", "n1")] == Ack(up_to_seq=3, gap_after=3)  # 4 must come again
    assert filled.applied == 1 and rows(engine, refunds) == []
    resent = ingest(engine, fourth)
    assert resent.acks[("s1", "n1")] == Ack(up_to_seq=4)
    assert resent.applied == 1 and resent.new_gaps == 0 and resent.duplicates == 1
    (ret,) = rows(engine, returns)
    assert ret.state == "disposed"
    (ref,) = rows(engine, refunds)
    assert ref.state == "approved"
    with reading(engine) as conn:
        seqs = [r.seq for r in conn.execute(select(inbox.c.seq).order_by(inbox.c.seq))]
        actions = [r.action for r in conn.execute(select(audit_log.c.action)
                                                  .order_by(audit_log.c.seq))]
    assert seqs == [1, 2, 3, 4]
    # the first refund to decide seeds the default policy, on the record, in the same batch
    assert actions == ["return.received", "inspection.recorded", "disposition.recorded",
                       "policy.published", "refund.requested", "refund.decided"]


def test_events_arriving_out_of_order_in_one_batch_apply_in_seq_order(engine: Engine) -> None:
    ingest(engine, inspected("s1", "n1", 2, "R1"), received("s1", "n1", 1, "R1"))
    (ret,) = rows(engine, returns)
    assert ret.state == "inspected"
    assert count(engine, dead_letters) == 0


def test_an_under_limit_refund_is_approved_and_a_command_queued_to_its_node(
        engine: Engine) -> None:
    result = ingest(engine, received("s1", "n1", 1, "R1", "49.99"),
                    refund("s1", "n1", 2, "R1", "F1", "49.99"))
    assert result.commands == 1
    (ref,) = rows(engine, refunds)
    assert (ref.state, ref.outcome, ref.decided_by, ref.approval_level) == (
        "approved", "approved", "policy:auto", None)
    (cmd,) = rows(engine, commands)
    assert (cmd.store_id, cmd.node_id, cmd.seq, cmd.kind) == ("s1", "n1", 1, "refund.decided")
    assert cmd.body["outcome"] == "approved" and cmd.body["amount"] == {
        "amount": "49.99", "currency": "USD"}


def test_an_over_limit_refund_waits_for_approval_and_the_store_is_told(engine: Engine) -> None:
    ingest(engine, received("s1", "n1", 1, "R1", "80.00"),
           refund("s1", "n1", 2, "R1", "F1", "80.00"), refund("s1", "n1", 3, "R1", "F2", "5",
                                                               "AED"))
    states = {r.refund_id: (r.state, r.approval_level, r.decided_by) for r in rows(engine,
                                                                                  refunds)}
    # AED has no ECB rate (nor one in the policy): a person prices it (manual review, top level)
    assert states == {"F1": ("pending_approval", 1, None), "F2": ("pending_approval", 2, None)}
    bodies = [c.body for c in rows(engine, commands)]
    assert [b["outcome"] for b in bodies] == ["pending_approval", "manual_review"]
    assert [c.seq for c in rows(engine, commands)] == [1, 2]


def test_command_applied_marks_the_command_once(engine: Engine) -> None:
    ingest(engine, received("s1", "n1", 1, "R1"), refund("s1", "n1", 2, "R1", "F1"))
    (cmd,) = rows(engine, commands)
    ingest(engine, applied("s1", "n1", 3, cmd.command_id, "refund.decided"),
           applied("s1", "n1", 4, cmd.command_id, "refund.decided"))
    (cmd,) = rows(engine, commands)
    assert cmd.result == "applied" and cmd.applied_at is not None
    assert count(engine, dead_letters) == 0


def test_a_node_cannot_apply_another_nodes_command(engine: Engine) -> None:
    ingest(engine, received("s1", "n1", 1, "R1"), refund("s1", "n1", 2, "R1", "F1"))
    (cmd,) = rows(engine, commands)
    ingest(engine, applied("s2", "n1", 1, cmd.command_id, "refund.decided"))
    (cmd,) = rows(engine, commands)
    assert cmd.applied_at is None
    (dead,) = rows(engine, dead_letters)
    assert "was not sent to this node" in dead.reason and dead.sender == "s2/n1"


def test_events_that_cannot_apply_are_stored_dead_lettered_and_do_not_block(
        engine: Engine) -> None:
    result = ingest(engine, inspected("s1", "n1", 1, "NOPE"), received("s1", "n1", 2, "R1"),
                    received("s1", "n1", 3, "R1"), disposed("s1", "n1", 4, "R1"),
                    refund("s1", "n1", 5, "R9", "F1"))
    assert result.acks[("s1", "n1")].up_to_seq == 5
    assert count(engine, inbox) == 5
    reasons = sorted(d.reason for d in rows(engine, dead_letters))
    assert len(reasons) == 4
    assert any("never reported as received" in r for r in reasons)
    assert any("already received" in r for r in reasons)
    assert any("cannot dispose a return that has not been inspected" in r for r in reasons)
    (ret,) = rows(engine, returns)
    assert ret.state == "received"


def test_forged_garbage_and_foreign_topics_are_dead_lettered_with_reasons(engine: Engine) -> None:
    forged = received("s2", "n1", 1, "R1")  # envelope says s2 ...
    topic_s1 = node_topic("s1", "n1", TopicKind.EVENTS)  # ... published on s1's topic
    result = ingest(engine, (topic_s1, encode(forged)), (topic_s1, b"\xff\x00garbage"),
                    ("acorn/v1/stores/s1/nodes/n1/nonsense", b"{}"),
                    (node_topic("s1", "n1", TopicKind.COMMANDS), b"{}"),
                    (topic_s1, encode(status("s1", "n1"))),
                    received("s1", "n1", 1, "R1"))
    dead = {d.reason.split(":")[0]: d for d in rows(engine, dead_letters)}
    assert len(result.dead) == 5
    assert dead["forged sender"].field == "store_id" and dead["forged sender"].sender == "s1/n1"
    assert dead["forged sender"].payload == encode(forged)
    assert dead["not valid UTF-8 JSON"].payload == b"\xff\x00garbage"
    assert "unknown topic" in dead and "the hub does not read commands topics" in dead
    assert "kind 'node.status' is not allowed here" in [d.reason for d in dead.values()]
    assert [r.store_id for r in rows(engine, returns)] == ["s1"]
    assert result.acks == {("s1", "n1"): Ack(up_to_seq=1)}


def test_status_updates_presence_and_reports_nodes_coming_online(engine: Engine) -> None:
    first = ingest(engine, status("s1", "n1", "online"))
    assert first.came_online == [("s1", "n1")] and first.acks == {}
    assert node_row(engine, "s1", "n1").online is True
    assert ingest(engine, status("s1", "n1", "online")).came_online == []
    ingest(engine, status("s1", "n1", "offline"))
    node = node_row(engine, "s1", "n1")
    assert node.online is False and node.status["state"] == "offline"


def test_a_last_will_changes_presence_but_not_the_newer_figures(engine: Engine) -> None:
    """The broker publishes the will the node made when it connected: its outbox figures are
    that old. The node's later status holds the figures the fleet page must keep showing."""
    connected = utc_now() - timedelta(minutes=5)
    will = make_envelope("s1", "n1", 0, NodeStatus(state="offline", outbox_pending=0),
                         occurred_at=connected)
    ingest(engine, make_envelope("s1", "n1", 0, NodeStatus(
        state="online", outbox_pending=7, oldest_unsent_at=utc_now() - timedelta(minutes=1))))
    ingest(engine, will)
    node = node_row(engine, "s1", "n1")
    assert node.online is False and node.status["state"] == "offline"
    assert node.status["outbox_pending"] == 7 and node.status["oldest_unsent_at"] is not None
    ingest(engine, make_envelope("s1", "n1", 0, NodeStatus(state="offline", outbox_pending=2)))
    assert node_row(engine, "s1", "n1").status["outbox_pending"] == 2  # a newer status: its own


def test_events_after_a_status_keep_the_nodes_presence_and_figures(engine: Engine) -> None:
    """Event batches save only the nodes' positions: what a status said stays as it was."""
    ingest(engine, make_envelope("s1", "n1", 0, NodeStatus(state="online", outbox_pending=3)),
           received("s1", "n2", 1, "R0"))  # one batch: a status beside another node's event
    said = node_row(engine, "s1", "n1")
    for seq in (1, 2):
        ingest(engine, received("s1", "n1", seq, f"R{seq}"))
    node = node_row(engine, "s1", "n1")
    assert (node.contiguous_seq, node.online, node.status, node.status_at) == (
        2, True, said.status, said.status_at)
    assert node.status["outbox_pending"] == 3
    assert node.last_seen_at >= said.last_seen_at  # every batch still marks the node seen
    other = node_row(engine, "s1", "n2")
    assert (other.contiguous_seq, other.online, other.status) == (1, False, None)
    ingest(engine, status("s1", "n1", "offline"), received("s1", "n1", 3, "R3"))
    node = node_row(engine, "s1", "n1")  # a status and an event of one node in one batch
    assert (node.contiguous_seq, node.online, node.status["state"]) == (3, False, "offline")


def test_stores_are_kept_apart(engine: Engine) -> None:
    ingest(engine, received("s1", "n1", 1, "R1"), received("s2", "n1", 1, "R1"),
           inspected("s2", "n1", 2, "R1"))
    states = {(r.store_id, r.return_id): r.state for r in rows(engine, returns)}
    assert states == {("s1", "R1"): "received", ("s2", "R1"): "inspected"}
    assert [i.store_id for i in rows(engine, inspections)] == ["s2"]


def test_a_batch_of_many_events_stays_a_few_statements(engine: Engine) -> None:
    events = [received("s1", "n1", n, f"R{n}") for n in range(1, 501)]
    events += [refund("s1", "n1", n + 500, f"R{n}", f"F{n}") for n in range(1, 501)]
    with statements_sent(engine) as statements:
        result = ingest(engine, *events)
    assert result.applied == 1000 and count(engine, returns) == 500
    # 3 entries per return and refund, and one for the default policy seeded on first use
    assert count(engine, commands) == 500 and count(engine, audit_log) == 1501
    assert len(statements) <= 25, statements
