"""Orders API 2026-01-01: searchOrders and getOrder.

searchOrders takes exactly one of `createdAfter` and `lastUpdatedAfter` (and may not mix the
created and lastUpdated families); the upper bound defaults to, and may be no later than, two
minutes (`lag_seconds`) before the request. Results are ordered by the chosen time; the
`pagination.nextToken` it returns is sent back as `paginationToken` and carries the filters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from spapi_sim.errors import InvalidInput, NotFound
from spapi_sim.jsonio import AmazonJSONResponse
from spapi_sim.model import Order
from spapi_sim.orders_json import INCLUDED_DATA, iso_z, order_json
from spapi_sim.params import enum_values, int_param, one, time_param, values
from spapi_sim.web import Call, gate, reply

FULFILLMENT_STATUSES = frozenset({
    "PENDING_AVAILABILITY", "PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED",
    "UNFULFILLABLE"})
FULFILLED_BY = frozenset({"MERCHANT", "AMAZON"})

router = APIRouter(tags=["Orders 2026-01-01"])


@dataclass(frozen=True, slots=True)
class OrderQuery:
    """A searchOrders filter; `by` is "created" or "lastUpdated"."""

    by: str
    after: str
    before: str
    statuses: tuple[str, ...]
    marketplace_ids: tuple[str, ...]
    fulfilled_by: tuple[str, ...]
    page_size: int
    included: tuple[str, ...]

    @classmethod
    def from_json(cls, fields: dict[str, Any]) -> OrderQuery:
        """The query a paging token carried (as `dataclasses.asdict` wrote it)."""
        return cls(by=str(fields["by"]), after=str(fields["after"]),
                   before=str(fields["before"]), statuses=tuple(fields["statuses"]),
                   marketplace_ids=tuple(fields["marketplace_ids"]),
                   fulfilled_by=tuple(fields["fulfilled_by"]), page_size=int(fields["page_size"]),
                   included=tuple(fields["included"]))

    def select(self, orders: Iterable[Order]) -> list[Order]:
        """The orders passing every filter, ordered by the filtered time."""
        after, before = datetime.fromisoformat(self.after), datetime.fromisoformat(self.before)
        found = [o for o in orders if self._matches(o)
                 and after <= (o.created if self.by == "created" else o.updated) <= before]
        if self.by == "lastUpdated":
            found.sort(key=lambda o: (o.updated, o.order_id))
        return found

    def _matches(self, order: Order) -> bool:
        return (order.marketplace_id in self.marketplace_ids
                and (not self.statuses or order.status in self.statuses)
                and (not self.fulfilled_by or order.fulfilled_by in self.fulfilled_by))


def _bounds(request: Request, call: Call) -> tuple[str, datetime, datetime]:
    query = request.query_params
    created_after, updated_after = (time_param(query, "createdAfter"),
                                    time_param(query, "lastUpdatedAfter"))
    if (created_after is None) == (updated_after is None):
        raise InvalidInput("Exactly one of createdAfter and lastUpdatedAfter must be provided.")
    by = "created" if created_after is not None else "lastUpdated"
    other = "lastUpdated" if by == "created" else "created"
    if one(query, f"{other}Before") or one(query, f"{other}After"):
        raise InvalidInput(f"{by}After cannot be combined with {other}After or {other}Before.")
    after = created_after or updated_after
    assert after is not None
    latest = call.now - timedelta(seconds=call.sim.settings.lag_seconds)
    before = time_param(query, f"{by}Before") or latest
    if before < after or before > latest:
        raise InvalidInput(f"{by}Before must be after {by}After and at least two minutes "
                           "before the time of the request.")
    return by, after, before


def _new_query(request: Request, call: Call) -> OrderQuery:
    query = request.query_params
    by, after, before = _bounds(request, call)
    marketplace_ids = values(query, "marketplaceIds") or list(call.account.marketplace_ids)
    unknown = set(marketplace_ids) - set(call.account.marketplace_ids)
    if unknown:
        raise InvalidInput(f"Invalid marketplaceIds for this seller: {', '.join(sorted(unknown))}.")
    return OrderQuery(
        by=by, after=after.isoformat(), before=before.isoformat(),
        statuses=tuple(enum_values(query, "fulfillmentStatuses", FULFILLMENT_STATUSES)),
        marketplace_ids=tuple(marketplace_ids),
        fulfilled_by=tuple(enum_values(query, "fulfilledBy", FULFILLED_BY)),
        page_size=int_param(query, "maxResultsPerPage", 100, 1, 100),
        included=tuple(enum_values(query, "includedData", INCLUDED_DATA)))


def _resumed_query(token: str, call: Call) -> tuple[OrderQuery, int]:
    payload = call.sim.signer.unseal(token)
    if not payload or payload.get("k") != "orders" or payload.get("s") != call.seller_id:
        raise InvalidInput("Invalid paginationToken.")
    return OrderQuery.from_json(payload["q"]), int(payload["o"])


@router.get("/orders/2026-01-01/orders")
async def search_orders(request: Request,
                        call: Annotated[Call, Depends(gate("searchOrders"))]) -> AmazonJSONResponse:
    """Orders created or updated in a time window, a page at a time."""
    token = one(request.query_params, "paginationToken")
    query, offset = _resumed_query(token, call) if token else (_new_query(request, call), 0)
    found = query.select(call.sim.world.orders(call.seller_id))
    page = found[offset:offset + query.page_size]
    body: dict[str, Any] = {"orders": [order_json(o, set(query.included)) for o in page]}
    if offset + query.page_size < len(found):
        next_token = call.sim.signer.seal({"k": "orders", "s": call.seller_id,
                                           "o": offset + query.page_size, "q": asdict(query)})
        body["pagination"] = {"nextToken": next_token}
    body[f"{query.by}Before"] = iso_z(datetime.fromisoformat(query.before))
    return reply(body)


@router.get("/orders/2026-01-01/orders/{order_id}")
async def get_order(order_id: str, request: Request,
                    call: Annotated[Call, Depends(gate("getOrder"))]) -> AmazonJSONResponse:
    """One order of the calling seller."""
    included = set(enum_values(request.query_params, "includedData", INCLUDED_DATA))
    order = call.sim.world.order(call.seller_id, order_id)
    if order is None:
        raise NotFound(f"Order {order_id} was not found.")
    return reply({"order": order_json(order, included)})
