"""Turn one MQTT message into a node event, a node status, or a rejection — pure.

Identity rule: the sender is the store/node in the TOPIC, because the broker's ACL binds each
node's credentials to its own topics (``hub.fleet.acl``). A message whose envelope names another
store or node is forged or misrouted and is rejected, as are undecodable payloads, unknown topics,
kinds that do not belong on the topic, and events without a positive seq.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from protocol import (
    KINDS_ON_TOPIC,
    DecodeError,
    Envelope,
    NodeStatus,
    TopicError,
    TopicKind,
    decode,
    parse_topic,
)


@dataclass(frozen=True)
class Incoming:
    """A message as the network thread hands it over."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int
    received_at: datetime


@dataclass(frozen=True)
class NodeEvent:
    """A valid event from the node its topic names."""

    store_id: str
    node_id: str
    envelope: Envelope

    @property
    def key(self) -> tuple[str, str]:
        """(store_id, node_id)."""
        return self.store_id, self.node_id


@dataclass(frozen=True)
class StatusUpdate:
    """A node's presence report."""

    store_id: str
    node_id: str
    status: NodeStatus
    envelope: Envelope

    @property
    def key(self) -> tuple[str, str]:
        """(store_id, node_id)."""
        return self.store_id, self.node_id


@dataclass(frozen=True)
class Rejected:
    """A message to dead-letter: where it came from and why it was refused."""

    topic: str
    sender: str | None
    reason: str
    field: str | None
    payload: bytes


Classified = NodeEvent | StatusUpdate | Rejected


def classify(topic: str, payload: bytes) -> Classified:
    """Decide what one message is; never raises for bad input."""
    try:
        where = parse_topic(topic)
    except TopicError as err:
        return Rejected(topic, None, f"unknown topic: {err}", None, payload)
    sender = f"{where.store_id}/{where.node_id}"
    if where.kind not in (TopicKind.EVENTS, TopicKind.STATUS):
        return Rejected(topic, sender, f"the hub does not read {where.kind.value} topics", None,
                        payload)
    try:
        envelope = decode(payload, expect=KINDS_ON_TOPIC[where.kind])
    except DecodeError as err:
        return Rejected(topic, sender, str(err), err.field, payload)
    mismatch = _identity_mismatch(envelope, where.store_id, where.node_id or "")
    if mismatch:
        return Rejected(topic, sender, mismatch[1], mismatch[0], payload)
    if where.kind is TopicKind.STATUS:
        assert isinstance(envelope.body, NodeStatus)  # guaranteed by expect= above
        return StatusUpdate(where.store_id, envelope.node_id, envelope.body, envelope)
    if envelope.seq < 1:
        return Rejected(topic, sender, "an event needs a seq of 1 or more", "seq", payload)
    return NodeEvent(where.store_id, envelope.node_id, envelope)


def _identity_mismatch(envelope: Envelope, store_id: str, node_id: str) -> tuple[str, str] | None:
    if envelope.store_id != store_id:
        return "store_id", (f"forged sender: envelope store_id {envelope.store_id!r} is not the "
                            f"topic's store {store_id!r}")
    if envelope.node_id != node_id:
        return "node_id", (f"forged sender: envelope node_id {envelope.node_id!r} is not the "
                           f"topic's node {node_id!r}")
    return None
