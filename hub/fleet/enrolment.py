"""Enrolment codes: made by a technician or an admin for one store, redeemed once by a new node.

A new mini-PC sends the code, a CSR and its hardware serial (``hub.web.api.fleet``); the hub
checks the code, signs the node's certificate (``hub.fleet.pki``), gives the node its broker
client and role (``hub.fleet.dynsec``) and answers what the node needs to run.

Rules:
- a code is 12 characters of Crockford's base 32 (60 bits), shown as ``XXXX-XXXX-XXXX``; it is
  read case-insensitively, dashes and spaces ignored, ``O`` as ``0`` and ``I``/``L`` as ``1``;
  only its SHA-256 is stored (``enrolment_codes``);
- making one needs ``manage_devices`` (technician, admin) with the store in the caller's scope;
  the store must be known to the hub; it expires after ``enrol_code_minutes`` (at most 60);
- a code is used once: the row is locked and marked used in the transaction that records the
  node, after the broker has the node's client; a refusal is one of ``Refusal`` and the code
  stays as it was;
- guessing is throttled by counts, never by sleeping: refused codes are counted per client
  address and for all clients together in a fixed window (``enrolment_failures``); at either
  limit the next attempts are refused unchecked (``Refusal.THROTTLED``, with the seconds to
  wait) until the window ends. A bad CSR or serial is the caller's mistake, not a guess: it is
  refused before the code is looked at and not counted;
- audited: ``enrolment.code_created`` (store, node, expiry; never the code), ``device.enrolled``
  (node, serial, certificate serial and expiry), ``enrolment.refused`` for every checked code
  that is refused (reason, address, serial) and ``enrolment.throttled`` once when a limit is
  reached (attempts refused unchecked after that are not audited one by one: a guesser could
  otherwise grow the audit trail without bound; they are logged);
- node ids: the one the code was made for, else the first free ``counter-N`` of the store;
  a revoked node id is never enrolled again: no code is made for it and a code made before the
  revocation is refused (``Refusal.REVOKED``);
- the certificate signed becomes the node's current one (``hub.fleet.identities``) in the
  transaction that marks the code used: a re-enrolment (``acorn-hub devices rotate``) makes the
  node's older certificate unrenewable.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from cryptography import x509
from sqlalchemy import Connection, Engine, select, update

from hub.access.permissions import Action, Principal, require, require_in_scope
from hub.errors import AuthError, Conflict, InputError, NotFound
from hub.fleet import identities, pki
from hub.fleet.acl import node_username
from hub.fleet.stores import decommissioned, place
from hub.storage import outbox
from hub.storage.audit_chain import AuditDraft, jsonable
from hub.storage.engine import Tx, reading, writing
from hub.storage.tables.core import nodes, stores
from hub.storage.tables.fleet import enrolment_codes, enrolment_failures
from protocol import check_id, format_utc, utc_now

log = logging.getLogger(__name__)

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
CODE_LENGTH = 12
MAX_CODE_MINUTES = 60
ALL_CLIENTS = "*"
SYSTEM = ("system:enrolment", "system")
MAX_SERIAL = 200
NODE_PREFIX = "counter-"


class Refusal(StrEnum):
    """Why a code was refused."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    WRONG_STORE = "wrong_store"
    THROTTLED = "throttled"
    REVOKED = "revoked"


MESSAGES = {
    Refusal.UNKNOWN: "this enrolment code is not known: check it, or ask for a new one",
    Refusal.EXPIRED: "this enrolment code has expired: ask for a new one",
    Refusal.USED: "this enrolment code was used already: ask for a new one",
    Refusal.WRONG_STORE: "this enrolment code is for another store",
    Refusal.REVOKED: "this code's node was revoked: its id is never enrolled again; "
                     "ask for a code for a new node",
}


class EnrolmentRefused(AuthError):
    """The code was refused (``reason``); ``retry_after`` seconds when throttled."""

    def __init__(self, reason: Refusal, retry_after: int = 0) -> None:
        message = MESSAGES.get(reason) or (
            f"too many wrong enrolment codes: try again in {retry_after} s")
        super().__init__(message, field="code")
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limits:
    """The guessing throttle's settings."""

    per_client: int = 10
    overall: int = 100
    window: timedelta = timedelta(seconds=900)


@dataclass(frozen=True)
class IssuedCode:
    """A new code, shown once."""

    code: str
    store_id: str
    node_id: str | None
    expires_at: datetime


