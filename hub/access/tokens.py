"""API bearer tokens: made once, shown once, stored only as a SHA-256 hash.

A token is ``acorn_`` + 32 random bytes (URL-safe). Its name is the caller's identity in the
audit log and in the self-approval check; its role and scope (region, city, store) decide what it
may do (``hub.access.permissions``). A token may carry a user: it then also counts as that user for
the
self-approval check, uses the user's bulk limit, and stops working when the user is disabled.
"""

from __future__ import annotations

import getpass
import hashlib
import re
import secrets

from sqlalchemy import Connection, Engine, select, update

from hub.access.permissions import Principal, Role, Scope
from hub.access.users import active_user, check_scope
from hub.errors import AuthError, Conflict, InputError, NotFound
from hub.storage.audit_chain import AuditDraft, jsonable
from hub.storage.engine import reading, writing
from hub.storage.tables.core import api_tokens

PREFIX = "acorn_"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def new_token() -> str:
    """A fresh random token."""
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The SHA-256 hex digest stored instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def cli_actor() -> str:
    """Audit actor for changes made from the command line."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def parse_role(text: str) -> Role:
    """The role named ``text``, or InputError listing the valid ones."""
    try:
        return Role(text)
    except ValueError:
        raise InputError(f"unknown role {text!r}; use one of: "
                         + ", ".join(r.value for r in Role), field="role") from None


def create_token(engine: Engine, name: str, role: Role, actor: str | None = None, *,
                 scope: Scope | None = None, username: str | None = None) -> str:
    """Store a new token for ``name`` and return it (the only time it is visible)."""
    scope = check_scope(role, scope or Scope())
    if not NAME_RE.match(name):
        raise InputError("token name must be 1-64 letters, digits or . _ @ - (starting with a "
                         "letter or digit)", field="name")
    token = new_token()
    with writing(engine) as tx:
        if tx.conn.execute(select(api_tokens.c.id).where(api_tokens.c.name == name)).first():
            raise Conflict(f"a token named {name!r} exists; revoke it first", field="name")
        if username is not None:
            active_user(tx.conn, username)
        carried = {"username": username, "region": scope.region, "city": scope.city,
                   "store_id": scope.store}
        tx.conn.execute(api_tokens.insert().values(name=name, role=role.value,
                                                   token_hash=token_hash(token),
                                                   created_at=tx.now, **carried))
        tx.audit(AuditDraft(actor or cli_actor(), "operator", "token.created", "api_token", name,
                            None, jsonable({"name": name, "role": role.value, **carried})))
    return token


def revoke_token(engine: Engine, name: str, actor: str | None = None) -> None:
    """Revoke the token called ``name`` (kept for the record, refused from now on)."""
    with writing(engine) as tx:
        done = tx.conn.execute(update(api_tokens).where(
            api_tokens.c.name == name, api_tokens.c.revoked_at.is_(None)).values(
            revoked_at=tx.now))
        if done.rowcount == 0:
            raise NotFound(f"no active token named {name!r}", field="name")
        tx.audit(AuditDraft(actor or cli_actor(), "operator", "token.revoked", "api_token", name,
                            jsonable({"revoked": False}), jsonable({"revoked": True})))


def authenticate(conn: Connection, token: str) -> Principal:
    """The principal behind ``token``; AuthError if unknown or revoked."""
    row = conn.execute(select(api_tokens).where(
        api_tokens.c.token_hash == token_hash(token), api_tokens.c.revoked_at.is_(None))).first()
    if row is None:
        raise AuthError("unknown or revoked token")
    limit = active_user(conn, row.username).bulk_limit if row.username else None
    return Principal(row.name, Role(row.role), Scope(row.region, row.city, row.store_id),
                     user=row.username, bulk_limit=limit)


def list_tokens(engine: Engine) -> list[dict[str, object]]:
    """Every token's name, role and dates (never the hash)."""
    with reading(engine) as conn:
        rows = conn.execute(select(api_tokens.c.name, api_tokens.c.role, api_tokens.c.username,
                                   api_tokens.c.region, api_tokens.c.city,
                                   api_tokens.c.store_id, api_tokens.c.created_at,
                                   api_tokens.c.revoked_at)
                            .order_by(api_tokens.c.name))
        return [dict(r._mapping) for r in rows]
