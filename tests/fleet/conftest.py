"""Fleet tests: a real Mosquitto with a mutual-TLS listener (fleet CA, ``require_certificate``,
``use_identity_as_username``) and the dynamic-security plugin; hubs on both databases.

The leak guard (no thread or child process outlives its test) comes from ``tests/conftest.py``
for every folder, this one included.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from paho.mqtt.enums import CallbackAPIVersion

from hub.fleet import pki
from hub.fleet.local_broker import LocalBroker, write_tls_files
from hub.settings import Settings
from protocol import utc_now
from tests.hub.conftest import (  # noqa: F401  (fixtures shared with the hub tests)
    RunningHub,
    db_url,
    hub_settings,
    start_hub,
)
from tests.support.broker import TestBroker
from tests.support.ports import free_port


class TlsBroker(TestBroker):
    """A test broker with a mutual-TLS listener trusting ``ca`` next to its password listener."""

    __test__ = False

    def __init__(self, state_dir: Path, ca: pki.FleetCa) -> None:
        self.local = LocalBroker(state_dir, port=free_port())
        self.local.tls = write_tls_files(state_dir / "tls", ca, ["127.0.0.1", "localhost"],
                                         free_port(), utc_now())
        self.local.prepare()
        self.local.start()

    @property
    def tls_port(self) -> int:
        assert self.local.tls is not None
        return self.local.tls.port


@dataclass(frozen=True)
class Fleet:
    """The fleet CA (in ``fleet_dir``) and a broker that trusts it."""

    fleet_dir: Path
    ca: pki.FleetCa
    broker: TlsBroker

    def hub_extra(self) -> dict[str, Any]:
        """Hub settings for enrolment against this broker."""
        return {"fleet_dir": self.fleet_dir, "fleet_mqtts_host": "127.0.0.1",
                "fleet_mqtts_port": self.broker.tls_port,
                "mqtt_host": self.broker.host, "mqtt_port": self.broker.port,
                "broker_admin_username": self.broker.local.admin_user,
                "broker_admin_password": self.broker.local.admin_password}


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    """A fleet CA and a TLS broker trusting it, killed after the test."""
    fleet_dir = tmp_path / "fleet"
    ca, _ = pki.load_or_create_ca(fleet_dir, utc_now())
    broker = TlsBroker(tmp_path / "mosquitto", ca)
    try:
        yield Fleet(fleet_dir, ca, broker)
    finally:
        broker.kill()


@pytest.fixture
def enrol_hub(db_url: str, fleet: Fleet) -> Iterator[RunningHub]:  # noqa: F811
    """A hub (API only, both databases) that enrols nodes onto ``fleet``'s broker; the guessing
    limit is 3 per client so a test reaches it."""
    settings: Settings = hub_settings(db_url, None, enrol_max_failures_per_client=3,
                                      **fleet.hub_extra())
    yield from start_hub(settings)


def csr_for(key: Any, name: str = "acorn-node") -> str:
    """A PEM CSR over ``key``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import NameOID

    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def tls_connect(port: int, ca_file: Path, cert_file: Path, key_file: Path,
                client_id: str) -> str:
    """Try one mutual-TLS MQTT login: the CONNACK's reason; the TLS error's text; ``dropped``
    when the broker closes the connection first (it refused the certificate: under TLS 1.3 the
    client learns it after its handshake, so waiting for a CONNACK would wait out its 10 s)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    client.tls_set(ca_certs=str(ca_file), certfile=str(cert_file), keyfile=str(key_file),
                   cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    answered = threading.Event()
    outcome: list[str] = []

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        outcome.append(str(reason))
        answered.set()

    def on_disconnect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        outcome.append(f"dropped: {reason}")
        answered.set()

    client.on_connect, client.on_disconnect = on_connect, on_disconnect
    try:
        client.connect("127.0.0.1", port)
    except (OSError, ssl.SSLError) as err:
        return f"refused: {err}"
    client.loop_start()
    try:
        answered.wait(10)
    finally:
        client.disconnect()
        client.loop_stop()
        client.on_connect = client.on_disconnect = None
    return outcome[0] if outcome else "no answer"


def sign_file(ca: pki.FleetCa, folder: Path, name: str) -> tuple[Path, Path]:
    """A key and a certificate for CN ``name`` signed by ``ca``, written to ``folder``."""
    key = pki.new_key()
    cert = pki.sign_node(ca, pki.read_csr(csr_for(key)), name, utc_now(), timedelta(hours=1))
    folder.mkdir(parents=True, exist_ok=True)
    key_file, cert_file = folder / f"{name}.key", folder / f"{name}.pem"
    pki.write_private(key_file, pki.key_pem(key))
    cert_file.write_text(pki.cert_pem(cert))
    return key_file, cert_file
