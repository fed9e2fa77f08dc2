"""Retiring store machines: replace a mini-PC, decommission a store.

Replacing (``acorn-hub devices replace STORE OLD_NODE``, ``POST /api/fleet/nodes/{store}/{node}/
replace``; ``manage_devices``, the store in scope): the old node is revoked (``lifecycle.revoke``:
cut off by the broker, never heard again) and an enrolment code is made for a NEW node id of the
store (the old id stays retired). The answer says what became of the old node's events:

- the hub holds them up to ``hub_seq`` (its contiguous seq of the old node);
- the old node's last status said it had acknowledged ``last_acked_seq`` and had
  ``outbox_pending`` events unsent, so it had written up to ``last_acked_seq + outbox_pending``;
- the difference is ``unsent``: those events are lost unless the old machine's data folder is
  recovered onto the new one (``acorn-edge recover``, README "Replacing a store machine"); None
  when the old node never reported a status.

Decommissioning (``acorn-hub stores decommission STORE --reason``, ``POST /api/fleet/stores/
{store}/decommission``; ``manage_stores``: admin, the store in scope): every node of the store is
revoked, the store is marked decommissioned (who, when, why) and no enrolment code is made or
redeemed for it again; its returns, refunds, dead letters and audit trail stay. Then every node's
client and role are removed from the broker; running it again retries the broker and audits
nothing new.

Rules: a reason (1-500 characters) is required; every change is audited (``device.replaced``,
``store.decommissioned``, and ``device.revoked`` for each node) in the transaction that makes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update

from hub.access.permissions import Action, Principal, require, require_in_scope
from hub.errors import BrokerError, InputError, NotFound
from hub.fleet import identities, lifecycle
from hub.fleet.enrolment import IssuedCode, create_code
from hub.fleet.stores import place
from hub.storage.audit_chain import AuditDraft, jsonable
from hub.storage.engine import Tx, reading, writing
from hub.storage.tables.core import nodes, stores
from hub.storage.tables.fleet import node_certificates
from protocol import check_id

Unprovision = Callable[[str, str], None]


@dataclass(frozen=True)
class Backlog:
    """What the hub knows of a node's events: held, and unsent at its last report."""

    hub_seq: int
    reported_at: datetime | None
    last_acked_seq: int | None
    outbox_pending: int | None

    @property
    def written_seq(self) -> int | None:
        """The highest seq the node had written at its last report."""
        if self.last_acked_seq is None or self.outbox_pending is None:
            return None
        return self.last_acked_seq + self.outbox_pending

    @property
    def unsent(self) -> int | None:
        """Events the node wrote that the hub does not hold (None: the node never said)."""
        written = self.written_seq
        return None if written is None else max(0, written - self.hub_seq)


def backlog_of(row: Any) -> Backlog:
    """The backlog of a ``nodes`` row (its status as the node last sent it)."""
    said: dict[str, Any] = row.status or {}
    acked, pending = said.get("last_acked_seq"), said.get("outbox_pending")
    return Backlog(int(row.contiguous_seq), row.status_at,
                   int(acked) if isinstance(acked, int) else None,
                   int(pending) if isinstance(pending, int) else None)


@dataclass(frozen=True)
class Replaced:
    """The old node, revoked; what it left unsent; the code for its successor."""

    revoked: lifecycle.Revoked
    backlog: Backlog
    code: IssuedCode


def _reason(text: str) -> str:
    why = (text or "").strip()
    if not 1 <= len(why) <= lifecycle.MAX_REASON:
        raise InputError(f"say why (1 to {lifecycle.MAX_REASON} characters)", field="reason")
    return why


