"""Photos taken at the counter during inspection: kept at the store first, sent to the hub later.

Rules:
- a photo is checked by its content (``protocol.media_type_of``: JPEG, PNG or WebP) and its size
  (``protocol.limits.MAX_EVIDENCE_BYTES``), never by its name; a return this node does not hold
  is 404;
- in ONE write transaction: the bytes are written under ``<data dir>/evidence/<sha[:2]>/<sha>``
  (fsynced, read-only), the ``evidence`` row and the ``evidence.recorded`` event (the bytes
  inline) go into SQLite and the outbox, and the audit entry is chained; the outbox sends the
  event whenever the hub can be reached (a week offline included) and deletes it only when the
  hub's ack covers it;
- idempotent on the photo's id (the page makes one per photo): the same id with the same bytes
  answers the stored photo again, with other bytes 409.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pydantic import BaseModel, ValidationError

from edge_agent.errors import Conflict, InvalidRequest, RequestError, StoreError
from edge_agent.returns.counter import Counter
from edge_agent.storage import audit, outbox, records
from edge_agent.storage.store import Tx
from protocol import EvidenceRecorded, format_utc, media_type_of
from protocol.evidence import PHOTO_TYPES
from protocol.limits import MAX_EVIDENCE_BYTES


class TooLarge(RequestError):
    """A photo above the size one message can carry."""

    status_code = 413


class NotAPhoto(RequestError):
    """Bytes that are not a photo of an accepted type (or not the type declared)."""

    status_code = 415


class PhotoView(BaseModel):
    """A photo kept at this node."""

    evidence_id: str
    return_id: str
    sha256: str
    size: int
    media_type: str
    recorded_by: str | None
    recorded_at: str
    event_seq: int


def check_photo(data: bytes, declared: str) -> str:
    """The photo's media type; TooLarge or NotAPhoto otherwise."""
    if len(data) > MAX_EVIDENCE_BYTES:
        raise TooLarge(
            f"the photo has {len(data)} bytes; at most {MAX_EVIDENCE_BYTES} (the page "
            "scales photos down)",
            field="body",
        )
    found = media_type_of(data)
    declared = declared.split(";")[0].strip().lower()
    if found not in PHOTO_TYPES or found != declared:
        raise NotAPhoto(
            f"the file is declared {declared or 'nothing'} but is "
            f"{found or 'no type we know'}: send a JPEG, PNG or WebP photo",
            field="content-type",
        )
    return found


def _write_blob(folder: Path, sha: str, data: bytes) -> None:
    final = folder / sha[:2] / sha
    if final.exists():
        return
    temp = final.with_name(f".{sha}.tmp")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        with open(temp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        temp.chmod(0o444)
        os.replace(temp, final)
    except OSError as err:
        raise StoreError(f"cannot keep the photo in {final.parent}: {err.strerror or err}") from err


def _view(row: dict[str, object]) -> PhotoView:
    return PhotoView.model_validate(row)


def photos_of(tx: Tx, return_id: str) -> list[PhotoView]:
    """A return's photos kept at this node, oldest first."""
    return [
        _view(r)
        for r in tx.all(
            "SELECT * FROM evidence WHERE return_id = ? ORDER BY recorded_at, evidence_id",
            (return_id,),
        )
    ]


def record_photo(
    counter: Counter,
    folder: Path,
    return_id: str,
    evidence_id: str,
    data: bytes,
    media_type: str,
    staff_id: str | None,
) -> PhotoView:
    """Keep a photo of ``return_id`` and queue it for the hub (see the rules)."""
    media_type = check_photo(data, media_type)
    sha, now = hashlib.sha256(data).hexdigest(), counter.clock()
    with counter.store.write() as tx:
        records.return_row(tx, return_id)
        held = tx.one("SELECT * FROM evidence WHERE evidence_id = ?", (evidence_id,))
        if held is not None:
            if held["sha256"] != sha or held["return_id"] != return_id:
                raise Conflict(
                    f"photo {evidence_id} was kept already with other content", field="evidence_id"
                )
            return _view(held)
        try:
            event = EvidenceRecorded.of(
                data,
                evidence_id=evidence_id,
                return_id=return_id,
                media_type=media_type,
                recorded_at=now,
                recorded_by=staff_id,
            )
        except ValidationError as err:
            raise InvalidRequest(
                str(err.errors(include_url=False)[0]["msg"]), field="evidence_id"
            ) from err
        _write_blob(folder, sha, data)
        seq = outbox.append(tx, counter.store_id, counter.node_id, event, now).seq
        row = {
            "evidence_id": evidence_id,
            "return_id": return_id,
            "sha256": sha,
            "size": len(data),
            "media_type": media_type,
            "recorded_by": staff_id,
            "recorded_at": format_utc(now),
            "event_seq": seq,
        }
        tx.execute(
            "INSERT INTO evidence(evidence_id, return_id, sha256, size, media_type, "
            "recorded_by, recorded_at, event_seq) VALUES (?,?,?,?,?,?,?,?)",
            tuple(row.values()),
        )
        audit.record(
            tx,
            at=now,
            actor=staff_id or "counter",
            role="counter",
            action="evidence.recorded",
            entity="return",
            entity_id=return_id,
            before=None,
            after={
                "evidence_id": evidence_id,
                "sha256": sha,
                "size": len(data),
                "media_type": media_type,
            },
        )
    counter.on_write("evidence.recorded", return_id)
    return _view(row)
