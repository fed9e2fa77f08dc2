"""Device routes: the printers' state and queue, a receipt reprint, the scanner's state.

    GET  /api/printer                 receipt printer status, queue depth, last error; every printer
    POST /api/returns/{id}/receipt    queue the return's receipt again                   -> 202
    GET  /api/devices                 scanner and printers, and how many screens follow live events

The reprint is guarded (``edge_agent.web.auth``); the device state is open, like health.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from edge_agent.devices.models import DevicesView, PrinterReport, PrintJobView
from edge_agent.web.api import ERRORS, AgentDep, _json
from edge_agent.web.auth import GUARD
from edge_agent.web.idempotency import IDEMPOTENT

router = APIRouter(tags=["devices"])


@router.get("/api/printer", response_model=PrinterReport)
def printer(agent: AgentDep) -> Response:
    """The receipt printer's status (``unknown`` when it answers no status query), the number of
    jobs waiting and why the oldest has not printed; ``printers`` lists the label printer too."""
    return _json(agent.printing.report())


@router.post("/api/returns/{return_id}/receipt", response_model=PrintJobView, status_code=202,
             responses=ERRORS, dependencies=[*GUARD, *IDEMPOTENT])
def reprint_receipt(return_id: str, agent: AgentDep) -> Response:
    """Queue the return's drop-off receipt again; it prints when the printer is ready (409 when
    no printer is configured, 404 for an unknown return)."""
    return _json(agent.printing.reprint(return_id), 202)


@router.get("/api/devices", response_model=DevicesView)
def devices(agent: AgentDep) -> Response:
    """The scanner's and the printers' state (the counter page's fallback to the live stream)."""
    return _json(DevicesView(scanner=agent.devices.scanner_view(),
                             printer=agent.printing.report(), streams=agent.events.streams))
