"""The consistency check's differences: list them, resolve each, ask stores for a snapshot.

Rules:
- a difference alerts when it is unresolved (open, recount, investigating) and its size is over
  the store's threshold (``Thresholds``: a default and per-store overrides, from the settings);
  smaller ones are listed but do not alert;
- each listed difference carries what Amazon last accepted for its SKU (summed over accounts and
  marketplaces) beside the chain's sellable units: ``amazon_oversells`` when Amazon lists more
  than the stores hold (the store's figure may be the reason the allocation offered too much);
- resolving: ``accept`` takes the store's figure (the hub's level moves by the difference, and
  later comparisons count it from the snapshot's seq on); ``recount`` queues a count task
  (``stock.count.task``) to the node that reported the difference, in the same transaction:
  the counter shows it, the store's next count of that SKU and state answers it and sends a
  ``recount`` snapshot, which updates or clears the row and marks it recounted
  (``hub.inventory.check``); ``investigate`` marks it as being looked into. Accepted and
  cleared rows are settled: acting on them again is a 409; a recount for a revoked node is a
  409 too (it would never be heard). Every resolution is audited with who, why and the figures;
- refused snapshot pages (signature missing or invalid, ``hub.inventory.check``) are listed
  with the differences and alert until dismissed (``dismiss_refusal``, audited);
- Amazon: per account, marketplace and SKU, the quantity Amazon last accepted is compared with
  the chain's sellable units (``amazon_differences``, pure over the figures): Amazon listing
  more than the stores hold alerts when the excess is over the default threshold; a key whose
  newest change is still on its way to Amazon (pending, sending) is left out, as moves in flight
  are for the stores. It is computed when asked (the desk, the API, ``/metrics``), so it is as
  current as the hub's figures;
- ``request_snapshots`` queues a ``stock.snapshot.request`` command to each node of the store(s)
  (audited): the pages come back through the outbox and are compared on arrival.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection, func, select, update

from hub.errors import Conflict, NotFound
from hub.inventory.check import OPEN
from hub.storage.audit_chain import AuditDraft, jsonable
from hub.storage.engine import Tx
from hub.storage.listing_heads import head_rows, newest_and_accepted
from hub.storage.outbox import CommandDraft, queue
from hub.storage.tables.core import nodes
from hub.storage.tables.fleet import node_certificates
from hub.storage.tables.inventory import stock_differences, stock_levels, stock_snapshot_refusals
from protocol import CountTask, SnapshotRequest, StockState, new_message_id

Action = Literal["accept", "recount", "investigate"]
STATUS_OF: dict[Action, str] = {"accept": "accepted", "recount": "recount",
                                 "investigate": "investigating"}
Row = dict[str, Any]


@dataclass(frozen=True)
class Thresholds:
    """How many units a difference may be before it alerts: a default and per-store overrides."""

    default: int = 0
    stores: Mapping[str, int] = field(default_factory=dict)

    def of(self, store_id: str) -> int:
        """The store's threshold."""
        return self.stores.get(store_id, self.default)

    def alerts(self, row: Mapping[str, Any]) -> bool:
        """True when an unresolved difference is over its store's threshold."""
        return row["status"] in OPEN and abs(int(row["difference"])) > self.of(row["store_id"])


def listing(conn: Connection, thresholds: Thresholds, store: str | None = None,
            sku: str | None = None, open_only: bool = True, limit: int = 200,
            offset: int = 0, within: Any = None) -> tuple[list[Row], int]:
    """Differences, newest checked first, each with ``alert`` and its store's ``threshold``."""
    d = stock_differences.c
    where: list[Any] = []
    if open_only:
        where.append(d.status.in_(OPEN))
    if store:
        where.append(d.store_id == store)
    if sku:
        where.append(d.sku == sku)
    if within is not None:
        where.append(within(d.store_id))
    total = conn.execute(select(func.count()).select_from(stock_differences).where(*where)
                         ).scalar_one()
    rows = conn.execute(select(stock_differences).where(*where).order_by(
        d.checked_at.desc(), d.id.desc()).limit(limit).offset(offset))
    return decorated(conn, thresholds, [dict(row._mapping) for row in rows]), int(total)


