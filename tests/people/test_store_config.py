"""Staff PINs and offline limits reach the store as a retained ``store.config``; offline
approvals are checked again by the hub when they sync."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from hub.access import pins
from hub.access.passwords import verify
from hub.access.permissions import Role
from hub.fleet import stores
from hub.policy import compile_policy, default_policy
from hub.refunds.facts import Known
from hub.refunds.projection import Loaded, Projector
from hub.storage.bulk import insert_rows
from hub.storage.engine import reading, writing
from hub.storage.tables.core import stores as stores_table
from hub.sync.config_push import WRITE_CHUNK, sync_once
from protocol import (
    Channel,
    Money,
    RefundRequested,
    config_topic,
    decode,
    make_envelope,
    utc_now,
)
from tests.hub.conftest import RunningHub
from tests.hub.helpers import wait_for
from tests.people.conftest import SETUP, add_user
from tests.support.broker import Probe, TestBroker
from tests.support.databases import statements_sent


@dataclass
class FakeLink:
    """An MQTT connection stand-in that records what is published (or refuses, offline)."""

    online: bool = True
    sent: list[tuple[str, dict[str, object], bool]] = field(default_factory=list)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        if self.online:
            envelope = decode(payload, expect=frozenset({"store.config"}))
            assert envelope.seq == envelope.body.version  # type: ignore[attr-defined]
            self.sent.append((topic, envelope.body.model_dump(mode="json"), retain))
        return self.online


def test_the_document_carries_limit_pin_hashes_and_policy_version() -> None:
    when = utc_now()
    doc = pins.store_config(
        "s1",
        3,
        when,
        Money.of("150.00", "USD"),
        [{"staff_id": "k1", "role": "store_staff", "pin_hash": "scrypt$x"}],
        7,
    )
    assert doc["kind"] == "store.config" and doc["schema"] == 1 and doc["version"] == 3
    assert doc["offline_refund_limit"] == {"amount": "150.00", "currency": "USD"}
    assert doc["policy_version"] == 7 and doc["issued_at"].endswith("Z")
    later = {**doc, "version": 4, "issued_at": "2099-01-01T00:00:00Z"}
    assert pins.content_hash(doc) == pins.content_hash(later)
    assert pins.content_hash(doc) != pins.content_hash({**doc, "policy_version": 8})


def test_sync_publishes_changes_only_and_retries_while_offline(engine: Engine) -> None:
    stores.set_store(engine, "s1", SETUP, region="north", limit=Decimal("150.00"), currency="USD")
    stores.set_store(engine, "s2", SETUP, region="north")
    link = FakeLink()
    assert sync_once(engine, link) == 2
    assert {(t, d["version"], r) for t, d, r in link.sent} == {
        (config_topic("s1"), 1, True),
        (config_topic("s2"), 1, True),
    }
    assert sync_once(engine, link) == 0
    pins.set_pin(engine, "s1", "k1", "4821", Role.STORE_STAFF, SETUP)
    link.online = False
    assert sync_once(engine, link) == 0  # offline: nothing saved, tried again next pass
    link.online = True
    assert sync_once(engine, link) == 1
    topic, doc, _ = link.sent[-1]
    assert (topic, doc["version"]) == (config_topic("s1"), 2)
    staff = doc["staff"]
    assert isinstance(staff, list) and staff[0]["staff_id"] == "k1"
    assert verify("4821", staff[0]["pin_hash"]) and "4821" not in json.dumps(doc)
    assert sync_once(engine, link, force=True) == 2  # after a reconnect: everything again
    assert [d["version"] for _, d, _ in link.sent[-2:]] == [2, 1]


def test_a_pin_set_through_the_api_reaches_the_stores_nodes(
    mqtt_hub: RunningHub, broker: TestBroker
) -> None:
    add_user(mqtt_hub.engine, "ada", Role.ADMIN)
    client = mqtt_hub.client
    login = client.post(
        "/api/session", json={"username": "ada", "password": "a long enough secret"}
    )
    headers = {"X-CSRF-Token": login.json()["csrf"]}
    assert (
        client.put(
            "/api/stores/store-a",
            json={"region": "north", "offline_limit": {"amount": "100.00", "currency": "USD"}},
            headers=headers,
        ).status_code
        == 200
    )
    answer = client.put(
        "/api/stores/store-a/pins/k1",
        json={"pin": "4821", "role": "store_manager"},
        headers=headers,
    )
    assert answer.status_code == 204, answer.text
    node = Probe(broker.node_creds("store-a", "n1"))
    try:
        node.subscribe(config_topic("store-a"))

        def config() -> dict[str, Any] | None:
            docs = [decode(m.payload).body.model_dump(mode="json") for m in list(node.messages)]
            return next((d for d in reversed(docs) if d["staff"]), None)

        doc = wait_for(config, what="the store config with the PIN")
        assert doc is not None
        assert doc["offline_refund_limit"] == {"amount": "100.00", "currency": "USD"}
        assert doc["staff"][0]["role"] == "store_manager"
    finally:
        node.close()
    client.cookies.clear()  # the client is shared with the fixture: sign out of it


class OfflineRefund(RefundRequested):
    """A refund request carrying the field the protocol does not have yet (see the report)."""

    approved_offline_by: str | None = None


def _decide_offline(amount: str, limit: Money | None) -> tuple[dict[str, object], list[str]]:
    now = utc_now()
    ret = {
        "store_id": "s1",
        "return_id": "R1",
        "order_id": None,
        "marketplace_id": None,
        "grade": None,
        "mismatch": False,
    }
    line = {"unit_price": Decimal(amount), "quantity": 1, "currency": "USD", "category": None,
            "opened": None}
    loaded = Loaded(
        returns={("s1", "R1"): ret},
        policy=compile_policy(default_policy()),
        known=Known(lines={("s1", "R1"): [line]}, offline_limits={"s1": limit}),
    )
    body = OfflineRefund(
        refund_id="F1",
        return_id="R1",
        amount=Money.of(amount, "USD"),
        channel=Channel.POS,
        requested_by="k1",
        requested_at=now - timedelta(minutes=5),
        approved_offline_by="k1",
    )
    plain = RefundRequested.model_validate(body.model_dump(exclude={"approved_offline_by"}))
    event = make_envelope("s1", "n1", 2, plain).model_copy(update={"body": body})
    projector = Projector(loaded, now)
    projector.apply(event)
    row = projector.changes.refunds_new[("s1", "F1")]
    return row, [d.action for d in projector.changes.audit]


def test_an_offline_approval_within_the_store_limit_stands() -> None:
    row, actions = _decide_offline("120.00", Money.of("150.00", "USD"))
    assert (row["state"], row["outcome"], row["decided_by"]) == ("approved", "approved", "store:k1")
    assert actions == ["refund.requested", "refund.decided"]


def test_an_offline_approval_above_the_limit_is_flagged_and_audited() -> None:
    for limit in (Money.of("100.00", "USD"), None):
        row, actions = _decide_offline("120.00", limit)
        assert (row["state"], row["outcome"], row["approval_level"]) == (
            "pending_approval",
            "manual_review",
            2,
        )
        assert "flagged for review" in row["reasons"][-1]  # type: ignore[index]
        assert actions == ["refund.requested", "refund.offline_over_limit"]


def test_a_pass_over_many_stores_saves_them_in_one_statement_a_chunk(engine: Engine) -> None:
    # a thousand stores coming online at once: saving their configs' hashes holds the writers'
    # lock, so each chunk is one statement on PostgreSQL, not an executemany of a row each
    count = WRITE_CHUNK * 2 + 200
    with writing(engine) as tx:
        insert_rows(tx.conn, stores_table, [{"store_id": f"bulk-{n:04d}", "created_at": tx.now}
                                            for n in range(count)])
    many: list[bool] = []
    with statements_sent(engine, many) as seen:
        assert sync_once(engine, FakeLink()) == count
    saves = [each for statement, each in zip(seen, many, strict=True)
             if statement.lstrip().upper().startswith("UPDATE STORES")]
    assert len(saves) == 3  # 500 + 500 + 200
    if engine.dialect.name == "postgresql":
        assert not any(saves)
    with reading(engine) as conn:
        versions = conn.execute(select(stores_table.c.config_version, stores_table.c.config_hash)
                                .where(stores_table.c.store_id.like("bulk-%"))).all()
    assert len(versions) == count and {v for v, _ in versions} == {1}
    assert all(h is not None and len(h) == 64 for _, h in versions)
    assert sync_once(engine, FakeLink()) == 0  # every hash saved: nothing left to publish
