"""The buyer page's rate limiter: fixed windows counted in the database, never by sleeping.

Rules (as the enrolment throttle, ``hub.fleet.enrolment``): every request is counted for
its client, then, unless the client is refused, for every client together (``*``: one client
hammering the page cannot use up everyone's allowance), before anything else is read; a subject
that has used its allowance in the current window is refused with the seconds until its window
ends (``Retry-After``); a window starts with the first request after the previous one ended.
The client address is stored as a truncated SHA-256 only (not a secret-keyed hash: it keeps
the address out of plain sight, no more). Counting happens under the writers' lock, so parallel
requests cannot slip past the limit. The first refusal of a subject in a window is audited
(``buyer_return.throttled``).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, select, update

from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import Tx, writing
from hub.storage.tables.buyer import buyer_throttle

EVERYONE = "*"
SYSTEM = ("system", "system")


@dataclass(frozen=True)
class Limits:
    """Requests allowed per window, per client and for all clients together."""

    per_client: int = 10
    overall: int = 1000
    window: timedelta = timedelta(minutes=15)


class Throttled(Exception):
    """Too many requests; ``retry_after`` seconds until the window ends."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests: try again in {retry_after} seconds")
        self.retry_after = retry_after


def client_subject(client: str | None) -> str:
    """The name a client address is counted under (a hash: the address is not kept)."""
    digest = hashlib.sha256(f"acorn-buyer:{client or 'unknown'}".encode()).hexdigest()
    return f"client:{digest[:40]}"


def _count(conn: Connection, subject: str, now: datetime,
           window: timedelta) -> tuple[int, datetime]:
    row = conn.execute(select(buyer_throttle).where(buyer_throttle.c.subject == subject)).first()
    if row is None:
        conn.execute(buyer_throttle.insert().values(subject=subject, hits=1, window_started_at=now))
        return 1, now
    if now - row.window_started_at >= window:
        conn.execute(update(buyer_throttle).where(buyer_throttle.c.subject == subject)
                     .values(hits=1, window_started_at=now))
        return 1, now
    conn.execute(update(buyer_throttle).where(buyer_throttle.c.subject == subject)
                 .values(hits=row.hits + 1))
    return row.hits + 1, row.window_started_at


def admit(engine: Engine, client: str | None, limits: Limits,
          now: datetime | None = None) -> None:
    """Count one request (committed); ``Throttled`` when the client or everyone is over."""
    with writing(engine, now) as tx:
        wait = _counted(tx, client, limits)
    if wait:
        raise Throttled(wait)


def _counted(tx: Tx, client: str | None, limits: Limits) -> int:
    for subject, limit in ((client_subject(client), limits.per_client),
                           (EVERYONE, limits.overall)):
        hits, started = _count(tx.conn, subject, tx.now, limits.window)
        if hits > limit:
            if hits == limit + 1:
                tx.audit(AuditDraft(*SYSTEM, "buyer_return.throttled", "buyer_page", subject,
                                    None, {"hits": hits, "limit": limit}))
            left = (started + limits.window - tx.now).total_seconds()
            return max(1, math.ceil(left))  # a refused client is not counted for everyone
    return 0
