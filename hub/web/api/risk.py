"""Risk flags over HTTP (finance and admin): list, flag an order or a customer, clear a flag.

A refund whose order or customer has an active flag is high-risk for the policy (manual review).
Flags raised by Amazon claims (source ``amazon``) show here too and are cleared the same way.
Every change is audited (``risk.flagged``, ``risk.cleared``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import StringConstraints

from hub.access.permissions import Principal
from hub.access.users import Actor
from hub.risk import flags as risk_flags
from hub.storage.engine import reading
from hub.web.api.deps import Hub, current_principal
from hub.web.api.desk_models import In
from hub.web.api.idempotency import IDEMPOTENT
from hub.web.api.models import ErrorOut, Out, Page
from hub.web.api.ops import Limit, Offset, RowId
from protocol.timeutil import UtcDatetime

router = APIRouter(prefix="/api/risk-flags", tags=["risk"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 409, 422)
}
Kind = Literal["order", "customer"]
Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Why = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                       max_length=risk_flags.REASON_MAX)]


def risk_officer(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """Let through finance and admin only."""
    risk_flags.require_risk_officer(principal)
    return principal


RiskOfficer = Annotated[Principal, Depends(risk_officer)]


class FlagIn(In):
    """A new flag: what it is on and why."""

    kind: Kind
    subject: Subject
    reason: Why


class ClearIn(In):
    """Why the flag no longer holds."""

    reason: Why


class RiskFlagOut(Out):
    """A flag and whether it still holds."""

    id: int
    kind: Kind
    subject: str
    reason: str
    source: str
    flagged_by: str
    flagged_at: UtcDatetime
    active: bool
    cleared_at: UtcDatetime | None
    cleared_by: str | None
    clear_reason: str | None


def _actor(who: Principal) -> Actor:
    return Actor(who.actor, who.role.value)


@router.get("", response_model=Page[RiskFlagOut], responses=ERRORS)
def list_flags(
    hub: Hub,
    _who: RiskOfficer,
    state: Annotated[Literal["active", "cleared", "all"],
                     Query(description="active (not cleared), cleared, or all")] = "active",
    kind: Kind | None = None,
    subject: Subject | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[RiskFlagOut]:
    """Risk flags, newest first (active ones unless ``state`` says otherwise)."""
    active = {"active": True, "cleared": False, "all": None}[state]
    with reading(hub.engine) as conn:
        rows, total = risk_flags.list_flags(conn, active, kind, subject, limit, offset)
    return Page[RiskFlagOut](items=[RiskFlagOut.model_validate(r) for r in rows], total=total,
                             limit=limit, offset=offset)


@router.post("", response_model=RiskFlagOut, status_code=201, responses=ERRORS,
             dependencies=IDEMPOTENT)
def add_flag(hub: Hub, who: RiskOfficer, body: FlagIn) -> RiskFlagOut:
    """Flag an order (its id) or a customer (``buyer:<key>``) as high-risk, saying why."""
    made = risk_flags.flag(hub.engine, body.kind, body.subject, body.reason, _actor(who))
    return RiskFlagOut.model_validate(made)


@router.post("/{flag_id}/clear", response_model=RiskFlagOut, responses=ERRORS,
             dependencies=IDEMPOTENT)
def clear_flag(hub: Hub, who: RiskOfficer, flag_id: RowId, body: ClearIn) -> RiskFlagOut:
    """Clear an active flag, saying why (409 if it was cleared already)."""
    done = risk_flags.clear(hub.engine, flag_id, body.reason, _actor(who))
    return RiskFlagOut.model_validate(done)
