"""A broker that was down when identities changed gets them when it answers again.

Promise protected (``hub.fleet.reconcile``): with brokers A and B, a node revoked while B was down
is deleted from B by the hub's reconcile pass as soon as B answers (and can no longer log in
there); a certificate node enrolled meanwhile is created on B; nodes whose identities did not
change are not touched (their open connections stay up). Real brokers, a real hub database.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select

from hub.access.permissions import Principal, Role
from hub.fleet import identities, lifecycle, pki
from hub.fleet.acl import node_username
from hub.fleet.reconcile import BrokerReconciler
from hub.storage import outbox
from hub.storage.engine import reading, writing
from hub.storage.tables.core import audit_log
from protocol import utc_now
from tests.fleet.conftest import csr_for
from tests.ha.conftest import Brokers
from tests.support.broker import MqttCreds, Probe

ADMIN = Principal("ops-anna", Role.ADMIN)


def clients_on(brokers: Brokers, which: str) -> set[str]:
    """The user names broker A or B holds."""
    broker = brokers.a if which == "a" else brokers.b
    with broker.admin() as admin:
        listed = admin.run([{"command": "listClients", "verbose": False}])[0]
    return {str(u) for u in listed["data"]["clients"]}


def logs_in(creds: MqttCreds) -> bool:
    """True when the broker accepts the login."""
    probe = Probe(creds, expect_refusal=True)
    try:
        return not probe.refused
    finally:
        probe.close()


def enrol_cert_node(engine: Engine, store_id: str, node_id: str) -> None:
    """What enrolment records at the hub: the node, and its certificate."""
    ca = pki.create_ca(utc_now())
    cert = pki.sign_node(ca, pki.read_csr(csr_for(pki.new_key())),
                         node_username(store_id, node_id), utc_now(), timedelta(hours=1))
    with writing(engine) as tx:
        outbox.ensure_node(tx.conn, store_id, node_id, tx.now)
        identities.record_certificate(tx.conn, store_id, node_id, cert, tx.now)


def test_an_identity_revoked_while_b_was_down_is_revoked_on_b_when_it_returns(
        brokers: Brokers, engine: Engine) -> None:
    creds: dict[str, Any] = {"hub": brokers.hub_creds()}
    for node in ("n1", "n2"):
        creds[node] = brokers.node_creds("store-a", node)
        with writing(engine) as tx:
            outbox.ensure_node(tx.conn, "store-a", node, tx.now)
    reconciler = BrokerReconciler(engine, brokers.addresses, brokers.a.admin_user,
                                  brokers.admin_password, hub=None)
    first = reconciler.pass_once()  # the hub starts: both answer, both hold what the hub records
    assert set(first) == {str(a) for a in brokers.addresses}
    assert not any(outcome.changed for outcome in first.values())
    staying = Probe(creds["n2"])  # n2 stays connected to A through everything below

    brokers.b.kill()
    assert reconciler.pass_once() == {}  # B does not answer: nothing to do yet
    with brokers.admins() as admins:  # the hub's own fan-out: A is told, B is not there
        lifecycle.revoke(engine, ADMIN, "store-a", "n1", "stolen counter PC",
                         lambda s, n: admins.remove_node(s, n))
    enrol_cert_node(engine, "store-a", "n3")
    with brokers.admins() as admins:
        admins.provision_cert_node("store-a", "n3")
        assert [str(address) for address, _ in admins.down] == [str(brokers.addresses[1])]
    assert node_username("store-a", "n1") not in clients_on(brokers, "a")

    brokers.b.start()
    b_creds = MqttCreds(brokers.b.host, brokers.b.port, creds["n1"].username,
                        creds["n1"].password, creds["n1"].client_id)
    assert node_username("store-a", "n1") in clients_on(brokers, "b")  # B missed the revocation
    assert logs_in(b_creds)

    done = reconciler.pass_once()  # B answers again: it is reconciled, A is left alone
    assert list(done) == [str(brokers.addresses[1])]
    outcome = done[str(brokers.addresses[1])]
    assert outcome.removed == [node_username("store-a", "n1")]
    assert outcome.created == [node_username("store-a", "n3")]
    on_b = clients_on(brokers, "b")
    assert node_username("store-a", "n1") not in on_b
    assert {node_username("store-a", "n2"), node_username("store-a", "n3")} <= on_b
    assert not logs_in(b_creds)
    assert logs_in(MqttCreds(brokers.b.host, brokers.b.port, creds["n2"].username,
                             creds["n2"].password, creds["n2"].client_id))
    assert staying.client.is_connected(), "the reconcile dropped a node it had no reason to touch"
    staying.close()

    assert reconciler.pass_once() == {}  # nothing came back since: nothing is reconciled
    with reading(engine) as conn:
        audited = conn.execute(select(audit_log.c.entity_id, audit_log.c.after).where(
            audit_log.c.action == "broker.reconciled")).all()
    assert [row.entity_id for row in audited] == [str(brokers.addresses[1])]
    after = audited[0].after
    after = json.loads(after) if isinstance(after, str) else after
    assert after["removed"] == [node_username("store-a", "n1")]
