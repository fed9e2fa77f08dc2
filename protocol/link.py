"""Link-level message bodies: acknowledgements and node status.

ack          hub -> node: the highest contiguous seq the hub has durably stored for the node
node.status  node -> all (retained, with a last will): online/offline, versions, queue depth,
             the oldest unsent event's time, the store config in force, printer and scanner state
             (these last four are optional: a hub reading an older node's status sees None), and
             the last self-test: clock offset to the hub, free disk, when, passed, failing checks
             (optional too, for the same reason)
hub.presence hub -> every node (retained on ``HUB_PRESENCE_TOPIC``, with a last will, refreshed
             every ``interval_seconds``): whether the hub is on this broker; with several brokers
             a node follows the hub to the broker where it is (``docs/operations/broker-ha.md``)
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from protocol.limits import MAX_CODE_CHARS, MAX_TEXT_CHARS
from protocol.returns import Body
from protocol.timeutil import UtcDatetime


class Ack(Body):
    """Everything up to and including ``up_to_seq`` is stored at the hub; the node may drop it."""

    kind: Literal["ack"] = "ack"
    up_to_seq: int = Field(ge=0)
    gap_after: int | None = Field(
        default=None, description="set when the hub holds a later seq but is missing the next one"
    )


class NodeStatus(Body):
    """Retained presence of a node; the broker publishes the offline form as its last will."""

    kind: Literal["node.status"] = "node.status"
    state: Literal["online", "offline"]
    version: str = Field(default="", max_length=MAX_TEXT_CHARS)
    protocol_version: str = Field(default="v1", max_length=MAX_CODE_CHARS)
    outbox_pending: int = Field(default=0, ge=0)
    last_acked_seq: int = Field(default=0, ge=0)
    since: UtcDatetime | None = None
    # for the fleet page; optional, so older nodes and older hubs keep understanding each other
    oldest_unsent_at: UtcDatetime | None = Field(
        default=None, description="when the oldest event still in the outbox happened "
        "(None: the outbox is empty)")
    config_version: int | None = Field(default=None, ge=0,
                                       description="the store config version in force")
    allocation_version: int | None = Field(default=None, ge=0, description=(
        "the allocation rules version in force (None: the store config carries none)"))
    allocation_since: UtcDatetime | None = Field(default=None, description=(
        "when the node began applying that allocation rules version"))
    printer: str | None = Field(default=None, max_length=MAX_CODE_CHARS, description=(
        "the receipt printer: ok, paper_low, paper_out, offline, unknown, error; none: no printer"))
    scanner: str | None = Field(default=None, max_length=MAX_CODE_CHARS, description=(
        "the scanner: starting, connected, disconnected, error, stopped; none: no scanner"))
    clock_offset_seconds: float | None = Field(default=None, ge=-1e9, le=1e9, description=(
        "the node's clock minus the hub's, as the last self-test measured it"))
    disk_free_bytes: int | None = Field(default=None, ge=0, description=(
        "free space of the node's data folder at the last self-test"))
    selftest_at: UtcDatetime | None = Field(default=None, description="when the last self-test ran")
    selftest_passed: bool | None = Field(default=None, description="whether every check passed")
    selftest_failing: list[Annotated[str, StringConstraints(max_length=MAX_CODE_CHARS)]] | None = (
        Field(default=None, max_length=16, description="the names of the checks that failed"))
    pos_terminal: str | None = Field(default=None, max_length=MAX_CODE_CHARS, description=(
        "the POS terminal as the last self-test probed it: reachable, refused, timed_out, "
        "unreachable, unhealthy; none: no POS address is set"))


HUB_PRESENCE_ID = "hub"  # store_id and node_id of a presence envelope (the hub is no node)


class HubPresence(Body):
    """The hub is (or is no longer) connected to the broker this message came through."""

    kind: Literal["hub.presence"] = "hub.presence"
    state: Literal["online", "offline"]
    hub: str = Field(default="", max_length=MAX_CODE_CHARS,
                     description="the hub's MQTT client id, for operators")
    since: UtcDatetime | None = None
    interval_seconds: float = Field(default=0.0, ge=0, le=86_400, description=(
        "the hub refreshes an online presence this often (0: it does not)"))
