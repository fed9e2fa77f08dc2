"""Ingest that cannot be poisoned (issue 9): real Mosquitto, the real hub (API + MQTT ingest in
process), real MQTT clients with each node's own credentials.

Every poison is sent by store A's node while store B's good traffic keeps flowing; B's events and
A's LATER good events must be applied (waits have timeouts; nothing asserts a duration).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from edge_agent.pos.models import REQUEST_EXAMPLE
from hub.access.permissions import Role
from hub.access.tokens import create_token
from hub.access.users import Actor
from hub.risk.flags import flag
from hub.storage.engine import reading
from hub.storage.tables.core import dead_letters, inbox, refunds, returns, unprocessable_events
from protocol import (
    MAX_PAYLOAD_BYTES,
    Channel,
    Envelope,
    Money,
    RefundRequested,
    ReturnItem,
    ReturnReceived,
    TopicKind,
    decode,
    encode,
    make_envelope,
    utc_now,
)
from tests.edge.conftest import running_agent
from tests.edge_hw.conftest import hw_settings
from tests.hub.conftest import RunningHub, hub_settings, start_hub
from tests.hub.helpers import NodeProbe, node_row, received, wait_for
from tests.support.broker import TestBroker

A, B, NODE = "store-a", "store-b", "n1"
WAIT = 30.0  # a generous bound on "applied within seconds"; never asserted as a duration


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hub.db'}"


@pytest.fixture
def hub(db_url: str, broker: TestBroker) -> Iterator[RunningHub]:
    yield from start_hub(hub_settings(db_url, broker))


@pytest.fixture
def node_a(broker: TestBroker) -> Iterator[NodeProbe]:
    probe = NodeProbe(broker, A, NODE)
    yield probe
    probe.close()


@pytest.fixture
def node_b(broker: TestBroker) -> Iterator[NodeProbe]:
    probe = NodeProbe(broker, B, NODE)
    yield probe
    probe.close()


class Flow:
    """Store B's good traffic: each call sends its next returns."""

    def __init__(self, node: NodeProbe) -> None:
        self.node, self.seq = node, 0
        self.sent: dict[int, Envelope] = {}  # an edge resends the very event, never a new one

    def send(self, count: int = 3) -> None:
        for _ in range(count):
            self.seq += 1
            self.sent[self.seq] = received(B, NODE, self.seq, f"B{self.seq}")
            self.node.send(self.sent[self.seq])

    def applied(self, hub: RunningHub, resend: bool = False) -> None:
        """Wait until the hub holds all sent; ``resend``: send again what it lacks every second,
        as an edge does with what is unacked (a hub session that has just been made hears
        nothing published before its subscription)."""
        last = [time.monotonic()]

        def done() -> bool:
            held = contiguous(hub, B)
            if resend and held < self.seq and time.monotonic() - last[0] > 1.0:
                last[0] = time.monotonic()
                for seq in range(held + 1, self.seq + 1):
                    self.node.send(self.sent[seq])
            return held == self.seq

        wait_for(done, WAIT, f"store B applied to {self.seq}")
        assert count(hub, returns, returns.c.store_id == B) == self.seq


def contiguous(hub: RunningHub, store: str) -> int:
    row = node_row(hub.engine, store, NODE)
    return int(row.contiguous_seq) if row is not None else 0


def count(hub: RunningHub, table: Any, *where: Any) -> int:
    with reading(hub.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where))
                   .scalar_one())


def acked(probe: NodeProbe) -> int:
    acks = [decode(m.payload) for m in probe.on(TopicKind.ACKS)]
    return max((a.body.up_to_seq for a in acks), default=-1)  # type: ignore[attr-defined]


def poisoned_amount(seq: int, amount: str = "1E+30") -> bytes:
    data = json.loads(encode(received(A, NODE, seq, f"A{seq}")))
    data["body"]["items"][0]["unit_price"]["amount"] = amount
    return json.dumps(data).encode()


