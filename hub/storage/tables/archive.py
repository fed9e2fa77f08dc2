"""The monthly archive's records (migration ``0034``, ``hub.finance.archive``).

Rules:
- ``finance_archives`` holds one row per archive version of a month: version 1 is the close, each
  correction a higher version; rows are never updated or deleted (the files are write-once too);
- ``manifest_sha256`` is the SHA-256 of the version's ``manifest.json`` as written; the same hash
  is in the audit chain's ``archive.closed`` entry for ``<month>/v<version>``;
- ``finance_archive_files`` lists each archived file (name relative to the version's folder,
  size, SHA-256) exactly as the manifest does.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from hub.storage.tables.core import metadata
from hub.storage.types import UtcDateTime

finance_archives = Table(
    "finance_archives",
    metadata,
    Column("month", String(7), primary_key=True),  # YYYY-MM (UTC)
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("folder", String(200), nullable=False),  # relative to the archive directory
    Column("manifest_sha256", String(64), nullable=False),
    Column("files", Integer, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("closed_at", UtcDateTime, nullable=False),
    Column("closed_by", String(200), nullable=False),
    Column("closed_role", String(40), nullable=False),
    Column("reason", Text),
)

finance_archive_files = Table(
    "finance_archive_files",
    metadata,
    Column("month", String(7), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", String(300), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
)
