"""Enrolment codes through the hub's API on both databases: who may make them, and every way a
code is refused (unknown, expired, used, another store, guessing), each audited."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy import Engine, select, update

from hub.access.permissions import Role, Scope
from hub.access.tokens import create_token
from hub.access.users import Actor
from hub.fleet import enrolment, pki, stores
from hub.fleet.enrolment import EnrolmentRefused, Refusal
from hub.storage.engine import reading, writing
from hub.storage.tables.core import audit_log, nodes
from hub.storage.tables.fleet import enrolment_codes
from tests.fleet.conftest import Fleet, csr_for
from tests.hub.conftest import RunningHub

SETUP = Actor("test-setup", "operator")


def setup_stores(engine: Engine) -> None:
    """A store in each region, the northern one described for its nodes."""
    stores.set_store(engine, "s-north", SETUP, name="North", region="north",
                     node_settings={"currency": "EUR", "time_zone": "Europe/Berlin",
                                    "language": "de", "printer_paper": "58mm"})
    stores.set_store(engine, "s-south", SETUP, name="South", region="south")


def bearer(engine: Engine, role: Role, scope: Scope = Scope()) -> dict[str, str]:
    """Authorization header of a new token."""
    token = create_token(engine, f"t-{role.value}-{secrets.token_hex(3)}", role, scope=scope)
    return {"Authorization": f"Bearer {token}"}


def make_code(hub: RunningHub, store: str = "s-north", **extra: Any) -> str:
    """A code made by an unscoped technician through the API."""
    answer = hub.client.post("/api/fleet/codes", json={"store_id": store, **extra},
                             headers=bearer(hub.engine, Role.TECHNICIAN))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["code"])


def enrol(hub: RunningHub, code: str, **extra: Any) -> httpx.Response:
    """Redeem ``code`` with a fresh key, as a node would."""
    body = {"code": code, "csr": csr_for(pki.new_key()), "serial": "SN-1", **extra}
    return hub.client.post("/api/fleet/enrol", json=body)


def audited(engine: Engine, action: str) -> list[Any]:
    """Audit entries of one action, oldest first."""
    with reading(engine) as conn:
        return list(conn.execute(select(audit_log).where(audit_log.c.action == action)
                                 .order_by(audit_log.c.seq)))


def test_technicians_make_codes_for_stores_in_their_region_only(enrol_hub: RunningHub) -> None:
    setup_stores(enrol_hub.engine)
    north = bearer(enrol_hub.engine, Role.TECHNICIAN, Scope(region="north"))
    made = enrol_hub.client.post("/api/fleet/codes", json={"store_id": "s-north"}, headers=north)
    assert made.status_code == 201, made.text
    code = made.json()["code"]
    outside = enrol_hub.client.post("/api/fleet/codes", json={"store_id": "s-south"},
                                    headers=north)
    assert outside.status_code == 403, outside.text
    viewer = enrol_hub.client.post("/api/fleet/codes", json={"store_id": "s-north"},
                                   headers=bearer(enrol_hub.engine, Role.VIEWER))
    assert viewer.status_code == 403
    unknown = enrol_hub.client.post("/api/fleet/codes", json={"store_id": "s-nowhere"},
                                    headers=bearer(enrol_hub.engine, Role.ADMIN))
    assert unknown.status_code == 404 and "stores set" in unknown.text
    too_long = enrol_hub.client.post("/api/fleet/codes", json={"store_id": "s-north",
                                                                "minutes": 61}, headers=north)
    assert too_long.status_code == 422
    with reading(enrol_hub.engine) as conn:
        rows = list(conn.execute(select(enrolment_codes)))
    assert len(rows) == 1 and rows[0].code_hash == enrolment.code_hash(code)
    assert code not in repr([tuple(r) for r in rows])  # only the hash is kept
    assert rows[0].expires_at - rows[0].created_at == timedelta(minutes=30)
    [entry] = audited(enrol_hub.engine, "enrolment.code_created")
    assert entry.actor.startswith("t-technician") and entry.entity_id == "s-north"
    assert code.replace("-", "") not in str(entry.after)


def test_a_code_enrols_one_node_once(enrol_hub: RunningHub, fleet: Fleet) -> None:
    setup_stores(enrol_hub.engine)
    code = make_code(enrol_hub)
    answer = enrol(enrol_hub, code.lower(), store_id="s-north")  # typed in lower case
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["store_id"], body["node_id"]) == ("s-north", "counter-1")
    cert = x509.load_pem_x509_certificate(body["certificate"].encode())
    assert pki.common_name(cert) == "edge.s-north.counter-1"
    assert body["ca_fingerprint"] == fleet.ca.fingerprint
    assert body["broker"] == {"host": "127.0.0.1", "port": fleet.broker.tls_port, "tls": True}
    assert body["store"] == {"name": "North", "region": "north", "city": None, "currency": "EUR",
                             "time_zone": "Europe/Berlin", "language": "de",
                             "printer_paper": "58mm"}
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert timedelta(days=7) <= lifetime <= timedelta(days=7, minutes=10)
    with fleet.broker.local.admin() as admin:
        client = admin.run([{"command": "getClient",
                             "username": "edge.s-north.counter-1"}])[0]["data"]["client"]
    assert [r["rolename"] for r in client["roles"]] == ["node.s-north.counter-1"]
    again = enrol(enrol_hub, code)
    assert again.status_code == 409, again.text
    assert "used already" in again.json()["detail"][0]["message"]
    second = enrol(enrol_hub, make_code(enrol_hub))
    assert second.json()["node_id"] == "counter-2"
    with reading(enrol_hub.engine) as conn:
        assert set(conn.scalars(select(nodes.c.node_id))) == {"counter-1", "counter-2"}
    [first, _] = audited(enrol_hub.engine, "device.enrolled")
    assert first.entity_id == "s-north/counter-1" and first.after["serial"] == "SN-1"
    assert [e.after["reason"] for e in audited(enrol_hub.engine, "enrolment.refused")] == ["used"]


def test_expired_unknown_and_other_store_codes_are_refused_and_audited(
    enrol_hub: RunningHub,
) -> None:
    setup_stores(enrol_hub.engine)
    expired = make_code(enrol_hub)
    with writing(enrol_hub.engine) as tx:
        tx.conn.execute(update(enrolment_codes).where(
            enrolment_codes.c.code_hash == enrolment.code_hash(expired)).values(
            expires_at=tx.now - timedelta(seconds=1)))
    gone = enrol(enrol_hub, expired)
    assert gone.status_code == 410 and "expired" in gone.text
    unknown = enrol(enrol_hub, "AAAA-BBBB-CCCC")
    assert unknown.status_code == 401 and "not known" in unknown.text
    other = enrol(enrol_hub, make_code(enrol_hub), store_id="s-south")
    assert other.status_code == 403 and "another store" in other.text
    refusals = audited(enrol_hub.engine, "enrolment.refused")
    assert [(e.entity_id, e.after["reason"], e.after["from"]) for e in refusals] == [
        ("s-north", "expired", "127.0.0.1"), ("unknown", "unknown", "127.0.0.1"),
        ("s-north", "wrong_store", "127.0.0.1")]
    with reading(enrol_hub.engine) as conn:
        assert conn.scalar(select(nodes.c.node_id)) is None


def test_guessing_is_throttled_per_client_then_the_window_decides(
    enrol_hub: RunningHub,
) -> None:
    setup_stores(enrol_hub.engine)
    good = make_code(enrol_hub)
    for guess in ("AAAA-AAAA-AAAA", "AAAA-AAAA-AAAB", "AAAA-AAAA-AAAC"):
        assert enrol(enrol_hub, guess).status_code == 401
    throttled = enrol(enrol_hub, good)  # even the right code is not checked now
    assert throttled.status_code == 429, throttled.text
    assert 1 <= int(throttled.headers["Retry-After"]) <= 900
    [lock] = audited(enrol_hub.engine, "enrolment.throttled")
    assert lock.entity_id == "client:127.0.0.1" and lock.after["failures"] == 3
    assert len(audited(enrol_hub.engine, "enrolment.refused")) == 3  # throttled: not checked
    with reading(enrol_hub.engine) as conn:
        assert conn.scalar(select(enrolment_codes.c.used_at)) is None  # the code still works


def test_every_client_together_is_throttled_too(enrol_hub: RunningHub) -> None:
    setup_stores(enrol_hub.engine)
    limits = enrolment.Limits(per_client=100, overall=2)

    def guess(client: str, code: str = "ZZZZ-ZZZZ-ZZZZ") -> Refusal | None:
        try:
            enrolment.claim(enrol_hub.engine, enrolment.Request(
                code, "", "SN", None, client), limits)
        except EnrolmentRefused as err:
            return err.reason
        return None

    assert guess("10.0.0.1") is Refusal.UNKNOWN
    assert guess("10.0.0.2") is Refusal.UNKNOWN
    assert guess("10.0.0.3", make_code(enrol_hub)) is Refusal.THROTTLED


@pytest.mark.parametrize("csr,serial,field", [
    ("not a csr", "SN", "csr"),
    ("", "SN", "csr"),
    (None, "", "serial"),
])
def test_a_malformed_request_is_422_and_not_counted_as_a_guess(
    enrol_hub: RunningHub, csr: str | None, serial: str, field: str,
) -> None:
    setup_stores(enrol_hub.engine)
    code = make_code(enrol_hub)
    body = {"code": code, "csr": csr if csr is not None else csr_for(pki.new_key()),
            "serial": serial}
    for _ in range(4):  # past the guessing limit of 3
        answer = enrol_hub.client.post("/api/fleet/enrol", json=body)
        assert answer.status_code == 422, answer.text
        assert field in answer.text
    assert enrol(enrol_hub, code).status_code == 200


def test_a_csr_is_refused_unless_its_signature_verifies_over_a_p256_key() -> None:
    der = x509.load_pem_x509_csr(csr_for(pki.new_key()).encode()).public_bytes(
        serialization.Encoding.DER)
    # the last byte is the signature's: whoever sent this does not hold the key
    forged = x509.load_der_x509_csr(der[:-1] + bytes([der[-1] ^ 1])).public_bytes(
        serialization.Encoding.PEM).decode()
    with pytest.raises(pki.PkiError, match="signature does not verify"):
        pki.read_csr(forged)
    with pytest.raises(pki.PkiError, match="EC P-256"):
        pki.read_csr(csr_for(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    with pytest.raises(pki.PkiError, match="EC P-256"):
        pki.read_csr(csr_for(ec.generate_private_key(ec.SECP384R1())))
