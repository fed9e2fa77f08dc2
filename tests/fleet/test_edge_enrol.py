"""The edge's side of enrolment without a hub: the code's forms, what it accepts from a hub, what
it writes, and the TLS settings it leaves for ``acorn-edge run``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from edge_agent.enrolment import (
    EnrolmentError,
    Ticket,
    check_answer,
    make_csr,
    merge_settings,
    parse_ticket,
)
from edge_agent.errors import ConfigError
from edge_agent.settings import load_settings
from hub.fleet import pki
from protocol import utc_now


def test_a_plain_code_and_the_qr_form_are_read_alike() -> None:
    assert parse_ticket(" ABCD-EFGH-JKMN ") == Ticket("ABCD-EFGH-JKMN")
    link = ("acorn://enrol?hub=http%3A%2F%2F10.0.0.5%3A8080&code=ABCD-EFGH-JKMN&store=s1"
            "&ca=" + "ab" * 32)
    assert parse_ticket(link) == Ticket("ABCD-EFGH-JKMN", "http://10.0.0.5:8080", "s1", "ab" * 32)
    with pytest.raises(EnrolmentError, match="no code"):
        parse_ticket("acorn://enrol?hub=http://x")


def answer_for(key: ec.EllipticCurvePrivateKey, ca: pki.FleetCa, name: str) -> dict[str, Any]:
    """What a hub answers, signed by ``ca`` for CN ``name``."""
    cert = pki.sign_node(ca, pki.read_csr(make_csr(key)), name, utc_now(), timedelta(days=1))
    return {"store_id": "s1", "node_id": "counter-1", "certificate": pki.cert_pem(cert),
            "ca_certificates": [ca.pem]}


def test_only_a_certificate_for_our_key_and_name_from_the_pinned_ca_is_accepted() -> None:
    ca, other_ca = pki.create_ca(utc_now()), pki.create_ca(utc_now())
    key = ec.generate_private_key(ec.SECP256R1())
    good = answer_for(key, ca, "edge.s1.counter-1")
    cert, got_ca = check_answer(good, key, ca.fingerprint)
    assert pki.common_name(cert) == "edge.s1.counter-1"
    assert got_ca.fingerprint(pki.hashes.SHA256()).hex() == ca.fingerprint
    with pytest.raises(EnrolmentError, match="not the hub the code is for"):
        check_answer(good, key, other_ca.fingerprint)
    with pytest.raises(EnrolmentError, match="not for this machine's key"):
        check_answer(answer_for(ec.generate_private_key(ec.SECP256R1()), ca,
                                "edge.s1.counter-1"), key, None)
    with pytest.raises(EnrolmentError, match="does not name this node"):
        check_answer(answer_for(key, ca, "edge.s1.counter-2"), key, None)
    mixed = good | {"ca_certificates": [other_ca.pem]}
    with pytest.raises(EnrolmentError, match="not signed by the CA"):
        check_answer(mixed, key, None)
    with pytest.raises(EnrolmentError, match="malformed"):
        check_answer({"store_id": "s1"}, key, None)


def test_the_settings_file_keeps_other_settings_and_replaces_enrolments(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("ACORN_EDGE_PRINTER_URL='tcp://10.0.0.9:9100'\nACORN_EDGE_NODE_ID=old\n")
    merge_settings(env, {"ACORN_EDGE_STORE_ID": "s1", "ACORN_EDGE_NODE_ID": "counter-1",
                         "ACORN_EDGE_STORE_NAME": 'Say "hi"'})
    settings = load_settings(env)
    assert (settings.store_id, settings.node_id) == ("s1", "counter-1")
    assert settings.printer_url == "tcp://10.0.0.9:9100" and settings.store_name == 'Say "hi"'
    assert not settings.mqtt_tls


def test_tls_settings_come_all_three_or_not_at_all(tmp_path: Path) -> None:
    env = tmp_path / "edge.env"
    env.write_text("ACORN_EDGE_STORE_ID=s1\nACORN_EDGE_NODE_ID=n1\n"
                   f"ACORN_EDGE_MQTT_TLS_CERT_FILE={tmp_path / 'node.pem'}\n")
    with pytest.raises(ConfigError, match="go together"):
        load_settings(env)