@dataclass(frozen=True)
class Request:
    """An enrolment attempt as it reached the hub."""

    code: str
    csr_pem: str
    serial: str
    store_id: str | None  # the store the node expects, when it says
    client: str | None  # the caller's address


@dataclass(frozen=True)
class Claim:
    """A code that checked out: whose it is and which node it makes."""

    code_hash: str
    store_id: str
    node_id: str


# --- codes, pure -------------------------------------------------------------------------------


def new_code() -> str:
    """A random code, grouped for reading aloud."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def normalise(code: str) -> str:
    """The code as it is hashed: upper case, no separators, look-alike letters mapped."""
    cleaned = code.strip().upper().replace("-", "").replace(" ", "")
    return cleaned.translate(str.maketrans("OIL", "011"))


def code_hash(code: str) -> str:
    """SHA-256 (hex) of the normalised code: all that is stored."""
    return hashlib.sha256(normalise(code).encode("utf-8")).hexdigest()


def refusal(row: Any, expected_store: str | None, now: datetime) -> Refusal | None:
    """Why a code row cannot enrol a node now, or None when it can."""
    if row is None:
        return Refusal.UNKNOWN
    if row.used_at is not None:
        return Refusal.USED
    if now >= row.expires_at:
        return Refusal.EXPIRED
    if expected_store is not None and expected_store != row.store_id:
        return Refusal.WRONG_STORE
    return None


def wait_seconds(failures: int, started: datetime | None, now: datetime, limit: int,
                 window: timedelta) -> int:
    """Seconds a subject must wait before its next attempt is checked (0: now)."""
    if started is None or now - started >= window or failures < limit:
        return 0
    return max(1, math.ceil((started + window - now).total_seconds()))


def first_free_node(taken: set[str]) -> str:
    """The first ``counter-N`` not in ``taken``."""
    number = 1
    while f"{NODE_PREFIX}{number}" in taken:
        number += 1
    return f"{NODE_PREFIX}{number}"


# --- making codes ------------------------------------------------------------------------------


def create_code(engine: Engine, principal: Principal, store_id: str, minutes: int,
                node_id: str | None = None,
                action: str = "enrolment.code_created") -> IssuedCode:
    """Make a single-use code for ``store_id`` (and ``node_id`` if given); audited as
    ``action``. Refused (Conflict) for a revoked node id."""
    require(principal, Action.MANAGE_DEVICES)
    try:
        check_id(store_id, "store id")
        if node_id is not None:
            check_id(node_id, "node id")
    except ValueError as err:
        raise InputError(str(err), field="node" if "node" in str(err) else "store") from err
    if not 1 <= minutes <= MAX_CODE_MINUTES:
        raise InputError(f"a code lives 1 to {MAX_CODE_MINUTES} minutes", field="minutes")
    code = new_code()
    with writing(engine) as tx:
        if tx.conn.scalar(select(stores.c.store_id).where(stores.c.store_id == store_id)) is None:
            raise NotFound(f"store {store_id} is not known to the hub: describe it first "
                           f"(acorn-hub stores set {store_id} --name ...)", field="store")
        require_in_scope(principal, place(tx.conn, store_id))
        if decommissioned(tx.conn, store_id) is not None:
            raise Conflict(f"store {store_id} is decommissioned: no node is enrolled into it",
                           field="store")
        if node_id is not None and _revoked(tx.conn, store_id, node_id):
            raise Conflict(f"node {store_id}/{node_id} is revoked: its id is never enrolled "
                           "again; make a code for a new node", field="node")
        expires = tx.now + timedelta(minutes=minutes)
        hashed = code_hash(code)
        tx.conn.execute(enrolment_codes.insert().values(
            code_hash=hashed, store_id=store_id, node_id=node_id, created_by=principal.actor,
            created_role=principal.role.value, created_at=tx.now, expires_at=expires))
        tx.audit(AuditDraft(principal.actor, principal.role.value, action,
                            "store", store_id, None,
                            {"node": node_id, "expires_at": format_utc(expires),
                             "code": hashed[:12]}))
    return IssuedCode(code, store_id, node_id, expires)


# --- redeeming codes ---------------------------------------------------------------------------


def check_request(request: Request) -> x509.CertificateSigningRequest:
    """The request's CSR once the serial and expected store are well formed (InputError)."""
    if not request.serial.strip() or len(request.serial) > MAX_SERIAL:
        raise InputError(f"the hardware serial must be 1 to {MAX_SERIAL} characters",
                         field="serial")
    if request.store_id is not None:
        try:
            check_id(request.store_id, "store id")
        except ValueError as err:
            raise InputError(str(err), field="store_id") from err
    return pki.read_csr(request.csr_pem)


