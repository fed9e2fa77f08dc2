"""A refund requested through the API by a person (store staff at the desk, HQ on a call).

Rules:
- the caller needs the ``request`` right and the return's store in scope;
- the amount defaults to the return's items total and must be in their currency;
- it is decided at once by the active policy exactly like a store's request (the same
  ``Projector``), with ``requested_by`` = the caller, audited as the caller; no command goes to
  the store's node, which did not ask (it learns of approvals of its own requests only);
- the refund id is ``H`` + 12 random Crockford base-32 characters (stores use ``F``).
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Connection, select

from hub.access.permissions import Action, Principal, require, require_in_scope
from hub.errors import Conflict, InputError
from hub.fleet import stores
from hub.refunds.projection import HUB_REFUND_PREFIX, Projector
from hub.returns.queries import find_one, refund_out
from hub.storage.engine import writing
from hub.storage.money import money_of
from hub.storage.tables.core import refunds, return_items, returns
from hub.sync.ingest import state
from protocol import Channel, Money, RefundRequested, make_envelope

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_hub_refund_id() -> str:
    """A fresh id for a refund requested at the hub."""
    return HUB_REFUND_PREFIX + "".join(secrets.choice(CROCKFORD) for _ in range(12))


def items_total(conn: Connection, store_id: str, return_id: str) -> Money | None:
    """The return's items total (None when its lines mix currencies)."""
    rows = conn.execute(
        select(return_items.c.unit_price, return_items.c.quantity, return_items.c.currency).where(
            return_items.c.store_id == store_id, return_items.c.return_id == return_id
        )
    ).all()
    currencies = {r.currency for r in rows}
    if len(currencies) != 1:
        return None
    return money_of(sum(r.unit_price * r.quantity for r in rows), currencies.pop())


def request_refund(
    engine: Any, principal: Principal, return_id: str, store: str | None, amount: Money | None
) -> dict[str, Any]:
    """Request (and have the policy decide) a refund of a return; return the refund row."""
    require(principal, Action.REQUEST)
    with writing(engine) as tx:
        ret = find_one(tx.conn, returns, "return_id", return_id, store, "return")
        require_in_scope(principal, stores.place(tx.conn, ret["store_id"]))
        paid = items_total(tx.conn, ret["store_id"], return_id)
        if amount is not None and paid is not None and amount.currency != paid.currency:
            raise InputError(f"the return was paid in {paid.currency}", field="amount")
        amount = amount or paid
        if amount is None:
            raise InputError("the return's items mix currencies: give the amount", field="amount")
        body = RefundRequested(
            refund_id=new_hub_refund_id(),
            return_id=return_id,
            amount=amount,
            channel=Channel(ret["channel"]),
            order_id=ret["order_id"],
            marketplace_id=ret["marketplace_id"],
            requested_by=principal.name,
            requested_at=tx.now,
        )
        event = make_envelope(ret["store_id"], ret["node_id"], 0, body)
        projector = Projector(
            state.load(tx, [event]), tx.now, on_behalf=(principal.actor, principal.role.value)
        )
        projector.apply(event)
        if projector.changes.problems:
            raise Conflict(projector.changes.problems[0].reason)
        state.flush(tx, projector.changes)
        row = tx.conn.execute(
            select(refunds).where(
                refunds.c.store_id == ret["store_id"], refunds.c.refund_id == body.refund_id
            )
        ).one()
    return refund_out(dict(row._mapping))
