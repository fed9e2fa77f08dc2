"""The ingest writer's queue, in two lanes: what a store records now goes before a backlog.

When a region's stores come back together, each sends hours of buffered events as
``event.batch`` messages, and the hub takes them at its pace (the 1,000 x 1,000 storm takes
about 4 minutes on one hub). With one first-in first-out queue, a store that never lost its
link waited behind all of that: its new return reached the hub ~30 s (the storm's p50) after it
was recorded. Now:

- a message goes to the **bulk** lane when it is ``BULK_BYTES`` long or more (a node draining a
  backlog sends ``event.batch`` messages of up to 100 events, ~43 KB; ten events are ~4.4 KB),
  and also when its node already has a message in the bulk lane, so a node's messages keep
  their order;
- everything else goes to the **live** lane: a single event, a status, and the small batches a
  busy store that never lost its link sends when two or three events wait for one ack (the
  first bench run sent every batch to the bulk lane: its live stores' p99 was the storm's);
- the network thread decodes nothing (``hub.sync.mqtt``): every message is queued as bytes and
  decoded by the writer when it takes it. A storm's backlog then waits as bytes, which the
  garbage collector does not walk, and the network thread reads a live message from the socket
  without first decoding the thousands of backlog events the broker sent before it (with both
  decoded there, the live stores' p99 was 4.7 s);
- ``get`` takes from the live lane first, the bulk lane when the live one is empty. A batch of
  the writer thus starts with the live messages queued at that moment, and a live message
  waits at most for the batch being written.
Nothing is dropped or reordered within a node; only nodes are served in a different order. The
node of a message is its topic without the last level (events and status of a node share it).
``qsize`` counts both lanes (``IngestWriter.stop`` drains what is queued when it is called).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter, deque

from hub.sync.ingest.classify import Incoming

BULK_BYTES = 4096  # a message this long is a backlog draining (~10 events: ~2 s of a busy store)


def is_bulk(payload: bytes) -> bool:
    """True for a message long enough to be a backlog (decoded by the writer, served last)."""
    return len(payload) >= BULK_BYTES


def node_of(message: Incoming) -> str:
    """The node a message comes from, as its topic names it (``…/nodes/N``)."""
    return message.topic.rsplit("/", 1)[0]


class Lanes:
    """A queue that serves live messages before a backlog (see the module's rules)."""

    def __init__(self) -> None:
        self._ready = threading.Condition(threading.Lock())
        self._live: deque[Incoming] = deque()
        self._bulk: deque[Incoming] = deque()
        self._in_bulk: Counter[str] = Counter()  # per node: its messages in the bulk lane

    def put(self, message: Incoming) -> None:
        """Queue ``message`` in its lane (never blocks)."""
        node = node_of(message)
        with self._ready:
            if is_bulk(message.payload) or self._in_bulk[node]:
                self._bulk.append(message)
                self._in_bulk[node] += 1
            else:
                self._live.append(message)
            self._ready.notify()

    def get(self, timeout: float | None = None) -> Incoming:
        """The next message, live ones first; ``queue.Empty`` after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._ready:
            while not self._live and not self._bulk:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise queue.Empty
                self._ready.wait(left)
            return self._take()

    def get_nowait(self) -> Incoming:
        """The next message if one is queued, else ``queue.Empty``."""
        with self._ready:
            if not self._live and not self._bulk:
                raise queue.Empty
            return self._take()

    def _take(self) -> Incoming:
        if self._live:
            return self._live.popleft()
        message = self._bulk.popleft()
        node = node_of(message)
        self._in_bulk[node] -= 1
        if not self._in_bulk[node]:
            del self._in_bulk[node]
        return message

    def qsize(self) -> int:
        """Messages queued in both lanes."""
        with self._ready:
            return len(self._live) + len(self._bulk)

    def sizes(self) -> tuple[int, int]:
        """(live, bulk) messages queued."""
        with self._ready:
            return len(self._live), len(self._bulk)
