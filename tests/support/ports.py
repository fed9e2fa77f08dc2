"""Loopback ports for tests that must name a port before something listens on it (a broker, an
``acorn-hub serve`` subprocess), safe when pytest-xdist runs several workers at once.

``bind(port 0)`` then close, the usual trick, hands out a port from the kernel's ephemeral range
(32768-60999 on Linux) that any other process may take before ours listens: with several workers
starting brokers and servers side by side, two of them can be given the same port. So each
worker draws from a block of its own below the ephemeral range (worker ``gwN`` gets block N),
starting at a random place in it (another pytest run on this machine draws from the same blocks),
and skips any port something is bound to right now.
"""

from __future__ import annotations

import os
import random
import socket
import threading

FIRST_PORT = 15000  # blocks sit between here and the ephemeral range: bind(0) never gives these
EPHEMERAL_START = 32768
BLOCK = 1500
BLOCKS = (EPHEMERAL_START - FIRST_PORT) // BLOCK  # 11: workers beyond share blocks (still checked)

_lock = threading.Lock()
_next: int | None = None


def worker_index() -> int:
    """0 for a plain pytest run or worker gw0, N for pytest-xdist worker gwN."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    digits = worker.removeprefix("gw")
    return int(digits) if digits.isdigit() else 0


def worker_tag() -> str:
    """A short name for this worker (``gw0`` for a plain run), for database and file names."""
    return f"gw{worker_index()}"


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback TCP port nothing is bound to, from this worker's own block."""
    global _next
    start = FIRST_PORT + (worker_index() % BLOCKS) * BLOCK
    with _lock:
        if _next is None:
            _next = random.randrange(BLOCK)
        for _ in range(BLOCK):
            port = start + _next
            _next = (_next + 1) % BLOCK
            if _bindable(port):
                return port
    raise RuntimeError(f"no free loopback port in {start}-{start + BLOCK - 1}")
