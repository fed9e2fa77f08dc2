"""Versioned refund policy documents in the database: seed, read the active one, publish.

Rules:
- ``policies`` is append-only; the row with the highest version is the active policy, and its
  ``version`` is the document's own ``version`` field (so every decision names a stored version);
- the first writer that needs a policy seeds ``default_policy()`` as version 1, audited as
  ``policy.published`` by ``system`` (the app also seeds at start);
- a new version must validate (``PolicyError`` naming the field path, nothing stored) and raise
  the version; it is audited with the previous and the new document (version, hash, YAML);
- compiled policies are cached by (version, sha256): the ingest compiles once per version, not
  once per batch.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from hub.policy import CompiledPolicy, PolicyError, compile_policy, load_policy_yaml
from hub.policy.loader import default_policy_text
from hub.storage import notices
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import Tx, reading, writing
from hub.storage.tables.access import policies

SYSTEM_ACTOR = "system"
_CACHE: dict[tuple[int, str], CompiledPolicy] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8


@dataclass(frozen=True)
class ActivePolicy:
    """One stored policy version, compiled."""

    version: int
    sha256: str
    name: str
    yaml: str
    published_by: str
    published_at: datetime
    compiled: CompiledPolicy


def sha256_of(text: str) -> str:
    """Hex SHA-256 of a document's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def compile_text(text: str) -> CompiledPolicy:
    """Parse, validate and compile a YAML document; ``PolicyError`` names the bad field."""
    return compile_policy(load_policy_yaml(text))


def _compiled(version: int, sha: str, text: str) -> CompiledPolicy:
    key = (version, sha)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    policy = compile_text(text)
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = policy
    return policy


def _active_from(row: Any) -> ActivePolicy:
    return ActivePolicy(
        row.version,
        row.sha256,
        row.name,
        row.yaml,
        row.published_by,
        row.published_at,
        _compiled(row.version, row.sha256, row.yaml),
    )


def active(conn: Connection) -> ActivePolicy | None:
    """The active (highest) policy version, or None before the first seed."""
    row = conn.execute(select(policies).order_by(policies.c.version.desc()).limit(1)).first()
    return None if row is None else _active_from(row)


def _insert(
    tx: Tx, text: str, actor: str, role: str, reason: str | None, before: ActivePolicy | None
) -> ActivePolicy:
    document = load_policy_yaml(text)
    if before is not None and document.version <= before.version:
        raise PolicyError.at(
            "version", f"must be above the active version {before.version} (got {document.version})"
        )
    compile_policy(document)  # a document that validates but cannot compile is refused too
    sha = sha256_of(text)
    tx.conn.execute(
        policies.insert().values(
            version=document.version,
            name=document.name,
            yaml=text,
            sha256=sha,
            published_by=actor,
            published_at=tx.now,
            reason=reason,
        )
    )
    tx.audit(
        AuditDraft(
            actor,
            role,
            "policy.published",
            "policy",
            str(document.version),
            _summary(before),
            {"version": document.version, "name": document.name, "sha256": sha, "yaml": text},
            reason,
        )
    )
    row = tx.conn.execute(select(policies).where(policies.c.version == document.version)).one()
    return _active_from(row)


def _summary(policy: ActivePolicy | None) -> Any:
    if policy is None:
        return None
    return {
        "version": policy.version,
        "name": policy.name,
        "sha256": policy.sha256,
        "yaml": policy.yaml,
    }


def active_for_write(tx: Tx) -> ActivePolicy:
    """The active policy inside a writing transaction, seeding the default one if none yet."""
    current = active(tx.conn)
    if current is not None:
        return current
    return _insert(
        tx,
        default_policy_text(),
        SYSTEM_ACTOR,
        "system",
        "default policy seeded on first use",
        None,
    )


def ensure_seeded(engine: Engine) -> ActivePolicy:
    """Seed the default policy if the database has none; return the active one."""
    with reading(engine) as conn:
        current = active(conn)
    if current is not None:
        return current
    with writing(engine) as tx:
        return active_for_write(tx)


def publish(
    engine: Engine, text: str, actor: str, role: str, reason: str | None = None
) -> ActivePolicy:
    """Validate ``text`` and store it as the new active version (audited)."""
    compile_text(text)  # fail before taking the write lock
    with writing(engine) as tx:
        notices.store_config_changed(tx.conn)  # the stores' config carries the policy version
        return _insert(tx, text, actor, role, reason, active_for_write(tx))


def versions(conn: Connection) -> list[dict[str, Any]]:
    """Every stored version, newest first (without the YAML text)."""
    rows = conn.execute(
        select(
            policies.c.version,
            policies.c.name,
            policies.c.sha256,
            policies.c.published_by,
            policies.c.published_at,
            policies.c.reason,
        ).order_by(policies.c.version.desc())
    )
    return [dict(r._mapping) for r in rows]


def version_text(conn: Connection, version: int) -> str | None:
    """The YAML of one stored version."""
    return conn.execute(select(policies.c.yaml).where(policies.c.version == version)).scalar()
