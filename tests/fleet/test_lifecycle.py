"""A node's identity after enrolment, through the hub's API on both databases and a real
Mosquitto with the mutual-TLS listener: revocation cuts a node off at once and for good, an
expired certificate connects again only after renewal, and only the holder of the node's
current key and certificate renews.

Renewal requests are built by the edge's own code (``edge_agent.enrolment.renewal_body``), so
these tests also hold the edge and the hub to the same signed bytes.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from edge_agent.enrolment import renewal_body
from hub.access.permissions import Principal, Role, Scope
from hub.fleet import enrolment, identities, lifecycle, pki
from hub.fleet.lifecycle import RENEW_WINDOW
from hub.storage.engine import reading, writing
from hub.storage.tables.core import dead_letters
from hub.sync.ingest.batch import store_batch
from hub.sync.ingest.classify import classify
from hub.web.api.fleet import limits_of, provisioner, unprovisioner
from protocol import encode, utc_now
from tests.fleet.conftest import Fleet, csr_for
from tests.fleet.test_codes import audited, bearer, enrol, make_code, setup_stores
from tests.fleet.test_journey import CertSession
from tests.hub.conftest import RunningHub
from tests.hub.helpers import received
from tests.support.broker import Probe

STORE, NODE = "s-north", "counter-1"
CN = f"edge.{STORE}.{NODE}"
EVENTS = f"acorn/v1/stores/{STORE}/nodes/{NODE}/events"
COMMANDS = f"acorn/v1/stores/{STORE}/nodes/{NODE}/commands"


@dataclass
class Node:
    """An enrolled node's key and certificate, also as files for a TLS login."""

    key: ec.EllipticCurvePrivateKey
    cert_pem: str
    folder: Path

    @property
    def cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem.encode())

    def files(self) -> tuple[Path, Path]:
        """(key file, certificate file) as they are now."""
        self.folder.mkdir(parents=True, exist_ok=True)
        key_file, cert_file = self.folder / "node.key", self.folder / "node.pem"
        pki.write_private(key_file, pki.key_pem(self.key))
        cert_file.write_text(self.cert_pem)
        return key_file, cert_file


def enrolled(hub: RunningHub, folder: Path, node: str = NODE) -> Node:
    """A node enrolled through the API with a code bound to ``node``."""
    key = pki.new_key()
    code = make_code(hub, node_id=node)
    answer = hub.client.post("/api/fleet/enrol", json={"code": code, "csr": csr_for(key),
                                                       "serial": "SN-1"})
    assert answer.status_code == 200, answer.text
    return Node(key, answer.json()["certificate"], folder)


def renew(hub: RunningHub, cert_pem: str, key: ec.EllipticCurvePrivateKey,
          now: datetime | None = None, **override: Any) -> httpx.Response:
    """Ask for a renewal the way the edge agent does; ``override`` replaces body fields."""
    body = renewal_body(cert_pem, key, now or utc_now()) | override
    return hub.client.post("/api/fleet/renew", json=body)


def ca_file(fleet: Fleet) -> Path:
    return fleet.fleet_dir / pki.CA_CERT_FILE


def revoke(hub: RunningHub, node: str = NODE, reason: str = "stolen from the back office",
           **headers: str) -> httpx.Response:
    return hub.client.post(f"/api/fleet/nodes/{STORE}/{node}/revoke", json={"reason": reason},
                           headers=headers or bearer(hub.engine, Role.TECHNICIAN))


class Published:
    """A paho client with the node's certificate that knows when its publishes were PUBACKed."""

    def __init__(self, session: CertSession) -> None:
        self.acked = threading.Event()
        session.client.on_publish = lambda *_a: self.acked.set()
        self.client = session.client

    def send(self, topic: str, payload: bytes) -> None:
        self.acked.clear()
        self.client.publish(topic, payload, qos=1)
        assert self.acked.wait(10), "no PUBACK"


