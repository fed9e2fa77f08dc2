"""Idempotent API writes: a repeated request gets the first answer, never a second write.

Rules:
- every POST/PUT/PATCH/DELETE route that changes something takes an optional ``Idempotency-Key``
  header (1-200 printable ASCII characters; the desk sends a fresh UUID per action and keeps it
  until the action is done); without it the route works as before;
- the key is scoped to the caller (the token's or the user's principal name) and stored with the
  request's fingerprint (method, path with query, SHA-256 of the body) and the first answer
  (status and body) in the SAME transaction as the write: the route runs inside a transaction
  ``hold`` opens (``writing``/``reading`` join it), and this module's middleware adds the key
  and commits only after the route answered 2xx; anything else rolls it all back, so a refused
  request stores no key and its repeat runs again;
- a repeat with the same key and request gets the stored answer with ``Idempotent-Replayed:
  true``; the same key with another request is a 422 naming ``Idempotency-Key``;
- a repeat that arrives while the first is in flight waits for it: the held transaction takes the
  hub's write lock (the audit tip) before it looks the key up, so the repeat looks only after the
  first one committed, in any number of hub processes; the key's primary key is the last guard;
- keys live ``KEEP`` (24 hours): older ones are treated as unseen and pruned by the next keyed
  write.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import Response
from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.errors import Conflict, HubError, InputError
from hub.storage.engine import Held, hold, joined, storage_error
from hub.storage.tables.idempotency import idempotency_keys
from hub.web.api.deps import Caller
from hub.web.api.errors import error_body, status_of
from protocol import utc_now

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEEP = timedelta(hours=24)
KEY_PATTERN = r"^[\x21-\x7e]{1,200}$"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class _Request:
    """One keyed request's state, shared by the dependency and the middleware."""

    held: Held | None = None
    scope: str = ""
    key: str = ""
    fingerprint: str = ""
    replayed: bool = False
    messages: list[Message] = field(default_factory=list)


class Replayed(Exception):
    """The request repeats one already answered: send back ``status`` and ``body``."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"replayed {status}")
        self.status, self.body = status, body


_WAITING = CapacityLimiter(8)
_CURRENT: ContextVar[_Request | None] = ContextVar("acorn_hub_idempotency", default=None)

KeyHeader = Annotated[str | None, Header(
    alias=HEADER, pattern=KEY_PATTERN,
    description="Optional. A client-chosen key (e.g. a UUID) naming this one action: a repeat "
    "with the same key and request gets the first answer (header `Idempotent-Replayed: true`) "
    "instead of a second write; the same key with another request is a 422. Kept 24 hours.")]


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests the same request."""
    target = f"{path}?{query}" if query else path
    return f"{method} {hashlib.sha256(target.encode()).hexdigest()} " \
           f"{hashlib.sha256(body).hexdigest()}"


async def idempotent(request: Request, who: Caller, key: KeyHeader = None) -> AsyncIterator[None]:
    """FastAPI dependency of every write route: replay a repeat, or run the route in a held
    transaction that the middleware commits together with the key and the answer."""
    current = _CURRENT.get()
    if key is None or current is None or request.method not in WRITES:
        yield
        return
    current.scope, current.key = f"principal:{who.name}", key
    current.fingerprint = fingerprint(request.method, request.url.path, request.url.query,
                                      await request.body())
    engine = request.app.state.hub.engine
    # Waits for a first try in flight; on its own limiter, so that requests waiting here can
    # never take every worker thread from the route that holds the lock.
    current.held = await to_thread.run_sync(hold, engine, limiter=_WAITING)
    row = await run_in_threadpool(_stored, current.held.conn, current.scope, key)
    if row is not None:
        if row["fingerprint"] != current.fingerprint:
            raise InputError(f"Idempotency-Key {key} was already used for another request; "
                             "send a new key for a new action", field=HEADER)
        current.replayed = True
        raise Replayed(int(row["status"]), bytes(row["body"]))
    with joined(current.held):
        yield


def _stored(conn: Connection, scope: str, key: str) -> dict[str, Any] | None:
    try:
        row = conn.execute(select(idempotency_keys).where(
            idempotency_keys.c.scope == scope, idempotency_keys.c.key == key,
            idempotency_keys.c.created_at >= utc_now() - KEEP)).one_or_none()
    except SQLAlchemyError as err:
        raise storage_error(err) from err
    return dict(row._mapping) if row is not None else None


def _seal(current: _Request, status: int, body: bytes) -> None:
    """Store the key with the answer, prune expired keys, commit everything the route did."""
    assert current.held is not None
    conn, now = current.held.conn, utc_now()
    try:
        conn.execute(delete(idempotency_keys).where(idempotency_keys.c.created_at < now - KEEP))
        conn.execute(delete(idempotency_keys).where(  # an expired row of this very key
            idempotency_keys.c.scope == current.scope, idempotency_keys.c.key == current.key))
        conn.execute(insert(idempotency_keys).values(
            scope=current.scope, key=current.key, fingerprint=current.fingerprint,
            status=status, body=body, created_at=now))
    except IntegrityError as err:  # another hub process stored this key first: nothing written
        current.held.finish(commit=False)
        raise Conflict(f"Idempotency-Key {current.key} was used by a request that finished "
                       "first; send it again to get its answer", field=HEADER) from err
    except SQLAlchemyError as err:
        current.held.finish(commit=False)
        raise storage_error(err) from err
    current.held.finish(commit=True)


class IdempotencyMiddleware:
    """Holds a keyed write's answer until its transaction (with the key) has committed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITES or not any(
                name == b"idempotency-key" for name, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        current = _Request()
        token = _CURRENT.set(current)

        async def keep(message: Message) -> None:
            current.messages.append(message)

        try:
            await self.app(scope, receive, keep)
        except BaseException:
            await self._end(current, commit=False)
            raise
        finally:
            _CURRENT.reset(token)
        await send_all(send, await self._finish(current, scope.get("app")))

    async def _finish(self, current: _Request, app: Any) -> list[Message]:
        status = next((m["status"] for m in current.messages
                       if m["type"] == "http.response.start"), 500)
        if current.held is None or current.replayed or not 200 <= status < 300:
            await self._end(current, commit=False)
            return current.messages
        body = b"".join(m.get("body", b"") for m in current.messages
                        if m["type"] == "http.response.body")
        try:
            await run_in_threadpool(_seal, current, status, body)
        except HubError as err:  # nothing was written: say so, never the route's 2xx
            return _answer(status_of(err), error_body(err.field, err.message))
        return current.messages

    async def _end(self, current: _Request, commit: bool) -> None:
        if current.held is not None:
            held, current.held = current.held, None
            await run_in_threadpool(held.finish, commit)


async def send_all(send: Send, messages: list[Message]) -> None:
    """Send the kept response messages."""
    for message in messages:
        await send(message)


def _answer(status: int, item: dict[str, Any]) -> list[Message]:
    body = json.dumps({"detail": [item]}).encode()
    return [{"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())]},
            {"type": "http.response.body", "body": body}]


async def _replay(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Replayed)
    return Response(exc.body, status_code=exc.status, media_type="application/json",
                    headers={REPLAYED: "true"})


def install(app: FastAPI) -> None:
    """Add the middleware and the replay answer to ``app``."""
    app.add_middleware(IdempotencyMiddleware)
    app.add_exception_handler(Replayed, _replay)
    document(app)


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
