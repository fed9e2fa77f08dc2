"""The consistency check: compare each ``stock.snapshot`` page with the hub's own figures.

Rules:
- a snapshot page counts a node's moves up to ``as_of_seq``; the hub compares it with the sum of
  that node's moves with seq up to the same ``as_of_seq`` (plus the differences accepted up to it:
  the node's running sum, ``node_stock``, less its moves after ``as_of_seq``),
  never with its current levels, so moves in flight (booked after the snapshot, or not yet
  applied) never look like a difference; the ingest applies events in seq order, so every move up
  to ``as_of_seq`` < the page's seq is applied before the page is compared;
- ``compare`` is pure: the store's and the hub's figures per (SKU, state) in, the nonzero
  differences (store - hub) out;
- every nonzero difference is kept in ``stock_differences`` (one unresolved row per node, SKU and
  state: a later snapshot updates it, or clears it when the figures agree again); which of them
  alert is the store's threshold (``hub.inventory.differences``); every new, changed and cleared
  row is audited with the node as the actor;
- a page whose ``as_of_seq`` is not below its own seq is refused (a Problem, dead-lettered);
- authenticity (``authenticate``, pure): a node enrolled with a certificate signs each page with
  its own key; the hub verifies it with the public key of the certificate it issued to that node
  (``node_certificates.public_key``, written by ``hub.fleet.identities`` at enrolment and
  renewal). A page from such a node whose signature is missing or
  does not verify is refused: no difference is built on it; it is kept in
  ``stock_snapshot_refusals`` ("signature invalid" / "signature missing"), audited, and alerts
  until someone dismisses it (``hub.inventory.differences``). A node with no key on record (a
  password node, or one enrolled before the hub kept keys: its key is recorded at its next
  renewal) is authenticated only by its broker identity (the broker's ACL and the ingest's
  store/node match): its differences say ``authentication: broker``, a signed page's say
  ``signature``;
- a page's ``answers`` (a count that answered the hub's count task, reason ``recount``) are
  applied after the comparison: each difference row that asked for that task is marked recounted
  (count id, quantity counted); if the new figures still differ it goes back from ``recount`` to
  ``open`` for HQ to decide (after a recount the store's figure is a counted one: ``accept``
  takes it), if they agree the comparison has cleared it already. Audited.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import ColumnElement, Connection, func, select

from hub.inventory.projection import Problem
from hub.storage.audit_chain import AuditDraft
from hub.storage.bulk import insert_rows, update_rows
from hub.storage.engine import Tx
from hub.storage.tables.fleet import node_certificates
from hub.storage.tables.inventory import (
    node_stock,
    stock_differences,
    stock_moves,
    stock_snapshot_refusals,
)
from hub.storage.upsert import insert_ignore
from protocol import CountAnswer, Envelope, StockSnapshot, signing_message

KIND = "stock.snapshot"
OPEN = ("open", "recount", "investigating")
Figures = dict[tuple[str, str], int]  # (sku, state) -> quantity
NODE_ROLE = "node"
Authentication = Literal["signature", "broker"]
SIGNATURE_INVALID = "signature invalid"
SIGNATURE_MISSING = "signature missing"


@dataclass(frozen=True)
class Verdict:
    """How a page is authenticated, or why it is refused (``authentication`` None)."""

    authentication: Authentication | None
    refusal: str = ""


def signing_key(conn: Connection, store_id: str, node_id: str) -> str | None:
    """The public key (PEM) of the certificate the hub issued to the node, None if it has none
    on record (a password node, or one enrolled before the hub kept keys)."""
    return conn.execute(select(node_certificates.c.public_key).where(
        node_certificates.c.store_id == store_id,
        node_certificates.c.node_id == node_id)).scalar_one_or_none()


def authenticate(key_pem: str | None, page: StockSnapshot, store_id: str,
                 node_id: str) -> Verdict:
    """Check the page's signature against the node's key on record (pure)."""
    if key_pem is None:
        return Verdict("broker")  # no key to check against: the broker identity is all we have
    if page.signature is None:
        return Verdict(None, SIGNATURE_MISSING)
    try:
        key = serialization.load_pem_public_key(key_pem.encode())
        if not isinstance(key, ec.EllipticCurvePublicKey):
            return Verdict(None, SIGNATURE_INVALID)
        key.verify(base64.b64decode(page.signature, validate=True),
                   signing_message(store_id, node_id, page.digest), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, binascii.Error):
        return Verdict(None, SIGNATURE_INVALID)
    return Verdict("signature")


@dataclass(frozen=True)
class Difference:
    """One (SKU, state) where the store's figure is not the hub's."""

    sku: str
    state: str
    store: int
    hub: int

    @property
    def difference(self) -> int:
        """Store minus hub."""
        return self.store - self.hub


def compare(store: Mapping[tuple[str, str], int],
            hub: Mapping[tuple[str, str], int]) -> list[Difference]:
    """The (SKU, state) pairs whose figures differ, in SKU and state order."""
    keys = sorted(set(store) | set(hub))
    return [Difference(sku, state, store.get((sku, state), 0), hub.get((sku, state), 0))
            for sku, state in keys if store.get((sku, state), 0) != hub.get((sku, state), 0)]


def store_figures(page: StockSnapshot) -> Figures:
    """The page's figures per (SKU, state), zeros left out."""
    return {(line.sku, state.value): qty for line in page.lines
            for state, qty in line.levels.items() if qty}


