"""Versioned transfer price rules in the database: the active version, and publishing a new one.

Rules:
- ``transfer_price_rules`` is append-only; the row with the highest version is active; before
  the first publication the default rules shipped with ACORN (version 1, at cost) are active;
- a new version must validate (``TransferPriceRulesError`` naming each bad field, nothing
  stored) and be higher than the active one; it is audited as ``transfer_prices.published``
  with the previous and the new document;
- a transfer is priced by the version active when its receipt is complete; the line keeps it.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources

from sqlalchemy import Connection, select

from hub.inventory.transfers.rules import (
    TransferPriceRules,
    TransferPriceRulesError,
    load_price_rules_yaml,
)
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import Tx
from hub.storage.tables.transfers import transfer_price_rules

ACTION = "transfer_prices.published"


def default_text() -> str:
    """The YAML text of the default transfer price rules shipped with ACORN."""
    package = __name__.rsplit(".", 1)[0]
    return resources.files(package).joinpath("default_rules.yaml").read_text("utf-8")


@lru_cache(maxsize=8)
def _parsed(sha: str, text: str) -> TransferPriceRules:
    return load_price_rules_yaml(text)


def sha256_of(text: str) -> str:
    """Hex SHA-256 of a document's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def active_text(conn: Connection) -> str:
    """The YAML of the active price rules (the shipped default before any publication)."""
    text = conn.scalar(select(transfer_price_rules.c.yaml)
                       .order_by(transfer_price_rules.c.version.desc()).limit(1))
    return default_text() if text is None else str(text)


def active(conn: Connection) -> TransferPriceRules:
    """The active transfer price rules."""
    text = active_text(conn)
    return _parsed(sha256_of(text), text)


def publish(tx: Tx, text: str, actor: str, role: str) -> TransferPriceRules:
    """Store ``text`` as the new active version; audited with before and after."""
    rules = load_price_rules_yaml(text)
    before_text = active_text(tx.conn)
    before = _parsed(sha256_of(before_text), before_text)
    if rules.version <= before.version:
        raise TransferPriceRulesError.at(
            "version", f"must be higher than the active version {before.version}")
    sha = sha256_of(text)
    tx.conn.execute(transfer_price_rules.insert().values(
        version=rules.version, name=rules.name, yaml=text, sha256=sha, published_by=actor,
        published_at=tx.now))
    tx.audit(AuditDraft(
        actor, role, ACTION, "transfer_price_rules", str(rules.version),
        {"version": before.version, "name": before.name, "sha256": sha256_of(before_text)},
        {"version": rules.version, "name": rules.name, "sha256": sha, "yaml": text}))
    return rules
