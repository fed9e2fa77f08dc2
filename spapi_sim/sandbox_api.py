"""The static sandbox's HTTP face: `/sandbox/<SP-API path>`, on the same port.

Amazon serves its sandbox on separate hosts (`sandbox.sellingpartnerapi-<region>...`) with the
production paths; the simulator serves it under the `/sandbox` prefix, so pointing a client's
endpoint at `<base>/sandbox` reaches it. Calls need a valid access token and share the
sandbox's own usage plan (5 requests/s, burst 15, times `rate_factor`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import Headers

from spapi_sim.errors import InvalidInput, Unauthorized
from spapi_sim.jsonio import AmazonJSONResponse
from spapi_sim.operations import SANDBOX
from spapi_sim.sandbox import SandboxRequest
from spapi_sim.web import admit, simulator_of

router = APIRouter(tags=["Static sandbox"])


# Not in the OpenAPI page: one catch-all route for every model operation and method.
@router.api_route("/sandbox/{path:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
                  include_in_schema=False)
async def sandbox(path: str, request: Request) -> Response:
    """Answer a request with the model example it matches."""
    admit(request, SANDBOX)
    sim = simulator_of(request)
    if sim.sandbox is None:
        raise Unauthorized("The static sandbox is not loaded: start the simulator with a "
                           "models directory.")
    routed = sim.sandbox.route(request.method, "/" + path)
    if routed is None:
        raise Unauthorized("No operation of the loaded models serves this path.")
    operation, path_values = routed
    example = sim.sandbox.answer(operation, SandboxRequest(
        path_values, request.query_params, Headers(scope=request.scope), await request.body()))
    if example is None:
        raise InvalidInput("Could not match input arguments", details=None)
    if not example.has_response or example.status == 204:
        return Response(status_code=example.status)
    return AmazonJSONResponse(example.response, status_code=example.status)