def _subjects(client: str | None) -> tuple[str, str]:
    return f"client:{(client or 'unknown')[:190]}", ALL_CLIENTS


def throttle_wait(conn: Connection, client: str | None, now: datetime, limits: Limits) -> int:
    """Seconds before this client's next code may be checked (0: now)."""
    mine, everyone = _subjects(client)
    rows = {r.subject: r for r in conn.execute(
        select(enrolment_failures).where(enrolment_failures.c.subject.in_([mine, everyone])))}
    waits = [
        wait_seconds(row.failures, row.window_started_at, now, limit, limits.window)
        for subject, limit in ((mine, limits.per_client), (everyone, limits.overall))
        if (row := rows.get(subject)) is not None
    ]
    return max(waits, default=0)


def count_failure(tx: Tx, client: str | None, limits: Limits) -> None:
    """Count one refused code for the client and for everyone; audit a limit reached."""
    mine, everyone = _subjects(client)
    for subject, limit in ((mine, limits.per_client), (everyone, limits.overall)):
        row = tx.conn.execute(select(enrolment_failures).where(
            enrolment_failures.c.subject == subject).with_for_update()).first()
        if row is None or tx.now - row.window_started_at >= limits.window:
            tx.conn.execute(enrolment_failures.delete().where(
                enrolment_failures.c.subject == subject))
            tx.conn.execute(enrolment_failures.insert().values(
                subject=subject, failures=1, window_started_at=tx.now))
            failures = 1
        else:
            failures = row.failures + 1
            tx.conn.execute(update(enrolment_failures).where(
                enrolment_failures.c.subject == subject).values(failures=failures))
        if failures == limit:
            tx.audit(AuditDraft(*SYSTEM, "enrolment.throttled", "enrolment", subject, None,
                                {"failures": failures,
                                 "window_seconds": int(limits.window.total_seconds())}))


def claim(engine: Engine, request: Request, limits: Limits) -> Claim:
    """Check the code (throttled; a refusal is counted and audited) and pick the node id."""
    with reading(engine) as conn:
        waited = throttle_wait(conn, request.client, utc_now(), limits)
    if waited:
        log.warning("enrolment from %s refused unchecked: throttled for %d s",
                    request.client, waited)
        raise EnrolmentRefused(Refusal.THROTTLED, waited)
    hashed = code_hash(request.code)
    with writing(engine) as tx:
        # the throttle is read again under the writers' lock: parallel guesses cannot pass it
        waited = throttle_wait(tx.conn, request.client, tx.now, limits)
        row = tx.conn.execute(select(enrolment_codes).where(
            enrolment_codes.c.code_hash == hashed)).first()
        why = Refusal.THROTTLED if waited else refusal(row, request.store_id, tx.now)
        if why is None and row is not None and (
                decommissioned(tx.conn, row.store_id) is not None
                or (row.node_id is not None and _revoked(tx.conn, row.store_id, row.node_id))):
            why = Refusal.REVOKED
        if why is not None and why is not Refusal.THROTTLED:
            count_failure(tx, request.client, limits)
            tx.audit(_refused(why, row, request))
        elif why is None and row is not None:
            node = row.node_id or first_free_node(_taken(tx.conn, row.store_id))
            found = Claim(hashed, row.store_id, node)
    if why is not None:
        raise EnrolmentRefused(why, waited)
    return found


def _refused(why: Refusal, row: Any, request: Request) -> AuditDraft:
    store = row.store_id if row is not None else (request.store_id or "unknown")
    return AuditDraft(*SYSTEM, "enrolment.refused", "store", store, None, jsonable({
        "reason": why.value, "from": request.client, "serial": request.serial[:MAX_SERIAL],
        "expected_store": request.store_id,
        "code": row.code_hash[:12] if row is not None else None}))


def _revoked(conn: Connection, store_id: str, node_id: str) -> bool:
    found = identities.standing(conn, store_id, node_id)
    return found is not None and found.revoked


