"""Self-test routes for the counter page and ``acorn-edge selftest``.

    GET  /api/selftest     the last report, and why returns are refused now (the clock), if so
    POST /api/selftest     run it now: hub, broker, clock, disk, a test scan (the counter page
                           says "scan any barcode"), the store ready page, POS       -> 200

Both are guarded like the counter's routes (``edge_agent.web.auth``); 409 while a run is going.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from edge_agent.selftest.report import SelfTestReport
from edge_agent.web.api import ERRORS, AgentDep, _json
from edge_agent.web.auth import GUARD

router = APIRouter(tags=["devices"])


class SelfTestIn(BaseModel):
    """What to include in a run."""

    model_config = ConfigDict(extra="forbid")

    scan: bool = Field(True, description="ask for a test scan (waits for it)")
    print_page: bool = Field(True, description="print the store ready page")


class SelfTestOut(BaseModel):
    """The last report and the clock guard."""

    report: SelfTestReport | None
    refusal: str | None = Field(description="why returns are refused now (null: they are not)")
    clock_offset_limit_seconds: float


def _out(agent: AgentDep, report: SelfTestReport | None) -> Response:
    return _json(SelfTestOut(report=report, refusal=agent.selftest.refusal(),
                             clock_offset_limit_seconds=agent.settings.clock_offset_limit_seconds))


@router.get("/api/selftest", response_model=SelfTestOut, responses=ERRORS, dependencies=GUARD)
def last_selftest(agent: AgentDep) -> Response:
    """The last self-test report (null before the first run) and the clock guard."""
    return _out(agent, agent.selftest.last())


@router.post("/api/selftest", response_model=SelfTestOut, responses=ERRORS, dependencies=GUARD)
def run_selftest(agent: AgentDep, body: SelfTestIn | None = None) -> Response:
    """Run the self-test now and answer its report (it is also sent to the hub)."""
    asked = body or SelfTestIn()
    return _out(agent, agent.selftest.run(scan=asked.scan, print_page=asked.print_page))
