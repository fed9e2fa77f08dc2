"""The manifest of one archive version, and the comparison of files against it.

Rules: pure; the manifest is JSON (sorted keys, two-space indent, UTF-8, a final newline) listing
each file's name, size and SHA-256 in name order, with the month, the version, who closed it and
when, and which version it corrects; ``compare`` names every file that is missing, altered (size or
hash) or not in the manifest.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.errors import InputError
from protocol import format_utc

FORMAT = "acorn-archive/1"
MANIFEST = "manifest.json"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}(/[A-Za-z0-9][A-Za-z0-9._-]{0,120}){0,3}$")


@dataclass(frozen=True)
class ArchiveFile:
    """One file of an archive: its name inside the version's folder and its bytes."""

    name: str
    data: bytes

    def __post_init__(self) -> None:
        if not NAME.match(self.name) or ".." in self.name or self.name == MANIFEST:
            raise InputError(f"{self.name!r} cannot be an archive file name", field="name")


@dataclass(frozen=True)
class Listed:
    """A file as the manifest lists it."""

    name: str
    size: int
    sha256: str


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def listing(files: Sequence[ArchiveFile]) -> list[Listed]:
    """The files' names, sizes and hashes, in name order (refuses a name given twice)."""
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise InputError("two archive files have the same name", field="name")
    ordered = sorted(files, key=lambda f: f.name)
    return [Listed(f.name, len(f.data), sha256(f.data)) for f in ordered]


def build(
    month: str,
    version: int,
    files: Sequence[Listed],
    closed_at: datetime,
    closed_by: str,
    reason: str | None,
    corrects: int | None,
) -> bytes:
    """The manifest's bytes."""
    body: dict[str, Any] = {
        "format": FORMAT,
        "month": month,
        "version": version,
        "closed_at": format_utc(closed_at),
        "closed_by": closed_by,
        "reason": reason,
        "corrects": corrects,
        "files": [{"name": f.name, "size": f.size, "sha256": f.sha256} for f in files],
    }
    return (json.dumps(body, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def parse(data: bytes) -> list[Listed]:
    """The files a manifest lists (InputError when it is not one)."""
    try:
        body = json.loads(data)
        if body.get("format") != FORMAT:
            raise ValueError("not an ACORN archive manifest")
        return [Listed(str(f["name"]), int(f["size"]), str(f["sha256"])) for f in body["files"]]
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise InputError(f"the manifest cannot be read: {err}", field="manifest") from err


def compare(listed: Sequence[Listed], found: Mapping[str, Listed]) -> list[str]:
    """Every difference between the manifest's files and the files found, one sentence each."""
    problems = []
    for item in listed:
        seen = found.get(item.name)
        if seen is None:
            problems.append(f"{item.name}: missing")
        elif seen.size != item.size:
            problems.append(f"{item.name}: altered (size {seen.size}, manifest says {item.size})")
        elif seen.sha256 != item.sha256:
            problems.append(
                f"{item.name}: altered (SHA-256 {seen.sha256[:12]}…, manifest says "
                f"{item.sha256[:12]}…)"
            )
    names = {item.name for item in listed}
    problems.extend(f"{name}: not in the manifest" for name in sorted(set(found) - names))
    return problems
