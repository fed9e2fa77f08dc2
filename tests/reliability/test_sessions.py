"""Sessions bound to identities: no store's broker password can borrow another session.

Issue 9, "What broke" 2, replayed with real clients against a real Mosquitto, a real
``acorn-hub serve`` and real ``acorn-edge run`` processes. The attacker holds one store node's
password (store-b, "Berlin") and tries the hub's client id and another node's client id; the
hub's password is tried with other client ids; a node leaves a retained message on its own
events topic. The broker's own log is the witness that no session was taken over: Mosquitto
writes "Client X already connected, closing old connection." for every takeover.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import protocol as p
from hub.fleet.acl import HUB_ROLE
from tests.e2e.conftest import System, a_return
from tests.support.broker import MqttCreds, Probe, TestBroker
from tests.support.http_calls import http_get, http_post
from tests.support.procs import edge_proc, hub_proc, stop_all, wait_for

ATTEMPTS = 6  # the reported attack took the hub's session over six times in 12 s
FIXTURES = Path(__file__).parents[1] / "fixtures" / "protocol" / "v1"


@pytest.fixture
def system(broker: TestBroker, tmp_path: Path) -> Iterator[System]:
    """A broker, a hub and two store agents (store-a, store-b) as real processes."""
    creds = {
        "hub": broker.hub_creds(),
        "store-a": broker.node_creds("store-a", "n1"),
        "store-b": broker.node_creds("store-b", "n1"),
    }
    hub = hub_proc(tmp_path, creds["hub"])
    edge_a = edge_proc(tmp_path, "store-a", "n1", creds["store-a"])
    edge_b = edge_proc(tmp_path, "store-b", "n1", creds["store-b"])
    procs = [hub, edge_a, edge_b]
    try:
        hub.start()  # first: it is subscribed before the stores say anything
        for edge in (edge_a, edge_b):  # the two stores start side by side
            edge.start(wait=False)
        for edge in (edge_a, edge_b):
            edge.wait_healthy()
        yield System(broker, hub, edge_a, edge_b, tmp_path, creds)
    finally:
        stop_all(procs)


def broker_log(broker: TestBroker) -> str:
    """Everything the broker logged so far."""
    return (broker.local.state_dir / "mosquitto.log").read_text(errors="replace")


def takeovers(broker: TestBroker, client_id: str) -> int:
    """How often the broker closed an open session because another login used its client id."""
    return broker_log(broker).count(f"Client {client_id} already connected, closing old connection")


def logins(broker: TestBroker, client_id: str) -> int:
    """How many logins the broker accepted under ``client_id``."""
    return broker_log(broker).count(f" as {client_id} (")


def attack(creds: MqttCreds, client_id: str, listen: str | None = None,
           attempts: int = ATTEMPTS) -> list[Probe]:
    """Log in ``attempts`` times with ``creds`` under ``client_id``; each must be refused."""
    probes = []
    for _ in range(attempts):
        probe = Probe(creds, client_id=client_id, expect_refusal=True)
        probes.append(probe)
        assert probe.refused, f"{creds.username} logged in as {client_id}: {probe.connect_reason}"
        assert "authori" in str(probe.connect_reason).lower()
        if listen is not None:  # not connected: the subscription cannot even be sent
            probe.client.subscribe(listen, qos=1)
    return probes


def close_all(probes: list[Probe]) -> None:
    for probe in probes:
        probe.close()


def record_return(system: System, n: int) -> str:
    """Record a return at store A's counter; its id."""
    created = http_post(f"{system.edge_a.url}/api/returns", json=a_return(n), timeout=10)
    assert created.status_code == 201, created.text
    return str(created.json()["return_id"])


def refund_outcome_at_a(system: System, return_id: str) -> str | None:
    """The hub's refund decision as store A's counter shows it (None while waiting)."""
    body = http_get(f"{system.edge_a.url}/api/returns/{return_id}", timeout=5).json()
    refund = body.get("refund")
    return refund.get("outcome") if isinstance(refund, dict) else None


def event_as(store: str, node: str, seq: int, marker: str) -> bytes:
    """A valid return.received envelope from ``store``/``node``."""
    data = json.loads((FIXTURES / "return.received.json").read_text())
    data.update(store_id=store, node_id=node, seq=seq, id=p.new_message_id())
    data["body"]["return_id"] = marker
    return json.dumps(data).encode()


def test_a_node_password_with_the_hub_client_id_is_refused_and_the_hub_keeps_its_session(
    system: System,
) -> None:
    """Promise: only the hub uses the hub's session; a store's password cannot take it over,
    read other stores' events through it, or knock the hub off the broker."""
    hub_id = system.creds["hub"].client_id
    assert hub_id is not None
    wait_for(lambda: logins(system.broker, hub_id) >= 1, 30, "the hub's login")
    hub_logins = logins(system.broker, hub_id)
    intruders = attack(system.creds["store-b"], hub_id, listen="acorn/v1/stores/+/nodes/+/events")
    try:
        return_id = record_return(system, 1)  # store A's event must still reach the hub
        assert wait_for(lambda: refund_outcome_at_a(system, return_id), 30,
                        "store A's refund decided by the hub") == "approved"
        assert all(not probe.messages for probe in intruders)  # nothing of store A leaked
    finally:
        close_all(intruders)
    assert takeovers(system.broker, hub_id) == 0
    assert logins(system.broker, hub_id) == hub_logins  # the hub never had to log in again
    assert system.hub_return_count("store-a") == 1