def replace(engine: Engine, principal: Principal, store_id: str, old_node: str, reason: str,
            minutes: int, unprovision: Unprovision) -> Replaced:
    """Revoke ``old_node`` and make a code for a new node of the store; audited."""
    require(principal, Action.MANAGE_DEVICES)
    why = _reason(reason)
    with reading(engine) as conn:
        row = conn.execute(select(nodes).where(nodes.c.store_id == store_id,
                                               nodes.c.node_id == old_node)).first()
    if row is None:
        raise NotFound(f"node {store_id}/{old_node} has never reached the hub: nothing to "
                       "replace (revoke it if it holds an identity)", field="node")
    backlog = backlog_of(row)
    revoked = lifecycle.revoke(engine, principal, store_id, old_node, f"replaced: {why}",
                               unprovision)
    code = create_code(engine, principal, store_id, minutes, None)
    with writing(engine) as tx:
        tx.audit(AuditDraft(principal.actor, principal.role.value, "device.replaced", "node",
                            f"{store_id}/{old_node}", jsonable({
                                "hub_seq": backlog.hub_seq,
                                "reported_at": backlog.reported_at,
                                "last_acked_seq": backlog.last_acked_seq,
                                "outbox_pending": backlog.outbox_pending}),
                            jsonable({"unsent": backlog.unsent,
                                      "code_expires_at": code.expires_at}), why))
    return Replaced(revoked, backlog, code)


@dataclass(frozen=True)
class Decommissioned:
    """A decommissioned store and the nodes it had."""

    store_id: str
    decommissioned_at: datetime
    nodes: list[str]
    already: bool


def decommission(engine: Engine, principal: Principal, store_id: str, reason: str,
                 unprovision: Unprovision) -> Decommissioned:
    """Revoke every node of the store, mark it decommissioned (audited), then tell the broker."""
    require(principal, Action.MANAGE_STORES)
    why = _reason(reason)
    try:
        check_id(store_id, "store id")
    except ValueError as err:
        raise InputError(str(err), field="store") from err
    with writing(engine) as tx:
        row = tx.conn.execute(select(stores).where(stores.c.store_id == store_id)
                              .with_for_update()).first()
        if row is None:
            raise NotFound(f"store {store_id} is not known to the hub", field="store")
        require_in_scope(principal, place(tx.conn, store_id))
        ids = sorted(set(tx.conn.scalars(select(nodes.c.node_id).where(
            nodes.c.store_id == store_id))) | set(tx.conn.scalars(select(
                node_certificates.c.node_id).where(node_certificates.c.store_id == store_id))))
        already = row.decommissioned_at is not None
        when = row.decommissioned_at or tx.now
        if not already:
            for node_id in ids:
                _revoke_in(tx, principal, store_id, node_id, why)
            tx.conn.execute(update(stores).where(stores.c.store_id == store_id).values(
                decommissioned_at=tx.now, decommissioned_by=principal.actor[:200],
                decommission_reason=why[:500]))
            tx.audit(AuditDraft(principal.actor, principal.role.value, "store.decommissioned",
                                "store", store_id, {"nodes": ids},
                                {"decommissioned": True, "revoked": ids}, why))
    failed = []
    for node_id in ids:
        try:
            unprovision(store_id, node_id)
        except BrokerError as err:
            failed.append(f"{node_id}: {err.message}")
    if failed:
        raise BrokerError(f"store {store_id} is decommissioned at the hub but the broker still "
                          f"holds {'; '.join(failed)}; run decommission again once it answers")
    return Decommissioned(store_id, when, ids, already)


def _revoke_in(tx: Tx, principal: Principal, store_id: str, node_id: str, why: str) -> None:
    found = identities.standing(tx.conn, store_id, node_id, lock=True)
    if found is not None and found.revoked:
        return
    identities.mark_revoked(tx.conn, store_id, node_id, tx.now, principal.actor,
                            principal.role.value, f"store decommissioned: {why}")
    tx.audit(AuditDraft(principal.actor, principal.role.value, "device.revoked", "node",
                        f"{store_id}/{node_id}", jsonable({
                            "certificate_serial": found.serial if found else None}),
                        jsonable({"revoked": True}), f"store decommissioned: {why}"))