def decorated(conn: Connection, thresholds: Thresholds, out: list[Row]) -> list[Row]:
    """``out`` with each row's threshold, alert, and Amazon's listed quantity beside the
    chain's sellable units."""
    listed = amazon_listed(conn, {r["sku"] for r in out})
    sellable = chain_sellable(conn, {r["sku"] for r in out})
    for data in out:
        on_amazon = listed.get(data["sku"])
        data |= {"threshold": thresholds.of(data["store_id"]), "alert": thresholds.alerts(data),
                 "amazon_listed": on_amazon, "chain_sellable": sellable.get(data["sku"], 0),
                 "amazon_oversells": on_amazon is not None
                 and on_amazon > sellable.get(data["sku"], 0)}
    return out


def amazon_listed(conn: Connection, skus: set[str]) -> dict[str, int]:
    """Per SKU, the quantities Amazon last accepted, summed over accounts and marketplaces
    (SKUs never listed are left out)."""
    listed: dict[str, int] = {}
    for row in head_rows(conn, accepted=True, skus=skus):
        listed[row.sku] = listed.get(row.sku, 0) + int(row.quantity)
    return listed


def chain_sellable(conn: Connection, skus: set[str]) -> dict[str, int]:
    """Per SKU, the hub's sellable units over every store."""
    if not skus:
        return {}
    lv = stock_levels.c
    rows = conn.execute(select(lv.sku, func.sum(lv.quantity)).where(
        lv.sku.in_(sorted(skus)), lv.state == "sellable").group_by(lv.sku))
    return {sku: int(total) for sku, total in rows}


def alert_count(conn: Connection, thresholds: Thresholds) -> int:
    """Unresolved differences over their store's threshold (the /metrics gauge)."""
    d = stock_differences.c
    floor = min([thresholds.default, *thresholds.stores.values()])  # none at or below alerts
    rows = conn.execute(select(d.store_id, d.difference, d.status).where(
        d.status.in_(OPEN), func.abs(d.difference) > floor))
    return sum(1 for r in rows if thresholds.alerts(dict(r._mapping)))


def get(conn: Connection, difference_id: int) -> Row:
    """One difference row; NotFound names the id."""
    row = conn.execute(select(stock_differences).where(
        stock_differences.c.id == difference_id)).first()
    if row is None:
        raise NotFound(f"no stock difference {difference_id}", field="difference_id")
    return dict(row._mapping)


def resolve(tx: Tx, difference_id: int, action: Action, actor: str, role: str,
            note: str | None) -> Row:
    """Resolve one unresolved difference; audited. Conflict when it is settled already."""
    row = get(tx.conn, difference_id)
    if row["status"] not in OPEN:
        raise Conflict(f"stock difference {difference_id} is {row['status']} already",
                       field="difference_id")
    status = STATUS_OF[action]
    settled = action == "accept"
    values: dict[str, Any] = {"status": status, "note": note}
    if settled:
        values |= {"resolved_at": tx.now, "resolved_by": actor}
        _take_store_figure(tx, row)
    sent: dict[str, Any] = {}
    if action == "recount":
        sent = _ask_recount(tx, row, actor, note)
        values |= {"count_task_id": sent["count_task_id"], "recounted_at": None,
                   "recount_count_id": None, "recount_counted": None}
    tx.conn.execute(update(stock_differences).where(stock_differences.c.id == difference_id)
                    .values(**values))
    tx.audit(AuditDraft(actor, role, f"stock.difference.{action}", "stock_difference",
                        f"{row['store_id']}/{row['sku']}",
                        jsonable({"id": difference_id, "status": row["status"],
                                  "state": row["state"], "store": row["store_quantity"],
                                  "hub": row["hub_quantity"], "difference": row["difference"]}),
                        jsonable({"status": status, "as_of_seq": row["as_of_seq"],
                                  "snapshot_id": row["snapshot_id"], **sent}), note))
    return {**row, **values}


def new_task_id() -> str:
    """A fresh count task id, e.g. ``CT3F9A0C1D2E4B``."""
    return "CT" + secrets.token_hex(6).upper()


