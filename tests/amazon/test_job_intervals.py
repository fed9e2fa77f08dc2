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


def test_the_scheduler_names_the_runners_jobs_without_importing_it() -> None:
    # the scheduler loads the runner (SP-API, pyarrow) only for a run with an account: it names
    # the jobs itself, and they must be exactly the runner's
    from hub.amazon.sync import scheduler

    assert tuple(JOBS) == scheduler.JOBS
