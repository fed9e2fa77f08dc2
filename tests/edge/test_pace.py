"""The send window's pacing (issue 16): small after a connect, sized by the hub's ack delay."""

from __future__ import annotations

from edge_agent.storage.outbox import SendWindow
from edge_agent.sync.pace import RESEND_MOST, START, TARGET_RTT, Pace


def paced(largest: int = 1000) -> tuple[Pace, SendWindow]:
    window = SendWindow(largest, resend_after=5.0, resend_max=30.0)
    pace = Pace(largest)
    window.on_connect(0.0)
    pace.on_connect(window)
    return pace, window


def round_trip(pace: Pace, window: SendWindow, at: float, rtt: float) -> float:
    """Send up to the window, get the ack ``rtt`` later; returns the time after."""
    batch = window.due(at, 10**9)
    window.sent(batch.last)
    pace.sent(batch.last, at)
    pace.on_ack(window, batch.last, at + rtt)
    window.on_ack(batch.last, at + rtt)
    return at + rtt


def test_a_connect_starts_small_and_a_quick_hub_opens_the_window_to_its_maximum() -> None:
    pace, window = paced()
    assert window.window == START
    at = 0.0
    for _ in range(10):
        at = round_trip(pace, window, at, 0.01)
    assert window.window == 1000
    window.on_connect(at)
    pace.on_connect(window)
    assert window.window == START  # a reconnect (a storm) starts small again


def test_a_busy_hub_grows_the_window_slowly_and_a_slow_one_shrinks_it_to_the_start() -> None:
    pace, window = paced()
    at = round_trip(pace, window, 0.0, TARGET_RTT / 2)
    assert window.window == 2 * START  # busy: one START more, not double
    at = round_trip(pace, window, at, TARGET_RTT / 2)
    assert window.window == 3 * START
    for _ in range(5):
        at = round_trip(pace, window, at, TARGET_RTT * 4)
    assert window.window == START  # never under the start


def test_only_an_ack_covering_the_probe_resizes() -> None:
    pace, window = paced()
    window.sent(8)
    pace.sent(8, 0.0)
    pace.on_ack(window, 5, 0.001)  # does not cover seq 8: no verdict yet
    assert window.window == START
    pace.on_ack(window, 8, 0.002)
    assert window.window == 2 * START


def test_the_resend_wait_follows_a_slow_hub_but_stays_within_bounds() -> None:
    pace, window = paced()
    at = 0.0
    for _ in range(30):
        at = round_trip(pace, window, at, 10.0)
    assert 25.0 <= window.resend_after <= RESEND_MOST  # ~3 round trips of 10 s
    for _ in range(60):
        at = round_trip(pace, window, at, 0.01)
    assert window.resend_after == 5.0  # the configured floor again
    for _ in range(60):
        at = round_trip(pace, window, at, 1000.0)
    assert window.resend_after == RESEND_MOST


def test_when_the_hub_reads_batches_the_floor_is_one_full_message() -> None:
    pace, window = paced()
    pace.batch = 100
    pace.on_connect(window)
    assert pace.floor == 100 and window.window == 100  # one message of 100 events
    assert pace.messages(window) == START  # but never more messages out than before
    at = 0.0
    for _ in range(4):
        at = round_trip(pace, window, at, TARGET_RTT * 4)  # a storm: the hub is slow
    assert window.window == 100  # never under one full message
    for _ in range(6):
        at = round_trip(pace, window, at, 0.01)
    assert window.window == 1000 and pace.messages(window) == 10  # a node draining alone
    small = Pace(50, batch=100)
    assert small.floor == 50  # never over the configured window
    assert Pace(1000).floor == START and Pace(1000, batch=1).floor == START  # an older hub


def test_a_resend_probe_is_acked_slowly_and_the_window_goes_back_to_the_floor() -> None:
    pace, window = paced()
    pace.batch = 100
    pace.on_connect(window)
    batch = window.due(0.0, 10**6)
    window.sent(batch.last)
    pace.sent(batch.last, 0.0)
    probe = window.due(5.0, 10**6)  # no ack in resend_after: one probe
    assert (probe.first, probe.last, probe.resend) == (1, 1, True)
    window.sent(probe.last)
    pace.sent(probe.last, 5.0)
    pace.on_ack(window, 100, 30.0)  # the hub reaches the originals 30 s in (a storm)
    window.on_ack(100, 30.0)
    assert window.window == 100  # back to one full message, not one event
    assert window.due(30.0, 10**6).first == 101


def test_messages_out_are_counted_until_an_ack_covers_them_or_a_resend_starts_again() -> None:
    pace, window = paced()
    pace.batch = 100
    pace.on_connect(window)
    for last in (1, 2, 3):  # three single events went out, one message each
        pace.sent_message(last)
    assert pace.room(window, 4) == START - 3
    pace.on_ack(window, 2, 0.1)  # covers the first two messages
    assert pace.room(window, 4) == START - 1
    assert pace.room(window, 3) == START  # a resend from seq 3: what was out is not counted twice
    pace.sent_message(3)
    pace.on_connect(window)  # a reconnect: nothing is out any more
    assert pace.room(window, 3) == START
