"""The local HTTP API of the public surface, and the one place errors become HTTP answers.

Routes (default ``http://127.0.0.1:8081``)::

    GET  /api/health                         identity, broker connection, outbox figures
    POST /api/scans                          {code} -> expected return / existing return / unknown
    POST /api/returns                        record a return (+ refund request)      -> 201
    GET  /api/returns?limit=&offset=         recent returns, newest first
    GET  /api/returns/{id}                   one return with QC, disposition, refund decision
                                             and where the refund's money is (``payment``)
    POST /api/returns/{id}/inspection        QC result                               -> 201
    POST /api/returns/{id}/disposition       disposition (only after QC)             -> 201
    GET  /api/options                        the choices of the counter page's forms
    GET  /metrics                            Prometheus text format

Every route but health and metrics is guarded by ``edge_agent.web.auth``: once the store's config
names staff, a staff session (``POST /api/session``) or a POS API key (``Authorization: Bearer``)
is needed; before that, only this machine (loopback) may call them unless the LAN is allowed. A
signed-in member of staff is recorded as ``staff_id`` / ``inspected_by`` / ``decided_by`` (naming
someone else is 403). ``approve_offline`` on a return: see ``edge_agent.web.auth`` and the field.

Error answers, always: ``{"detail": [{"field": "items.0.unit_price.amount" | null, "message": …}]}``
with 400 (unreadable body), 401 (sign in: ``session``, or a bad ``authorization``), 403 (not
allowed: ``client``, ``approve_offline`` or an impersonated staff field), 404 (no such return or
route), 409 (state machine, duplicate RMA, offline refund above the limit: ``amount``; the
clock guard: while the last self-test found this node's clock off the hub's past
``CLOCK_OFFSET_LIMIT_SECONDS``, returns, inspections and dispositions are refused), 413 (body
too large), 422 (a field is wrong, named by its dotted path without the ``body.`` prefix), 429
(too many wrong PINs), 507 (the store's disk is full: nothing was written, everything recorded
before is kept; health says "disk full" until a write succeeds again), 500 (never with a
traceback; the log has it under the reference given). A refused request writes nothing.
``GET /api/health`` says ``status: degraded`` with ``problems`` (what happened to the store's
data and what to run) while the store's database is damaged, quarantined or its disk is full,
and while the broker refuses this node's identity (``broker_refused``).
"""

from __future__ import annotations

import logging
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from edge_agent.agent import Agent
from edge_agent.errors import RequestError, TooManyAttempts
from edge_agent.metrics import CONTENT_TYPE
from edge_agent.returns.models import (
    DispositionRequest,
    ErrorBody,
    Health,
    InspectionRequest,
    ReturnPage,
    ReturnRequest,
    ReturnView,
    ScanRequest,
    ScanResult,
)
from edge_agent.web.auth import GUARD, Caller, CallerDep, may_approve_offline, stamp
from edge_agent.web.idempotency import IDEMPOTENT, Replayed, document, replay

log = logging.getLogger(__name__)


async def _agent(request: Request) -> Agent:
    # async: a plain lookup must not cost a hop through the thread pool on every request
    agent: Agent = request.app.state.agent
    return agent


AgentDep = Annotated[Agent, Depends(_agent)]
# Past this an OFFSET is no page anyone reads, and SQLite's integers end at 2^63 - 1 (a larger
# one was a 500): 422 naming ``offset`` instead.
MAX_OFFSET = 10_000_000
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody} for status in (400, 401, 403, 404, 409, 413, 422, 507)}

router = APIRouter()


@router.get("/api/health", response_model=Health)
def health(agent: AgentDep) -> Health:
    """Store and node id, broker connection, outbox depth, last hub-acked seq, version."""
    return agent.health()


@router.post("/api/scans", response_model=ScanResult, responses=ERRORS, dependencies=GUARD)
def scan(body: ScanRequest, agent: AgentDep) -> Response:
    """Match a scanned code against existing returns and cached RMAs (works offline)."""
    return _json(agent.counter.scan(body.code))


@router.post("/api/returns", response_model=ReturnView, status_code=201, responses=ERRORS,
             dependencies=IDEMPOTENT)
