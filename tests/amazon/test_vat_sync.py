"""The ``vat-reports`` job against the simulator through python-amazon-sp-api: a closed month is
fetched once, the running month is refused, both formats are stored, refunds are matched to
ACORN's (and shown on the API and the CLI). Both sides run on one fixed clock: 5 March 2026."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sp_api.api import Reports
from sqlalchemy import Engine, select, update

from hub.access.permissions import Role
from hub.access.tokens import create_token
from hub.amazon.accounts import Account
from hub.amazon.secrets import SecretSource
from hub.amazon.settings import AmazonSettings
from hub.amazon.sync.vat_reports import fetch_months
from hub.errors import InputError
from hub.finance.vat_store import month_view
from hub.storage.engine import reading, writing
from hub.storage.tables.core import refunds
from hub.storage.tables.vat_reports import amazon_vat_lines, amazon_vat_reports
from spapi_sim import client_kwargs
from spapi_sim.model import RefundEvent
from tests.amazon.conftest import Sim
from tests.amazon.helpers import add_accounts, mfn_refund, sync, table_digest
from tests.hub.conftest import RunningHub, api_hub  # noqa: F401 - fixture

DE, FR = "A1PA6795UKMFR9", "A13V1IB3VIYZZH"
AVTR, CALC = "GET_VAT_TRANSACTION_DATA", "SC_VAT_TAX_REPORT"
ANCHOR = datetime(2026, 3, 1, tzinfo=UTC)
FEBRUARY = (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


class Clock:
    """One settable time for the simulator and the hub."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 5, 12, tzinfo=UTC))


@pytest.fixture
def vat_sim(make_sim: Callable[..., Sim], clock: Clock) -> Sim:
    """A simulator seeded up to 1 March 2026 whose time is ``clock``."""

    def wrap(app: Any, simulator: Any) -> Any:
        simulator.clock = clock
        return app

    return make_sim(wrap, anchor=ANCHOR, history_days=50, orders_per_day=4)


def _eu(engine: Engine, sim: Sim, settings: AmazonSettings, *codes: str) -> Account:
    (account,) = add_accounts(engine, sim, settings, {"eu": (1, codes or ("DE",))})
    return account


def _february_refunds(sim: Sim, marketplace_id: str = DE) -> list[RefundEvent]:
    seller = sim.sellers[1].seller_id
    world = sim.simulator.world
    return [r for r in world.refunds(seller, FEBRUARY[1])
            if r.marketplace_id == marketplace_id and FEBRUARY[0] <= r.posted]  # fmt: skip


def test_the_job_fetches_a_closed_month_once_in_both_formats(
    engine: Engine, vat_sim: Sim, amazon_settings: AmazonSettings, clock: Clock
) -> None:
    account = _eu(engine, vat_sim, amazon_settings, "DE", "FR")
    seller = vat_sim.sellers[1]
    assert sync(engine, amazon_settings, [account], ["vat-reports"], clock=clock)["eu"].ok
    with reading(engine) as conn:
        fetched = conn.execute(select(amazon_vat_reports)).all()
        refunds_stored = conn.execute(
            select(amazon_vat_lines.c.report_type, amazon_vat_lines.c.marketplace_id,
                   amazon_vat_lines.c.transaction_id)
            .where(amazon_vat_lines.c.kind == "REFUND")).all()  # fmt: skip
    assert sorted((r.month, r.marketplace_id, r.report_type, r.status) for r in fetched) == [
        ("2026-02", m, t, "done") for m in (FR, DE) for t in (AVTR, CALC)]  # fmt: skip
    assert all(r.problems == 0 and r.lines > 0 for r in fetched)
    for market in (DE, FR):
        expected = sorted(r.adjustment_item_id for r in _february_refunds(vat_sim, market))
        for report_type in (AVTR, CALC):
            assert sorted(t for kind, m, t in refunds_stored
                          if kind == report_type and m == market) == expected  # fmt: skip
    assert vat_sim.requests(seller, "createReport") == 4
    before = table_digest(engine, amazon_vat_lines)

    clock.now = datetime(2026, 3, 20, tzinfo=UTC)  # later that month: nothing new is closed
    assert sync(engine, amazon_settings, [account], ["vat-reports"], clock=clock)["eu"].ok
    assert vat_sim.requests(seller, "createReport") == 4
    assert table_digest(engine, amazon_vat_lines) == before


def test_the_running_month_and_a_month_before_the_third_are_refused(
    lite: Engine, vat_sim: Sim, amazon_settings: AmazonSettings, clock: Clock
) -> None:
    account = _eu(lite, vat_sim, amazon_settings)
    secrets = SecretSource(environ={}, secrets_file=amazon_settings.secrets_file)
    clock.now = datetime(2026, 3, 2, 23, 59, tzinfo=UTC)
    for month in ("2026-03", "2026-02", "2026-13", "March"):
        with pytest.raises(InputError) as caught:
            fetch_months(lite, amazon_settings, account, [month], secrets, clock)
        assert caught.value.field == "month"
    assert vat_sim.requests(vat_sim.sellers[1], "createReport") == 0
    # on its own the job asks only for the latest closed month: January, on 2 March
    assert sync(lite, amazon_settings, [account], ["vat-reports"], clock=clock)["eu"].ok
    with reading(lite) as conn:
        months = set(conn.execute(select(amazon_vat_reports.c.month)).scalars())
    assert months == {"2026-01"}


