"""Versioned routing rules in the database: the active version, and publishing a new one.

Rules:
- ``routing_rules`` is append-only; the row with the highest version is active; before the
  first publication the default rules shipped with ACORN (version 1) are active, unstored;
- a new version must validate (``RoutingRulesError`` naming each bad field, nothing stored) and
  be higher than the active one; it is audited as ``routing_rules.published`` with the previous
  and the new document (version, name, sha256, YAML);
- parsed rules are cached by sha256 (a document's text fixes its rules).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from sqlalchemy import Connection, select

from hub.inventory.routing import default_routing_text
from hub.inventory.routing.document import RoutingRules, RoutingRulesError, load_routing_yaml
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import Tx
from hub.storage.tables.routing import routing_rules

ACTION = "routing_rules.published"


@lru_cache(maxsize=8)
def _parsed(sha: str, text: str) -> RoutingRules:
    return load_routing_yaml(text)


def sha256_of(text: str) -> str:
    """Hex SHA-256 of a document's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def active_text(conn: Connection) -> str:
    """The YAML of the active routing rules (the shipped default before any publication)."""
    text = conn.scalar(select(routing_rules.c.yaml)
                       .order_by(routing_rules.c.version.desc()).limit(1))
    return default_routing_text() if text is None else str(text)


def active(conn: Connection) -> RoutingRules:
    """The active routing rules."""
    text = active_text(conn)
    return _parsed(sha256_of(text), text)


def publish(tx: Tx, text: str, actor: str, role: str) -> RoutingRules:
    """Store ``text`` as the new active version; audited with before and after."""
    rules = load_routing_yaml(text)
    before_text = active_text(tx.conn)
    before = _parsed(sha256_of(before_text), before_text)
    if rules.version <= before.version:
        raise RoutingRulesError.at(
            "version", f"must be higher than the active version {before.version}")
    sha = sha256_of(text)
    tx.conn.execute(routing_rules.insert().values(
        version=rules.version, name=rules.name, yaml=text, sha256=sha, published_by=actor,
        published_at=tx.now))
    tx.audit(AuditDraft(
        actor, role, ACTION, "routing_rules", str(rules.version),
        {"version": before.version, "name": before.name, "sha256": sha256_of(before_text),
         "yaml": before_text},
        {"version": rules.version, "name": rules.name, "sha256": sha, "yaml": text}))
    return rules
