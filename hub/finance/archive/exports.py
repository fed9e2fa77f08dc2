"""The month's exports for accountants and tax, as archived: per legal entity, the transaction
journal (CSV), the DATEV Buchungsstapel of the month (entities with DATEV settings) and, in a
quarter's last month, the EU OSS summary of the quarter (entities that file OSS).

Rules: written from the facts as converted so far (the archive's close converts pending amounts
first, ``hub.finance.fx_amounts_store``); the DATEV header's created time is the month's last
second (UTC), so the same facts give the same bytes; the entities are the active document's, in
their order; file names are the exports' own (``hub.finance.exports.files``).
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy import Connection

from hub.finance import entities as entities_doc
from hub.finance.archive.manifest import ArchiveFile
from hub.finance.exports import datev, journal, oss
from hub.finance.exports.facts import parse_period
from hub.finance.exports.store import facts_in


def exports(conn: Connection, month: str) -> list[ArchiveFile]:
    """The exports section of ``month``."""
    period = parse_period(month)
    created = datetime.combine(period.last, time(23, 59, 59), UTC)
    files: list[ArchiveFile] = []
    for entity in entities_doc.active(conn).entities:
        _, found = facts_in(conn, entity.id, period)
        files.append(ArchiveFile(f"journal-{entity.id}-{period.label}.csv",
                                 journal.write_csv(entity.id, found)))
        if entity.datev is not None:  # German entities: their accountants' DATEV file
            files.append(ArchiveFile(
                f"EXTF_Buchungsstapel_{entity.id}_{period.label}.csv",
                datev.write(entity, period, list(datev.bookings(entity, found)), created)))
        quarter = period.quarter()
        if entity.oss and quarter.last == period.last:
            _, in_quarter = facts_in(conn, entity.id, quarter)
            files.append(ArchiveFile(f"oss-{entity.id}-{quarter.label}.csv",
                                     oss.write_csv(oss.summary(in_quarter))))
    return files
