"""The envelope carried by every ACORN message, and the table of message kinds.

Rules:
- ``seq`` is per node and gap-free for events (from the node's SQLite outbox); for hub -> node
  commands it is the hub's per-node command sequence; acks and status carry 0;
- ``kind`` decides the body's type (``BODY_TYPES``); the body on the wire does not repeat it;
- ``occurred_at`` is when the fact happened, ``sent_at`` when this copy was sent (a resend has a
  later ``sent_at`` but the same ``id`` and ``seq``); both are UTC with a ``Z``;
- unknown fields are ignored, so additive changes need no new topic version; a breaking change
  bumps ``SCHEMA_VERSION`` and the topic's ``v1``;
- ``event.batch`` carries 2 to ``MAX_BATCH_EVENTS`` consecutive events of one node in one
  message on its events topic (a node draining a backlog sends one message where it would send
  dozens: the broker, the hub's MQTT reading and the node's publishing each cost per message).
  The batch envelope is the first event's store, node and seq, with an id of its own; each event
  inside is a whole envelope, stored, acked and dead-lettered as if it came alone. A node sends
  batches only to a hub whose store config says it reads them (``StoreConfig.event_batch``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, model_validator

from protocol.config import StoreConfig
from protocol.evidence import EvidenceRecorded
from protocol.ids import MessageId, NodeId, StoreId, new_message_id
from protocol.limits import MAX_BATCH_EVENTS, MAX_SEQ
from protocol.link import Ack, HubPresence, NodeStatus
from protocol.picking import OrderShipped, PickGivenBack, PickTask, PickWithdrawn
from protocol.returns import (
    Body,
    CommandApplied,
    DispositionRecorded,
    EventVerify,
    ExpectedReturn,
    InspectionRecorded,
    RefundDecided,
    RefundRequested,
    RefundStatus,
    ReturnReceived,
)
from protocol.stock import CountTask, SnapshotRequest, StockMoved, StockSnapshot
from protocol.timeutil import UtcDatetime, utc_now
from protocol.transfers import TransferCancelled, TransferDelivered, TransferTask

SCHEMA_VERSION = 1

Kind = Literal[
    "return.received",
    "inspection.recorded",
    "disposition.recorded",
    "refund.requested",
    "command.applied",
    "evidence.recorded",
    "stock.moved",
    "stock.snapshot",
    "return.expected",
    "refund.decided",
    "refund.status",
    "event.verify",
    "stock.snapshot.request",
    "stock.count.task",
    "transfer.task",
    "transfer.delivered",
    "order.pick.task",
    "order.shipped",
    "order.pick.given_back",
    "order.pick.withdrawn",
    "ack",
    "node.status",
    "store.config",
    "transfer.cancelled",
    "hub.presence",
    "event.batch",
]

BODY_TYPES: dict[str, type[Body]] = {
    "return.received": ReturnReceived,
    "inspection.recorded": InspectionRecorded,
    "disposition.recorded": DispositionRecorded,
    "refund.requested": RefundRequested,
    "command.applied": CommandApplied,
    "evidence.recorded": EvidenceRecorded,
    "stock.moved": StockMoved,
    "stock.snapshot": StockSnapshot,
    "stock.snapshot.request": SnapshotRequest,
    "stock.count.task": CountTask,
    "transfer.task": TransferTask,
    "transfer.delivered": TransferDelivered,
    "transfer.cancelled": TransferCancelled,
    "order.pick.task": PickTask,
    "order.shipped": OrderShipped,
    "order.pick.given_back": PickGivenBack,
    "order.pick.withdrawn": PickWithdrawn,
    "return.expected": ExpectedReturn,
    "refund.decided": RefundDecided,
    "refund.status": RefundStatus,
    "event.verify": EventVerify,
    "ack": Ack,
    "node.status": NodeStatus,
    "store.config": StoreConfig,
    "hub.presence": HubPresence,
}

EVENT_KINDS = frozenset(
    {
        "return.received",
        "inspection.recorded",
        "disposition.recorded",
        "refund.requested",
        "command.applied",
        "evidence.recorded",
        "stock.moved",
        "stock.snapshot",
        "order.shipped",
        "order.pick.given_back",
    }
)
COMMAND_KINDS = frozenset({"return.expected", "refund.decided", "refund.status", "event.verify",
                           "stock.snapshot.request", "stock.count.task",
                           "transfer.task", "transfer.delivered", "transfer.cancelled",
                           "order.pick.task", "order.pick.withdrawn"})


class EnvelopeHead(BaseModel):
    """The envelope's fields around its body, without its validators (``Envelope`` adds them;
    the codec's one-pass decoder types the body itself, so it must not inherit the before
    validator: a model's before validator makes pydantic turn the whole JSON message into
    Python objects first, a fifth of validating a receipt)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    id: MessageId
    store_id: StoreId
    node_id: NodeId
    seq: int = Field(ge=0, le=MAX_SEQ)
    kind: Kind
    schema_version: int = Field(default=SCHEMA_VERSION, alias="schema", ge=1)
    occurred_at: UtcDatetime
    sent_at: UtcDatetime | None = None


class Envelope(EnvelopeHead):
    """One ACORN message: routing, ordering and timing around a typed body."""

    body: SerializeAsAny[Body]

    @model_validator(mode="before")
    @classmethod
    def _typed_body(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        kind = data.get("kind")
        body = data.get("body")
        body_type = BODY_TYPES.get(kind) if isinstance(kind, str) else None
        if body_type is None or isinstance(body, Body):
            return data
        if not isinstance(body, dict):
            raise ValueError("body must be an object")
        return {**data, "body": body_type.model_validate({**body, "kind": kind})}

    @model_validator(mode="after")
    def _body_matches_kind(self) -> Envelope:
        if type(self.body) is not BODY_TYPES[self.kind]:
            raise ValueError(
                f"body of type {type(self.body).__name__} does not fit kind {self.kind}"
            )
        return self

    def resent(self, at: datetime | None = None) -> Envelope:
        """The same message with a new ``sent_at`` (a resend keeps id and seq)."""
        return self.model_copy(update={"sent_at": at or utc_now()})


class EventBatch(Body):
    """Consecutive events of one node in one message (see the module's rules)."""

    kind: Literal["event.batch"] = "event.batch"
    events: list[Envelope] = Field(min_length=2, max_length=MAX_BATCH_EVENTS)

    @model_validator(mode="after")
    def _one_stream(self) -> EventBatch:
        first = self.events[0]
        for n, event in enumerate(self.events):
            if event.kind not in EVENT_KINDS:
                raise ValueError(f"events[{n}]: a {event.kind} message cannot travel in a batch")
            if (event.store_id, event.node_id) != (first.store_id, first.node_id):
                raise ValueError(f"events[{n}]: a batch carries the events of one node")
            if event.seq != first.seq + n:
                raise ValueError(f"events[{n}]: seq {event.seq} does not follow "
                                 f"{first.seq + n - 1}: a batch carries consecutive events")
        return self


BODY_TYPES["event.batch"] = EventBatch


def make_envelope(
    store_id: str,
    node_id: str,
    seq: int,
    body: Body,
    occurred_at: datetime | None = None,
    message_id: str | None = None,
) -> Envelope:
    """Wrap ``body`` in a validated envelope; the kind comes from the body."""
    kind = getattr(body, "kind")  # noqa: B009 - every body class defines its kind literal
    return Envelope.model_validate(
        {
            "id": message_id or new_message_id(),
            "store_id": store_id,
            "node_id": node_id,
            "seq": seq,
            "kind": kind,
            "occurred_at": occurred_at or utc_now(),
            "body": body,
        }
    )