DEEP = b"[" * 100_000 + b"]" * 100_000  # 200 KB: under the size limit, 100 000 levels deep


def test_deep_nesting_does_not_stop_ingest_for_anyone(hub: RunningHub, node_a: NodeProbe,
                                                      node_b: NodeProbe) -> None:
    """Promise: one deeply nested message cannot kill ingest; every store keeps being applied,
    including the sender's later good events."""
    flow = Flow(node_b)
    flow.send()
    node_a.send(received(A, NODE, 1, "A1"))
    node_a.raw(TopicKind.EVENTS, DEEP)
    deep_object = b'{"seq":2,"store_id":"store-a","node_id":"n1","x":' + b"[" * 90_000 + \
        b"]" * 90_000 + b"}"
    node_a.raw(TopicKind.EVENTS, deep_object)
    flow.send()
    node_a.send(received(A, NODE, 2, "A2"))
    flow.applied(hub)
    wait_for(lambda: contiguous(hub, A) == 2, WAIT, "store A's later events applied")
    wait_for(lambda: count(hub, dead_letters) == 2, WAIT, "both poisons dead-lettered")
    assert hub.client.get("/api/health").json()["ingest"]["running"] is True


def test_deep_nesting_retained_survives_a_restart_with_a_wiped_session(
        db_url: str, broker: TestBroker, node_a: NodeProbe, node_b: NodeProbe) -> None:
    """Promise: a poison the broker would deliver again (retained, or to a fresh session) does
    not stop a restarted hub from ingesting."""
    flow = Flow(node_b)
    with contextlib_hub(db_url, broker) as first:
        node_a.probe.publish(node_a_events(), DEEP, retain=True)  # the broker may refuse it
        flow.send()
        flow.applied(first)
    # a new client id: the hub's session is gone; a retained poison arrives on subscribe
    with contextlib_hub(db_url, broker) as second:
        flow.send()
        flow.applied(second, resend=True)  # its session is new: B resends what it misses
        node_a.send(received(A, NODE, 1, "A1"))
        wait_for(lambda: contiguous(second, A) == 1, WAIT, "store A applied after restart")
        assert second.client.get("/api/health").json()["status"] == "ok"
    node_a.probe.publish(node_a_events(), b"", retain=True)  # clear it, if it was kept


def test_poison_queued_in_the_hub_session_does_not_stop_a_restarted_hub(
        db_url: str, broker: TestBroker, node_a: NodeProbe, node_b: NodeProbe) -> None:
    """Promise: poisons the broker kept for the hub while it was down (its persistent session
    redelivers them at restart) are dead-lettered; the restarted hub ingests everyone."""
    settings = hub_settings(db_url, broker)  # one client id: the same persistent session
    flow = Flow(node_b)
    with contextlib_hub_settings(settings) as first:
        flow.send()
        flow.applied(first)
    node_a.raw(TopicKind.EVENTS, DEEP)  # queued for the hub's session while it is down
    poison = poisoned_amount(1)
    node_a.raw(TopicKind.EVENTS, poison)
    node_a.send(received(A, NODE, 2, "A2"))
    flow.send()
    with contextlib_hub_settings(settings) as second:
        flow.applied(second)
        wait_for(lambda: contiguous(second, A) == 2, WAIT, "store A applied past its poison")
        assert count(second, dead_letters) == 2
        assert second.client.get("/api/health").json()["status"] == "ok"


def node_a_events() -> str:
    return f"acorn/v1/stores/{A}/nodes/{NODE}/events"


def contextlib_hub(db_url: str, broker: TestBroker) -> Any:
    return contextlib_hub_settings(hub_settings(db_url, broker))


