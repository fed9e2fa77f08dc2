"""The store config from the hub: applied when newer, refused when forged or broken, never a crash;
shown without hashes; and over MQTT, as the hub publishes it (retained, real broker)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.staff import store_config
from edge_agent.storage import audit
from edge_agent.storage.store import Store
from protocol import StaffPin, config_topic, utc_now
from tests.edge.conftest import Running, make_settings, running_agent, wait_until
from tests.edge_auth.conftest import NODE, STORE, config_payload, pin_hash, staff_pins
from tests.support.broker import Probe, TestBroker


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "edge.db", STORE, NODE)
    yield opened
    opened.close()


def receive(store: Store, payload: bytes) -> store_config.Received:
    return store_config.receive(store, STORE, payload, utc_now())


def held_version(store: Store) -> int | None:
    with store.read() as tx:
        return store_config.version(tx)


def test_a_newer_config_is_applied_and_audited(store: Store) -> None:
    assert receive(store, config_payload(1)).result == "applied"
    assert receive(store, config_payload(3, staff=staff_pins({"eve": ("store_manager", "1234")}),
                                          limit=None)).result == "applied"
    with store.read() as tx:
        held = store_config.held(tx)
        entries = tx.all("SELECT * FROM audit WHERE action = 'store_config.applied' ORDER BY id")
        assert audit.verify(tx) is None
    assert held is not None and held.version == 3
    assert held.staff == [("eve", "store_manager")] and held.offline_refund_limit is None
    assert [json.loads(e["after"])["version"] for e in entries] == [1, 3]
    assert "scrypt" not in json.dumps(entries)  # hashes never reach the audit


def test_an_older_or_equal_version_is_ignored(store: Store) -> None:
    receive(store, config_payload(5))
    assert receive(store, config_payload(4, staff=[])).result == "ignored"
    assert receive(store, config_payload(5, staff=[])).result == "ignored"  # the retained copy
    with store.read() as tx:
        assert store_config.version(tx) == 5 and store_config.signin_required(tx)


def bad_pin(staff_id: str = "bob") -> StaffPin:
    return StaffPin(staff_id=staff_id, role="store_staff", pin_hash="scrypt$1048576$8$1$AA$AA")


@pytest.mark.parametrize(("payload", "why"), [
    (config_payload(9, store="store-b"), "for store store-b"),
    (config_payload(9, node="counter-2"), "not the hub"),
    (config_payload(9, seq=8), "seq 8 is not the version 9"),
    (config_payload(9, staff=[*staff_pins(), bad_pin()]), "staff.2"),
    (config_payload(9, staff=[*staff_pins(), *staff_pins({"ann": ("store_manager", "9999")})]),
     "appears twice"),
    (b'{"kind": "store.config", "version": 9}', "invalid store.config"),
    (b"\xff\xfe not json", "not valid UTF-8 JSON"),
    (b"x" * (300 * 1024), "exceeds"),
    (json.dumps({**json.loads(config_payload(9)), "kind": "return.expected"}).encode(),
     "kind"),
])
def test_a_bad_config_is_refused_and_the_old_one_stays(store: Store, payload: bytes,
                                                       why: str) -> None:
    receive(store, config_payload(1))
    outcome = receive(store, payload)
    assert outcome.result == "refused" and why in outcome.detail
    with store.read() as tx:
        assert store_config.version(tx) == 1 and why in (store_config.last_refusal(tx) or "")
        assert store_config.member(tx, "ann") is not None


def test_config_and_health_show_the_version_and_no_hashes(tmp_path: Path) -> None:
    with running_agent(make_settings(tmp_path), connect=False) as run:
        assert run.http.get("/api/health").json()["config_version"] is None
        assert run.http.get("/api/config").json()["configured"] is False
        store_config.receive(run.agent.store, STORE, config_payload(2), utc_now())
        health = run.http.get("/api/health").json()
        assert health["config_version"] == 2 and health["signin_required"] is True
        answer = run.http.get("/api/config", headers={"Authorization": "Bearer nope"})
        assert answer.status_code == 401  # guarded once staff exist
        text = _config_as_manager(run)
        assert "scrypt" not in text and pin_hash("4711") not in text
        config = json.loads(text)
        assert config["version"] == 2 and config["policy_version"] == 3
        assert config["offline_refund_limit"] == {"amount": "50.00", "currency": "EUR"}
        assert config["staff"] == [{"staff_id": "ann", "role": "store_staff"},
                                   {"staff_id": "max", "role": "store_manager"}]


def _config_as_manager(run: Running) -> str:
    assert run.http.post("/api/session", json={"staff_id": "max", "pin": "8080"}).status_code == 201
    return run.http.get("/api/config").text


def test_the_hub_s_retained_config_reaches_the_agent_over_mqtt(tmp_path: Path,
                                                                broker: TestBroker) -> None:
    hub = Probe(broker.hub_creds())
    try:
        hub.publish(config_topic(STORE), config_payload(1), retain=True)  # before the agent runs
        settings = make_settings(tmp_path, broker.node_creds(STORE, NODE))
        with running_agent(settings) as run:
            wait_until(lambda: run.http.get("/api/health").json()["config_version"] == 1)
            hub.publish(config_topic(STORE), config_payload(4, limit=None), retain=True)
            wait_until(lambda: run.http.get("/api/health").json()["config_version"] == 4)
            hub.publish(config_topic(STORE), config_payload(3, staff=[]), retain=True)
            hub.publish(config_topic(STORE), config_payload(7, store="store-b"), retain=True)
            hub.publish(config_topic(STORE), b"{broken", retain=True)
            wait_until(lambda: _refusal(run) == "not valid UTF-8 JSON")
            assert run.http.get("/api/health").json()["config_version"] == 4
            with run.agent.store.read() as tx:
                assert store_config.signin_required(tx)  # version 3's empty list was ignored
            assert run.agent.link is not None and run.agent.link.connected  # no crash
    finally:
        hub.close()


def _refusal(run: Running) -> str | None:
    with run.agent.store.read() as tx:
        refusal = store_config.last_refusal(tx)
    return "not valid UTF-8 JSON" if refusal and "UTF-8 JSON" in refusal else refusal
