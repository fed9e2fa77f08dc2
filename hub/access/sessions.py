"""Browser sessions of the desk: a random id in a cookie, only its SHA-256 in the database.

Rules:
- the session id is 32 random bytes (URL-safe text), sent once in the ``acorn_session`` cookie
  (HttpOnly, SameSite=Lax, Path=/, Secure when configured) and stored only as its SHA-256;
- a session ends at ``expires_at`` (``session_hours`` after login), at logout, when the user is
  disabled or changes password; expired rows are purged at each login;
- each session has a CSRF token: a request authenticated by the cookie that changes anything
  must send it in ``X-CSRF-Token`` (the desk reads it from ``GET /api/session``);
- a session of a user who is now disabled opens nothing (checked on every request).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, select

from hub.access.permissions import Principal
from hub.access.users import active_user, principal_of
from hub.errors import AuthError, Forbidden
from hub.storage.engine import writing
from hub.storage.tables.access import sessions

COOKIE = "acorn_session"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class Session:
    """An open session: who, its CSRF token, until when."""

    principal: Principal
    display_name: str
    csrf: str
    expires_at: datetime


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(engine: Engine, username: str, hours: float) -> tuple[str, datetime]:
    """Start a session for ``username``; return its id (for the cookie) and expiry."""
    session_id = secrets.token_urlsafe(32)
    with writing(engine) as tx:
        tx.conn.execute(sessions.delete().where(sessions.c.expires_at < tx.now))
        expires = tx.now + timedelta(hours=hours)
        tx.conn.execute(
            sessions.insert().values(
                id_hash=_hash(session_id),
                username=username,
                csrf=secrets.token_urlsafe(24),
                created_at=tx.now,
                expires_at=expires,
            )
        )
    return session_id, expires


def find_session(conn: Connection, session_id: str, now: datetime) -> Session:
    """The live session behind ``session_id``; AuthError if none, expired or user disabled."""
    row = conn.execute(select(sessions).where(sessions.c.id_hash == _hash(session_id))).first()
    if row is None or row.expires_at <= now:
        raise AuthError("not signed in, or the session has expired: sign in again")
    user = active_user(conn, row.username)
    return Session(principal_of(user), user.display_name, row.csrf, row.expires_at)


def close_session(engine: Engine, session_id: str) -> None:
    """End one session (logout); closing an unknown one is fine."""
    with writing(engine) as tx:
        tx.conn.execute(sessions.delete().where(sessions.c.id_hash == _hash(session_id)))


def check_csrf(session: Session, sent: str | None) -> None:
    """Forbidden unless ``sent`` is the session's CSRF token."""
    if not sent or not hmac.compare_digest(sent, session.csrf):
        raise Forbidden(
            f"a change made with a browser session needs the {CSRF_HEADER} header",
            field=CSRF_HEADER,
        )
