"""The registry of month sections: what a closed month's archive holds.

Rules: ``SECTIONS`` is an explicit list of (name, producer); a producer is
``(conn, month) -> [ArchiveFile]`` and must be deterministic (the same stored facts give the same
bytes: sorted rows, no clock, no randomness); its files land in the archive under
``<name>/<file name>``. Add a section by adding its line here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Connection

from hub.finance.archive.evidence_index import evidence_index
from hub.finance.archive.exports import exports
from hub.finance.archive.journal import journal
from hub.finance.archive.manifest import ArchiveFile
from hub.finance.archive.reconciliation import reconciliation
from hub.finance.archive.settlements import settlements

Section = Callable[[Connection, str], Sequence[ArchiveFile]]

SECTIONS: tuple[tuple[str, Section], ...] = (
    ("journal", journal),
    ("settlements", settlements),
    ("reconciliation", reconciliation),
    ("exports", exports),
    ("evidence", evidence_index),
)


def produce(
    conn: Connection, month: str, sections: Sequence[tuple[str, Section]] = SECTIONS
) -> list[ArchiveFile]:
    """Every section's files for ``month``, named ``<section>/<file>``."""
    return [
        ArchiveFile(f"{name}/{item.name}", item.data)
        for name, producer in sections
        for item in producer(conn, month)
    ]