def _taken(conn: Connection, store_id: str) -> set[str]:
    """Node ids of the store already known, or promised to another code."""
    known = set(conn.scalars(select(nodes.c.node_id).where(nodes.c.store_id == store_id)))
    promised = conn.scalars(select(enrolment_codes.c.node_id).where(
        enrolment_codes.c.store_id == store_id, enrolment_codes.c.node_id.is_not(None)))
    return known | set(promised)


def complete(engine: Engine, found: Claim, request: Request, cert: x509.Certificate) -> None:
    """Mark the code used and record the node, in one transaction; audited.

    Refused (and nothing changed) if another request used the code meanwhile, or took the node
    id this one picked.
    """
    with writing(engine) as tx:
        row = tx.conn.execute(select(enrolment_codes).where(
            enrolment_codes.c.code_hash == found.code_hash).with_for_update()).first()
        if row is None or row.used_at is not None:
            raise EnrolmentRefused(Refusal.USED)
        if _revoked(tx.conn, found.store_id, found.node_id):  # revoked while its cert was made
            raise EnrolmentRefused(Refusal.REVOKED)
        if row.node_id is None and found.node_id in _taken(tx.conn, found.store_id):
            raise Conflict(f"node id {found.node_id} was taken meanwhile: send the request again")
        tx.conn.execute(update(enrolment_codes).where(
            enrolment_codes.c.code_hash == found.code_hash).values(
            used_at=tx.now, used_from=(request.client or "")[:200] or None,
            serial=request.serial[:MAX_SERIAL], node_id=found.node_id))
        outbox.ensure_node(tx.conn, found.store_id, found.node_id, tx.now)
        identities.record_certificate(tx.conn, found.store_id, found.node_id, cert, tx.now)
        tx.audit(AuditDraft(*SYSTEM, "device.enrolled", "node",
                            f"{found.store_id}/{found.node_id}", None, jsonable({
                                "broker_user": node_username(found.store_id, found.node_id),
                                "serial": request.serial[:MAX_SERIAL], "from": request.client,
                                "certificate_serial": format(cert.serial_number, "x"),
                                "not_after": format_utc(cert.not_valid_after_utc),
                                "code": found.code_hash[:12]})))


def store_settings(engine: Engine, store_id: str) -> dict[str, Any]:
    """What the hub knows of a store that its node should run with."""
    with reading(engine) as conn:
        row = conn.execute(select(stores).where(stores.c.store_id == store_id)).one()
    return {
        "name": row.name or "", "region": row.region, "city": row.city,
        "currency": row.currency or row.offline_currency, "time_zone": row.time_zone,
        "language": row.language, "printer_paper": row.printer_paper,
    }


# --- the whole enrolment -----------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolled:
    """What a node receives: its identity, certificate, the CA and its store's settings."""

    store_id: str
    node_id: str
    certificate: str
    ca: str
    ca_fingerprint: str
    not_after: datetime
    store: dict[str, Any]


def enrol(engine: Engine, fleet_ca: Callable[[], pki.FleetCa], request: Request, limits: Limits,
          lifetime: timedelta, provision: Callable[[str, str], None],
          unprovision: Callable[[str, str], None] | None = None) -> Enrolled:
    """Check the code, sign the node's certificate, give it a broker identity, record it.

    ``fleet_ca()`` is asked for the CA only once the code checked out (the first enrolment
    creates it). ``provision(store, node)`` creates the node's broker client and role
    (idempotent); it runs before the code is marked used, so a broker that fails leaves the code
    usable. If the node was revoked meanwhile (after the code was checked, before it was marked
    used), ``unprovision(store, node)`` takes the client just made away again, so a revocation
    racing an enrolment still leaves the node without rights.
    """
    csr = check_request(request)
    found = claim(engine, request, limits)
    ca = fleet_ca()
    cert = pki.sign_node(ca, csr, node_username(found.store_id, found.node_id), utc_now(),
                         lifetime)
    provision(found.store_id, found.node_id)
    try:
        complete(engine, found, request, cert)
    except EnrolmentRefused as err:
        if err.reason is Refusal.REVOKED and unprovision is not None:
            unprovision(found.store_id, found.node_id)
        raise
    return Enrolled(found.store_id, found.node_id, pki.cert_pem(cert), ca.pem, ca.fingerprint,
                    cert.not_valid_after_utc, store_settings(engine, found.store_id))
