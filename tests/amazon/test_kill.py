"""``acorn-hub amazon sync`` killed half-way (SIGKILL) and run again ends in the same state as an
uninterrupted sync: same rows, no duplicates, every store drop-off announced once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, func, select

from hub.amazon.accounts import Account
from hub.amazon.settings import AmazonSettings
from hub.storage.engine import reading, writing
from hub.storage.outbox import ensure_node
from hub.storage.tables.amazon import amazon_orders
from hub.storage.tables.core import commands
from tests.amazon.conftest import Sim
from tests.amazon.helpers import TWO_ACCOUNTS, VOLATILE, add_accounts, snapshot, sync

ROOT = Path(__file__).resolve().parents[2]
STORES = ("store-us-nyc-01", "store-us-bos-02", "store-ca-tor-01", "store-de-ber-01")


def _cli(db_url: str, settings: AmazonSettings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ACORN_HUB_DATABASE_URL": db_url,
        "ACORN_HUB_AMAZON_SECRETS_FILE": str(settings.secrets_file),
        "ACORN_HUB_AMAZON_RATE_FACTOR": str(settings.rate_factor),
        "ACORN_HUB_AMAZON_BACKFILL_DAYS": str(settings.backfill_days),
        "ACORN_HUB_AMAZON_POSTED_LAG_SECONDS": "0",
        "ACORN_HUB_AMAZON_REPORT_POLL_SECONDS": "0.4",
    }  # slow reports: something to kill
    return subprocess.Popen(
        [sys.executable, "-m", "hub", "amazon", "sync"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _orders(engine: Engine) -> int:
    with reading(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(amazon_orders)).scalar_one())


def _prepare(engine: Engine, sim: Sim, settings: AmazonSettings) -> list[Account]:
    accounts = add_accounts(engine, sim, settings, TWO_ACCOUNTS)
    with writing(engine) as tx:
        for store in STORES:
            ensure_node(tx.conn, store, "counter-1", tx.now)
    return accounts


def _announced(engine: Engine) -> Counter[tuple[str, str, str]]:
    with reading(engine) as conn:
        rows = conn.execute(select(commands).where(commands.c.kind == "return.expected")).all()
    return Counter((r.store_id, r.node_id, r.body["rma_id"]) for r in rows)


def test_a_sync_killed_half_way_resumes_to_the_same_state(
    engine: Engine,
    db_url: str,
    lite: Engine,
    make_sim: Callable[..., Sim],
    amazon_settings: AmazonSettings,
) -> None:
    # All seeded history lies inside the backfill, so both runs see exactly the same data.
    sim = make_sim(history_days=20, orders_per_day=6)
    reference = _prepare(lite, sim, amazon_settings)
    assert all(r.ok for r in sync(lite, amazon_settings, reference).values())

    _prepare(engine, sim, amazon_settings)
    first = _cli(db_url, amazon_settings)
    deadline = time.monotonic() + 30
    while _orders(engine) == 0 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    assert first.wait(10) == -signal.SIGKILL, "the sync ended before it could be killed"
    assert first.stderr is not None
    first.stderr.close()
    assert snapshot(engine, VOLATILE) != snapshot(lite, VOLATILE), "nothing was left to resume"

    again = _cli(db_url, amazon_settings)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err.decode()[-3000:]
    assert snapshot(engine, VOLATILE) == snapshot(lite, VOLATILE)
    assert set(_announced(engine).values()) == {1} and _announced(engine) == _announced(lite)
