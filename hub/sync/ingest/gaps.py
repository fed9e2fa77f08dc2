"""Nodes waiting for a missing seq: counted every batch, said in the log now and then.

In a storm every node may have a gap in every batch; one WARNING per node per batch wrote up to
88,698 lines in one run (issue 16). The count goes to ``acorn_hub_seq_gap_waits`` instead.

Rules:
- at most one WARNING per ``every`` seconds, naming how many nodes wait and a few of them;
- pure apart from the injected clock: ``report`` says what to log, the writer logs it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Key = tuple[str, str]
EVERY_SECONDS = 10.0
NAMED = 5


@dataclass(frozen=True)
class Waiting:
    """One node whose stream stops at a gap: stored up to ``contiguous``, held to ``highest``."""

    key: Key
    contiguous: int
    highest: int


class GapLog:
    """Decides when the waiting nodes are worth a log line."""

    def __init__(
        self, every: float = EVERY_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._every = every
        self._clock = clock
        self._next_at: float | None = None
        self._since = 0  # node-batches waiting since the last line

    def report(self, waiting: Sequence[Waiting]) -> str | None:
        """The line to log for this batch's waiting nodes, or None (counted, not said)."""
        if not waiting:
            return None
        self._since += len(waiting)
        now = self._clock()
        if self._next_at is not None and now < self._next_at:
            return None
        self._next_at = now + self._every
        named = ", ".join(
            f"{w.key[0]}/{w.key[1]} (stored to {w.contiguous}, holding to "
            f"{w.highest}, waiting for {w.contiguous + 1})"
            for w in waiting[:NAMED]
        )
        more = f" and {len(waiting) - NAMED} more" if len(waiting) > NAMED else ""
        line = (
            f"{len(waiting)} node(s) wait for a missing seq: {named}{more}; "
            f"{self._since} node-batches waited since the last such line "
            "(acorn_hub_seq_gap_waits counts them)"
        )
        self._since = 0
        return line
