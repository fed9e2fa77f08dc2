"""A node's identity after enrolment: renewal, revocation and rotation.

Renewal (``POST /api/fleet/renew``, no session or token) is proved by the node's CURRENT key: the
hub API is plain HTTP, so the node sends its current certificate, a new CSR, the UTC time it
signs at and an ECDSA signature with its current key over ``pki.renewal_message(signed_at,
csr)``. Whoever does not hold the key cannot sign; a copied request is only good for
``RENEW_WINDOW`` and yields a certificate for the CSR's key, which the copier does not hold
either.

Rules:
- a renewal is refused unproved (``AuthError``, 401, logged but not audited: anyone can send
  one) when the certificate is not the fleet CA's, the signature does not verify with its key,
  or ``signed_at`` is more than ``RENEW_WINDOW`` from the hub's clock; it is refused
  (``RenewalRefused``, 403, audited ``device.renewal_refused``: the sender holds a node's key)
  when the node is revoked, the certificate is not the node's current one (``identities``:
  superseded by a rotation, or from before the hub kept serials), or it expired more than the
  grace period ago; a certificate within the grace period still renews, so a store machine that
  was off over a long weekend comes back by itself;
- a renewed certificate names the same node (CN from the old certificate), is signed over the
  CSR's key, becomes the current one, and is audited ``device.renewed`` (old and new serial);
- ``revoke`` (``manage_devices``, the store in scope, a reason required) marks the node revoked
  and audits ``device.revoked`` (who, role, why, its serial) in one transaction, THEN deletes
  the node's broker client and role, which makes Mosquitto drop its connection at once (disabling
  does not stop a certificate login, see ``hub.fleet.dynsec``); revoking again retries the
  broker and audits nothing new; a revoked node id is never enrolled again (``enrolment``) and
  the hub's ingest refuses its messages (``hub.sync.ingest.batch``);
- ``rotate`` makes an enrolment code bound to a known, unrevoked node id (audited
  ``device.rotation_started``); enrolling with it gives the machine a new key and certificate,
  and from then on the old certificate is refused renewal. Until it expires the old certificate
  can still log in to the broker under the same client id: rotate because a key may be
  compromised only together with ``revoke`` of that node id and a new node id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from sqlalchemy import Connection, Engine, select

from hub.access.permissions import Action, Principal, require, require_in_scope
from hub.errors import AuthError, BrokerError, Forbidden, InputError, NotFound
from hub.fleet import identities, pki
from hub.fleet.acl import node_username, parse_node_username
from hub.fleet.enrolment import IssuedCode, create_code
from hub.fleet.stores import place
from hub.storage.audit_chain import AuditDraft, jsonable
from hub.storage.engine import reading, writing
from hub.storage.tables.core import nodes
from protocol import format_utc, utc_now

log = logging.getLogger(__name__)

RENEW_WINDOW = timedelta(minutes=5)
MAX_REASON = 500
SYSTEM = ("system:renewal", "system")


class RenewalRefused(Forbidden):
    """A node proved it holds its key, but the hub will not renew its certificate."""


@dataclass(frozen=True)
class RenewalRequest:
    """A renewal as it reached the hub."""

    certificate: str
    csr: str
    signed_at: str
    signature: bytes
    client: str | None = None


@dataclass(frozen=True)
class Renewed:
    """The node's new certificate."""

    store_id: str
    node_id: str
    certificate: str
    ca: str
    not_after: datetime


def _signed_at(text: str, now: datetime) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError as err:
        raise InputError("signed_at must be an ISO 8601 UTC time", field="signed_at") from err
    if when.tzinfo is None:
        raise InputError("signed_at must carry its UTC offset (Z)", field="signed_at")
    if abs(now - when) > RENEW_WINDOW:
        raise AuthError(f"the renewal was signed at {text}, more than "
                        f"{int(RENEW_WINDOW.total_seconds())} s from the hub's clock "
                        f"({format_utc(now)}): check the node's clock", field="signed_at")
    return when


def prove(ca: pki.FleetCa, request: RenewalRequest, now: datetime
          ) -> tuple[x509.Certificate, x509.CertificateSigningRequest, str, str]:
    """The certificate, CSR and node of a renewal whose sender holds the node's key; AuthError
    (unproved) or InputError (malformed) otherwise."""
    cert = pki.read_cert(request.certificate)
    csr = pki.read_csr(request.csr)
    _signed_at(request.signed_at, now)
    try:
        pki.check_renewal_proof(ca, cert, pki.renewal_message(request.signed_at, request.csr),
                                request.signature)
    except pki.PkiError as err:
        raise AuthError(err.message, field=err.field) from err
    node = parse_node_username(pki.common_name(cert))
    if node is None:
        raise AuthError("the certificate does not name a store node", field="certificate")
    return cert, csr, *node


