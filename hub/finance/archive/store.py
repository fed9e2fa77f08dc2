"""Closing a month, correcting it, listing and verifying the archives.

Rules: see the package. ``close`` produces the sections in a reading transaction, then in one
writing transaction checks the version is free, writes the folder (write-once), stores the records
and audits the manifest's hash; if the transaction fails after the folder was written, the folder
is moved aside (``files.withdraw``) so the version can be written again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from hub.errors import Conflict, HubError, InputError, NotFound
from hub.finance.archive import files, manifest
from hub.finance.archive.manifest import MANIFEST, Listed
from hub.finance.archive.months import check_month, due_month, has_ended
from hub.finance.archive.sections import SECTIONS, Section, produce
from hub.finance.fx_amounts_store import convert_pending
from hub.storage import audit_log
from hub.storage.audit_chain import AuditDraft, AuditEntry, draft_of, entry_hash
from hub.storage.engine import reading, writing
from hub.storage.tables.archive import finance_archive_files, finance_archives
from protocol import utc_now

CLOSED, CORRECTED = "archive.closed", "archive.corrected"
SYSTEM = ("system:archive", "system")


@dataclass(frozen=True)
class Verification:
    """What verifying one archive version found; ``ok`` when nothing."""

    month: str
    version: int
    files: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every file, the manifest and the audit entry agree."""
        return not self.problems


def folder_of(month: str, version: int) -> str:
    """The version's folder, relative to the archive directory."""
    return f"{month}/v{version}"


def _latest(conn: Connection, month: str) -> int:
    return int(
        conn.scalar(
            select(func.coalesce(func.max(finance_archives.c.version), 0)).where(
                finance_archives.c.month == month
            )
        )
        or 0
    )


def _listed(conn: Connection, month: str, version: int) -> list[Listed]:
    c = finance_archive_files.c
    rows = conn.execute(
        select(c.name, c.size, c.sha256)
        .where(c.month == month, c.version == version)
        .order_by(c.name)
    )
    return [Listed(r.name, int(r.size), r.sha256) for r in rows]