def _acorn_refund(engine: Engine, refund_id: str, refund: RefundEvent, amount: Decimal) -> None:
    """An ACORN refund of one Amazon order line whose money went to Amazon in February."""
    order = SimpleNamespace(order_id=refund.order_id, marketplace_id=DE, currency="EUR")
    mfn_refund(engine, refund_id, order, [(refund.sku, refund.quantity, amount)], amount,
               store="store-berlin-1", state="confirmed")  # fmt: skip
    with writing(engine) as tx:
        tx.conn.execute(update(refunds).where(refunds.c.refund_id == refund_id).values(
            decided_at=datetime(2026, 2, 20, tzinfo=UTC)))  # fmt: skip


def _seed_acorn_side(engine: Engine, sim: Sim) -> list[RefundEvent]:
    """Exact, amount differs, unknown to ACORN; plus one ACORN refund Amazon never made."""
    february = _february_refunds(sim)
    assert len(february) >= 3, "the seeded February needs three German refunds"
    _acorn_refund(engine, "F-EXACT", february[0], february[0].refunded)
    _acorn_refund(engine, "F-MORE", february[1], february[1].refunded + 1)
    ghost = replace(february[0], order_id="302-0000000-0000000", sku="GHOST-SKU")
    _acorn_refund(engine, "F-GHOST", ghost, Decimal("12.34"))
    return february


def test_refunds_are_matched_to_acorns_in_both_reports(
    engine: Engine, vat_sim: Sim, amazon_settings: AmazonSettings, clock: Clock
) -> None:
    account = _eu(engine, vat_sim, amazon_settings)
    february = _seed_acorn_side(engine, vat_sim)
    assert sync(engine, amazon_settings, [account], ["vat-reports"], clock=clock)["eu"].ok
    with reading(engine) as conn:
        view = month_view(conn, "eu", "2026-02")
    assert set(view.matches) == {AVTR, CALC}
    for match in view.matches.values():
        by_order = {(p.amazon.order_id, p.amazon.sku): p for p in match.pairs}
        exact = by_order[(february[0].order_id, february[0].sku)]
        assert (exact.status, exact.acorn.refund_id, exact.vat_difference) == (
            "matched", "F-EXACT", Decimal(0))  # fmt: skip
        more = by_order[(february[1].order_id, february[1].sku)]
        assert (more.status, more.amount_difference) == ("amount_differs", Decimal("-1"))
        assert {(a.order_id, a.sku) for a in match.only_amazon} == {
            (r.order_id, r.sku) for r in february[2:]}  # fmt: skip
        assert [a.refund_id for a in match.only_acorn] == ["F-GHOST"]


def test_the_api_shows_the_month_to_finance_only(
    api_hub: RunningHub,  # noqa: F811 - fixture
    vat_sim: Sim,
    amazon_settings: AmazonSettings,
    clock: Clock,
) -> None:
    engine = api_hub.engine
    account = _eu(engine, vat_sim, amazon_settings)
    february = _seed_acorn_side(engine, vat_sim)
    assert sync(engine, amazon_settings, [account], ["vat-reports"], clock=clock)["eu"].ok
    heads = {
        role: {"Authorization": f"Bearer {create_token(engine, f'{role.value}-1', role)}"}
        for role in (Role.FINANCE, Role.ADMIN, Role.REGIONAL_MANAGER, Role.VIEWER)
    }
    url, query = "/api/finance/vat-reports", {"account": "eu", "month": "2026-02"}
    for role in (Role.REGIONAL_MANAGER, Role.VIEWER):
        assert api_hub.client.get(url, params=query, headers=heads[role]).status_code == 403
    assert api_hub.client.get(url, params=query).status_code == 401
    for bad, status in (({"account": "nope", "month": "2026-02"}, 404),
                        ({"account": "eu", "month": "2026-2"}, 422),
                        ({"account": "eu", "month": "1999-02"}, 422)):  # fmt: skip
        assert api_hub.client.get(url, params=bad, headers=heads[Role.ADMIN]).status_code == status
    answer = api_hub.client.get(url, params=query, headers=heads[Role.FINANCE])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(r["report_type"], r["status"]) for r in body["reports"]] == [
        (AVTR, "done"), (CALC, "done")]  # fmt: skip
    pairs = {p["refund_id"]: p for p in body["matches"][AVTR]["pairs"]}
    assert pairs["F-EXACT"]["status"] == "matched"
    assert pairs["F-MORE"]["acorn_gross"] == f"{february[1].refunded + 1:.2f}"
    assert pairs["F-MORE"]["amount_difference"] == "-1.00"
    assert [a["refund_id"] for a in body["matches"][CALC]["only_acorn"]] == ["F-GHOST"]


