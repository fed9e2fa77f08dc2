"""The composition root: `create_app(settings)` builds one simulator and its FastAPI app.

Nothing is created at import time. Errors raised anywhere in a route are rendered here, once:
`SimulatorError`s in their own shapes, anything unexpected as Amazon's 500 `InternalFailure`,
and unknown paths as Amazon's 403 `Unauthorized` (SP-API answers unknown resources that way).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from spapi_sim import (
    control_api,
    documents_api,
    feeds_api,
    finances_api,
    listings_api,
    lwa,
    orders_api,
    orders_v0_api,
    reports_api,
    sandbox_api,
    supply_sources_api,
)
from spapi_sim.errors import InvalidInput, SimulatorError, Unauthorized
from spapi_sim.jsonio import AmazonJSONResponse
from spapi_sim.settings import SimulatorSettings
from spapi_sim.simulator import Clock, Simulator, utc_now
from spapi_sim.web import AmazonHeaders

log = logging.getLogger(__name__)


def render_error(error: SimulatorError) -> Response:
    """The response for a simulator error, in the shape its service uses."""
    body = error.body()
    if isinstance(body, str):
        return Response(body, status_code=error.status, media_type="application/xml")
    return AmazonJSONResponse(body, status_code=error.status)


async def _simulator_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, SimulatorError)
    return render_error(error)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code in (404, 405):
        return render_error(Unauthorized())
    return render_error(InvalidInput(str(error.detail)))


async def _validation_error(request: Request, error: Exception) -> Response:
    return render_error(InvalidInput("Invalid request parameters.", str(error)))


async def _unexpected(request: Request, error: Exception) -> Response:
    log.exception("simulator failure on %s %s", request.method, request.url.path)
    body = {"errors": [{"code": "InternalFailure",
                        "message": "We encountered an internal error. Please try again."}]}
    return AmazonJSONResponse(body, status_code=500)


def create_app(settings: SimulatorSettings, *, clock: Clock = utc_now) -> FastAPI:
    """A FastAPI app serving a fresh simulator built from `settings`."""
    app = FastAPI(title="ACORN SP-API simulator", version="1",
                  docs_url="/_sim/docs", openapi_url="/_sim/openapi.json", redoc_url=None)
    app.state.simulator = Simulator(settings, clock=clock)
    for module in (lwa, orders_api, orders_v0_api, reports_api, feeds_api, finances_api,
                   listings_api, supply_sources_api, documents_api, sandbox_api, control_api):
        app.include_router(module.router)
    app.add_exception_handler(SimulatorError, _simulator_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(AmazonHeaders)
    return app
