"""A shipment recorded at the hub makes the Amazon scheduler run ``shipments`` at once instead
of waiting for its interval (real scheduler thread, real SQLite database): a package is
confirmed within a tick or so of the store shipping it."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine

from hub.amazon.settings import AmazonSettings
from hub.amazon.sync.scheduler import Scheduler
from hub.inventory.picking import RECORDED
from hub.storage.engine import notify, writing


def _wait(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the timeout"
        time.sleep(0.02)


def test_a_recorded_shipment_runs_the_shipments_job_now(
        lite: Engine, amazon_settings: AmazonSettings) -> None:
    settings = amazon_settings.model_copy(update={"interval_shipments": 86_400.0})
    scheduler = Scheduler(lite, settings, first_delay=3_600, tick=0.05).start()
    try:
        time.sleep(0.3)
        assert scheduler.runs["shipments"] == 0  # nothing due for an hour
        with writing(lite) as tx:
            notify(tx.conn, RECORDED)  # what ingesting an order.shipped does
        _wait(lambda: scheduler.runs["shipments"] == 1)
        assert scheduler.runs["orders"] == 0  # only the shipments job was woken
    finally:
        scheduler.stop()
    with writing(lite) as tx:  # a stopped scheduler no longer listens
        notify(tx.conn, RECORDED)
    time.sleep(0.2)
    assert scheduler.runs["shipments"] == 1
