"""Enrol this machine as a store node: make a key here, send a CSR with the code, keep the answer.

``acorn-edge enrol`` calls ``enrol``. The hub (``POST /api/fleet/enrol``) checks the code and
answers the node's identity, its certificate, the fleet CA, the broker's mutual-TLS address and
the store's settings; this module writes them where ``acorn-edge run`` finds them.

Rules:
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

Renewal (``Renewer``, started by the agent when it logs in by certificate and knows ``hub_url``):
- after two thirds of the certificate's life (``renew_at``) the node asks ``POST
  /api/fleet/renew`` for a new certificate over the SAME key, proving it holds it with a
  signature over ``RENEWAL_CONTEXT``, the UTC time and the CSR (the hub checks the same bytes:
  ``hub.fleet.pki.renewal_message``); a failure is logged and tried again after
  ``cert_renew_retry_seconds``, doubling up to ``cert_renew_retry_max_seconds``;
- the answer is checked as at enrolment (signed by the CA file we trust, for our key, naming
  us), then written atomically over the certificate file (a temporary file in the same folder,
  fsynced, renamed): a crash leaves the old certificate or the new one, never half of one; the
  key file is never rewritten, so the pair always matches;
- then ``on_renewed`` is called (the agent makes the MQTT link reconnect with it).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import platform
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edge_agent.errors import EdgeError
from edge_agent.settings import ENV_PREFIX, EdgeSettings
from protocol import check_id, format_utc, utc_now

log = logging.getLogger(__name__)

ENROL_PATH = "/api/fleet/enrol"
RENEW_PATH = "/api/fleet/renew"
RENEWAL_CONTEXT = b"acorn-renew/v1\n"  # what the hub checks (hub.fleet.pki.renewal_message)
URI_SCHEME = "acorn"  # the QR form: acorn://enrol?hub=URL&code=CODE&store=S&ca=SHA256
KEY_FILE, CERT_FILE, CA_FILE = "node.key", "node.pem", "fleet-ca.pem"
MACHINE_ID = "/etc/machine-id"
SERIAL_FILES = ("/sys/class/dmi/id/product_serial", "/sys/class/dmi/id/board_serial", MACHINE_ID)


class EnrolmentError(EdgeError):
    """Enrolment failed; the message says why."""


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


def request_identity(hub: str, ticket: Ticket, csr: str, serial: str,
                     transport: httpx.BaseTransport | None = None) -> dict[str, Any]:
    """POST the code and CSR to the hub; its answer, or EnrolmentError with its reason."""
    body = {"code": ticket.code, "csr": csr, "serial": serial, "store_id": ticket.store}
    try:
        with httpx.Client(base_url=hub, timeout=30, transport=transport) as client:
            answer = client.post(ENROL_PATH, json=body)
    except httpx.HTTPError as err:
        raise EnrolmentError(f"cannot reach the hub at {hub}: {err}") from err
    if answer.status_code != 200:
        raise EnrolmentError(f"the hub refused the enrolment ({answer.status_code}): "
                             f"{_reason(answer)}")
    try:
        data: dict[str, Any] = answer.json()
    except ValueError as err:
        raise EnrolmentError("the hub's answer is not JSON") from err
    return data


def _reason(answer: httpx.Response) -> str:
    try:
        return "; ".join(str(item["message"]) for item in answer.json()["detail"])
    except (ValueError, KeyError, TypeError):
        return answer.text[:200] or answer.reason_phrase


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
    actual = hashlib.sha256(ca.public_bytes(serialization.Encoding.DER)).hexdigest()
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


def enrol(ticket: Ticket, hub: str, data_dir: Path, settings_file: Path, force: bool = False,
          serial: str | None = None, transport: httpx.BaseTransport | None = None) -> Enrolled:
    """Enrol this machine with the hub; write identity and settings; EnrolmentError on failure."""
    identity = data_dir / "identity"
    if (identity / CERT_FILE).exists() and not force:
        raise EnrolmentError(f"{identity} already holds a node identity: this machine is "
                             "enrolled (use --force to enrol it again)")
    key = ec.generate_private_key(ec.SECP256R1())
    data = request_identity(hub, ticket, make_csr(key), serial or hardware_serial(), transport)
    cert, ca = check_answer(data, key, ticket.ca_fingerprint)
    identity.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(identity / KEY_FILE, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (identity / CERT_FILE).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (identity / CA_FILE).write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    merge_settings(settings_file, settings_lines(data, data_dir, identity, hub))
    return Enrolled(data["store_id"], data["node_id"], settings_file, identity,
                    cert.not_valid_after_utc.isoformat())


# --- renewal ----------------------------------------------------------------------------------


def renew_at(cert: x509.Certificate) -> datetime:
    """When to renew: two thirds into the certificate's life."""
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    return start + (end - start) * 2 / 3


