"""Where a refund was asked for, and so who is told about it.

Rules:
- every refund records its origin (the ``refunds.origin`` column), set once when it is asked for:
  ``store`` (a store's node asked, for a sale of any other channel), ``pos`` (a store's node
  asked for a POS sale: from the till through the node's POS API or at the counter with the sale
  receipt; the wire does not tell the two apart) and ``hub`` (a person asked through the hub's
  API, ``hub.refunds.requests``);
- a command about a refund (``refund.decided``, ``refund.status``) goes to the node that asked
  for it, and only for the origins a node holds (``store``, ``pos``): no node holds a refund
  asked at the hub, so it would only refuse it. The refund's id says nothing about this.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from hub.storage.outbox import CommandDraft
from protocol import Body, Channel, new_message_id


class Origin(StrEnum):
    """Who asked for a refund."""

    STORE = "store"
    POS = "pos"
    HUB = "hub"


NODE_ORIGINS = frozenset({Origin.STORE, Origin.POS})


def asked_by_node(channel: Channel) -> Origin:
    """The origin of a refund a store's node asked for, by the sale's channel."""
    return Origin.POS if channel is Channel.POS else Origin.STORE


def to_asker(row: Mapping[str, Any], body: Body) -> list[CommandDraft]:
    """A command about a refund to the node that asked for it; none when no node did."""
    if Origin(row["origin"]) not in NODE_ORIGINS:
        return []
    return [CommandDraft(row["store_id"], row["node_id"], new_message_id(), body)]
