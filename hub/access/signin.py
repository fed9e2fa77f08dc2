"""Desk sign-in behind the throttle: the database side of ``hub.access.throttle``.

Rules:
- the throttle's state is the ``login_failures`` table, one row per (kind, subject), so it holds
  across a restart and across hub processes; a row with nothing left to say is deleted by the
  next failure;
- checking an attempt and counting it is one writing transaction; a plain read before it refuses
  a locked attempt without taking the writers' lock, so hammering a locked username does not slow
  the hub's other writers. scrypt runs outside any writing transaction (writers are serialised);
- a wrong password, an unknown and a disabled user are one refusal (``AuthError``, 401) as before;
  a throttled attempt is ``Throttled`` (an ``AuthError`` too, so a caller that does not know it
  still refuses), which the API answers 429 with ``Retry-After``;
- a username's lockout is audited in the transaction that sets it (``user.locked_out`` by
  ``system:sign-in``, with the failure count and until-when, never the password), logged and
  counted; a client's lockout is logged and counted (no account changes); ``unlock`` clears a
  username's failures and lock and is audited (``user.unlocked``) when there was anything to clear.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select

from hub.access import throttle
from hub.access.throttle import FRESH, Count, Kind, Limits
from hub.access.users import Actor, check_login
from hub.errors import AuthError
from hub.metrics import HubMetrics
from hub.settings import Settings
from hub.storage.audit_chain import AuditDraft, jsonable
from hub.storage.engine import Tx, reading, writing
from hub.storage.tables.access import login_failures
from protocol import format_utc, utc_now

log = logging.getLogger(__name__)

SYSTEM_ACTOR = Actor("system:sign-in", "system")
Key = tuple[Kind, str]


class Throttled(AuthError):
    """Too many failed sign-ins for this username or from this client: wait ``retry_after`` s."""

    def __init__(self, message: str, field: str | None, retry_after: int) -> None:
        super().__init__(message, field)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt: the username as typed and the client's address."""

    username: str
    client: str | None

    @property
    def user(self) -> Key:
        return Kind.USER, throttle.user_subject(self.username)

    @property
    def source(self) -> Key:
        return Kind.CLIENT, throttle.client_subject(self.client)


def limits_of(settings: Settings) -> Limits:
    """The throttle's limits from the hub's settings."""
    return Limits(
        max_failures=settings.login_max_failures,
        window=timedelta(seconds=settings.login_window_seconds),
        lockout=timedelta(seconds=settings.login_lockout_seconds),
        max_failures_per_client=settings.login_max_failures_per_client,
    )


def sign_in(engine: Engine, limits: Limits, attempt: Attempt, password: str,
            metrics: HubMetrics) -> Any:
    """The active user row for these credentials, or ``Throttled`` / ``AuthError``."""
    try:
        with reading(engine) as conn:
            _refuse_if_waiting(_load(conn, attempt), utc_now(), limits)
        with writing(engine) as tx:
            counts = _load(tx.conn, attempt)
            _refuse_if_waiting(counts, tx.now, limits)
            for key, count in counts.items():
                _save(tx.conn, key, throttle.admit(count, tx.now, limits))
    except Throttled:
        metrics.sign_in_failures.labels("throttled").inc()
        raise
    try:
        with reading(engine) as conn:
            row = check_login(conn, attempt.username, password)
    except AuthError:
        metrics.sign_in_failures.labels("refused").inc()
        _failed(engine, limits, attempt, metrics)
        raise
    _succeeded(engine, limits, attempt, metrics)
    return row


def unlock(engine: Engine, username: str, actor: Actor) -> bool:
    """Clear a username's failures and lock; True (and audited) if there was anything to clear."""
    key = (Kind.USER, throttle.user_subject(username))
    with writing(engine) as tx:
        before = _load_one(tx.conn, key)
        if before == FRESH:
            return False
        _save(tx.conn, key, FRESH)
        tx.audit(AuditDraft(actor.name, actor.role, "user.unlocked", "user", key[1],
                            _audited(before), {"failures": 0, "locked_until": None}))
    log.info("sign-in unlocked: %s by %s", key[1], actor.name,
             extra={"event": "user.unlocked", "username": key[1], "actor": actor.name})
    return True


