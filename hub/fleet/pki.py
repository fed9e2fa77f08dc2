"""The fleet's small certificate authority: its key and certificate, node and broker certificates.

A node proves who it is to the broker with a client certificate the fleet CA signed; its key is
made on the node and never leaves it (the hub only ever sees its CSR). Checked with Mosquitto
2.0.11 (``require_certificate true``, ``use_identity_as_username true``): the certificate's CN
becomes the broker user name, so a node's CN is its dynamic-security user name
``edge.{store}.{node}`` (``hub.fleet.acl.node_username``): one naming scheme for both kinds of
identity.

Rules:
- pure functions over ``cryptography`` objects, except ``load_or_create_ca`` which owns the two
  files in the fleet folder: ``fleet-ca.key`` (mode 0600, written before anything can read it)
  and ``fleet-ca.pem``;
- keys are EC P-256, signatures ECDSA-SHA256; the CA is valid for 10 years, node certificates
  for a setting's days (short: any certificate the CA signed can connect until it expires), the
  broker's for a year;
- a node certificate is built from the CSR's public key only: its subject, extensions and any
  name it asks for are ignored; the hub decides the CN. A CSR whose signature does not verify
  (whoever sent it does not hold the key) or whose key is not EC P-256 is refused;
- a renewal is proved by a signature with the node's CURRENT key over ``renewal_message``
  (a fixed context line, the UTC time it was signed at and the new CSR); ``check_renewal_proof``
  checks that the certificate is the fleet CA's and that the signature verifies with its key;
  the time window, the expiry and the node's standing are ``hub.fleet.lifecycle``'s;
- ``PkiError`` (an ``InputError``) says in a sentence what is wrong with a CSR or a CA folder.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hub.errors import InputError

CA_KEY_FILE = "fleet-ca.key"
CA_CERT_FILE = "fleet-ca.pem"
CA_NAME = "ACORN fleet CA"
CA_LIFETIME = timedelta(days=3650)
SERVER_LIFETIME = timedelta(days=365)
BACKDATE = timedelta(minutes=5)  # a node whose clock is a little behind still accepts it
MAX_CSR_BYTES = 8 * 1024
MAX_CERT_BYTES = 8 * 1024
RENEWAL_CONTEXT = b"acorn-renew/v1\n"  # the edge signs the same bytes (edge_agent.enrolment)


class PkiError(InputError):
    """A CSR, a certificate or the CA folder cannot be used."""


@dataclass(frozen=True)
class FleetCa:
    """The fleet CA's private key and self-signed certificate."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def pem(self) -> str:
        """The CA certificate, PEM."""
        return cert_pem(self.cert)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the CA certificate (DER), hex: what a node pins."""
        return fingerprint(self.cert)


def new_key() -> ec.EllipticCurvePrivateKey:
    """A fresh EC P-256 private key."""
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """A private key as unencrypted PKCS#8 PEM (protect the file, not the bytes)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def cert_pem(cert: x509.Certificate) -> str:
    """A certificate as PEM text."""
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER form, lower-case hex."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ACORN"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: str, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey,
             now: datetime, lifetime: timedelta) -> x509.CertificateBuilder:
    # backdated by a tenth of a short lifetime at most: a node renews two thirds into the
    # certificate's validity, which must still lie ahead of it when the certificate is new
    backdate = min(BACKDATE, lifetime / 10)
    return (x509.CertificateBuilder()
            .subject_name(_name(subject)).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - backdate).not_valid_after(now + lifetime)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))


