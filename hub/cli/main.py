"""``acorn-hub``: run the hub and administer it.

Every command builds its ``ACORN_HUB_*`` settings once and opens the database through
``hub.cli.db`` (which refuses a missing database or one without the current schema; only ``db
upgrade`` and ``serve`` create or migrate it); errors print one line on stderr and exit non-zero
(set ``ACORN_HUB_DEBUG=1`` to see the traceback instead). Command groups are listed in
``GROUPS``; the Amazon integration adds its own ``amazon`` group there.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import os
import secrets
import sys
from collections.abc import Callable
from contextlib import closing
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy import Engine, func, select

from hub import __version__, heap
from hub.access.permissions import Scope
from hub.access.tokens import cli_actor, create_token, list_tokens, parse_role, revoke_token
from hub.amazon.settings import load_amazon_settings
from hub.cli.db import database, migrate
from hub.cli.plain_help import LazyGroups, LazyPlainHelpGroup
from hub.errors import InputError, translate
from hub.fleet import identities
from hub.fleet.acl import node_username, parse_node_username
from hub.fleet.dynsec import BrokerAdmins, broker_admins
from hub.logs import configure_logging
from hub.settings import Settings, load_settings
from hub.storage import audit_log, outbox
from hub.storage.audit_chain import AuditDraft, jsonable, verify
from hub.storage.engine import reading, writing
from hub.storage.tables import core
from protocol import ExpectedReturn, format_utc

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
token_app = typer.Typer(help="API bearer tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
devices_app = typer.Typer(help="Store nodes: enrolment codes, broker identities of nodes and "
                               "of the hub.",
                          no_args_is_help=True)
returns_app = typer.Typer(help="Returns announced to stores.", no_args_is_help=True)


def _module(name: str) -> Callable[[], typer.Typer]:
    """The loader of the command group ``app`` of ``hub.cli.<name>``."""
    def load() -> typer.Typer:
        group: typer.Typer = importlib.import_module(f"hub.cli.{name}").app
        return group
    return load


def _people(name: str) -> Callable[[], typer.Typer]:
    """The loader of one of the groups ``hub.cli.people`` defines (``users_app`` ...)."""
    def load() -> typer.Typer:
        group: typer.Typer = getattr(importlib.import_module("hub.cli.people"), name)
        return group
    return load


def _first(group: typer.Typer, added: int) -> None:
    """List the ``added`` commands just registered first (as where they were registered before
    the group's own, when the groups were built at import)."""
    commands = group.registered_commands
    commands[:] = commands[-added:] + commands[:-added]


@cache
def _audit() -> typer.Typer:
    from hub.cli.people import audit_export

    audit_app.command("export")(audit_export)
    _first(audit_app, 1)
    return audit_app


@cache
def _devices() -> typer.Typer:
    from hub.cli import fleet as fleet_cli

    devices_app.command("enrol")(fleet_cli.devices_enrol)
    devices_app.command("rotate")(fleet_cli.devices_rotate)
    devices_app.command("revoke")(fleet_cli.devices_revoke)
    devices_app.command("replace")(fleet_cli.devices_replace)
    _first(devices_app, 4)
    return devices_app


@cache
def _stores() -> typer.Typer:
    from hub.cli import fleet as fleet_cli
    from hub.cli.people import stores_app

    stores_app.command("decommission")(fleet_cli.stores_decommission)
    return stores_app


# every group is built (its module imported) only when its name is invoked: `acorn-hub serve`
# and `acorn-hub token list` load no Amazon, archive or finance code (listed in this order)
GROUPS: LazyGroups = [
    ("db", lambda: db_app), ("token", lambda: token_app), ("audit", _audit),
    ("devices", _devices), ("returns", lambda: returns_app), ("amazon", _module("amazon")),
    ("users", _people("users_app")), ("stores", _stores), ("policy", _people("policy_app")),
    ("risk", _module("risk")),
    ("dead-letters", _module("dead_letters")),
    ("fx", _module("fx")),
    ("fleet", _module("fleet")),
    ("inventory", _module("inventory")),
    ("stock", _module("stock")),
    ("catalogue", _module("catalogue")),
    ("routing", _module("routing")),
    ("transfers", _module("transfers")),
    ("reasons", _module("reasons")),
    ("settlements", _module("settlements")),
    ("archive", _module("archive")),
    ("finance", _module("finance")),
]


class HubCommands(LazyPlainHelpGroup):
    """The root group: ``GROUPS`` built on demand, every help text in plain words."""

    groups = GROUPS


app = typer.Typer(help="ACORN hub: ingest, refund approvals, audit, fleet.",
                  cls=HubCommands, no_args_is_help=True, pretty_exceptions_enable=False,
                  add_completion=False,
                  # docstrings are Markdown: ``name`` shows as code, wrapped lines join
                  rich_markup_mode="markdown")


@app.command()
def version() -> None:
    """Print the hub's version."""
    typer.echo(__version__)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="override ACORN_HUB_HTTP_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="override ACORN_HUB_HTTP_PORT")] = None,
) -> None:
    """Migrate the database, then run the API, MQTT ingest, command publisher, Amazon scheduler
    and mDNS announcement (as configured) until stopped."""
    overrides = {k: v for k, v in {"http_host": host, "http_port": port}.items() if v is not None}
    settings = load_settings(**overrides)
    amazon = load_amazon_settings()
    configure_logging(settings.log_level, settings.log_json)
    settings.require_mqtt_secret()
    migrate(settings)
    from hub.app import create_app  # the web stack loads only for serve: the CLI starts fast
    from hub.cli.serve import run

    app = create_app(settings, amazon)
    heap.settle()  # after the app is built: what lives now lives as long as the process
    run(app, settings)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Create the schema or apply migrations up to ``revision`` (default: the newest)."""
    at = migrate(load_settings(), revision)
    typer.echo(f"database at revision {at}")


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="who uses it (the audit log's actor)")],
    role: Annotated[str, typer.Option(help="viewer, store_staff, store_manager, "
                                           "regional_manager, finance, admin, technician")],
    user: Annotated[str | None, typer.Option(help="the user it acts for (self-approval, bulk "
                                                  "limit; refused once they are disabled)")]
    = None,
    region: Annotated[str | None, typer.Option(help="scope: only this region")] = None,
    city: Annotated[str | None, typer.Option(help="scope: only this city")] = None,
    store: Annotated[str | None, typer.Option(help="scope: only this store")] = None,
) -> None:
    """Create a token and print it once (only its hash is stored)."""
    parsed = parse_role(role)
    with database() as engine:
        token = create_token(engine, name, parsed, scope=Scope(region, city, store),
                             username=user)
    typer.echo(token)
    typer.echo(f"token for {name} ({role}) created; it is not shown again", err=True)


@token_app.command("revoke")
def token_revoke(name: Annotated[str, typer.Option(help="the token's name")]) -> None:
    """Revoke a token."""
    with database() as engine:
        revoke_token(engine, name)
    typer.echo(f"token {name} revoked")


@token_app.command("list")
def token_list() -> None:
    """List tokens (names, roles, dates; never the secret)."""
    with database() as engine:
        rows = list_tokens(engine)
    for row in rows:
        state = f"revoked {row['revoked_at']:%Y-%m-%d}" if row["revoked_at"] else "active"
        typer.echo(f"{row['name']}\t{row['role']}\t{state}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the audit hash chain; name the first broken entry (exit 1) or say it is intact."""
    with database() as engine, reading(engine) as conn:
        tip = audit_log.read_tip(conn)
        with closing(audit_log.entries(conn)) as chain:
            verdict = verify(chain, tip)
        held = {name: conn.scalar(select(func.count()).select_from(table)) or 0
                for name, table in (("returns", core.returns), ("refunds", core.refunds))}
    if verdict.ok and verdict.checked == 0 and any(held.values()):
        # every return and refund is audited when written: data without a chain is a chain lost
        typer.echo(f"audit chain EMPTY although the database holds {held['returns']} returns "
                   f"and {held['refunds']} refunds: the audit log was removed, or "
                   "ACORN_HUB_DATABASE_URL names another database", err=True)
        raise typer.Exit(1)
    if verdict.ok:
        typer.echo(f"audit chain intact: {verdict.checked} entries")
        return
    typer.echo(f"audit chain BROKEN at entry {verdict.broken_seq}: {verdict.problem} "
               f"({verdict.checked} entries before it are intact)", err=True)
    raise typer.Exit(1)


