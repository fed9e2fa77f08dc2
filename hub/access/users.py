"""Users: who may sign in to the desk, with which role and scope.

Rules:
- a username is 1-64 letters, digits or ``. _ @ -``; it is the audit log's actor and the name the
  self-approval check compares with ``requested_by``;
- store staff and store managers are scoped to one store (``check_scope``);
- passwords are stored as scrypt hashes only; changing a password or disabling a user ends the
  user's sessions; nothing is ever deleted (a user is disabled);
- ``check_login`` takes as long for an unknown user as for a wrong password, and answers the same
  ``AuthError`` for unknown, wrong and disabled;
- the last active admin user cannot be demoted or disabled (``Conflict``, 409): someone must be
  left who can manage users; the check locks every active admin row, so two admins demoting each
  other at once cannot both succeed;
- every change is audited (``user.created``, ``user.updated``, ``user.disabled``,
  ``user.enabled``, ``user.password_changed``) without the hash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from hub.access import passwords
from hub.access.permissions import STORE_ROLES, Principal, Role, Scope
from hub.errors import AuthError, Conflict, InputError, NotFound
from hub.storage.audit_chain import AuditDraft, jsonable
from hub.storage.engine import Tx, reading, writing
from hub.storage.tables.access import sessions, users

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
PUBLIC = (
    "username",
    "display_name",
    "role",
    "region",
    "city",
    "store_id",
    "active",
    "bulk_limit",
    "created_at",
    "updated_at",
)
LOGIN_REFUSED = "wrong username or password, or the account is disabled"


@dataclass(frozen=True)
class Actor:
    """Who makes a change, as the audit log names them."""

    name: str
    role: str


def check_username(username: str) -> str:
    """The username if well formed; InputError naming ``username`` otherwise."""
    if not NAME_RE.match(username):
        raise InputError(
            "a username is 1-64 letters, digits or . _ @ - (starting with a letter or digit)",
            field="username",
        )
    return username


def check_scope(role: Role, scope: Scope) -> Scope:
    """The scope if it suits the role: store roles need exactly their store."""
    if role in STORE_ROLES and scope.store is None:
        raise InputError(f"a {role.value} is scoped to one store: give a store", field="store")
    return scope


def public(row: Any) -> dict[str, Any]:
    """A user row without its password hash."""
    data = dict(row._mapping) if hasattr(row, "_mapping") else dict(row)
    return {k: data.get(k) for k in PUBLIC}


def _audited(row: dict[str, Any]) -> Any:
    return jsonable({k: v for k, v in row.items() if k not in ("created_at", "updated_at")})


def _row(conn: Connection, username: str, lock: bool = False) -> Any:
    stmt = select(users).where(users.c.username == username)
    row = conn.execute(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        raise NotFound(f"no user {username!r}", field="username")
    return row


def keep_an_admin(conn: Connection, before: dict[str, Any], role: str, active: bool) -> None:
    """Raise Conflict if this change would leave no active admin user."""
    if before["role"] != Role.ADMIN.value or not before["active"]:
        return
    if role == Role.ADMIN.value and active:
        return
    admins = select(users.c.username).where(users.c.role == Role.ADMIN.value,
                                            users.c.active.is_(True))
    locked = conn.execute(admins.with_for_update()).scalars().all()
    others = [name for name in locked if name != before["username"]]
    if not others:
        raise Conflict(
            f"{before['username']!r} is the last active admin: make another user admin first, "
            "or nobody could manage users any more",
            field="role" if role != Role.ADMIN.value else "active",
        )


def add_user(
    engine: Engine,
    username: str,
    display_name: str,
    password: str,
    role: Role,
    scope: Scope,
    actor: Actor,
    bulk_limit: Decimal | None = None,
) -> dict[str, Any]:
    """Create an active user; return it (without the hash)."""
    check_username(username)
    check_scope(role, scope)
    if not display_name.strip():
        raise InputError("a display name is required", field="display_name")
    hashed = passwords.hash_password(password)
    with writing(engine) as tx:
        if tx.conn.execute(select(users.c.id).where(users.c.username == username)).first():
            raise Conflict(f"a user named {username!r} exists", field="username")
        values = {
            "username": username,
            "display_name": display_name.strip(),
            "password_hash": hashed,
            "role": role.value,
            "region": scope.region,
            "city": scope.city,
            "store_id": scope.store,
            "active": True,
            "bulk_limit": bulk_limit,
            "created_at": tx.now,
            "updated_at": tx.now,
            "password_changed_at": tx.now,
        }
        tx.conn.execute(users.insert().values(values))
        created = public(values)
        tx.audit(
            AuditDraft(
                actor.name, actor.role, "user.created", "user", username, None, _audited(created)
            )
        )
    return created


def update_user(engine: Engine, username: str, actor: Actor, **changes: Any) -> dict[str, Any]:
    """Change a user's display name, role, scope (region, city, store_id) or bulk limit."""
    allowed = {"display_name", "role", "region", "city", "store_id", "bulk_limit"}
    unknown = set(changes) - allowed
    if unknown:
        raise InputError(f"cannot change {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    with writing(engine) as tx:
        before = public(_row(tx.conn, username, lock=True))
        after = {**before, **changes, "updated_at": tx.now}
        check_scope(Role(after["role"]), Scope(after["region"], after["city"], after["store_id"]))
        keep_an_admin(tx.conn, before, after["role"], bool(before["active"]))
        tx.conn.execute(
            update(users)
            .where(users.c.username == username)
            .values({**changes, "updated_at": tx.now})
        )
        tx.audit(
            AuditDraft(
                actor.name,
                actor.role,
                "user.updated",
                "user",
                username,
                _audited(before),
                _audited(after),
            )
        )
    return after


def set_active(engine: Engine, username: str, active: bool, actor: Actor) -> None:
    """Disable (ending the user's sessions) or enable a user."""
    with writing(engine) as tx:
        before = public(_row(tx.conn, username, lock=True))
        keep_an_admin(tx.conn, before, before["role"], active)
        tx.conn.execute(
            update(users)
            .where(users.c.username == username)
            .values(active=active, updated_at=tx.now)
        )
        if not active:
            end_user_sessions(tx, username)
        tx.audit(
            AuditDraft(
                actor.name,
                actor.role,
                "user.enabled" if active else "user.disabled",
                "user",
                username,
                {"active": before["active"]},
                {"active": active},
            )
        )


def set_password(engine: Engine, username: str, password: str, actor: Actor) -> None:
    """Replace a user's password and end their sessions."""
    hashed = passwords.hash_password(password)
    with writing(engine) as tx:
        _row(tx.conn, username, lock=True)
        tx.conn.execute(
            update(users)
            .where(users.c.username == username)
            .values(password_hash=hashed, password_changed_at=tx.now, updated_at=tx.now)
        )
        end_user_sessions(tx, username)
        tx.audit(
            AuditDraft(
                actor.name,
                actor.role,
                "user.password_changed",
                "user",
                username,
                None,
                {"password_changed": True},
            )
        )


def end_user_sessions(tx: Tx, username: str) -> None:
    """Sign a user out everywhere."""
    tx.conn.execute(sessions.delete().where(sessions.c.username == username))


def list_users(engine: Engine) -> list[dict[str, Any]]:
    """Every user, without password hashes, by username."""
    with reading(engine) as conn:
        return [public(r) for r in conn.execute(select(users).order_by(users.c.username))]


def check_login(conn: Connection, username: str, password: str) -> Any:
    """The active user row for these credentials; the same AuthError for every refusal."""
    row = conn.execute(select(users).where(users.c.username == username)).first()
    stored = row.password_hash if row is not None else passwords.DUMMY_HASH
    matches = passwords.verify(password, stored)  # run scrypt either way: same timing
    if row is None or not matches or not row.active:
        raise AuthError(LOGIN_REFUSED)
    return row


def principal_of(row: Any, name: str | None = None) -> Principal:
    """The principal a user row acts as (``name``: the token's name, when it is a token)."""
    return Principal(
        name or row.username,
        Role(row.role),
        Scope(row.region, row.city, row.store_id),
        user=row.username,
        bulk_limit=row.bulk_limit,
    )


def active_user(conn: Connection, username: str) -> Any:
    """The user row if it exists and is active; AuthError otherwise."""
    row = conn.execute(select(users).where(users.c.username == username)).first()
    if row is None or not row.active:
        raise AuthError(f"user {username!r} is disabled or unknown")
    return row