def _ask_recount(tx: Tx, row: Row, actor: str, note: str | None) -> dict[str, str]:
    """Queue a count task to the node that reported the difference; its task and command id."""
    key = (row["store_id"], row["node_id"])
    c = node_certificates.c
    if tx.conn.execute(select(c.revoked_at).where(
            c.store_id == key[0], c.node_id == key[1], c.revoked_at.is_not(None))).first():
        raise Conflict(f"node {key[0]}/{key[1]} is revoked: it cannot count again "
                       "(accept or investigate the difference)", field="action")
    task = CountTask(task_id=new_task_id(), sku=row["sku"], state=StockState(row["state"]),
                     difference_id=row["id"], requested_by=actor[:64],
                     note=(note or None) and note[:2000])
    (command_id,) = queue(tx.conn, [CommandDraft(*key, new_message_id(), task)], tx.now)
    return {"count_task_id": task.task_id, "command_id": command_id}


def _take_store_figure(tx: Tx, row: Row) -> None:
    """Move the hub's level of the store, SKU and state by the accepted difference."""
    lv = stock_levels.c
    key = (lv.store_id == row["store_id"], lv.sku == row["sku"], lv.state == row["state"])
    held = tx.conn.execute(select(lv.quantity).where(*key)).scalar_one_or_none()
    if held is None:
        tx.conn.execute(stock_levels.insert().values(
            store_id=row["store_id"], sku=row["sku"], state=row["state"],
            quantity=row["difference"], reported_quantity=None, as_of=row["checked_at"],
            updated_at=tx.now))
    else:
        tx.conn.execute(update(stock_levels).where(*key).values(
            quantity=int(held) + int(row["difference"]), updated_at=tx.now))


def request_snapshots(tx: Tx, store: str | None, actor: str, role: str,
                      within: Any = None) -> list[Row]:
    """Queue a snapshot request to every node of ``store`` (or of every store); what was asked."""
    where: list[Any] = []
    if store:
        where.append(nodes.c.store_id == store)
    if within is not None:
        where.append(within(nodes.c.store_id))
    revoked = {(r.store_id, r.node_id) for r in tx.conn.execute(
        select(node_certificates.c.store_id, node_certificates.c.node_id).where(
            node_certificates.c.revoked_at.is_not(None)))}
    targets = [(r.store_id, r.node_id) for r in tx.conn.execute(
        select(nodes.c.store_id, nodes.c.node_id).where(*where)
        .order_by(nodes.c.store_id, nodes.c.node_id))
        if (r.store_id, r.node_id) not in revoked]  # a revoked node is never heard again
    if store and not targets:
        raise NotFound(f"no node of store {store} is known to the hub", field="store")
    body = SnapshotRequest(requested_by=actor[:64])
    drafts = [CommandDraft(s, n, new_message_id(), body) for s, n in targets]
    ids = queue(tx.conn, drafts, tx.now) if drafts else []
    asked = [{"store_id": s, "node_id": n, "command_id": c}
             for (s, n), c in zip(targets, ids, strict=True)]
    tx.audit(AuditDraft(actor, role, "stock.check.requested", "stock_check", store or "*",
                        None, jsonable({"nodes": asked})))
    return asked


# -- refused snapshot pages (signature missing or invalid) ---------------------------------------

def refusals(conn: Connection, store: str | None = None, open_only: bool = True,
             within: Any = None, limit: int = 200) -> list[Row]:
    """Refused snapshot pages, newest first; each open one alerts."""
    r = stock_snapshot_refusals.c
    where: list[Any] = []
    if open_only:
        where.append(r.status == "open")
    if store:
        where.append(r.store_id == store)
    if within is not None:
        where.append(within(r.store_id))
    rows = conn.execute(select(stock_snapshot_refusals).where(*where)
                        .order_by(r.found_at.desc(), r.id.desc()).limit(limit))
    return [dict(row._mapping) | {"alert": row.status == "open"} for row in rows]


def refusal_count(conn: Connection) -> int:
    """Refused snapshot pages nobody dismissed yet (the /metrics gauge)."""
    r = stock_snapshot_refusals.c
    return int(conn.execute(select(func.count()).select_from(stock_snapshot_refusals)
                            .where(r.status == "open")).scalar_one())


