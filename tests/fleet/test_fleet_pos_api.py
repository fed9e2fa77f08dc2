"""The POS terminal on the fleet page's API: each node's ``pos_terminal`` as its last self-test
probed it, the ``pos`` alert when a POS address is set and the terminal was not reached (never
for a node with no POS address, nor for an older node that does not say), the ``alert=pos``
filter, and ``acorn_hub_fleet_alerts{alert="pos"}`` in ``/metrics`` — on both databases, with
users who sign in for real. Nodes are seeded as ingest stores them (``tests.fleet.seed_nodes``).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from hub.fleet.alerts import NodeFacts, Thresholds, alerts_of
from hub.storage.tables.core import nodes
from protocol import NodeStatus, utc_now
from tests.fleet.seed_nodes import seed_node
from tests.fleet.test_fleet_page_api import by_key, fleet, fleet_desk  # noqa: F401  (fixture)
from tests.hub.conftest import db_url  # noqa: F401  (fixture)
from tests.people.conftest import DeskHub


def seed_pos_nodes(desk: DeskHub) -> None:
    """s1/n1 reaches its POS, s1/n2 was refused, s3/n1 timed out, s3/n2 has no POS address."""
    now = utc_now()
    selftest = {"selftest_at": now, "selftest_passed": True, "selftest_failing": []}
    failed = selftest | {"selftest_passed": False, "selftest_failing": ["pos"]}
    seed_node(desk.engine, "s1", "n1", online=True, last_seen=now, pos_terminal="reachable",
              **selftest)
    seed_node(desk.engine, "s1", "n2", online=True, last_seen=now, pos_terminal="refused",
              **failed)
    seed_node(desk.engine, "s3", "n1", online=True, last_seen=now, pos_terminal="timed_out",
              **failed)
    seed_node(desk.engine, "s3", "n2", online=True, last_seen=now, **selftest)


def test_each_row_says_its_pos_and_alerts_when_it_is_set_but_not_reached(
        fleet_desk: DeskHub) -> None:  # noqa: F811
    seed_pos_nodes(fleet_desk)
    rows = by_key(fleet(fleet_desk, "tech"))
    said = {key: (row["pos_terminal"], row["alerts"]) for key, row in rows.items()}
    assert said == {("s1", "n1"): ("reachable", []),
                    ("s1", "n2"): ("refused", ["pos"]),
                    ("s2", None): (None, []),
                    ("s3", "n1"): ("timed_out", ["pos"]),
                    ("s3", "n2"): (None, [])}

    only = fleet(fleet_desk, "tech", alert="pos")
    assert [(i["store_id"], i["node_id"]) for i in only["items"]] == [("s1", "n2"), ("s3", "n1")]
    assert only["total"] == 2
    # the north's technician sees only the north's POS alert
    north = fleet(fleet_desk, "tech-north", alert="pos")
    assert [(i["store_id"], i["node_id"]) for i in north["items"]] == [("s1", "n2")]
    anything = fleet(fleet_desk, "tech", alert="any")
    assert {(i["store_id"], i["node_id"]) for i in anything["items"]} == {("s1", "n2"),
                                                                          ("s3", "n1")}


def test_the_pos_alert_is_counted_in_metrics_and_clears_when_the_terminal_is_reached(
        fleet_desk: DeskHub) -> None:  # noqa: F811
    seed_pos_nodes(fleet_desk)
    boss = fleet_desk.sign_in("boss")

    def gauges() -> dict[str, float]:
        answer = boss.get("/metrics")
        assert answer.status_code == 200, answer.text
        return {name: float(value) for name, value in
                (line.rsplit(" ", 1) for line in answer.text.splitlines()
                 if line.startswith(("acorn_hub_fleet_alerts{", "acorn_hub_fleet_nodes_alerting")))}

    assert gauges()['acorn_hub_fleet_alerts{alert="pos"}'] == 2.0
    assert gauges()["acorn_hub_fleet_nodes_alerting"] == 2.0
    # the refused node's next self-test reaches the terminal (as ingest stores its new status)
    status = NodeStatus(state="online", pos_terminal="reachable", selftest_at=utc_now(),
                        selftest_passed=True, selftest_failing=[])
    with fleet_desk.engine.begin() as conn:
        conn.execute(update(nodes).where(nodes.c.store_id == "s1", nodes.c.node_id == "n2")
                     .values(status=status.model_dump(mode="json", exclude={"kind"})))
    assert gauges()['acorn_hub_fleet_alerts{alert="pos"}'] == 1.0
    assert gauges()["acorn_hub_fleet_nodes_alerting"] == 1.0


def test_an_unknown_alert_name_is_still_refused(fleet_desk: DeskHub) -> None:  # noqa: F811
    client = fleet_desk.sign_in("tech")
    answer = client.get("/api/fleet/nodes", params={"alert": "till"})
    assert answer.status_code == 422
    assert "alert" in answer.text


@pytest.mark.parametrize(("pos", "alerting"), [
    (None, False), ("reachable", False), ("refused", True), ("timed_out", True),
    ("unreachable", True), ("unhealthy", True)])
def test_the_pos_alert_is_a_pure_function_of_the_last_finding(pos: str | None,
                                                              alerting: bool) -> None:
    now = utc_now()
    limits = Thresholds(timedelta(minutes=10), timedelta(minutes=30), timedelta(days=3))
    node = NodeFacts(online=True, last_seen_at=now, oldest_unsent_at=None, cert_not_after=None,
                     revoked=False, pos_terminal=pos)
    assert ("pos" in alerts_of(node, now, limits)) is alerting
    revoked = NodeFacts(online=False, last_seen_at=now, oldest_unsent_at=None,
                        cert_not_after=None, revoked=True, pos_terminal=pos)
    assert alerts_of(revoked, now, limits) == []  # a revoked node is not nagged about its POS
