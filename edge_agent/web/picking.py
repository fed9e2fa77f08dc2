"""The pick task API (tag ``picking``): Amazon order packages the hub routed to this store.

    GET  /api/pick-tasks                     the open pick tasks, nearest ship-by first
    GET  /api/pick-tasks/{package}           one task with its lines (reserved, picked)
    POST /api/pick-tasks/{package}/scans     confirm one unit by its scanned SKU (409: wrong item)
    POST /api/pick-tasks/{package}/shipment  carrier and tracking number: ship it -> 201, a resend
                                             with the same ones -> 200 (409: other ones)
    POST /api/pick-tasks/{package}/give-back the store cannot fill it: release, tell the hub
    POST /api/pick-tasks/{package}/print     print the pick list and the packing slip on the
                                             receipt printer (503: no printer, or it failed)

All of it reads and writes the node's SQLite (``edge_agent.stock.picking``), so it works offline;
the events ride the outbox. Authentication as every guarded route (``edge_agent.web.auth``).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from edge_agent.errors import Conflict
from edge_agent.stock import pick_slips, picking
from edge_agent.web.api import ERRORS, AgentDep
from edge_agent.web.auth import GUARD, CallerDep, stamp

router = APIRouter()
Package = Annotated[str, Path(min_length=1, max_length=64, description="the package id")]


class Scan(BaseModel):
    """One scanned unit."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=64, description="the scanned SKU")
    staff_id: str | None = Field(None, max_length=64)


class Shipment(BaseModel):
    """How the package leaves the store."""

    model_config = ConfigDict(extra="forbid")
    carrier: str = Field(min_length=1, max_length=64, description="e.g. UPS, DHL, USPS")
    tracking_number: str = Field(min_length=1, max_length=64, pattern=r"^\s*[A-Za-z0-9._/-]+\s*$")
    staff_id: str | None = Field(None, max_length=64)


class GiveBack(BaseModel):
    """Why the store cannot fill the package."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)
    staff_id: str | None = Field(None, max_length=64)


def _node(agent: Any) -> picking.Node:
    return picking.Node(agent.stock.store_id, agent.stock.node_id)


def _staff(caller: Any, value: str | None) -> str:
    return stamp(caller, value, "staff_id") or "counter"


@router.get("/api/pick-tasks", tags=["picking"], responses=ERRORS, dependencies=GUARD)
def list_tasks(agent: AgentDep) -> JSONResponse:
    """The open pick tasks at this store, the nearest ship-by first (works offline)."""
    with agent.stock.store.read() as tx:
        return JSONResponse({"tasks": picking.open_tasks(tx)})


@router.get("/api/pick-tasks/{package}", tags=["picking"], responses=ERRORS,
            dependencies=GUARD)
def get_task(package: Package, agent: AgentDep) -> JSONResponse:
    """One pick task with its lines: units ordered, reserved and picked."""
    with agent.stock.store.read() as tx:
        return JSONResponse(picking.task(tx, package))


@router.post("/api/pick-tasks/{package}/scans", tags=["picking"], responses=ERRORS)
def scan(package: Package, body: Scan, agent: AgentDep, caller: CallerDep) -> JSONResponse:
    """Confirm one unit by its scanned SKU; a wrong item is refused (409) and nothing changes."""
    staff = _staff(caller, body.staff_id)
    with agent.stock.store.write() as tx:
        row = picking.scan(tx, package, body.code, agent.stock.clock(), staff)
    return JSONResponse(row)


@router.post("/api/pick-tasks/{package}/shipment", tags=["picking"], responses=ERRORS,
             status_code=201)
def ship(package: Package, body: Shipment, agent: AgentDep, caller: CallerDep) -> JSONResponse:
    """Ship the fully picked package: the reserved units leave the store and ONE
    ``order.shipped`` goes to the hub, which confirms it to Amazon."""
    staff = _staff(caller, body.staff_id)
    with agent.stock.store.write() as tx:
        row, new = picking.ship(tx, _node(agent), package, body.carrier, body.tracking_number,
                                agent.stock.clock(), staff)
    if new:
        agent.stock.on_write("stock.move", package)
    return JSONResponse(row, status_code=201 if new else 200)


@router.post("/api/pick-tasks/{package}/give-back", tags=["picking"], responses=ERRORS)
def give_back(package: Package, body: GiveBack, agent: AgentDep,
              caller: CallerDep) -> JSONResponse:
    """The store cannot fill the package: its reservation is released and the hub routes the
    order again."""
    staff = _staff(caller, body.staff_id)
    with agent.stock.store.write() as tx:
        row = picking.give_back(tx, _node(agent), package, body.reason, agent.stock.clock(),
                                staff)
    agent.stock.on_write("stock.move", package)
    return JSONResponse(row)


class PrinterUnavailable(Conflict):
    """The receipt printer cannot print now (503)."""

    status_code = 503


PRINT_WAIT = 20.0


@router.post("/api/pick-tasks/{package}/print", tags=["picking"], responses=ERRORS,
             dependencies=GUARD)
async def print_slips(package: Package, agent: AgentDep) -> JSONResponse:
    """Print the pick list and the packing slip in the task's language (the store's) on the
    receipt printer; 503 saying why when there is none or it cannot print."""
    with agent.stock.store.read() as tx:
        row = picking.task(tx, package)
    printed = []
    for name, page in (("pick_list", pick_slips.pick_list(row)),
                       ("packing_slip", pick_slips.packing_slip(row))):
        try:
            await run_in_threadpool(agent.printing.print_now, partial(pick_slips.render, page),
                                    PRINT_WAIT)
        except (RuntimeError, TimeoutError) as err:
            raise PrinterUnavailable(f"the {name.replace('_', ' ')} did not print: "
                                     f"{err or 'the printer did not answer'}",
                                     field="printer") from err
        printed.append(name)
    return JSONResponse({"package_id": package, "printed": printed})
