"""Desk sign-in throttling, as pure functions over plain values (the I/O is ``hub.access.signin``).

Rules:
- failures are counted per username and per client address; a username is counted trimmed and
  case-folded (``user_subject``) whether or not such a user exists, so a lockout never tells
  which usernames exist;
- an attempt counts as a failure from the moment it is admitted, before the password is checked,
  until it succeeds: parallel guesses cannot slip past the limit while the first ones are still
  being checked; a success clears the username's count and gives the client its attempt back
  (an office behind one address is not locked out by its users signing in);
- a count runs for ``window`` from its first failure; after that it starts again from zero;
- a username with ``max_failures`` failures in its window is refused; the failure confirmed at
  the limit locks it for ``lockout`` from then. While it is locked every attempt is refused
  unchecked (scrypt does not run, so a refusal is cheap), even with the right password; a success
  that was being checked when another attempt locked the username is refused too. A lock ends by
  itself or when a user manager unlocks the username; either way the count starts from zero;
- a client address with ``max_failures_per_client`` failures in its window is refused whatever
  the username (password spraying), and locked for ``window`` from the failure that confirms it;
- refused attempts are not counted: they neither lengthen a lock nor start a new one;
- a wait is in whole seconds, rounded up (what ``Retry-After`` says).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

SUBJECT_MAX = 200


class Kind(StrEnum):
    """What a count is about."""

    USER = "user"
    CLIENT = "client"


@dataclass(frozen=True)
class Limits:
    """The throttle's settings."""

    max_failures: int = 5
    window: timedelta = timedelta(seconds=900)
    lockout: timedelta = timedelta(seconds=900)
    max_failures_per_client: int = 30

    def limit(self, kind: Kind) -> int:
        """How many failures in a window lock a subject of this kind."""
        return self.max_failures if kind is Kind.USER else self.max_failures_per_client

    def lock_for(self, kind: Kind) -> timedelta:
        """How long a subject of this kind stays locked."""
        return self.lockout if kind is Kind.USER else self.window


@dataclass(frozen=True)
class Count:
    """A subject's failures in its window, and its lock (``failures == 0``: nothing recorded)."""

    failures: int = 0
    first_failed_at: datetime | None = None
    locked_until: datetime | None = None


FRESH = Count()


def user_subject(username: str) -> str:
    """The name a username is counted under: trimmed, case-folded, at most ``SUBJECT_MAX``."""
    return username.strip().casefold()[:SUBJECT_MAX]


def client_subject(address: str | None) -> str:
    """The name a client address is counted under (``unknown`` when the server has none)."""
    return (address or "unknown")[:SUBJECT_MAX]


def current(count: Count, now: datetime, limits: Limits) -> Count:
    """The count as it stands at ``now``: an ended lock or window starts again from zero."""
    if count.locked_until is not None:
        return count if now < count.locked_until else FRESH
    if count.first_failed_at is None or now - count.first_failed_at >= limits.window:
        return FRESH
    return count


def _seconds(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


def locked_for(count: Count, now: datetime, limits: Limits) -> int:
    """Seconds the subject stays locked (0: not locked)."""
    stands = current(count, now, limits)
    return 0 if stands.locked_until is None else _seconds(stands.locked_until, now)


def wait(kind: Kind, count: Count, now: datetime, limits: Limits) -> int:
    """Seconds before the subject may try again (0: it may try now).

    Locked: until the lock ends. At the limit but not yet locked (the last attempts are still
    being checked, or their check never finished): until the window ends.
    """
    stands = current(count, now, limits)
    if stands.locked_until is not None:
        return _seconds(stands.locked_until, now)
    if stands.failures >= limits.limit(kind) and stands.first_failed_at is not None:
        return _seconds(stands.first_failed_at + limits.window, now)
    return 0


def admit(count: Count, now: datetime, limits: Limits) -> Count:
    """The count once an attempt is admitted: one more failure until it succeeds."""
    stands = current(count, now, limits)
    return Count(stands.failures + 1, stands.first_failed_at or now, None)


def fail(kind: Kind, count: Count, now: datetime, limits: Limits) -> Count:
    """The count once an admitted attempt is confirmed wrong: locked from ``now`` at the limit.

    The attempt is already counted; if its window ended meanwhile it counts again, as the first
    of a new one.
    """
    stands = current(count, now, limits)
    if stands.locked_until is not None:
        return stands
    if stands.failures == 0:
        stands = admit(stands, now, limits)
    if stands.failures >= limits.limit(kind):
        return replace(stands, locked_until=now + limits.lock_for(kind))
    return stands


def succeed(kind: Kind, count: Count, now: datetime, limits: Limits) -> Count:
    """The count once an admitted attempt is confirmed right (refuse it first if locked).

    A username starts again from zero; a client gets its one attempt back.
    """
    stands = current(count, now, limits)
    if kind is Kind.USER or stands.failures <= 1:
        return FRESH if stands.locked_until is None else stands
    return replace(stands, failures=stands.failures - 1)


def newly_locked(before: Count, after: Count) -> bool:
    """True when ``after`` holds a lock that ``before`` did not."""
    return after.locked_until is not None and after.locked_until != before.locked_until


def minutes(seconds: int) -> int:
    """A wait in whole minutes, rounded up, for people (at least 1)."""
    return max(1, math.ceil(seconds / 60))
