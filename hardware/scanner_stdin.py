"""A scanner made of a text stream (stdin, a pipe, a file), for development without hardware.

Rules:

- Each line of the stream is one scan; framing and cleaning are the serial scanner's
  (``LineFramer``: any CR/LF run ends a line, empty lines are dropped).
- A stream with a file descriptor is read with ``select`` and ``os.read``, so ``read_line``
  honours its timeout and the supervisor can stop; one without (``io.StringIO``) is read line by
  line and never blocks.
- The end of the stream is ``ScannerUnavailable("... ended")``: the supervisor then shows the
  scanner as disconnected. The stream itself is never closed by us.
"""

from __future__ import annotations

import io
import os
import select
import sys
from collections import deque
from collections.abc import Callable
from typing import TextIO

from hardware.errors import ScannerUnavailable
from hardware.scanner import Backoff, ScannerStatus, ScannerSupervisor
from hardware.scanner_serial import LineFramer


class StreamLinePort:
    """Lines from a text stream (a ``LineSource``)."""

    def __init__(self, stream: TextIO, name: str = "stdin") -> None:
        self._stream = stream
        self._name = name
        self._fd = _fileno(stream)
        self._framer = LineFramer()
        self._ready: deque[str] = deque()

    def read_line(self, timeout: float) -> str | None:
        """The next non-empty line, or None if none arrived within ``timeout``."""
        while not self._ready:
            lines = self._framer.feed(self._read_chunk(timeout))
            self._ready.extend(line.decode("utf-8", errors="replace") for line in lines)
            if self._fd is not None:
                break  # one select() round per call, so the timeout holds
        return self._ready.popleft() if self._ready else None

    def close(self) -> None:
        """Leave the stream open: it belongs to the caller."""

    def _read_chunk(self, timeout: float) -> bytes:
        if self._fd is None:
            text = self._stream.readline()
            if not text:
                raise ScannerUnavailable(f"{self._name}: stream ended")
            return text.encode("utf-8")
        readable, _, _ = select.select([self._fd], [], [], timeout)
        if not readable:
            return b""
        chunk = os.read(self._fd, 4096)
        if not chunk:
            raise ScannerUnavailable(f"{self._name}: stream ended")
        return chunk


def _fileno(stream: TextIO) -> int | None:
    try:
        return stream.fileno()
    except (OSError, io.UnsupportedOperation):
        return None


def stdin_scanner(
    on_scan: Callable[[str], None],
    on_status: Callable[[ScannerStatus], None] | None = None,
    *,
    stream: TextIO | None = None,
    backoff: Backoff | None = None,
) -> ScannerSupervisor:
    """A supervisor reading scans from ``stream`` (default: standard input)."""
    port = StreamLinePort(stream or sys.stdin)
    return ScannerSupervisor(lambda: port, on_scan, on_status, name="stdin", backoff=backoff)
