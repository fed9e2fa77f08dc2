"""What every SP-API route shares: the gate (token, then rate limit), replies and headers.

`gate("<operationId>")` is a FastAPI dependency: it checks `x-amz-access-token` (403
Unauthorized), takes a token from the caller's bucket for the operation (429 QuotaExceeded) and
lets due background work happen. `AmazonHeaders` adds `x-amzn-RequestId` to every response and
`x-amzn-RateLimit-Limit` to every response of a gated operation, errors included.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spapi_sim.accounts import SellerAccount
from spapi_sim.errors import Unauthorized
from spapi_sim.jsonio import AmazonJSONResponse
from spapi_sim.lwa import seller_of
from spapi_sim.operations import BY_ID, Operation
from spapi_sim.simulator import Simulator


@dataclass(frozen=True, slots=True)
class Call:
    """An authorised, admitted call: who makes it, when, on which simulator."""

    account: SellerAccount
    now: datetime
    sim: Simulator

    @property
    def seller_id(self) -> str:
        """The calling selling partner."""
        return self.account.seller_id


def simulator_of(request: Request) -> Simulator:
    """The simulator serving this request."""
    sim: Simulator = request.app.state.simulator
    return sim


def admit(request: Request, operation: Operation) -> Call:
    """Authorise and rate-limit a request for `operation`."""
    sim = simulator_of(request)
    now = sim.now()
    seller = seller_of(sim.signer, request.headers.get("x-amz-access-token"), now, sim.revoked)
    account = sim.accounts.get(seller)
    if account is None:
        raise Unauthorized("The access token you provided is revoked, malformed or invalid.")
    request.state.rate_limit = sim.limiter.header(operation)
    sim.limiter.acquire(seller, operation)
    sim.tick()
    return Call(account, now, sim)


def gate(operation_id: str) -> Callable[[Request], Awaitable[Call]]:
    """A dependency admitting requests for one operation."""
    operation = BY_ID[operation_id]

    async def dependency(request: Request) -> Call:
        return admit(request, operation)

    return dependency


def reply(body: Any, status: int = 200) -> AmazonJSONResponse:
    """A JSON reply (None: an empty body)."""
    return AmazonJSONResponse(body, status_code=status)


def base_url(request: Request) -> str:
    """Where this simulator is reachable, for document URLs.

    Never derived from the Host header: python-amazon-sp-api sends `endpoint[8:]` as Host, which
    is garbled for an `http://` endpoint. `public_url` wins; otherwise the listening socket.
    """
    sim = simulator_of(request)
    if sim.settings.public_url:
        return sim.settings.public_url.rstrip("/")
    host, port = request.scope.get("server") or ("127.0.0.1", 80)
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}"


class AmazonHeaders:
    """ASGI middleware adding `x-amzn-RequestId` and, when known, `x-amzn-RateLimit-Limit`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request through, decorating the response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-amzn-requestid", str(uuid.uuid4()).encode()))
                limit = scope.get("state", {}).get("rate_limit")
                if limit:
                    headers.append((b"x-amzn-ratelimit-limit", limit.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
