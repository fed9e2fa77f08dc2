"""The hub link tells the agent the moment something changes, and the live stream carries it.

Real Mosquitto, a hub stand-in, the agent on uvicorn and an SSE client on a socket: a refund
decision and a payment status applied from hub commands, an expected return, a newer store
config, acks emptying the outbox and the link going down and up each arrive as one event, in
order; what changes nothing (a late status kept out, a duplicate command, an old config) arrives
as nothing. Nothing here waits for a poll: there is none left (``edge_agent.sync.changes``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from edge_agent.metrics import Metrics
from edge_agent.storage.store import Store
from edge_agent.sync.changes import Applied, Change
from edge_agent.sync.link import Link
from protocol import (
    Channel,
    ExpectedReturn,
    Money,
    RefundDecided,
    RefundOutcome,
    RefundPayment,
    RefundStatus,
    ReturnItem,
    config_topic,
    utc_now,
)
from tests.edge.conftest import NODE, STORE, Running, make_settings, running_agent, wait_until
from tests.edge.hub_standin import HubStandIn
from tests.edge_auth.conftest import config_payload
from tests.edge_hw.sse import SseClient
from tests.support.broker import MqttCreds, TestBroker

RETURN = {"channel": "pos", "reason": "defective",
          "items": [{"sku": "SKU-1", "quantity": 1,
                     "unit_price": {"amount": "54.80", "currency": "USD"}}]}


@pytest.fixture
def linked(tmp_path: Path, node_creds: MqttCreds, hub: HubStandIn) -> Iterator[Running]:
    """An agent linked to the broker, its link subscribed."""
    with running_agent(make_settings(tmp_path, node_creds)) as run:
        wait_until(lambda: run.http.get("/api/health").json()["subscribed"])
        yield run


@contextmanager
def stream(run: Running) -> Iterator[SseClient]:
    """An SSE client on the agent, subscribed (the stream's first status event has arrived)."""
    with SseClient(run.url) as sse:
        sse.next("broker")
        yield sse


def record(run: Running) -> dict[str, Any]:
    """Record a return with a refund request; its view."""
    answer = run.http.post("/api/returns", json=RETURN)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def expected(rma_id: str) -> ExpectedReturn:
    return ExpectedReturn(rma_id=rma_id, order_id=f"O-{rma_id}", channel=Channel.AMAZON_MFN,
                          items=[ReturnItem(sku="SKU-9", quantity=1,
                                            unit_price=Money.of("9.99", "USD"))])


def test_a_hub_decision_is_announced_as_the_return_then_reads(linked: Running,
                                                              hub: HubStandIn) -> None:
    with stream(linked) as sse:
        view = record(linked)
        ids = {"return_id": view["return_id"], "refund_id": view["refund"]["refund_id"]}
        hub.command(RefundDecided(**ids, outcome=RefundOutcome.APPROVED,
                                  amount=Money.of("54.80", "USD"), reasons=["under the limit"],
                                  decided_at=utc_now()))
        event = sse.next("refund").data
    assert event == ids | {"status": "approved", "payment": None, "command": "refund.decided"}
    shown = linked.http.get(f"/api/returns/{view['return_id']}").json()["refund"]
    assert shown["status"] == "approved" and shown["decision"]["reasons"] == ["under the limit"]


def test_payment_statuses_are_announced_unless_kept_out(linked: Running,
                                                        hub: HubStandIn) -> None:
    with stream(linked) as sse:
        view = record(linked)
        ids = {"return_id": view["return_id"], "refund_id": view["refund"]["refund_id"]}
        start = utc_now()

        def status(payment: RefundPayment, minutes: int) -> None:
            hub.command(RefundStatus(**ids, status=payment, at=start + timedelta(minutes=minutes)))

        status(RefundPayment.SUBMITTED, 0)
        first = sse.next("refund").data
        status(RefundPayment.CONFIRMED, -1)  # older than the status held: kept out, no event
        status(RefundPayment.FAILED, 1)
        second = sse.next("refund").data
    moved = ids | {"status": "requested", "command": "refund.status"}
    assert (first, second) == (moved | {"payment": "submitted"}, moved | {"payment": "failed"})


def test_an_expected_return_is_announced_once(linked: Running, hub: HubStandIn) -> None:
    with stream(linked) as sse:
        command = hub.command(expected("RMA-1"))
        hub.command(expected("RMA-1"), envelope=command)  # delivered again: applied once
        hub.command(expected("RMA-2"))
        announced = [sse.next("expected").data, sse.next("expected").data]
    assert announced == [{"rma_id": "RMA-1", "order_id": "O-RMA-1"},
                         {"rma_id": "RMA-2", "order_id": "O-RMA-2"}]


def test_acks_and_a_newer_store_config_are_announced(linked: Running, hub: HubStandIn) -> None:
    with stream(linked) as sse:
        record(linked)
        emptied = sse.next("outbox", lambda d: d["pending"] == 0, timeout=10).data
        assert emptied["last_acked_seq"] == 3  # return.received, stock.moved, refund.requested
        hub.publish(config_topic(STORE), config_payload(2), retain=True)
        hub.publish(config_topic(STORE), config_payload(1), retain=True)  # older: ignored
        hub.publish(config_topic(STORE), config_payload(3, staff=[]), retain=True)
        configs = [sse.next("config").data, sse.next("config").data]
    assert configs == [{"version": 2, "signin_required": True},
                       {"version": 3, "signin_required": False}]


def test_the_link_going_down_and_up_is_announced(tmp_path: Path, broker: TestBroker,
                                                 node_creds: MqttCreds) -> None:
    with running_agent(make_settings(tmp_path, node_creds)) as run, SseClient(run.url) as sse:
        sse.next("broker", lambda d: d["connected"] is True, timeout=10)
        broker.stop()
        sse.next("broker", lambda d: d["connected"] is False, timeout=10)
        broker.start()
        sse.next("broker", lambda d: d["connected"] is True, timeout=15)
        assert run.http.get("/api/health").json()["broker_connected"] is True


def test_a_failing_listener_does_not_stop_the_link(tmp_path: Path, node_creds: MqttCreds,
                                                   hub: HubStandIn) -> None:
    """The link goes on (commands applied and reported) when its listener raises."""
    heard: list[Change] = []

    def listener(change: Change) -> None:
        heard.append(change)
        raise RuntimeError("the listener is broken")

    settings = make_settings(tmp_path, node_creds)
    store = Store.open(tmp_path / "edge.db", STORE, NODE)
    link = Link(settings, store, Metrics(), "test", listener=listener)
    try:
        link.start()
        wait_until(lambda: link.subscribed)
        hub.command(expected("RMA-1"))
        hub.command(expected("RMA-2"))
        assert wait_until(lambda: len(hub.kinds("command.applied")) == 2)
    finally:
        link.stop()
        store.close()
    assert sum(isinstance(change, Applied) for change in heard) == 2
