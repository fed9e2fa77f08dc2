"""What a sync job gets to work with: the account, its SP-API door, the database, the tally.

A job is a function ``job(ctx) -> None`` that fetches, stores and tallies; it raises only
``AmazonError`` (or ``HubError`` from the database) and records bad data as problems instead.
``Progress`` is how it reports steps to a progress bar (the CLI's) or to nobody.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Engine

from hub.amazon.accounts import Account
from hub.amazon.settings import AmazonSettings
from hub.amazon.store import Tally

if TYPE_CHECKING:  # the SP-API client loads with the jobs that call it, not with the hub's API
    from hub.amazon.client.gateway import SpApi


class Progress(Protocol):
    """Receives a job's progress."""

    def plan(self, steps: int) -> None:
        """``steps`` more steps are to come."""

    def step(self) -> None:
        """One step is done."""

    def rows(self, count: int) -> None:
        """``count`` more rows were fetched."""


class NoProgress:
    """Progress that goes nowhere."""

    def plan(self, steps: int) -> None:
        """Ignore."""

    def step(self) -> None:
        """Ignore."""

    def rows(self, count: int) -> None:
        """Ignore."""


def utc_now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


@dataclass
class JobContext:
    """One job's run for one account."""

    job: str
    account: Account
    api: SpApi
    engine: Engine
    settings: AmazonSettings
    since: datetime | None = None
    progress: Progress = field(default_factory=NoProgress)
    tally: Tally = field(default_factory=Tally)
    clock: Callable[[], datetime] = utc_now

    def now(self) -> datetime:
        """The current time."""
        return self.clock()

    def counted(self, fetched: int, new: int = 0, updated: int = 0, errors: int = 0) -> None:
        """Add to the tally and tell the progress bar about the rows."""
        self.tally.add(Tally(fetched, new, updated, errors))
        self.progress.rows(fetched)


def iso(moment: datetime) -> str:
    """``2026-01-31T12:00:00Z``: the form SP-API takes (fractions of a second dropped)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def whole_seconds(moment: datetime) -> datetime:
    """``moment`` without its fraction of a second."""
    return moment.replace(microsecond=0)


def parse_iso(text: str) -> datetime:
    """An SP-API timestamp as an aware UTC datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