def _failed(engine: Engine, limits: Limits, attempt: Attempt, metrics: HubMetrics) -> None:
    with writing(engine) as tx:
        _forget_spent(tx.conn, tx.now, limits)
        for key, before in _load(tx.conn, attempt).items():
            after = throttle.fail(key[0], before, tx.now, limits)
            _save(tx.conn, key, after)
            if throttle.newly_locked(before, after):
                _locked_out(tx, key, after, attempt, metrics)


def _succeeded(engine: Engine, limits: Limits, attempt: Attempt, metrics: HubMetrics) -> None:
    with writing(engine) as tx:
        counts = _load(tx.conn, attempt)
        seconds = throttle.locked_for(counts[attempt.user], tx.now, limits)
        if seconds:  # another attempt locked the username while this one was checked
            metrics.sign_in_failures.labels("throttled").inc()
            raise _refusal(Kind.USER, seconds)
        for key, count in counts.items():
            _save(tx.conn, key, throttle.succeed(key[0], count, tx.now, limits))


def _locked_out(tx: Tx, key: Key, count: Count, attempt: Attempt, metrics: HubMetrics) -> None:
    kind, subject = key
    until = format_utc(count.locked_until) if count.locked_until else None
    metrics.sign_in_lockouts.labels(kind.value).inc()
    if kind is Kind.USER:
        tx.audit(AuditDraft(SYSTEM_ACTOR.name, SYSTEM_ACTOR.role, "user.locked_out", "user",
                            subject, None, _audited(count),
                            "too many failed sign-ins"))
    log.warning("sign-in locked out: %s %s after %d failures until %s", kind.value, subject,
                count.failures, until,
                extra={"event": f"{kind.value}.locked_out", "subject": subject,
                       "failures": count.failures, "locked_until": until,
                       "client": throttle.client_subject(attempt.client)})


def _audited(count: Count) -> Any:
    return jsonable({"failures": count.failures, "locked_until": count.locked_until})


def _refuse_if_waiting(counts: dict[Key, Count], now: datetime, limits: Limits) -> None:
    waits = {key[0]: throttle.wait(key[0], count, now, limits) for key, count in counts.items()}
    kind = max(waits, key=lambda k: waits[k])
    if waits[kind]:
        raise _refusal(kind, waits[kind])


def _refusal(kind: Kind, seconds: int) -> Throttled:
    minutes = throttle.minutes(seconds)
    unit = "minute" if minutes == 1 else "minutes"
    whom = "for this username" if kind is Kind.USER else "from this address"
    return Throttled(f"too many failed sign-ins {whom}: try again in {minutes} {unit}",
                     "username" if kind is Kind.USER else None, seconds)


def _load(conn: Connection, attempt: Attempt) -> dict[Key, Count]:
    return {key: _load_one(conn, key) for key in (attempt.user, attempt.source)}


def _load_one(conn: Connection, key: Key) -> Count:
    row = conn.execute(
        select(login_failures).where(
            login_failures.c.kind == key[0].value, login_failures.c.subject == key[1]
        )
    ).first()
    if row is None:
        return FRESH
    return Count(row.failures, row.first_failed_at, row.locked_until)


def _save(conn: Connection, key: Key, count: Count) -> None:
    conn.execute(
        login_failures.delete().where(
            login_failures.c.kind == key[0].value, login_failures.c.subject == key[1]
        )
    )
    if count.failures:
        conn.execute(
            login_failures.insert().values(
                kind=key[0].value,
                subject=key[1],
                failures=count.failures,
                first_failed_at=count.first_failed_at,
                locked_until=count.locked_until,
            )
        )


def _forget_spent(conn: Connection, now: datetime, limits: Limits) -> None:
    """Delete the rows ``throttle.current`` reads as zero: ended locks, ended unlocked windows."""
    c = login_failures.c
    conn.execute(
        login_failures.delete().where(
            or_(
                c.locked_until <= now,
                and_(c.locked_until.is_(None), c.first_failed_at <= now - limits.window),
            )
        )
    )
