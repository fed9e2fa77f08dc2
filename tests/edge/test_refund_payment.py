"""Refund payment statuses from the hub, over a real Mosquitto, into the real agent and its API.

Covered: a status resent under the same command id is applied and reported once; statuses sent
out of order keep the newest; a status for a refund this node does not have is refused and
reported so in ``command.applied``; GET /api/returns/{id} and the list show ``payment``, a
failure with the marketplace's reason, and the retry that follows it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from protocol import CommandApplied, RefundPayment, RefundStatus, format_utc, utc_now
from tests.edge.conftest import Running, make_settings, running_agent, wait_until
from tests.edge.hub_standin import HubStandIn, approve_all
from tests.support.broker import MqttCreds

RETURN = {"channel": "amazon_mfn", "reason": "defective", "order_id": "113-7",
          "items": [{"sku": "SKU-T", "quantity": 1,
                     "unit_price": {"amount": "49.99", "currency": "USD"}}]}
AMAZON_SAYS = "Amazon: the adjustment exceeds the amount left to refund on the order"


@dataclass(frozen=True)
class Approved:
    """A running agent with one Amazon return whose refund the hub stand-in has approved."""

    run: Running
    return_id: str
    refund_id: str

    def status(self, state: RefundPayment, at: datetime, detail: str = "",
               refund_id: str = "") -> RefundStatus:
        """A ``refund.status`` for this refund (or ``refund_id``)."""
        return RefundStatus(refund_id=refund_id or self.refund_id, return_id=self.return_id,
                            status=state, detail=detail, at=at)

    def payment(self) -> dict[str, Any] | None:
        """``refund.payment`` as GET /api/returns/{id} shows it."""
        view = self.run.http.get(f"/api/returns/{self.return_id}").json()
        return view["refund"]["payment"]  # type: ignore[no-any-return]

    def payment_is(self, status: str) -> dict[str, Any] | None:
        """The payment shown, once its status is ``status``."""
        held = self.payment()
        return held if held is not None and held["status"] == status else None


@pytest.fixture
def approved(tmp_path: Path, node_creds: MqttCreds, hub: HubStandIn) -> Iterator[Approved]:
    """Record a return at a linked agent and wait for the hub stand-in's approval."""
    hub.decide = approve_all
    with running_agent(make_settings(tmp_path, node_creds)) as run:
        answer = run.http.post("/api/returns", json=RETURN)
        assert answer.status_code == 201, answer.text
        return_id = answer.json()["return_id"]
        view = wait_until(lambda: _approved(run, return_id))
        assert view["refund"]["payment"] is None  # approved, money not moved yet
        yield Approved(run, return_id, view["refund"]["refund_id"])


def _approved(run: Running, return_id: str) -> dict[str, Any] | None:
    view: dict[str, Any] = run.http.get(f"/api/returns/{return_id}").json()
    return view if view["refund"]["status"] == "approved" else None


def status_reports(hub: HubStandIn, count: int) -> list[CommandApplied]:
    """The node's reports on ``refund.status`` commands, in its seq order, once ``count`` are in."""

    def found() -> list[CommandApplied] | None:
        envelopes = sorted(hub.kinds("command.applied"), key=lambda env: env.seq)
        got = [env.body for env in envelopes if isinstance(env.body, CommandApplied)
               and env.body.command_kind == "refund.status"]
        return got if len(got) >= count else None

    return list(wait_until(found))


def test_statuses_apply_once_the_newest_wins_and_a_stranger_is_refused(
        approved: Approved, hub: HubStandIn) -> None:
    node, start = approved, utc_now()
    submitted = hub.command(node.status(RefundPayment.SUBMITTED, start))
    hub.command(submitted.body, envelope=submitted)  # resent as it was: the same command id
    hub.command(node.status(RefundPayment.SETTLED, start + timedelta(minutes=20)))
    hub.command(node.status(RefundPayment.CONFIRMED, start + timedelta(minutes=10)))  # overtaken
    stranger = hub.command(node.status(RefundPayment.SUBMITTED, start + timedelta(minutes=30),
                                       refund_id="F0000000000000"))
    got = status_reports(hub, 4)  # one per distinct command: the resend is not applied again
    duplicate_seen = 'acorn_edge_commands_total{result="duplicate"} 1.0'
    wait_until(lambda: duplicate_seen in node.run.http.get("/metrics").text)
    assert [r.result for r in got] == ["applied", "applied", "applied", "refused"]
    assert [r.command_id for r in got].count(submitted.id) == 1
    assert got[2].detail.startswith(f"kept the newer payment status of {node.refund_id}")
    assert (got[3].command_id, got[3].detail) == (
        stranger.id, "no refund F0000000000000 at this node")
    held = node.payment()
    assert held is not None and held["status"] == "settled"
    assert held["at"] == format_utc(start + timedelta(minutes=20))
    listed = node.run.http.get("/api/returns").json()["items"][0]["refund"]["payment"]
    assert listed == held


def test_a_failure_shows_amazons_reason_until_the_retry(
        approved: Approved, hub: HubStandIn) -> None:
    node, start = approved, utc_now()
    hub.command(node.status(RefundPayment.FAILED, start, detail=AMAZON_SAYS))
    failed = wait_until(lambda: node.payment_is("failed"))
    assert failed["detail"] == AMAZON_SAYS
    hub.command(node.status(RefundPayment.SUBMITTED, start + timedelta(minutes=5)))
    assert wait_until(lambda: node.payment_is("submitted"))["detail"] == ""
