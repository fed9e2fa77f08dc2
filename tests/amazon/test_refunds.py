"""Approved MFN refunds: sent once (approved twice, retried, crashed), followed to the money."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from hub.amazon.accounts import Account
from hub.amazon.settings import AmazonSettings
from hub.errors import Conflict
from hub.storage import audit_log
from hub.storage.engine import reading
from hub.storage.tables.amazon import amazon_feeds, amazon_refund_submissions
from hub.storage.tables.core import commands
from tests.amazon.conftest import Sim
from tests.amazon.helpers import (
    add_accounts,
    approve,
    mfn_order,
    mfn_refund,
    refund_state,
    sync,
)

US = "ATVPDKIKX0DER"
ROOT = Path(__file__).resolve().parents[2]


def _ready(
    engine: Engine,
    sim: Sim,
    settings: AmazonSettings,
    refund_id: str = "F1",
    extra: Decimal = Decimal(0),
) -> tuple[list[Account], Any]:
    accounts = add_accounts(engine, sim, settings, {"na": (0, ("US",))})
    order = mfn_order(sim, 0, US)
    sync(engine, settings, accounts, ["orders"])
    item = order.items[0]
    mfn_refund(
        engine,
        refund_id,
        order,
        [(item.sku, item.quantity, item.unit_price)],
        item.principal + extra,
    )
    approve(engine, refund_id)
    return accounts, order


def _actions(engine: Engine, refund_id: str) -> list[str]:
    with reading(engine) as conn:
        return [
            e.action for e in audit_log.for_entity(conn, "refund", f"store-us-nyc-01/{refund_id}")
        ]


def _told(engine: Engine, refund_id: str) -> list[dict[str, Any]]:
    """The refund.status bodies queued to the store's node for this refund, in order."""
    with reading(engine) as conn:
        rows = conn.execute(select(commands.c.store_id, commands.c.node_id, commands.c.body)
                            .where(commands.c.kind == "refund.status")
                            .order_by(commands.c.seq)).all()
    assert {(r.store_id, r.node_id) for r in rows} <= {("store-us-nyc-01", "counter-1")}
    return [r.body for r in rows if r.body["refund_id"] == refund_id]


def _feeds(engine: Engine) -> list[dict[str, Any]]:
    with reading(engine) as conn:
        return [dict(r._mapping) for r in conn.execute(select(amazon_feeds))]