def test_an_amount_the_db_cannot_hold_is_skipped_not_stalled(hub: RunningHub, node_a: NodeProbe,
                                                             node_b: NodeProbe) -> None:
    """Promise: 1E+30 (or a 30-digit price) never stalls its node: the event is recorded
    unprocessable, dead-lettered ONCE however often it is resent, and later events apply."""
    flow = Flow(node_b)
    node_a.send(received(A, NODE, 1, "A1"))
    poison = poisoned_amount(2)
    for _ in range(3):  # a node resends what is not acked; the hub acks it the first time
        node_a.raw(TopicKind.EVENTS, poison)
    node_a.send(received(A, NODE, 3, "A3"))
    node_a.raw(TopicKind.EVENTS, poisoned_amount(4, "1" * 30))
    flow.send()
    node_a.send(received(A, NODE, 5, "A5"))
    flow.applied(hub)
    wait_for(lambda: contiguous(hub, A) == 5, WAIT, "store A moved past seqs 2 and 4")
    wait_for(lambda: acked(node_a) == 5, WAIT, "store A acked up to 5")
    assert count(hub, returns, returns.c.store_id == A) == 3
    with reading(hub.engine) as conn:
        skipped = conn.execute(select(unprocessable_events.c.seq)
                               .order_by(unprocessable_events.c.seq)).scalars().all()
    assert skipped == [2, 4] and count(hub, dead_letters) == 2


def test_an_oversized_message_is_refused_by_the_broker(hub: RunningHub, node_a: NodeProbe,
                                                       node_b: NodeProbe) -> None:
    """Promise: a message over MAX_PAYLOAD_BYTES never reaches the hub or its disk."""
    flow = Flow(node_b)
    for size in (MAX_PAYLOAD_BYTES + 1, 2 * 1024 * 1024):
        node_a.raw(TopicKind.EVENTS, b"x" * size)
    flow.send()
    node_a.send(received(A, NODE, 1, "A1"))
    flow.applied(hub)
    wait_for(lambda: contiguous(hub, A) == 1, WAIT, "store A applied")
    assert count(hub, dead_letters) == 0
    assert count(hub, inbox) == flow.seq + 1


def _return_with_order(seq: int, return_id: str, order_id: str) -> Envelope:
    return make_envelope(A, NODE, seq, ReturnReceived(
        return_id=return_id, channel=Channel.POS, reason="broken", order_id=order_id,
        items=[ReturnItem(sku="SKU-1", quantity=1, unit_price=Money.of("40.00", "USD"))],
        received_at=utc_now()))


def _refund_of(seq: int, return_id: str, refund_id: str, order_id: str) -> Envelope:
    return make_envelope(A, NODE, seq, RefundRequested(
        refund_id=refund_id, return_id=return_id, amount=Money.of("40.00", "USD"),
        channel=Channel.POS, order_id=order_id, requested_at=utc_now()))


def test_five_long_risk_flags_make_a_valid_decision_and_reject_works(
        hub: RunningHub, node_a: NodeProbe, node_b: NodeProbe) -> None:
    """Promise: texts the hub composes are bounded by construction: a refund with many long
    risk-flag reasons is decided and told to the store, the stream goes on, rejecting it
    answers 200 (not 500) and tells the store again."""
    for n in range(5):
        flag(hub.engine, "order", "ORD-1", f"{n} " + "suspicious pattern " * 26,
             Actor("ops", "admin"))
    flow = Flow(node_b)
    node_a.send(_return_with_order(1, "A1", "ORD-1"))
    node_a.send(_refund_of(2, "A1", "F1", "ORD-1"))
    node_a.send(received(A, NODE, 3, "A3"))
    flow.send()
    flow.applied(hub)
    wait_for(lambda: contiguous(hub, A) == 3, WAIT, "store A applied past the flagged refund")
    with reading(hub.engine) as conn:
        state = conn.execute(select(refunds.c.state).where(refunds.c.refund_id == "F1")).scalar()
    assert state == "pending_approval"  # manual review
    decided = wait_for(lambda: [m for m in node_a.on(TopicKind.COMMANDS)
                                if decode(m.payload).kind == "refund.decided"], WAIT,
                       "refund.decided sent to the store")
    body = decode(decided[0].payload).body
    assert all(len(r) <= 2000 for r in body.reasons)  # type: ignore[attr-defined]
    token = create_token(hub.engine, "boss", Role.ADMIN)
    answer = hub.client.post("/api/refunds/F1/reject", json={"reason": "fraud ring"},
                             params={"store": A}, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    wait_for(lambda: len([m for m in node_a.on(TopicKind.COMMANDS)
                          if decode(m.payload).kind == "refund.decided"]) >= 2, WAIT,
             "the rejection told to the store")


def _kill_thread(thread_id: int) -> None:
    """Raise SystemExit inside another thread: the thread really dies (nothing of ours mocked)."""
    done = ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id),
                                                      ctypes.py_object(SystemExit))
    assert done == 1


