"""Idempotency keys in the node's database: a write's key is stored with its answer in the same
transaction as the write, so the key exists if and only if the write committed.

The HTTP side (the ``Idempotency-Key`` header, the per-key lock, replaying the answer) is
``edge_agent.web.idempotency``; this module is what a write's transaction calls (``seal``), so that
the contexts below the web (the agent's actions, the print queue) can seal without knowing HTTP.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from edge_agent.errors import InvalidRequest
from edge_agent.storage.store import Tx
from protocol import format_utc, utc_now

HEADER = "Idempotency-Key"
KEEP = timedelta(hours=24)


@dataclass(frozen=True)
class Pending:
    """The key of the request being served, waiting to be sealed with its answer."""

    scope: str
    key: str
    fingerprint: str
    status: int


class Replayed(Exception):
    """The request repeats one already answered: send back ``status`` and ``body``."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"replayed {status}")
        self.status, self.body = status, body


# Set by ``serving`` for the request's task; the route's transaction reads it in ``seal``.
_PENDING: ContextVar[Pending | None] = ContextVar("acorn_idempotency_pending", default=None)


@contextmanager
def serving(pending: Pending) -> Iterator[None]:
    """Within this block, ``seal`` stores ``pending``'s key with the answer of the write."""
    token = _PENDING.set(pending)
    try:
        yield
    finally:
        _PENDING.reset(token)


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests the same request."""
    return f"{method} {path} {hashlib.sha256(body).hexdigest()}"


def stored(tx: Tx, pending: Pending) -> dict[str, Any] | None:
    """The live (not expired) row of ``pending``'s key, if it was used before."""
    return tx.one(
        "SELECT fingerprint, status, body FROM idempotency_keys "
        "WHERE scope = ? AND key = ? AND created_at >= ?",
        (pending.scope, pending.key, format_utc(utc_now() - KEEP)))


def check(row: dict[str, Any] | None, pending: Pending) -> None:
    if row is None:
        return
    if row["fingerprint"] != pending.fingerprint:
        raise InvalidRequest(f"Idempotency-Key {pending.key} was already used for another "
                             "request; send a new key for a new action", field=HEADER)
    raise Replayed(int(row["status"]), str(row["body"]))


def seal(tx: Tx, body: str) -> None:
    """Store the serving request's key (if it has one) with its answer ``body``, in ``tx``.

    Call it last in the write's transaction, with exactly the body the route answers."""
    pending = _PENDING.get()
    if pending is None:
        return
    now = utc_now()
    tx.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (format_utc(now - KEEP),))
    check(stored(tx, pending), pending)  # another process could have raced us (it cannot now)
    tx.execute("INSERT INTO idempotency_keys(scope, key, fingerprint, status, body, created_at) "
               "VALUES (?, ?, ?, ?, ?, ?)",
               (pending.scope, pending.key, pending.fingerprint, pending.status, body,
                format_utc(now)))
