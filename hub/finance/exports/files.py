"""An export as a file: which facts, which writer, which name. The one path the CLI and the API
both take, so the same request gives the same bytes (but for DATEV's created timestamp).

Rules:
- ``journal`` (``csv`` or ``xlsx``) of any period; ``datev`` of a month (a quarter or another
  period is an ``InputError``); ``oss`` of the quarter the period lies in (``2026-11`` gives
  ``2026-Q4``), for an entity that files OSS;
- file names: ``journal-<entity>-<period>.csv|xlsx``, ``EXTF_Buchungsstapel_<entity>_<period>.csv``,
  ``oss-<entity>-<quarter>.csv``;
- ``step`` is told the name of each stage as it starts (a CLI shows it on its progress bar).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Engine

from hub.errors import InputError
from hub.finance.exports import datev, journal, oss
from hub.finance.exports.facts import Period, parse_period
from hub.finance.exports.store import facts
from hub.finance.fx_amounts_store import convert_pending

What = Literal["journal", "datev", "oss"]
Format = Literal["csv", "xlsx"]
STAGES = ("converting amounts", "reading facts", "writing")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True, slots=True)
class ExportFile:
    """A written export."""

    name: str
    media_type: str
    data: bytes
    rows: int


def _period(what: What, text: str) -> Period:
    period = parse_period(text)
    if what == "oss":
        return period.quarter()
    if what == "datev" and period.first.month != period.last.month:
        raise InputError(
            "a DATEV Buchungsstapel is written per month: give --period 2026-11", "period"
        )
    return period


def make(
    engine: Engine,
    what: What,
    entity_id: str,
    period_text: str,
    now: datetime,
    fmt: Format = "csv",
    use_bundle: bool = True,
    step: Callable[[str], None] | None = None,
) -> ExportFile:
    """Write the export ``what`` of ``entity_id`` and the period (see the module rules)."""
    period = _period(what, period_text)
    tell = step or (lambda _stage: None)
    tell(STAGES[0])
    convert_pending(engine, use_bundle)
    tell(STAGES[1])
    entity, found = facts(engine, entity_id, period, use_bundle, convert_first=False)
    tell(STAGES[2])
    if what == "journal":
        if fmt == "xlsx":
            out = io.BytesIO()
            journal.write_xlsx(entity.id, found, out)
            return ExportFile(
                f"journal-{entity.id}-{period.label}.xlsx", XLSX, out.getvalue(), len(found)
            )
        return ExportFile(
            f"journal-{entity.id}-{period.label}.csv",
            "text/csv; charset=utf-8",
            journal.write_csv(entity.id, found),
            len(found),
        )
    if what == "datev":
        items = list(datev.bookings(entity, found))
        data = datev.write(entity, period, items, now)
        return ExportFile(
            f"EXTF_Buchungsstapel_{entity.id}_{period.label}.csv",
            "text/csv; charset=windows-1252",
            data,
            len(items),
        )
    if not entity.oss:
        raise InputError(
            f"entity {entity.id} does not file through the EU One-Stop-Shop "
            "(oss: true in the entities document)",
            "entity",
        )
    rows = oss.summary(found)
    return ExportFile(
        f"oss-{entity.id}-{period.label}.csv",
        "text/csv; charset=utf-8",
        oss.write_csv(rows),
        len(rows),
    )
