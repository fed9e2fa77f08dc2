"""Request and response shapes of staff sign-in and the store config (no PIN hashes, ever)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from edge_agent.staff.store_config import StaffRole
from protocol import Money
from protocol.returns import Code
from protocol.timeutil import UtcDatetime


class SignInRequest(BaseModel):
    """A staff id and PIN typed at the counter."""

    model_config = ConfigDict(extra="forbid", frozen=True,
                              json_schema_extra={"examples": [{"staff_id": "emp-042",
                                                               "pin": "4711"}]})

    staff_id: Code
    pin: str = Field(pattern=r"^[0-9]{4,8}$", description="4 to 8 digits")


class SessionView(BaseModel):
    """Who is signed in at this browser (``signed_in`` false: nobody)."""

    signed_in: bool
    staff_id: str | None = None
    role: StaffRole | None = None
    expires_at: UtcDatetime | None = None
    signin_required: bool = Field(description="the store's config names staff: sign in to work")


class StaffView(BaseModel):
    """A member of staff who may sign in here."""

    staff_id: str
    role: StaffRole


class ConfigView(BaseModel):
    """The store config in force, as the hub sent it, without PIN hashes."""

    configured: bool = Field(description="false until the hub's first config arrives")
    version: int | None = None
    issued_at: UtcDatetime | None = None
    applied_at: UtcDatetime | None = None
    offline_refund_limit: Money | None = Field(
        default=None, description="a store manager may refund a POS return up to this while the "
        "hub is unreachable; null: no offline refunds")
    policy_version: int | None = None
    staff: list[StaffView] = Field(default_factory=list)
    signin_required: bool
    last_refusal: str | None = Field(default=None,
                                     description="why the last config received was refused")
