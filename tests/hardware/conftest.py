"""Fixtures for hardware tests: a TCP printer stand-in and a socat pty pair."""

from __future__ import annotations

import contextlib
import os
import select
import selectors
import signal
import socket
import socketserver
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hardware.scanner import ScannerState, ScannerStatus

SOCAT = "/usr/bin/socat"


class FakePrinter:
    """A raw-TCP printer stand-in on loopback: keeps each job, answers DLE EOT from ``replies``."""

    def __init__(self, replies: dict[int, bytes] | None = None) -> None:
        self.replies = replies or {}
        self.jobs: list[bytes] = []
        self._changed = threading.Condition()
        printer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                printer._serve(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = False
        self._server.block_on_close = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-printer"
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _serve(self, conn: socket.socket) -> None:
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
            for n, reply in self.replies.items():
                if chunk.endswith(b"\x10\x04" + bytes([n])):
                    conn.sendall(reply)
        with self._changed:
            self.jobs.append(received)
            self._changed.notify_all()

    def wait_for_jobs(self, count: int, timeout: float = 5.0) -> list[bytes]:
        """The first ``count`` connections' bytes, once they have all closed."""
        with self._changed:
            ok = self._changed.wait_for(lambda: len(self.jobs) >= count, timeout)
        assert ok, f"printer got {len(self.jobs)} jobs, expected {count}"
        return self.jobs[:count]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture
def fake_printer() -> Iterator[FakePrinter]:
    """A printer stand-in that answers no status query."""
    printer = FakePrinter()
    yield printer
    printer.close()


class SocatPair:
    """Two linked pseudo-terminals made by socat; ``scanner`` is ours, ``device`` the scanner's."""

    def __init__(self, directory: Path) -> None:
        self.scanner = directory / "scanner"
        self.device = directory / "device"
        self._proc: subprocess.Popen[bytes] | None = None
        self._device_fd: int | None = None

    def start(self, timeout: float = 5.0) -> None:
        """Start socat and wait until it reports its transfer loop (links exist then)."""
        args = [SOCAT, "-d", "-d", f"pty,raw,echo=0,link={self.scanner}"]
        args.append(f"pty,raw,echo=0,link={self.device}")
        self._proc = subprocess.Popen(args, stderr=subprocess.PIPE, start_new_session=True)
        self._wait_for(b"starting data transfer loop", timeout)
        # Keep the scanner's end open: socat ends when a pty's last user closes it.
        self._device_fd = os.open(self.device, os.O_RDWR | os.O_NOCTTY)

    def _wait_for(self, needle: bytes, timeout: float) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        seen = b""
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self._proc.stderr, selectors.EVENT_READ)
            while needle not in seen:
                remaining = deadline - time.monotonic()
                assert remaining > 0 and selector.select(remaining), f"socat silent: {seen!r}"
                chunk = os.read(self._proc.stderr.fileno(), 4096)
                assert chunk, f"socat exited: {seen!r}"
                seen += chunk

    def write(self, data: bytes) -> None:
        """Type ``data`` as the scanner would."""
        assert self._device_fd is not None, "socat is not running"
        os.write(self._device_fd, data)

    def read(self, size: int, timeout: float = 5.0) -> bytes:
        """Read ``size`` bytes that arrived at the scanner's end (what a printer would get)."""
        assert self._device_fd is not None, "socat is not running"
        data = b""
        deadline = time.monotonic() + timeout
        while len(data) < size:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._device_fd], [], [], max(0.0, remaining))
            assert ready, f"got {len(data)} of {size} bytes"
            data += os.read(self._device_fd, size - len(data))
        return data

    def kill(self) -> None:
        """Unplug: stop socat, which closes both ptys and removes the links."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):  # socat may end when our side closes
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
        assert proc.stderr is not None
        proc.stderr.close()
        if self._device_fd is not None:
            os.close(self._device_fd)
            self._device_fd = None


@pytest.fixture
def socat_pair(tmp_path: Path) -> Iterator[SocatPair]:
    """A started socat pty pair, stopped at teardown."""
    pair = SocatPair(tmp_path)
    pair.start()
    yield pair
    pair.kill()


class Recorder:
    """Collects a supervisor's callbacks and lets a test wait for them (no sleeps)."""

    def __init__(self) -> None:
        self.scans: list[str] = []
        self.statuses: list[ScannerStatus] = []
        self._changed = threading.Condition()

    def on_scan(self, line: str) -> None:
        with self._changed:
            self.scans.append(line)
            self._changed.notify_all()

    def on_status(self, status: ScannerStatus) -> None:
        with self._changed:
            self.statuses.append(status)
            self._changed.notify_all()

    def wait_scans(self, count: int, timeout: float = 5.0) -> list[str]:
        """The first ``count`` scans, waiting up to ``timeout`` for them."""
        with self._changed:
            ok = self._changed.wait_for(lambda: len(self.scans) >= count, timeout)
        assert ok, f"got scans {self.scans}, expected {count}"
        return self.scans[:count]

    def wait_state(self, state: ScannerState, after: int = 0, timeout: float = 5.0) -> int:
        """Wait for a status in ``state`` at index >= ``after``; return its index."""

        def found() -> int | None:
            for index in range(after, len(self.statuses)):
                if self.statuses[index].state is state:
                    return index
            return None

        with self._changed:
            ok = self._changed.wait_for(lambda: found() is not None, timeout)
            assert ok, f"no {state} after #{after}: {[s.state for s in self.statuses]}"
            index = found()
        assert index is not None
        return index


@pytest.fixture
def recorder() -> Recorder:
    """Callbacks that record scans and statuses."""
    return Recorder()
