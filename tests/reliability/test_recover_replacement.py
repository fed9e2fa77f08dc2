"""``acorn-edge recover`` into a replacement node (issue 12, "replace a mini-PC"), on real
processes: the old node's unsent events are salvaged from its database into the NEW node, whose
own returns the hub has already acknowledged. The old file's seqs are the old node's sequence
space; the new node's acks say nothing about them, so the old events are compared with the old
node's own hub position (its file's last ack, or what ``devices replace`` printed), never the new
node's. A file of another store is refused; a file that no longer says which node it was is
refused once the new node has events of its own, unless the operator names the node."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.edge.hub_standin import HubStandIn
from tests.reliability.test_store_integrity import found, health, record, recover_cli
from tests.support.broker import TestBroker
from tests.support.procs import Proc, edge_proc, wait_for

STORE, OLD, NEW = "store-a", "counter-1", "counter-2"


@dataclass(frozen=True)
class OldNode:
    """The old node's database after it died, and what the hub had of it."""

    file: Path
    acked: list[str]  # returns the hub acknowledged
    unsent: list[str]  # returns it never got (the hub was unreachable)
    acked_to: int  # the old node's last acked seq
    pending: int  # events after it

    @property
    def per_return(self) -> int:
        return self.pending // len(self.unsent)


@pytest.fixture
def old(broker: TestBroker, tmp_path: Path) -> OldNode:
    """The old node: 2 returns the hub acknowledged, then 3 it never got; its file copied off."""
    proc = edge_proc(tmp_path, STORE, OLD, broker.node_creds(STORE, OLD))
    try:
        proc.start()
        hub = HubStandIn(broker.hub_creds(), STORE, OLD)
        try:
            acked = record(proc, 2)
            acked_to = health(proc)["next_seq"] - 1
            wait_for(lambda: health(proc)["last_acked_seq"] == acked_to, 30, "the hub's ack")
        finally:
            hub.close()
        unsent = record(proc, 3, start=10)
        pending = health(proc)["outbox_pending"]
        assert pending == 3 * (acked_to // 2)
    finally:
        proc.stop()
    copy = tmp_path / "old-machine" / "edge.db"  # the technician copies the folder over
    copy.parent.mkdir()
    for name in ("edge.db", "edge.db-wal"):
        source = Path(proc.env["ACORN_EDGE_DATA_DIR"]) / name
        if source.exists():
            shutil.copy2(source, copy.parent / name)
    return OldNode(copy, acked, unsent, acked_to, pending)


@pytest.fixture
def new_node(broker: TestBroker, tmp_path: Path) -> Iterator[tuple[Proc, HubStandIn]]:
    """The replacement node, running, with the hub acking its events."""
    new = edge_proc(tmp_path, STORE, NEW, broker.node_creds(STORE, NEW))
    hub = HubStandIn(broker.hub_creds(), STORE, NEW)
    try:
        new.start()
        yield new, hub
    finally:
        new.stop()
        hub.close()


def test_recover_into_a_replacement_after_its_first_returns_requeues_every_unsent_event(
        old: OldNode, new_node: tuple[Proc, HubStandIn]) -> None:
    new, hub = new_node
    own = record(new, 4, start=20)  # the new node's own seqs, acked: past the old node's ack
    mine = health(new)["next_seq"] - 1
    assert mine > old.acked_to  # the unsafe case: the new node's acks cover old unsent seqs
    wait_for(lambda: health(new)["last_acked_seq"] == mine, 30, "the hub's ack")

    done = recover_cli(new, str(old.file))
    assert done.returncode == 0, done.stderr
    assert f"from node {OLD} (replaced by {NEW})" in done.stdout, done.stdout
    assert f"the hub holds node {OLD}'s events up to seq {old.acked_to}" in done.stdout
    assert (f"re-queued for the hub: {old.pending} event(s) as seq {mine + 1}-"
            f"{mine + old.pending}, 3 return(s)") in done.stdout, done.stdout

    assert hub.wait_contiguous(mine + old.pending, timeout=60)
    at_hub = [env.body.return_id for env in hub.kinds("return.received")]  # type: ignore[union-attr]
    assert sorted(at_hub) == sorted(own + old.unsent)  # each once; the acked ones not again
    assert found(new, old.unsent) == old.unsent and found(new, old.acked) == []

    again = recover_cli(new, str(old.file))
    assert again.returncode == 0 and "re-queued for the hub: 0 event(s)" in again.stdout


def test_the_operator_may_say_how_far_the_hub_has_the_old_node(
        old: OldNode, new_node: tuple[Proc, HubStandIn]) -> None:
    """``devices replace`` printed that the hub holds one more of the old node's returns than
    the old file knew was acked (acks in flight when it died): those are not sent again."""
    new, hub = new_node
    position = old.acked_to + old.per_return
    done = recover_cli(new, str(old.file), "--hub-has", str(position))
    assert done.returncode == 0, done.stderr
    assert f"already at the hub: {old.per_return} event(s)" in done.stdout, done.stdout
    rest = old.pending - old.per_return
    assert f"re-queued for the hub: {rest} event(s) as seq 1-{rest}, 2 return(s)" in done.stdout
    assert hub.wait_contiguous(rest, timeout=60)
    at_hub = {env.body.return_id for env in hub.kinds("return.received")}  # type: ignore[union-attr]
    assert at_hub == set(old.unsent[1:])


def test_another_stores_file_is_refused(old: OldNode, broker: TestBroker,
                                        tmp_path: Path) -> None:
    other = edge_proc(tmp_path, "store-b", "counter-1", broker.node_creds("store-b", "counter-1"))
    try:
        other.start()
        refused = recover_cli(other, str(old.file))
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert f"recover failed: {old.file} is store {STORE}'s database" in refused.stderr
        assert health(other)["next_seq"] == 1  # nothing queued
    finally:
        other.stop()


def test_a_file_that_no_longer_names_its_node_is_refused_unless_the_node_is_named(
        old: OldNode, new_node: tuple[Proc, HubStandIn]) -> None:
    new, hub = new_node
    with sqlite3.connect(old.file) as conn:  # the meta table's page is gone
        conn.execute("DELETE FROM meta WHERE key IN ('store_id', 'node_id')")
    record(new, 1, start=30)  # the new node has a sequence of its own now
    mine = health(new)["next_seq"] - 1
    refused = recover_cli(new, str(old.file))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "--from-node" in refused.stderr and "which node" in refused.stderr
    named = recover_cli(new, str(old.file), "--from-node", OLD)
    assert named.returncode == 0, named.stderr
    assert (f"re-queued for the hub: {old.pending} event(s) as seq {mine + 1}-"
            f"{mine + old.pending}, 3 return(s)") in named.stdout, named.stdout
    assert hub.wait_contiguous(mine + old.pending, timeout=60)
    at_hub = {env.body.return_id for env in hub.kinds("return.received")}  # type: ignore[union-attr]
    assert at_hub >= set(old.unsent)
