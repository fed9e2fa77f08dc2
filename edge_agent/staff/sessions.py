"""Staff sign-in at the counter: PINs checked offline, sessions in SQLite, wrong PINs throttled.

Rules:
- a member of staff signs in with their staff id and PIN, checked against the PIN hash in the
  store config in force (``edge_agent.staff.pins``), so sign-in works with the hub away; before a
  config
  names staff there is nobody to sign in (and the counter needs no sign-in, see ``auth``);
- sign-ins run one at a time: scrypt takes ~16 MiB and ~50 ms, and a burst must neither take the
  mini-PC's memory nor speed up guessing; an unknown staff id costs the same as a wrong PIN;
  building ``Staff`` makes glibc return such large blocks at once (``pins.release_large_blocks``);
- a session id is 32 random bytes, sent once in the cookie; only its SHA-256 is stored, with its
  expiry (``session_hours``); a session opens nothing once expired, signed out, or when its
  member of staff is no longer in the config; the role is always the config's current one;
- every staff id (known or not) may fail ``signin_max_failures`` times within
  ``signin_lockout_seconds``; the failure that reaches the limit locks the id for
  ``signin_lockout_seconds``, during which even the right PIN is refused unchecked; a sign-in
  clears the failures; the counts live in SQLite, so a restart does not reset them;
- sign-in, sign-out and lockouts are audited, never with the PIN.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from edge_agent.errors import Conflict, TooManyAttempts, Unauthorized
from edge_agent.settings import EdgeSettings
from edge_agent.staff import pins, store_config
from edge_agent.staff.store_config import StaffRole, role_of
from edge_agent.storage import audit
from edge_agent.storage.store import Store, Tx
from protocol import format_utc, to_utc, utc_now

FORGET_FAILURES = timedelta(days=1)


@dataclass(frozen=True)
class StaffSession:
    """A signed-in member of staff."""

    staff_id: str
    role: StaffRole
    expires_at: datetime


@dataclass(frozen=True)
class Attempts:
    """Recent wrong PINs for one staff id."""

    failures: int = 0
    last_failure_at: datetime | None = None
    locked_until: datetime | None = None


def locked_for(attempts: Attempts, now: datetime) -> float:
    """Seconds the staff id stays locked (0: not locked)."""
    if attempts.locked_until is None:
        return 0.0
    return max(0.0, (attempts.locked_until - now).total_seconds())


def after_failure(attempts: Attempts, now: datetime, limit: int, lockout: timedelta) -> Attempts:
    """The attempts after one more wrong PIN: counted within ``lockout``, locked at ``limit``."""
    recent = attempts.last_failure_at is not None and now - attempts.last_failure_at < lockout
    failures = (attempts.failures if recent and not attempts.locked_until else 0) + 1
    if failures >= limit:
        return Attempts(failures, now, now + lockout)
    return Attempts(failures, now, None)


def token_hash(token: str) -> str:
    """What is stored of a session id."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _when(text: object) -> datetime | None:
    return None if text is None else to_utc(datetime.fromisoformat(str(text)))


