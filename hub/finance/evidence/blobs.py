"""Evidence bytes on disk, named by their SHA-256: ``<root>/<sha[:2]>/<sha>``.

Rules: a blob is written once (a temporary file in the same folder, fsynced, read-only, renamed
into place: ``archive.files.create_read_only``); bytes already there are not written again;
``remove`` is for the purge pass only; OS errors become ``StorageError`` naming the path.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from hub.errors import NotFound, StorageError
from hub.finance.archive.files import create_read_only


def path_of(root: Path, sha: str) -> Path:
    """Where the blob with hash ``sha`` lives."""
    return root / sha[:2] / sha


def put(root: Path, data: bytes) -> str:
    """Store ``data``; returns its SHA-256 (hex)."""
    sha = hashlib.sha256(data).hexdigest()
    final = path_of(root, sha)
    if final.exists():
        return sha
    temp = final.parent / f".{sha}.{uuid.uuid4().hex[:8]}"
    try:
        create_read_only(temp, data)
        os.replace(temp, final)
    except OSError as err:
        raise StorageError(
            f"cannot store evidence in {final.parent}: {err.strerror or err}"
        ) from err
    return sha


def get(root: Path, sha: str) -> bytes:
    """The blob's bytes (NotFound when it is gone)."""
    try:
        return path_of(root, sha).read_bytes()
    except FileNotFoundError as err:
        raise NotFound(f"the evidence file {sha[:12]}… is not stored (purged?)") from err
    except OSError as err:
        raise StorageError(f"cannot read evidence {sha[:12]}…: {err.strerror or err}") from err


def remove(root: Path, sha: str) -> bool:
    """Delete the blob (purge); True when there was one."""
    try:
        path_of(root, sha).unlink()
    except FileNotFoundError:
        return False
    except OSError as err:
        raise StorageError(f"cannot purge evidence {sha[:12]}…: {err.strerror or err}") from err
    return True
