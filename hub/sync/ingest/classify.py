"""Turn one MQTT message into a node event, a node status, an unprocessable event or a rejection.

Pure, and never raises: whatever the bytes, the answer is one of the four (a bug in here is
turned into a ``Rejected`` too), so one message can never stop the ingest thread.

Identity rule: the sender is the store/node in the TOPIC, because the broker's ACL binds each
node's credentials to its own topics (``hub.fleet.acl``). A message whose envelope names another
store or node is forged or misrouted and is rejected, as are unknown topics, kinds that do not
belong on the topic, and events without a positive seq.

Salvage rule: an undecodable message on a node's events topic that is still a JSON object naming
that same store and node and a valid seq is ``Unprocessable``: it takes its seq (the node's
stream moves past it) and is dead-lettered. Anything less is ``Rejected`` (dead-lettered, acked,
no seq taken).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

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
from protocol.codec import within_depth
from protocol.limits import MAX_PAYLOAD_BYTES, MAX_SEQ

# Each node sends on the same two topics all day: parse (and validate) each once. Bounded; a
# topic that does not parse raises and is not kept.
_parsed_topic = lru_cache(maxsize=16_384)(parse_topic)


@dataclass(frozen=True)
class Incoming:
    """A message as the network thread hands it over; ``classified`` when that thread already
    decided what it is (``hub.sync.mqtt`` does: decoding there overlaps the writer's waits on
    the database), else the writer classifies it."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int
    received_at: datetime
    classified: Classified | None = field(default=None, compare=False, repr=False)

    def what(self) -> Classified:
        """What this message is (classified once)."""
        return self.classified if self.classified is not None else classify(self.topic,
                                                                             self.payload)


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


@dataclass(frozen=True)
class Unprocessable:
    """An event of the node its topic names, with a seq, that the hub cannot apply."""

    store_id: str
    node_id: str
    seq: int
    message_id: str | None
    reason: str
    field: str | None
    payload: bytes

    @property
    def key(self) -> tuple[str, str]:
        """(store_id, node_id)."""
        return self.store_id, self.node_id


Classified = NodeEvent | StatusUpdate | Unprocessable | Rejected


def classify(topic: str, payload: bytes) -> Classified:
    """Decide what one message is; never raises."""
    try:
        return _classify(topic, payload)
    except Exception as err:  # a bug in here must not stop ingest: refuse the message
        return Rejected(topic, None, f"the hub could not classify this message: {err!r}", None,
                        payload)


def _classify(topic: str, payload: bytes) -> Classified:
    try:
        where = _parsed_topic(topic)
    except TopicError as err:
        return Rejected(topic, None, f"unknown topic: {err}", None, payload)
    sender = f"{where.store_id}/{where.node_id}"
    if where.kind not in (TopicKind.EVENTS, TopicKind.STATUS):
        return Rejected(topic, sender, f"the hub does not read {where.kind.value} topics", None,
                        payload)
    try:
        envelope = decode(payload, expect=KINDS_ON_TOPIC[where.kind])
    except DecodeError as err:
        if where.kind is TopicKind.EVENTS:
            found = salvage(payload, where.store_id, where.node_id or "")
            if found is not None:
                return Unprocessable(where.store_id, where.node_id or "", found[0], found[1],
                                     str(err), err.field, payload)
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


def salvage(payload: bytes, store_id: str, node_id: str) -> tuple[int, str | None] | None:
    """(seq, message id or None) of a JSON object naming this store and node, else None.

    Bounded like ``decode``: too large or too deep is never parsed."""
    if len(payload) > MAX_PAYLOAD_BYTES or not within_depth(payload):
        return None
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    seq = data.get("seq")
    if type(seq) is not int or not 1 <= seq <= MAX_SEQ:
        return None
    if data.get("store_id") != store_id or data.get("node_id") != node_id:
        return None
    message_id = data.get("id")
    return seq, message_id if isinstance(message_id, str) and len(message_id) <= 64 else None
