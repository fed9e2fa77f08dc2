"""Shared dependencies: the hub context, the caller, and rights checks as named types."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from hub.db.engine import reading
from hub.errors import AuthError
from hub.metrics import HubMetrics
from hub.permissions import Action, Principal, require
from hub.runtime import HubRuntime
from hub.settings import Settings
from hub.tokens import authenticate


@dataclass
class HubContext:
    """What the routes need, built once by ``create_app``."""

    settings: Settings
    engine: Engine
    metrics: HubMetrics
    runtime: HubRuntime | None


def hub_context(request: Request) -> HubContext:
    """The app's HubContext."""
    ctx: HubContext = request.app.state.hub
    return ctx


Hub = Annotated[HubContext, Depends(hub_context)]

_bearer = HTTPBearer(auto_error=False, description="a token from `acorn-hub token create`")


def current_principal(hub: Hub, creds: Annotated[HTTPAuthorizationCredentials | None,
                                                 Depends(_bearer)]) -> Principal:
    """The caller behind the bearer token (401 if none or unknown)."""
    if creds is None or not creds.credentials:
        raise AuthError("missing bearer token: send Authorization: Bearer <token>")
    with reading(hub.engine) as conn:
        return authenticate(conn, creds.credentials)


def requires(action: Action) -> Callable[[Principal], Principal]:
    """A dependency that lets through only principals whose role grants ``action``."""
    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        require(principal, action)
        return principal
    return check


Viewer = Annotated[Principal, Depends(requires(Action.VIEW))]
Approver = Annotated[Principal, Depends(requires(Action.APPROVE))]