NodePasswordFile = Annotated[Path | None, typer.Option(
    help="read the broker password from this file's first line (default: a new random one)",
    dir_okay=False)]
AskPassword = Annotated[bool, typer.Option(
    "--ask-password", help="type the broker password at a hidden prompt instead")]


def _broker_password(path: Path | None, ask: bool) -> str:
    """The broker password: from a file, a hidden prompt, or a new random one."""
    if path is not None and ask:
        raise InputError("give --password-file or --ask-password, not both", field="password")
    if path is None and not ask:
        return secrets.token_urlsafe(24)
    from hub.cli.people import read_secret

    secret = read_secret(path, "broker password")
    if not secret:
        raise InputError("the broker password is empty", field="password")
    return secret


def _admin(settings: Settings, require_all: bool = False) -> BrokerAdmins:
    """Admin logins to every broker; ``require_all`` for a change the hub could not repeat
    later on a broker that is down (a password: the hub keeps none)."""
    settings.require_admin_secret()
    return broker_admins(settings, require_all)


@devices_app.command("add")
def devices_add(
    store: Annotated[str, typer.Argument(help="store id, e.g. store-berlin-1")],
    node: Annotated[str, typer.Argument(help="node id within the store, e.g. counter-1")],
    password_file: NodePasswordFile = None,
    ask_password: AskPassword = False,
    broker_host: Annotated[str | None, typer.Option(
        help="broker address as the store reaches it (default ACORN_HUB_MQTT_HOST)")] = None,
    broker_port: Annotated[int | None, typer.Option(help="default ACORN_HUB_MQTT_PORT")] = None,
) -> None:
    """Give a store node its own broker credentials; print its ACORN_EDGE_* lines.

    The password is a new random one unless `--password-file` or `--ask-password` gives it: a
    secret is never a command-line argument (other users see those in the process list).
    """
    settings = load_settings()
    username = _check_ids(store, node)
    secret = _broker_password(password_file, ask_password)
    with _admin(settings, require_all=True) as admin, database(settings) as engine:
        admin.provision_node(store, node, secret)  # (both there before a change)
        with writing(engine) as tx:
            outbox.ensure_node(tx.conn, store, node, tx.now)
            tx.audit(AuditDraft(cli_actor(), "operator", "device.added", "node",
                                f"{store}/{node}", None, jsonable({"broker_user": username})))
    for line in (f"ACORN_EDGE_STORE_ID={store}", f"ACORN_EDGE_NODE_ID={node}",
                 f"ACORN_EDGE_MQTT_HOST={broker_host or settings.mqtt_host}",
                 f"ACORN_EDGE_MQTT_PORT={broker_port or settings.mqtt_port}",
                 f"ACORN_EDGE_MQTT_USERNAME={username}", f"ACORN_EDGE_MQTT_PASSWORD={secret}"):
        typer.echo(line)


