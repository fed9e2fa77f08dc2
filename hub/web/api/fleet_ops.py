"""Fleet operations over HTTP: the dead-letter replay tool, replacing a store machine,
decommissioning a store (rules: ``hub.sync.ingest.replay``, ``hub.fleet.retire``).

- ``GET /api/fleet/dead-letters`` and ``GET .../{id}``, ``POST .../{id}/replay`` and
  ``.../{id}/discard`` (a reason): admin only (``administer``); 409 when the dead letter was
  already resolved (a second replay), is not a replayable event, or the projections refuse it.
- ``POST /api/fleet/nodes/{store}/{node}/replace`` (``manage_devices``, the store in scope): the old
  node revoked, the new node's code, and the old node's unsent events as the hub knows them.
- ``POST /api/fleet/stores/{store}/decommission`` (``manage_stores``: admin, the store in scope).

503 when the broker cannot be administered (the hub-side change is made; run it again).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from hub.access.permissions import Action, Principal
from hub.fleet import enrolment, lifecycle, retire
from hub.sync.ingest import operator, replay
from hub.web.api.deps import Hub, requires
from hub.web.api.fleet import ERRORS, CodeOut, unprovisioner

router = APIRouter(prefix="/api/fleet", tags=["fleet"])
Admin = Annotated[Principal, Depends(requires(Action.ADMINISTER))]
DeviceManager = Annotated[Principal, Depends(requires(Action.MANAGE_DEVICES))]
StoreManager = Annotated[Principal, Depends(requires(Action.MANAGE_STORES))]
DeadLetterId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the dead letter's id")]
Ident = Annotated[str, Path(min_length=1, max_length=40)]


class ReplayedOut(BaseModel):
    """A dead letter applied once, under the node's replay sequence."""

    dead_letter_id: int
    store_id: str
    node_id: str
    replay_seq: int
    original_seq: int
    message_id: str
    kind: str


class DeadLetterRow(BaseModel):
    """One dead letter as the replay tool lists it."""

    id: int
    received_at: datetime
    topic: str
    sender: str | None
    reason: str
    payload_size: int | None
    skipped_seq: int | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None
    replayable: bool
    kind: str | None
    replayed: ReplayedOut | None


class DeadLetterWhole(DeadLetterRow):
    """One dead letter with its payload (as text, at most 64 KiB)."""

    payload: str


class ReasonIn(BaseModel):
    """Why."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=lifecycle.MAX_REASON)


class ReplaceIn(ReasonIn):
    """Why the machine is replaced, and how long the new node's code lives."""

    minutes: int | None = Field(None, ge=1, le=enrolment.MAX_CODE_MINUTES)


class BacklogOut(BaseModel):
    """The old node's events as the hub knows them."""

    hub_seq: int = Field(description="the hub holds the old node's events up to this seq")
    reported_at: datetime | None = Field(description="the old node's last status")
    last_acked_seq: int | None
    outbox_pending: int | None
    unsent: int | None = Field(description="events the old node wrote that the hub does not hold:"
                               " lost unless recovered from its data folder (None: unknown)")


class ReplacedOut(BaseModel):
    """The old node revoked; the code for the new one."""

    store_id: str
    old_node_id: str
    revoked_at: datetime
    backlog: BacklogOut
    code: CodeOut


class DecommissionedOut(BaseModel):
    """A decommissioned store; ``already`` if it was before."""

    store_id: str
    decommissioned_at: datetime
    nodes: list[str]
    already: bool


def _row(row: dict[str, Any]) -> dict[str, Any]:
    done = row.get("replayed")
    return {**row, "replayed": ReplayedOut.model_validate(done) if done else None}


@router.get("/dead-letters", response_model=list[DeadLetterRow], responses=ERRORS)
def dead_letters(hub: Hub, who: Admin,
                 all_: Annotated[bool, Query(alias="all", description="resolved ones too")]
                 = False,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[DeadLetterRow]:
    """Dead letters newest first, with whether each can be replayed (admin only)."""
    rows = replay.list_with_replay(hub.engine, all_, limit)
    return [DeadLetterRow.model_validate(_row(r)) for r in rows]


@router.get("/dead-letters/{dead_letter_id}", response_model=DeadLetterWhole, responses=ERRORS)
def dead_letter(hub: Hub, who: Admin, dead_letter_id: DeadLetterId) -> DeadLetterWhole:
    """One dead letter whole, its payload as text (admin only)."""
    row = operator.show_dead_letter(hub.engine, dead_letter_id)
    event = replay.replayable(row)
    done = replay.replayed_of(hub.engine, dead_letter_id)
    return DeadLetterWhole.model_validate({
        **row, "payload": bytes(row["payload"]).decode("utf-8", errors="replace"),
        "replayable": not isinstance(event, str) and row["resolved_at"] is None,
        "kind": None if isinstance(event, str) else event.envelope.kind,
        "replayed": ReplayedOut.model_validate(done) if done else None})


@router.post("/dead-letters/{dead_letter_id}/replay", response_model=ReplayedOut,
             responses=ERRORS)
def replay_one(hub: Hub, who: Admin, dead_letter_id: DeadLetterId) -> ReplayedOut:
    """Apply a dead-lettered event once under the node's next replay seq (admin only)."""
    done = replay.replay(hub.engine, who, dead_letter_id)
    return ReplayedOut.model_validate(done, from_attributes=True)


@router.post("/dead-letters/{dead_letter_id}/discard", responses=ERRORS)
def discard_one(hub: Hub, who: Admin, dead_letter_id: DeadLetterId,
                body: ReasonIn) -> dict[str, Any]:
    """Resolve a dead letter without applying it; the reason is kept (admin only)."""
    row = replay.discard(hub.engine, who, dead_letter_id, body.reason)
    return {"id": row["id"], "resolved_at": row["resolved_at"], "resolution": row["resolution"]}


@router.post("/nodes/{store_id}/{node_id}/replace", response_model=ReplacedOut, status_code=201,
             responses=ERRORS)
def replace(hub: Hub, who: DeviceManager, store_id: Ident, node_id: Ident,
            body: ReplaceIn) -> ReplacedOut:
    """Revoke the old node and make a code for the new machine; say what it left unsent."""
    done = retire.replace(hub.engine, who, store_id, node_id, body.reason,
                          body.minutes or hub.settings.enrol_code_minutes,
                          unprovisioner(hub.settings))
    b = done.backlog
    return ReplacedOut(
        store_id=store_id, old_node_id=node_id, revoked_at=done.revoked.revoked_at,
        backlog=BacklogOut(hub_seq=b.hub_seq, reported_at=b.reported_at,
                           last_acked_seq=b.last_acked_seq, outbox_pending=b.outbox_pending,
                           unsent=b.unsent),
        code=CodeOut(code=done.code.code, store_id=done.code.store_id,
                     node_id=done.code.node_id, expires_at=done.code.expires_at))


@router.post("/stores/{store_id}/decommission", response_model=DecommissionedOut,
             responses=ERRORS)
def decommission(hub: Hub, who: StoreManager, store_id: Ident,
                 body: ReasonIn) -> DecommissionedOut:
    """Revoke every node of the store and refuse its enrolment from now on; history stays."""
    done = retire.decommission(hub.engine, who, store_id, body.reason,
                               unprovisioner(hub.settings))
    return DecommissionedOut(store_id=done.store_id, decommissioned_at=done.decommissioned_at,
                             nodes=done.nodes, already=done.already)