def _refusal(cert: x509.Certificate, found: identities.Standing | None, now: datetime,
             grace: timedelta) -> str | None:
    """Why the node's proven certificate may not be renewed, None if it may."""
    if found is not None and found.revoked:
        return f"this node was revoked ({found.revoked_reason}): it is never renewed"
    if found is None or found.serial != pki.serial_hex(cert):
        return ("this is not the node's current certificate (another was issued since, e.g. by "
                "a rotation): enrol again with a new code")
    if now > cert.not_valid_after_utc + grace:
        return (f"this certificate expired at {format_utc(cert.not_valid_after_utc)}, longer ago "
                "than renewal allows: enrol again with a new code (acorn-hub devices rotate)")
    return None


def renew(engine: Engine, ca: pki.FleetCa, request: RenewalRequest, lifetime: timedelta,
          grace: timedelta) -> Renewed:
    """Sign a new certificate for a node that proved it holds its current key; audited."""
    now = utc_now()
    cert, csr, store_id, node_id = prove(ca, request, now)
    new = pki.sign_node(ca, csr, pki.common_name(cert), now, lifetime)
    with writing(engine) as tx:
        found = identities.standing(tx.conn, store_id, node_id, lock=True)
        why = _refusal(cert, found, tx.now, grace)
        facts: dict[str, Any] = {"certificate_serial": pki.serial_hex(cert),
                                 "not_after": format_utc(cert.not_valid_after_utc),
                                 "from": request.client}
        if why is not None:
            tx.audit(AuditDraft(*SYSTEM, "device.renewal_refused", "node",
                                f"{store_id}/{node_id}", None, jsonable(facts), why))
        else:
            identities.record_certificate(tx.conn, store_id, node_id, new, tx.now)
            tx.audit(AuditDraft(*SYSTEM, "device.renewed", "node", f"{store_id}/{node_id}",
                                jsonable(facts), jsonable({
                                    "certificate_serial": pki.serial_hex(new),
                                    "not_after": format_utc(new.not_valid_after_utc)})))
    if why is not None:
        log.warning("renewal of %s/%s refused: %s", store_id, node_id, why)
        raise RenewalRefused(why, field="certificate")
    log.info("renewed the certificate of %s/%s until %s", store_id, node_id,
             format_utc(new.not_valid_after_utc))
    return Renewed(store_id, node_id, pki.cert_pem(new), ca.pem, new.not_valid_after_utc)


# --- revocation and rotation ------------------------------------------------------------------


@dataclass(frozen=True)
class Revoked:
    """A revoked node; ``already`` when it was revoked before this call."""

    store_id: str
    node_id: str
    revoked_at: datetime
    already: bool


def _check_ids(store_id: str, node_id: str) -> None:
    try:
        node_username(store_id, node_id)
    except ValueError as err:
        raise InputError(str(err), field="store" if "store" in str(err) else "node") from err


def _known(conn: Connection, store_id: str, node_id: str) -> bool:
    row = conn.execute(select(nodes.c.node_id).where(nodes.c.store_id == store_id,
                                                     nodes.c.node_id == node_id)).first()
    return row is not None or identities.standing(conn, store_id, node_id) is not None


def revoke(engine: Engine, principal: Principal, store_id: str, node_id: str, reason: str,
           unprovision: Callable[[str, str], None]) -> Revoked:
    """Revoke the node at the hub (audited), then remove it from the broker."""
    require(principal, Action.MANAGE_DEVICES)
    _check_ids(store_id, node_id)
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise InputError(f"say why the node is revoked (1 to {MAX_REASON} characters)",
                         field="reason")
    with writing(engine) as tx:
        if not _known(tx.conn, store_id, node_id):
            raise NotFound(f"node {store_id}/{node_id} is not known to the hub", field="node")
        require_in_scope(principal, place(tx.conn, store_id))
        found = identities.standing(tx.conn, store_id, node_id, lock=True)
        already = found is not None and found.revoked
        if not already:
            identities.mark_revoked(tx.conn, store_id, node_id, tx.now, principal.actor,
                                    principal.role.value, reason)
            tx.audit(AuditDraft(principal.actor, principal.role.value, "device.revoked", "node",
                                f"{store_id}/{node_id}", jsonable({
                                    "certificate_serial": found.serial if found else None,
                                    "broker_user": node_username(store_id, node_id)}),
                                jsonable({"revoked": True}), reason))
        when = found.revoked_at if already and found and found.revoked_at else tx.now
    try:
        unprovision(store_id, node_id)
    except BrokerError as err:
        raise BrokerError(f"{store_id}/{node_id} is revoked at the hub (no renewal, enrolment or "
                          f"event of it is accepted) but the broker was not told: {err.message}; "
                          "run revoke again once the broker answers") from err
    return Revoked(store_id, node_id, when, already)


def rotate(engine: Engine, principal: Principal, store_id: str, node_id: str,
           minutes: int) -> IssuedCode:
    """An enrolment code that gives a known, unrevoked node a new key and certificate."""
    require(principal, Action.MANAGE_DEVICES)
    _check_ids(store_id, node_id)
    with reading(engine) as conn:
        if not _known(conn, store_id, node_id):
            raise NotFound(f"node {store_id}/{node_id} is not known to the hub: enrol it with "
                           f"acorn-hub devices enrol {store_id} --node {node_id}", field="node")
    return create_code(engine, principal, store_id, minutes, node_id,
                       action="device.rotation_started")
