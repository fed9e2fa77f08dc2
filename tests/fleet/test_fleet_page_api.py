"""``GET /api/fleet/nodes``: scope, filters, sorting, paging, each alert on and off, bad input,
and the fleet gauges in ``/metrics`` — on both databases, with users who sign in for real.

Nodes are seeded as ingest and enrolment store them (``tests.fleet.seed_nodes``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from hub.access.permissions import Role, Scope
from hub.fleet.alerts import NodeFacts, Thresholds, alerts_of
from hub.storage.tables.core import nodes
from protocol import utc_now
from tests.fleet.seed_nodes import seed_cert, seed_node
from tests.hub.conftest import db_url, hub_settings  # noqa: F401  (fixture)
from tests.people.conftest import DeskHub, add_user, describe_stores, running

OFFLINE_AFTER = 600  # seconds
UNSENT_AFTER = 1800
CERT_DAYS = 3.0


@pytest.fixture
def fleet_desk(db_url: str, tmp_path: Path) -> Iterator[DeskHub]:  # noqa: F811
    """A hub with stores s1, s2 (north), s3 (south), thresholds of 10 min / 30 min / 3 days, and
    a technician for the north, one for everywhere, an admin, a viewer and a store manager."""
    settings = hub_settings(db_url, fleet_offline_alert_seconds=OFFLINE_AFTER,
                            fleet_unsent_alert_seconds=UNSENT_AFTER,
                            fleet_cert_alert_days=CERT_DAYS)
    for hub in running(db_url, tmp_path, settings):
        describe_stores(hub.engine)
        add_user(hub.engine, "tech-north", Role.TECHNICIAN, Scope(region="north"))
        add_user(hub.engine, "tech", Role.TECHNICIAN)
        add_user(hub.engine, "boss", Role.ADMIN)
        add_user(hub.engine, "viewer", Role.VIEWER)
        add_user(hub.engine, "manager", Role.STORE_MANAGER, Scope(store="s1"))
        yield hub


def fleet(hub: DeskHub, user: str, **params: Any) -> dict[str, Any]:
    client = hub.clients.get(user) or hub.sign_in(user)
    answer = client.get("/api/fleet/nodes", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def keys(page: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(i["store_id"], i["node_id"]) for i in page["items"]]


def by_key(page: dict[str, Any]) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(i["store_id"], i["node_id"]): i for i in page["items"]}


def test_every_store_and_node_in_scope_with_its_facts(fleet_desk: DeskHub) -> None:
    now = utc_now()
    seed_node(fleet_desk.engine, "s1", "n1", online=True, last_seen=now, pending=2,
              oldest_unsent=now - timedelta(seconds=5))
    seed_cert(fleet_desk.engine, "s1", "n1", now + timedelta(days=6))
    seed_node(fleet_desk.engine, "s3", "n1", online=True, last_seen=now)

    everything = fleet(fleet_desk, "tech")
    # s2 has no node yet: it is listed as a store; s3 is in the south
    assert keys(everything) == [("s1", "n1"), ("s2", None), ("s3", "n1")]
    s1 = by_key(everything)[("s1", "n1")]
    assert (s1["store_name"], s1["region"], s1["city"]) == (None, "north", "oslo")
    assert s1["state"] == "online" and s1["version"] == "1.4.0"
    assert s1["outbox_pending"] == 2 and 4 <= s1["unsent_age_seconds"] < 120
    assert (s1["config_version"], s1["printer"], s1["scanner"]) == (3, "ok", "connected")
    assert s1["cert_not_after"] is not None and s1["revoked"] is False
    assert s1["alerts"] == []
    assert everything["thresholds"] == {"offline_seconds": OFFLINE_AFTER,
                                        "unsent_seconds": UNSENT_AFTER, "cert_days": CERT_DAYS,
                                        "clock_seconds": 120.0, "disk_mb": 1000.0}

    north = fleet(fleet_desk, "tech-north")
    assert keys(north) == [("s1", "n1"), ("s2", None)]
    # a filter cannot widen the scope
    assert fleet(fleet_desk, "tech-north", store="s3")["items"] == []
    assert fleet(fleet_desk, "tech-north", region="south")["total"] == 0
    assert keys(fleet(fleet_desk, "boss", region="south")) == [("s3", "n1")]


def test_only_technicians_and_admins_see_the_fleet(fleet_desk: DeskHub) -> None:
    for user in ("viewer", "manager"):
        answer = fleet_desk.sign_in(user).get("/api/fleet/nodes")
        assert answer.status_code == 403, answer.text
    with __import__("httpx").Client(base_url=fleet_desk.url) as anonymous:
        assert anonymous.get("/api/fleet/nodes").status_code == 401


def test_offline_alert_fires_only_after_the_threshold(fleet_desk: DeskHub) -> None:
    now = utc_now()
    seed_node(fleet_desk.engine, "s1", "n1", online=False,
              last_seen=now - timedelta(seconds=OFFLINE_AFTER + 60))
    seed_node(fleet_desk.engine, "s1", "n2", online=False, last_seen=now - timedelta(seconds=30))
    seed_node(fleet_desk.engine, "s2", "n1", online=True,
              last_seen=now - timedelta(seconds=OFFLINE_AFTER + 60))
    rows = by_key(fleet(fleet_desk, "tech"))
    assert rows[("s1", "n1")]["alerts"] == ["offline"]
    assert rows[("s1", "n1")]["offline_for_seconds"] > OFFLINE_AFTER
    assert rows[("s1", "n2")]["alerts"] == [] and rows[("s1", "n2")]["state"] == "offline"
    assert rows[("s2", "n1")]["alerts"] == []  # online (its broker presence) is not offline
    assert keys(fleet(fleet_desk, "tech", alert="offline")) == [("s1", "n1")]
    assert keys(fleet(fleet_desk, "tech", state="offline")) == [("s1", "n1"), ("s1", "n2")]
    assert keys(fleet(fleet_desk, "tech", state="online")) == [("s2", "n1")]


def test_unsent_alert_fires_when_the_oldest_unsent_event_is_too_old(fleet_desk: DeskHub) -> None:
    now = utc_now()
    seed_node(fleet_desk.engine, "s1", "n1", online=True, last_seen=now, pending=4,
              oldest_unsent=now - timedelta(seconds=UNSENT_AFTER + 60))
    seed_node(fleet_desk.engine, "s1", "n2", online=True, last_seen=now, pending=1,
              oldest_unsent=now - timedelta(seconds=UNSENT_AFTER - 120))
    seed_node(fleet_desk.engine, "s2", "n1", online=True, last_seen=now, pending=0)
    rows = by_key(fleet(fleet_desk, "tech"))
    assert rows[("s1", "n1")]["alerts"] == ["unsent"]
    assert rows[("s1", "n2")]["alerts"] == []
    assert rows[("s2", "n1")]["alerts"] == [] and rows[("s2", "n1")]["unsent_age_seconds"] is None
    assert keys(fleet(fleet_desk, "tech", alert="unsent")) == [("s1", "n1")]
    assert keys(fleet(fleet_desk, "tech", sort="unsent_age", order="desc"))[:3] == [
        ("s1", "n1"), ("s1", "n2"), ("s2", "n1")]


def test_certificate_alert_fires_within_the_days_and_not_for_a_revoked_node(
        fleet_desk: DeskHub) -> None:
    now = utc_now()
    for node, days in (("n1", CERT_DAYS - 1), ("n2", CERT_DAYS + 1), ("n3", -1.0)):
        seed_node(fleet_desk.engine, "s1", node, online=True, last_seen=now)
        seed_cert(fleet_desk.engine, "s1", node, now + timedelta(days=days))
    seed_node(fleet_desk.engine, "s2", "n1", online=False, last_seen=now - timedelta(days=2))
    seed_cert(fleet_desk.engine, "s2", "n1", now + timedelta(hours=1), revoked=True)
    # enrolled, never heard from: listed from its certificate, offline, and alerting
    seed_cert(fleet_desk.engine, "s3", "n9", now + timedelta(days=6))
    rows = by_key(fleet(fleet_desk, "tech"))
    assert rows[("s1", "n1")]["alerts"] == ["certificate"]
    assert rows[("s1", "n2")]["alerts"] == []
    assert rows[("s1", "n3")]["alerts"] == ["certificate"]
    revoked = rows[("s2", "n1")]
    assert revoked["revoked"] is True and revoked["alerts"] == []
    assert rows[("s3", "n9")]["state"] == "offline" and rows[("s3", "n9")]["alerts"] == ["offline"]
    assert keys(fleet(fleet_desk, "tech", alert="certificate")) == [("s1", "n1"), ("s1", "n3")]
    assert keys(fleet(fleet_desk, "tech", alert="any")) == [("s1", "n1"), ("s1", "n3"),
                                                            ("s3", "n9")]
    # soonest expiry first: expired, the revoked one (1 h), 2, 4 and 6 days
    assert keys(fleet(fleet_desk, "tech", sort="cert_expiry")) == [
        ("s1", "n3"), ("s2", "n1"), ("s1", "n1"), ("s1", "n2"), ("s3", "n9")]


def test_paging_counts_the_filtered_set(fleet_desk: DeskHub) -> None:
    now = utc_now()
    for n in range(5):
        seed_node(fleet_desk.engine, "s1", f"n{n}", online=False,
                  last_seen=now - timedelta(seconds=OFFLINE_AFTER + 10 + n))
    seed_node(fleet_desk.engine, "s2", "n1", online=True, last_seen=now)
    first = fleet(fleet_desk, "tech", alert="offline", limit=2)
    second = fleet(fleet_desk, "tech", alert="offline", limit=2, offset=2)
    third = fleet(fleet_desk, "tech", alert="offline", limit=2, offset=4)
    assert first["total"] == second["total"] == third["total"] == 5
    assert keys(first) + keys(second) + keys(third) == [("s1", f"n{n}") for n in range(5)]
    assert keys(fleet(fleet_desk, "tech", sort="last_seen", order="desc", limit=1)) == [
        ("s2", "n1")]


@pytest.mark.parametrize("params", [
    {"state": "asleep"}, {"alert": "fire"}, {"sort": "price"}, {"order": "up"},
    {"limit": "0"}, {"limit": "501"}, {"offset": "-1"}, {"store": ""}, {"bogus": "1"},
    {"region": "x" * 41},
])
def test_bad_input_is_a_422_naming_the_field(fleet_desk: DeskHub,
                                            params: dict[str, str]) -> None:
    answer = fleet_desk.sign_in("tech").get("/api/fleet/nodes", params=params)
    assert answer.status_code == 422, answer.text
    assert next(iter(params)) in answer.text


def test_metrics_count_nodes_online_offline_and_alerting(fleet_desk: DeskHub) -> None:
    now = utc_now()
    seed_node(fleet_desk.engine, "s1", "n1", online=True, last_seen=now)
    seed_node(fleet_desk.engine, "s1", "n2", online=False,
              last_seen=now - timedelta(seconds=OFFLINE_AFTER + 5))
    seed_node(fleet_desk.engine, "s2", "n1", online=False, last_seen=now)
    boss = fleet_desk.sign_in("boss")

    def gauges() -> dict[str, float]:
        answer = boss.get("/metrics")
        assert answer.status_code == 200, answer.text
        found = {}
        for line in answer.text.splitlines():
            if line.startswith("acorn_hub_fleet_nodes"):
                name, value = line.rsplit(" ", 1)
                found[name] = float(value)
        return found

    assert gauges() == {'acorn_hub_fleet_nodes{state="online"}': 1.0,
                        'acorn_hub_fleet_nodes{state="offline"}': 2.0,
                        "acorn_hub_fleet_nodes_alerting": 1.0}
    with fleet_desk.engine.begin() as conn:
        conn.execute(update(nodes).where(nodes.c.node_id == "n2")
                     .values(online=True, last_seen_at=now))
    assert gauges()["acorn_hub_fleet_nodes_alerting"] == 0.0


def test_alerts_are_a_pure_function_of_facts_time_and_thresholds() -> None:
    now = utc_now()
    limits = Thresholds(timedelta(minutes=10), timedelta(minutes=30), timedelta(days=3))
    quiet = NodeFacts(online=False, last_seen_at=now - timedelta(minutes=10),
                      oldest_unsent_at=now - timedelta(minutes=30),
                      cert_not_after=now + timedelta(days=3, seconds=1), revoked=False)
    assert alerts_of(quiet, now, limits) == []
    later = now + timedelta(seconds=2)
    assert alerts_of(quiet, later, limits) == ["offline", "unsent", "certificate"]
    assert alerts_of(NodeFacts(False, None, None, None, False), now, limits) == ["offline"]
    assert alerts_of(NodeFacts(False, None, None, None, True), now, limits) == []


def test_an_older_agents_status_shows_what_it_reports_and_none_of_the_rest(
        fleet_desk: DeskHub) -> None:
    now = utc_now()
    seed_node(fleet_desk.engine, "s1", "n1", online=True, last_seen=now)
    older = {"state": "online", "version": "1.0.0", "protocol_version": "v1",
             "outbox_pending": 3, "last_acked_seq": 7, "since": None}  # before the fleet page
    with fleet_desk.engine.begin() as conn:
        conn.execute(update(nodes).where(nodes.c.node_id == "n1").values(status=older))
    row = by_key(fleet(fleet_desk, "tech"))[("s1", "n1")]
    assert (row["version"], row["outbox_pending"]) == ("1.0.0", 3)
    assert row["unsent_age_seconds"] is None and row["oldest_unsent_at"] is None
    assert (row["config_version"], row["printer"], row["scanner"]) == (None, None, None)
    assert row["alerts"] == []
