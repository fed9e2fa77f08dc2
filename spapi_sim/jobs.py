"""A board of reports or feeds being processed, advancing them through `lifecycle`.

The board owns the jobs and observes them when they are read; a job that finishes processing is
handed to the `finish` callback given at construction, which produces its document (or fails
it). `observe_all` lets feeds finish, with their side effects, even when nobody polls them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from spapi_sim.errors import InvalidInput
from spapi_sim.lifecycle import FINAL, Job, Pace, advance, cancel, polled

Finish = Callable[[Job], Job]


class JobBoard:
    """Jobs of one kind (reports or feeds), keyed by id and visible only to their seller."""

    def __init__(self, pace: Pace, finish: Finish) -> None:
        self._pace = pace
        self._finish = finish
        self._jobs: dict[str, Job] = {}

    def add(self, job: Job) -> None:
        """Start tracking a new job."""
        self._jobs[job.job_id] = job

    def _observe(self, job: Job, now: datetime) -> Job:
        job, finished = advance(job, now, self._pace)
        if finished:
            job = self._finish(job)
        self._jobs[job.job_id] = job
        return job

    def get(self, seller_id: str, job_id: str, now: datetime, *, poll: bool = False) -> Job | None:
        """The seller's job at `now`; a poll also counts towards poll-driven progress."""
        job = self._jobs.get(job_id)
        if job is None or job.seller_id != seller_id:
            return None
        return self._observe(polled(job) if poll else job, now)

    def of_seller(self, seller_id: str, now: datetime) -> list[Job]:
        """All of the seller's jobs at `now`, newest first."""
        mine = [j for j in self._jobs.values() if j.seller_id == seller_id]
        jobs = [self._observe(j, now) for j in mine]
        return sorted(jobs, key=lambda j: (j.created, j.job_id), reverse=True)

    def observe_all(self, now: datetime) -> None:
        """Advance every unfinished job (so feeds take effect without being polled)."""
        for job in [j for j in self._jobs.values() if j.status not in FINAL]:
            self._observe(job, now)

    def cancel(self, seller_id: str, job_id: str, now: datetime) -> Job | None:
        """Cancel an IN_QUEUE job; None when unknown, InvalidInput when past IN_QUEUE."""
        job = self.get(seller_id, job_id, now)
        if job is None:
            return None
        cancelled = cancel(job)
        if cancelled is None:
            raise InvalidInput(f"{job_id} cannot be cancelled: it is {job.status}, "
                               "and only IN_QUEUE can be cancelled.")
        self._jobs[job_id] = cancelled
        return cancelled
