"""A network receipt printer stand-in: raw TCP on loopback, ESC/POS decoded to text files.

Rules:

- One connection is one job or one status query, as with a real port-9100 printer: the stand-in
  reads until the client half-closes, then closes. A connection that carried only ``DLE EOT n``
  queries is a status query, not a job.
- ``DLE EOT 1`` and ``DLE EOT 4`` are answered at once from ``status`` (``ok``, ``paper_low``,
  ``paper_out``, ``offline``), or not at all with ``silent`` (a printer that answers no status
  query, which the agent must treat as "unknown").
- Every job is kept in ``jobs`` (bytes and the ``time.perf_counter()`` of its last byte) and, with
  a ``directory``, written as ``NNNN.txt`` (numbering continues after the files already there):
  the decoded text, then ``[CODE128] ...`` / ``[QR] ...`` lines; bytes the decoder does not know
  are reported in the file, never dropped silently. Jobs are printed whatever ``status`` says.
- ``close()`` takes the printer off the network (connections are refused); ``start()`` brings it
  back on the same port. No thread outlives ``close()``.

Run alone: ``python -m hardware.sim.printer --dir var/dev/printer --port 9100``.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import signal
import socket
import socketserver
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

from hardware.errors import EscposDecodeError
from hardware.escpos_text import as_text, decode

StandInStatus = Literal["ok", "paper_low", "paper_out", "offline", "silent"]
# (answer to DLE EOT 1, answer to DLE EOT 4): bits 1 and 4 always set, see printing.status.
ANSWERS: dict[str, tuple[bytes, bytes]] = {
    "ok": (b"\x12", b"\x12"),
    "paper_low": (b"\x12", b"\x1e"),
    "paper_out": (b"\x1a", b"\x72"),
    "offline": (b"\x1a", b"\x12"),
}
_QUERY = re.compile(rb"\x10\x04([\x01-\x04])")
_ONLY_QUERIES = re.compile(rb"(?:\x10\x04[\x01-\x04])+")


@dataclass(frozen=True)
class PrintedJob:
    """One job as the printer received it."""

    number: int
    data: bytes
    last_byte_at: float  # time.perf_counter() when its last byte arrived
    path: Path | None

    @property
    def text(self) -> str:
        """The job as people read it (what ``NNNN.txt`` holds)."""
        return render_job(self.data)


def render_job(data: bytes) -> str:
    """Decoded text of a job, or a note saying where the decoder stopped understanding it."""
    try:
        return as_text(decode(data))
    except EscposDecodeError as err:
        return f"[undecodable ESC/POS job of {len(data)} bytes: {err}]\n"


class PrinterStandIn:
    """A port-9100 ESC/POS printer on loopback that keeps what it prints."""

    def __init__(
        self,
        directory: Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        status: StandInStatus = "ok",
    ) -> None:
        self.directory = directory
        self.host, self.port = host, port
        self.status: StandInStatus = status
        self.jobs: list[PrintedJob] = []
        self._changed = threading.Condition()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None
        self._next_number = _first_free_number(directory)

    @property
    def url(self) -> str:
        """The printer URL for the agent (``ACORN_EDGE_PRINTER_URL``)."""
        return f"tcp://{self.host}:{self.port}"

    def start(self) -> PrinterStandIn:
        """Listen (again) on ``port``; a port of 0 picks a free one, kept for later restarts."""
        if self._server is not None:
            return self
        server = _Server((self.host, self.port), _handler_for(self))
        self.port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name=f"printer-standin-{self.port}"
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop listening (new connections are refused) and join every thread."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> PrinterStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def wait_for_jobs(self, count: int, timeout: float = 5.0) -> list[PrintedJob]:
        """The first ``count`` jobs, waiting up to ``timeout`` seconds for them."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.jobs) >= count, timeout):
                raise TimeoutError(f"printer got {len(self.jobs)} jobs, expected {count}")
            return self.jobs[:count]

    def serve(self, conn: socket.socket) -> None:
        """Handle one connection: answer status queries, keep a job."""
        received, last_byte_at = b"", time.perf_counter()
        while chunk := conn.recv(65536):
            received += chunk
            last_byte_at = time.perf_counter()
            for query in _QUERY.findall(chunk):
                conn.sendall(self._answer(query[0]))
        if received and not _ONLY_QUERIES.fullmatch(received):
            self._keep(received, last_byte_at)

    def _answer(self, query: int) -> bytes:
        answers = ANSWERS.get(self.status)
        if answers is None:
            return b""
        return answers[0] if query == 1 else answers[1]

    def _keep(self, data: bytes, last_byte_at: float) -> None:
        with self._changed:
            number, self._next_number = self._next_number, self._next_number + 1
            path = None
            if self.directory is not None:
                self.directory.mkdir(parents=True, exist_ok=True)
                path = self.directory / f"{number:04d}.txt"
                path.write_text(render_job(data), encoding="utf-8")
            self.jobs.append(PrintedJob(number, data, last_byte_at, path))
            self._changed.notify_all()


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = False
    block_on_close = True


def _handler_for(printer: PrinterStandIn) -> type[socketserver.BaseRequestHandler]:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            # The client may go away mid-job; a real printer would not notice either.
            with contextlib.suppress(OSError):
                printer.serve(self.request)

    return Handler


def _first_free_number(directory: Path | None) -> int:
    if directory is None or not directory.is_dir():
        return 1
    numbers = [int(path.stem) for path in directory.glob("*.txt") if path.stem.isdigit()]
    return max(numbers, default=0) + 1


def main(argv: list[str] | None = None) -> None:
    """``python -m hardware.sim.printer``: run a stand-in until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(description="ESC/POS network printer stand-in")
    parser.add_argument("--dir", type=Path, required=True, help="where NNNN.txt files go")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--status", default="ok", choices=[*ANSWERS, "silent"])
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with PrinterStandIn(args.dir, host=args.host, port=args.port, status=args.status) as printer:
        print(f"printer stand-in on {printer.url}, jobs in {args.dir}", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
