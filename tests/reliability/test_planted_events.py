"""A planted event cannot displace the real one (issue 9, point 3), with real processes: a real
broker, a real ``acorn-hub serve`` and two real ``acorn-edge run`` agents.

A client holding store A's broker credentials publishes an event two seqs ahead of the node; the
node then records its real returns. The hub must keep the node's own events (it asks the node),
dead-letter the planted one, keep store A's stream moving, and store B must not notice.
"""

from __future__ import annotations

from typing import Any, cast

import pytest

from protocol import (
    Channel,
    Money,
    ReturnItem,
    ReturnReceived,
    TopicKind,
    encode,
    make_envelope,
    node_topic,
    utc_now,
)
from tests.e2e.conftest import System, a_return
from tests.e2e.conftest import system as _system  # noqa: F401 - the e2e fixture, as `_system`
from tests.support.broker import Probe
from tests.support.http_calls import http_get, http_post
from tests.support.procs import wait_for

WAIT = 60.0


@pytest.fixture
def running(request: pytest.FixtureRequest) -> System:
    """The e2e system: broker, hub, store-a and store-b agents, each a real process."""
    return cast(System, request.getfixturevalue("_system"))


def health(url: str) -> dict[str, Any]:
    answer: dict[str, Any] = http_get(f"{url}/api/health", timeout=5).json()
    return answer


def record(url: str, n: int) -> str:
    """Record a return (no refund) at a counter; return its id."""
    created = http_post(f"{url}/api/returns", json={**a_return(n), "request_refund": False},
                        timeout=10)
    assert created.status_code == 201, created.text
    return str(created.json()["return_id"])


def settled(url: str) -> dict[str, Any] | None:
    """The edge's health once the hub has acked everything it wrote."""
    now = health(url)
    return now if now["broker_connected"] and now["outbox_pending"] == 0 else None


def plant(system: System, seq: int) -> str:
    """Publish a forged return on store A's events topic with its own credentials and client
    id (what a stolen password allows); return the planted message id."""
    creds = system.creds["store-a"]
    forged = make_envelope("store-a", "n1", seq, ReturnReceived(
        return_id="PLANTED-1", channel=Channel.POS, reason="planted",
        items=[ReturnItem(sku="SKU-X", quantity=1, unit_price=Money.of("999.99", "USD"))],
        received_at=utc_now()))
    attacker = Probe(creds, client_id=creds.username)
    try:
        attacker.publish(node_topic("store-a", "n1", TopicKind.EVENTS), encode(forged))
    finally:
        attacker.close()
    return forged.id


def hub_returns(system: System, store: str) -> dict[str, str]:
    rows = system.hub_sql("SELECT return_id, reason FROM returns WHERE store_id = :s", s=store)
    return {r["return_id"]: r["reason"] for r in rows}


def test_an_event_planted_two_seqs_ahead_cannot_displace_the_nodes_real_events(
        running: System) -> None:
    """Promise: nothing recorded at a counter is lost, and an event planted ahead of a node is
    dead-lettered after the node confirmed which event it really wrote; nothing stalls, and
    another store's traffic is unaffected."""
    system = running
    edge_a, edge_b = system.edge_a.url, system.edge_b.url
    first = record(edge_a, 1)
    before = wait_for(lambda: settled(edge_a), WAIT, "store A's first return acked")
    planted_seq = before["next_seq"] + 1  # two ahead of the last seq the node used
    planted_id = plant(system, planted_seq)
    wait_for(lambda: system.hub_sql("SELECT seq FROM inbox WHERE message_id = :m", m=planted_id),
             WAIT, "the planted event held at the hub")

    real = [record(edge_a, 2), record(edge_a, 3)]  # seqs planted_seq - 1 and planted_seq
    at_b = record(edge_b, 4)
    after = wait_for(lambda: settled(edge_a), WAIT, "store A's real returns acked")
    wait_for(lambda: at_b in hub_returns(system, "store-b"), WAIT, "store B's return at the hub")

    returns_a = hub_returns(system, "store-a")
    assert returns_a == {first: "changed mind #1", real[0]: "changed mind #2",
                         real[1]: "changed mind #3"}
    letters = system.hub_sql("SELECT reason FROM dead_letters")
    assert [d for d in letters if planted_id in d["reason"]], letters
    outcomes = {r["message_id"]: r["outcome"] for r in system.hub_sql(
        "SELECT message_id, outcome FROM event_claims WHERE seq = :s", s=planted_seq)}
    assert outcomes[planted_id] == "planted" and "kept" in outcomes.values()
    node = system.hub_sql("SELECT contiguous_seq FROM nodes WHERE store_id = 'store-a'")[0]
    assert node["contiguous_seq"] == after["next_seq"] - 1 == after["last_acked_seq"]

    later = record(edge_a, 5)  # the stream moves on
    wait_for(lambda: later in hub_returns(system, "store-a"), WAIT, "a later return at the hub")
