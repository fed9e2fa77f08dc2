"""``acorn-hub users …``, ``stores …``, ``policy …`` and ``audit export``.

Passwords and PINs are read from a prompt (never echoed) or the first line of a file
(``--password-file``, ``--pin-file``); they never appear on the command line or in the output.
The operator running the CLI is the audit actor (``cli:<login>``, role ``operator``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import Engine

from hub.access import pins, signin, users
from hub.access.permissions import Role, Scope
from hub.access.tokens import cli_actor, parse_role
from hub.access.users import Actor
from hub.audit.export import day_start, entries, to_csv, to_jsonl
from hub.cli.db import database
from hub.errors import AuthError, InputError, NotFound
from hub.fleet import stores
from hub.policy import store as policy_store
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import reading, writing

users_app = typer.Typer(help="People who sign in to the approvals desk.", no_args_is_help=True)
stores_app = typer.Typer(
    help="Store region, city, offline limit and staff PINs.", no_args_is_help=True
)
policy_app = typer.Typer(help="The versioned refund policy.", no_args_is_help=True)


def operator() -> Actor:
    """The audit actor of a CLI change."""
    return Actor(cli_actor(), "operator")


def read_secret(path: Path | None, prompt: str, confirm: bool = True) -> str:
    """A secret from the first line of ``path``, or from a hidden prompt."""
    if path is not None:
        try:
            lines = path.read_text("utf-8").splitlines()
        except OSError as err:
            raise InputError(f"cannot read {path}: {err.strerror}", field="file") from err
        return lines[0] if lines else ""
    return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm))


def _decimal(text: str | None, field: str) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise InputError(f"{text!r} is not a decimal amount", field=field) from None


PasswordFile = Annotated[
    Path | None,
    typer.Option(help="read the password from this file's first line instead of a prompt"),
]


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="login name (the audit log's actor)")],
    role: Annotated[str, typer.Option(help=", ".join(r.value for r in Role))],
    name: Annotated[str, typer.Option(help="display name")],
    region: Annotated[str | None, typer.Option(help="scope: only this region")] = None,
    city: Annotated[str | None, typer.Option(help="scope: only this city")] = None,
    store: Annotated[str | None, typer.Option(help="scope: only this store")] = None,
    bulk_limit: Annotated[
        str | None, typer.Option(help="largest bulk approval (base currency)")
    ] = None,
    password_file: PasswordFile = None,
) -> None:
    """Create a user (the password is prompted for, never echoed)."""
    with database() as engine:  # a missing database is said before the prompt
        password = read_secret(password_file, "password")
        users.add_user(
            engine,
            username,
            name,
            password,
            parse_role(role),
            Scope(region, city, store),
            operator(),
            _decimal(bulk_limit, "bulk_limit"),
        )
    typer.echo(f"user {username} ({role}) created")


@users_app.command("list")
def users_list() -> None:
    """List users: name, role, scope, active."""
    with database() as engine:
        rows = users.list_users(engine)
    for row in rows:
        scope = Scope(row["region"], row["city"], row["store_id"]).describe()
        state = "active" if row["active"] else "disabled"
        typer.echo(f"{row['username']}\t{row['role']}\t{scope}\t{state}\t{row['display_name']}")


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable a user and end their sessions (nothing is deleted)."""
    with database() as engine:
        users.set_active(engine, username, False, operator())
    typer.echo(f"user {username} disabled")


@users_app.command("enable")
def users_enable(username: str) -> None:
    """Enable a disabled user again."""
    with database() as engine:
        users.set_active(engine, username, True, operator())
    typer.echo(f"user {username} enabled")


@users_app.command("passwd")
def users_passwd(username: str, password_file: PasswordFile = None) -> None:
    """Set a user's password (prompted, never echoed) and end their sessions."""
    with database() as engine:
        password = read_secret(password_file, "new password")
        users.set_password(engine, username, password, operator())
    typer.echo(f"password of {username} changed")


@users_app.command("unlock")
def users_unlock(username: str) -> None:
    """Lift a sign-in lockout: clear the username's failed sign-ins (audited)."""
    with database() as engine:
        cleared = signin.unlock(engine, username, operator())
    typer.echo(f"user {username} unlocked" if cleared else f"user {username} was not locked")


@stores_app.command("set")
def stores_set(
    store: Annotated[str, typer.Argument(help="store id")],
    region: Annotated[str | None, typer.Option(help="region (for scopes)")] = None,
    city: Annotated[str | None, typer.Option(help="city (for scopes)")] = None,
    name: Annotated[str | None, typer.Option(help="display name")] = None,
    offline_limit: Annotated[
        str | None, typer.Option(help="offline refund limit, e.g. 100.00")
    ] = None,
    currency: Annotated[str | None, typer.Option(
        help="the store's ISO 4217 currency (the counter's, and the offline limit's)")] = None,
    no_offline_limit: Annotated[bool, typer.Option(
        "--no-offline-limit", help="remove the offline limit")] = False,
    time_zone: Annotated[str | None, typer.Option(help="IANA time zone, e.g. Europe/Berlin "
                                                       "(told to nodes at enrolment)")] = None,
    language: Annotated[str | None, typer.Option(help="receipts' language: en, de, zh, ja")]
    = None,
    printer_paper: Annotated[str | None, typer.Option(help="receipt paper: 58mm or 80mm")]
    = None,
) -> None:
    """Describe a store: region, city, name, offline refund limit, and the settings its nodes
    receive at enrolment (given options only)."""
    given: dict[str, Any] = {
        k: v for k, v in (("region", region), ("city", city), ("name", name)) if v is not None
    }
    node_settings = {k: v for k, v in (("currency", currency), ("time_zone", time_zone),
                                        ("language", language),
                                        ("printer_paper", printer_paper)) if v is not None}
    if node_settings:
        given["node_settings"] = node_settings
    if offline_limit is not None or no_offline_limit:
        given["limit"] = None if no_offline_limit else _decimal(offline_limit, "offline_limit")
        given["currency"] = currency
    with database() as engine:
        done = stores.set_store(engine, store, operator(), **given)
    limit = (
        f"{done['offline_limit']} {done['offline_currency']}"
        if done["offline_limit"] is not None
        else "none"
    )
    typer.echo(
        f"store {store}: region {done['region'] or '-'}, city {done['city'] or '-'}, "
        f"offline limit {limit}"
    )


