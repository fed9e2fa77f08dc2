"""Snapshots of the store's stock totals for the hub's consistency check (``stock.snapshot``).

Rules:
- ``take`` runs inside the caller's write transaction: it reads every SKU's levels, cuts them into
  pages of ``MAX_SNAPSHOT_LINES`` SKUs by SKU order, and appends one ``stock.snapshot`` event per
  page to the outbox with the snapshot's row (``stock_snapshots``) and its audit entry, so the
  pages reach the hub exactly once, in order, like every other event;
- ``as_of_seq`` is the seq of the last stock move booked before the snapshot: no move can slip in
  between (the write transaction holds the ledger), so the hub compares with its figures at that
  seq and moves still in flight never look like a difference;
- a snapshot is taken on the schedule (``next_due``: the interval after the newest, or after the
  agent's start), on the hub's ``stock.snapshot.request`` command, on
  ``POST /api/stock/snapshots``, and (reason ``recount``) by a count that answered the hub's count
  tasks (``edge_agent.stock.tasks``): each answer rides, sealed, on the page covering its SKU;
- a node enrolled with a certificate signs each page (``Signer``: its own private key, the one
  its certificate is for, which never leaves the machine) over ``protocol.signing_message``; the
  hub verifies it with the key of the certificate it issued to this node. A node that logs in
  with a password has no key: its pages go unsigned and the hub can only trust that they came
  in under this node's broker identity.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edge_agent.errors import ConfigError
from edge_agent.storage import audit, outbox
from edge_agent.storage.ids import encode_base32
from edge_agent.storage.store import Tx
from protocol import (
    CountAnswer,
    SnapshotLine,
    StockSnapshot,
    StockState,
    format_utc,
    signing_message,
    snapshot_digest,
)
from protocol.stock import MAX_SNAPSHOT_LINES, SnapshotReason


class Signer:
    """This node's private key (EC P-256, made at enrolment), signing snapshot pages."""

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        self._key = key

    @classmethod
    def from_file(cls, path: Path) -> Signer:
        """The key in ``path`` (PEM, as ``acorn-edge enrol`` wrote it); ConfigError if unusable."""
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as err:
            raise ConfigError(f"cannot read this node's key {path}: {err}") from err
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ConfigError(f"{path} is not an EC private key")
        return cls(key)

    def sign(self, store_id: str, node_id: str, digest: str) -> str:
        """The page's signature, base64 (DER ECDSA over SHA-256)."""
        raw = self._key.sign(signing_message(store_id, node_id, digest),
                             ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(raw).decode()


def signer_for(key_file: Path | None) -> Signer | None:
    """The node's signer when it has a key (certificate login), None for a password node."""
    return Signer.from_file(key_file) if key_file is not None else None


def new_snapshot_id() -> str:
    """A fresh snapshot id, e.g. ``SN7QK2M9XH4TZA``."""
    return "SN" + encode_base32(secrets.randbits(60))


def _lines(tx: Tx) -> list[SnapshotLine]:
    by_sku: dict[str, dict[StockState, int]] = {}
    for row in tx.all("SELECT sku, state, quantity FROM stock_levels WHERE quantity != 0 "
                      "ORDER BY sku, state"):
        by_sku.setdefault(str(row["sku"]), {})[StockState(row["state"])] = int(row["quantity"])
    return [SnapshotLine(sku=sku, levels=levels) for sku, levels in by_sku.items()]


def _covered(answers: Sequence[CountAnswer], after: str | None,
             last: str | None) -> list[CountAnswer] | None:
    mine = [a for a in answers if (after is None or a.sku > after)
            and (last is None or a.sku <= last)]
    return mine or None


def pages_of(snapshot_id: str, reason: SnapshotReason, as_of_seq: int, taken_at: datetime,
             lines: list[SnapshotLine], size: int = MAX_SNAPSHOT_LINES,
             answers: Sequence[CountAnswer] = (),
             sign: Callable[[str], str] | None = None) -> list[StockSnapshot]:
    """Cut sorted ``lines`` into sealed pages that together cover every SKU; each answer rides
    on the page covering its SKU; ``sign(digest)`` (when given) signs each page."""
    chunks = [lines[i:i + size] for i in range(0, len(lines), size)] or [[]]
    pages: list[StockSnapshot] = []
    after: str | None = None
    for number, chunk in enumerate(chunks, start=1):
        last = chunk[-1].sku if number < len(chunks) else None
        mine = _covered(answers, after, last)
        digest = snapshot_digest(snapshot_id, number, as_of_seq, after, last, chunk, mine)
        pages.append(StockSnapshot(snapshot_id=snapshot_id, reason=reason, page=number,
                                   pages=len(chunks), as_of_seq=as_of_seq, taken_at=taken_at,
                                   after_sku=after, last_sku=last, lines=chunk, answers=mine,
                                   digest=digest,
                                   signature=sign(digest) if sign is not None else None))
        after = last
    return pages


def take(tx: Tx, store_id: str, node_id: str, at: datetime, reason: SnapshotReason,
         actor: str, role: str, size: int = MAX_SNAPSHOT_LINES,
         signer: Signer | None = None, answers: Sequence[CountAnswer] = ()) -> dict[str, Any]:
    """Append a snapshot's pages to the outbox inside ``tx`` (signed when the node has a key);
    what was taken."""
    as_of_seq = int(tx.scalar("SELECT coalesce(max(event_seq), 0) FROM stock_moves") or 0)
    snapshot_id = new_snapshot_id()
    lines = _lines(tx)
    sign = None if signer is None else partial(signer.sign, store_id, node_id)
    pages = pages_of(snapshot_id, reason, as_of_seq, at, lines, size, answers, sign)
    seqs = [outbox.append(tx, store_id, node_id, page, at).seq for page in pages]
    row = {"snapshot_id": snapshot_id, "reason": reason, "taken_at": format_utc(at),
           "as_of_seq": as_of_seq, "skus": len(lines), "pages": len(pages),
           "first_seq": seqs[0], "last_seq": seqs[-1], "signed": signer is not None}
    tx.execute("INSERT INTO stock_snapshots(snapshot_id, reason, taken_at, as_of_seq, skus, "
               "pages, first_seq, last_seq) VALUES (:snapshot_id, :reason, :taken_at, "
               ":as_of_seq, :skus, :pages, :first_seq, :last_seq)", row)
    if answers:
        row["answers"] = [a.task_id for a in answers]
    audit.record(tx, at=at, actor=actor, role=role, action="stock.snapshot",
                 entity="stock_snapshot", entity_id=snapshot_id, before=None,
                 after={k: v for k, v in row.items() if k != "snapshot_id"})
    return row


def latest(tx: Tx) -> dict[str, Any] | None:
    """The newest snapshot taken here, or None."""
    return tx.one("SELECT * FROM stock_snapshots ORDER BY taken_at DESC, rowid DESC LIMIT 1")


def next_due(tx: Tx, since: datetime, every: timedelta) -> datetime:
    """When the next scheduled snapshot is due: ``every`` after the newest one (or after
    ``since``, the agent's start, when none was taken yet)."""
    row = latest(tx)
    last = datetime.fromisoformat(str(row["taken_at"])) if row is not None else since
    return last + every