def test_health_reports_a_dead_ingest_thread(db_url: str, broker: TestBroker) -> None:
    """Promise: if the ingest thread stops, /api/health says so (not "ok") with the reason."""
    settings = hub_settings(db_url, broker, ingest_supervise_seconds=3600)
    with contextlib_hub_settings(settings) as running:
        runtime = running.context.runtime
        assert runtime is not None
        thread = runtime.writer._thread
        assert thread.ident is not None
        _kill_thread(thread.ident)
        thread.join(WAIT)
        health = running.client.get("/api/health").json()
        assert health["status"] == "degraded"
        assert health["ingest"]["running"] is False
        assert "SystemExit" in health["ingest"]["last_error"]


def test_a_dead_ingest_thread_is_restarted_and_ingest_goes_on(db_url: str, broker: TestBroker,
                                                              node_b: NodeProbe) -> None:
    """Promise: the process restarts a dead ingest thread; events keep being applied."""
    settings = hub_settings(db_url, broker, ingest_supervise_seconds=0.2)
    flow = Flow(node_b)
    with contextlib_hub_settings(settings) as running:
        runtime = running.context.runtime
        assert runtime is not None
        flow.send()
        flow.applied(running)
        thread = runtime.writer._thread
        assert thread.ident is not None
        _kill_thread(thread.ident)
        wait_for(lambda: runtime.writer.restarts >= 1 and runtime.writer.running, WAIT,
                 "the ingest thread restarted")
        flow.send()
        flow.applied(running)
        ingest = running.client.get("/api/health").json()["ingest"]
        assert ingest["running"] is True and ingest["restarts"] >= 1


def contextlib_hub_settings(settings: Any) -> Any:
    """A hub running for the ``with`` block (start_hub as a context manager)."""
    return contextlib.contextmanager(start_hub)(settings)


def test_a_30_digit_pos_price_is_refused_with_422_naming_the_field(tmp_path: Path) -> None:
    """Promise: what an edge accepts the hub can apply: the POS API refuses a price the
    protocol would refuse (and a return whose total would not fit), naming the field."""
    line = {**REQUEST_EXAMPLE["lines"][0], "price": {"amount": "1" * 30, "currency": "EUR"}}
    big_total = {**REQUEST_EXAMPLE["lines"][0], "qty": 999,
                 "price": {"amount": "999999999999", "currency": "EUR"}}
    with running_agent(hw_settings(tmp_path), connect=False) as run:
        answer = run.http.post("/api/pos/returns", json={**REQUEST_EXAMPLE, "lines": [line]})
        assert answer.status_code == 422
        fields = [d["field"] for d in answer.json()["detail"]]
        assert any("price" in f for f in fields), fields
        answer = run.http.post("/api/pos/returns", json={
            **REQUEST_EXAMPLE, "pos_transaction_id": "till-3-other", "lines": [big_total]})
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["field"]
        assert Decimal("999999999999") * 999 > Decimal(10) ** 12
