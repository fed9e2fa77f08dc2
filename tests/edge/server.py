"""The shared test server, with the agent's server class (it closes event streams on stop)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI

from edge_agent.app import AgentServer
from tests.support import server


@contextmanager
def serving(app: FastAPI, timeout: float = 10.0) -> Iterator[str]:
    """Run the agent's ``app`` and yield its base URL (see tests.support.server)."""
    with server.serving(app, timeout, AgentServer) as url:
        yield url