def close(
    engine: Engine,
    root: Path,
    month: str,
    actor: str,
    role: str,
    reason: str | None = None,
    correction: bool = False,
    sections: Sequence[tuple[str, Section]] = SECTIONS,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Archive ``month`` (version 1), or with ``correction`` a new version; the record."""
    check_month(month)
    reason = (reason or "").strip() or None
    if correction and not reason:
        raise InputError("a correction needs a reason", field="reason")
    if not has_ended(month, now or utc_now()):
        raise InputError(
            f"{month} has not ended yet: only a past month can be closed", field="month"
        )
    convert_pending(engine)  # the exports section reads amounts in each entity's base currency
    with reading(engine) as conn:
        made = produce(conn, month, sections)
    listed = manifest.listing(made)
    folder = ""
    try:
        with writing(engine, now) as tx:
            latest = _latest(tx.conn, month)
            _check_version(tx.conn, month, latest, correction, listed)
            version = latest + 1
            folder = folder_of(month, version)
            data = manifest.build(month, version, listed, tx.now, actor, reason, latest or None)
            record = {
                "month": month,
                "version": version,
                "folder": folder,
                "manifest_sha256": manifest.sha256(data),
                "files": len(listed),
                "bytes": sum(f.size for f in listed),
                "closed_at": tx.now,
                "closed_by": actor,
                "closed_role": role,
                "reason": reason,
            }
            tx.conn.execute(finance_archives.insert().values(record))
            if listed:
                tx.conn.execute(
                    finance_archive_files.insert(),
                    [
                        {
                            "month": month,
                            "version": version,
                            "name": f.name,
                            "size": f.size,
                            "sha256": f.sha256,
                        }
                        for f in listed
                    ],
                )
            tx.audit(_draft(actor, role, record, latest))
            files.write_version(root, folder, made, data)
    except BaseException:
        if folder and not _stored(engine, month, folder):
            files.withdraw(root, folder)
        raise
    return record


def _stored(engine: Engine, month: str, folder: str) -> bool:
    try:
        with reading(engine) as conn:
            return (
                conn.scalar(
                    select(finance_archives.c.version).where(
                        finance_archives.c.month == month, finance_archives.c.folder == folder
                    )
                )
                is not None
            )
    except HubError:  # the database cannot tell: keep the folder, lose nothing
        return True


def _check_version(
    conn: Connection, month: str, latest: int, correction: bool, listed: list[Listed]
) -> None:
    if latest and not correction:
        raise Conflict(
            f"{month} is closed already (version {latest}); a change is a correction "
            "(a new version, with a reason)"
        )
    if correction and not latest:
        raise Conflict(f"{month} is not closed yet: close it first")
    if correction and _listed(conn, month, latest) == listed:
        raise Conflict(f"nothing in {month} changed since version {latest}: no correction made")


def _draft(actor: str, role: str, record: dict[str, Any], latest: int) -> AuditDraft:
    return AuditDraft(
        actor,
        role,
        CORRECTED if latest else CLOSED,
        "archive",
        record["folder"],
        None,
        {
            "month": record["month"],
            "version": record["version"],
            "manifest_sha256": record["manifest_sha256"],
            "files": record["files"],
            "bytes": record["bytes"],
            "corrects": latest or None,
        },
        record["reason"],
    )


def close_due(engine: Engine, root: Path, days: int, now: datetime | None = None) -> str | None:
    """Close the latest month due ``days`` after its end, unless it is closed; which one."""
    month = due_month(now or utc_now(), days)
    with reading(engine) as conn:
        if _latest(conn, month):
            return None
    try:
        close(engine, root, month, *SYSTEM, reason=f"closed {days} days after its end", now=now)
    except Conflict:
        return None  # another process closed it meanwhile
    return month


def archives(conn: Connection, month: str | None = None) -> list[dict[str, Any]]:
    """Every archive version (of ``month``), newest month first, versions in order."""
    c = finance_archives.c
    query = select(finance_archives).order_by(c.month.desc(), c.version)
    if month is not None:
        query = query.where(c.month == check_month(month))
    return [dict(row._mapping) for row in conn.execute(query)]


def one(conn: Connection, month: str, version: int) -> tuple[dict[str, Any], list[Listed]]:
    """One version's record and its files (NotFound when there is none)."""
    row = conn.execute(
        select(finance_archives).where(
            finance_archives.c.month == check_month(month), finance_archives.c.version == version
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"no archive of {month} version {version}")
    return dict(row._mapping), _listed(conn, month, version)


def read_file(engine: Engine, root: Path, month: str, version: int, name: str) -> bytes:
    """One archived file (or the manifest) of a version, as it is on disk."""
    with reading(engine) as conn:
        record, listed = one(conn, month, version)
    if name != MANIFEST and name not in {f.name for f in listed}:
        raise NotFound(f"{name} is not in the archive of {month} version {version}")
    return files.read(root, record["folder"], name)


def verify(engine: Engine, root: Path, month: str, version: int) -> Verification:
    """Recompute every file and compare with the manifest, the records and the audit chain."""
    with reading(engine) as conn:
        record, listed = one(conn, month, version)
        entries = audit_log.for_entity(conn, "archive", record["folder"])
    problems = _audit_problems(entries, record)
    try:
        data = files.read(root, record["folder"], MANIFEST)
    except NotFound:
        return Verification(month, version, len(listed), [*problems, f"{MANIFEST}: missing"])
    if manifest.sha256(data) != record["manifest_sha256"]:
        problems.append(f"{MANIFEST}: altered (its SHA-256 is not the one recorded and audited)")
    try:
        in_manifest = manifest.parse(data)
    except InputError as err:
        return Verification(month, version, len(listed), [*problems, f"{MANIFEST}: {err.message}"])
    if in_manifest != listed:
        problems.append(f"{MANIFEST}: its file list differs from the recorded one")
    problems.extend(manifest.compare(listed, files.scan(root, record["folder"])))
    return Verification(month, version, len(listed), problems)


def _audit_problems(entries: list[AuditEntry], record: dict[str, Any]) -> list[str]:
    closing = [e for e in entries if e.action in (CLOSED, CORRECTED)]
    if not closing:
        return ["audit trail: no archive.closed entry for this version"]
    entry = closing[0]
    if entry.hash != entry_hash(entry.seq, entry.at, draft_of(entry), entry.prev_hash):
        return [f"audit trail: entry #{entry.seq} was altered"]
    after = entry.after if isinstance(entry.after, dict) else {}
    if after.get("manifest_sha256") != record["manifest_sha256"]:
        return [f"audit trail: entry #{entry.seq} holds another manifest hash than the record"]
    return []