def test_an_approved_refund_goes_out_once_and_is_followed_to_settled(
    engine: Engine, sim: Sim, amazon_settings: AmazonSettings
) -> None:
    accounts, _order = _ready(engine, sim, amazon_settings)
    with pytest.raises(Conflict):
        approve(engine, "F1")  # approved twice: the second approval is refused
    runs = [
        threading.Thread(target=sync, args=(engine, amazon_settings, accounts, ["refunds"]))
        for _ in range(2)
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    sync(engine, amazon_settings, accounts, ["refunds"])  # and a retry after the fact
    seller = sim.sellers[0]
    assert sim.requests(seller, "createFeed") == 1
    assert refund_state(engine, "F1") == "submitted"
    (feed,) = _feeds(engine)
    assert feed["status"] == "done" and feed["result"]["successful"] == 1
    assert b"<MerchantAdjustmentItemID>F1</MerchantAdjustmentItemID>" in feed["payload"].encode()

    time.sleep(1.05)  # PostedBefore has whole seconds: the event must be in a past second
    sync(engine, amazon_settings, accounts, ["refund-events"])
    assert refund_state(engine, "F1") == "confirmed"
    sync(engine, amazon_settings, accounts, ["settlements"])
    assert refund_state(engine, "F1") == "settled"
    with reading(engine) as conn:
        sub = conn.execute(select(amazon_refund_submissions)).one()
    assert sub.status == "settled" and sub.items[0]["adjustment_id"]
    assert _actions(engine, "F1")[-3:] == ["refund.submitted", "refund.confirmed", "refund.settled"]
    assert [(b["status"], b["detail"]) for b in _told(engine, "F1")] == [
        ("submitted", ""), ("confirmed", ""), ("settled", "")]  # the store follows the money


@pytest.mark.parametrize("point", ["after-create", "before-create"])
def test_a_crash_around_create_feed_is_reconciled_not_resubmitted(
    engine: Engine, db_url: str, sim: Sim, amazon_settings: AmazonSettings, point: str
) -> None:
    accounts, _order = _ready(engine, sim, amazon_settings)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ACORN_HUB_DATABASE_URL": db_url,
        "ACORN_HUB_AMAZON_SECRETS_FILE": str(amazon_settings.secrets_file),
        "ACORN_HUB_AMAZON_RATE_FACTOR": str(amazon_settings.rate_factor),
        "ACORN_HUB_AMAZON_FEED_LEASE_SECONDS": "0.5",
    }
    crashed = subprocess.run(
        [sys.executable, str(ROOT / "tests/amazon/crashing_cli.py"), point],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert crashed.returncode == -9, crashed.stderr.decode()[-2000:]
    (intent,) = _feeds(engine)
    assert intent["status"] == "intent" and intent["document_id"]
    assert refund_state(engine, "F1") == "submitted"
    seller = sim.sellers[0]
    assert sim.requests(seller, "createFeed") == (1 if point == "after-create" else 0)

    time.sleep(0.6)  # the dead process's lease runs out
    results = sync(engine, amazon_settings, accounts, ["refunds"])
    assert results["na"].ok, results
    assert sim.requests(seller, "createFeed") == 1
    (feed,) = _feeds(engine)
    assert feed["status"] == "done" and feed["result"]["successful"] == 1
    assert sim.requests(seller, "getFeeds") == 1  # looked up, never resubmitted blindly


def test_amazons_feed_error_fails_the_refund_with_its_message(
    engine: Engine, sim: Sim, amazon_settings: AmazonSettings
) -> None:
    accounts, _order = _ready(engine, sim, amazon_settings, extra=Decimal("5000"))
    sync(engine, amazon_settings, accounts, ["refunds"])
    assert refund_state(engine, "F1") == "failed"
    with reading(engine) as conn:
        sub = conn.execute(select(amazon_refund_submissions)).one()
        failed = audit_log.for_entity(conn, "refund", "store-us-nyc-01/F1")[-1]
    assert "exceeds the balance" in (sub.error or "")
    assert failed.action == "refund.failed" and "exceeds the balance" in (failed.reason or "")
    statuses = _told(engine, "F1")
    assert [b["status"] for b in statuses] == ["submitted", "failed"]
    assert "exceeds the balance" in statuses[-1]["detail"]


def test_a_refund_amazon_cannot_express_fails_before_anything_is_sent(
    engine: Engine, sim: Sim, amazon_settings: AmazonSettings
) -> None:
    accounts = add_accounts(engine, sim, amazon_settings, {"na": (0, ("US",))})
    order = mfn_order(sim, 0, US)
    sync(engine, amazon_settings, accounts, ["orders"])
    mfn_refund(engine, "F2", order, [("NOT-IN-ORDER", 1, Decimal("10.00"))], Decimal("10.00"))
    approve(engine, "F2")
    sync(engine, amazon_settings, accounts, ["refunds"])
    assert refund_state(engine, "F2") == "failed"
    assert sim.requests(sim.sellers[0], "createFeed") == 0
    assert "NOT-IN-ORDER is not a line" in (_last_reason(engine, "F2") or "")


def _last_reason(engine: Engine, refund_id: str) -> str | None:
    with reading(engine) as conn:
        return audit_log.for_entity(conn, "refund", f"store-us-nyc-01/{refund_id}")[-1].reason


def test_a_refund_waiting_for_its_inspection_is_not_sent_until_inspected(
    engine: Engine, sim: Sim, amazon_settings: AmazonSettings
) -> None:
    """The policy refunds Amazon sales after inspection: the store's request alone sends
    nothing; the inspection decides it, and only then does the feed go out."""
    from protocol import (
        Channel,
        Grade,
        InspectionRecorded,
        Money,
        RefundRequested,
        ReturnItem,
        ReturnReceived,
        make_envelope,
        utc_now,
    )
    from tests.hub.helpers import ingest

    accounts = add_accounts(engine, sim, amazon_settings, {"na": (0, ("US",))})
    order = mfn_order(sim, 0, US)
    sync(engine, amazon_settings, accounts, ["orders"])
    item = order.items[0]
    unit = Money.of(item.unit_price, order.currency)
    store, node = "store-us-nyc-01", "counter-1"
    ingest(engine, make_envelope(store, node, 1, ReturnReceived(
        return_id="R1", channel=Channel.AMAZON_MFN, reason="damaged", order_id=order.order_id,
        marketplace_id=US, received_at=utc_now(),
        items=[ReturnItem(sku=item.sku, quantity=item.quantity, unit_price=unit)])),
        make_envelope(store, node, 2, RefundRequested(
            refund_id="F1", return_id="R1", amount=Money.of(item.principal, order.currency),
            channel=Channel.AMAZON_MFN, order_id=order.order_id, marketplace_id=US,
            requested_by="clerk-1", requested_at=utc_now())))
    assert refund_state(engine, "F1") == "awaiting_inspection"
    with pytest.raises(Conflict):
        approve(engine, "F1")  # nobody approves it before the inspection either
    sync(engine, amazon_settings, accounts, ["refunds"])
    assert sim.requests(sim.sellers[0], "createFeed") == 0

    ingest(engine, make_envelope(store, node, 3, InspectionRecorded(
        return_id="R1", grade=Grade.LIKE_NEW, inspected_at=utc_now())))
    if refund_state(engine, "F1") == "pending_approval":  # above the auto tier
        approve(engine, "F1")
    sync(engine, amazon_settings, accounts, ["refunds"])
    assert sim.requests(sim.sellers[0], "createFeed") == 1
    assert refund_state(engine, "F1") == "submitted"