def test_a_node_password_with_another_node_client_id_is_refused_and_that_node_stays(
    system: System,
) -> None:
    """Promise: a store's password cannot read another store's commands by borrowing its node's
    client id, and cannot kick that node off the broker (no denial of service)."""
    a_id = system.creds["store-a"].client_id
    assert a_id is not None
    wait_for(lambda: system.edge_a.wait_healthy()["broker_connected"], 30, "store A online")
    a_logins = logins(system.broker, a_id)
    intruders = attack(system.creds["store-b"], a_id,
                       listen=p.node_topic("store-a", "n1", p.TopicKind.COMMANDS))
    try:
        # a command for store A (the hub's refund decision) reaches the real node
        return_id = record_return(system, 2)
        assert wait_for(lambda: refund_outcome_at_a(system, return_id), 30,
                        "store A's refund decision at its counter") == "approved"
        assert all(not probe.messages for probe in intruders)
    finally:
        close_all(intruders)
    assert takeovers(system.broker, a_id) == 0
    assert logins(system.broker, a_id) == a_logins  # store A never had to log in again
    assert system.edge_a.wait_healthy()["broker_connected"]


def test_the_hub_password_works_only_under_the_hub_client_id(broker: TestBroker) -> None:
    """Promise: the hub's identity is usable by the hub alone, under its own client id; a node's
    identity only under its own."""
    hub = broker.hub_creds()
    node = broker.node_creds("store-a", "n1")
    for client_id in ("acorn-hub-2", "edge.store-a.n1", "probe-anything"):
        close_all(attack(hub, client_id, attempts=1))
    for client_id in ("acorn-hub", "edge.store-a.n2", "edge.store-b.n1"):
        close_all(attack(node, client_id, attempts=1))
    for creds in (hub, node):  # the bound ids still work
        probe = Probe(creds)
        try:
            assert not probe.refused
        finally:
            probe.close()


def test_provisioning_again_binds_a_client_made_before_bindings(broker: TestBroker) -> None:
    """Promise: an upgrade that re-runs provisioning (or ``devices bind-ids``) brings clients
    created without a client id, and the hub's role, in line without changing passwords."""
    node = broker.node_creds("store-a", "n1")
    hub = broker.hub_creds()
    events = "acorn/v1/stores/+/nodes/+/events"
    with broker.local.admin() as admin:  # as an old broker had them: unbound, an older hub role
        admin.run([{"command": "modifyClient", "username": u, "clientid": ""}
                   for u in (node.username, hub.username)])
        admin.run([{"command": "removeRoleACL", "rolename": HUB_ROLE,
                    "acltype": "publishClientSend", "topic": events}])
        assert admin.client_id_of(node.username) is None
        loose = Probe(node, client_id="probe-anything")
        assert not loose.refused  # the hole this issue is about
        loose.close()
        assert sorted(admin.bind_client_ids()) == sorted([node.username, hub.username])
        assert admin.bind_client_ids() == []  # idempotent: nothing left to change
        assert admin.client_id_of(node.username) == "edge.store-a.n1"
        role = admin.run([{"command": "getRole", "rolename": HUB_ROLE}])[0]["data"]["role"]
        assert {"acltype": "publishClientSend", "topic": events} in [
            {"acltype": a["acltype"], "topic": a["topic"]} for a in role["acls"]]
    close_all(attack(node, "probe-anything", attempts=1))
    probe = Probe(node)  # the same password, under the bound id
    try:
        assert not probe.refused
    finally:
        probe.close()


def retained_on(topic: str, hub: MqttCreds, node: MqttCreds) -> list[bytes]:
    """What a fresh hub session finds retained on ``topic`` (a later marker bounds the wait)."""
    fresh = Probe(hub)  # clean session, the hub's own identity, while the hub is stopped
    sender = Probe(node)
    try:
        fresh.subscribe(topic)
        sender.publish(topic, b"marker")  # not retained; comes after any retained copy
        wait_for(lambda: any(m.payload == b"marker" for m in fresh.messages), 10, "the marker")
        return [bytes(m.payload) for m in fresh.messages if m.retain]
    finally:
        sender.close()
        fresh.close()


def test_a_retained_event_from_a_node_does_not_come_back_to_a_fresh_hub_session(
    system: System,
) -> None:
    """Promise: a node cannot plant a retained message on its events topic that every new hub
    session would receive again (a retained poison survives a wiped session); the hub clears it,
    logs it, and still stores the event."""
    system.edge_b.stop()  # the attacker holds store B's password; its own agent is away
    node = system.creds["store-b"]
    topic = p.node_topic("store-b", "n1", p.TopicKind.EVENTS)
    attacker = Probe(node)
    try:
        attacker.publish(topic, event_as("store-b", "n1", 1, "RETAINED-LIVE"), retain=True)
        wait_for(lambda: "cleared a retained message" in system.hub.log_tail(20000), 30,
                 "the hub clearing the retained event")
        system.hub.stop()
        # planted while the hub is down: the restarted hub must clear it too
        attacker.publish(topic, event_as("store-b", "n1", 2, "RETAINED-AWAY"), retain=True)
    finally:
        attacker.close()
    system.hub.start()
    wait_for(lambda: system.hub.log_tail(20000).count("cleared a retained message") >= 2, 30,
             "the restarted hub clearing the second retained event")
    system.hub.stop()  # its clearing publish reaches the broker before its DISCONNECT
    assert retained_on(topic, system.creds["hub"], node) == []
    stored = {row["return_id"] for row in system.hub_inbox("store-b", "n1")}
    assert {"RETAINED-LIVE", "RETAINED-AWAY"} <= stored  # cleared, yet nothing lost
