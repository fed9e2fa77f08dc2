"""Message factories, node probes and waits for the hub tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, select

from hub.amazon.store import hashed, upsert
from hub.amazon.sync.orders import FIELDS, order_row
from hub.storage.engine import reading, writing
from hub.storage.tables.amazon import amazon_orders
from hub.storage.tables.core import nodes
from hub.sync.ingest.batch import BatchResult, store_batch
from hub.sync.ingest.classify import classify
from protocol import (
    Channel,
    CommandApplied,
    DispositionRecorded,
    Envelope,
    InspectionRecorded,
    Money,
    RefundRequested,
    ReturnItem,
    ReturnReceived,
    TopicKind,
    encode,
    make_envelope,
    node_topic,
    utc_now,
)
from protocol.link import NodeStatus
from tests.support.broker import Probe, TestBroker

T = TypeVar("T")
ON_PG = pytest.mark.parametrize("db_url", [pytest.param("pg", marks=pytest.mark.pg)],
                                indirect=True)  # a test of PostgreSQL alone (hub db_url fixture)


def wait_for(condition: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def received(store: str, node: str, seq: int, return_id: str, price: str = "12.00",
             currency: str = "USD") -> Envelope:
    """A return.received event."""
    return make_envelope(store, node, seq, ReturnReceived(
        return_id=return_id, channel=Channel.POS, reason="too small",
        items=[ReturnItem(sku="SKU-1", quantity=1, unit_price=Money.of(price, currency))],
        received_at=utc_now()))


def refund(store: str, node: str, seq: int, return_id: str, refund_id: str,
           amount: str = "12.00", currency: str = "USD", by: str | None = "clerk-1") -> Envelope:
    """A refund.requested event."""
    return make_envelope(store, node, seq, RefundRequested(
        refund_id=refund_id, return_id=return_id, amount=Money.of(amount, currency),
        channel=Channel.POS, requested_by=by, requested_at=utc_now()))


def inspected(store: str, node: str, seq: int, return_id: str) -> Envelope:
    """An inspection.recorded event."""
    return make_envelope(store, node, seq, InspectionRecorded(
        return_id=return_id, grade="good", inspected_at=utc_now()))  # type: ignore[arg-type]


def disposed(store: str, node: str, seq: int, return_id: str) -> Envelope:
    """A disposition.recorded event."""
    return make_envelope(store, node, seq, DispositionRecorded(
        return_id=return_id, disposition="restock_sellable",  # type: ignore[arg-type]
        decided_at=utc_now()))


def applied(store: str, node: str, seq: int, command_id: str, kind: str) -> Envelope:
    """A command.applied event."""
    return make_envelope(store, node, seq, CommandApplied(
        command_id=command_id, command_kind=kind, result="applied"))


def status(store: str, node: str, state: str = "online") -> Envelope:
    """A node.status message."""
    return make_envelope(store, node, 0, NodeStatus(state=state))  # type: ignore[arg-type]


def events_topic(envelope: Envelope) -> str:
    """The events topic of the envelope's own node."""
    return node_topic(envelope.store_id, envelope.node_id, TopicKind.EVENTS)


ORDER_KEY_SECRET = b"test-customer-key-secret"


def sync_order(engine: Engine, order_id: str, purchased_at: datetime,
               marketplace_id: str = "ATVPDKIKX0DEJ", buyer_email: str | None = None,
               deliver_by: datetime | None = None) -> None:
    """Store an Amazon order the way the orders sync does (``order_row`` + ``upsert``)."""
    order: dict[str, Any] = {
        "orderId": order_id, "salesChannel": {"marketplaceId": marketplace_id},
        "fulfillment": {"fulfillmentStatus": "SHIPPED", "fulfilledBy": "MERCHANT"},
        "createdTime": purchased_at.isoformat().replace("+00:00", "Z"),
        "lastUpdatedTime": purchased_at.isoformat().replace("+00:00", "Z"),
        "proceeds": {"grandTotal": {"amount": "12.00", "currencyCode": "USD"}},
        "orderItems": [{"orderItemId": "1", "quantityOrdered": 1,
                        "product": {"sellerSku": "SKU-1", "asin": "B000000001"}}],
    }
    if buyer_email:
        order["buyer"] = {"buyerEmail": buyer_email}
    if deliver_by:
        order["fulfillment"]["deliverByWindow"] = {
            "latestDateTime": deliver_by.isoformat().replace("+00:00", "Z")}
    with writing(engine) as tx:
        upsert(tx.conn, amazon_orders, ("account", "order_id"),
               hashed([order_row("us", order, ORDER_KEY_SECRET)], FIELDS), tx.now)


def ingest(engine: Engine, *messages: Envelope | tuple[str, bytes]) -> BatchResult:
    """Run one batch through the real transaction code, without MQTT."""
    classified = []
    for message in messages:
        if isinstance(message, Envelope):
            kind = TopicKind.STATUS if message.kind == "node.status" else TopicKind.EVENTS
            topic = node_topic(message.store_id, message.node_id, kind)
            classified.append(classify(topic, encode(message)))
        else:
            classified.append(classify(*message))
    with writing(engine) as tx:
        return store_batch(tx, classified)


def node_row(engine: Engine, store: str, node: str) -> Any:
    """The nodes row of one node."""
    with reading(engine) as conn:
        return conn.execute(select(nodes).where(nodes.c.store_id == store,
                                                nodes.c.node_id == node)).one_or_none()


class NodeProbe:
    """A node's own MQTT identity: publishes its events, watches its acks and commands."""

    def __init__(self, broker: TestBroker, store: str, node: str) -> None:
        self.store, self.node = store, node
        self.probe = Probe(broker.node_creds(store, node))
        self.probe.subscribe(node_topic(store, node, TopicKind.ACKS))
        self.probe.subscribe(node_topic(store, node, TopicKind.COMMANDS))

    def send(self, envelope: Envelope) -> None:
        """Publish an envelope on this node's events (or status) topic."""
        kind = TopicKind.STATUS if envelope.kind == "node.status" else TopicKind.EVENTS
        self.probe.publish(node_topic(self.store, self.node, kind), encode(envelope),
                           retain=kind is TopicKind.STATUS)

    def raw(self, topic_kind: TopicKind, payload: bytes) -> None:
        """Publish raw bytes on one of this node's topics."""
        self.probe.publish(node_topic(self.store, self.node, topic_kind), payload)

    def on(self, kind: TopicKind) -> list[Any]:
        """Messages received on this node's ``kind`` topic so far."""
        topic = node_topic(self.store, self.node, kind)
        return [m for m in list(self.probe.messages) if m.topic == topic]

    def close(self) -> None:
        """Disconnect."""
        self.probe.close()
