"""A reconnect storm (issue 16): many nodes with a backlog connect at once to a broker whose
queue for the hub is small; the edge's pacing keeps it from overflowing, so nothing is dropped
and every event is confirmed exactly once."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import func, select

from edge_agent.sync.pace import START
from hub.storage.engine import make_engine, reading
from hub.storage.tables.core import dead_letters, inbox, nodes, returns
from tests.support.broker import TestBroker
from tests.support.fleet_nodes import provision, run_nodes
from tests.support.procs import hub_proc

NODES, BACKLOG = 50, 200
# the broker's max_queued_messages: what the pacing needs (edge_agent.sync.pace: nodes x START,
# 2 x hub rate x TARGET_RTT), a quarter of what the nodes hold
QUEUE = 2500


def small_queue(broker: TestBroker, limit: int) -> None:
    """Rewrite the broker's max_queued_messages (it takes effect at the next start)."""
    conf = broker.local.state_dir / "mosquitto.conf"
    lines = [
        f"max_queued_messages {limit}" if line.startswith("max_queued_messages") else line
        for line in conf.read_text().splitlines()
    ]
    conf.write_text("\n".join(lines) + "\n")


def test_a_storm_of_nodes_with_a_backlog_drops_nothing_and_stores_each_event_once(
    tmp_path: Path,
) -> None:
    assert NODES * START <= QUEUE < NODES * BACKLOG  # the pacing is what keeps it in bounds
    broker = TestBroker(tmp_path / "mosquitto")
    hub = None
    try:
        small_queue(broker, QUEUE)
        creds = provision(broker, NODES, "storm")  # restarts the broker with the small queue
        db_url = f"sqlite:///{tmp_path / 'hub.db'}"
        hub = hub_proc(tmp_path, broker.hub_creds(), db_url).start(timeout=60)
        result = run_nodes(
            [(i, c, 0) for i, c in creds],
            broker.host,
            broker.port,
            rate=0,
            buffered=BACKLOG,
            seconds=0,
            start_at=time.time(),
            give_up_after=240,
        )
        assert result["acked"] == NODES * BACKLOG, result["acked"]
        log = (broker.local.state_dir / "mosquitto.log").read_text(errors="replace")
        assert "dropped" not in log
        engine = make_engine(db_url)
        try:
            with reading(engine) as conn:

                def count(table: object) -> int:
                    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

                assert count(inbox) == count(returns) == NODES * BACKLOG
                assert count(dead_letters) == 0
                positions = conn.execute(select(nodes.c.contiguous_seq, nodes.c.highest_seq))
                assert {(r.contiguous_seq, r.highest_seq) for r in positions} == {
                    (BACKLOG, BACKLOG)
                }
        finally:
            engine.dispose()
    finally:
        if hub is not None:
            hub.stop()
        broker.kill()