def renewal_body(cert_pem: str, key: ec.EllipticCurvePrivateKey, now: datetime
                 ) -> dict[str, str]:
    """The renewal request: our certificate, a CSR over our key, signed with it at ``now``."""
    csr, signed_at = make_csr(key), format_utc(now)
    message = RENEWAL_CONTEXT + signed_at.encode("ascii") + b"\n" + csr.encode("ascii")
    signature = key.sign(message, ec.ECDSA(hashes.SHA256()))
    return {"certificate": cert_pem, "csr": csr, "signed_at": signed_at,
            "signature": base64.b64encode(signature).decode("ascii")}


def _load_identity(settings: EdgeSettings
                   ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, x509.Certificate]:
    assert settings.mqtt_tls_key_file and settings.mqtt_tls_cert_file and \
        settings.mqtt_tls_ca_file  # the agent starts a Renewer only for a certificate login
    try:
        key = serialization.load_pem_private_key(settings.mqtt_tls_key_file.read_bytes(), None)
        cert = x509.load_pem_x509_certificate(settings.mqtt_tls_cert_file.read_bytes())
        ca = x509.load_pem_x509_certificate(settings.mqtt_tls_ca_file.read_bytes())
    except (OSError, ValueError) as err:
        raise EnrolmentError(f"cannot read this node's identity files: {err}") from err
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise EnrolmentError("this node's key is not an EC key")
    return key, cert, ca


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` whole: a temporary file beside it, fsynced, renamed."""
    temporary = path.with_name(f".{path.name}.new")
    with open(temporary, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def renew(settings: EdgeSettings, transport: httpx.BaseTransport | None = None
          ) -> x509.Certificate:
    """Ask the hub for a new certificate over our key; write it; EnrolmentError on failure."""
    if not settings.hub_url:
        raise EnrolmentError("ACORN_EDGE_HUB_URL is not set: this node cannot renew")
    key, cert, ca = _load_identity(settings)
    body = renewal_body(cert.public_bytes(serialization.Encoding.PEM).decode("ascii"), key,
                        utc_now())
    try:
        with httpx.Client(base_url=settings.hub_url, timeout=30, transport=transport) as client:
            answer = client.post(RENEW_PATH, json=body)
    except httpx.HTTPError as err:
        raise EnrolmentError(f"cannot reach the hub at {settings.hub_url}: {err}") from err
    if answer.status_code != 200:
        raise EnrolmentError(f"the hub refused the renewal ({answer.status_code}): "
                             f"{_reason(answer)}")
    try:
        data: dict[str, Any] = answer.json()
    except ValueError as err:
        raise EnrolmentError("the hub's answer is not JSON") from err
    if (data.get("store_id"), data.get("node_id")) != (settings.store_id, settings.node_id):
        raise EnrolmentError("the hub renewed a certificate for another node")
    new, _ = check_answer(data, key, None, trusted=ca)
    assert settings.mqtt_tls_cert_file is not None
    write_atomically(settings.mqtt_tls_cert_file, new.public_bytes(serialization.Encoding.PEM))
    return new


class Renewer:
    """Renews this node's certificate after two thirds of its life, by itself; ``start`` once,
    ``stop`` once."""

    def __init__(self, settings: EdgeSettings, on_renewed: Callable[[], None],
                 transport: httpx.BaseTransport | None = None) -> None:
        self._settings, self._on_renewed, self._transport = settings, on_renewed, transport
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="edge-cert-renewal", daemon=True)

    def start(self) -> None:
        """Start the background task."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End the background task."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _due_in(self) -> float:
        """Seconds until the certificate on disk is due for renewal (0: now)."""
        _, cert, _ = _load_identity(self._settings)
        due = renew_at(cert)
        log.info("certificate %x valid until %s; renewal due at %s", cert.serial_number,
                 format_utc(cert.not_valid_after_utc), format_utc(due))
        return max(0.0, (due - utc_now()).total_seconds())

    def _run(self) -> None:
        first = self._settings.cert_renew_retry_seconds
        retry, floor, wait = first, 0.0, None
        while not self._stopping.is_set():
            try:
                if wait is None:
                    # a certificate due again at once (a hub issuing them nearly expired) must
                    # not make this a busy loop: ``floor`` after a renewal
                    wait = max(floor, self._due_in())
                if self._stopping.wait(wait):
                    return
                new = renew(self._settings, self._transport)
            except EnrolmentError as err:
                log.warning("certificate renewal failed: %s; trying again in %.0f s", err, retry)
                wait, retry = retry, min(retry * 2, self._settings.cert_renew_retry_max_seconds)
                continue
            log.info("certificate renewed: %x valid until %s; the MQTT link reconnects with it",
                     new.serial_number, format_utc(new.not_valid_after_utc))
            retry, floor, wait = first, first, None
            try:
                self._on_renewed()
            except Exception:  # the agent's callback must not end renewals
                log.exception("reconnecting with the renewed certificate failed")
