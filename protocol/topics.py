"""MQTT topic builders and parsers.

    acorn/v1/stores/{store}/nodes/{node}/events    node -> hub, QoS 1
    acorn/v1/stores/{store}/nodes/{node}/commands  hub -> node, QoS 1
    acorn/v1/stores/{store}/nodes/{node}/acks      hub -> node
    acorn/v1/stores/{store}/nodes/{node}/status    node, retained, last will
    acorn/v1/stores/{store}/config                 hub -> every node of the store, retained
    acorn/v1/hub/presence                          hub -> every node, retained, last will

The hub's presence is not a node channel (no store, no node): ``HUB_PRESENCE_TOPIC`` carries only
``PRESENCE_KINDS``; nodes may read it, only the hub writes it.

A topic is validated when built and when parsed; anything else raises ``TopicError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from protocol.envelope import COMMAND_KINDS, EVENT_KINDS
from protocol.errors import TopicError
from protocol.ids import check_id

PREFIX = "acorn/v1"
HUB_PRESENCE_TOPIC = f"{PREFIX}/hub/presence"
PRESENCE_KINDS = frozenset({"hub.presence"})


class TopicKind(StrEnum):
    """The channels of a node (and the store-wide config)."""

    EVENTS = "events"
    COMMANDS = "commands"
    ACKS = "acks"
    STATUS = "status"
    CONFIG = "config"


KINDS_ON_TOPIC: dict[TopicKind, frozenset[str]] = {
    TopicKind.EVENTS: EVENT_KINDS | {"event.batch"},
    TopicKind.COMMANDS: COMMAND_KINDS,
    TopicKind.ACKS: frozenset({"ack"}),
    TopicKind.STATUS: frozenset({"node.status"}),
    TopicKind.CONFIG: frozenset({"store.config"}),
}


@dataclass(frozen=True)
class Topic:
    """A parsed ACORN topic; ``node_id`` is None only for the store config topic."""

    store_id: str
    node_id: str | None
    kind: TopicKind

    def __post_init__(self) -> None:
        try:
            check_id(self.store_id, "store id")
            if self.node_id is not None:
                check_id(self.node_id, "node id")
        except ValueError as err:
            raise TopicError(str(err)) from err
        if (self.node_id is None) != (self.kind is TopicKind.CONFIG):
            raise TopicError("only the config topic is store-wide; every other topic needs a node")

    @property
    def text(self) -> str:
        """The topic string."""
        if self.kind is TopicKind.CONFIG:
            return f"{PREFIX}/stores/{self.store_id}/config"
        return f"{PREFIX}/stores/{self.store_id}/nodes/{self.node_id}/{self.kind.value}"

    def __str__(self) -> str:
        return self.text


def node_topic(store_id: str, node_id: str, kind: TopicKind) -> str:
    """Topic string of one node channel."""
    return Topic(store_id, node_id, kind).text


def config_topic(store_id: str) -> str:
    """Topic string of a store's retained config."""
    return Topic(store_id, None, TopicKind.CONFIG).text


def subscription(kind: TopicKind, store_id: str | None = None) -> str:
    """Wildcard subscription for one channel of every node of every store (for the hub), or
    of every node of one store (several hub workers split the stores between them)."""
    store = "+"
    if store_id is not None:
        try:
            store = check_id(store_id, "store id")
        except ValueError as err:
            raise TopicError(str(err)) from err
    if kind is TopicKind.CONFIG:
        return f"{PREFIX}/stores/{store}/config"
    return f"{PREFIX}/stores/{store}/nodes/+/{kind.value}"


def parse_topic(text: str) -> Topic:
    """Parse a topic string; raise TopicError if it is not one of ours."""
    parts = text.split("/")
    if len(parts) == 5 and parts[:3] == ["acorn", "v1", "stores"] and parts[4] == "config":
        return Topic(parts[3], None, TopicKind.CONFIG)
    if len(parts) == 7 and parts[:3] == ["acorn", "v1", "stores"] and parts[4] == "nodes":
        try:
            kind = TopicKind(parts[6])
        except ValueError:
            raise TopicError(f"unknown channel {parts[6]!r} in topic {text!r}") from None
        if kind is TopicKind.CONFIG:
            raise TopicError(f"config is store-wide, not per node: {text!r}")
        return Topic(parts[3], parts[5], kind)
    raise TopicError(f"not an ACORN v1 topic: {text!r}")