def _in_range(conn: Connection, column: Any, page: StockSnapshot) -> list[ColumnElement[bool]]:
    # SKU order is code point order on both sides: Python's and SQLite's binary collation agree;
    # PostgreSQL compares by its locale unless told to use "C" (byte order, the same for UTF-8).
    if conn.dialect.name == "postgresql":
        column = column.collate("C")
    where = []
    if page.after_sku is not None:
        where.append(column > page.after_sku)
    if page.last_sku is not None:
        where.append(column <= page.last_sku)
    return where


def hub_figures(conn: Connection, store_id: str, node_id: str, page: StockSnapshot) -> Figures:
    """The hub's figures for the node's SKUs in the page's range, as of ``as_of_seq``: the
    node's figures now (``node_stock``, the sum of every move it sent) less the moves it sent
    after ``as_of_seq`` (a count's few, by the node's seq index), plus the differences accepted
    up to it. Never a sum over the node's history: a page costs what its SKUs cost."""
    m = stock_moves.c
    figures: Figures = {(sku, state): int(quantity) for sku, state, quantity in conn.execute(
        select(node_stock.c.sku, node_stock.c.state, node_stock.c.quantity).where(
            node_stock.c.store_id == store_id, node_stock.c.node_id == node_id,
            *_in_range(conn, node_stock.c.sku, page)))}
    later = conn.execute(select(m.sku, m.from_state, m.to_state, m.quantity).where(
        m.store_id == store_id, m.node_id == node_id, m.seq > page.as_of_seq,
        *_in_range(conn, m.sku, page)))
    for sku, from_state, to_state, quantity in later:  # taken back: booked after the count
        for state, sign in ((to_state, -1), (from_state, 1)):
            if state is not None:
                figures[(sku, state)] = figures.get((sku, state), 0) + sign * int(quantity)
    d = stock_differences.c
    accepted = conn.execute(select(d.sku, d.state, func.sum(d.difference)).where(
        d.store_id == store_id, d.node_id == node_id, d.status == "accepted",
        d.as_of_seq <= page.as_of_seq, *_in_range(conn, d.sku, page)).group_by(d.sku, d.state))
    for sku, state, total in accepted:
        figures[(sku, state)] = figures.get((sku, state), 0) + int(total)
    return {key: qty for key, qty in figures.items() if qty}


def apply(tx: Tx, events: Sequence[Envelope]) -> list[Problem]:
    """Verify and compare each snapshot page (in seq order), keep its differences and apply
    its count-task answers; the problems."""
    problems: list[Problem] = []
    keys: dict[tuple[str, str], str | None] = {}
    for event in events:
        page = cast(StockSnapshot, event.body)
        if page.as_of_seq >= event.seq:
            problems.append(Problem(event, f"snapshot {page.snapshot_id} counts up to seq "
                                    f"{page.as_of_seq}, not below its own seq {event.seq}"))
            continue
        node = (event.store_id, event.node_id)
        if node not in keys:
            keys[node] = signing_key(tx.conn, *node)
        verdict = authenticate(keys[node], page, *node)
        if verdict.authentication is None:
            _refuse(tx, event, page, verdict.refusal)
            continue
        found = compare(store_figures(page), hub_figures(tx.conn, event.store_id,
                                                         event.node_id, page))
        _keep(tx, event, page, found, verdict.authentication)
        for answer in page.answers or []:
            _recounted(tx, event, answer)
    return problems


