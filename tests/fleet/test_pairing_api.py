"""Pairing codes through the hub's API on both databases: a node asks, a technician approves in
scope, the node's poll receives its enrolment; wrong codes are refused, audited and throttled per
technician; codes expire; one address cannot ask without bound."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from cryptography import x509
from sqlalchemy import select, update

from hub.access.permissions import Role, Scope
from hub.fleet import pki
from hub.storage.engine import reading, writing
from hub.storage.tables.pairing import pairing_requests
from tests.fleet.conftest import Fleet, csr_for
from tests.fleet.test_codes import audited, bearer, setup_stores
from tests.hub.conftest import RunningHub


def ask(hub: RunningHub, key: Any = None, serial: str = "SN-PAIR") -> dict[str, Any]:
    """A node asks for a pairing code."""
    answer = hub.client.post("/api/fleet/pairings",
                             json={"csr": csr_for(key or pki.new_key()), "serial": serial})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def poll(hub: RunningHub, token: str) -> Any:
    return hub.client.post("/api/fleet/pairings/poll", json={"token": token})


def approve(hub: RunningHub, headers: dict[str, str], code: str, store: str = "s-north") -> Any:
    return hub.client.post("/api/fleet/pairings/approve",
                           json={"code": code, "store_id": store}, headers=headers)


def test_a_technician_pairs_a_waiting_machine_in_scope_and_its_poll_gets_its_identity(
    enrol_hub: RunningHub, fleet: Fleet,
) -> None:
    setup_stores(enrol_hub.engine)
    key = pki.new_key()
    opened = ask(enrol_hub, key)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", opened["code"])
    assert poll(enrol_hub, opened["token"]).json()["state"] == "pending"
    with reading(enrol_hub.engine) as conn:
        row = conn.execute(select(pairing_requests)).one()
    assert opened["code"] not in repr(tuple(row)) and opened["token"] not in repr(tuple(row))

    south = bearer(enrol_hub.engine, Role.TECHNICIAN, Scope(region="south"))
    assert approve(enrol_hub, south, opened["code"]).status_code == 403  # not their region
    viewer = bearer(enrol_hub.engine, Role.VIEWER)
    assert approve(enrol_hub, viewer, opened["code"]).status_code == 403
    assert poll(enrol_hub, opened["token"]).json()["state"] == "pending"  # still waiting

    north = bearer(enrol_hub.engine, Role.TECHNICIAN, Scope(region="north"))
    done = approve(enrol_hub, north, opened["code"].lower())
    assert done.status_code == 200, done.text
    assert done.json() | {"not_after": None} == {"store_id": "s-north", "node_id": "counter-1",
                                                 "serial": "SN-PAIR", "not_after": None}
    paired = poll(enrol_hub, opened["token"]).json()
    assert paired["state"] == "paired"
    enrolled = paired["enrolment"]
    cert = x509.load_pem_x509_certificate(enrolled["certificate"].encode())
    assert cert.public_key() == key.public_key()  # the machine's own key, never sent
    assert pki.common_name(cert) == "edge.s-north.counter-1"
    assert enrolled["broker"]["port"] == fleet.broker.tls_port
    assert enrolled["ca_fingerprint"] == fleet.ca.fingerprint
    assert enrolled["store"]["time_zone"] == "Europe/Berlin"
    with fleet.broker.local.admin() as admin:
        client = admin.run([{"command": "getClient",
                             "username": "edge.s-north.counter-1"}])[0]["data"]["client"]
    assert [r["rolename"] for r in client["roles"]] == ["node.s-north.counter-1"]

    again = approve(enrol_hub, north, opened["code"])
    assert again.status_code == 409 and "used already" in again.text
    [requested] = audited(enrol_hub.engine, "pairing.requested")
    assert requested.after["serial"] == "SN-PAIR"
    [approved] = audited(enrol_hub.engine, "pairing.approved")
    assert approved.entity_id == "s-north/counter-1" and approved.actor.startswith("t-techn")
    assert [e.entity_id for e in audited(enrol_hub.engine, "device.enrolled")] == \
        ["s-north/counter-1"]
    assert [e.after["reason"] for e in audited(enrol_hub.engine, "pairing.refused")] == \
        ["paired"]


def test_guessed_codes_are_refused_audited_and_throttle_the_technician(
    enrol_hub: RunningHub,
) -> None:
    setup_stores(enrol_hub.engine)
    opened = ask(enrol_hub)
    guesser = bearer(enrol_hub.engine, Role.TECHNICIAN)
    for guess in ("AAAA-AAAA", "BBBB-BBBB", "CCCC-CCCC"):  # the fixture's limit is 3
        wrong = approve(enrol_hub, guesser, guess)
        assert wrong.status_code == 404 and "not known" in wrong.text
    blocked = approve(enrol_hub, guesser, opened["code"])  # even the right code, unchecked
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert [e.after["reason"] for e in audited(enrol_hub.engine, "pairing.refused")] == \
        ["unknown"] * 3
    assert len(audited(enrol_hub.engine, "enrolment.throttled")) == 1
    assert poll(enrol_hub, opened["token"]).json()["state"] == "pending"
    other = bearer(enrol_hub.engine, Role.ADMIN)  # the throttle is the guesser's own
    assert approve(enrol_hub, other, opened["code"]).status_code == 200


def test_codes_expire_tokens_are_secret_and_one_address_cannot_ask_without_bound(
    enrol_hub: RunningHub,
) -> None:
    setup_stores(enrol_hub.engine)
    opened = ask(enrol_hub)
    with writing(enrol_hub.engine) as tx:
        tx.conn.execute(update(pairing_requests).values(expires_at=tx.now - timedelta(seconds=1)))
    gone = poll(enrol_hub, opened["token"])
    assert gone.status_code == 410 and "expired" in gone.text
    late = approve(enrol_hub, bearer(enrol_hub.engine, Role.TECHNICIAN), opened["code"])
    assert late.status_code == 410
    assert poll(enrol_hub, "not-a-token").status_code == 401
    bad = enrol_hub.client.post("/api/fleet/pairings", json={"csr": "junk", "serial": "x"})
    assert bad.status_code == 422
    limit = enrol_hub.context.settings.pair_max_requests_per_client
    for _ in range(limit - 1):  # one was asked above
        ask(enrol_hub)
    refused = enrol_hub.client.post("/api/fleet/pairings",
                                    json={"csr": csr_for(pki.new_key()), "serial": "SN"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    with reading(enrol_hub.engine) as conn:
        assert len(conn.execute(select(pairing_requests)).all()) == limit
