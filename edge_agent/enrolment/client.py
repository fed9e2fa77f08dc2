"""Enrol this machine as a store node: make a key here, send a CSR with the code, keep the answer.

``acorn-edge enrol`` calls ``enrol``. The hub (``POST /api/fleet/enrol``) checks the code and
answers the node's identity, its certificate, the fleet CA, the broker's mutual-TLS address and
the store's settings; this module writes them where ``acorn-edge run`` finds them.

Rules:
- the hub is reached through ``hub_link.open_hub``: HTTPS pinned to the fleet CA's fingerprint,
  or plain HTTP only when the technician said ``--insecure-http``;
- the private key (EC P-256) is made on this machine and never sent; it is written only after the
  hub accepted the code, with mode 0600 from its creation on, into ``{data_dir}/identity/``
  next to the certificate and the CA;
- what the hub answers is checked before anything is written: the certificate is for our key,
  signed by the CA it sent, and names ``edge.{store}.{node}``; when a CA fingerprint was given
  (``--ca-fingerprint`` or the code's QR form) the CA must match it, so a node pins its hub;
- a data folder that already holds an identity is refused unless ``force``;
- the settings file (dotenv, ``ACORN_EDGE_*``) keeps the lines it had for other settings; the
  ones enrolment decides are replaced;
- ``EnrolmentError`` (an ``EdgeError``) says in a sentence what went wrong, including the hub's
  own message for a refused code.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edge_agent.enrolment.hub_link import EnrolmentError, ca_fingerprint, open_hub, reason
from edge_agent.settings import ENV_PREFIX
from protocol import check_id

log = logging.getLogger(__name__)

ENROL_PATH = "/api/fleet/enrol"
URI_SCHEME = "acorn"  # the QR form: acorn://enrol?hub=URL&code=CODE&store=S&ca=SHA256
KEY_FILE, CERT_FILE, CA_FILE = "node.key", "node.pem", "fleet-ca.pem"
MACHINE_ID = "/etc/machine-id"
SERIAL_FILES = ("/sys/class/dmi/id/product_serial", "/sys/class/dmi/id/board_serial", MACHINE_ID)


@dataclass(frozen=True)
class Ticket:
    """What the technician gave: the code, and what the QR form adds."""

    code: str
    hub: str | None = None
    store: str | None = None
    ca_fingerprint: str | None = None


@dataclass(frozen=True)
class Enrolled:
    """Where this node's identity was written."""

    store_id: str
    node_id: str
    settings_file: Path
    identity_dir: Path
    not_after: str


def parse_ticket(text: str) -> Ticket:
    """A plain code, or the QR form ``acorn://enrol?hub=...&code=...&store=...&ca=...``."""
    if not text.lower().startswith(f"{URI_SCHEME}://"):
        return Ticket(text.strip())
    query = {k: v[0] for k, v in parse_qs(urlsplit(text).query).items()}
    if not query.get("code"):
        raise EnrolmentError("the enrolment link has no code")
    return Ticket(query["code"], query.get("hub"), query.get("store"), query.get("ca"))


def hardware_serial() -> str:
    """The machine's serial (DMI), else a hash of its machine-id, else its host name."""
    for name in SERIAL_FILES:
        try:
            value = Path(name).read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue
        if value and value.lower() not in {"none", "default string", "to be filled by o.e.m."}:
            if name == MACHINE_ID:  # confidential by systemd's rules: never sent as it is
                return "machine-id:" + hashlib.sha256(value.encode()).hexdigest()[:16]
            return value[:200]
    return (socket.gethostname() or platform.node() or "unknown")[:200]


def make_csr(key: ec.EllipticCurvePrivateKey) -> str:
    """A CSR over our key (the hub decides the name it certifies)."""
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acorn-node")]))
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def request_identity(client: httpx.Client, ticket: Ticket, csr: str, serial: str
                     ) -> dict[str, Any]:
    """POST the code and CSR to the hub; its answer, or EnrolmentError with its reason."""
    body = {"code": ticket.code, "csr": csr, "serial": serial, "store_id": ticket.store}
    try:
        answer = client.post(ENROL_PATH, json=body)
    except httpx.HTTPError as err:
        raise EnrolmentError(f"cannot reach the hub at {client.base_url}: {err}") from err
    if answer.status_code != 200:
        raise EnrolmentError(f"the hub refused the enrolment ({answer.status_code}): "
                             f"{reason(answer)}")
    try:
        data: dict[str, Any] = answer.json()
    except ValueError as err:
        raise EnrolmentError("the hub's answer is not JSON") from err
    return data


