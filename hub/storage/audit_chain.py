"""The audit trail's hash chain, as pure functions over plain values.

Rules:
- the log is append-only; entry ``seq`` runs 1, 2, 3 ... without gaps;
- each entry's ``hash`` is SHA-256 over the canonical JSON (sorted keys, no spaces, UTF-8) of its
  fields (seq, at, actor, role, action, entity, entity_id, before, after, reason) and the previous
  entry's hash (``GENESIS`` for the first);
- ``before``/``after`` hold JSON values only: text, int, bool, null, lists and objects (``jsonable``
  turns Decimal, datetime and enums into text; floats are refused, they would not round-trip);
- the chain's tip (seq, hash) is kept apart, so cutting entries off the end is detected too;
- the canonical bytes are made by one JSON encoder built once (``json``'s C encoder with
  ``json.dumps``'s canonical settings): the same bytes as ``json.dumps(sort_keys=True,
  separators=(",", ":"), ensure_ascii=False)``, without building an encoder per entry;
- ``chain`` (the writers' path) encodes each entry's ``before`` and ``after`` once: their
  canonical text goes into the entry's canonical bytes, which are assembled field by field in
  sorted key order (the bytes ``canonical`` gives for the whole entry, tests/hub/
  test_audit_batch.py), and is the text stored in the JSON columns (before, the column's own
  ``json.dumps`` wrote each value a second time: ~5 % of an ingested event's CPU).

``verify`` walks entries in seq order and names the first one that does not fit.

Why each entry still links to the one before (and not one link per written batch): a chain
with one hash per transaction over its entries' row hashes would keep the same tamper evidence
(a changed entry fails its row hash, a deleted, inserted or reordered one breaks the seq run or
its batch's link, a cut end misses the tip), but it saves nothing worth a second format: the
CPU of an entry is its canonical JSON (about 60 % of hashing it, measured with
``python -m bench ingest --profile``), which any scheme that binds each entry's content needs,
and SHA-256 over those ~700 bytes is about 5 %. So one format stays, every old entry verifies
as it always did, and the work per entry is cut where it is spent: the canonical encoder is
built once, and the batch's one timestamp is formatted once (``extend``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, cast

from protocol import format_utc

GENESIS = "0" * 64

Json = str | int | bool | None | list["Json"] | dict[str, "Json"]


_PLAIN = frozenset({str, int, bool, type(None)})


def jsonable(value: Any) -> Json:
    """A JSON-safe copy of ``value``: Decimal/datetime/enum as text; floats refused."""
    kind = type(value)
    if kind in _PLAIN:  # the common case first: this runs for every audited field
        return value  # type: ignore[no-any-return]
    # plain dicts, lists and tuples next, by identity (no abstract-class check on the hot path;
    # other mappings and collections become them below); plain members kept without a call
    if kind is dict:
        return {k if type(k) is str else str(k): v if type(v) in _PLAIN else jsonable(v)
                for k, v in value.items()}
    if kind is list or kind is tuple:
        return [v if type(v) in _PLAIN else jsonable(v) for v in value]
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Enum):  # before str and int: a StrEnum is a str
        return jsonable(value.value)
    if isinstance(value, str | bool | int):
        return value
    if isinstance(value, Mapping):
        return jsonable(dict(value))
    if isinstance(value, list | tuple | set | frozenset):
        return jsonable(list(value))
    raise TypeError(f"{type(value).__name__} cannot go into the audit log")


def jsonable_fields(row: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Json]:
    """``jsonable({k: row.get(k) for k in fields})`` in one pass (a row's audited view)."""
    return {k: v if type(v) in _PLAIN else jsonable(v) for k in fields
            for v in (row.get(k),)}


@dataclass(frozen=True)
class AuditDraft:
    """What happened, before it takes its place in the chain."""

    actor: str
    role: str
    action: str
    entity: str
    entity_id: str
    before: Json = None
    after: Json = None
    reason: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    """One link of the chain, as stored."""

    seq: int
    at: datetime
    actor: str
    role: str
    action: str
    entity: str
    entity_id: str
    before: Json
    after: Json
    reason: str | None
    prev_hash: str
    hash: str


def _refuse(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_ENCODE = (json.encoder.c_make_encoder(  # type: ignore[attr-defined]
    None, _refuse, json.encoder.encode_basestring, None, ":", ",", True, False, True)
    if json.encoder.c_make_encoder is not None else None)  # type: ignore[attr-defined]


def canonical(fields: Mapping[str, Json]) -> bytes:
    """The canonical JSON bytes that get hashed."""
    return encoded(dict(fields)).encode()


def encoded(value: Json) -> str:
    """The canonical JSON text of one value (as it stands inside an entry's canonical bytes)."""
    kind = type(value)
    if kind is str:  # the scalars as the encoder writes them, without a call into it (~1.5 µs
        return _quoted(cast(str, value))  # an entry's seq, reason, often its before: 3 of 4)
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(cast(int, value))
    if kind is bool:
        return "true" if value else "false"
    if _ENCODE is None:  # no C accelerator in this Python: the same text, slower
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "".join(_ENCODE(value, 0))


_quoted = json.encoder.encode_basestring  # what the canonical encoder writes for a str


def _text(value: Json) -> str:
    return _quoted(value) if type(value) is str else encoded(value)


def _digest(seq: int, at: str, draft: AuditDraft, prev_hash: str, before: str,
            after: str) -> str:
    """SHA-256 (hex) of ``canonical`` of the entry's fields, its before/after given as their
    ``encoded`` text: the fields written in sorted key order, as ``sort_keys`` puts them."""
    return hashlib.sha256(
        (f'{{"action":{_text(draft.action)},"actor":{_text(draft.actor)},"after":{after},'
         f'"at":{_text(at)},"before":{before},"entity":{_text(draft.entity)},'
         f'"entity_id":{_text(draft.entity_id)},"prev_hash":{_text(prev_hash)},'
         f'"reason":{_text(draft.reason)},"role":{_text(draft.role)},"seq":{encoded(seq)}}}'
         ).encode()).hexdigest()


def entry_hash(seq: int, at: datetime, draft: AuditDraft, prev_hash: str) -> str:
    """SHA-256 (hex) of one entry's content and the previous hash."""
    return _digest(seq, format_utc(at), draft, prev_hash, encoded(draft.before),
                   encoded(draft.after))


@dataclass(frozen=True)
class Link:
    """An entry as ``chain`` makes it, with its before/after as canonical JSON text (None for
    a JSON null: the columns store SQL NULL for it)."""

    entry: AuditEntry
    before: str | None
    after: str | None


def chain(tip: tuple[int, str], at: datetime, drafts: Sequence[AuditDraft]) -> list[Link]:
    """Chain ``drafts`` after ``tip`` (seq, hash), all stamped ``at``; each entry's before and
    after encoded once, for its hash and for storing."""
    seq, prev = tip
    stamp = format_utc(at)  # one clock per batch: formatted once
    out: list[Link] = []
    for draft in drafts:
        seq += 1
        before, after = encoded(draft.before), encoded(draft.after)
        digest = _digest(seq, stamp, draft, prev, before, after)
        out.append(Link(AuditEntry(seq, at, draft.actor, draft.role, draft.action, draft.entity,
                                   draft.entity_id, draft.before, draft.after, draft.reason, prev,
                                   digest),
                        None if draft.before is None else before,
                        None if draft.after is None else after))
        prev = digest
    return out


def extend(tip: tuple[int, str], at: datetime, drafts: Sequence[AuditDraft]) -> list[AuditEntry]:
    """Chain ``drafts`` after ``tip`` (seq, hash), all stamped ``at``."""
    return [link.entry for link in chain(tip, at, drafts)]


def draft_of(entry: AuditEntry) -> AuditDraft:
    """The content part of a stored entry."""
    return AuditDraft(entry.actor, entry.role, entry.action, entry.entity, entry.entity_id,
                      entry.before, entry.after, entry.reason)


@dataclass(frozen=True)
class Verdict:
    """Result of walking the chain: ``broken_seq`` is None when it is intact."""

    checked: int
    broken_seq: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        """True when every entry and the tip fit."""
        return self.broken_seq is None


def verify(entries: Iterable[AuditEntry], tip: tuple[int, str] | None) -> Verdict:
    """Walk ``entries`` (in seq order) and the stored tip; name the first entry that breaks."""
    prev_seq, prev_hash, checked = 0, GENESIS, 0
    for entry in entries:
        problem = _check(entry, prev_seq, prev_hash)
        if problem:
            return Verdict(checked, entry.seq, problem)
        prev_seq, prev_hash, checked = entry.seq, entry.hash, checked + 1
    if tip is not None and tip != (prev_seq, prev_hash):
        return Verdict(checked, prev_seq + 1 if tip[0] > prev_seq else tip[0],
                       f"the chain tip says entry {tip[0]} ({tip[1][:12]}…) but the log ends at "
                       f"entry {prev_seq} ({prev_hash[:12]}…): entries were removed or altered")
    return Verdict(checked)


def _check(entry: AuditEntry, prev_seq: int, prev_hash: str) -> str:
    if entry.seq != prev_seq + 1:
        return f"expected entry {prev_seq + 1} next, found {entry.seq}: entries are missing"
    if entry.prev_hash != prev_hash:
        return "its prev_hash does not match the previous entry's hash"
    if entry.hash != entry_hash(entry.seq, entry.at, draft_of(entry), entry.prev_hash):
        return "its hash does not match its content: the entry was altered"
    return ""