class Staff:
    """Sign-in, sessions and the throttle over one store; ``clock`` is replaceable in tests."""

    def __init__(self, store: Store, settings: EdgeSettings,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self._store = store
        self._hours = settings.session_hours
        self._limit = settings.signin_max_failures
        self._lockout = timedelta(seconds=settings.signin_lockout_seconds)
        self._one_at_a_time = threading.Lock()
        self.clock = clock
        pins.release_large_blocks()

    def required(self) -> bool:
        """True once the store's config names staff: then the counter needs a sign-in."""
        with self._store.read() as tx:
            return store_config.signin_required(tx)

    def sign_in(self, staff_id: str, pin: str) -> tuple[str, StaffSession]:
        """Check the PIN offline and open a session; returns the session id for the cookie."""
        with self._one_at_a_time:
            now = self.clock()
            with self._store.read() as tx:
                if not store_config.signin_required(tx):
                    raise Conflict("this store has no staff PINs yet: the counter works without "
                                   "sign-in", field="staff_id")
                attempts, found = _attempts(tx, staff_id), store_config.member(tx, staff_id)
            wait = locked_for(attempts, now)
            if wait:
                raise TooManyAttempts(f"too many wrong PINs for {staff_id}: try again in "
                                      f"{math.ceil(wait / 60)} min", "staff_id", math.ceil(wait))
            good = pins.verify(pin, found[1] if found else pins.DUMMY_HASH)
            if found is None or not good:
                self._failed(staff_id, attempts, now)
                raise Unauthorized("wrong staff id or PIN", field="pin")
            return self._open(staff_id, found[0], now)

    def _failed(self, staff_id: str, attempts: Attempts, now: datetime) -> None:
        after = after_failure(attempts, now, self._limit, self._lockout)
        with self._store.write() as tx:
            tx.execute("DELETE FROM signin_failures WHERE last_failure_at < ?",
                       (format_utc(now - FORGET_FAILURES),))
            tx.execute(
                "INSERT INTO signin_failures(staff_id, failures, last_failure_at, locked_until) "
                "VALUES (?,?,?,?) ON CONFLICT(staff_id) DO UPDATE SET failures = "
                "excluded.failures, last_failure_at = excluded.last_failure_at, "
                "locked_until = excluded.locked_until",
                (staff_id, after.failures, format_utc(now),
                 None if after.locked_until is None else format_utc(after.locked_until)))
            if after.locked_until is not None:
                audit.record(tx, at=now, actor=staff_id, role="unknown", action="staff.locked_out",
                             entity="staff", entity_id=staff_id, before=None,
                             after={"failures": after.failures,
                                    "until": format_utc(after.locked_until)})

    def _open(self, staff_id: str, role: StaffRole, now: datetime) -> tuple[str, StaffSession]:
        token = secrets.token_urlsafe(32)
        session = StaffSession(staff_id, role, now + timedelta(hours=self._hours))
        with self._store.write() as tx:
            tx.execute("DELETE FROM staff_sessions WHERE expires_at <= ?", (format_utc(now),))
            tx.execute("DELETE FROM signin_failures WHERE staff_id = ?", (staff_id,))
            tx.execute("INSERT INTO staff_sessions(id_hash, staff_id, created_at, expires_at) "
                       "VALUES (?,?,?,?)", (token_hash(token), staff_id, format_utc(now),
                                            format_utc(session.expires_at)))
            audit.record(tx, at=now, actor=staff_id, role=role, action="staff.signed_in",
                         entity="staff", entity_id=staff_id, before=None,
                         after={"expires_at": format_utc(session.expires_at)})
        return token, session

    def find(self, token: str) -> StaffSession | None:
        """The live session behind a session id, or None."""
        with self._store.read() as tx:
            row = tx.one(
                "SELECT s.staff_id, st.role, s.expires_at FROM staff_sessions s "
                "JOIN staff st ON st.staff_id = s.staff_id "
                "WHERE s.id_hash = ? AND s.expires_at > ?",
                (token_hash(token), format_utc(self.clock())))
        if row is None:
            return None
        expires = _when(row["expires_at"])
        assert expires is not None
        return StaffSession(str(row["staff_id"]), role_of(row["role"]), expires)

    def sign_out(self, token: str) -> None:
        """End a session (signing out twice, or with an unknown id, is fine)."""
        now = self.clock()
        with self._store.write() as tx:
            row = tx.one("SELECT s.staff_id, st.role FROM staff_sessions s LEFT JOIN staff st "
                         "ON st.staff_id = s.staff_id WHERE s.id_hash = ?", (token_hash(token),))
            if row is None:
                return
            tx.execute("DELETE FROM staff_sessions WHERE id_hash = ?", (token_hash(token),))
            audit.record(tx, at=now, actor=str(row["staff_id"]), role=str(row["role"] or "staff"),
                         action="staff.signed_out", entity="staff",
                         entity_id=str(row["staff_id"]), before=None, after=None)


def _attempts(tx: Tx, staff_id: str) -> Attempts:
    row = tx.one("SELECT * FROM signin_failures WHERE staff_id = ?", (staff_id,))
    if row is None:
        return Attempts()
    return Attempts(int(row["failures"]), _when(row["last_failure_at"]),
                    _when(row["locked_until"]))
