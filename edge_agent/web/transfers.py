"""The transfers API (tag ``transfers``): ship a transfer to another store, receive one from it.

    GET  /api/transfers                        the transfer tasks still to do here (works offline)
    GET  /api/transfers/{transfer_id}          this store's task of one transfer
    POST /api/transfers/{transfer_id}/ship     every line: sellable -> in transit -> 201, or 200
                                               with the first shipment when shipped already
    POST /api/transfers/{transfer_id}/receive  the counted units per SKU -> 201 with each line's
                                               difference, or 200 repeating the first receipt
                                               (409: received already with other counts)

The tasks come from the hub (``transfer.task``); each write is one transaction with its
``stock.moved`` events (``edge_agent.stock.transfers``). Authentication as for every guarded
route: a signed-in member of staff is recorded as ``staff_id``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response

from edge_agent.stock import transfers
from edge_agent.stock.transfers import ReceiveRequest, ShipRequest, TransferTasks, TransferTaskView
from edge_agent.web.api import ERRORS, AgentDep, _json
from edge_agent.web.auth import GUARD, CallerDep, stamp

router = APIRouter(tags=["transfers"])
TransferId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
                                 description="the hub's transfer id")]
ANSWERED: dict[int | str, dict[str, Any]] = {
    200: {"model": TransferTaskView, "description": "done already: the first answer"}}


@router.get("/api/transfers", response_model=TransferTasks, responses=ERRORS,
            dependencies=GUARD)
def list_tasks(agent: AgentDep) -> Response:
    """Transfers to ship or to receive here, oldest first (from the node's own database)."""
    with agent.stock.store.read() as tx:
        return _json(transfers.open_tasks(tx))


@router.get("/api/transfers/{transfer_id}", response_model=TransferTaskView, responses=ERRORS,
            dependencies=GUARD)
def get_task(transfer_id: TransferId, agent: AgentDep) -> Response:
    """This store's task of one transfer, with what was counted once it is received."""
    with agent.stock.store.read() as tx:
        return _json(transfers.get(tx, transfer_id))


@router.post("/api/transfers/{transfer_id}/ship", response_model=TransferTaskView,
             status_code=201, responses={**ERRORS, **ANSWERED})
def ship(transfer_id: TransferId, body: ShipRequest, agent: AgentDep,
         caller: CallerDep) -> Response:
    """Ship the transfer: every line moves sellable -> in transit, or none (409 naming the line
    beyond the sellable stock)."""
    body = body.model_copy(update={"staff_id": stamp(caller, body.staff_id, "staff_id")})
    ledger = agent.stock
    with ledger.store.write() as tx:
        done = transfers.ship(tx, ledger.store_id, ledger.node_id, transfer_id, body,
                              ledger.clock())
    _written(agent, done)
    return _json(done, 201 if done.created else 200)


@router.post("/api/transfers/{transfer_id}/receive", response_model=TransferTaskView,
             status_code=201, responses={**ERRORS, **ANSWERED})
def receive(transfer_id: TransferId, body: ReceiveRequest, agent: AgentDep,
            caller: CallerDep) -> Response:
    """Receive the transfer: what was counted per SKU goes to sellable; a shortfall or surplus
    against what was shipped is booked as the transfer's difference and reported to the hub."""
    body = body.model_copy(update={"staff_id": stamp(caller, body.staff_id, "staff_id")})
    ledger = agent.stock
    with ledger.store.write() as tx:
        done = transfers.receive(tx, ledger.store_id, ledger.node_id, transfer_id, body,
                                 ledger.clock())
    _written(agent, done)
    return _json(done, 201 if done.created else 200)


def _written(agent: AgentDep, done: TransferTaskView) -> None:
    """Wake the link and tell the screens (only when something was booked)."""
    if done.created:
        for line in done.lines:
            agent.stock.on_write("stock.move", line.sku)