def _check_ids(store: str, node: str) -> str:
    try:
        return node_username(store, node)
    except ValueError as err:
        raise InputError(str(err), field="store" if "store" in str(err) else "node") from err


@devices_app.command("add-hub")
def devices_add_hub(
    password_file: NodePasswordFile = None,
    ask_password: AskPassword = False,
) -> None:
    """Create (or reset) the hub's own broker user, bound to ACORN_HUB_MQTT_CLIENT_ID.

    Prints its ACORN_HUB_MQTT_* lines; the broker refuses this user under any other client id.
    The password is a new random one unless `--password-file` or `--ask-password` gives it.
    """
    settings = load_settings()
    secret = _broker_password(password_file, ask_password)
    with _admin(settings, require_all=True) as admin:
        username = admin.provision_hub(secret, settings.mqtt_username, settings.mqtt_client_id)
    typer.echo(f"ACORN_HUB_MQTT_USERNAME={username}")
    typer.echo(f"ACORN_HUB_MQTT_PASSWORD={secret}")
    typer.echo(f"ACORN_HUB_MQTT_CLIENT_ID={settings.mqtt_client_id}")


@devices_app.command("bind-ids")
def devices_bind_ids() -> None:
    """Bind the hub's and every node's broker user to its own client id (keeps passwords);
    update the hub's broker role.

    For brokers provisioned before client ids were bound; running it again changes nothing.
    """
    settings = load_settings()
    with _admin(settings) as admin, database(settings) as engine:
        changed = admin.bind_client_ids(settings.mqtt_username, settings.mqtt_client_id)
        for username in changed:
            node = parse_node_username(username)
            if node is not None:
                _audit_device(engine, "device.bound", *node)
            typer.echo(f"{username} bound to its client id")
    typer.echo(f"{len(changed)} broker users changed")


