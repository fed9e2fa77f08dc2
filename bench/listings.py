"""Benchmark: Amazon quantities (issue 13 point 6). Prints figures beside targets; asserts nothing.

(a) 10,000 SKU quantity changes for one seller and marketplace, queued (diffed against the
    outbox) and sent as one JSON_LISTINGS_FEED to the SP-API simulator at Amazon's own rates
    (``rate_factor`` 1). The floor Amazon's limits set for the same 10,000 changes sent one
    patchListingsItem each is (10,000 - burst 5) / 5 per second = 1,999 s; a feed needs four
    requests (createFeedDocument, createFeed, getFeed, getFeedDocument), all within their bursts,
    so its floor is the simulator's processing time only. Target: well under a minute.
(b) 100 changes sent one patchListingsItem each at Amazon's rate (5/s, burst 5): actual against
    the floor (100 - 5) / 5 = 19 s. Target: actual / floor <= 1.1, no 429.

Run: ``.venv/bin/python -m bench.listings``.
"""

from __future__ import annotations

import logging
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import uvicorn
import yaml  # type: ignore[import-untyped]

from hub.amazon.accounts import add_account, new_account
from hub.amazon.client.ratelimit import DOCUMENTED, Limiter, floor_seconds
from hub.amazon.listings import outbox
from hub.amazon.listings.diff import Offered
from hub.amazon.secrets import SecretSource
from hub.amazon.settings import AmazonSettings
from hub.amazon.sync.runner import Runner, run_jobs
from hub.storage.engine import make_engine
from hub.storage.migrations import upgrade
from spapi_sim import SimulatorSettings, create_app
from spapi_sim.listings import Listing
from spapi_sim.simulator import Simulator

US = "ATVPDKIKX0DER"
SIM = SimulatorSettings(seed=5, accounts=1, rate_factor=Decimal(1), history_days=1,
                        orders_per_day=0, job_step_seconds=0.5, job_step_polls=1,
                        anchor=datetime(2026, 3, 1, tzinfo=UTC))


@contextmanager
def simulator(settings: SimulatorSettings) -> Iterator[tuple[str, Simulator]]:
    """The simulator served in a thread on a free loopback port."""
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", ws="none",
                                           http="h11"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", app.state.simulator
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _list(sim: Simulator, seller_id: str, skus: list[str]) -> None:
    now = SIM.anchor
    for sku in skus:
        sim.listings.put(Listing(seller_id, sku, US, "B0BENCH000", sku, "PRODUCT", 0, now, now))


def _run(folder: Path, count: int, threshold: int) -> tuple[float, float, dict[str, object]]:
    """(seconds to queue, seconds to send, simulator stats) for ``count`` changes."""
    with simulator(SIM) as (url, sim):
        seller = next(iter(sim.accounts.values()))
        skus = [f"BENCH-{i:05d}" for i in range(count)]
        _list(sim, seller.seller_id, skus)
        db_url = f"sqlite:///{folder / f'bench-{count}.db'}"
        upgrade(db_url)
        engine = make_engine(db_url)
        secrets = folder / f"secrets-{count}.yaml"
        secrets.write_text(yaml.safe_dump({"accounts": {"na": {
            "client_id": seller.client_id, "client_secret": seller.client_secret,
            "refresh_token": seller.refresh_token}}}))
        secrets.chmod(0o600)
        account = new_account("na", seller.seller_id, "NA", ["US"], url)
        add_account(engine, account, "bench")
        settings = AmazonSettings(secrets_file=secrets, rate_factor=1.0,
                                  report_poll_seconds=0.2, listings_feed_threshold=threshold)
        offers = [Offered("na", US, sku, 7) for sku in skus]
        started = time.perf_counter()
        outbox.enqueue(engine, offers, "bench", "operator")
        queued = time.perf_counter() - started
        runner = Runner(engine, settings, Limiter(factor=1.0),
                        SecretSource(environ={}, secrets_file=secrets))
        started = time.perf_counter()
        run_jobs(runner, [account], ["listings"])
        sent = time.perf_counter() - started
        counts = outbox.counts(engine)
        stats = httpx.get(f"{url}/_sim/stats").json()["operations"]
        engine.dispose()
        shown = sum(sim.listings.get(seller.seller_id, s, US).quantity == 7  # type: ignore[union-attr]
                    for s in skus)
        return queued, sent, {"counts": counts, "stats": stats, "at_amazon": shown}


def main() -> None:
    """Print the figures."""
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        queued, sent, facts = _run(folder, 10_000, threshold=50)
        patch_floor = floor_seconds(10_000, DOCUMENTED["patchListingsItem"])
        print(f"(a) 10,000 changes: queued in {queued:.2f} s, sent as one JSON_LISTINGS_FEED and "
              f"its report recorded in {sent:.1f} s; Amazon shows {facts['at_amazon']} of "
              f"10,000; outbox {facts['counts']}")
        print(f"    floor for the same changes one patch each: {patch_floor:.0f} s "
              f"({patch_floor / max(sent, 1e-9):.0f}x slower); requests: "
              f"{ {k.split('/')[1]: v for k, v in facts['stats'].items()} }")  # type: ignore[union-attr]
        queued, sent, facts = _run(folder, 100, threshold=1000)
        floor = floor_seconds(100, DOCUMENTED["patchListingsItem"])
        stats = {k.split("/")[1]: v for k, v in facts["stats"].items()}  # type: ignore[union-attr]
        print(f"(b) 100 patches at 5/s burst 5: {sent:.1f} s vs floor {floor:.0f} s "
              f"(ratio {sent / floor:.2f}, target <= 1.1); patchListingsItem "
              f"{stats.get('patchListingsItem')}")


if __name__ == "__main__":
    main()
