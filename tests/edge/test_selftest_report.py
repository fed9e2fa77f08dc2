"""The self-test's pure part, by tables: the offset from a round trip, the clock and disk
checks, the verdict, and the clock guard's sentence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge_agent.selftest.report import (
    CheckResult,
    clock_check,
    clock_refusal,
    disk_check,
    offset_of,
    summarise,
)

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("hub_at", "trip", "offset"), [
    (T0 + timedelta(seconds=1), 2.0, 0.0),      # the hub answered halfway: in step
    (T0 - timedelta(seconds=299), 2.0, 300.0),  # the hub is behind: we are ahead
    (T0 + timedelta(seconds=61), 2.0, -60.0),   # the hub is ahead: we are behind
])
def test_the_offset_takes_the_hub_s_time_as_ours_halfway(hub_at: datetime, trip: float,
                                                           offset: float) -> None:
    assert offset_of(T0, hub_at, T0 + timedelta(seconds=trip)) == pytest.approx(offset)


@pytest.mark.parametrize(("offset", "outcome", "refused"), [
    (None, "skip", False), (0.0, "pass", False), (120.0, "pass", False),
    (-120.0, "pass", False), (120.5, "fail", True), (-3600.0, "fail", True),
])
def test_the_clock_check_and_the_guard_agree(offset: float | None, outcome: str,
                                            refused: bool) -> None:
    assert clock_check(offset, 120.0, "not measured").outcome == outcome
    assert (clock_refusal(offset, 120.0) is not None) is refused


def test_the_guard_says_which_way_and_what_to_do() -> None:
    assert "300 s behind the hub's" in (clock_refusal(-300.0, 120.0) or "")
    assert "run the self-test again" in (clock_refusal(300.0, 120.0) or "")


@pytest.mark.parametrize(("free", "outcome"), [(0, "fail"), (499, "fail"), (500, "pass")])
def test_the_disk_check_wants_the_minimum_free(free: int, outcome: str) -> None:
    assert disk_check(free, 500).outcome == outcome


def test_skipped_checks_do_not_fail_the_report_and_checks_keep_their_order() -> None:
    results = [CheckResult(name="printer", outcome="skip", detail="none"),
               CheckResult(name="hub", outcome="pass", detail="ok")]
    report = summarise(results, T0, 0.2, 10)
    assert report.passed and [c.name for c in report.checks] == ["hub", "printer"]
    failed = summarise([*results, CheckResult(name="disk", outcome="fail", detail="full")],
                       T0, None, 1)
    assert not failed.passed and failed.failing == ["disk"]