def check_answer(data: dict[str, Any], key: ec.EllipticCurvePrivateKey,
                 pinned: str | None, trusted: x509.Certificate | None = None
                 ) -> tuple[x509.Certificate, x509.Certificate]:
    """The node certificate and CA, once they are ours, consistent and (if pinned) the hub's."""
    try:
        store, node = check_id(data["store_id"], "store id"), check_id(data["node_id"], "node id")
        cert = x509.load_pem_x509_certificate(data["certificate"].encode("ascii"))
        ca = trusted or x509.load_pem_x509_certificate(
            data["ca_certificates"][0].encode("ascii"))
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as err:
        raise EnrolmentError(f"the hub's answer is incomplete or malformed: {err}") from err
    actual = ca_fingerprint(ca)
    if pinned and actual != pinned.strip().lower().replace(":", ""):
        raise EnrolmentError(f"the hub's CA fingerprint is {actual}, not the {pinned} this code "
                             "came with: this is not the hub the code is for")
    ca_key = ca.public_key()
    try:
        assert isinstance(ca_key, ec.EllipticCurvePublicKey)
        ca_key.verify(cert.signature, cert.tbs_certificate_bytes,
                      ec.ECDSA(hashes.SHA256()))
    except (AssertionError, InvalidSignature) as err:
        raise EnrolmentError("the certificate is not signed by the CA the hub sent") from err
    if cert.public_key() != key.public_key():
        raise EnrolmentError("the certificate is not for this machine's key")
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names or names[0].value != f"edge.{store}.{node}":
        raise EnrolmentError("the certificate does not name this node")
    return cert, ca


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner may read (0600 from its creation on)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def settings_lines(data: dict[str, Any], data_dir: Path, identity: Path,
                   hub: str | None = None) -> dict[str, str]:
    """The ``ACORN_EDGE_*`` settings enrolment decides (store settings the hub left empty are
    not written: the edge's defaults apply)."""
    store = data.get("store") or {}
    broker = data.get("broker") or {}
    values = {
        "STORE_ID": data["store_id"], "NODE_ID": data["node_id"],
        "DATA_DIR": str(data_dir.resolve()), "HUB_URL": hub,
        "MQTT_HOST": str(broker.get("host", "")), "MQTT_PORT": str(broker.get("port", "")),
        "MQTT_TLS_CA_FILE": str((identity / CA_FILE).resolve()),
        "MQTT_TLS_CERT_FILE": str((identity / CERT_FILE).resolve()),
        "MQTT_TLS_KEY_FILE": str((identity / KEY_FILE).resolve()),
        "STORE_NAME": store.get("name"), "STORE_TIMEZONE": store.get("time_zone"),
        "CURRENCY": store.get("currency"), "STORE_LANGUAGE": store.get("language"),
        "PRINTER_PAPER": store.get("printer_paper"),
    }
    return {ENV_PREFIX + k: str(v) for k, v in values.items() if v}


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def merge_settings(path: Path, values: dict[str, str]) -> None:
    """Write ``values`` into the dotenv file, keeping its lines for other settings."""
    kept: list[str] = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            key = line.split("=", 1)[0].strip().removeprefix("export ").strip()
            if key not in values:
                kept.append(line)
    lines = [*kept, "# written by acorn-edge enrol", *(f"{k}={_quoted(v)}"
                                                        for k, v in values.items())]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def refuse_existing(identity: Path, force: bool) -> None:
    """EnrolmentError if ``identity`` already holds a node identity (unless ``force``)."""
    if (identity / CERT_FILE).exists() and not force:
        raise EnrolmentError(f"{identity} already holds a node identity: this machine is "
                             "enrolled (use --force to enrol it again)")


def install(data: dict[str, Any], key: ec.EllipticCurvePrivateKey, pinned: str | None,
            data_dir: Path, settings_file: Path, hub: str | None) -> Enrolled:
    """Check the hub's answer, then write the key, certificate, CA and settings."""
    cert, ca = check_answer(data, key, pinned)
    identity = data_dir / "identity"
    identity.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(identity / KEY_FILE, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (identity / CERT_FILE).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (identity / CA_FILE).write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    merge_settings(settings_file, settings_lines(data, data_dir, identity, hub))
    return Enrolled(data["store_id"], data["node_id"], settings_file, identity,
                    cert.not_valid_after_utc.isoformat())


def enrol(ticket: Ticket, hub: str, data_dir: Path, settings_file: Path, force: bool = False,
          serial: str | None = None, transport: httpx.BaseTransport | None = None,
          insecure_http: bool = False) -> Enrolled:
    """Enrol this machine with the hub; write identity and settings; EnrolmentError on failure."""
    refuse_existing(data_dir / "identity", force)
    key = ec.generate_private_key(ec.SECP256R1())
    with open_hub(hub, ticket.ca_fingerprint, insecure_http, transport) as client:
        data = request_identity(client, ticket, make_csr(key), serial or hardware_serial())
    return install(data, key, ticket.ca_fingerprint, data_dir, settings_file, hub)
