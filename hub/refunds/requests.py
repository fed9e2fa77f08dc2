"""A refund requested through the API by a person (store staff at the desk, HQ on a call).

Rules:
- the caller needs the ``request`` right and the return's store in scope;
- the amount defaults to the return's items total (``hub.refunds.facts.items_total``) and must
  be in their currency;
- it is decided at once by the active policy exactly like a store's request: the same facts
  (``hub.refunds.facts``) and the same ``Projector.request``, with ``requested_by`` = the
  caller, audited as the caller;
- its origin is ``hub``: no command goes to the store's node, which does not hold it (it learns
  of its own requests only);
- the refund id is ``H`` + 12 random Crockford base-32 characters (stores use ``F``); the id is a
  name only, the origin column is what the hub goes by.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select

from hub.access.permissions import Action, Principal, require, require_in_scope
from hub.errors import Conflict, InputError
from hub.fleet import stores
from hub.policy import store as policy_store
from hub.refunds import facts
from hub.refunds.origin import Origin
from hub.refunds.projection import Changes, Loaded, Projector, Refused
from hub.returns.queries import find_one, refund_out
from hub.storage import outbox
from hub.storage.engine import Tx, writing
from hub.storage.tables.access import refund_rules
from hub.storage.tables.core import refunds, returns
from protocol import Channel, Money, RefundRequested

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
HUB_ID_PREFIX = "H"


def new_hub_refund_id() -> str:
    """A fresh id for a refund requested at the hub."""
    return HUB_ID_PREFIX + "".join(secrets.choice(CROCKFORD) for _ in range(12))


def request_refund(
    engine: Any, principal: Principal, return_id: str, store: str | None, amount: Money | None
) -> dict[str, Any]:
    """Request (and have the policy decide) a refund of a return; return the refund row."""
    require(principal, Action.REQUEST)
    with writing(engine) as tx:
        ret = find_one(tx.conn, returns, "return_id", return_id, store, "return")
        require_in_scope(principal, stores.place(tx.conn, ret["store_id"]))
        channel = Channel(ret["channel"])
        known = facts.load_known(tx.conn, [facts.Asked(
            ret["store_id"], return_id, channel, ret["order_id"], ret["marketplace_id"])])
        paid = facts.items_total(known.lines.get((ret["store_id"], return_id), []))
        if amount is not None and paid is not None and amount.currency != paid.currency:
            raise InputError(f"the return was paid in {paid.currency}", field="amount")
        amount = amount or paid
        if amount is None:
            raise InputError("the return's items mix currencies: give the amount", field="amount")
        body = RefundRequested(
            refund_id=new_hub_refund_id(), return_id=return_id, amount=amount, channel=channel,
            order_id=ret["order_id"], marketplace_id=ret["marketplace_id"],
            requested_by=principal.name, requested_at=tx.now)
        loaded = Loaded(returns={(ret["store_id"], return_id): ret},
                        policy=policy_store.active_for_write(tx).compiled, known=known)
        projector = Projector(loaded, tx.now, on_behalf=(principal.actor, principal.role.value))
        try:
            projector.request(ret["store_id"], ret["node_id"], body, Origin.HUB)
        except Refused as err:
            raise Conflict(str(err)) from err
        _record(tx, projector.changes)
        row = tx.conn.execute(select(refunds).where(
            refunds.c.store_id == ret["store_id"], refunds.c.refund_id == body.refund_id)).one()
    return refund_out(dict(row._mapping))


def _record(tx: Tx, changes: Changes) -> None:
    """Write what a hub request changes: the refund, its rule index, commands, audit."""
    tx.conn.execute(refunds.insert(), list(changes.refunds_new.values()))
    if changes.refund_rules:
        tx.conn.execute(refund_rules.insert(), changes.refund_rules)
    outbox.queue(tx.conn, changes.commands, tx.now)
    for draft in changes.audit:
        tx.audit(draft)