async def record_return(body: ReturnRequest, agent: AgentDep, caller: CallerDep) -> Response:
    """Record a return (and its refund request), durably, before answering; with
    ``approve_offline`` a signed-in store manager pays the refund out while the hub is away."""
    # Runs on the event loop: one SQLite transaction (about a millisecond, fsync included) is
    # cheaper than two thread hops, and writes are serialised by the store's lock anyway.
    agent.selftest.guard()
    body = body.model_copy(update={"staff_id": stamp(caller, body.staff_id, "staff_id")})
    approver = offline_approver(caller, body.approve_offline, agent)
    return _json(agent.counter.record_return(body, approved_by=approver), 201)


def offline_approver(caller: Caller, asked: bool, agent: Agent) -> str | None:
    """The manager approving a refund offline when ``asked`` (403/409 if they may not now)."""
    return may_approve_offline(caller, agent.link_up) if asked else None


@router.get("/api/returns", response_model=ReturnPage, responses=ERRORS, dependencies=GUARD)
def list_returns(agent: AgentDep, limit: Annotated[int, Query(ge=1, le=200)] = 50,
                 offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> Response:
    """Recent returns, newest first; follow ``next_offset`` for more."""
    return _json(agent.counter.list_returns(limit, offset))


@router.get("/api/returns/{return_id}", response_model=ReturnView, responses=ERRORS,
            dependencies=GUARD)
def get_return(return_id: str, agent: AgentDep) -> Response:
    """One return with items, inspection, disposition, refund, the hub's decision and where the
    refund's money is (``refund.payment``: submitted, confirmed, settled or failed, or null)."""
    return _json(agent.counter.get_return(return_id))


@router.post("/api/returns/{return_id}/inspection", response_model=ReturnView, status_code=201,
             responses=ERRORS, dependencies=IDEMPOTENT)
def record_inspection(return_id: str, body: InspectionRequest, agent: AgentDep,
                      caller: CallerDep) -> Response:
    """Record the QC result of a received return."""
    agent.selftest.guard()
    by = stamp(caller, body.inspected_by, "inspected_by")
    return _json(agent.counter.record_inspection(
        return_id, body.model_copy(update={"inspected_by": by})), 201)


@router.post("/api/returns/{return_id}/disposition", response_model=ReturnView, status_code=201,
             responses=ERRORS, dependencies=IDEMPOTENT)
def record_disposition(return_id: str, body: DispositionRequest, agent: AgentDep,
                       caller: CallerDep) -> Response:
    """Record the disposition of an inspected return."""
    agent.selftest.guard()
    by = stamp(caller, body.decided_by, "decided_by")
    return _json(agent.counter.record_disposition(
        return_id, body.model_copy(update={"decided_by": by})), 201)


@router.get("/metrics", response_class=Response)
def metrics(agent: AgentDep) -> Response:
    """Prometheus metrics."""
    return Response(agent.metrics.render(), media_type=CONTENT_TYPE)


def _json(model: BaseModel, status: int = 200) -> Response:
    """The model as JSON; already validated, so FastAPI's second validation is skipped."""
    return Response(model.model_dump_json(), status_code=status, media_type="application/json")


def _answer(status: int, items: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse({"detail": items}, status_code=status)


def _field(loc: tuple[Any, ...] | list[Any]) -> str | None:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] or [parts[0]]
    return ".".join(str(part) for part in parts) or None


async def _invalid(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = list(exc.errors())
    if any(problem.get("type") == "json_invalid" for problem in problems):
        return _answer(400, [{"field": "body", "message": "the body is not valid JSON"}])
    return _answer(422, [{"field": _field(problem.get("loc", ())),
                          "message": str(problem.get("msg", "invalid")).removeprefix(
                              "Value error, ")} for problem in problems])


async def _refused(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestError)
    answer = _answer(exc.status_code, [{"field": exc.field, "message": exc.message}])
    if isinstance(exc, TooManyAttempts):
        answer.headers["Retry-After"] = str(exc.retry_after)
    return answer


async def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return _answer(exc.status_code, [{"field": None, "message": str(exc.detail)}])


async def _crashed(request: Request, exc: Exception) -> JSONResponse:
    reference = secrets.token_hex(4)
    log.error("unhandled error on %s %s (ref %s)", request.method, request.url.path, reference,
              exc_info=exc, extra={"ref": reference})
    return _answer(500, [{"field": None,
                          "message": f"internal error; see the agent log, reference {reference}"}])


def install(app: FastAPI) -> None:
    """Add the routes and the error translation to ``app``."""
    app.include_router(router)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(RequestError, _refused)
    app.add_exception_handler(Replayed, replay)
    document(app)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _crashed)
