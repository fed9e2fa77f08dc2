"""Serve an ASGI app with a real uvicorn on a free loopback port, in a thread, for one test.

(Starlette's TestClient is not used: with this Starlette it warns that httpx is deprecated, and a
real server is closer to production anyway.)
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI


@cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


def http_client(base_url: str, **options: Any) -> httpx.Client:
    """An ``httpx.Client`` for ``base_url`` sharing one default TLS context (verifying, as
    httpx's own): each new client would otherwise load the CA bundle again, ~20 ms of CPU."""
    return httpx.Client(base_url=base_url, verify=_tls(), **options)


@contextmanager
def serving(app: FastAPI, timeout: float = 10.0,
            server_class: Callable[[uvicorn.Config], uvicorn.Server] = uvicorn.Server
            ) -> Iterator[str]:
    """Run ``app`` (lifespan included) and yield its base URL; stop it cleanly afterwards."""
    server = server_class(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None,
                                         access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout)
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
