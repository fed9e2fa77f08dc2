"""The technician's journey on real processes: an enrolment code and an empty store machine →
``acorn-edge enrol`` → the agent connected over mutual TLS → its first return at the hub.

Everything runs as an operator would run it: ``acorn-hub`` and ``acorn-edge`` subprocesses, a
real Mosquitto with a mutual-TLS listener trusting the fleet CA, the hub's SQLite file.
"""

from __future__ import annotations

import os
import re
import ssl
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from paho.mqtt.enums import CallbackAPIVersion

from hub.fleet import pki
from protocol import utc_now
from tests.e2e.conftest import a_return
from tests.fleet.conftest import Fleet, sign_file, tls_connect
from tests.support.http_calls import http_post
from tests.support.ports import free_port
from tests.support.procs import BIN, Proc, health_of, hub_proc, wait_for


def plain_env() -> dict[str, str]:
    """The caller's environment without any ACORN_* setting."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ACORN_")}


def run(argv: list[str], env: dict[str, str], cwd: Path | None = None,
        ok: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a CLI; fail the test with its output if it does not exit as expected."""
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=60,
                          check=False)
    assert (done.returncode == 0) == ok, f"{argv}: {done.returncode}\n{done.stdout}{done.stderr}"
    return done


@pytest.fixture
def hub(fleet: Fleet, tmp_path: Path) -> Iterator[Proc]:
    """``acorn-hub serve`` enrolling onto the fleet's broker; a described store ``store-t``."""
    extra = {k: str(v) for k, v in fleet.hub_extra().items() if k not in {"mqtt_host",
                                                                          "mqtt_port"}}
    proc = hub_proc(tmp_path, fleet.broker.hub_creds(), **extra)
    try:
        proc.start(wait=False)
        wait_for(lambda: health_of(proc), 30, "the hub answering", interval=0.05)
        run([str(BIN / "acorn-hub"), "stores", "set", "store-t", "--name", "Test store",
             "--currency", "EUR", "--time-zone", "Europe/Berlin", "--language", "de"], proc.env)
        yield proc
    finally:
        proc.stop()


def new_code(hub: Proc) -> tuple[str, str]:
    """``acorn-hub devices enrol store-t``: the code and its QR form (acorn://...)."""
    out = run([str(BIN / "acorn-hub"), "devices", "enrol", "store-t", "--hub-url", hub.url],
              hub.env).stdout
    code = re.search(r"enrolment code for store store-t: (\S+)", out)
    link = re.search(r"acorn-edge enrol --insecure-http '(acorn://[^']+)'", out)
    assert code and link and "█" in out, out  # the terminal QR code is printed too
    return code.group(1), link.group(1)


def test_empty_machine_enrols_connects_with_mutual_tls_and_its_first_return_reaches_the_hub(
    hub: Proc, fleet: Fleet, tmp_path: Path,
) -> None:
    machine = tmp_path / "store-pc"
    machine.mkdir()
    _, link = new_code(hub)
    done = run([str(BIN / "acorn-edge"), "enrol", "--insecure-http", link], plain_env(),
               cwd=machine)
    assert "enrolled as store store-t node counter-1" in done.stdout
    identity = machine / "var" / "edge" / "identity"
    assert stat.S_IMODE((identity / "node.key").stat().st_mode) == 0o600
    settings = (machine / ".env").read_text()
    assert "PASSWORD" not in settings and 'ACORN_EDGE_STORE_TIMEZONE="Europe/Berlin"' in settings
    assert f'ACORN_EDGE_MQTT_PORT="{fleet.broker.tls_port}"' in settings

    # plain `acorn-edge run` in the machine's folder, as the README says; only its HTTP port is
    # moved off the default for the test (the environment wins over ./.env)
    port = free_port()
    in_folder = f"cd '{machine}' && exec '{BIN}/acorn-edge' run"
    edge = Proc("edge-enrolled", ["/bin/sh", "-c", in_folder],
                plain_env() | {"ACORN_EDGE_HTTP_PORT": str(port)}, port, tmp_path / "edge.log")
    try:
        edge.start(wait=False)
        health = wait_for(lambda: (h := health_of(edge)) and h["broker_connected"] and h,
                          30, "the enrolled agent connected to the broker")
        assert (health["store_id"], health["node_id"]) == ("store-t", "counter-1")
        created = http_post(f"{edge.url}/api/returns", json=a_return(1, currency="EUR"),
                            timeout=10)
        assert created.status_code in (200, 201), created.text
        return_id = created.json()["return_id"]
        wait_for(lambda: _hub_has(tmp_path, return_id), 30, "the return at the hub")
    finally:
        edge.stop()
    log_text = (fleet.broker.local.state_dir / "mosquitto.log").read_text()
    assert re.search(rf"on port {fleet.broker.tls_port}", log_text)
    assert "as edge.store-t.counter-1" in log_text


def _hub_has(tmp: Path, return_id: str) -> bool:
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{tmp / 'hub.db'}")
    try:
        with engine.connect() as conn:
            return bool(conn.execute(sa.text("SELECT 1 FROM returns WHERE return_id = :r"),
                                     {"r": return_id}).first())
    finally:
        engine.dispose()


def test_a_refused_code_and_a_wrong_pinned_hub_write_nothing(
    hub: Proc, fleet: Fleet, tmp_path: Path,
) -> None:
    machine = tmp_path / "store-pc"
    machine.mkdir()
    refused = run([str(BIN / "acorn-edge"), "enrol", "--insecure-http", "--hub", hub.url,
                   "AAAA-BBBB-CCCC"],
                  plain_env(), cwd=machine, ok=False)
    assert "refused the enrolment (401)" in refused.stderr and "not known" in refused.stderr
    code, _ = new_code(hub)
    pinned = run([str(BIN / "acorn-edge"), "enrol", "--insecure-http", "--hub", hub.url,
                  "--ca-fingerprint",
                  "00" * 32, code], plain_env(), cwd=machine, ok=False)
    assert "not the hub the code is for" in pinned.stderr
    assert not (machine / ".env").exists() and not (machine / "var").exists()