def refusal(conn: Connection, refusal_id: int) -> Row:
    """One refused page; NotFound names the id."""
    row = conn.execute(select(stock_snapshot_refusals).where(
        stock_snapshot_refusals.c.id == refusal_id)).first()
    if row is None:
        raise NotFound(f"no refused snapshot page {refusal_id}", field="refusal_id")
    return dict(row._mapping) | {"alert": row.status == "open"}


def dismiss_refusal(tx: Tx, refusal_id: int, actor: str, role: str, note: str | None) -> Row:
    """Dismiss a refused page once it was looked into; audited. 409 when dismissed already."""
    row = refusal(tx.conn, refusal_id)
    if row["status"] != "open":
        raise Conflict(f"refused snapshot page {refusal_id} is {row['status']} already",
                       field="refusal_id")
    values = {"status": "dismissed", "dismissed_at": tx.now, "dismissed_by": actor[:64],
              "note": note}
    tx.conn.execute(update(stock_snapshot_refusals).where(
        stock_snapshot_refusals.c.id == refusal_id).values(**values))
    tx.audit(AuditDraft(actor, role, "stock.snapshot.refusal.dismissed", "stock_snapshot",
                        f"{row['store_id']}/{row['snapshot_id']}",
                        jsonable({"id": refusal_id, "status": "open", "reason": row["reason"],
                                  "page": row["page"], "seq": row["seq"]}),
                        {"status": "dismissed"}, note))
    return row | values | {"alert": False}


# -- Amazon: what it lists against what the stores hold -----------------------------------------

@dataclass(frozen=True)
class Listed:
    """What Amazon last accepted for one (account, marketplace, SKU), and whether a newer
    quantity is still on its way there."""

    account: str
    marketplace_id: str
    sku: str
    quantity: int
    in_flight: bool = False


def amazon_differences(listed: list[Listed], sellable: Mapping[str, int],
                       threshold: int) -> list[Row]:
    """Keys where Amazon lists more than the chain's sellable units (pure): the excess, and
    ``alert`` when it is over ``threshold``; keys with a change in flight are left out."""
    out: list[Row] = []
    for item in sorted(listed, key=lambda x: (x.sku, x.account, x.marketplace_id)):
        held = sellable.get(item.sku, 0)
        excess = item.quantity - held
        if item.in_flight or excess <= 0:
            continue
        out.append({"account": item.account, "marketplace_id": item.marketplace_id,
                    "sku": item.sku, "amazon_listed": item.quantity, "chain_sellable": held,
                    "difference": excess, "threshold": threshold, "alert": excess > threshold})
    return out


IN_FLIGHT = ("pending", "sending")


def amazon_listings(conn: Connection) -> list[Listed]:
    """Per (account, marketplace, SKU), the quantity Amazon last accepted and whether its
    newest change is still on its way."""
    newest, accepted = newest_and_accepted(conn)
    flying = {(r.account, r.marketplace_id, r.sku) for r in newest if r.status in IN_FLIGHT}
    return [Listed(r.account, r.marketplace_id, r.sku, int(r.quantity),
                   (r.account, r.marketplace_id, r.sku) in flying)
            for r in sorted(accepted, key=lambda r: (r.account, r.marketplace_id, r.sku))]


def amazon_report(conn: Connection, thresholds: Thresholds) -> list[Row]:
    """Where Amazon lists more than the stores hold, per account, marketplace and SKU."""
    lv = stock_levels.c
    # every SKU's sum at once: the listed SKUs can be far more than an IN list should carry
    sellable = {sku: int(total) for sku, total in conn.execute(
        select(lv.sku, func.sum(lv.quantity)).where(lv.state == "sellable").group_by(lv.sku))}
    return amazon_differences(amazon_listings(conn), sellable, thresholds.default)


def amazon_alert_count(conn: Connection, thresholds: Thresholds) -> int:
    """Amazon differences over the threshold (the /metrics gauge)."""
    return sum(1 for row in amazon_report(conn, thresholds) if row["alert"])
