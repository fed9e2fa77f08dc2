"""Helpers for the Amazon tests: accounts over a simulator, one-call syncs, table snapshots."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]
from sqlalchemy import Engine, Table, select

from hub.amazon.accounts import Account, add_account, new_account
from hub.amazon.client.ratelimit import Limiter
from hub.amazon.marketplaces import by_id
from hub.amazon.secrets import SecretSource
from hub.amazon.settings import AmazonSettings
from hub.amazon.sync.runner import SYNC_JOBS, AccountResult, Runner, run_jobs
from hub.storage.engine import reading
from hub.storage.tables.amazon import (
    amazon_fba_returns,
    amazon_orders,
    amazon_refund_events,
    amazon_returns,
    amazon_settlement_lines,
    amazon_settlement_reports,
)
from hub.storage.tables.core import commands
from tests.amazon.conftest import Sim

BUSINESS = (
    amazon_orders,
    amazon_returns,
    amazon_fba_returns,
    amazon_refund_events,
    amazon_settlement_reports,
    amazon_settlement_lines,
    commands,
)
VOLATILE = frozenset(
    {"first_seen_at", "updated_at", "command_id", "created_at", "seq", "last_sent_at", "send_count"}
)


def write_secrets(path: Path, sellers: Mapping[str, Any]) -> None:
    """A secrets file (mode 0600) with the LWA credentials of ``sellers`` by account name."""
    document = {
        "accounts": {
            name: {
                "client_id": s.client_id,
                "client_secret": s.client_secret,
                "refresh_token": s.refresh_token,
            }
            for name, s in sellers.items()
        }
    }
    path.write_text(yaml.safe_dump(document))
    os.chmod(path, 0o600)


def add_accounts(
    engine: Engine,
    sim: Sim,
    settings: AmazonSettings,
    spec: Mapping[str, tuple[int, Sequence[str]]],
) -> list[Account]:
    """Add accounts ``name -> (seeded seller index, marketplace codes)`` pointing at ``sim``."""
    sellers = {name: sim.sellers[index] for name, (index, _) in spec.items()}
    assert settings.secrets_file is not None
    write_secrets(settings.secrets_file, sellers)
    accounts = []
    for name, (index, codes) in spec.items():
        seller = sim.sellers[index]
        region = by_id(seller.marketplace_ids[0]).region
        account = new_account(name, seller.seller_id, region, codes, sim.url)
        add_account(engine, account, "test")
        accounts.append(account)
    return accounts


TWO_ACCOUNTS = {"na": (0, ("US", "CA")), "eu": (1, ("DE",))}


def sync(
    engine: Engine,
    settings: AmazonSettings,
    accounts: Sequence[Account],
    jobs: Sequence[str] = SYNC_JOBS,
    limiter: Limiter | None = None,
    **runner: Any,
) -> dict[str, AccountResult]:
    """Run ``jobs`` for ``accounts`` in-process, as the CLI would."""
    run = Runner(
        engine,
        settings,
        limiter or Limiter(factor=settings.rate_factor),
        SecretSource(environ={}, secrets_file=settings.secrets_file),
        **runner,
    )
    return {r.account: r for r in run_jobs(run, accounts, jobs)}


def _text(value: Any) -> str:
    # Decimals normalised: PostgreSQL pads NUMERIC(19,4) with zeros, SQLite keeps the text.
    return format(value.normalize(), "f") if isinstance(value, Decimal) else repr(value)


def table_digest(engine: Engine, table: Table, skip: Iterable[str] = ()) -> tuple[int, str]:
    """(row count, hash of every row's values) of a table, in a stable order."""
    columns = [c for c in table.c if c.name not in set(skip)]
    with reading(engine) as conn:
        rows = sorted("|".join(_text(v) for v in row) for row in conn.execute(select(*columns)))
    return len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()


def snapshot(engine: Engine, skip: Iterable[str] = ()) -> dict[str, tuple[int, str]]:
    """Digests of every table the sync writes business data to."""
    return {t.name: table_digest(engine, t, skip) for t in BUSINESS}


def count(engine: Engine, table: Table, *where: Any) -> int:
    """Rows of ``table`` matching ``where``."""
    with reading(engine) as conn:
        return len(conn.execute(select(table).where(*where)).all())


def mfn_refund(
    engine: Engine,
    refund_id: str,
    order: Any,
    lines: Sequence[tuple[str, int, Decimal]],
    amount: Decimal,
    store: str = "store-us-nyc-01",
    node: str = "counter-1",
    state: str = "pending_approval",
) -> None:
    """A received Amazon MFN return and its refund request, as ingest and the policy leave them."""
    from hub.storage.engine import writing
    from hub.storage.outbox import ensure_node
    from hub.storage.tables.core import refunds, return_items, returns

    return_id = f"RET-{refund_id}"
    with writing(engine) as tx:
        ensure_node(tx.conn, store, node, tx.now)
        tx.conn.execute(
            returns.insert().values(
                store_id=store,
                return_id=return_id,
                node_id=node,
                state="received",
                channel="amazon_mfn",
                reason="damaged",
                order_id=order.order_id,
                marketplace_id=order.marketplace_id,
                mismatch=False,
                received_at=tx.now,
                created_at=tx.now,
                updated_at=tx.now,
            )
        )
        tx.conn.execute(
            return_items.insert(),
            [
                {
                    "store_id": store,
                    "return_id": return_id,
                    "line_no": n,
                    "sku": sku,
                    "quantity": quantity,
                    "unit_price": price,
                    "currency": order.currency,
                }
                for n, (sku, quantity, price) in enumerate(lines, start=1)
            ],
        )
        tx.conn.execute(
            refunds.insert().values(
                store_id=store,
                refund_id=refund_id,
                return_id=return_id,
                node_id=node,
                origin="store",
                amount=amount,
                currency=order.currency,
                channel="amazon_mfn",
                order_id=order.order_id,
                marketplace_id=order.marketplace_id,
                state=state,
                approval_level=1,
                reasons=["test"],
                requested_by="clerk-1",
                requested_at=tx.now,
                created_at=tx.now,
                updated_at=tx.now,
            )
        )


def approve(engine: Engine, refund_id: str, store: str = "store-us-nyc-01") -> None:
    """Approve a waiting refund as an HQ admin, through the hub's approval path."""
    from hub.access.permissions import Principal, Role
    from hub.refunds.approvals import decide_refund

    decide_refund(
        engine, Principal("finance-1", Role.ADMIN), refund_id, store, approve=True, reason="checked"
    )


def refund_state(engine: Engine, refund_id: str) -> str:
    """The hub's state of a refund."""
    from hub.storage.tables.core import refunds

    with reading(engine) as conn:
        return str(
            conn.execute(
                select(refunds.c.state).where(refunds.c.refund_id == refund_id)
            ).scalar_one()
        )


def mfn_order(sim: Sim, seller_index: int, marketplace_id: str, days: int = 20) -> Any:
    """A shipped merchant-fulfilled order of the last ``days`` days with nothing refunded."""
    from datetime import timedelta

    seller = sim.sellers[seller_index].seller_id
    since = sim.simulator.now() - timedelta(days=days)
    world = sim.simulator.world
    return next(
        o
        for o in reversed(world.orders(seller))
        if o.marketplace_id == marketplace_id
        and o.fulfilled_by == "MERCHANT"
        and o.status == "SHIPPED"
        and o.created >= since
        and not world.refunded(seller, o.order_id, o.items[0].order_item_id)
    )
