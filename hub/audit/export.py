"""Audit trail reads and exports for a date range, with personal data masked.

Rules:
- a range is ``[from, to)`` in UTC: a date means its midnight UTC, so ``--from 2025-03-01
  --to 2025-03-02`` is exactly the 1st of March;
- personal data (buyer names, e-mail, phone numbers, addresses, customer hints, display names) is
  masked in ``before``/``after`` wherever it appears, by key (``PERSONAL``): ``J*** D***``,
  keeping only the first letter of each word; the reason text and the actors (who did it is the
  point of an audit) are kept;
- unmasked output is for the admin role only; the caller checks it and the unmasked export is
  itself audited (``audit.exported_unmasked``);
- CSV columns: seq, at, actor, role, action, entity, entity_id, reason, before, after, hash
  (before/after as canonical JSON); JSONL has one object per line with the same fields.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Connection, func, select

from hub.storage.audit_chain import Json
from hub.storage.tables.core import audit_log
from protocol import format_utc

PERSONAL = (
    "buyer",
    "customer_name",
    "customer_hint",
    "display_name",
    "email",
    "phone",
    "address",
    "postal",
    "zip",
)
FIELDS = (
    "seq",
    "at",
    "actor",
    "role",
    "action",
    "entity",
    "entity_id",
    "reason",
    "before",
    "after",
    "hash",
)


def is_personal(key: str) -> bool:
    """True when a field of that name holds personal data."""
    lowered = key.lower()
    return any(word in lowered for word in PERSONAL)


def mask_text(text: str) -> str:
    """``Jane Doe`` -> ``J*** D***``."""
    return " ".join(f"{word[0]}***" for word in text.split()) or "***"


def mask(value: Json) -> Json:
    """A copy of ``value`` with every personal field's content masked."""
    if isinstance(value, dict):
        return {k: _mask_all(v) if is_personal(k) else mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


def _mask_all(value: Json) -> Json:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _mask_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_all(v) for v in value]
    return value if value is None or isinstance(value, bool) else "***"


def day_start(day: date | datetime) -> datetime:
    """Midnight UTC of a date (an aware datetime is taken as it is)."""
    if isinstance(day, datetime):
        return day if day.tzinfo else day.replace(tzinfo=UTC)
    return datetime.combine(day, time(), UTC)


def _where(start: datetime | None, end: datetime | None) -> list[Any]:
    where = []
    if start is not None:
        where.append(audit_log.c.at >= start)
    if end is not None:
        where.append(audit_log.c.at < end)
    return where


def entries(
    conn: Connection,
    start: datetime | None,
    end: datetime | None,
    unmask: bool,
    limit: int | None = None,
    offset: int = 0,
) -> Iterator[dict[str, Any]]:
    """Entries in ``[start, end)`` in chain order, masked unless ``unmask``."""
    stmt = select(audit_log).where(*_where(start, end)).order_by(audit_log.c.seq)
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    for row in conn.execute(stmt.execution_options(yield_per=1000)):
        before, after = (row.before, row.after) if unmask else (mask(row.before), mask(row.after))
        yield {
            "seq": int(row.seq),
            "at": format_utc(row.at),
            "actor": row.actor,
            "role": row.role,
            "action": row.action,
            "entity": row.entity,
            "entity_id": row.entity_id,
            "reason": row.reason,
            "before": before,
            "after": after,
            "hash": row.hash,
        }


def count(conn: Connection, start: datetime | None, end: datetime | None) -> int:
    """How many entries fall in ``[start, end)``."""
    return int(
        conn.execute(
            select(func.count()).select_from(audit_log).where(*_where(start, end))
        ).scalar_one()
    )


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def to_jsonl(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """One JSON object per line."""
    for row in rows:
        yield _canonical(row) + "\n"


def to_csv(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """CSV with a header line; before/after as canonical JSON."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FIELDS)
    for row in rows:
        writer.writerow(
            [_canonical(row[f]) if f in ("before", "after") else row[f] for f in FIELDS]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