def create_ca(now: datetime, name: str = CA_NAME) -> FleetCa:
    """A new self-signed CA (may sign certificates, nothing below it may)."""
    key = new_key()
    cert = (_builder(name, _name(name), key.public_key(), now, CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return FleetCa(key, cert)


def load_or_create_ca(folder: Path, now: datetime) -> tuple[FleetCa, bool]:
    """The CA kept in ``folder`` (created there on first use); True when it was just created."""
    key_file, cert_file = folder / CA_KEY_FILE, folder / CA_CERT_FILE
    if key_file.exists() and cert_file.exists():
        return _load(key_file, cert_file), False
    if key_file.exists() or cert_file.exists():
        raise PkiError(f"{folder} holds only one of {CA_KEY_FILE} and {CA_CERT_FILE}: restore "
                       "the other from a backup, or move both away to start a new CA",
                       field="fleet_dir")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca = create_ca(now)
    write_private(key_file, key_pem(ca.key))
    cert_file.write_text(ca.pem)
    return ca, True


def _load(key_file: Path, cert_file: Path) -> FleetCa:
    try:
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    except ValueError as err:
        raise PkiError(f"the fleet CA in {key_file.parent} cannot be read: {err}",
                       field="fleet_dir") from err
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        raise PkiError(f"{key_file} is not the key of {cert_file}", field="fleet_dir")
    return FleetCa(key, cert)


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable by its owner only (0600 from its creation on)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def read_csr(pem: str) -> x509.CertificateSigningRequest:
    """A CSR from PEM, its signature checked and its key EC P-256; PkiError otherwise."""
    if len(pem.encode("utf-8", "replace")) > MAX_CSR_BYTES:
        raise PkiError(f"the CSR is longer than {MAX_CSR_BYTES} bytes", field="csr")
    try:
        csr = x509.load_pem_x509_csr(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as err:
        raise PkiError("the CSR is not a PEM certificate signing request", field="csr") from err
    if not csr.is_signature_valid:
        raise PkiError("the CSR's signature does not verify", field="csr")
    key = csr.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise PkiError("the CSR's key must be EC P-256", field="csr")
    return csr


def sign_node(ca: FleetCa, csr: x509.CertificateSigningRequest, common_name: str,
              now: datetime, lifetime: timedelta) -> x509.Certificate:
    """A TLS client certificate for ``common_name`` over the CSR's key, valid ``lifetime``."""
    key = csr.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)  # read_csr checked it
    return (_builder(common_name, ca.cert.subject, key, now, lifetime)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(_authority_key_id(ca), critical=False)
            .sign(ca.key, hashes.SHA256()))


def sign_server(ca: FleetCa, hostnames: list[str], now: datetime,
                lifetime: timedelta = SERVER_LIFETIME) -> tuple[bytes, x509.Certificate]:
    """A TLS server key (PEM) and certificate for the broker's listener, named ``hostnames``."""
    if not hostnames:
        raise PkiError("a server certificate needs at least one host name", field="host")
    key = new_key()
    names: list[x509.GeneralName] = []
    for host in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (_builder(hostnames[0], ca.cert.subject, key.public_key(), now, lifetime)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(_authority_key_id(ca), critical=False)
            .sign(ca.key, hashes.SHA256()))
    return key_pem(key), cert


def _authority_key_id(ca: FleetCa) -> x509.AuthorityKeyIdentifier:
    ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def common_name(cert: x509.Certificate) -> str:
    """The certificate's subject CN."""
    values = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def read_cert(pem: str) -> x509.Certificate:
    """A certificate from PEM; PkiError if it is not one."""
    if len(pem.encode("utf-8", "replace")) > MAX_CERT_BYTES:
        raise PkiError(f"the certificate is longer than {MAX_CERT_BYTES} bytes",
                       field="certificate")
    try:
        return x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as err:
        raise PkiError("the certificate is not a PEM X.509 certificate",
                       field="certificate") from err


def renewal_message(signed_at: str, csr_pem: str) -> bytes:
    """What a node signs with its current key to ask for a new certificate."""
    return RENEWAL_CONTEXT + signed_at.encode("ascii", "replace") + b"\n" + \
        csr_pem.encode("ascii", "replace")


def issued_by(ca: FleetCa, cert: x509.Certificate) -> bool:
    """True when ``cert`` is signed by the fleet CA's key (dates are not looked at)."""
    try:
        cert.verify_directly_issued_by(ca.cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def check_renewal_proof(ca: FleetCa, cert: x509.Certificate, message: bytes,
                        signature: bytes) -> None:
    """PkiError unless ``cert`` is the CA's and ``signature`` over ``message`` is its key's."""
    if not issued_by(ca, cert):
        raise PkiError("the certificate was not issued by this fleet's CA", field="certificate")
    key = cert.public_key()
    try:
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise InvalidSignature
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as err:
        raise PkiError("the signature does not verify with the certificate's key: the sender "
                       "does not hold this node's key", field="signature") from err


def serial_hex(cert: x509.Certificate) -> str:
    """The certificate's serial number, lower-case hex (as audited and stored)."""
    return format(cert.serial_number, "x")
