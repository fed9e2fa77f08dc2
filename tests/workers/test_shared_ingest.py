"""Two `acorn-hub serve` workers share one hub's ingest on PostgreSQL (issue 16, point 2).

The workers split the stores between them (partitions held as advisory locks): both must take
a share, each node's stream must be stored once and applied in seq order, and a worker killed
with SIGKILL while it holds batches must lose and duplicate nothing: the survivor takes its
stores and acknowledges every event.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.storage.engine import reading
from hub.storage.tables.core import audit_log, dead_letters
from tests.support.broker import Probe, TestBroker
from tests.support.fleet_nodes import provision
from tests.workers.conftest import Load, Workers, assert_each_event_once, count, wait_for

pytestmark = pytest.mark.pg

NODES = 20


def _reconnected(workers: Workers) -> None:
    wait_for(lambda: all(workers.health(p)["mqtt"]["connected"] for p in workers.procs), 30,
             "both workers connected to the broker again")


def _applied_in_seq_order(workers: Workers) -> dict[str, list[int]]:
    """Per node, the seqs of its returns in the order the audit chain recorded them."""
    order: dict[str, list[int]] = {}
    with reading(workers.engine) as conn:
        rows = conn.execute(select(audit_log.c.entity_id).where(
            audit_log.c.action == "return.received").order_by(audit_log.c.seq))
        for (entity_id,) in rows:
            node, seq = str(entity_id).rsplit("-", 1)
            order.setdefault(node, []).append(int(seq))
    return order


def _retained_acks(broker: TestBroker, nodes: int) -> dict[str, int]:
    """The retained ack of every node, as a node subscribing now receives it."""
    probe = Probe(broker.admin_creds())
    try:
        probe.subscribe("acorn/v1/stores/+/nodes/+/acks")
        wait_for(lambda: len(probe.messages) >= nodes, 10, "every node's retained ack")
        out = {}
        for message in probe.messages:
            store = message.topic.split("/")[3]
            text = message.payload.decode()
            out[store] = int(text.split('"up_to_seq":', 1)[1].split(",", 1)[0].split("}", 1)[0])
        return out
    finally:
        probe.close()


def test_two_workers_both_ingest_and_each_event_is_stored_once_in_seq_order(
        broker: TestBroker, two_workers: Workers) -> None:
    creds = provision(broker, NODES, "shr")
    _reconnected(two_workers)  # the provisioning restarted the broker
    result = Load(broker, creds, rate=300, seconds=5).result()
    written = {i: n for i, n in result["written"].items() if n}
    assert result["acked"] == sum(written.values()) > 1000
    assert_each_event_once(two_workers.engine, written, "shr")
    stored = [two_workers.stored(p) for p in two_workers.procs]
    assert all(s > 0 for s in stored), stored  # both workers took their share
    shares = [two_workers.health(p)["ingest"] for p in two_workers.procs]
    assert [s["partitions"] for s in shares] == [32, 32]
    assert sum(s["stores"] for s in shares) == NODES  # each store taken by one worker
    assert sum(stored) == sum(written.values())  # and no event was stored twice
    order = _applied_in_seq_order(two_workers)
    assert order and all(seqs == sorted(seqs) for seqs in order.values())
    assert count(two_workers.engine, dead_letters) == 0
    acks = _retained_acks(broker, len(written))
    assert acks == {f"shr-s{i:04d}": n for i, n in written.items()}


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(
        broker: TestBroker, two_workers: Workers) -> None:
    creds = provision(broker, NODES, "kil")
    _reconnected(two_workers)
    victim, survivor = two_workers.procs[1], two_workers.procs[0]
    load = Load(broker, creds, rate=300, seconds=8)
    wait_for(lambda: two_workers.stored(victim) > 200, 30, "the victim ingests")
    victim.kill()  # SIGKILL, batches in flight
    result = load.result()
    written = {i: n for i, n in result["written"].items() if n}
    assert result["acked"] == sum(written.values()) > 1500  # every event confirmed to its node
    assert_each_event_once(two_workers.engine, written, "kil")
    assert count(two_workers.engine, dead_letters) == 0
    order = _applied_in_seq_order(two_workers)
    assert all(seqs == sorted(seqs) for seqs in order.values())
    acks = _retained_acks(broker, len(written))
    assert acks == {f"kil-s{i:04d}": n for i, n in written.items()}  # the survivor's acks
    health = two_workers.health(survivor)["ingest"]
    assert health["running"] and health["partitions"] == 64 and health["members"] == 1
