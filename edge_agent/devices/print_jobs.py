"""Rows of ``print_jobs``: the durable queue of receipts and labels, one lane per printer.

States: ``queued → printing → done``, ``printing → queued`` (the printer was not ready; tried
again later) and ``printing → failed`` (the job cannot print: a layout error, or a printer error
``MAX_ATTEMPTS`` times). Rules:
- functions take an open ``Tx`` (the caller owns the transaction) and never commit;
- a lane is served oldest first: a receipt never overtakes the one before it;
- ``attempts`` counts tries that reached the printer; ``last_error`` keeps the latest reason;
- jobs left ``printing`` by a crash are queued again at start (``requeue_interrupted``): a
  receipt printed twice is better than one never printed;
- ``payload`` is the JSON render input (``edge_agent.returns.receipts``);
- printed jobs are kept for reprints and the record for ``PRINT_JOBS_KEEP_DAYS`` and then deleted
  (``purge_printed``); queued and failed jobs are never purged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from edge_agent.storage.store import Tx
from protocol import format_utc

MAX_ATTEMPTS = 5
Lane = Literal["receipt", "label"]
JobKind = Literal["receipt", "label"]


@dataclass(frozen=True)
class Job:
    """One queued print job."""

    id: int
    printer: Lane
    kind: JobKind
    return_id: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class Depth:
    """How many jobs of one lane wait, and the lane's latest error."""

    queued: int
    failed: int
    last_error: str | None


def enqueue(tx: Tx, printer: Lane, kind: JobKind, return_id: str, payload: dict[str, Any],
            now: datetime) -> int:
    """Queue a job; return its id."""
    at = format_utc(now)
    cursor = tx.execute(
        "INSERT INTO print_jobs(printer, kind, return_id, payload, state, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, 'queued', ?, ?)",
        (printer, kind, return_id, json.dumps(payload, ensure_ascii=False), at, at))
    return int(cursor.lastrowid or 0)


def next_job(tx: Tx, printer: Lane) -> Job | None:
    """The oldest queued job of a lane, or None."""
    row = tx.one("SELECT * FROM print_jobs WHERE printer = ? AND state = 'queued' "
                 "ORDER BY id LIMIT 1", (printer,))
    if row is None:
        return None
    return Job(row["id"], row["printer"], row["kind"], row["return_id"],
               json.loads(row["payload"]), row["attempts"])


def _move(tx: Tx, job_id: int, state: str, now: datetime, error: str | None = None,
          tried: bool = False) -> None:
    tx.execute(
        "UPDATE print_jobs SET state = ?, updated_at = ?, attempts = attempts + ?, "
        "last_error = coalesce(?, last_error), "
        "printed_at = CASE WHEN ? = 'done' THEN ? ELSE printed_at END WHERE id = ?",
        (state, format_utc(now), int(tried), error, state, format_utc(now), job_id))


def mark_printing(tx: Tx, job_id: int, now: datetime) -> None:
    """The worker is sending the job."""
    _move(tx, job_id, "printing", now)


def mark_done(tx: Tx, job_id: int, now: datetime) -> None:
    """The printer took the whole job."""
    _move(tx, job_id, "done", now, tried=True)


def mark_retry(tx: Tx, job_id: int, error: str, now: datetime, tried: bool) -> None:
    """Back in the queue: the printer was not ready (``tried``: the job reached it)."""
    _move(tx, job_id, "queued", now, error, tried)


def mark_failed(tx: Tx, job_id: int, error: str, now: datetime) -> None:
    """The job cannot be printed; it stays for the record and for a reprint."""
    _move(tx, job_id, "failed", now, error, tried=True)


def requeue_interrupted(tx: Tx, now: datetime) -> int:
    """Queue again the jobs a crash left ``printing``; return how many."""
    cursor = tx.execute("UPDATE print_jobs SET state = 'queued', updated_at = ? "
                        "WHERE state = 'printing'", (format_utc(now),))
    return int(cursor.rowcount)


def purge_printed(tx: Tx, printer: Lane, before: datetime) -> int:
    """Delete this lane's jobs printed before ``before``; return how many."""
    cursor = tx.execute("DELETE FROM print_jobs WHERE printer = ? AND state = 'done' "
                        "AND printed_at < ?", (printer, format_utc(before)))
    return int(cursor.rowcount)


def depth(tx: Tx, printer: Lane) -> Depth:
    """Waiting and failed jobs of a lane, and why the latest waiting job has not printed yet."""
    counts = dict(tx.execute("SELECT state, count(*) FROM print_jobs WHERE printer = ? "
                             "AND state IN ('queued', 'printing', 'failed') GROUP BY state",
                             (printer,)).fetchall())
    error = tx.scalar("SELECT last_error FROM print_jobs WHERE printer = ? AND state IN "
                      "('queued', 'printing') AND last_error IS NOT NULL "
                      "ORDER BY updated_at DESC, id DESC LIMIT 1", (printer,))
    return Depth(int(counts.get("queued", 0)) + int(counts.get("printing", 0)),
                 int(counts.get("failed", 0)), None if error is None else str(error))


def job_state(tx: Tx, job_id: int) -> str | None:
    """A job's state, or None if there is no such job."""
    value = tx.scalar("SELECT state FROM print_jobs WHERE id = ?", (job_id,))
    return None if value is None else str(value)