def test_cli_refuses_an_open_or_malformed_month_and_has_help(lite: Engine) -> None:
    db_url = lite.url.render_as_string(hide_password=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ACORN_HUB_DATABASE_URL": db_url}

    def hub(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "acorn-hub"), "amazon", "vat-reports", *args], env=env,
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip

    running = datetime.now(UTC).strftime("%Y-%m")  # whatever today is, its month is open
    for month, says in ((running, "is not closed"), ("2026-13", "YYYY-MM")):
        done = hub("--month", month)
        assert done.returncode != 0 and says in done.stderr and "Traceback" not in done.stderr
    shown = hub("--help")
    assert shown.returncode == 0 and "--month" in shown.stdout


def test_a_report_requested_before_a_kill_is_waited_for_not_asked_again(
    lite: Engine, vat_sim: Sim, amazon_settings: AmazonSettings, clock: Clock
) -> None:
    account = _eu(lite, vat_sim, amazon_settings)
    seller = vat_sim.sellers[1]
    with Reports(**client_kwargs(vat_sim.url, seller, DE)) as reports:
        asked = reports.create_report(
            reportType=AVTR, marketplaceIds=[DE], dataStartTime="2026-02-01T00:00:00Z",
            dataEndTime="2026-02-28T23:59:59Z").payload["reportId"]  # fmt: skip
    with writing(lite) as tx:  # what the killed run had stored
        tx.conn.execute(amazon_vat_reports.insert().values(
            account="eu", month="2026-02", marketplace_id=DE, report_type=AVTR, report_id=asked,
            status="requested", lines=0, problems=0, requested_at=tx.now))  # fmt: skip
    assert sync(lite, amazon_settings, [account], ["vat-reports"], clock=clock)["eu"].ok
    assert vat_sim.requests(seller, "createReport") == 2  # ours above, and the calculation one
    with reading(lite) as conn:
        row = conn.execute(select(amazon_vat_reports).where(
            amazon_vat_reports.c.report_type == AVTR)).one()  # fmt: skip
    assert (row.report_id, row.status) == (asked, "done") and row.lines > 0


def test_a_fatal_report_is_recorded_and_asked_again_next_run(
    lite: Engine, vat_sim: Sim, amazon_settings: AmazonSettings, clock: Clock
) -> None:
    account = _eu(lite, vat_sim, amazon_settings)
    hub_time = Clock(datetime(2026, 3, 3, 0, 5, tzinfo=UTC))  # closed for the hub ...
    clock.now = datetime(2026, 3, 2, 23, 55, tzinfo=UTC)  # ... not yet for Amazon
    result = sync(lite, amazon_settings, [account], ["vat-reports"], clock=hub_time)["eu"]
    with reading(lite) as conn:
        statuses = dict(conn.execute(select(amazon_vat_reports.c.report_type,
                                            amazon_vat_reports.c.status)).all())  # fmt: skip
    assert statuses == {AVTR: "fatal", CALC: "done"} and result.tally.errors == 1
    clock.now = hub_time.now
    assert sync(lite, amazon_settings, [account], ["vat-reports"], clock=hub_time)["eu"].ok
    with reading(lite) as conn:
        statuses = dict(conn.execute(select(amazon_vat_reports.c.report_type,
                                            amazon_vat_reports.c.status)).all())  # fmt: skip
    assert statuses == {AVTR: "done", CALC: "done"}
    assert vat_sim.requests(vat_sim.sellers[1], "createReport") == 3


def test_cli_fetches_the_latest_closed_month_once_then_only_shows_it(
    lite: Engine, sim: Sim, amazon_settings: AmazonSettings
) -> None:
    _eu(lite, sim, amazon_settings)
    env = {
        **os.environ, "PYTHONPATH": str(ROOT),
        "ACORN_HUB_DATABASE_URL": lite.url.render_as_string(hide_password=False),
        "ACORN_HUB_AMAZON_SECRETS_FILE": str(amazon_settings.secrets_file),
        "ACORN_HUB_AMAZON_RATE_FACTOR": str(amazon_settings.rate_factor),
        "ACORN_HUB_AMAZON_REPORT_POLL_SECONDS": "0.02", "COLUMNS": "400",
    }  # fmt: skip

    def hub(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "acorn-hub"), "amazon", "vat-reports", *args], env=env,
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip

    first = hub()  # the latest closed month of the simulator's wall-clock world
    assert "Traceback" not in first.stderr and first.returncode in (0, 1), first.stderr
    assert "GET_VAT_TRANSACTION_DATA" in first.stdout or "no refunds" in first.stdout
    with reading(lite) as conn:
        fetched = conn.execute(select(amazon_vat_reports.c.status)).scalars().all()
    assert sorted(fetched) == ["done", "done"]
    again = hub("--no-fetch")
    assert again.returncode == first.returncode and again.stdout == first.stdout
    assert sim.requests(sim.sellers[1], "createReport") == 2
