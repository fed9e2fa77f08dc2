"""Check results and the self-test report (pure, no I/O)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

CheckName = Literal["hub", "broker", "clock", "disk", "scanner", "printer", "pos"]
CHECK_ORDER: tuple[CheckName, ...] = ("hub", "broker", "clock", "disk", "scanner", "printer",
                                      "pos")
Outcome = Literal["pass", "fail", "skip"]
# what probing the POS terminal found (``checks.probe_pos``); the counter page has words for each
PosState = Literal["reachable", "refused", "timed_out", "unreachable", "unhealthy"]


class CheckResult(BaseModel):
    """One check: what it found, in a sentence."""

    name: CheckName
    outcome: Outcome
    detail: str = Field(description="what was found, for a person")
    code: PosState | None = Field(None, description=(
        "what was found, for the page's words (the pos check, when its address is set)"))


class SelfTestReport(BaseModel):
    """One run of the self-test."""

    at: datetime
    passed: bool = Field(description="no check failed (skipped ones do not count)")
    checks: list[CheckResult]
    clock_offset_seconds: float | None = Field(
        None, description="this node's clock minus the hub's (None: not measured this time)")
    disk_free_bytes: int | None = None

    def code_of(self, name: str) -> str | None:
        """The ``code`` of the check named ``name`` (None: not run, or it has none)."""
        return next((c.code for c in self.checks if c.name == name), None)

    @property
    def failing(self) -> list[str]:
        """The names of the checks that failed."""
        return [c.name for c in self.checks if c.outcome == "fail"]


def summarise(results: list[CheckResult], at: datetime, clock_offset: float | None,
              disk_free: int | None) -> SelfTestReport:
    """The report of one run, its checks in ``CHECK_ORDER``."""
    ordered = sorted(results, key=lambda r: CHECK_ORDER.index(r.name))
    return SelfTestReport(at=at, passed=all(r.outcome != "fail" for r in ordered),
                          checks=ordered, clock_offset_seconds=clock_offset,
                          disk_free_bytes=disk_free)


def offset_of(sent: datetime, hub_time: datetime, received: datetime) -> float:
    """Our clock minus the hub's: the hub's time is taken to be our time halfway through."""
    middle = sent + (received - sent) / 2
    return (middle - hub_time).total_seconds()


def clock_check(offset: float | None, limit: float, why_unknown: str) -> CheckResult:
    """Pass within ``limit`` seconds either way; skip when it could not be measured."""
    if offset is None:
        return CheckResult(name="clock", outcome="skip", detail=why_unknown)
    way = "ahead of" if offset > 0 else "behind"
    said = f"{abs(offset):.1f} s {way} the hub"
    if abs(offset) > limit:
        return CheckResult(name="clock", outcome="fail", detail=(
            f"this node's clock is {said} (limit {limit:g} s): fix the time (NTP) and test again"))
    return CheckResult(name="clock", outcome="pass", detail=f"{said} (limit {limit:g} s)")


def disk_check(free: int, minimum: int) -> CheckResult:
    """Pass when the data folder has at least ``minimum`` bytes free."""
    said = f"{free / 1e9:.2f} GB free"
    if free < minimum:
        return CheckResult(name="disk", outcome="fail", detail=(
            f"only {said} in the data folder (at least {minimum / 1e9:.2f} GB wanted)"))
    return CheckResult(name="disk", outcome="pass", detail=said)


def clock_refusal(offset: float | None, limit: float) -> str | None:
    """Why returns may not be recorded now (the clock is off past ``limit``), or None."""
    if offset is None or abs(offset) <= limit:
        return None
    way = "ahead of" if offset > 0 else "behind"
    return (f"This node's clock is {abs(offset):.0f} s {way} the hub's (limit {limit:g} s), so "
            "returns are not recorded: their times would be wrong. Fix the clock, then run the "
            "self-test again.")
