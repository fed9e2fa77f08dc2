"""Fleet operations on a running hub, both databases, a real Mosquitto: the dead-letter replay
tool (a wiped node that reuses its id), replacing a store machine, decommissioning a store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from hub.access.permissions import Role
from hub.fleet import identities
from hub.storage.engine import reading
from hub.storage.tables.core import dead_letters, returns
from protocol import make_envelope
from protocol.link import NodeStatus
from tests.fleet.conftest import Fleet
from tests.fleet.test_codes import audited, bearer, enrol, make_code, setup_stores
from tests.fleet.test_lifecycle import CN, NODE, STORE, enrolled
from tests.hub.conftest import RunningHub, api_hub, engine, mqtt_hub  # noqa: F401  (fixtures)
from tests.hub.helpers import NodeProbe, ingest, received, wait_for
from tests.hub.test_cli_db import acorn_hub, refused
from tests.support.broker import TestBroker


@pytest.fixture
def node(broker: TestBroker) -> Iterator[NodeProbe]:
    probe = NodeProbe(broker, "store-a", "n1")
    yield probe
    probe.close()


def return_ids(hub: RunningHub) -> list[str]:
    with reading(hub.engine) as conn:
        return sorted(conn.scalars(select(returns.c.return_id)))


def open_dead_letters(hub: RunningHub) -> int:
    with reading(hub.engine) as conn:
        return int(conn.scalar(select(func.count()).select_from(dead_letters)
                               .where(dead_letters.c.resolved_at.is_(None))) or 0)


def test_a_wiped_nodes_events_are_replayed_exactly_once_each(
        mqtt_hub: RunningHub, node: NodeProbe,  # noqa: F811
) -> None:
    node.send(received("store-a", "n1", 1, "R-1"))
    node.send(received("store-a", "n1", 2, "R-2"))
    wait_for(lambda: return_ids(mqtt_hub) == ["R-1", "R-2"], 15, "the first two returns")
    # the machine's database is wiped; the agent comes back under the same node id from seq 1
    wiped = received("store-a", "n1", 1, "R-W1")
    node.send(wiped)
    node.send(received("store-a", "n1", 2, "R-W2"))
    node.send(received("store-a", "n1", 3, "R-3"))
    wait_for(lambda: "R-3" in return_ids(mqtt_hub) and open_dead_letters(mqtt_hub) == 2, 15,
             "R-3 applied and the reused seqs dead-lettered")
    assert "R-W1" not in return_ids(mqtt_hub)

    api, admin = mqtt_hub.client, bearer(mqtt_hub.engine, Role.ADMIN)
    tech = bearer(mqtt_hub.engine, Role.TECHNICIAN)
    assert api.get("/api/fleet/dead-letters", headers=tech).status_code == 403
    listed = api.get("/api/fleet/dead-letters", headers=admin).json()
    assert [(d["replayable"], d["kind"]) for d in listed] == [(True, "return.received")] * 2
    assert api.post(f"/api/fleet/dead-letters/{listed[0]['id']}/replay",
                    headers=tech).status_code == 403
    done = [api.post(f"/api/fleet/dead-letters/{d['id']}/replay", headers=admin)
            for d in reversed(listed)]
    assert [r.status_code for r in done] == [200, 200], [r.text for r in done]
    assert [(r.json()["replay_seq"], r.json()["original_seq"]) for r in done] == [(1, 1), (2, 2)]
    assert return_ids(mqtt_hub) == ["R-1", "R-2", "R-3", "R-W1", "R-W2"]

    again = api.post(f"/api/fleet/dead-letters/{listed[0]['id']}/replay", headers=admin)
    assert again.status_code == 409 and "already resolved" in again.text
    # the broker delivers the wiped event once more: a new dead letter of the same message
    node.send(wiped)
    wait_for(lambda: open_dead_letters(mqtt_hub) == 1, 15, "the redelivered copy")
    copy = api.get("/api/fleet/dead-letters", headers=admin).json()[0]
    refused = api.post(f"/api/fleet/dead-letters/{copy['id']}/replay", headers=admin)
    assert refused.status_code == 409 and "already replayed" in refused.text
    assert return_ids(mqtt_hub) == ["R-1", "R-2", "R-3", "R-W1", "R-W2"]
    assert len(audited(mqtt_hub.engine, "dead_letter.replayed")) == 2

    no_reason = api.post(f"/api/fleet/dead-letters/{copy['id']}/discard", json={"reason": ""},
                         headers=admin)
    assert no_reason.status_code == 422
    gone = api.post(f"/api/fleet/dead-letters/{copy['id']}/discard",
                    json={"reason": "a copy of dead letter already replayed"}, headers=admin)
    assert gone.status_code == 200, gone.text
    assert api.post(f"/api/fleet/dead-letters/{copy['id']}/discard", json={"reason": "x"},
                    headers=admin).status_code == 409
    assert open_dead_letters(mqtt_hub) == 0
    assert len(audited(mqtt_hub.engine, "dead_letter.discarded")) == 1
    whole = api.get(f"/api/fleet/dead-letters/{listed[0]['id']}", headers=admin).json()
    assert whole["replayed"]["replay_seq"] == 2 and "R-W2" in whole["payload"]


def test_a_refused_message_is_not_replayable_and_a_bad_id_is_404(
        api_hub: RunningHub,  # noqa: F811
) -> None:
    ingest(api_hub.engine, ("acorn/v1/stores/s1/nodes/n1/events", b"{not json"))
    admin = bearer(api_hub.engine, Role.ADMIN)
    listed = api_hub.client.get("/api/fleet/dead-letters", headers=admin).json()
    assert [d["replayable"] for d in listed] == [False]
    answer = api_hub.client.post(f"/api/fleet/dead-letters/{listed[0]['id']}/replay",
                                 headers=admin)
    assert answer.status_code == 409 and "discard" in answer.text
    assert api_hub.client.post("/api/fleet/dead-letters/999/replay",
                               headers=admin).status_code == 404
    assert api_hub.client.post("/api/fleet/dead-letters/0/replay",
                               headers=admin).status_code == 422


def test_replacing_a_machine_revokes_it_counts_what_it_left_unsent_and_enrols_a_new_node(
    enrol_hub: RunningHub, fleet: Fleet, tmp_path: Path,
) -> None:
    setup_stores(enrol_hub.engine)
    enrolled(enrol_hub, tmp_path / "node")
    ingest(enrol_hub.engine, *[received(STORE, NODE, seq, f"R-{seq}") for seq in (1, 2, 3)])
    said = NodeStatus(state="online", last_acked_seq=2, outbox_pending=3)  # wrote up to seq 5
    ingest(enrol_hub.engine, make_envelope(STORE, NODE, 0, said))  # the hub holds up to 3
    tech = bearer(enrol_hub.engine, Role.TECHNICIAN)
    answer = enrol_hub.client.post(f"/api/fleet/nodes/{STORE}/{NODE}/replace",
                                   json={"reason": "disk died"}, headers=tech)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["backlog"]["hub_seq"] == 3 and body["backlog"]["unsent"] == 2
    with reading(enrol_hub.engine) as conn:
        found = identities.standing(conn, STORE, NODE)
    assert found is not None and found.revoked
    with fleet.broker.local.admin() as broker:
        assert CN not in broker.run([{"command": "listClients"}])[0]["data"]["clients"]
    joined = enrol(enrol_hub, body["code"]["code"])
    assert joined.status_code == 200 and joined.json()["node_id"] != NODE, joined.text
    assert len(audited(enrol_hub.engine, "device.replaced")) == 1
    unknown = enrol_hub.client.post(f"/api/fleet/nodes/{STORE}/nobody/replace",
                                    json={"reason": "x"}, headers=tech)
    assert unknown.status_code == 404


def test_a_decommissioned_store_loses_its_nodes_and_enrols_nothing_but_keeps_its_history(
    enrol_hub: RunningHub, fleet: Fleet, tmp_path: Path,
) -> None:
    setup_stores(enrol_hub.engine)
    enrolled(enrol_hub, tmp_path / "node")
    ingest(enrol_hub.engine, received(STORE, NODE, 1, "R-KEPT"))
    early = make_code(enrol_hub)
    url = f"/api/fleet/stores/{STORE}/decommission"
    tech, admin = bearer(enrol_hub.engine, Role.TECHNICIAN), bearer(enrol_hub.engine, Role.ADMIN)
    assert enrol_hub.client.post(url, json={"reason": "closed"}, headers=tech).status_code == 403
    assert enrol_hub.client.post(url, json={}, headers=admin).status_code == 422
    done = enrol_hub.client.post(url, json={"reason": "store closed"}, headers=admin)
    assert done.status_code == 200 and done.json()["nodes"] == [NODE], done.text
    with fleet.broker.local.admin() as broker:
        assert CN not in broker.run([{"command": "listClients"}])[0]["data"]["clients"]
    refused = enrol_hub.client.post("/api/fleet/codes", json={"store_id": STORE}, headers=tech)
    assert refused.status_code == 409 and "decommissioned" in refused.text
    assert enrol(enrol_hub, early).status_code == 403  # a code made before it is dead too
    assert return_ids(enrol_hub) == ["R-KEPT"]
    again = enrol_hub.client.post(url, json={"reason": "store closed"}, headers=admin)
    assert again.status_code == 200 and again.json()["already"] is True
    assert len(audited(enrol_hub.engine, "store.decommissioned")) == 1
    assert len(audited(enrol_hub.engine, "device.revoked")) == 1


def test_the_cli_replays_once_and_refuses_the_second_in_one_line(
        engine: Engine,  # noqa: F811
) -> None:
    ingest(engine, received("s1", "n1", 1, "R-OLD"))
    ingest(engine, received("s1", "n1", 1, "R-CLI"))  # the same seq again: a wiped database
    url = engine.url.render_as_string(hide_password=False)
    listed = acorn_hub(url, "dead-letters", "list")
    dead_id = listed.stdout.split("\t")[0]
    done = acorn_hub(url, "dead-letters", "replay", dead_id)
    assert done.returncode == 0 and "as replay seq 1" in done.stdout, done
    refused(acorn_hub(url, "dead-letters", "replay", dead_id), "already resolved")
    refused(acorn_hub(url, "dead-letters", "discard", dead_id, "--reason", "  "), "reason")
    with reading(engine) as conn:
        assert sorted(conn.scalars(select(returns.c.return_id))) == ["R-CLI", "R-OLD"]
