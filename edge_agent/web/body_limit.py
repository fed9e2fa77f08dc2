"""An ASGI middleware refusing request bodies above a size, before any route reads them.

Rules:
- a declared ``Content-Length`` above the limit is answered 413 at once, unread; a malformed one
  is answered 400;
- a body without a declared length (chunked) is read up to the limit and answered 413 as soon as
  it passes it; a body within the limit is handed on unchanged, then the connection's later
  messages (a disconnect) as they come;
- the answers have the API's error shape: ``{"detail": [{"field": "body", "message": …}]}``.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """Wrap ``app`` so that no request body above ``max_bytes`` reaches it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, or read a chunked body within the limit, then go on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _answer(send, 400, "the Content-Length header is not a number")
            elif int(declared) > self.max_bytes:
                await _answer(send, 413, self._too_large())
            else:
                await self.app(scope, receive, send)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b"").lower():
            await self.app(scope, receive, send)
            return
        first = await self._read(receive)
        if first is None:
            await _answer(send, 413, self._too_large())
            return
        await self.app(scope, _replay(first, receive), send)

    def _too_large(self) -> str:
        return f"the request body is larger than {self.max_bytes} bytes"

    async def _read(self, receive: Receive) -> list[Message] | None:
        """The body's messages merged into one (or the disconnect); None once over the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return [message]
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


async def _answer(send: Send, status: int, message: str) -> None:
    body = json.dumps({"detail": [{"field": "body", "message": message}]}).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode("ascii")),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
