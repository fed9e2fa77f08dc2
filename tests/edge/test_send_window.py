"""The outbox sending policy (pure): window, resend after silence, reconnect, gaps."""

from __future__ import annotations

from edge_agent.storage.outbox import SendWindow


def window(**kw: object) -> SendWindow:
    w = SendWindow(window=10, resend_after=5.0, **kw)  # type: ignore[arg-type]
    w.on_connect(now=0.0)
    return w


def test_nothing_is_due_while_disconnected() -> None:
    w = SendWindow(window=10, resend_after=5.0)
    assert not w.due(0.0, last_written=5)
    assert w.deadline(5) is None


def test_sends_in_order_up_to_the_window_beyond_the_last_ack() -> None:
    w = window()
    batch = w.due(0.0, last_written=25)
    assert (batch.first, batch.last, batch.resend) == (1, 10, False)
    w.sent(10)
    assert not w.due(1.0, last_written=25)  # window full until an ack
    assert w.on_ack(4, now=1.0)
    batch = w.due(1.0, last_written=25)
    assert (batch.first, batch.last) == (11, 14)


def test_resends_one_probe_from_the_last_ack_when_the_ack_stalls() -> None:
    w = window()
    w.sent(w.due(0.0, last_written=3).last)
    assert not w.due(4.9, last_written=3)
    assert w.deadline(3) == 5.0
    batch = w.due(5.0, last_written=3)
    # one event, not the window again: a slow hub still has the originals queued
    assert (batch.first, batch.last, batch.resend) == (1, 1, True)
    w.sent(batch.last)
    assert not w.due(5.1, last_written=3) and w.window == 1
    assert w.on_ack(1, now=6.0)  # the originals were lost after all: the rest goes next
    batch = w.due(6.0, last_written=3)
    assert (batch.first, batch.last, batch.resend) == (2, 2, False)


def test_an_ack_restarts_the_silence_clock() -> None:
    w = window()
    w.sent(w.due(0.0, last_written=6).last)
    w.on_ack(2, now=4.0)
    assert not w.due(8.0, last_written=6)
    batch = w.due(9.0, last_written=6)
    assert (batch.first, batch.resend) == (3, True)


def test_new_events_after_idle_are_sent_at_once_not_counted_as_resend() -> None:
    w = window()
    w.sent(w.due(0.0, last_written=2).last)
    w.on_ack(2, now=0.1)
    batch = w.due(100.0, last_written=3)
    assert (batch.first, batch.last, batch.resend) == (3, 3, False)


def test_reconnect_resends_everything_not_acked() -> None:
    w = window(last_acked=7, next_to_send=8)
    w.sent(w.due(0.0, last_written=12).last)
    w.on_disconnect()
    assert not w.due(1.0, last_written=12)
    w.on_connect(now=2.0)
    assert (w.due(2.0, last_written=12).first) == 8


def test_old_or_repeated_acks_change_nothing() -> None:
    w = window(last_acked=5, next_to_send=6)
    assert not w.on_ack(5, now=1.0)
    assert not w.on_ack(3, now=1.0)
    assert w.last_acked == 5


def test_a_gap_report_rewinds_once_per_ack_value() -> None:
    w = window()
    w.sent(w.due(0.0, last_written=9).last)
    w.on_ack(3, now=0.5, gap=True)
    assert w.due(0.5, last_written=9).first == 4
    w.sent(9)
    w.on_ack(3, now=0.6, gap=True)  # the same report again: no second rewind
    assert not w.due(0.6, last_written=9)


def test_resends_back_off_while_nothing_is_acked_and_reset_on_progress() -> None:
    w = SendWindow(window=10, resend_after=1.0, resend_max=4.0)
    w.on_connect(now=0.0)
    w.sent(w.due(0.0, last_written=3).last)
    resends = []
    for tick in range(40):
        now = tick * 0.5
        batch = w.due(now, last_written=3)
        if batch.resend:
            resends.append(now)
            w.sent(batch.last)
    assert resends[:5] == [1.0, 3.0, 7.0, 11.0, 15.0]  # waits 1, 2, 4, 4, 4
    w.on_ack(0, now=20.0)  # a hub that is back re-publishes its ack: no advance, but alive
    assert w.wait == 1.0
    assert w.due(21.0, last_written=3).resend