def test_a_revoked_node_is_dropped_within_a_second_has_no_rights_after_and_is_refused_renewal(
    enrol_hub: RunningHub, fleet: Fleet, tmp_path: Path,
) -> None:
    setup_stores(enrol_hub.engine)
    node = enrolled(enrol_hub, tmp_path / "node")
    key_file, cert_file = node.files()
    watcher = Probe(fleet.broker.admin_creds())  # may read every topic
    session = CertSession(fleet, cert_file, key_file, CN)
    try:
        assert watcher.subscribe(EVENTS)[0].value < 128
        assert session.may_subscribe(COMMANDS)
        Published(session).send(EVENTS, b"before")
        assert watcher.got.wait(5) and watcher.messages[-1].payload == b"before"

        # a technician of another region may not; one of the store's region may
        other_region = bearer(enrol_hub.engine, Role.TECHNICIAN, Scope(region="south"))
        assert revoke(enrol_hub, **other_region).status_code == 403
        assert not session.dropped.is_set()
        started = time.monotonic()
        answer = revoke(enrol_hub, **bearer(enrol_hub.engine, Role.TECHNICIAN,
                                             Scope(region="north")))
        assert answer.status_code == 200, answer.text
        assert session.dropped.wait(1.0), "the broker kept a revoked node's session"
        assert time.monotonic() - started < 1.5  # the API call and the drop together
    finally:
        session.close()

    again = CertSession(fleet, cert_file, key_file, CN)  # the CA still vouches for the login...
    try:
        assert not again.may_subscribe(COMMANDS)  # ...but the identity has no rights left
        watcher.messages.clear()
        watcher.got.clear()
        Published(again).send(EVENTS, b"after revocation")  # the broker PUBACKs and drops it
        # the hub may publish there too (to clear a retained event): its marker goes after the
        # dropped publish, which would have reached the watcher first
        hub_side = Probe(fleet.broker.hub_creds())
        try:
            hub_side.publish(EVENTS, b"marker")
        finally:
            hub_side.close()
        assert watcher.got.wait(5)
        assert [m.payload for m in watcher.messages] == [b"marker"]
    finally:
        again.close()
        watcher.close()

    refused = renew(enrol_hub, node.cert_pem, node.key)
    assert refused.status_code == 403 and "revoked" in refused.text, refused.text
    [entry] = audited(enrol_hub.engine, "device.revoked")
    assert entry.entity_id == f"{STORE}/{NODE}" and entry.reason == "stolen from the back office"
    assert entry.role == "technician"
    [denied] = audited(enrol_hub.engine, "device.renewal_refused")
    assert "revoked" in denied.reason
    # revoking again retries the broker and says so; nothing new is audited
    assert revoke(enrol_hub).json()["already"] is True
    assert len(audited(enrol_hub.engine, "device.revoked")) == 1
    # the node id is retired: no code is made for it, and a code made before is refused
    code = enrol_hub.client.post("/api/fleet/codes", json={"store_id": STORE, "node_id": NODE},
                                 headers=bearer(enrol_hub.engine, Role.ADMIN))
    assert code.status_code == 409 and "revoked" in code.text


def test_a_code_made_before_the_revocation_does_not_enrol_the_node_again(
    enrol_hub: RunningHub, fleet: Fleet, tmp_path: Path,
) -> None:
    setup_stores(enrol_hub.engine)
    enrolled(enrol_hub, tmp_path / "node")
    code = make_code(enrol_hub, node_id=NODE)  # a rotation begun, then the node revoked
    assert revoke(enrol_hub).status_code == 200
    answer = enrol(enrol_hub, code)
    assert answer.status_code == 403 and "revoked" in answer.text
    with reading(enrol_hub.engine) as conn:
        found = identities.standing(conn, STORE, NODE)
    assert found is not None and found.revoked


