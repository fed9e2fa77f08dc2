"""Versioned allocation rules in the database: seed, read the active version, publish.

Rules:
- ``allocation_rules`` is append-only; the row with the highest version is the active one, and
  its ``version`` is the document's own ``version`` field;
- the first reader or writer that needs rules seeds ``default_rules_text()`` as version 1,
  audited as ``allocation_rules.published`` by ``system``;
- a new version must validate (``RulesError`` naming the field path, nothing stored) and raise
  the version (versions only grow); it is audited with the previous and the new document
  (version, name, hash, YAML);
- compiled rules are cached by (version, sha256);
- a version whose part for some store would not fit in a store config is refused
  (``store_part.check_parts_fit``); publishing one tells the store config publisher
  (``notices.store_config_changed``), which raises every store's config version and pushes each
  its part, retained.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from hub.inventory.allocation.compiled import CompiledRules, compile_text
from hub.inventory.allocation.errors import RulesError
from hub.inventory.allocation.loader import default_rules_text, load_rules_yaml
from hub.inventory.allocation.store_part import check_parts_fit
from hub.storage import notices
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import Tx, reading, writing
from hub.storage.tables.inventory_rules import allocation_rules

SYSTEM_ACTOR = "system"
ACTION = "allocation_rules.published"
_CACHE: dict[tuple[int, str], CompiledRules] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8


@dataclass(frozen=True)
class ActiveRules:
    """One stored rules version, compiled."""

    version: int
    sha256: str
    name: str
    yaml: str
    published_by: str
    published_at: datetime
    compiled: CompiledRules


def sha256_of(text: str) -> str:
    """Hex SHA-256 of a document's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _compiled(version: int, sha: str, text: str) -> CompiledRules:
    key = (version, sha)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    rules = compile_text(text)
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = rules
    return rules


def _active_from(row: Any) -> ActiveRules:
    return ActiveRules(row.version, row.sha256, row.name, row.yaml, row.published_by,
                       row.published_at, _compiled(row.version, row.sha256, row.yaml))


def active(conn: Connection) -> ActiveRules | None:
    """The active (highest) rules version, or None before the first seed."""
    row = conn.execute(
        select(allocation_rules).order_by(allocation_rules.c.version.desc()).limit(1)
    ).first()
    return None if row is None else _active_from(row)


def _summary(rules: ActiveRules | None) -> Any:
    if rules is None:
        return None
    return {"version": rules.version, "name": rules.name, "sha256": rules.sha256,
            "yaml": rules.yaml}


def _insert(tx: Tx, text: str, actor: str, role: str, reason: str | None,
            before: ActiveRules | None) -> ActiveRules:
    document = load_rules_yaml(text)
    if before is not None and document.version <= before.version:
        raise RulesError.at(
            "version", f"must be above the active version {before.version} (got {document.version})"
        )
    check_parts_fit(_compiled(document.version, sha256_of(text), text))
    sha = sha256_of(text)
    tx.conn.execute(allocation_rules.insert().values(
        version=document.version, name=document.name, yaml=text, sha256=sha,
        published_by=actor, published_at=tx.now, reason=reason,
    ))
    tx.audit(AuditDraft(
        actor, role, ACTION, "allocation_rules", str(document.version), _summary(before),
        {"version": document.version, "name": document.name, "sha256": sha, "yaml": text},
        reason,
    ))
    notices.store_config_changed(tx.conn)  # every store's config carries its part of the rules
    row = tx.conn.execute(
        select(allocation_rules).where(allocation_rules.c.version == document.version)
    ).one()
    return _active_from(row)


def active_for_write(tx: Tx) -> ActiveRules:
    """The active rules inside a writing transaction, seeding the default ones if none yet."""
    current = active(tx.conn)
    if current is not None:
        return current
    return _insert(tx, default_rules_text(), SYSTEM_ACTOR, "system",
                   "default allocation rules seeded on first use", None)


def ensure_seeded(engine: Engine) -> ActiveRules:
    """Seed the default rules if the database has none; return the active version."""
    with reading(engine) as conn:
        current = active(conn)
    if current is not None:
        return current
    with writing(engine) as tx:
        return active_for_write(tx)


def publish(engine: Engine, text: str, actor: str, role: str,
            reason: str | None = None) -> ActiveRules:
    """Validate ``text`` and store it as the new active version (audited)."""
    check_parts_fit(compile_text(text))  # fail before taking the write lock
    with writing(engine) as tx:
        return _insert(tx, text, actor, role, reason, active_for_write(tx))


def versions(conn: Connection) -> list[dict[str, Any]]:
    """Every stored version, newest first (without the YAML text)."""
    c = allocation_rules.c
    rows = conn.execute(
        select(c.version, c.name, c.sha256, c.published_by, c.published_at, c.reason)
        .order_by(c.version.desc())
    )
    return [dict(r._mapping) for r in rows]