@devices_app.command("disable")
def devices_disable(store: str, node: str) -> None:
    """Refuse a node's password logins from now on and disconnect it (reversible with ``add``).

    A node enrolled with a certificate is not stopped by this (Mosquitto 2.0.11 does not check
    a disabled client's certificate login): use `revoke`, which deletes its broker client.
    """
    username, settings = _check_ids(store, node), load_settings()
    with _admin(settings, require_all=True) as admin, database(settings) as engine:
        admin.disable_client(username)
        _audit_device(engine, "device.disabled", store, node)
    typer.echo(f"{username} disabled")


@devices_app.command("list")
def devices_list() -> None:
    """Store nodes known to the hub or the broker, with their broker user, client id and
    certificate.

    One line each: store, node, broker user, client id (as bound on the broker), broker state
    (enabled, disabled, not on the broker), hub state (online, offline, unknown to the hub), the
    current certificate's serial and expiry ("-" for a password node) and "revoked" or "active".
    Without ACORN_HUB_BROKER_ADMIN_PASSWORD only the hub's side is shown (said on stderr).
    """
    settings = load_settings()
    with database(settings) as engine, reading(engine) as conn:
        known = {(r.store_id, r.node_id): ("online" if r.online else "offline")
                 for r in conn.execute(select(core.nodes.c.store_id, core.nodes.c.node_id,
                                              core.nodes.c.online))}
        certs = identities.standings(conn)
    on_broker: dict[tuple[str, str], tuple[str, str]] | None = None
    if settings.broker_admin_password.get_secret_value():
        with _admin(settings) as admin:
            on_broker = _broker_nodes(admin)
    else:
        typer.echo("broker not asked: ACORN_HUB_BROKER_ADMIN_PASSWORD is not set", err=True)
    typer.echo("store\tnode\tbroker user\tclient id\tbroker\thub\tcertificate\texpires\t"
               "revoked")
    for store, node in sorted(known.keys() | certs.keys() | (on_broker or {}).keys()):
        client_id, state = (on_broker or {}).get((store, node), (
            "-", "not on the broker" if on_broker is not None else "not asked"))
        cert = certs.get((store, node))
        expires = format_utc(cert.not_after) if cert and cert.not_after else "-"
        revoked = f"revoked {format_utc(cert.revoked_at)}" if cert and cert.revoked_at \
            else "active"
        typer.echo(f"{store}\t{node}\t{node_username(store, node)}\t{client_id}\t{state}\t"
                   f"{known.get((store, node), 'unknown to the hub')}\t"
                   f"{(cert.serial if cert else None) or '-'}\t{expires}\t{revoked}")


