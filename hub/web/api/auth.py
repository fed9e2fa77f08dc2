"""Desk sign-in: ``POST /api/session`` (JSON), ``GET`` (who am I + CSRF token), ``DELETE``.

The browser keeps the session id only in an HttpOnly cookie; scripts get the CSRF token from
``GET /api/session``. A wrong password, an unknown user and a disabled user all answer the same
401. Sign-ins are throttled (``hub.access.throttle``): a locked username or client address
answers 429 with ``Retry-After`` (seconds) and says when to try again. The HTML form routes
(``/login``, ``/logout``) in ``hub.web.desk.pages`` use the same functions.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from hub.access import sessions, signin
from hub.access.signin import Attempt, Throttled
from hub.errors import AuthError
from hub.settings import Settings
from hub.storage.engine import reading
from hub.web.api.deps import Hub
from hub.web.api.desk_models import LoginIn, SessionOut
from hub.web.api.errors import error_body
from hub.web.api.models import ErrorOut
from protocol import utc_now

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/session", tags=["session"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 422, 429)
}


def set_cookie(response: Response, settings: Settings, session_id: str, expires: datetime) -> None:
    """Put the session id in its cookie: HttpOnly, SameSite=Lax, Path=/, Secure if configured."""
    response.set_cookie(
        sessions.COOKIE,
        session_id,
        expires=expires,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.session_cookie_secure,
    )


def clear_cookie(response: Response, settings: Settings) -> None:
    """Tell the browser to forget the session cookie."""
    response.delete_cookie(
        sessions.COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.session_cookie_secure,
    )


def client_of(request: Request) -> str | None:
    """The address a request came from, as the server saw it (the throttle counts by it)."""
    return request.client.host if request.client else None


def sign_in(hub: Hub, username: str, password: str, client: str | None) -> tuple[str, datetime]:
    """Check the credentials and open a session; AuthError (401) if they do not work,
    ``Throttled`` (429) when the username or the client has failed too often."""
    limits = signin.limits_of(hub.settings)
    signin.sign_in(hub.engine, limits, Attempt(username, client), password, hub.metrics)
    log.info("desk sign-in: %s", username)
    return sessions.open_session(hub.engine, username, hub.settings.session_hours)


def throttled(err: Throttled) -> JSONResponse:
    """The 429 answer: the usual error shape, and ``Retry-After`` in seconds."""
    return JSONResponse({"detail": [error_body(err.field, err.message)]}, status_code=429,
                        headers={"Retry-After": str(err.retry_after)})


def _out(session: sessions.Session) -> SessionOut:
    who = session.principal
    return SessionOut(
        username=who.user or who.name,
        display_name=session.display_name,
        role=who.role,
        region=who.scope.region,
        city=who.scope.city,
        store_id=who.scope.store,
        csrf=session.csrf,
        expires_at=session.expires_at,
    )


def _current(hub: Hub, request: Request) -> sessions.Session:
    session_id = request.cookies.get(sessions.COOKIE)
    if not session_id:
        raise AuthError("not signed in")
    with reading(hub.engine) as conn:
        return sessions.find_session(conn, session_id, utc_now())


@router.post("", response_model=SessionOut, responses=ERRORS)
def login(
    hub: Hub, body: LoginIn, request: Request, response: Response
) -> SessionOut | JSONResponse:
    """Sign in; the session id comes back in the ``acorn_session`` cookie only.

    429 with ``Retry-After`` after too many failed sign-ins for the username or from the client.
    """
    try:
        session_id, expires = sign_in(hub, body.username, body.password, client_of(request))
    except Throttled as err:
        return throttled(err)
    set_cookie(response, hub.settings, session_id, expires)
    with reading(hub.engine) as conn:
        return _out(sessions.find_session(conn, session_id, utc_now()))


@router.get("", response_model=SessionOut, responses=ERRORS)
def whoami(hub: Hub, request: Request) -> SessionOut:
    """The signed-in user, role, scope and the CSRF token for changes."""
    return _out(_current(hub, request))


@router.delete("", status_code=204, responses=ERRORS)
def logout(hub: Hub, request: Request, response: Response) -> None:
    """Sign out: the session ends on the server and the cookie is cleared."""
    session_id = request.cookies.get(sessions.COOKIE)
    if session_id:
        sessions.close_session(hub.engine, session_id)
    clear_cookie(response, hub.settings)
