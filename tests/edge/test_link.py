"""The MQTT link against a real Mosquitto (dynamic security) and a hub stand-in.

Covered: the outbox drains to zero under retained acks; a stalled ack makes the node resend from
the last ack; a command delivered twice is applied and reported once; a refund decision comes back
to GET /api/returns/{id}; presence (online status, last will); a stop with no broker to reach
does not wait out the reconnect delay; the broker's ACL refuses another store's topics; 10,000
buffered events drain whole.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from edge_agent.staff.store_config import EVENT_BATCH_META
from edge_agent.storage import outbox
from edge_agent.storage.store import Store
from edge_agent.sync.link import _Client
from edge_agent.sync.pace import START
from protocol import (
    Channel,
    ExpectedReturn,
    Money,
    NodeStatus,
    RefundDecided,
    RefundOutcome,
    ReturnItem,
    ReturnReceived,
    TopicKind,
    decode,
    node_topic,
    utc_now,
)
from tests.edge.conftest import NODE, STORE, Running, make_settings, running_agent, wait_until
from tests.edge.hub_standin import HubStandIn, approve_all
from tests.support.broker import MqttCreds, Probe, TestBroker
from tests.support.ports import free_port

RETURN = {"channel": "pos", "reason": "changed mind", "staff_id": "ann",
          "items": [{"sku": "SKU-1", "quantity": 2,
                     "unit_price": {"amount": "9.99", "currency": "USD"}}]}


def record(run: Running, n: int = 1) -> list[str]:
    """Record ``n`` returns through the API; their ids."""
    ids = []
    for _ in range(n):
        answer = run.http.post("/api/returns", json=RETURN)
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["return_id"])
    return ids


def health(run: Running) -> dict[str, object]:
    return dict(run.http.get("/api/health").json())


def test_events_drain_to_zero_in_seq_order(tmp_path: Path, node_creds: MqttCreds,
                                           hub: HubStandIn) -> None:
    with running_agent(make_settings(tmp_path, node_creds)) as run:
        record(run, 5)  # 5 returns x (return.received + stock.moved + refund.requested)
        wait_until(lambda: health(run)["outbox_pending"] == 0)
        assert health(run)["last_acked_seq"] == 15
        assert run.rows("outbox") == 0
    assert hub.wait_contiguous(15)
    assert [env.seq for env in hub.deliveries[:15]] == list(range(1, 16))
    assert {env.kind for env in hub.deliveries} == {"return.received", "stock.moved",
                                                    "refund.requested"}


def test_events_recorded_offline_are_sent_when_the_link_comes_up(
        tmp_path: Path, node_creds: MqttCreds, broker: TestBroker) -> None:
    settings = make_settings(tmp_path, node_creds)
    with running_agent(settings, connect=False) as run:
        record(run, 3)
    hub = HubStandIn(broker.hub_creds(), STORE, NODE)
    try:
        with running_agent(settings) as run:
            wait_until(lambda: health(run)["outbox_pending"] == 0)
        assert hub.wait_contiguous(9)
    finally:
        hub.close()


def test_node_resends_from_the_last_ack_when_the_hub_does_not_ack(
        tmp_path: Path, node_creds: MqttCreds, hub: HubStandIn) -> None:
    hub.acking = False
    settings = make_settings(tmp_path, node_creds, resend_after_seconds=0.3)
    with running_agent(settings) as run:
        record(run, 1)
        wait_until(lambda: sum(1 for env in hub.deliveries if env.seq == 1) >= 2)
        assert health(run)["outbox_pending"] == 3  # nothing dropped without an ack
        copies = [env for env in hub.deliveries if env.seq == 1]
        assert len({env.id for env in copies}) == 1  # a resend is the same message...
        assert copies[0].sent_at != copies[1].sent_at  # ...sent again
        hub.acking = True
        wait_until(lambda: health(run)["outbox_pending"] == 0)
        resent = run.http.get("/metrics").text
        assert "acorn_edge_events_resent_total 0.0" not in resent


def test_when_the_hub_reads_batches_a_node_has_no_more_messages_out_than_before(
        tmp_path: Path, node_creds: MqttCreds, hub: HubStandIn) -> None:
    """The window's floor is one full message when the hub reads batches, but the messages a
    node has out stay at the pace's START (the broker's queue is sized for that): events made
    one at a time while the hub does not ack go out START at most; the rest follow the acks,
    packed."""
    hub.acking = False
    settings = make_settings(tmp_path, node_creds, resend_after_seconds=300)
    store = Store.open(settings.db_path, STORE, NODE)
    with store.write() as tx:
        tx.set_meta(EVENT_BATCH_META, "100")  # as the hub's store config leaves it
    store.close()
    with running_agent(settings) as run:
        for n in range(1, START + 1):
            record(run, 1)  # a return: its events go in one message, as it is made
            wait_until(lambda n=n: hub.payloads == n)
        out = len(hub.deliveries)
        record(run, 12)
        time.sleep(1.0)  # room to send more, if the cap let it
        made = health(run)["outbox_pending"]
        assert isinstance(made, int) and made > out
        assert hub.payloads == START and len(hub.deliveries) == out  # nothing more went out
        hub.acking = True
        wait_until(lambda: health(run)["outbox_pending"] == 0)
    assert [env.seq for env in hub.deliveries] == list(range(1, made + 1))  # once, in order
    assert hub.payloads < START + 12  # the twelve returns that waited went packed


def test_returns_recorded_while_the_broker_is_down_are_delivered_after(
        tmp_path: Path, node_creds: MqttCreds, hub: HubStandIn, broker: TestBroker) -> None:
    settings = make_settings(tmp_path, node_creds, mqtt_reconnect_max_seconds=1)
    with running_agent(settings) as run:
        record(run)
        assert hub.wait_contiguous(3)
        broker.stop()
        wait_until(lambda: not health(run)["broker_connected"])
        before = health(run)["outbox_pending"]
        record(run, 20)  # the counter does not wait for the network: each is kept to send later
        assert health(run)["outbox_pending"] >= before + 20
        broker.start()
        wait_until(lambda: health(run)["outbox_pending"] == 0, timeout=20)
    assert hub.wait_contiguous(63)


def test_ack_covering_part_of_the_outbox_keeps_the_rest(
        tmp_path: Path, node_creds: MqttCreds, hub: HubStandIn,
        caplog: pytest.LogCaptureFixture) -> None:
    hub.acking = False
    with running_agent(make_settings(tmp_path, node_creds)) as run:
        record(run, 2)
        assert hub.wait_contiguous(6)
        hub.ack(3)
        wait_until(lambda: health(run)["last_acked_seq"] == 3)
        assert health(run)["outbox_pending"] == 3
        # beyond anything this node wrote: its database lost commits; the hub's position wins
        # and no seq it acked is ever reused (issue 9: the sequence never moves backwards)
        hub.ack(99)
        wait_until(lambda: "the hub has acked seq 99 but this node's database holds only up to 6 "
                   in caplog.text)
        now = health(run)
        assert (now["outbox_pending"], now["last_acked_seq"], now["next_seq"]) == (0, 99, 100)
        assert now["status"] == "degraded"
        assert [p["code"] for p in now["problems"]] == ["seq_behind_hub"]


def expected_return() -> ExpectedReturn:
    return ExpectedReturn(
        rma_id="RMA-77", order_id="113-7", channel=Channel.AMAZON_MFN,
        items=[ReturnItem(sku="SKU-T", quantity=1, unit_price=Money.of("49.99", "USD"))])


def test_a_command_delivered_twice_is_applied_and_reported_once(
        tmp_path: Path, node_creds: MqttCreds, hub: HubStandIn) -> None:
    with running_agent(make_settings(tmp_path, node_creds)) as run:
        wait_until(lambda: health(run)["subscribed"])
        command = hub.command(expected_return())
        hub.command(expected_return(), envelope=command)  # the very same command again
        duplicate_seen = 'acorn_edge_commands_total{result="duplicate"} 1.0'
        wait_until(lambda: duplicate_seen in run.http.get("/metrics").text)
        wait_until(lambda: health(run)["outbox_pending"] == 0)
        scan = run.http.post("/api/scans", json={"code": "RMA-77"}).json()
        assert scan["match"] == "expected_return"
        assert run.rows("applied_commands") == 1
        assert run.rows("expected_returns") == 1
    reports = hub.kinds("command.applied")
    assert len(reports) == 1
    assert reports[0].body.command_id == command.id  # type: ignore[attr-defined]
    assert reports[0].body.result == "applied"  # type: ignore[attr-defined]


def test_the_hub_decision_is_shown_by_the_return(tmp_path: Path, node_creds: MqttCreds,
                                                 hub: HubStandIn) -> None:
    hub.decide = approve_all
    with running_agent(make_settings(tmp_path, node_creds)) as run:
        (return_id,) = record(run)
        view = wait_until(lambda: _decided(run, return_id))
        assert view["refund"]["status"] == "approved"
        reasons = view["refund"]["decision"]["reasons"]
        assert reasons == ["19.98 USD is under the auto-approve limit"]
        assert view["refund"]["sent_to_hub"] is True


def test_a_late_pending_decision_does_not_override_a_later_approval(
        tmp_path: Path, node_creds: MqttCreds, hub: HubStandIn) -> None:
    with running_agent(make_settings(tmp_path, node_creds)) as run:
        (return_id,) = record(run)
        refund = run.http.get(f"/api/returns/{return_id}").json()["refund"]
        early = utc_now()
        approved = RefundDecided(refund_id=refund["refund_id"], return_id=return_id,
                                 outcome=RefundOutcome.APPROVED,
                                 amount=Money.of("19.98", "USD"), decided_at=utc_now())
        pending = approved.model_copy(update={"outcome": RefundOutcome.PENDING_APPROVAL,
                                              "decided_at": early})
        hub.command(approved)
        hub.command(pending)
        wait_until(lambda: len(hub.kinds("command.applied")) == 2)
        assert run.http.get(f"/api/returns/{return_id}").json()["refund"]["status"] == "approved"


def _decided(run: Running, return_id: str) -> dict[str, Any] | None:
    view: dict[str, Any] = run.http.get(f"/api/returns/{return_id}").json()
    return view if view["refund"]["decision"] else None


def test_status_is_online_while_up_and_offline_after(tmp_path: Path, node_creds: MqttCreds,
                                                    broker: TestBroker) -> None:
    watcher = Probe(broker.admin_creds())
    status_topic = node_topic(STORE, NODE, TopicKind.STATUS)
    try:
        watcher.subscribe(status_topic)
        with running_agent(make_settings(tmp_path, node_creds)) as run:
            record(run)
            online = wait_until(lambda: _statuses(watcher, "online"))
            assert online[0].version and online[0].last_acked_seq == 0
        wait_until(lambda: _statuses(watcher, "offline"))
    finally:
        watcher.close()


def test_the_last_will_says_offline_when_the_node_vanishes(tmp_path: Path, node_creds: MqttCreds,
                                                           broker: TestBroker) -> None:
    watcher = Probe(broker.admin_creds())
    try:
        watcher.subscribe(node_topic(STORE, NODE, TopicKind.STATUS))
        with running_agent(make_settings(tmp_path, node_creds)) as run:
            wait_until(lambda: _statuses(watcher, "online"))
            link = run.agent.link
            assert link is not None
            link._client._sock_close()  # the connection dies without a DISCONNECT: will fires
            wait_until(lambda: _statuses(watcher, "offline"))
            wait_until(lambda: len(_statuses(watcher, "online")) >= 2)  # and it reconnects
    finally:
        watcher.close()


def test_a_dropped_client_does_not_sleep_out_its_reconnect_delay() -> None:
    """The link's paho client, with no broker to reach, waiting an hour before its next try:
    ``drop`` (what a stop, a renewal or a move does) ends that wait and the network thread.
    (paho's own wait would end within a second of the disconnect; that saving is measured, not
    tested: this guards the link's wait, which must end on ``drop``, not with its delay.)"""
    failed = threading.Event()
    client = _Client(client_id="edge.nowhere")
    client.reconnect_delay_set(3600, 3600)
    client.on_connect_fail = lambda _c, _u: failed.set()
    client.connect_async("127.0.0.1", free_port())  # nothing listens there
    client.loop_start()
    network = client._thread
    assert failed.wait(10)  # refused: paho now waits before the next try
    dropping = threading.Thread(target=client.drop)
    dropping.start()
    dropping.join(30)  # generous: paho's own wait would be the full hour
    assert not dropping.is_alive()
    assert network is not None and not network.is_alive()


def _statuses(probe: Probe, state: str) -> list[NodeStatus]:
    bodies = [decode(bytes(m.payload)).body for m in list(probe.messages)]
    return [b for b in bodies if isinstance(b, NodeStatus) and b.state == state]


def test_the_node_cannot_read_another_stores_commands(tmp_path: Path, node_creds: MqttCreds,
                                                      broker: TestBroker) -> None:
    broker.node_creds("store-b", NODE)
    with running_agent(make_settings(tmp_path, node_creds)) as run:
        wait_until(lambda: health(run)["subscribed"])
        link = run.agent.link
        assert link is not None
        refused = link.subscribe(node_topic("store-b", NODE, TopicKind.COMMANDS))
        assert [code.is_failure for code in refused] == [True]
        allowed = link.subscribe(node_topic(STORE, NODE, TopicKind.COMMANDS))
        assert [code.is_failure for code in allowed] == [False]


def _buffer(path: Path, count: int) -> None:
    """Write ``count`` realistic events straight into a node's outbox."""
    store = Store.open(path, STORE, NODE)
    body = ReturnReceived(return_id="R7QK2M9XH4TZA", channel=Channel.POS, reason="changed mind",
                          items=[ReturnItem(sku="SKU-1", quantity=1,
                                            unit_price=Money.of("9.99", "USD"))],
                          received_at=utc_now())
    with store.write() as tx:
        for _ in range(count):
            outbox.append(tx, STORE, NODE, body, utc_now())
    store.close()


@pytest.mark.slow
def test_ten_thousand_buffered_events_drain(tmp_path: Path, node_creds: MqttCreds,
                                           hub: HubStandIn) -> None:
    """A long backlog drains whole (its speed is `python -m bench spine`'s figure:
    tests do not judge wall-clock time)."""
    settings = make_settings(tmp_path, node_creds)
    _buffer(settings.db_path, 10_000)
    with running_agent(settings) as run:
        started = time.monotonic()
        wait_until(lambda: run.agent.counter.figures().pending == 0, timeout=180, interval=0.01)
        elapsed = time.monotonic() - started
    assert hub.wait_contiguous(10_000)
    assert {env.seq for env in hub.deliveries} == set(range(1, 10_001))
    print(f"\n10,000 events drained to hub-acked in {elapsed:.2f} s "
          f"({10_000 / elapsed:,.0f} events/s)")


def test_a_node_the_broker_refuses_says_so_on_its_health_until_it_is_let_in(
        tmp_path: Path, node_creds: MqttCreds, hub: HubStandIn) -> None:
    """A wrong password (a rotated or revoked identity) is refused by the real broker: health is
    degraded with ``broker_refused`` and the broker's reason, returns are still recorded; with
    the right identity the problem is gone and what was recorded is delivered."""
    wrong = MqttCreds(node_creds.host, node_creds.port, node_creds.username, "not-its-password",
                      node_creds.client_id)
    with running_agent(make_settings(tmp_path, wrong)) as run:
        wait_until(lambda: any(p["code"] == "broker_refused" for p in health(run)["problems"]))
        said = health(run)
        problem = next(p for p in said["problems"] if p["code"] == "broker_refused")
        assert said["status"] == "degraded" and said["broker_connected"] is False
        assert "Not authorized" in problem["message"]
        assert "acorn-store enrol" in problem["action"]
        assert f"client id edge.{STORE}.{NODE}" in problem["action"]
        record(run, 1)
        assert health(run)["outbox_pending"] == 3
    with running_agent(make_settings(tmp_path, node_creds)) as run:
        wait_until(lambda: health(run)["outbox_pending"] == 0)
        said = health(run)
        assert said["status"] == "ok" and said["problems"] == []
    assert hub.wait_contiguous(3)
