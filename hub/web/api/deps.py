"""Shared dependencies: the hub context, the caller, and rights checks as named types.

A caller is a bearer token (machines) or a desk session cookie (people). A session-authenticated
request that changes anything (any method but GET/HEAD/OPTIONS) must also send the session's
CSRF token in ``X-CSRF-Token``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from hub.access.permissions import Action, Principal, require
from hub.access.sessions import COOKIE, CSRF_HEADER, Session, check_csrf, find_session
from hub.access.tokens import authenticate
from hub.amazon.settings import AmazonSettings
from hub.errors import AuthError
from hub.metrics import HubMetrics
from hub.settings import Settings
from hub.storage.engine import reading
from hub.sync.runtime import HubRuntime
from protocol import utc_now

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class HubContext:
    """What the routes need, built once by ``create_app`` (routes read settings only here)."""

    settings: Settings
    amazon: AmazonSettings
    engine: Engine
    metrics: HubMetrics
    runtime: HubRuntime | None


def hub_context(request: Request) -> HubContext:
    """The app's HubContext."""
    ctx: HubContext = request.app.state.hub
    return ctx


Hub = Annotated[HubContext, Depends(hub_context)]

_bearer = HTTPBearer(auto_error=False, description="a token from `acorn-hub token create`")


def current_session(hub: Hub, request: Request) -> Session | None:
    """The desk session behind the request's cookie, if it has one (401 if it is stale)."""
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        return None
    with reading(hub.engine) as conn:
        return find_session(conn, session_id, utc_now())


def current_principal(hub: Hub, request: Request,
                      creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
                      ) -> Principal:
    """The caller behind the bearer token or the session cookie (401 if neither works)."""
    if creds is not None and creds.credentials:
        with reading(hub.engine) as conn:
            return authenticate(conn, creds.credentials)
    if request.headers.get("authorization"):
        raise AuthError("send Authorization: Bearer <token>")
    session = current_session(hub, request)
    if session is None:
        raise AuthError("missing bearer token: send Authorization: Bearer <token>, or sign in")
    if request.method not in SAFE_METHODS:
        check_csrf(session, request.headers.get(CSRF_HEADER))
    return session.principal


Caller = Annotated[Principal, Depends(current_principal)]


def requires(action: Action) -> Callable[[Principal], Principal]:
    """A dependency that lets through only principals whose role grants ``action``."""
    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        require(principal, action)
        return principal
    return check


Viewer = Annotated[Principal, Depends(requires(Action.VIEW))]
Approver = Annotated[Principal, Depends(requires(Action.APPROVE))]
Requester = Annotated[Principal, Depends(requires(Action.REQUEST))]
PolicyEditor = Annotated[Principal, Depends(requires(Action.EDIT_POLICY))]
UserManager = Annotated[Principal, Depends(requires(Action.MANAGE_USERS))]
StoreManager = Annotated[Principal, Depends(requires(Action.MANAGE_STORES))]
AuditReader = Annotated[Principal, Depends(requires(Action.READ_AUDIT))]
