"""A serial barcode scanner stand-in: a socat pseudo-terminal pair with stable link names.

Rules:

- ``port`` is the scanner as the agent sees it (``ACORN_EDGE_SCANNER_URL``); ``keyboard`` is the
  other end: whatever is written there (``echo RT-... > keyboard``, ``socat - keyboard``, or
  ``type_line``) arrives at ``port`` as if scanned. Both are symlinks to ``/dev/pts/N`` made by
  socat, with the same names after every restart.
- socat ends when the last user of either pty closes it, so the stand-in holds both ends open
  itself: a shell's ``echo`` or an agent restart does not unplug the scanner.
- ``unplug()`` stops socat (both ptys vanish, reads at ``port`` fail, the links are removed);
  ``plug()`` (also ``start()``) makes a fresh pair under the same names. No process outlives
  ``unplug()``.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

from hardware.errors import ConfigError, ScannerError

READY = b"starting data transfer loop"


class PtyScanner:
    """A scanner made of two linked pseudo-terminals (socat); type into ``keyboard``."""

    def __init__(self, directory: Path, name: str = "scanner", socat: str | None = None) -> None:
        self.port = directory / name
        self.keyboard = directory / f"{name}-keyboard"
        self._socat = socat or shutil.which("socat") or "/usr/bin/socat"
        self._proc: subprocess.Popen[bytes] | None = None
        self._held: list[int] = []

    @property
    def plugged(self) -> bool:
        """True while socat runs."""
        return self._proc is not None and self._proc.poll() is None

    def plug(self, timeout: float = 5.0) -> PtyScanner:
        """Start socat and wait until both links exist; a no-op while plugged."""
        if self.plugged:
            return self
        self.unplug()
        if not Path(self._socat).exists():
            raise ConfigError(f"socat not found at {self._socat}: apt-get install socat")
        self.port.parent.mkdir(parents=True, exist_ok=True)
        ends = [f"pty,raw,echo=0,link={link}" for link in (self.port, self.keyboard)]
        self._proc = subprocess.Popen(
            [self._socat, "-d", "-d", *ends], stderr=subprocess.PIPE, start_new_session=True
        )
        self._wait_ready(timeout)
        self._held = [os.open(link, os.O_RDWR | os.O_NOCTTY) for link in (self.keyboard, self.port)]
        return self

    start = plug

    def unplug(self) -> None:
        """Stop socat: both ptys vanish, as if the scanner's cable was pulled."""
        for fd in self._held:
            os.close(fd)
        self._held = []
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        if proc.stderr is not None:
            proc.stderr.close()

    close = unplug

    def __enter__(self) -> PtyScanner:
        return self.plug()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.unplug()

    def write(self, data: bytes) -> None:
        """Send raw bytes as the scanner would."""
        if not self._held:
            raise ScannerError(f"{self.keyboard}: the stand-in scanner is unplugged")
        os.write(self._held[0], data)

    def type_line(self, code: str, terminator: str = "\r\n") -> None:
        """Scan ``code``: its characters and a line terminator."""
        self.write((code + terminator).encode("utf-8"))

    def _wait_ready(self, timeout: float) -> None:
        proc = self._proc
        assert proc is not None and proc.stderr is not None
        seen = b""
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stderr, selectors.EVENT_READ)
            while READY not in seen:
                remaining = deadline - time.monotonic()
                chunk = b""
                if remaining > 0 and selector.select(remaining):
                    chunk = os.read(proc.stderr.fileno(), 4096)
                if not chunk:
                    self.unplug()
                    raise ScannerError(f"socat did not make the pty pair: {seen.decode()[-300:]}")
                seen += chunk
