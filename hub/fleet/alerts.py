"""Fleet alerts: what is wrong with a node, as a pure function of its facts, the time and the
thresholds (``ACORN_HUB_FLEET_*`` settings).

Rules:
- ``offline``: the node is offline (or was never heard from) and its last sign of life is older
  than ``offline_after`` (a node never heard from at all alerts at once: nothing says it lives);
- ``unsent``: the oldest event still in the node's outbox (as its last status said) happened
  longer than ``unsent_after`` ago; the age keeps growing at the hub while the node is silent;
- ``certificate``: the node's certificate expires within ``cert_within`` (or has expired), and
  it is not revoked (a revoked node is ``revoked``, not nagged about renewal);
- ``clock``: the node's last self-test measured its clock more than ``clock_over`` seconds off
  the hub's (either way; the counter refuses returns then);
- ``disk``: the node's last self-test found less than ``disk_under`` bytes free in its data folder;
- ``pos``: the node has a POS terminal address set and its last self-test did not reach the
  terminal (refused, timed out, unreachable, unhealthy); a node with no POS address set, or one
  that never reported it, has no such alert;
- ``revoked`` is reported as a fact, not an alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Alert = Literal["offline", "unsent", "certificate", "clock", "disk", "pos"]
ALERTS: tuple[Alert, ...] = ("offline", "unsent", "certificate", "clock", "disk", "pos")
POS_REACHABLE = "reachable"


@dataclass(frozen=True)
class Thresholds:
    """When each alert fires."""

    offline_after: timedelta
    unsent_after: timedelta
    cert_within: timedelta
    clock_over: float = 120.0
    disk_under: int = 1_000_000_000


@dataclass(frozen=True)
class NodeFacts:
    """What the hub knows of one node, as the alerts need it."""

    online: bool
    last_seen_at: datetime | None
    oldest_unsent_at: datetime | None
    cert_not_after: datetime | None
    revoked: bool
    clock_offset: float | None = None
    disk_free: int | None = None
    pos_terminal: str | None = None


def age(since: datetime | None, now: datetime) -> float | None:
    """Seconds from ``since`` to ``now`` (never negative; None when ``since`` is None)."""
    if since is None:
        return None
    return max(0.0, (now - since).total_seconds())


def alerts_of(node: NodeFacts, now: datetime, limits: Thresholds) -> list[Alert]:
    """The node's alerts, in ``ALERTS`` order."""
    found: list[Alert] = []
    if node.revoked:
        return found
    if not node.online and (node.last_seen_at is None
                            or now - node.last_seen_at > limits.offline_after):
        found.append("offline")
    if node.oldest_unsent_at is not None and now - node.oldest_unsent_at > limits.unsent_after:
        found.append("unsent")
    if node.cert_not_after is not None and node.cert_not_after - now <= limits.cert_within:
        found.append("certificate")
    if node.clock_offset is not None and abs(node.clock_offset) > limits.clock_over:
        found.append("clock")
    if node.disk_free is not None and node.disk_free < limits.disk_under:
        found.append("disk")
    if node.pos_terminal is not None and node.pos_terminal != POS_REACHABLE:
        found.append("pos")
    return found
