"""The reconcile pass: a broker that comes back gets the identities the hub's database records.

With several independent brokers (docs/operations/broker-ha.md) each identity change goes to
every broker that answers (``dynsec.BrokerAdmins``); one that was down missed it. Every
``broker_reconcile_seconds`` the hub logs in to each broker as the dynsec admin; the first time
a broker answers (at start, or after it did not), it is reconciled with the database.

Rules:
- the hub's database is the source: a revoked node (``identities``) is deleted from the broker,
  with its role; a certificate node with a current certificate gets its role and client when
  they are missing; every known node's role gets the ACLs of ``acl.node_acls`` when they differ,
  and the hub's role those of ``acl.hub_acls``; the hub's own client is made (with the hub's
  password from its settings) when it is missing;
- only what differs is changed: a client that exists is never modified (``modifyClient`` drops
  its connection), so a reconcile of a broker in use disconnects nobody;
- a password node missing on the broker is reported, not made: the hub keeps no node password
  (run ``acorn-hub devices add`` for it again);
- what a pass changed on a broker is audited (``broker.reconciled``, actor
  ``system:broker-reconcile``) in one entry per broker; a pass that changes nothing audits
  nothing; a broker that does not answer is logged once per outage.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, select

from hub.fleet.acl import (
    HUB_ROLE,
    Acl,
    hub_acls,
    node_acls,
    node_role,
    node_username,
)
from hub.fleet.dynsec import DynSecAdmin, DynSecError
from hub.storage.audit_chain import AuditDraft, jsonable
from hub.storage.engine import reading, writing
from hub.storage.tables.core import nodes
from hub.storage.tables.fleet import node_certificates
from protocol import BrokerAddress

log = logging.getLogger(__name__)

ACTOR = ("system:broker-reconcile", "system")
Key = tuple[str, str]


@dataclass(frozen=True)
class Recorded:
    """The identities the hub's database records."""

    cert_nodes: frozenset[Key]  # a current certificate, not revoked
    password_nodes: frozenset[Key]  # known to the hub, never given a certificate, not revoked
    revoked: frozenset[Key]


@dataclass(frozen=True)
class HubIdentity:
    """The hub's own broker user, as its settings hold it."""

    username: str
    password: str
    client_id: str


@dataclass
class Outcome:
    """What one reconcile changed on one broker (user and role names), and what it could not."""

    removed: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    roles_set: list[str] = field(default_factory=list)
    missing_password_nodes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when the broker was changed."""
        return bool(self.removed or self.created or self.roles_set)


def recorded(conn: Connection) -> Recorded:
    """The identities in the hub's database."""
    certs = {(r.store_id, r.node_id): r for r in conn.execute(select(node_certificates))}
    revoked = {key for key, row in certs.items() if row.revoked_at is not None}
    cert_nodes = {key for key, row in certs.items() if row.serial and key not in revoked}
    known = {(r.store_id, r.node_id) for r in conn.execute(select(nodes.c.store_id,
                                                                  nodes.c.node_id))}
    return Recorded(frozenset(cert_nodes), frozenset(known - revoked - certs.keys()),
                    frozenset(revoked))


def _acl_set(acls: Sequence[dict[str, object]]) -> set[tuple[object, ...]]:
    return {(a.get("acltype"), a.get("topic"), bool(a.get("allow")),
             int(str(a.get("priority", 0)))) for a in acls}


def _wanted_set(acls: Sequence[Acl]) -> set[tuple[object, ...]]:
    return {(a.acltype, a.topic, a.allow, a.priority) for a in acls}


def _broker_state(admin: DynSecAdmin) -> tuple[set[str], dict[str, set[tuple[object, ...]]]]:
    """The broker's client names, and its roles with their ACLs."""
    clients = admin.run([{"command": "listClients", "verbose": False}])[0]
    roles = admin.run([{"command": "listRoles", "verbose": True}])[0]
    return ({str(u) for u in clients.get("data", {}).get("clients", [])},
            {str(r["rolename"]): _acl_set(r.get("acls", []))
             for r in roles.get("data", {}).get("roles", [])})


def reconcile(admin: DynSecAdmin, wanted: Recorded, hub: HubIdentity | None) -> Outcome:
    """Make the broker hold what the database records; change only what differs."""
    clients, roles = _broker_state(admin)
    done = Outcome()

    def role(name: str, acls: list[Acl]) -> None:
        if roles.get(name) != _wanted_set(acls):
            admin.ensure_role(name, acls)
            done.roles_set.append(name)

    role(HUB_ROLE, hub_acls())
    if hub is not None and hub.username not in clients:
        admin.provision_hub(hub.password, hub.username, hub.client_id)
        done.created.append(hub.username)
    for store_id, node_id in sorted(wanted.revoked):
        if node_username(store_id, node_id) in clients or node_role(store_id, node_id) in roles:
            admin.remove_node(store_id, node_id)
            done.removed.append(node_username(store_id, node_id))
    for store_id, node_id in sorted(wanted.cert_nodes | wanted.password_nodes):
        username = node_username(store_id, node_id)
        role(node_role(store_id, node_id), node_acls(store_id, node_id))
        if username in clients:
            continue
        if (store_id, node_id) in wanted.cert_nodes:
            admin.provision_cert_node(store_id, node_id)
            done.created.append(username)
        else:
            done.missing_password_nodes.append(username)
    return done


class BrokerReconciler:
    """Reconciles each broker of the list the first time it answers (at start, after an outage).

    ``pass_once`` is what the hub runs every ``broker_reconcile_seconds`` (``hub.app``).
    """

    def __init__(self, engine: Engine, brokers: Sequence[BrokerAddress], admin_user: str,
                 admin_password: str, hub: HubIdentity | None) -> None:
        self._engine, self._brokers = engine, list(brokers)
        self._admin_user, self._admin_password, self._hub = admin_user, admin_password, hub
        self._answered: dict[BrokerAddress, bool] = {}

    def pass_once(self) -> dict[str, Outcome]:
        """Reconcile every broker that answers now and did not at the last pass."""
        done: dict[str, Outcome] = {}
        for broker in self._brokers:
            was = self._answered.get(broker, False)
            try:
                with DynSecAdmin(broker.host, broker.port, self._admin_user,
                                 self._admin_password) as admin:
                    self._answered[broker] = True
                    if not was:
                        done[str(broker)] = self._reconcile(broker, admin)
            except DynSecError as err:
                if was or broker not in self._answered:
                    log.warning("broker %s does not answer (%s); it is reconciled when it does",
                                broker, err.message)
                self._answered[broker] = False
        return done

    def _reconcile(self, broker: BrokerAddress, admin: DynSecAdmin) -> Outcome:
        with reading(self._engine) as conn:
            wanted = recorded(conn)
        outcome = reconcile(admin, wanted, self._hub)
        if outcome.missing_password_nodes:
            log.warning("broker %s lacks the password nodes %s: the hub keeps no node password; "
                        "run `acorn-hub devices add` for each again", broker,
                        ", ".join(outcome.missing_password_nodes))
        if outcome.changed:
            log.info("broker %s reconciled: removed %s, created %s, roles set %s", broker,
                     outcome.removed, outcome.created, outcome.roles_set)
            with writing(self._engine) as tx:
                tx.audit(AuditDraft(*ACTOR, "broker.reconciled", "broker", str(broker), None,
                                    jsonable({"removed": outcome.removed,
                                              "created": outcome.created,
                                              "roles_set": outcome.roles_set}),
                                    "the broker answered again: it gets what the hub records"))
        return outcome
