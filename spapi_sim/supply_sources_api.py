"""Supply Sources 2020-07-01 over HTTP: the six operations on the seller's own sources.

Every call is gated (token, then the operation's bucket, `spapi_sim.operations`); bodies are
checked by `spapi_sim.supply_sources` and, with the simulator started with `store_models_dir`,
against the model's definitions too. Successful changes answer 204 with no body, creation 200
with the `CreateSupplySourceResponse`, as the model says.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from spapi_sim.errors import InvalidInput
from spapi_sim.jsonio import AmazonJSONResponse
from spapi_sim.params import int_param, json_body, one
from spapi_sim.supply_sources import (
    PAGE_DEFAULT,
    PAGE_MAX,
    check_create,
    check_status,
    check_update,
    source_json,
)
from spapi_sim.web import Call, gate, reply

router = APIRouter(tags=["Supply Sources 2020-07-01"])
BASE = "/supplySources/2020-07-01/supplySources"
ONE = BASE + "/{supply_source_id}"


async def _body(request: Request, call: Call, definition: str,
                check: Any) -> dict[str, Any]:
    body = await json_body(request)
    problem = check(body)
    if problem is None and call.sim.supply_schema is not None:
        problem = call.sim.supply_schema(definition, body)
    if problem is not None:
        raise InvalidInput("Invalid Input", problem)
    return body


@router.get(BASE)
async def get_supply_sources(
        request: Request,
        call: Annotated[Call, Depends(gate("getSupplySources"))]) -> AmazonJSONResponse:
    """One page of the seller's supply sources."""
    size = int_param(request.query_params, "pageSize", PAGE_DEFAULT, 1, PAGE_MAX)
    token = one(request.query_params, "nextPageToken")
    return reply(call.sim.supply_sources.page(call.seller_id, size, token))


@router.post(BASE)
async def create_supply_source(
        request: Request,
        call: Annotated[Call, Depends(gate("createSupplySource"))]) -> AmazonJSONResponse:
    """Create a supply source from a code, an alias and an address."""
    body = await _body(request, call, "CreateSupplySourceRequest", check_create)
    source = call.sim.supply_sources.create(call.seller_id, body, call.now)
    return reply({"supplySourceId": source.supply_source_id, "supplySourceCode": source.code})


@router.get(ONE)
async def get_supply_source(
        supply_source_id: str,
        call: Annotated[Call, Depends(gate("getSupplySource"))]) -> AmazonJSONResponse:
    """One supply source with its configuration and capabilities."""
    return reply(source_json(call.sim.supply_sources.get(call.seller_id, supply_source_id)))


@router.put(ONE)
async def update_supply_source(
        supply_source_id: str, request: Request,
        call: Annotated[Call, Depends(gate("updateSupplySource"))]) -> Response:
    """Update the alias, configuration and capabilities."""
    body = await _body(request, call, "UpdateSupplySourceRequest", check_update)
    call.sim.supply_sources.update(call.seller_id, supply_source_id, body, call.now)
    return Response(status_code=204)


@router.put(ONE + "/status")
async def update_supply_source_status(
        supply_source_id: str, request: Request,
        call: Annotated[Call, Depends(gate("updateSupplySourceStatus"))]) -> Response:
    """Make a supply source Active or Inactive."""
    body = await _body(request, call, "UpdateSupplySourceStatusRequest", check_status)
    call.sim.supply_sources.set_status(call.seller_id, supply_source_id, body["status"],
                                       call.now)
    return Response(status_code=204)


@router.delete(ONE)
async def archive_supply_source(
        supply_source_id: str,
        call: Annotated[Call, Depends(gate("archiveSupplySource"))]) -> Response:
    """Archive a supply source (cannot be undone)."""
    call.sim.supply_sources.archive(call.seller_id, supply_source_id, call.now)
    return Response(status_code=204)
