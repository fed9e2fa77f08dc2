"""Renewal: a node's certificate is renewed by itself, before two thirds of its life.

``Renewer`` is started by the agent when it logs in by certificate and knows ``hub_url``.

Rules:
- after two thirds of the certificate's life (``renew_at``) the node asks ``POST
  /api/fleet/renew`` for a new certificate over the SAME key, proving it holds it with a
  signature over ``RENEWAL_CONTEXT``, the UTC time and the CSR (the hub checks the same bytes:
  ``hub.fleet.pki.renewal_message``); a failure is logged and tried again after
  ``cert_renew_retry_seconds``, doubling up to ``cert_renew_retry_max_seconds``;
- an ``https://`` hub is verified by the fleet CA file this node keeps, nothing else;
- the answer is checked as at enrolment (signed by the CA file we trust, for our key, naming
  us), then written atomically over the certificate file (a temporary file in the same folder,
  fsynced, renamed): a crash leaves the old certificate or the new one, never half of one; the
  key file is never rewritten, so the pair always matches;
- then ``on_renewed`` is called (the agent makes the MQTT link reconnect with it).
"""

from __future__ import annotations

import base64
import logging
import os
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edge_agent.enrolment.client import check_answer, make_csr
from edge_agent.enrolment.hub_link import EnrolmentError, reason, trusting
from edge_agent.settings import EdgeSettings
from protocol import format_utc, utc_now

log = logging.getLogger(__name__)

RENEW_PATH = "/api/fleet/renew"
RENEWAL_CONTEXT = b"acorn-renew/v1\n"  # what the hub checks (hub.fleet.pki.renewal_message)


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
        verify: Any = True
        if settings.hub_url.lower().startswith("https:"):
            verify = trusting(ca.public_bytes(serialization.Encoding.PEM).decode("ascii"))
        with httpx.Client(base_url=settings.hub_url, timeout=30, transport=transport,
                          verify=verify) as client:
            answer = client.post(RENEW_PATH, json=body)
    except httpx.HTTPError as err:
        raise EnrolmentError(f"cannot reach the hub at {settings.hub_url}: {err}") from err
    if answer.status_code != 200:
        raise EnrolmentError(f"the hub refused the renewal ({answer.status_code}): "
                             f"{reason(answer)}")
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