def test_an_expired_certificate_cannot_connect_and_connects_after_renewal(
    enrol_hub: RunningHub, fleet: Fleet, tmp_path: Path,
) -> None:
    setup_stores(enrol_hub.engine)
    node = enrolled(enrol_hub, tmp_path / "node")
    # the hub issued this node a certificate that expired an hour ago (within the grace period)
    past = utc_now() - timedelta(hours=2)
    expired = pki.sign_node(fleet.ca, pki.read_csr(_csr(node.key)), CN, past, timedelta(hours=1))
    with writing(enrol_hub.engine) as tx:
        identities.record_certificate(tx.conn, STORE, NODE, expired, tx.now)
    node.cert_pem = pki.cert_pem(expired)
    key_file, cert_file = node.files()
    assert login(fleet, cert_file, key_file).startswith("dropped")
    log_text = (fleet.broker.local.state_dir / "mosquitto.log").read_text()
    assert "certificate verify failed" in log_text, log_text[-2000:]

    answer = renew(enrol_hub, node.cert_pem, node.key)
    assert answer.status_code == 200, answer.text
    node.cert_pem = answer.json()["certificate"]
    assert node.cert.not_valid_after_utc > utc_now()
    key_file, cert_file = node.files()
    assert login(fleet, cert_file, key_file) == "Success"
    [entry] = audited(enrol_hub.engine, "device.renewed")
    assert entry.before["certificate_serial"] == pki.serial_hex(expired)
    assert entry.after["certificate_serial"] == pki.serial_hex(node.cert)

    # expired longer ago than the grace period (7 days by default): enrol again
    long_ago = pki.sign_node(fleet.ca, pki.read_csr(_csr(node.key)), CN,
                             utc_now() - timedelta(days=9), timedelta(days=1))
    with writing(enrol_hub.engine) as tx:
        identities.record_certificate(tx.conn, STORE, NODE, long_ago, tx.now)
    too_late = renew(enrol_hub, pki.cert_pem(long_ago), node.key)
    assert too_late.status_code == 403 and "expired" in too_late.text


