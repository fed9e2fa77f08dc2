"""How many unacked events a node may have out: a window that follows the hub's ack delay.

Pure, like ``SendWindow`` (whose ``window`` it sets). The broker queues whatever the hub has not
taken yet and drops what passes its ``max_queued_messages``; the hub's acks are the only signal a
node gets. So the window is delay-based, not loss-based (a loss here is a broker drop, which is
what we are avoiding):

Rules:
- after every (re)connect the window starts at ``START`` events: a fleet reconnecting at once
  puts at most nodes x ``START`` messages in the broker's queue (1,000 nodes -> 8,000, under the
  20,000 of ``deploy/mosquitto/acorn.conf``; the sizing rule is written there);
- one probe at a time: the last seq of a send; when an ack covers it, its round trip is the
  hub's delay. Under a quarter of ``TARGET_RTT`` the window doubles, under ``TARGET_RTT`` it
  grows by ``START``, above it it halves (never under ``START`` nor over the configured
  window): the fleet's total in flight stays near hub rate x ``TARGET_RTT``, so the broker's
  queue for the hub needs max(nodes x ``START``, 2 x hub rate x ``TARGET_RTT``) places;
- the resend wait follows the round trip too: at least ``RESEND_RTTS`` smoothed round trips
  (never under the configured ``resend_after``, never over ``RESEND_MOST``), so a hub that is
  slow, not gone, is not buried in duplicates of what it already queues;
- a node alone drains fast (its round trips are short, the window reaches its maximum within a
  few acks); nodes in a storm stay near the floor while the hub is busy;
- the floor: ``START`` events, or one full message when the hub reads ``event.batch`` messages of
  ``batch`` events (``StoreConfig.event_batch``). A storm drains in messages the hub takes at its
  cheapest per event (with a thousand nodes at 8 events each, per-message work was a third of
  the hub's CPU), while the broker's queue still holds at most ``START`` messages a node:
  ``room`` caps the messages a node has out (``sent_message`` counts them, acks and reconnects
  release them), so a window of single events (live sales, or photos too large to share a
  message) is never more messages than before;
- a resend after silence is one event (``SendWindow.due`` shrinks the window to one): if the
  original was only slow, the hub takes it first and the probe is one duplicate, not a window
  of them; if it was lost, the probe's ack moves the window and the pace grows it again.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from edge_agent.storage.outbox import SendWindow

START = 8
TARGET_RTT = 0.5
RESEND_RTTS = 3  # no resend before this many smoothed round trips without progress
RESEND_MOST = 120.0  # seconds: a dead hub is still retried this often at worst


@dataclass
class Pace:
    """The send window's size, from the round trips of probe seqs."""

    largest: int
    start: int = START
    target_rtt: float = TARGET_RTT
    batch: int = 1  # events per message the hub reads (1: one event a message)
    _probe: tuple[int, float] | None = None
    _smoothed: float | None = None  # the hub's round trip, smoothed (seconds)
    _resend_floor: float | None = None  # the configured resend_after
    _out: deque[int] = field(default_factory=deque)  # the last seq of each message out

    @property
    def floor(self) -> int:
        """The smallest window: ``start`` events, or one full message of the hub's batch."""
        return min(max(self.start, self.batch), self.largest)

    def messages(self, window: SendWindow) -> int:
        """How many messages a node may have out: ``start``, or the window's worth of full
        messages when that is more (a fast hub, a node draining alone)."""
        return max(self.start, window.window // max(self.batch, 1))

    def room(self, window: SendWindow, first: int) -> int:
        """How many more messages may go out now, for a send starting at seq ``first`` (a send
        from at or before a message already out is a resend: what was out is not counted twice)."""
        if self._out and first <= self._out[-1]:
            self._out.clear()
        return self.messages(window) - len(self._out)

    def sent_message(self, last: int) -> None:
        """A message whose last event is seq ``last`` went out."""
        self._out.append(last)

    def on_connect(self, window: SendWindow) -> None:
        """A (re)connect: start small again, nothing out."""
        window.window = self.floor
        self._probe = None
        self._out.clear()

    def sent(self, last: int, now: float) -> None:
        """``last`` was published at ``now``; it becomes the probe if none is out."""
        if self._probe is None or last < self._probe[0]:  # a resend from older seqs: re-probe
            self._probe = (last, now)

    def on_ack(self, window: SendWindow, up_to: int, now: float) -> None:
        """An ack up to ``up_to``: the messages it covers are no longer out; if it covers the
        probe, resize by its round trip."""
        while self._out and self._out[0] <= up_to:
            self._out.popleft()
        if self._probe is None or up_to < self._probe[0]:
            return
        rtt = now - self._probe[1]
        self._probe = None
        self._stretch_resend(window, rtt)
        if rtt <= self.target_rtt / 4:  # the hub keeps up easily: grow fast (a lone drain)
            window.window = min(self.largest, window.window * 2)
        elif rtt <= self.target_rtt:  # it is getting busy: grow slowly
            window.window = min(self.largest, window.window + self.start)
        else:
            window.window = max(self.floor, window.window // 2)

    def _stretch_resend(self, window: SendWindow, rtt: float) -> None:
        """A resend must not fire while the hub is merely slow: wait at least a few of its
        round trips (every duplicate would cost the busy hub as much as a new event)."""
        if self._resend_floor is None:
            self._resend_floor = window.resend_after
        self._smoothed = rtt if self._smoothed is None else 0.875 * self._smoothed + 0.125 * rtt
        window.resend_after = min(
            max(self._resend_floor, RESEND_RTTS * self._smoothed), RESEND_MOST
        )
