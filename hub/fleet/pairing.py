"""Pairing codes: the reverse of an enrolment code. A new node with no identity asks the hub for a
code, prints it on its receipt printer and shows it on its setup page; a technician enters it on
the desk and picks the store; the node, polling, receives its identity.

Rules:
- a request carries the node's CSR and hardware serial (checked as at enrolment); the hub
  answers a code of 8 characters of Crockford's base 32 (``XXXX-XXXX``, read like an enrolment
  code) and a poll token (32 random bytes): only their SHA-256 are stored. It expires after
  ``pair_code_minutes``;
- one address may ask for ``pair_max_requests_per_client`` codes per window; more is refused
  (``PairingThrottled``, with the seconds to wait) and not stored;
- approving needs ``manage_devices`` (technician, admin) with the chosen store in scope. It is
  an enrolment under the hood, so every rule of ``hub.fleet.enrolment`` holds: a one-minute
  enrolment code is made for the store (audited ``pairing.code_created``) and redeemed at once
  with the node's CSR (the certificate is signed, the broker role made, ``device.enrolled``
  audited); then ``pairing.approved`` is audited and the answer kept for the node's next poll;
- a code entered wrong (unknown, expired, already paired) is refused and audited
  (``pairing.refused``) and counted against the technician in the enrolment throttle
  (``enrolment_failures``, subject ``actor:NAME``); at the limit further codes are refused
  unchecked until the window ends. The 40-bit code is behind a login and this throttle;
- two technicians entering the same code: the row moves ``pending`` → ``approving`` under the
  writers' lock, so only one approval runs; a failed one puts it back to ``pending``;
- polling answers ``pending``, ``paired`` with the enrolment, or a refusal: an unknown token, or
  a code that expired unpaired.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, func, select, update

from hub.access.permissions import Action, Principal, require
from hub.errors import AuthError, Conflict, HubError
from hub.fleet import enrolment
from hub.fleet.enrolment import ALPHABET, Limits, code_hash, throttle_wait
from hub.storage.audit_chain import AuditDraft, jsonable
from hub.storage.engine import reading, writing
from hub.storage.tables.pairing import pairing_requests
from protocol import format_utc, utc_now

PAIR_CODE_LENGTH = 8
APPROVAL_CODE_MINUTES = 1  # the internal enrolment code is redeemed at once
SYSTEM = ("system:pairing", "system")


class PairState(StrEnum):
    """Where a pairing request is."""

    PENDING = "pending"
    APPROVING = "approving"
    PAIRED = "paired"


class PairRefusal(StrEnum):
    """Why a pairing code (or a node's poll) was refused."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    PAIRED = "paired"
    BUSY = "busy"
    THROTTLED = "throttled"


MESSAGES = {
    PairRefusal.UNKNOWN: "this pairing code is not known: check what the store's printer shows",
    PairRefusal.EXPIRED: "this pairing code has expired: restart pairing on the store machine",
    PairRefusal.PAIRED: "this pairing code was used already",
    PairRefusal.BUSY: "this pairing code is being approved by someone else right now",
}


class PairingRefused(AuthError):
    """A code or token was refused (``reason``); ``retry_after`` seconds when throttled."""

    def __init__(self, reason: PairRefusal, retry_after: int = 0) -> None:
        message = MESSAGES.get(reason) or (
            f"too many wrong pairing codes: try again in {retry_after} s")
        super().__init__(message, field="code")
        self.reason = reason
        self.retry_after = retry_after


class PairingThrottled(HubError):
    """This address asked for too many pairing codes; ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many pairing codes asked from this address: try again in "
                         f"{retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Opened:
    """A new pairing request: the code to show and the token to poll with (both shown once)."""

    request_id: str
    code: str
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class Polled:
    """What a node learns when it polls."""

    state: PairState
    expires_at: datetime
    enrolled: enrolment.Enrolled | None = None


@dataclass(frozen=True)
class Approved:
    """An approved pairing: which node of which store the machine became."""

    store_id: str
    node_id: str
    serial: str
    not_after: datetime


# --- pure ------------------------------------------------------------------------------------


def new_pair_code() -> str:
    """A random pairing code, ``XXXX-XXXX``."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(PAIR_CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def token_hash(token: str) -> str:
    """SHA-256 (hex) of a poll token: all that is stored of it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def answer_json(done: enrolment.Enrolled) -> str:
    """The enrolment kept for the node's poll."""
    return json.dumps(jsonable(asdict(done)))


def answer_of(text: str) -> enrolment.Enrolled:
    """The enrolment kept for a node's poll, read back."""
    data: dict[str, Any] = json.loads(text)
    return enrolment.Enrolled(**(data | {"not_after": datetime.fromisoformat(
        str(data["not_after"]).replace("Z", "+00:00"))}))


def _actor(principal: Principal) -> str:
    return f"actor:{principal.actor}"


# --- the node's side ---------------------------------------------------------------------------


def open_request(engine: Engine, csr_pem: str, serial: str, client: str | None,
                 minutes: int, max_per_client: int, window: timedelta) -> Opened:
    """Store a pending request for this CSR and serial; its code and poll token (throttled)."""
    enrolment.check_request(enrolment.Request("", csr_pem, serial, None, client))
    code, token = new_pair_code(), secrets.token_urlsafe(32)
    request_id = uuid.uuid4().hex
    origin = (client or "unknown")[:200]
    with writing(engine) as tx:
        first, count = tx.conn.execute(
            select(func.min(pairing_requests.c.created_at), func.count()).where(
                pairing_requests.c.client == origin,
                pairing_requests.c.created_at > tx.now - window)).one()
        waited = 0
        if count >= max_per_client and first is not None:
            waited = max(1, math.ceil((first + window - tx.now).total_seconds()))
        else:
            expires = tx.now + timedelta(minutes=minutes)
            tx.conn.execute(pairing_requests.insert().values(
                request_id=request_id, code_hash=code_hash(code), token_hash=token_hash(token),
                csr=csr_pem, serial=serial[:enrolment.MAX_SERIAL], client=origin,
                state=PairState.PENDING.value, created_at=tx.now, expires_at=expires))
            tx.audit(AuditDraft(*SYSTEM, "pairing.requested", "pairing", request_id, None,
                                jsonable({"serial": serial[:enrolment.MAX_SERIAL],
                                          "from": client, "expires_at": format_utc(expires),
                                          "code": code_hash(code)[:12]})))
    if waited:
        raise PairingThrottled(waited)
    return Opened(request_id, code, token, expires)


def poll(engine: Engine, token: str) -> Polled:
    """Where the request of ``token`` is (PairingRefused for an unknown or expired one)."""
    hashed = token_hash(token)
    with writing(engine) as tx:
        row = tx.conn.execute(select(pairing_requests).where(
            pairing_requests.c.token_hash == hashed)).first()
        if row is not None and row.state == PairState.PAIRED.value and row.fetched_at is None:
            tx.conn.execute(update(pairing_requests).where(
                pairing_requests.c.request_id == row.request_id).values(fetched_at=tx.now))
        now = tx.now
    if row is None:
        raise PairingRefused(PairRefusal.UNKNOWN)
    if row.state == PairState.PAIRED.value:
        return Polled(PairState.PAIRED, row.expires_at, answer_of(row.answer))
    if now >= row.expires_at:
        raise PairingRefused(PairRefusal.EXPIRED)
    return Polled(PairState(row.state), row.expires_at)


# --- the technician's side ---------------------------------------------------------------------


def _take(engine: Engine, principal: Principal, code: str, limits: Limits) -> Any:
    """The pending row of ``code``, moved to ``approving``; refusals counted and audited."""
    with reading(engine) as conn:
        waited = throttle_wait(conn, _actor(principal), utc_now(), limits)
    if waited:
        raise PairingRefused(PairRefusal.THROTTLED, waited)
    hashed = code_hash(code)
    with writing(engine) as tx:
        waited = throttle_wait(tx.conn, _actor(principal), tx.now, limits)
        rows = tx.conn.execute(select(pairing_requests).where(
            pairing_requests.c.code_hash == hashed).order_by(
            pairing_requests.c.created_at.desc())).all()
        live = [r for r in rows if r.state != PairState.PAIRED.value and tx.now < r.expires_at]
        row = live[0] if live else None
        why = PairRefusal.THROTTLED if waited else _refusal(row, rows)
        if why in {PairRefusal.UNKNOWN, PairRefusal.EXPIRED, PairRefusal.PAIRED}:
            enrolment.count_failure(tx, _actor(principal), limits)
            tx.audit(AuditDraft(principal.actor, principal.role.value, "pairing.refused",
                                "pairing", rows[0].request_id if rows else "unknown", None,
                                {"reason": why.value if why else None,
                                 "code": hashed[:12]}))
        elif why is None and row is not None:
            tx.conn.execute(update(pairing_requests).where(
                pairing_requests.c.request_id == row.request_id).values(
                state=PairState.APPROVING.value))
    if why is not None:
        raise PairingRefused(why, waited)
    return row


def _refusal(live: Any, rows: Sequence[Any]) -> PairRefusal | None:
    if live is not None:
        return PairRefusal.BUSY if live.state == PairState.APPROVING.value else None
    if not rows:
        return PairRefusal.UNKNOWN
    return PairRefusal.PAIRED if rows[0].state == PairState.PAIRED.value else \
        PairRefusal.EXPIRED


def approve(engine: Engine, principal: Principal, code: str, store_id: str,
            node_id: str | None, limits: Limits,
            enrol_with: Callable[[enrolment.Request], enrolment.Enrolled]) -> Approved:
    """Pair the machine that shows ``code`` as a node of ``store_id`` (see the module rules).

    ``enrol_with(request)`` runs the enrolment (``hub.fleet.enrolment.enrol`` with the CA, the
    broker and the throttle wired in).
    """
    require(principal, Action.MANAGE_DEVICES)
    row = _take(engine, principal, code, limits)
    try:
        issued = enrolment.create_code(engine, principal, store_id, APPROVAL_CODE_MINUTES,
                                       node_id, action="pairing.code_created")
        done = enrol_with(enrolment.Request(issued.code, row.csr, row.serial, store_id,
                                            row.client))
    except BaseException:
        with writing(engine) as tx:
            tx.conn.execute(update(pairing_requests).where(
                pairing_requests.c.request_id == row.request_id).values(
                state=PairState.PENDING.value))
        raise
    with writing(engine) as tx:
        changed = tx.conn.execute(update(pairing_requests).where(
            pairing_requests.c.request_id == row.request_id,
            pairing_requests.c.state == PairState.APPROVING.value).values(
            state=PairState.PAIRED.value, store_id=done.store_id, node_id=done.node_id,
            approved_by=principal.actor, approved_role=principal.role.value,
            approved_at=tx.now, answer=answer_json(done))).rowcount
        if changed != 1:
            raise Conflict("this pairing changed while it was approved")
        tx.audit(AuditDraft(principal.actor, principal.role.value, "pairing.approved",
                            "node", f"{done.store_id}/{done.node_id}", None, jsonable({
                                "request": row.request_id, "serial": row.serial,
                                "from": row.client, "not_after": format_utc(done.not_after)})))
    return Approved(done.store_id, done.node_id, row.serial, done.not_after)
