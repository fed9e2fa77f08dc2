"""``GET /api/events/stream``: the agent's live events as server-sent events (text/event-stream).

Rules: the stream opens with ``retry: 1000`` (the browser reconnects a second after a drop), then
the latest printer, scanner and broker status, then every event as it happens (see
``edge_agent.events`` for kinds and data); a comment line every ``HEARTBEAT_SECONDS`` keeps
proxies and idle timeouts from closing it. It ends when the client leaves or the server stops.
Guarded like the other store data (``edge_agent.web.auth``): scans carry return details.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from edge_agent.events import EventBus, Subscription
from edge_agent.web.api import AgentDep
from edge_agent.web.auth import GUARD

HEARTBEAT_SECONDS = 15.0
RETRY_MS = 1000
EXAMPLE = ('retry: 1000\n\nid: 7\nevent: scan\ndata: {"raw":"RT-J7YHCZS8MD9FA","code":'
           '{"kind":"return_code","value":"RT-J7YHCZS8MD9FA","valid":true,"message":"Return code '
           'RT-J7YHCZS8MD9FA"},"message":"Return RJ7YHCZS8MD9F (Received)","result":{...}}\n\n')

router = APIRouter(tags=["events"])


@router.get(
    "/api/events/stream",
    response_class=StreamingResponse,
    responses={200: {"description": "an endless text/event-stream",
                     "content": {"text/event-stream": {"example": EXAMPLE}}}},
    dependencies=GUARD,
)
async def event_stream(agent: AgentDep) -> StreamingResponse:
    """Live scans, return and refund updates, and printer, scanner and broker status."""
    subscription, latest = agent.events.subscribe()
    return StreamingResponse(
        _frames(agent.events, subscription, [event.encode() for event in latest]),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _frames(bus: EventBus, subscription: Subscription,
                  first: list[str]) -> AsyncIterator[str]:
    try:
        yield f"retry: {RETRY_MS}\n\n"
        for frame in first:
            yield frame
        while True:
            try:
                event = await asyncio.wait_for(subscription.queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if event is None:
                return
            yield event.encode()
    finally:
        bus.unsubscribe(subscription)