def test_only_certificates_the_fleet_ca_signed_connect_and_the_cn_is_the_client_id(
    fleet: Fleet, tmp_path: Path,
) -> None:
    with fleet.broker.local.admin() as admin:
        admin.provision_cert_node("store-t", "counter-1")
    ca_file = fleet.fleet_dir / pki.CA_CERT_FILE
    key, cert = sign_file(fleet.ca, tmp_path / "good", "edge.store-t.counter-1")
    assert tls_connect(fleet.broker.tls_port, ca_file, cert, key,
                       "edge.store-t.counter-1") == "Success"
    rogue, _ = pki.load_or_create_ca(tmp_path / "rogue-ca", fleet.ca.cert.not_valid_before_utc)
    rogue_key, rogue_cert = sign_file(rogue, tmp_path / "rogue", "edge.store-t.counter-1")
    assert tls_connect(fleet.broker.tls_port, ca_file, rogue_cert, rogue_key,
                       "edge.store-t.counter-1").startswith(("refused", "dropped", "no answer"))
    # a node's certificate cannot take another identity's client id (and so its session): the
    # listener renames the connection to the certificate's CN
    assert tls_connect(fleet.broker.tls_port, ca_file, cert, key, "acorn-hub") == "Success"
    log_text = (fleet.broker.local.state_dir / "mosquitto.log").read_text()
    assert " as acorn-hub " not in log_text
    assert log_text.count(" as edge.store-t.counter-1 ") == 2


def test_fleet_ca_init_and_broker_tls_from_the_cli(tmp_path: Path) -> None:
    env = plain_env() | {"ACORN_HUB_FLEET_DIR": str(tmp_path / "fleet"),
                         "ACORN_HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}"}
    run([str(BIN / "acorn-hub"), "db", "upgrade"], env)
    first = run([str(BIN / "acorn-hub"), "fleet", "ca", "init"], env).stdout
    again = run([str(BIN / "acorn-hub"), "fleet", "ca", "init"], env).stdout
    fingerprint = re.search(r"fingerprint \(SHA-256\): ([0-9a-f]{64})", first)
    assert fingerprint and "created" in first and "already there" in again
    assert fingerprint.group(1) in again  # the same CA: nodes' pins stay valid
    assert stat.S_IMODE((tmp_path / "fleet" / pki.CA_KEY_FILE).stat().st_mode) == 0o600
    lines = run([str(BIN / "acorn-hub"), "fleet", "broker-tls", str(tmp_path / "tls"),
                 "--host", "127.0.0.1", "--port", "18883"], env).stdout
    assert "require_certificate true" in lines and "listener 18883" in lines
    ca, _ = pki.load_or_create_ca(tmp_path / "fleet", utc_now())
    server = x509.load_pem_x509_certificate((tmp_path / "tls" / "broker.pem").read_bytes())
    server.verify_directly_issued_by(ca.cert)
    assert stat.S_IMODE((tmp_path / "tls" / "broker.key").stat().st_mode) == 0o600


class CertSession:
    """A node's mutual-TLS MQTT session that subscribes to its own commands."""

    def __init__(self, fleet: Fleet, cert: Path, key: Path, client_id: str) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.tls_set(ca_certs=str(fleet.fleet_dir / pki.CA_CERT_FILE), certfile=str(cert),
                            keyfile=str(key), cert_reqs=ssl.CERT_REQUIRED,
                            tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.connected, self.subscribed, self.dropped = (threading.Event() for _ in range(3))
        self.granted: list[bool] = []
        self.client.on_connect = lambda *_a: self.connected.set()
        self.client.on_subscribe = self._on_subscribe
        self.client.on_disconnect = lambda *_a: self.dropped.set()
        self.client.connect("127.0.0.1", fleet.broker.tls_port)
        self.client.loop_start()
        assert self.connected.wait(10), "no CONNACK"

    def _on_subscribe(self, _c: Any, _u: Any, _mid: Any, reasons: Any, _p: Any) -> None:
        self.granted = [not r.is_failure for r in reasons]
        self.subscribed.set()

    def may_subscribe(self, topic: str) -> bool:
        """Subscribe; True if the broker granted it."""
        self.subscribed.clear()
        self.client.subscribe(topic, qos=1)
        assert self.subscribed.wait(10), "no SUBACK"
        return all(self.granted)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self.client.on_connect = self.client.on_subscribe = self.client.on_disconnect = None


def test_deleting_a_certificate_nodes_broker_client_cuts_it_off_at_once(
    fleet: Fleet, tmp_path: Path,
) -> None:
    with fleet.broker.local.admin() as admin:
        admin.provision_cert_node("store-t", "counter-1")
    key, cert = sign_file(fleet.ca, tmp_path / "node", "edge.store-t.counter-1")
    commands = "acorn/v1/stores/store-t/nodes/counter-1/commands"
    node = CertSession(fleet, cert, key, "edge.store-t.counter-1")
    try:
        assert node.may_subscribe(commands)
        with fleet.broker.local.admin() as admin:
            admin.delete_client("edge.store-t.counter-1")
        assert node.dropped.wait(5), "the broker kept the session of a deleted client"
    finally:
        node.close()
    again = CertSession(fleet, cert, key, "edge.store-t.counter-1")  # the CA still vouches
    try:
        assert not again.may_subscribe(commands)  # ...but the identity has no rights left
    finally:
        again.close()
