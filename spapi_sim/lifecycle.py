"""The report and feed processing lifecycle, as pure functions over a frozen `Job`.

    IN_QUEUE ──step──> IN_PROGRESS ──step──> DONE (with a document) | FATAL (without)
        └── cancel ──> CANCELLED        (only from IN_QUEUE, as Amazon allows)

A step happens every `Pace.step_seconds` of simulated time or every `Pace.step_polls` polls of
that job (getReport / getFeed), whichever comes first, so clients that poll fast finish fast and
clients that wait still see progress. Transition times are the moment the step became due.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum


class Status(StrEnum):
    """processingStatus values of the Reports and Feeds APIs."""

    IN_QUEUE = "IN_QUEUE"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    FATAL = "FATAL"
    CANCELLED = "CANCELLED"


FINAL = frozenset({Status.DONE, Status.FATAL, Status.CANCELLED})


@dataclass(frozen=True, slots=True)
class Pace:
    """How fast jobs advance."""

    step_seconds: float
    step_polls: int


@dataclass(frozen=True, slots=True)
class Job:
    """A report or feed being processed; `job_type` is its reportType or feedType."""

    job_id: str
    seller_id: str
    job_type: str
    marketplace_ids: tuple[str, ...]
    created: datetime
    data_start: datetime | None = None
    data_end: datetime | None = None
    input_document_id: str | None = None
    status: Status = Status.IN_QUEUE
    polls: int = 0
    started: datetime | None = None
    finished: datetime | None = None
    document_id: str | None = None


def steps_due(job: Job, now: datetime, pace: Pace) -> int:
    """How many steps (0, 1 or 2) the job has earned by time or by polls."""
    elapsed = (now - job.created).total_seconds()
    by_time = int(elapsed // pace.step_seconds)
    return min(2, max(by_time, job.polls // pace.step_polls))


def _due_at(job: Job, step: int, now: datetime, pace: Pace) -> datetime:
    return min(now, job.created + timedelta(seconds=step * pace.step_seconds))


def advance(job: Job, now: datetime, pace: Pace) -> tuple[Job, bool]:
    """The job at `now`, and True when it has just finished processing.

    A job that just finished stays IN_PROGRESS with `finished` set; the caller produces its
    outcome and calls `complete` or `fail`.
    """
    if job.status not in (Status.IN_QUEUE, Status.IN_PROGRESS) or job.finished is not None:
        return job, False
    steps = steps_due(job, now, pace)
    if steps == 0:
        return job, False
    started = job.started or _due_at(job, 1, now, pace)
    if steps == 1:
        return replace(job, status=Status.IN_PROGRESS, started=started), False
    finished = max(started, _due_at(job, 2, now, pace))
    return replace(job, status=Status.IN_PROGRESS, started=started, finished=finished), True


def complete(job: Job, document_id: str | None) -> Job:
    """The finished job DONE, with its result document."""
    return replace(job, status=Status.DONE, document_id=document_id)


def fail(job: Job, document_id: str | None = None) -> Job:
    """The finished job FATAL."""
    return replace(job, status=Status.FATAL, document_id=document_id)


def polled(job: Job) -> Job:
    """The job after one more poll."""
    return replace(job, polls=job.polls + 1)


def cancel(job: Job) -> Job | None:
    """The job CANCELLED, or None when it is past IN_QUEUE."""
    if job.status != Status.IN_QUEUE:
        return None
    return replace(job, status=Status.CANCELLED)
