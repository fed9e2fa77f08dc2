"""Each device speaks only for its own store: the broker's ACL and the hub's own check."""

from __future__ import annotations

import json
from pathlib import Path

import protocol as p
from tests.e2e.conftest import System, a_return
from tests.support.broker import Probe
from tests.support.http_calls import http_get, http_post
from tests.support.procs import wait_for

FIXTURES = Path(__file__).parents[1] / "fixtures" / "protocol" / "v1"


def event_as(store: str, node: str, seq: int, marker: str) -> bytes:
    """A valid return.received envelope claiming to come from ``store``/``node``."""
    data = json.loads((FIXTURES / "return.received.json").read_text())
    data.update(store_id=store, node_id=node, seq=seq, id=p.new_message_id())
    data["body"]["return_id"] = marker
    return json.dumps(data).encode()


def test_store_a_cannot_publish_or_subscribe_on_store_b_topics(system: System) -> None:
    watcher = Probe(system.broker.admin_creds())
    watcher.subscribe("acorn/v1/stores/+/nodes/+/events")
    # a second store-a identity: store-a's own n1 login is bound to the running edge's client id
    intruder = Probe(system.broker.node_creds("store-a", "n2"))
    try:
        b_events = p.node_topic("store-b", "n1", p.TopicKind.EVENTS)
        intruder.publish(b_events, event_as("store-b", "n1", 1, "FORGED-B"))
        # a later message on A's own topic: MQTT keeps one client's order, so if the forged one
        # had passed the broker, the watcher would have it before this one
        own = p.node_topic("store-a", "n2", p.TopicKind.EVENTS)
        intruder.publish(own, b"marker")
        wait_for(lambda: any(m.payload == b"marker" for m in watcher.messages), 10, "marker")
        assert all(m.topic != b_events for m in watcher.messages)
        refused = intruder.subscribe(p.node_topic("store-b", "n1", p.TopicKind.COMMANDS))
        assert all(code.is_failure for code in refused)
        allowed = intruder.subscribe(p.node_topic("store-a", "n2", p.TopicKind.COMMANDS))
        assert not any(code.is_failure for code in allowed)
    finally:
        intruder.close()
        watcher.close()


def test_forged_and_malformed_messages_are_dead_lettered_and_hub_keeps_serving(
    system: System,
) -> None:
    token = system.token()
    own = p.node_topic("store-a", "n2", p.TopicKind.EVENTS)
    probe = Probe(system.broker.node_creds("store-a", "n2"))  # n1's login is the running edge's
    try:
        probe.publish(own, event_as("store-b", "n1", 1, "CLAIMS-TO-BE-B"))  # wrong store in body
        probe.publish(own, b"\x00\xffnot json at all")
        probe.publish(own, b'{"kind": "return.received", "body": {}}')
    finally:
        probe.close()

    def dead_letters() -> list[dict[str, object]]:
        return list(system.hub_get("/api/dead-letters", token)["items"])

    letters = wait_for(lambda: len(dead_letters()) >= 3 and dead_letters(), 20, "dead letters")
    reasons = " | ".join(str(d["reason"]) for d in letters)
    assert "store-b" in reasons, reasons
    assert system.hub_return_count("store-b") == 0
    created = http_post(f"{system.edge_a.url}/api/returns", json=a_return(9), timeout=10)
    return_id = created.json()["return_id"]
    wait_for(
        lambda: (
            http_get(
                f"{system.hub.url}/api/returns/{return_id}",
                headers={"Authorization": f"Bearer {token}"},
            ).status_code
            == 200
        ),
        30,
        "a good return after the bad ones",
    )