def _refuse(tx: Tx, event: Envelope, page: StockSnapshot, reason: str) -> None:
    """Keep the refused page (once per node and seq), audited; nothing is compared."""
    done = tx.conn.execute(insert_ignore(tx.conn, stock_snapshot_refusals,
                                         ["store_id", "node_id", "seq"]).values(
        store_id=event.store_id, node_id=event.node_id, seq=event.seq,
        snapshot_id=page.snapshot_id, page=page.page, digest=page.digest, reason=reason,
        status="open", found_at=tx.now))
    if done.rowcount:
        tx.audit(AuditDraft(f"node:{event.store_id}/{event.node_id}", NODE_ROLE,
                            "stock.snapshot.refused", "stock_snapshot",
                            f"{event.store_id}/{page.snapshot_id}", None,
                            {"page": page.page, "seq": event.seq, "reason": reason,
                             "digest": page.digest}))


def _recounted(tx: Tx, event: Envelope, answer: CountAnswer) -> None:
    """Mark the differences that asked for this count task as recounted (audited); those
    still unresolved go back to ``open`` for HQ to decide."""
    d = stock_differences.c
    rows = tx.conn.execute(select(stock_differences).where(
        d.store_id == event.store_id, d.node_id == event.node_id,
        d.count_task_id == answer.task_id, d.recounted_at.is_(None))).all()
    update_rows(tx.conn, stock_differences, ("id",), [
        {"id": row.id, "recounted_at": tx.now, "recount_count_id": answer.count_id,
         "recount_counted": answer.counted, "status": _after_recount(row.status)}
        for row in rows])
    for row in rows:
        _audit(tx, event, "stock.difference.recounted", row.sku,
               {"status": row.status, "difference": row.difference},
               {"status": _after_recount(row.status), "task_id": answer.task_id,
                "count_id": answer.count_id, "counted": answer.counted,
                "difference": row.difference})


def _after_recount(status: str) -> str:
    return "open" if status == "recount" else status


def _open_rows(conn: Connection, event: Envelope, page: StockSnapshot) -> dict[tuple[str, str],
                                                                               Any]:
    d = stock_differences.c
    rows = conn.execute(select(stock_differences).where(
        d.store_id == event.store_id, d.node_id == event.node_id, d.status.in_(OPEN),
        *_in_range(conn, d.sku, page)))
    return {(r.sku, r.state): r for r in rows}


def _audit(tx: Tx, event: Envelope, action: str, sku: str, before: Any, after: Any) -> None:
    tx.audit(AuditDraft(f"node:{event.store_id}/{event.node_id}", NODE_ROLE, action,
                        "stock_difference", f"{event.store_id}/{sku}", before, after))


def _keep(tx: Tx, event: Envelope, page: StockSnapshot, found: list[Difference],
          authentication: Authentication) -> None:
    """Write the page's differences: new ones inserted, held ones updated, held ones the page
    no longer shows cleared (a statement each, whatever the number of SKUs); each audited."""
    held = _open_rows(tx.conn, event, page)
    figures = {"snapshot_id": page.snapshot_id, "as_of_seq": page.as_of_seq,
               "checked_at": tx.now, "authentication": authentication}
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for diff in found:
        row = held.pop((diff.sku, diff.state), None)
        now = {"state": diff.state, "store": diff.store, "hub": diff.hub,
               "difference": diff.difference, "snapshot_id": page.snapshot_id,
               "as_of_seq": page.as_of_seq, "authentication": authentication}
        quantities = {"store_quantity": diff.store, "hub_quantity": diff.hub,
                      "difference": diff.difference}
        if row is None:
            new.append({"store_id": event.store_id, "node_id": event.node_id, "sku": diff.sku,
                        "state": diff.state, **quantities, "status": "open",
                        "found_at": tx.now, **figures})
            _audit(tx, event, "stock.difference.found", diff.sku, None, now)
            continue
        changed.append({"id": row.id, **quantities, **figures})
        if row.difference != diff.difference:
            _audit(tx, event, "stock.difference.changed", diff.sku,
                   {"state": row.state, "store": row.store_quantity, "hub": row.hub_quantity,
                    "difference": row.difference}, now)
    insert_rows(tx.conn, stock_differences, new)
    update_rows(tx.conn, stock_differences, ("id",), changed)
    update_rows(tx.conn, stock_differences, ("id",), [  # the figures agree again
        {"id": row.id, "status": "cleared", "resolved_at": tx.now,
         "resolved_by": f"snapshot:{page.snapshot_id}", **figures} for row in held.values()])
    for row in held.values():
        _audit(tx, event, "stock.difference.cleared", row.sku,
               {"state": row.state, "status": row.status, "difference": row.difference},
               {"status": "cleared", "snapshot_id": page.snapshot_id,
                "as_of_seq": page.as_of_seq})
