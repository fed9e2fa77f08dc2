"""An agent names a newly applied store config in a status at once, not at its next status turn:
the rollout view waits for that status (a real hub on SQLite, a private Mosquitto, a real agent
whose status turn is an hour)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.edge.conftest import make_settings, running_agent, wait_until
from tests.fleet.test_rules_rollout import NODE, V2, applied, hub, rollout, signed_in  # noqa: F401
from tests.hub.conftest import RunningHub
from tests.support.broker import TestBroker


def test_a_new_rules_version_is_reported_without_waiting_for_the_status_turn(
        hub: RunningHub, broker: TestBroker, tmp_path: Path,  # noqa: F811
        request: pytest.FixtureRequest) -> None:
    admin = signed_in(hub)
    request.addfinalizer(admin.close)  # an open client's socket, collected later, fails a test
    settings = make_settings(tmp_path / "s1", broker.node_creds("s1", NODE), store_id="s1",
                             node_id=NODE, status_interval_seconds=3600,
                             selftest_at_start=False)
    with running_agent(settings):
        # the status sent on connecting names version 1
        wait_until(lambda: applied(admin)["s1"] == 1, timeout=20)
        answer = admin.post("/api/inventory/rules", json={"yaml": V2, "reason": "TV floor"})
        assert answer.status_code == 200, answer.text
        assert rollout(admin)["active_version"] == 2
        wait_until(lambda: applied(admin)["s1"] == 2, timeout=20)
