"""Limits and scope on the hub and the edge, over real HTTP (issue 9, "What broke" 5).

Each test names the promise it protects in its docstring. The hub runs in-process under a real
uvicorn on a SQLite file; the edge agent runs the same way on its own data directory.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.hub.conftest import RunningHub, hub_settings, start_hub
from tests.hub.conftest import no_leaked_threads as no_leaked_threads  # autouse: no thread leaks

ONE_MIB = 1024 * 1024


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    """A hub serving its API on a SQLite file (MQTT off)."""
    yield from start_hub(hub_settings(f"sqlite:///{tmp_path / 'hub.db'}"))


def raw_request(url: str, head: bytes, body: Iterator[bytes] = iter(())) -> tuple[bytes, int]:
    """Send ``head`` then ``body`` chunks on a raw socket until the server answers or hangs up;
    return the answer's first bytes and how many body bytes were written."""
    parts = urlsplit(url)
    sent = 0
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(head)
        try:
            for chunk in body:
                conn.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending: the point
        try:
            return conn.recv(4096), sent
        except ConnectionResetError:
            return b"", sent


def chunked(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """``total`` bytes of a JSON-ish body in HTTP/1.1 chunked framing."""
    piece = b"x" * size
    for _ in range(total // size):
        yield b"%x\r\n%s\r\n" % (size, piece)
    yield b"0\r\n\r\n"


def test_hub_refuses_a_declared_100_mb_body_unread(hub: RunningHub) -> None:
    """Promise: an unauthenticated caller cannot make the hub hold a huge body in memory —
    a declared Content-Length above the limit is answered 413 (error shape) before reading."""
    url = str(hub.client.base_url)
    head = (b"POST /api/session HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
            b"Content-Length: 104857600\r\n\r\n")
    reply, _ = raw_request(url, head)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    body = json.loads(reply.split(b"\r\n\r\n", 1)[1])
    assert body == {"detail": [{"field": "body", "message":
                                f"the request body is larger than {ONE_MIB} bytes"}]}


def test_hub_stops_reading_a_chunked_body_past_the_limit(hub: RunningHub) -> None:
    """Promise: a body without a declared length is read only up to the limit, then refused —
    a 100 MB chunked upload is cut off long before its end."""
    url = str(hub.client.base_url)
    head = (b"POST /api/users HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    reply, sent = raw_request(url, head, chunked(100 * ONE_MIB))
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    # socket buffers may swallow some megabytes past the limit, never the whole upload
    assert sent < 40 * ONE_MIB


def test_hub_lets_a_body_within_the_limit_through(hub: RunningHub) -> None:
    """Promise: the limit refuses only what is too big — a normal request still reaches its
    route (here: 401, since it has no token), with its body intact."""
    answer = hub.client.post("/api/users", json={"username": "x" * 1000})
    assert answer.status_code == 401
