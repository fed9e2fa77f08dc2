"""Live events for the counter screens: one bus per agent, fanned out to server-sent-event streams.

Kinds and their data (JSON)::

    scan      a line from the scanner: {raw, code: {kind, value, valid, message}, message,
              result: ScanResult | null}
    return    a return was received, inspected or disposed: {return_id, action}
    refund    the hub decided a refund or its money moved: {return_id, refund_id, status,
              payment, command} (payment: submitted | confirmed | settled | failed, or null;
              command: refund.decided | refund.status)
    expected  the hub sent an expected return (RMA), now cached: {rma_id, order_id}
    config    a newer store config from the hub is in force: {version, signin_required}
    outbox    events the hub has acked left the outbox: {pending, last_acked_seq}
    printer   a printer's state or queue changed: PrinterView (status, queued, last_error, ...)
    scanner   the scanner's state changed: {url, state, last_error, changed_at}
    broker    the hub link went up or down: {connected}

Rules:
- every event is published by what makes the change, the moment it is committed (the counter,
  the link's worker, the devices); nothing polls for changes;
- publishers are threads (scanner, print worker, hub link, API handlers) and never block:
  ``publish`` hands the event to each subscriber's event loop with ``call_soon_threadsafe``;
- a subscriber is a bounded asyncio queue; one that falls ``MAX_BACKLOG`` events behind is dropped
  (its stream ends, the browser's EventSource reconnects and the page reloads what it shows);
- the latest ``printer``/``scanner``/``broker`` event (per printer) is kept and sent first to every
  new subscriber, so a fresh page shows the devices at once;
- ``close()`` ends every stream and refuses new ones: the server calls it before it waits for open
  connections, since an event stream never ends by itself.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any

MAX_BACKLOG = 500
STATUS_KINDS = frozenset({"printer", "scanner", "broker"})


@dataclass(frozen=True)
class Event:
    """One event: an increasing id, a kind and its JSON-able data."""

    id: int
    kind: str
    data: dict[str, Any]

    def encode(self) -> str:
        """The event in text/event-stream framing."""
        body = json.dumps(self.data, separators=(",", ":"), default=str, ensure_ascii=False)
        return f"id: {self.id}\nevent: {self.kind}\ndata: {body}\n\n"


@dataclass(eq=False)
class Subscription:
    """One stream's queue, living on the event loop that serves the stream."""

    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Event | None] = field(
        default_factory=lambda: asyncio.Queue(MAX_BACKLOG))

    def offer(self, event: Event | None) -> None:
        """Queue ``event`` (runs on the loop); a full queue ends the stream instead."""
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)


class EventBus:
    """Fan-out of live events from any thread to every open stream."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._subscribers: set[Subscription] = set()
        self._latest: dict[str, Event] = {}
        self._closed = False

    def publish(self, kind: str, data: dict[str, Any], key: str = "") -> Event:
        """Send an event to every stream; status kinds are also kept for new streams."""
        with self._lock:
            event = Event(next(self._ids), kind, data)
            if kind in STATUS_KINDS:
                self._latest[f"{kind}:{key}"] = event
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            self._deliver(subscriber, event)
        return event

    def latest(self, kind: str, key: str = "") -> dict[str, Any] | None:
        """The data of the last status event of this kind (and key), if any."""
        with self._lock:
            event = self._latest.get(f"{kind}:{key}")
        return None if event is None else event.data

    def subscribe(self) -> tuple[Subscription, list[Event]]:
        """A new stream on the running loop, and the status events to send it first."""
        subscription = Subscription(asyncio.get_running_loop())
        with self._lock:
            if self._closed:
                subscription.offer(None)
            else:
                self._subscribers.add(subscription)
            latest = sorted(self._latest.values(), key=lambda event: event.id)
        return subscription, latest

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a stream (its client went away)."""
        with self._lock:
            self._subscribers.discard(subscription)

    @property
    def streams(self) -> int:
        """How many streams are open."""
        with self._lock:
            return len(self._subscribers)

    def close(self) -> None:
        """End every stream and refuse new ones."""
        with self._lock:
            self._closed = True
            subscribers, self._subscribers = list(self._subscribers), set()
        for subscriber in subscribers:
            self._deliver(subscriber, None)

    def _deliver(self, subscriber: Subscription, event: Event | None) -> None:
        try:
            subscriber.loop.call_soon_threadsafe(subscriber.offer, event)
        except RuntimeError:  # its loop is closed: the server is gone
            self.unsubscribe(subscriber)