def _broker_nodes(admin: BrokerAdmins) -> dict[tuple[str, str], tuple[str, str]]:
    """(store, node) -> (bound client id or "unbound", enabled/disabled) of every node user."""
    listed = admin.run([{"command": "listClients", "verbose": False}])[0]
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for username in (str(u) for u in listed.get("data", {}).get("clients", [])):
        node = parse_node_username(username)
        if node is None:
            continue
        client = admin.run([{"command": "getClient", "username": username}])[0]
        client = client.get("data", {}).get("client", {})
        found[node] = (str(client.get("clientid") or "unbound"),
                       "disabled" if client.get("disabled") else "enabled")
    return found


def _audit_device(engine: Engine, action: str, store: str, node: str) -> None:
    """Record a change of a node's broker identity in the audit trail."""
    with writing(engine) as tx:
        tx.audit(AuditDraft(cli_actor(), "operator", action, "node", f"{store}/{node}",
                            {"broker_user": node_username(store, node)}, None))


@returns_app.command("expect")
def returns_expect(
    store: Annotated[str, typer.Option(help="store id")],
    node: Annotated[str, typer.Option(help="node id that should cache the RMA")],
    rma: Annotated[str, typer.Option(help="return authorisation id")],
    order: Annotated[str, typer.Option(help="order id")],
    sku: Annotated[str, typer.Option(help="item SKU")],
    price: Annotated[str, typer.Option(help="unit price, e.g. 19.99")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code")] = "USD",
    quantity: Annotated[int, typer.Option(help="units")] = 1,
    channel: Annotated[str, typer.Option(help="amazon_mfn, amazon_fba, pos, web")] = "amazon_mfn",
    marketplace: Annotated[str | None, typer.Option(help="marketplace id")] = None,
    description: Annotated[str | None, typer.Option(help="item description")] = None,
) -> None:
    """Announce an expected return (RMA) to a store's node; print the command id."""

    try:
        body = ExpectedReturn.model_validate({
            "rma_id": rma, "order_id": order, "channel": channel, "marketplace_id": marketplace,
            "items": [{"sku": sku, "quantity": quantity, "description": description,
                       "unit_price": {"amount": str(Decimal(price)), "currency": currency}}]})
    except (ValidationError, ArithmeticError) as err:
        raise InputError(_first_problem(err)) from err
    with database() as engine:
        command_id = outbox.queue_expected_return(engine, store, node, body, cli_actor(),
                                                  "operator")
    typer.echo(command_id)


def _first_problem(err: Exception) -> str:
    if isinstance(err, ValidationError):
        first = err.errors(include_url=False)[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return f"price: not a decimal amount ({err})"


def main() -> None:
    """Console entry point: run the CLI; errors become one line and a non-zero exit.

    The heap is frozen at exit (``gc.freeze`` as an exit handler, as ``acorn-edge`` does): by
    then a command has finished and ``serve`` has stopped everything it started (runtime,
    schedulers, database engine), and the interpreter's final collections would only walk the
    app's objects (pydantic schemas, routes) for nothing; other exit handlers still run."""
    atexit.register(gc.freeze)
    try:
        app()
    except Exception as err:  # the CLI's outer boundary: a sentence, never a traceback
        if os.environ.get("ACORN_HUB_DEBUG"):
            raise
        known = translate(err)
        message = known.message if known else f"unexpected {type(err).__name__}: {err}"
        where = f" ({known.field})" if known and known.field else ""
        typer.echo(f"acorn-hub: error{where}: {message}", err=True)
        sys.exit(1 if known else 2)
