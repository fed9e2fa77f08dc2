"""The stock API (tags ``pos`` and ``stock``): POS sales, stock counts, a SKU's stock.

    POST /api/pos/sales       book a POS sale -> 201, or 200 with the sale already booked for
                              that pos_transaction_id (409: the same id with another body)
    POST /api/stock/counts    book a count's differences -> 201, or 200 for a repeated count_id
    POST /api/stock/moves     a transfer or reservation move -> 201 (``Idempotency-Key``)
    POST /api/stock/snapshots send the hub a snapshot of the stock totals now -> 201
    GET  /api/count-tasks     the hub's open count tasks ("count SKU X"; a count answers one)
    GET  /api/stock/{sku}     the SKU's stock by state, with its latest moves (works offline)

Each write is one transaction with its ``stock.moved`` events (``edge_agent.stock.ledger``);
refusals (a move the ledger's rules do not allow) are 409 naming the field. Authentication as for
every guarded route (``edge_agent.web.auth``): a POS key names its own ``cashier``, a signed-in
member of staff is recorded as ``cashier`` / ``counted_by``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from edge_agent.stock.models import (
    CountRequest,
    CountTasks,
    CountTaskView,
    CountView,
    MoveRequest,
    MoveView,
    SaleRequest,
    SaleView,
    SnapshotView,
    StockView,
)
from edge_agent.web.api import ERRORS, AgentDep, _json
from edge_agent.web.auth import GUARD, CallerDep, stamp
from edge_agent.web.idempotency import IDEMPOTENT

router = APIRouter()
Sku = Annotated[str, Path(min_length=1, max_length=64, description="the store's SKU")]


@router.post("/api/pos/sales", response_model=SaleView, status_code=201, tags=["pos"],
             responses={**ERRORS, 200: {"model": SaleView, "description":
                                        "already booked under this pos_transaction_id"}})
async def record_sale(body: SaleRequest, agent: AgentDep, caller: CallerDep) -> Response:
    """Book a POS sale: each line takes sellable stock out, durably, before answering; it
    syncs to the hub as ``stock.moved`` events. Idempotent on ``pos_transaction_id``. A sale
    beyond the stock the ledger holds is booked all the same (it happened) and the SKU shows
    ``needs_count``."""
    # On the event loop, like POST /api/returns: one short transaction is cheaper than two
    # thread hops (counts stay in the thread pool: a full count can be thousands of moves).
    body = body.model_copy(update={"cashier": stamp(caller, body.cashier, "cashier")})
    view = agent.stock.record_sale(body)
    return _json(view, 201 if view.created else 200)


@router.post("/api/stock/counts", response_model=CountView, status_code=201, tags=["stock"],
             responses={**ERRORS, 200: {"model": CountView, "description":
                                        "already booked under this count_id"}})
def record_count(body: CountRequest, agent: AgentDep, caller: CallerDep) -> Response:
    """Book a stock count of one state (default sellable), per SKU or ``full``: each
    difference to the ledger is booked as a ``count`` move and the count is audited.
    Idempotent on ``count_id``."""
    body = body.model_copy(update={"counted_by": stamp(caller, body.counted_by, "counted_by")})
    view = agent.stock.record_count(body)
    return _json(view, 201 if view.created else 200)


@router.post("/api/stock/moves", response_model=MoveView, status_code=201, tags=["stock"],
             responses=ERRORS, dependencies=IDEMPOTENT)
def record_move(body: MoveRequest, agent: AgentDep, caller: CallerDep) -> Response:
    """Book a transfer (out: sellable -> in transit; in: -> sellable) or a reservation
    (sellable -> reserved, released back); 409 when the ledger's rules refuse it (e.g. more
    than the state holds)."""
    body = body.model_copy(update={"staff_id": stamp(caller, body.staff_id, "staff_id")})
    return _json(agent.stock.record_move(body), 201)


@router.post("/api/stock/snapshots", response_model=SnapshotView, status_code=201,
             tags=["stock"], responses=ERRORS)
def take_snapshot(agent: AgentDep, caller: CallerDep) -> Response:
    """Send the hub a snapshot of this node's stock totals now, for its consistency check (it
    also goes daily, ``stock_snapshot_hours``); the pages ride the outbox like every event."""
    actor = stamp(caller, None, "counted_by") or "counter"
    return _json(agent.stock.snapshot("local", actor, "counter"), 201)


@router.get("/api/count-tasks", response_model=CountTasks, tags=["stock"],
            responses=ERRORS, dependencies=GUARD)
def get_count_tasks(agent: AgentDep) -> Response:
    """The hub's open count tasks at this store, oldest first (works offline): each asks for a
    count of one SKU in one state; the next count of it (``POST /api/stock/counts``) answers
    it and sends the new figures to the hub."""
    return _json(CountTasks(tasks=[CountTaskView.model_validate(t)
                                   for t in agent.stock.count_tasks()]))


@router.get("/api/stock/{sku}", response_model=StockView, tags=["stock"], responses=ERRORS,
            dependencies=GUARD)
def get_stock(sku: Sku, agent: AgentDep) -> Response:
    """The SKU's stock at this store by state (zeros for a SKU never booked), whether it needs
    a count, and its 20 latest moves."""
    return _json(agent.stock.stock(sku))
