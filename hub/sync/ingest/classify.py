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

Batches (``event.batch``, ``classify_all``): a batch is its events, each classified as if it had
come alone on the topic (the batch envelope's own store, node and seq must be its first event's).
A batch that does not decode whole is taken apart: each element of ``body.events`` is classified
on its own, so one bad event is one ``Unprocessable`` (or ``Rejected``) and the others go on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from protocol import (
    KINDS_ON_TOPIC,
    DecodeError,
    Envelope,
    EventBatch,
    NodeStatus,
    TopicError,
    TopicKind,
    decode,
    encode,
    parse_topic,
)
from protocol.codec import within_depth
from protocol.limits import MAX_BATCH_EVENTS, MAX_PAYLOAD_BYTES, MAX_SEQ

# Each node sends on the same two topics all day: parse (and validate) each once. Bounded; a
# topic that does not parse raises and is not kept.
_parsed_topic = lru_cache(maxsize=16_384)(parse_topic)


@dataclass(frozen=True)
class Incoming:
    """A message as the network thread hands it over (bytes: the writer decodes it, see
    ``hub.sync.mqtt``); ``classified`` holds what it is once ``parts`` has decided."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int
    received_at: datetime
    classified: tuple[Classified, ...] | None = field(default=None, compare=False, repr=False)

    def parts(self) -> tuple[Classified, ...]:
        """What this message is: one part, or a batch's events (classified once, by the first
        call: the writer's)."""
        if self.classified is None:
            object.__setattr__(self, "classified", classify_all(self.topic, self.payload))
        return cast(tuple[Classified, ...], self.classified)


@dataclass(frozen=True)
class NodeEvent:
    """A valid event from the node its topic names."""

    store_id: str
    node_id: str
    envelope: Envelope
    # (store_id, node_id): made once, since a batch looks it up about ten times an event
    key: tuple[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", (self.store_id, self.node_id))


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
    """Decide what one message is; never raises (a batch: see ``classify_all``)."""
    try:
        found = _classify(topic, payload)
    except Exception as err:  # a bug in here must not stop ingest: refuse the message
        return _bug(topic, payload, err)
    return found if not isinstance(found, tuple) else Rejected(
        topic, None, "an event.batch message is several events (classify_all)", "kind", payload)


def classify_all(topic: str, payload: bytes) -> tuple[Classified, ...]:
    """What one message is: one part, or each event of a batch; never raises."""
    try:
        found = _classify(topic, payload)
    except Exception as err:  # a bug in here must not stop ingest: refuse the message
        return (_bug(topic, payload, err),)
    return found if isinstance(found, tuple) else (found,)


def _bug(topic: str, payload: bytes, err: Exception) -> Rejected:
    return Rejected(topic, None, f"the hub could not classify this message: {err!r}", None,
                    payload)


def _classify(topic: str, payload: bytes) -> Classified | tuple[Classified, ...]:
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
            apart = _taken_apart(topic, payload)
            if apart is not None:
                return apart
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
    if isinstance(envelope.body, EventBatch):
        first = envelope.body.events[0]
        if first.seq != envelope.seq:
            return Rejected(topic, sender, f"a batch's seq ({envelope.seq}) must be its first "
                            f"event's ({first.seq})", "seq", payload)
        # the batch checked its events are one node's, consecutive: each is checked as alone
        return tuple(_one_event(topic, sender, where.store_id, where.node_id or "", event)
                     for event in envelope.body.events)
    return NodeEvent(where.store_id, envelope.node_id, envelope)


def _one_event(topic: str, sender: str, store_id: str, node_id: str,
               envelope: Envelope) -> Classified:
    mismatch = _identity_mismatch(envelope, store_id, node_id)
    if mismatch:
        return Rejected(topic, sender, mismatch[1], mismatch[0], encode(envelope))
    if envelope.seq < 1:
        return Rejected(topic, sender, "an event needs a seq of 1 or more", "seq",
                        encode(envelope))
    return NodeEvent(store_id, node_id, envelope)


def _taken_apart(topic: str, payload: bytes) -> tuple[Classified, ...] | None:
    """A batch that did not decode whole: each of its events classified alone (None when the
    payload is no batch at all)."""
    data = _bounded_json(payload)
    body = data.get("body") if isinstance(data, dict) else None
    events = body.get("events") if isinstance(body, dict) else None
    if (not isinstance(data, dict) or data.get("kind") != "event.batch"
            or not isinstance(events, list)
            or not 1 <= len(events) <= MAX_BATCH_EVENTS):
        return None
    parts: list[Classified] = []
    for event in events:
        raw = json.dumps(event, ensure_ascii=False).encode("utf-8")
        part = _classify(topic, raw)
        parts.append(part if not isinstance(part, tuple) else Rejected(
            topic, None, "a batch cannot carry a batch", "kind", raw))
    return tuple(parts)


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
    data = _bounded_json(payload)
    if not isinstance(data, dict):
        return None
    seq = data.get("seq")
    if type(seq) is not int or not 1 <= seq <= MAX_SEQ:
        return None
    if data.get("store_id") != store_id or data.get("node_id") != node_id:
        return None
    message_id = data.get("id")
    return seq, message_id if isinstance(message_id, str) and len(message_id) <= 64 else None


def _bounded_json(payload: bytes) -> Any:
    """The JSON value of ``payload``, or None when it is too large, too deep or not JSON (as
    ``decode`` bounds it: never parsed then)."""
    if len(payload) > MAX_PAYLOAD_BYTES or not within_depth(payload):
        return None
    try:
        return json.loads(payload)
    except (ValueError, RecursionError):
        return None
