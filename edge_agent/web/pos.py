"""The POS terminals' local API (tag ``pos``), documented for integrators on ``/docs``.

    GET  /api/pos/lookup?receipt=…|order=…   returns recorded for a sale receipt, return code or
                                             order, units already returned, an expected RMA
    POST /api/pos/returns                    record a POS sale return -> 201, or 200 with the
                                             return already recorded for that pos_transaction_id

Errors have the API's one shape (``{"detail": [{"field", "message"}]}``) and name the POS
request's fields: 422 (e.g. ``lines.0.price.amount``), 409 (``pos_transaction_id`` reused for
another body, or ``amount`` above the store's offline refund limit).

Authentication (``edge_agent.web.auth``): once the store has staff PINs, a POS sends its key as
``Authorization: Bearer <key>`` (``ACORN_EDGE_POS_API_KEYS``) and names its own ``cashier``; a
counter screen uses the signed-in staff session instead, which is recorded as the cashier.
``refund_mode`` is sent to the hub as the refund's ``refund_method``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from edge_agent.pos.models import PosLookup, PosReturnRequest, PosReturnView
from edge_agent.web.api import ERRORS, AgentDep, _json, offline_approver
from edge_agent.web.auth import GUARD, CallerDep, stamp

router = APIRouter(tags=["pos"])

# min_length=1: an empty ``receipt=`` is a mistake to name (422), not "no receipt" (it was a 500)
Receipt = Annotated[str | None, Query(
    min_length=1, max_length=64, description="a sale receipt id, or the return code / return id "
    "of a drop-off receipt", examples=["B-2025-0330-0042"])]
Order = Annotated[str | None, Query(min_length=1, max_length=64,
                                    description="an order id (web or Amazon)",
                                    examples=["113-1234567-1234567"])]


@router.get("/api/pos/lookup", response_model=PosLookup, responses=ERRORS, dependencies=GUARD)
def lookup(agent: AgentDep, receipt: Receipt = None, order: Order = None) -> Response:
    """Look up returns by **receipt** or by **order** (exactly one): what was already returned
    and, for an order, the RMA the hub expects. Works offline."""
    return _json(agent.pos.lookup(receipt, order))


@router.post("/api/pos/returns", response_model=PosReturnView, status_code=201,
             responses={**ERRORS, 200: {"model": PosReturnView, "description":
                                        "already recorded under this pos_transaction_id"}})
def record_pos_return(body: PosReturnRequest, agent: AgentDep, caller: CallerDep) -> Response:
    """Record a POS sale return, durably, before answering; it syncs to the hub like any return
    and its drop-off receipt is printed. Idempotent on ``pos_transaction_id``: a repeat answers
    200 with the return recorded the first time. With ``approve_offline`` a store manager signed
    in at the counter pays the refund out while the hub is away, up to the store's limit."""
    agent.selftest.guard()
    body = body.model_copy(update={"cashier": stamp(caller, body.cashier, "cashier")})
    view = agent.pos.record(body, lambda: offline_approver(caller, True, agent))
    return _json(view, 201 if view.created else 200)
