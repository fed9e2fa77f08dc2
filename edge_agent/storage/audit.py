"""The local audit log: append-only, hash-chained, written in the same transaction as the change.

Rules: every state change at this node (return received, refund requested, inspection,
disposition, refund decided, refund payment status, RMA cached, command refused) appends one entry
naming who (actor and role), what (action, entity, id), before and after; each entry's hash covers
the previous hash, so editing or deleting a row breaks the chain (``verify`` finds the first broken
entry), and SQLite triggers refuse UPDATE and DELETE outright.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from edge_agent.storage.store import Tx
from protocol import format_utc

GENESIS = "0" * 64


def _digest(prev_hash: str, entry: dict[str, Any]) -> str:
    canonical = json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def record(tx: Tx, *, at: datetime, actor: str, role: str, action: str, entity: str,
           entity_id: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    """Append one entry to the chain, inside the caller's transaction."""
    prev = tx.scalar("SELECT hash FROM audit ORDER BY id DESC LIMIT 1") or GENESIS
    entry = {"at": format_utc(at), "actor": actor, "role": role, "action": action,
             "entity": entity, "entity_id": entity_id,
             "before": _json(before), "after": _json(after)}
    tx.execute(
        "INSERT INTO audit(at, actor, role, action, entity, entity_id, before, after, prev_hash, "
        "hash) VALUES (:at, :actor, :role, :action, :entity, :entity_id, :before, :after, :prev, "
        ":hash)", {**entry, "prev": prev, "hash": _digest(prev, entry)})


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def verify(tx: Tx) -> int | None:
    """The id of the first entry whose hash does not fit the chain, or None if all is intact."""
    prev = GENESIS
    for row in tx.all("SELECT * FROM audit ORDER BY id"):
        entry = {k: row[k] for k in ("at", "actor", "role", "action", "entity", "entity_id",
                                      "before", "after")}
        if row["prev_hash"] != prev or row["hash"] != _digest(prev, entry):
            return int(row["id"])
        prev = row["hash"]
    return None