@stores_app.command("pin")
def stores_pin(
    store: str,
    staff: str,
    role: Annotated[str, typer.Option(help="store_staff or store_manager")] = "store_staff",
    pin_file: Annotated[Path | None, typer.Option(help="read the PIN from a file")] = None,
) -> None:
    """Set a staff member's PIN at a store (synced to its nodes as a hash)."""
    with database() as engine:
        pin = read_secret(pin_file, "PIN")
        pins.set_pin(engine, store, staff, pin, parse_role(role), operator())
    typer.echo(f"PIN of {staff} at {store} set")


@stores_app.command("unpin")
def stores_unpin(store: str, staff: str) -> None:
    """Remove a staff member's PIN."""
    with database() as engine:
        pins.remove_pin(engine, store, staff, operator())
    typer.echo(f"PIN of {staff} at {store} removed")


@policy_app.command("show")
def policy_show(
    version: Annotated[int | None, typer.Option(help="default: active")] = None,
) -> None:
    """Print the active (or one stored) policy's YAML."""
    with database() as engine:
        active = policy_store.ensure_seeded(engine)
        with reading(engine) as conn:
            text = policy_store.version_text(conn, version) if version else active.yaml
    if text is None:
        raise NotFound(f"no policy version {version}", field="version")
    typer.echo(text, nl=False)


@policy_app.command("versions")
def policy_versions() -> None:
    """List published versions, newest first."""
    with database() as engine:
        policy_store.ensure_seeded(engine)
        with reading(engine) as conn:
            rows = policy_store.versions(conn)
    for row in rows:
        typer.echo(
            f"{row['version']}\t{row['published_at']:%Y-%m-%d %H:%M}Z\t"
            f"{row['published_by']}\t{row['name']}"
        )


@policy_app.command("publish")
def policy_publish(path: Path, reason: Annotated[str | None, typer.Option()] = None) -> None:
    """Validate a YAML document and publish it as the new active version."""
    text = path.read_text("utf-8")
    with database() as engine:
        published = policy_store.publish(engine, text, cli_actor(), "operator", reason)
    typer.echo(f"policy version {published.version} published")


def audit_export(
    start: Annotated[str, typer.Option("--from", help="first day (UTC), YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--to", help="last day (UTC), inclusive")],
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl")] = "csv",
    output: Annotated[Path | None, typer.Option(help="write here instead of stdout")] = None,
    unmask: Annotated[bool, typer.Option(
        "--unmask", help="personal data in clear (admin only)")] = False,
    user: Annotated[str | None, typer.Option(help="the admin user asking to unmask")] = None,
    password_file: PasswordFile = None,
) -> None:
    """Export audit entries of a date range; personal data masked unless an admin unmasks."""
    if fmt not in ("csv", "jsonl"):
        raise InputError("--format is csv or jsonl", field="format")
    first, last = _day(start, "from"), _day(end, "to")
    begin, finish = day_start(first), day_start(last + timedelta(days=1))
    with database() as engine:
        if unmask:
            _check_admin(engine, user, password_file)
        with reading(engine) as conn:
            rows = entries(conn, begin, finish, unmask)
            lines = to_csv(rows) if fmt == "csv" else to_jsonl(rows)
            _write(lines, output)
        if unmask:
            _note_unmasked(engine, user or "", begin.isoformat(), finish.isoformat())


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{text!r} is not a date (YYYY-MM-DD)", field=field) from None


def _check_admin(engine: Engine, user: str | None, password_file: Path | None) -> None:
    if not user:
        raise InputError("--unmask needs --user: an admin who signs for it", field="user")
    password = read_secret(password_file, f"password of {user}", confirm=False)
    with reading(engine) as conn:
        row = users.check_login(conn, user, password)
    if row.role != Role.ADMIN.value:
        raise AuthError(f"{user} is not an admin: personal data stays masked")


def _note_unmasked(engine: Engine, user: str, begin: str, finish: str) -> None:
    with writing(engine) as tx:
        tx.audit(
            AuditDraft(
                user,
                Role.ADMIN.value,
                "audit.exported_unmasked",
                "audit",
                "cli",
                None,
                {"from": begin, "to": finish, "operator": cli_actor()},
            )
        )


def _write(lines: Iterator[str], output: Path | None) -> None:
    if output is None:
        for line in lines:
            sys.stdout.write(line)
        sys.stdout.flush()
        return
    with output.open("w", encoding="utf-8", newline="") as handle:
        for line in lines:
            handle.write(line)
