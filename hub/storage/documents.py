"""Versioned YAML documents in an append-only table (routing rules, transfer price rules).

Rules:
- the table has ``version``, ``name``, ``yaml``, ``sha256``, ``published_by``, ``published_at``;
  the row with the highest version is active; before the first publication the default text
  shipped with ACORN is active, unstored;
- a new version must load (the loader raises the document's own error naming each bad field,
  nothing stored) and be higher than the active one (``refuse`` builds that error); it is
  audited with the previous and the new document (version, name, sha256, YAML);
- parsed documents are cached by sha256 (a document's text fixes what it says).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from typing import Generic, Protocol, TypeVar

from sqlalchemy import Connection, Table, select

from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import Tx


class Versioned(Protocol):
    """What a loaded document says of itself."""

    @property
    def version(self) -> int: ...

    @property
    def name(self) -> str: ...


D = TypeVar("D", bound=Versioned)


def sha256_of(text: str) -> str:
    """Hex SHA-256 of a document's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class VersionedDocuments(Generic[D]):
    """The active version of one kind of document, and publishing a new one."""

    def __init__(self, table: Table, action: str, load: Callable[[str], D],
                 default_text: Callable[[], str], refuse: Callable[[str], Exception]) -> None:
        self._table, self._action, self._load = table, action, load
        self._default, self._refuse = default_text, refuse
        self._parsed = lru_cache(maxsize=8)(lambda _sha, text: load(text))

    def active_text(self, conn: Connection) -> str:
        """The YAML of the active version (the shipped default before any publication)."""
        t = self._table
        text = conn.scalar(select(t.c.yaml).order_by(t.c.version.desc()).limit(1))
        return self._default() if text is None else str(text)

    def active(self, conn: Connection) -> D:
        """The active document."""
        text = self.active_text(conn)
        parsed: D = self._parsed(sha256_of(text), text)
        return parsed

    def publish(self, tx: Tx, text: str, actor: str, role: str) -> D:
        """Store ``text`` as the new active version; audited with before and after."""
        new = self._load(text)
        before_text = self.active_text(tx.conn)
        before: D = self._parsed(sha256_of(before_text), before_text)
        if new.version <= before.version:
            raise self._refuse(f"must be higher than the active version {before.version}")
        sha = sha256_of(text)
        tx.conn.execute(self._table.insert().values(
            version=new.version, name=new.name, yaml=text, sha256=sha, published_by=actor,
            published_at=tx.now))
        tx.audit(AuditDraft(
            actor, role, self._action, self._table.name, str(new.version),
            {"version": before.version, "name": before.name, "sha256": sha256_of(before_text),
             "yaml": before_text},
            {"version": new.version, "name": new.name, "sha256": sha, "yaml": text}))
        return new
