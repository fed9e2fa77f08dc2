"""Idempotent writes on the local API: a repeat gets the first answer, never a second write.

Rules:
- a write route takes an optional ``Idempotency-Key`` header (1-200 printable ASCII characters;
  the counter page sends a fresh UUID per action and keeps it until the action is done); without
  it the route works as before;
- the key is scoped to the caller (``staff:<id>``, ``pos:<name>`` or ``local:counter``) and
  stored with the request's fingerprint (method, path, SHA-256 of the body) and the answer (status
  and body) by ``seal``, inside the SAME ``Store.write()`` transaction as the write: the key exists
  if and only if the write committed;
- a repeat with the same key and the same request gets the stored answer, byte for byte, with
  ``Idempotent-Replayed: true``; the same key with another request is a 422 naming
  ``Idempotency-Key`` (guessing which one was meant could pay a refund twice);
- a repeat that arrives while the first is still running waits for it (one lock per key, in this
  process; the agent runs one process per data directory) and then gets its answer; a refused
  first try (4xx) stores nothing, so its repeat runs again;
- keys are kept ``KEEP`` (24 hours) and pruned by the next write that stores a key; an expired
  key is treated as never seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import Response

from edge_agent.storage.idempotency import (
    HEADER,
    Pending,
    Replayed,
    check,
    fingerprint,
    serving,
    stored,
)

__all__ = ["HEADER", "IDEMPOTENT", "Replayed", "document", "idempotent", "replay"]

if TYPE_CHECKING:
    from edge_agent.agent import Agent

REPLAYED = "Idempotent-Replayed"
KEY_PATTERN = r"^[\x21-\x7e]{1,200}$"


@dataclass
class _Slot:
    """One key's lock and how many requests hold or wait for it (on the event loop only)."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


_LOCKS: dict[tuple[str, str], _Slot] = {}

KeyHeader = Annotated[str | None, Header(
    alias=HEADER, pattern=KEY_PATTERN,
    description="Optional. A client-chosen key (e.g. a UUID) naming this one action: a repeat "
    "with the same key and body gets the first answer (header `Idempotent-Replayed: true`) "
    "instead of a second write; the same key with another body is a 422. Kept 24 hours.")]


async def caller_scope(request: Request) -> str:
    """Whose keys these are: the caller as ``edge_agent.web.auth`` decides it (401/403 as there)."""
    from edge_agent.web.auth import current_caller  # imported here: auth -> agent -> this module

    caller = await current_caller(request)
    return f"{caller.kind}:{caller.name}"


async def idempotent(request: Request, scope: Annotated[str, Depends(caller_scope)],
                     key: KeyHeader = None) -> AsyncIterator[None]:
    """FastAPI dependency of every write route: replay a repeat, or let the route seal its key."""
    if key is None:
        yield
        return
    route = request.scope.get("route")
    status = int(getattr(route, "status_code", None) or 200)
    pending = Pending(scope, key, fingerprint(
        request.method, request.url.path, await request.body()), status)
    slot = _LOCKS.setdefault((pending.scope, key), _Slot())
    slot.users += 1
    try:
        async with slot.lock:  # a repeat in flight waits here for the first try to finish
            agent: Agent = request.app.state.agent
            with agent.store.read() as tx:
                check(stored(tx, pending), pending)
            with serving(pending):
                yield
    finally:
        slot.users -= 1
        if not slot.users:  # nobody waits: drop it, so the table does not grow with every key
            _LOCKS.pop((pending.scope, key), None)


async def replay(_request: Request, exc: Exception) -> Response:
    """The exception handler answering a repeat with the first answer."""
    assert isinstance(exc, Replayed)
    return Response(exc.body, status_code=exc.status, media_type="application/json",
                    headers={REPLAYED: "true"})


def document(app: FastAPI) -> None:
    """Make the header one shared parameter (``#/components/parameters/IdempotencyKey``) of
    the OpenAPI document, referenced by every route that takes it."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        shared = None
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                parameters = operation.get("parameters", []) if isinstance(operation, dict) else []
                for index, parameter in enumerate(parameters):
                    if parameter.get("name") == HEADER and parameter.get("in") == "header":
                        shared = parameter
                        parameters[index] = {"$ref": "#/components/parameters/IdempotencyKey"}
        if shared is not None:
            schema.setdefault("components", {}).setdefault("parameters", {})[
                "IdempotencyKey"] = shared
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


IDEMPOTENT = [Depends(idempotent)]