def login(fleet: Fleet, cert_file: Path, key_file: Path) -> str:
    """One mutual-TLS login as the node: the CONNACK's reason, or how the connection ended
    (with TLS 1.3 the broker checks the client's certificate after the client's handshake is
    done, so a refused certificate shows as a dropped connection, not as a connect error)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=CN)
    client.tls_set(ca_certs=str(ca_file(fleet)), certfile=str(cert_file),
                   keyfile=str(key_file), cert_reqs=ssl.CERT_REQUIRED,
                   tls_version=ssl.PROTOCOL_TLS_CLIENT)
    client.reconnect_delay_set(60, 60)  # one attempt is what the test wants
    done, outcome = threading.Event(), list[str]()
    client.on_connect = lambda _c, _u, _f, reason, _p: (outcome.append(str(reason)), done.set())
    client.on_disconnect = lambda _c, _u, _f, reason, _p: (outcome.append(f"dropped: {reason}"),
                                                           done.set())
    try:
        client.connect("127.0.0.1", fleet.broker.tls_port)
    except (OSError, ssl.SSLError) as err:
        return f"dropped: {err}"
    client.loop_start()
    try:
        assert done.wait(10), "neither a CONNACK nor a disconnect"
    finally:
        client.disconnect()
        client.loop_stop()
        client.on_connect = client.on_disconnect = None
    return outcome[0]


def _csr(key: ec.EllipticCurvePrivateKey) -> str:
    return str(csr_for(key))


def test_only_the_holder_of_the_current_key_and_certificate_renews(
    enrol_hub: RunningHub, fleet: Fleet, tmp_path: Path,
) -> None:
    setup_stores(enrol_hub.engine)
    node = enrolled(enrol_hub, tmp_path / "node")
    thief = pki.new_key()
    # the node's certificate with a signature by another key (and a CSR over the thief's key)
    forged = renew(enrol_hub, node.cert_pem, thief)
    assert forged.status_code == 401 and "does not hold" in forged.text, forged.text
    # a certificate naming the node, from another CA, signed with its own key
    rogue, _ = pki.load_or_create_ca(tmp_path / "rogue-ca", utc_now())
    rogue_cert = pki.sign_node(rogue, pki.read_csr(_csr(thief)), CN, utc_now(),
                               timedelta(days=1))
    foreign = renew(enrol_hub, pki.cert_pem(rogue_cert), thief)
    assert foreign.status_code == 401 and "fleet's CA" in foreign.text, foreign.text
    # the right key, but signed too long ago (a copied request)
    stale = renew(enrol_hub, node.cert_pem, node.key,
                  now=utc_now() - RENEW_WINDOW - timedelta(seconds=30))
    assert stale.status_code == 401 and "clock" in stale.text
    # the right key over other bytes than the ones sent
    good = renewal_body(node.cert_pem, node.key, utc_now())
    other = renewal_body(node.cert_pem, node.key, utc_now())
    swapped = enrol_hub.client.post("/api/fleet/renew", json=good | {"csr": _csr(thief)})
    assert swapped.status_code == 401
    malformed = enrol_hub.client.post("/api/fleet/renew", json=other | {"signature": "%%%"})
    assert malformed.status_code == 422
    # none of those came from a holder of the node's key: nothing audited
    assert audited(enrol_hub.engine, "device.renewal_refused") == []
    assert audited(enrol_hub.engine, "device.renewed") == []

    renewed = renew(enrol_hub, node.cert_pem, node.key)
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["certificate"] != node.cert_pem
    # the certificate it replaced is no longer the node's current one
    old = renew(enrol_hub, node.cert_pem, node.key)
    assert old.status_code == 403 and "current" in old.text


def test_rotation_gives_the_node_a_new_key_and_refuses_the_old_certificate_renewal(
    enrol_hub: RunningHub, fleet: Fleet, tmp_path: Path,
) -> None:
    setup_stores(enrol_hub.engine)
    old = enrolled(enrol_hub, tmp_path / "old")
    tech = bearer(enrol_hub.engine, Role.TECHNICIAN)
    unknown = enrol_hub.client.post(f"/api/fleet/nodes/{STORE}/counter-9/rotate", json={},
                                    headers=tech)
    assert unknown.status_code == 404
    made = enrol_hub.client.post(f"/api/fleet/nodes/{STORE}/{NODE}/rotate", json={},
                                 headers=tech)
    assert made.status_code == 201 and made.json()["node_id"] == NODE, made.text
    new_key = pki.new_key()
    answer = enrol_hub.client.post("/api/fleet/enrol", json={
        "code": made.json()["code"], "csr": _csr(new_key), "serial": "SN-2"})
    assert answer.status_code == 200 and answer.json()["node_id"] == NODE, answer.text
    assert renew(enrol_hub, old.cert_pem, old.key).status_code == 403
    assert renew(enrol_hub, answer.json()["certificate"], new_key).status_code == 200
    assert len(audited(enrol_hub.engine, "device.rotation_started")) == 1


def test_the_hubs_ingest_refuses_a_revoked_nodes_messages(
    enrol_hub: RunningHub, fleet: Fleet, tmp_path: Path,
) -> None:
    setup_stores(enrol_hub.engine)
    enrolled(enrol_hub, tmp_path / "node")
    event = received(STORE, NODE, 1, "R-after-revocation")
    assert revoke(enrol_hub).status_code == 200
    with writing(enrol_hub.engine) as tx:
        result = store_batch(tx, [classify(EVENTS, encode(event))])
    assert result.stored == result.applied == 0 and result.acks == {}
    with reading(enrol_hub.engine) as conn:
        reasons = list(conn.scalars(select(dead_letters.c.reason)))
    assert any("revoked" in r for r in reasons), reasons



def test_a_revocation_racing_an_enrolment_leaves_the_node_off_the_broker(
    enrol_hub: RunningHub, fleet: Fleet, tmp_path: Path,
) -> None:
    setup_stores(enrol_hub.engine)
    enrolled(enrol_hub, tmp_path / "node")
    code = make_code(enrol_hub, node_id=NODE)
    settings = enrol_hub.context.settings
    provision, unprovision = provisioner(settings), unprovisioner(settings)
    admin = Principal("tech", Role.TECHNICIAN)

    def revoked_then_provisioned(store: str, node: str) -> None:
        # the code was checked; the whole revocation happens now, before the broker client is
        # made again for the enrolment
        lifecycle.revoke(enrol_hub.engine, admin, store, node, "lost", unprovision)
        provision(store, node)

    asked = enrolment.Request(code, csr_for(pki.new_key()), "SN-9", None, "127.0.0.1")
    with pytest.raises(enrolment.EnrolmentRefused) as refused:
        enrolment.enrol(enrol_hub.engine, lambda: fleet.ca, asked, limits_of(settings),
                        timedelta(days=1), revoked_then_provisioned, unprovision)
    assert refused.value.reason is enrolment.Refusal.REVOKED
    with fleet.broker.local.admin() as broker:
        clients = broker.run([{"command": "listClients"}])[0]["data"]["clients"]
    assert CN not in clients
