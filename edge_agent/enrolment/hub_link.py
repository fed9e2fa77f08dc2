"""How a node without an identity talks to the hub: HTTPS pinned to the fleet CA, or plain HTTP
only when the technician asked for it.

Rules:
- an ``https://`` hub is trusted through the fleet CA alone, never the system's store: the CA
  certificate (public, ``GET /api/fleet/ca``) is fetched once without verification, its SHA-256
  must equal the fingerprint the technician gave (``--ca-fingerprint`` or the code's QR form),
  and every request after that goes over TLS verified against that one CA, host name included.
  An ``https://`` hub without a fingerprint is refused: there would be nothing to verify it by;
- an ``http://`` hub is refused unless ``insecure_http`` (``--insecure-http``); then a warning
  is logged, because the code and the answer travel in clear text;
- a node already enrolled talks to the hub with the CA file it keeps (``trusting``);
- every failure is an ``EnrolmentError`` saying which hub and why; a ``HubSettingsError`` (one
  of them) when the URL or fingerprint as given cannot work, so trying again is pointless.
"""

from __future__ import annotations

import hashlib
import logging
import ssl
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from edge_agent.errors import EdgeError

log = logging.getLogger(__name__)

CA_PATH = "/api/fleet/ca"
TIMEOUT = 30.0


class EnrolmentError(EdgeError):
    """Enrolment failed; the message says why."""


class HubSettingsError(EnrolmentError):
    """The hub's URL or fingerprint as given cannot work: trying again will not help."""


def normal_fingerprint(text: str) -> str:
    """A SHA-256 fingerprint as 64 lower-case hex digits (colons and spaces dropped)."""
    value = text.strip().lower().replace(":", "").replace(" ", "")
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise HubSettingsError(f"{text!r} is not a SHA-256 fingerprint (64 hex digits)")
    return value


def ca_fingerprint(ca: x509.Certificate) -> str:
    """SHA-256 of the CA certificate (DER), hex: what the hub prints and a node pins."""
    return hashlib.sha256(ca.public_bytes(serialization.Encoding.DER)).hexdigest()


def _scheme(hub: str) -> str:
    scheme = urlsplit(hub).scheme.lower()
    if scheme not in {"http", "https"} or not urlsplit(hub).hostname:
        raise HubSettingsError(f"{hub!r} is not a hub URL (https://HOST:PORT)")
    return scheme


def fetch_pinned_ca(hub: str, fingerprint: str,
                    transport: httpx.BaseTransport | None = None) -> str:
    """The hub's fleet CA (PEM), once its fingerprint is the one pinned."""
    wanted = normal_fingerprint(fingerprint)
    try:
        # unverified on purpose: what we fetch is checked against the pin below
        with httpx.Client(base_url=hub, timeout=TIMEOUT, verify=False,
                          transport=transport) as client:
            answer = client.get(CA_PATH)
    except httpx.HTTPError as err:
        raise EnrolmentError(f"cannot reach the hub at {hub}: {err}") from err
    if answer.status_code != 200:
        raise EnrolmentError(f"the hub at {hub} does not serve its fleet CA "
                             f"({answer.status_code})")
    try:
        ca = x509.load_pem_x509_certificate(answer.content)
    except ValueError as err:
        raise EnrolmentError(f"the hub at {hub} served no CA certificate") from err
    actual = ca_fingerprint(ca)
    if actual != wanted:
        raise EnrolmentError(f"the hub at {hub} presents the fleet CA {actual}, not the pinned "
                             f"{wanted}: this is not the hub the code is for; nothing was sent")
    return ca.public_bytes(serialization.Encoding.PEM).decode("ascii")


def trusting(ca_pem: str) -> ssl.SSLContext:
    """A TLS client context that trusts ``ca_pem`` and nothing else."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=ca_pem)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def open_hub(hub: str, fingerprint: str | None, insecure_http: bool = False,
             transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """An HTTP client for ``hub`` that is verified as the module rules say."""
    options: dict[str, Any] = {"base_url": hub, "timeout": TIMEOUT, "transport": transport}
    if _scheme(hub) == "https":
        if not fingerprint:
            raise HubSettingsError("an https hub is verified by its fleet CA: give "
                                 "--ca-fingerprint SHA256 (printed with the code)")
        return httpx.Client(verify=trusting(fetch_pinned_ca(hub, fingerprint, transport)),
                            **options)
    if not insecure_http:
        raise HubSettingsError(f"{hub} is plain HTTP: the code and this node's certificate would "
                             "travel unprotected. Use the hub's https:// URL, or say "
                             "--insecure-http if this network is trusted")
    log.warning("enrolling over plain HTTP with %s (--insecure-http): nothing verifies the hub",
                hub)
    return httpx.Client(**options)


def reason(answer: httpx.Response) -> str:
    """The hub's own message for a refusal (its error shape), else the start of the body."""
    try:
        return "; ".join(str(item["message"]) for item in answer.json()["detail"])
    except (ValueError, KeyError, TypeError):
        return answer.text[:200] or answer.reason_phrase
