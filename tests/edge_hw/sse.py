"""A small server-sent-events client on a plain socket, read by a thread into a queue.

HTTP/1.0 is asked for so the body is the raw stream (no chunked framing); the socket is polled
with a short timeout so ``close()`` always stops the thread. Each event carries the
``time.perf_counter()`` at which its last line arrived (for the benchmarks).
"""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class SseEvent:
    """One event as received."""

    kind: str
    data: dict[str, Any]
    received_at: float


class SseClient:
    """Follows ``/api/events/stream`` of an agent until closed."""

    def __init__(self, base_url: str, path: str = "/api/events/stream") -> None:
        parts = urlsplit(base_url)
        self._sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), 5)
        request = (f"GET {path} HTTP/1.0\r\nHost: {parts.netloc}\r\n"
                   "Accept: text/event-stream\r\n\r\n")
        self._sock.sendall(request.encode())
        self._sock.settimeout(0.05)
        self.events: queue.Queue[SseEvent] = queue.Queue()
        self.seen: list[SseEvent] = []
        self.status_line = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-sse", daemon=True)
        self._thread.start()

    def __enter__(self) -> SseClient:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading and close the connection."""
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def next(
        self, kind: str, where: Callable[[dict[str, Any]], bool] = lambda _d: True,
        timeout: float = 5.0,
    ) -> SseEvent:
        """The next event of ``kind`` matching ``where`` (earlier others are skipped)."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=remaining)
            except queue.Empty:
                break
            self.seen.append(event)
            if event.kind == kind and where(event.data):
                return event
        raise AssertionError(f"no {kind} event in {timeout}s; saw {[e.kind for e in self.seen]}")

    def _run(self) -> None:
        buffer, headers_done = b"", False
        while not self._stop.is_set():
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            if not headers_done and b"\r\n\r\n" in buffer:
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                self.status_line = head.split(b"\r\n", 1)[0].decode()
                headers_done = True
            if headers_done:
                buffer = self._frames(buffer, time.perf_counter())

    def _frames(self, buffer: bytes, now: float) -> bytes:
        while b"\n\n" in buffer:
            frame, buffer = buffer.split(b"\n\n", 1)
            kind, data = "message", ""
            for line in frame.decode().split("\n"):
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    data += line[6:]
            if data:
                self.events.put(SseEvent(kind, json.loads(data), now))
        return buffer
