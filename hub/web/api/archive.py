"""The monthly archive through the API: ``/api/archive`` — list the archives, close a month (or
correct it: a new version), read one version's files, download a file or the manifest, verify.

Who: finance and admins with an unlimited scope (an archive spans every store). Closing and
correcting are audited (``hub.finance.archive.store``). A bad month is 422, a month closed already
(or a correction that changes nothing) 409, an unknown version or file 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from hub.access.permissions import Principal, Role, require_unscoped
from hub.errors import Forbidden
from hub.finance.archive import store
from hub.finance.archive.manifest import MANIFEST
from hub.finance.archive.months import MONTH
from hub.storage.engine import reading
from hub.web.api.deps import Caller, Hub
from hub.web.api.models import ErrorOut

router = APIRouter(prefix="/api/archive", tags=["monthly archive"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 422)
}
FINANCE = frozenset({Role.FINANCE, Role.ADMIN})
Month = Annotated[str, Path(pattern=MONTH.pattern, description="YYYY-MM (UTC)")]
Version = Annotated[int, Path(ge=1, le=100_000)]


def finance(who: Caller) -> Principal:
    """The caller, when they may read and close archives (finance or admin, unscoped)."""
    if who.role not in FINANCE:
        raise Forbidden(f"{who.role.value} may not read or close the monthly archive")
    require_unscoped(who, "monthly archives")
    return who


Finance = Annotated[Principal, Depends(finance)]


class FileOut(BaseModel):
    """One archived file."""

    name: str
    size: int
    sha256: str


class ArchiveOut(BaseModel):
    """One archive version of a month."""

    month: str
    version: int
    manifest_sha256: str
    files: int
    bytes: int
    closed_at: datetime
    closed_by: str
    reason: str | None


class ArchiveDetailOut(ArchiveOut):
    """One version with its files."""

    listing: list[FileOut]


class VerifyOut(BaseModel):
    """What verifying a version found: ``ok`` or the files (and records) that differ."""

    month: str
    version: int
    files: int
    ok: bool
    problems: list[str]


class CloseIn(BaseModel):
    """Close a month, or correct a closed one (a new version, with a reason)."""

    model_config = ConfigDict(extra="forbid")
    correction: bool = False
    reason: str | None = Field(None, max_length=2000)


@router.get("", response_model=list[ArchiveOut], responses=ERRORS)
def list_archives(hub: Hub, who: Finance) -> list[ArchiveOut]:
    """Every archive version, newest month first."""
    with reading(hub.engine) as conn:
        return [ArchiveOut(**row) for row in store.archives(conn)]


@router.post(
    "/{month}",
    response_model=ArchiveOut,
    status_code=201,
    responses={**ERRORS, 409: {"model": ErrorOut}},
)
def close_month(hub: Hub, who: Finance, month: Month, body: CloseIn) -> ArchiveOut:
    """Close ``month`` (its archive written once), or correct it as a new version."""
    record = store.close(
        hub.engine,
        hub.settings.archive_dir,
        month,
        who.actor,
        who.role.value,
        body.reason,
        body.correction,
    )
    return ArchiveOut(**record)


@router.get("/{month}/{version}", response_model=ArchiveDetailOut, responses=ERRORS)
def get_archive(hub: Hub, who: Finance, month: Month, version: Version) -> ArchiveDetailOut:
    """One version and its files."""
    with reading(hub.engine) as conn:
        record, listed = store.one(conn, month, version)
    return ArchiveDetailOut(
        **record, listing=[FileOut(name=f.name, size=f.size, sha256=f.sha256) for f in listed]
    )


@router.get("/{month}/{version}/verify", response_model=VerifyOut, responses=ERRORS)
def verify(hub: Hub, who: Finance, month: Month, version: Version) -> VerifyOut:
    """Recompute every file against the manifest, the record and the audit chain."""
    found = store.verify(hub.engine, hub.settings.archive_dir, month, version)
    return VerifyOut(
        month=found.month,
        version=found.version,
        files=found.files,
        ok=found.ok,
        problems=found.problems,
    )


@router.get("/{month}/{version}/files/{name:path}", response_class=Response, responses=ERRORS)
def download(
    hub: Hub,
    who: Finance,
    month: Month,
    version: Version,
    name: Annotated[str, Path(max_length=400)],
) -> Response:
    """One archived file (``manifest.json`` for the manifest), as stored."""
    data = store.read_file(hub.engine, hub.settings.archive_dir, month, version, name)
    kind = (
        "application/json"
        if name == MANIFEST
        else "text/csv; charset=utf-8"
        if name.endswith(".csv")
        else "application/octet-stream"
    )
    filename = f"{month}-v{version}-{name.replace('/', '-')}"
    return Response(
        data, media_type=kind, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
