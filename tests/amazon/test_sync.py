"""python-amazon-sp-api against the simulator: two accounts, three marketplaces, idempotent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import Engine, func, select

from hub.amazon.accounts import AccountStatus, load_accounts
from hub.amazon.settings import AmazonSettings
from hub.storage.engine import reading
from hub.storage.tables.amazon import (
    amazon_fba_returns,
    amazon_orders,
    amazon_problems,
    amazon_refund_events,
    amazon_returns,
    amazon_settlement_lines,
    amazon_settlement_reports,
)
from hub.storage.tables.finance_settlements import settlement_status
from tests.amazon.conftest import Sim
from tests.amazon.helpers import TWO_ACCOUNTS, add_accounts, count, snapshot, sync

US, CA, DE = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1PA6795UKMFR9"


def _expected_orders(
    sim: Sim, index: int, marketplace_id: str, settings: AmazonSettings
) -> set[str]:
    since = sim.simulator.now() - timedelta(days=settings.backfill_days)
    seller = sim.sellers[index].seller_id
    return {
        o.order_id
        for o in sim.simulator.world.orders(seller)
        if o.marketplace_id == marketplace_id and o.updated >= since
    }


def test_two_accounts_three_marketplaces_then_a_second_run_changes_nothing(
    engine: Engine, sim: Sim, amazon_settings: AmazonSettings
) -> None:
    accounts = add_accounts(engine, sim, amazon_settings, TWO_ACCOUNTS)
    first = sync(engine, amazon_settings, accounts)
    assert all(r.ok for r in first.values()), first
    with reading(engine) as conn:
        per_market: dict[str, int] = dict(
            conn.execute(
                select(amazon_orders.c.marketplace_id, func.count()).group_by(
                    amazon_orders.c.marketplace_id
                )
            ).all()
        )
        stored = {
            m: set(
                conn.execute(
                    select(amazon_orders.c.order_id).where(amazon_orders.c.marketplace_id == m)
                ).scalars()
            )
            for m in (US, CA, DE)
        }
    assert set(per_market) == {US, CA, DE}
    assert stored[US] == _expected_orders(sim, 0, US, amazon_settings)
    assert stored[DE] == _expected_orders(sim, 1, DE, amazon_settings)
    for table in (
        amazon_returns,
        amazon_fba_returns,
        amazon_refund_events,
        amazon_settlement_reports,
    ):
        assert count(engine, table, table.c.account == "eu") > 0, table.name
        assert count(engine, table, table.c.account == "na") > 0, table.name
    assert count(engine, amazon_fba_returns, amazon_fba_returns.c.acorn_can_act.is_(True)) == 0
    assert count(engine, amazon_problems) == 0

    before = snapshot(engine)
    second = sync(engine, amazon_settings, accounts)
    assert all(r.ok for r in second.values())
    assert sum(r.tally.new + r.tally.updated for r in second.values()) == 0
    assert snapshot(engine) == before


def test_settlements_keep_decimal_comma_money_exact(
    engine: Engine, sim: Sim, amazon_settings: AmazonSettings
) -> None:
    accounts = add_accounts(engine, sim, amazon_settings, {"eu": (1, ("DE",))})
    sync(engine, amazon_settings, accounts, ["settlements"])
    with reading(engine) as conn:
        reports = conn.execute(select(amazon_settlement_reports)).all()
        assert reports and all(r.currency == "EUR" and r.problems == 0 for r in reports)
        for report in reports:
            lines = (
                conn.execute(
                    select(amazon_settlement_lines.c.amount).where(
                        amazon_settlement_lines.c.report_id == report.report_id
                    )
                )
                .scalars()
                .all()
            )
            assert sum(lines, Decimal(0)) == report.total
            assert all(isinstance(amount, Decimal) for amount in lines)
        # each settlement is reconciled as it arrives: a status, its deposit gap, who
        statuses = {r.settlement_id: r for r in conn.execute(select(settlement_status))}
        assert set(statuses) == {r.settlement_id for r in reports}
        assert all(s.status in ("reconciled", "differences") and s.gap == 0
                   and s.reconciled_by.startswith("amazon:") for s in statuses.values())


def test_a_revoked_credential_marks_that_account_and_the_others_carry_on(
    engine: Engine, sim: Sim, amazon_settings: AmazonSettings
) -> None:
    accounts = add_accounts(engine, sim, amazon_settings, {**TWO_ACCOUNTS, "fe": (2, ("JP",))})
    sim.simulator.revoke(sim.sellers[1].seller_id)
    results = sync(engine, amazon_settings, accounts, ["orders"])
    assert results["na"].ok and results["fe"].ok
    assert results["eu"].error is not None and "invalid_grant" in results["eu"].error
    by_name = {a.name: a for a in load_accounts(engine)}
    assert by_name["eu"].status is AccountStatus.ERROR
    assert "invalid grant parameter" in (by_name["eu"].last_error or "")
    assert by_name["na"].status is AccountStatus.OK and by_name["na"].last_ok_at is not None
    assert count(engine, amazon_orders, amazon_orders.c.account == "fe") > 0
    assert count(engine, amazon_orders, amazon_orders.c.account == "eu") == 0


def test_missing_secrets_name_the_variable_and_never_a_value(
    engine: Engine, sim: Sim, amazon_settings: AmazonSettings
) -> None:
    accounts = add_accounts(engine, sim, amazon_settings, {"na": (0, ("US",))})
    amazon_settings.secrets_file.write_text("accounts: {}\n")  # type: ignore[union-attr]
    results = sync(engine, amazon_settings, accounts, ["orders"])
    assert results["na"].error is not None
    assert "ACORN_HUB_AMAZON_NA_REFRESH_TOKEN" in results["na"].error
