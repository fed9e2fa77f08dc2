"""Archive folders on disk: written once, read-only, never overwritten.

Rules:
- a version is written into a staging folder next to its final place (each file created
  exclusively, fsynced, made read-only), then moved into place with one rename; an existing
  folder is refused, never replaced;
- ``withdraw`` moves a folder whose record could not be stored aside (``.withdrawn-…``), so a
  failed close leaves nothing in the archive's place and loses nothing;
- reading hashes each file as it is on disk now; an OS error becomes a ``StorageError`` (or
  ``NotFound``) naming the path.
"""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Sequence
from pathlib import Path

from hub.errors import Conflict, NotFound, StorageError
from hub.finance.archive.manifest import MANIFEST, ArchiveFile, Listed, sha256

READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
READ_ONLY_DIR = READ_ONLY | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH


def create_read_only(path: Path, data: bytes) -> None:
    """Create ``path`` (never an existing one) with ``data``, fsynced, read-only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, READ_ONLY)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _seal(folder: Path) -> None:
    # read-only folders, deepest first: no file can be added, renamed or removed by accident
    for path in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
        path.chmod(READ_ONLY_DIR)
    folder.chmod(READ_ONLY_DIR)


def write_version(root: Path, folder: str, files: Sequence[ArchiveFile], manifest: bytes) -> Path:
    """Write ``files`` and the manifest as ``root/folder``; Conflict if it exists already."""
    final = root / folder
    if final.exists():
        raise Conflict(f"{final} exists: an archive is never overwritten")
    staging = final.parent / f".staging-{final.name}-{uuid.uuid4().hex[:8]}"
    try:
        staging.mkdir(parents=True)
        for item in files:
            create_read_only(staging / item.name, item.data)
        create_read_only(staging / MANIFEST, manifest)
        _seal(staging)
        staging.rename(final)
    except OSError as err:
        raise StorageError(f"cannot write the archive {final}: {err.strerror or err}") from err
    return final


def withdraw(root: Path, folder: str) -> None:
    """Move ``root/folder`` aside after its record failed to be stored."""
    final = root / folder
    if final.exists():
        final.rename(final.parent / f".withdrawn-{final.name}-{uuid.uuid4().hex[:8]}")


def read(root: Path, folder: str, name: str) -> bytes:
    """One file of a version (the manifest included), as it is on disk."""
    path = root / folder / name
    try:
        return path.read_bytes()
    except FileNotFoundError as err:
        raise NotFound(f"{path} is missing from the archive") from err
    except OSError as err:
        raise StorageError(f"cannot read {path}: {err.strerror or err}") from err


def scan(root: Path, folder: str) -> dict[str, Listed]:
    """Every file of a version except the manifest, with its size and hash as on disk now."""
    base = root / folder
    found: dict[str, Listed] = {}
    try:
        for path in sorted(base.rglob("*")):
            if path.is_file():
                name = path.relative_to(base).as_posix()
                if name != MANIFEST:
                    data = path.read_bytes()
                    found[name] = Listed(name, len(data), sha256(data))
    except OSError as err:
        raise StorageError(f"cannot read the archive {base}: {err.strerror or err}") from err
    return found
