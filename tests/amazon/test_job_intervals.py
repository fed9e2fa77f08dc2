"""Every job the hub's Amazon scheduler runs has its interval setting (a job without one crashed
the scheduler's thread at its first turn)."""

from __future__ import annotations

from hub.amazon.settings import load_amazon_settings
from hub.amazon.sync.runner import JOBS


def test_every_scheduled_job_has_an_interval() -> None:
    settings = load_amazon_settings()
    intervals = {job: settings.interval(job) for job in JOBS}
    assert all(seconds > 0 for seconds in intervals.values()), intervals
    assert "supply-sources" in intervals
