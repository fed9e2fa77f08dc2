"""Queuing a command wakes the publisher by itself: no route, no ``wake`` call, no poll.

A real broker and a hub whose publisher would otherwise look at its outbox once an hour. The
command is queued through a plain context function on the hub's engine (as the Amazon scheduler
or any library code would), and the node receives it. Arrival is the proof: with an hour's poll
and resend interval, only the after-commit wake can have sent it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.access import pins
from hub.access.permissions import Role
from hub.access.users import Actor
from hub.fleet import stores
from hub.storage import outbox
from protocol import ExpectedReturn, TopicKind, config_topic, decode
from tests.hub.conftest import RunningHub, hub_settings, start_hub
from tests.hub.helpers import NodeProbe, wait_for
from tests.support.broker import Probe, TestBroker

HOUR = 3600.0


@pytest.fixture
def idle_hub(db_url: str, broker: TestBroker) -> Iterator[RunningHub]:
    """A hub connected to the broker whose publisher polls and resends only once an hour."""
    yield from start_hub(hub_settings(db_url, broker, command_poll_seconds=HOUR,
                                      command_resend_seconds=HOUR))


def rma(rma_id: str) -> ExpectedReturn:
    return ExpectedReturn.model_validate({
        "rma_id": rma_id, "order_id": "111-1", "channel": "amazon_mfn",
        "items": [{"sku": "SKU-1", "quantity": 1,
                   "unit_price": {"amount": "10.00", "currency": "USD"}}]})


def received_ids(node: NodeProbe) -> list[str]:
    return [decode(m.payload).id for m in node.on(TopicKind.COMMANDS)]


def test_a_command_queued_by_a_plain_function_reaches_the_node_without_any_wake_call(
        idle_hub: RunningHub, broker: TestBroker) -> None:
    node = NodeProbe(broker, "s1", "n1")
    try:
        wait_for(lambda: idle_hub.client.get("/api/health").json()["mqtt"]["connected"], 20,
                 "the hub to connect")
        # The first command may still ride on the publisher's pass after connecting; once it has
        # arrived, that pass is over, and the second can only go out through its own wake.
        first = outbox.queue_expected_return(idle_hub.engine, "s1", "n1", rma("RMA-1"), "test",
                                             "operator")
        wait_for(lambda: first in received_ids(node), 20, "the first command at the node")
        second = outbox.queue_expected_return(idle_hub.engine, "s1", "n1", rma("RMA-2"), "test",
                                              "operator")
        wait_for(lambda: second in received_ids(node), 20, "the second command at the node")
    finally:
        node.close()
    assert received_ids(node) == [first, second]  # each once, in order


@pytest.fixture
def idle_config_hub(db_url: str, broker: TestBroker) -> Iterator[RunningHub]:
    """A hub whose store-config sync looks for changes only once an hour by itself."""
    yield from start_hub(hub_settings(db_url, broker, config_publish_seconds=HOUR))


def staff_in_config(probe: Probe, store: str) -> list[list[str]]:
    """The staff ids of every config of ``store`` received so far, in order."""
    return [[s["staff_id"] for s in decode(m.payload).body.model_dump(mode="json")["staff"]]
            for m in list(probe.messages) if m.topic == config_topic(store)]


def test_a_pin_set_by_a_plain_function_reaches_the_store_without_any_wake_call(
        idle_config_hub: RunningHub, broker: TestBroker) -> None:
    """Changing what a store's config says (a PIN, the store's limit, the policy) wakes the
    config sync when the change commits: no route has to remember to."""
    actor = Actor("ops", "admin")
    stores.set_store(idle_config_hub.engine, "s7", actor, region="north")
    node = Probe(broker.node_creds("s7", "n1"))
    try:
        node.subscribe(config_topic("s7"))
        wait_for(lambda: idle_config_hub.client.get("/api/health").json()["mqtt"]["connected"],
                 20, "the hub to connect")
        # The first PIN may still ride on the pass the sync makes when the hub connects; once it
        # has arrived, that pass is over, and the second can only go out through its own wake.
        pins.set_pin(idle_config_hub.engine, "s7", "k1", "4821", Role.STORE_MANAGER, actor)
        wait_for(lambda: ["k1"] in staff_in_config(node, "s7"), 20, "the first PIN at the store")
        pins.set_pin(idle_config_hub.engine, "s7", "k2", "5932", Role.STORE_STAFF, actor)
        wait_for(lambda: ["k1", "k2"] in staff_in_config(node, "s7"), 20,
                 "the second PIN at the store")
        pins.remove_pin(idle_config_hub.engine, "s7", "k1", actor)
        wait_for(lambda: staff_in_config(node, "s7")[-1] == ["k2"], 20, "the PIN's removal")
    finally:
        node.close()
