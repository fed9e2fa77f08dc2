"""The scanner seam: line sources, one supervisor per scanner, and its typed status.

Rules:

- A scanner is a ``LineSource``: ``read_line(timeout)`` returns one scanned line (without its
  terminator), or None when nothing arrived in time; it raises ``ScannerUnavailable`` when the
  device went away and ``ScannerError`` for other failures. ``close()`` releases the device.
  Serial, HID, text-stream and in-memory sources implement it; so can anything else.
- A ``ScannerSupervisor`` owns one source at a time and nobody else touches it: it opens the
  source through an opener, reads in its own thread, hands each line to ``on_scan`` and publishes
  a ``ScannerStatus`` to ``on_status`` whenever the state or the error changes. When the source
  fails it closes it, waits (exponential backoff) and opens it again, until ``stop()``.
- Callbacks run on the supervisor's thread and must be quick (put the line on a queue). An
  exception from a callback, or an unexpected one from a source, is logged with its traceback and
  does not stop the supervisor: a faulty handler must not take the counter's scanner away.
- ``stop()`` joins the thread; a stopped supervisor can be started again.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import TracebackType
from typing import Protocol

from hardware.errors import ScannerError, ScannerUnavailable

log = logging.getLogger(__name__)


class LineSource(Protocol):
    """A scanner that yields scanned lines; the one seam all scanners share."""

    def read_line(self, timeout: float) -> str | None:
        """One line, or None if nothing arrived within ``timeout`` seconds."""
        ...

    def close(self) -> None:
        """Release the device; safe to call twice."""
        ...


SourceOpener = Callable[[], LineSource]


class ScannerState(StrEnum):
    """Where a supervised scanner stands."""

    STARTING = "starting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    ERROR = "error"
    STOPPED = "stopped"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ScannerStatus:
    """A snapshot of one scanner's state, for the counter screen and health checks."""

    source: str
    state: ScannerState
    last_error: str | None = None
    changed_at: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class Backoff:
    """Delays between reconnect attempts: ``initial`` doubling up to ``maximum`` seconds."""

    initial: float = 0.2
    maximum: float = 5.0
    factor: float = 2.0

    def delay(self, attempt: int) -> float:
        """The wait before reconnect attempt number ``attempt`` (0-based)."""
        return float(min(self.maximum, self.initial * self.factor ** min(attempt, 32)))


class ScannerSupervisor:
    """Owns one scanner source: reads it on a thread, reconnects, publishes status."""

    def __init__(
        self,
        opener: SourceOpener,
        on_scan: Callable[[str], None],
        on_status: Callable[[ScannerStatus], None] | None = None,
        *,
        name: str = "scanner",
        backoff: Backoff | None = None,
        poll_interval: float = 0.2,
    ) -> None:
        self._opener = opener
        self._on_scan = on_scan
        self._on_status = on_status
        self._name = name
        self._backoff = backoff or Backoff()
        self._poll = poll_interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._status = ScannerStatus(name, ScannerState.STOPPED)
        self._failures = 0

    @property
    def status(self) -> ScannerStatus:
        """The latest status snapshot."""
        with self._lock:
            return self._status

    def start(self) -> None:
        """Start the reader thread; a no-op if it is running."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"acorn-{self._name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop reading, close the source and join the thread."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        thread.join(timeout)
        if thread.is_alive():
            raise ScannerError(f"{self._name}: reader thread did not stop within {timeout} s")

    def __enter__(self) -> ScannerSupervisor:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        self._publish(ScannerState.STARTING, None)
        while not self._stopping.is_set():
            source = self._open()
            if source is None:
                continue
            try:
                self._pump(source)
            finally:
                source.close()
        self._publish(ScannerState.STOPPED, None)

    def _open(self) -> LineSource | None:
        try:
            source = self._opener()
        except Exception as err:  # the supervisor must survive: see module rules
            self._failed(err)
            return None
        self._failures = 0
        self._publish(ScannerState.CONNECTED, None)
        return source

    def _pump(self, source: LineSource) -> None:
        while not self._stopping.is_set():
            try:
                line = source.read_line(self._poll)
            except Exception as err:  # see module rules
                self._failed(err)
                return
            if line is not None:
                self._deliver(line)

    def _failed(self, err: Exception) -> None:
        if isinstance(err, ScannerUnavailable):
            self._publish(ScannerState.DISCONNECTED, str(err))
        elif isinstance(err, ScannerError):
            self._publish(ScannerState.ERROR, str(err))
        else:
            log.exception("%s: unexpected scanner failure", self._name)
            self._publish(ScannerState.ERROR, f"{type(err).__name__}: {err}")
        self._stopping.wait(self._backoff.delay(self._failures))
        self._failures += 1

    def _deliver(self, line: str) -> None:
        try:
            self._on_scan(line)
        except Exception:  # see module rules
            log.exception("%s: scan callback failed for %r", self._name, line)

    def _publish(self, state: ScannerState, error: str | None) -> None:
        with self._lock:
            if (self._status.state, self._status.last_error) == (state, error):
                return
            self._status = ScannerStatus(self._name, state, error)
            status = self._status
        if self._on_status is not None:
            try:
                self._on_status(status)
            except Exception:  # see module rules
                log.exception("%s: status callback failed", self._name)


class MemoryLineSource:
    """An in-memory scanner for tests and hardware-free runs: push lines, unplug, replug."""

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self._lines: queue.Queue[str] = queue.Queue()
        self._plugged = threading.Event()
        self._plugged.set()

    def open(self) -> MemoryLineSource:
        """Use as the supervisor's opener; fails while unplugged."""
        if not self._plugged.is_set():
            raise ScannerUnavailable(f"{self.name}: unplugged")
        return self

    def push(self, line: str) -> None:
        """Queue one scanned line."""
        self._lines.put(line)

    def unplug(self) -> None:
        """Make reads and opens fail as if the cable was pulled."""
        self._plugged.clear()

    def replug(self) -> None:
        """Undo ``unplug``."""
        self._plugged.set()

    def read_line(self, timeout: float) -> str | None:
        """The next pushed line, or None after ``timeout``."""
        if not self._plugged.is_set():
            raise ScannerUnavailable(f"{self.name}: unplugged")
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        """Nothing to release."""
