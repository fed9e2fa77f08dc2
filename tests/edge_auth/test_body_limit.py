"""Request bodies above ``max_request_bytes`` are refused (413) before any route reads them."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

from tests.edge.conftest import Running
from tests.edge_hw.conftest import return_body

BIG = {**return_body(), "reason": "x" * (300 * 1024)}


def chunks(data: bytes, size: int = 8192) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def test_a_declared_body_over_256_kib_is_413(agent: Running) -> None:
    answer = agent.http.post("/api/returns", json=BIG)
    assert answer.status_code == 413
    assert answer.json() == {"detail": [{"field": "body", "message":
                                         "the request body is larger than 262144 bytes"}]}
    assert agent.rows("returns") == 0


def test_a_chunked_body_is_counted_as_it_comes(agent: Running) -> None:
    headers = {"Content-Type": "application/json"}
    big = agent.http.post("/api/returns", content=chunks(json.dumps(BIG).encode()),
                          headers=headers)
    assert big.status_code == 413 and big.json()["detail"][0]["field"] == "body"
    small = agent.http.post("/api/returns", content=chunks(json.dumps(return_body()).encode(), 7),
                            headers=headers)
    assert small.status_code == 201, small.text  # read within the limit and handed on whole
    assert agent.rows("returns") == 1


def test_a_body_within_the_limit_passes(agent: Running) -> None:
    near = {**return_body(), "reason": "y" * 200}
    assert agent.http.post("/api/returns", json=near).status_code == 201


def test_a_malformed_content_length_is_400(agent: Running) -> None:
    url = urlsplit(agent.url)
    with socket.create_connection((url.hostname, url.port), timeout=5) as conn:
        conn.sendall(b"POST /api/scans HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 12abc\r\n\r\n{}")
        reply = conn.recv(4096)
    assert reply.startswith(b"HTTP/1.1 400")
