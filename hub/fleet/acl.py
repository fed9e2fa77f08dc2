"""Broker identities and their ACLs, as pure data.

Each edge node gets its own broker user ``edge.{store}.{node}`` with a role of the same shape that
lets it write only its own ``events``/``status`` and read only its own ``commands``/``acks`` and its
store's ``config``, and read the hub's presence. The hub user may read every node's events and
status and write commands, acks, config and its presence. Everything else is denied by the
broker's default ACL (dynamic-security defaults: publishClientSend deny, subscribe deny).

Rules:
- every identity but the dynsec admin is bound to one MQTT client id (dynamic security's
  ``clientid``): a node's is its user name ``edge.{store}.{node}``, the hub's is its configured
  ``mqtt_client_id`` (``acorn-hub``). The broker refuses a login with any other client id at
  CONNECT, before it touches the session already open under that id, so one identity's password
  can neither take over nor kick off another identity's session;
- the hub may also publish on nodes' ``events`` topics, only to clear a retained message a node
  left there (an empty retained publish): the broker cannot refuse a node's retain flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from protocol import HUB_PRESENCE_TOPIC, TopicKind, check_id, config_topic, node_topic

HUB_USERNAME = "acorn-hub"
HUB_ROLE = "acorn-hub"
HUB_CLIENT_ID = "acorn-hub"  # the hub setting mqtt_client_id's default
SHARE_GROUP = "acorn-hub"  # the shared-subscription group of the hub's ingest workers

AclType = Literal[
    "publishClientSend",
    "publishClientReceive",
    "subscribeLiteral",
    "subscribePattern",
    "unsubscribeLiteral",
    "unsubscribePattern",
]


@dataclass(frozen=True)
class Acl:
    """One dynamic-security ACL line."""

    acltype: AclType
    topic: str
    allow: bool = True
    priority: int = 0

    def as_json(self) -> dict[str, Any]:
        """The dynamic-security JSON form."""
        return {
            "acltype": self.acltype,
            "topic": self.topic,
            "allow": self.allow,
            "priority": self.priority,
        }


def node_username(store_id: str, node_id: str) -> str:
    """Broker user name of an edge node."""
    return f"edge.{check_id(store_id, 'store id')}.{check_id(node_id, 'node id')}"


def node_client_id(store_id: str, node_id: str) -> str:
    """The one MQTT client id an edge node's broker user may connect with: its user name."""
    return node_username(store_id, node_id)


def node_role(store_id: str, node_id: str) -> str:
    """Dynamic-security role name of an edge node."""
    return f"node.{check_id(store_id, 'store id')}.{check_id(node_id, 'node id')}"


def parse_node_username(username: str) -> tuple[str, str] | None:
    """(store, node) for an edge user name, None for anything else."""
    parts = username.split(".")
    if len(parts) != 3 or parts[0] != "edge":
        return None
    try:
        return check_id(parts[1]), check_id(parts[2])
    except ValueError:
        return None


def node_acls(store_id: str, node_id: str) -> list[Acl]:
    """What one edge node may do on the broker."""
    own = {
        kind: node_topic(store_id, node_id, kind)
        for kind in TopicKind
        if kind is not TopicKind.CONFIG
    }
    return [
        Acl("publishClientSend", own[TopicKind.EVENTS]),
        Acl("publishClientSend", own[TopicKind.STATUS]),
        Acl("subscribeLiteral", own[TopicKind.COMMANDS]),
        Acl("subscribeLiteral", own[TopicKind.ACKS]),
        Acl("subscribeLiteral", own[TopicKind.STATUS]),
        Acl("subscribeLiteral", config_topic(store_id)),
        Acl("subscribeLiteral", HUB_PRESENCE_TOPIC),  # read only: which broker the hub is on
    ]


def hub_acls() -> list[Acl]:
    """What the hub may do on the broker."""
    return [
        Acl("subscribePattern", "acorn/v1/stores/+/nodes/+/events"),
        Acl("subscribePattern", "acorn/v1/stores/+/nodes/+/status"),
        # several hub workers share ingest through one shared-subscription group
        # (``hub.sync.mqtt``); Mosquitto checks the ``$share/...`` filter itself
        Acl("subscribePattern", f"$share/{SHARE_GROUP}/acorn/v1/stores/+/nodes/+/events"),
        Acl("subscribePattern", f"$share/{SHARE_GROUP}/acorn/v1/stores/+/nodes/+/status"),
        Acl("publishClientSend", "acorn/v1/stores/+/nodes/+/commands"),
        Acl("publishClientSend", "acorn/v1/stores/+/nodes/+/acks"),
        # only to clear a retained event a node left (see the module rules)
        Acl("publishClientSend", "acorn/v1/stores/+/nodes/+/events"),
        Acl("publishClientSend", "acorn/v1/stores/+/config"),
        Acl("publishClientSend", HUB_PRESENCE_TOPIC),
        # several workers on several brokers: the followers find the leader by its presence
        Acl("subscribeLiteral", HUB_PRESENCE_TOPIC),
    ]
