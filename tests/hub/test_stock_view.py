"""The hub's stock view on both databases: ``stock.moved`` through the real ingest transaction
(dedup, order, redelivery), the API scoped by region, and the CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from hub.access.permissions import Role, Scope
from hub.access.tokens import create_token
from hub.access.users import Actor
from hub.cli.main import app
from hub.fleet import stores
from hub.storage.engine import reading
from hub.storage.tables.core import audit_log, dead_letters
from hub.storage.tables.inventory import stock_levels, stock_moves
from protocol import (
    Envelope,
    MoveReason,
    StockMoved,
    StockState,
    TopicKind,
    make_envelope,
    node_topic,
    utc_now,
)
from tests.hub.conftest import RunningHub
from tests.hub.helpers import ingest

S, R = StockState, MoveReason


def moved(store: str, seq: int, move_id: str, sku: str, quantity: int, frm: StockState | None,
          to: StockState | None, reason: MoveReason, balance: dict[StockState, int],
          node: str = "n1") -> Envelope:
    body = StockMoved(move_id=move_id, sku=sku, quantity=quantity, from_state=frm, to_state=to,
                      reason=reason, at=utc_now(), balance=balance)
    return make_envelope(store, node, seq, body)


def story(store: str = "s1", first: int = 1) -> list[Envelope]:
    """A count of 5, a sale of 2, a return received and restocked after QC: 4 sellable."""
    return [
        moved(store, first, f"{store}-M1", "SKU-K", 5, None, S.SELLABLE, R.COUNT, {S.SELLABLE: 5}),
        moved(store, first + 1, f"{store}-M2", "SKU-K", 2, S.SELLABLE, None, R.POS_SALE,
              {S.SELLABLE: 3}),
        moved(store, first + 2, f"{store}-M3", "SKU-K", 1, None, S.QC_HOLD, R.RETURN_RECEIVED,
              {S.QC_HOLD: 1}),
        moved(store, first + 3, f"{store}-M4", "SKU-K", 1, S.QC_HOLD, S.SELLABLE, R.DISPOSITION,
              {S.QC_HOLD: 0, S.SELLABLE: 4}),
    ]


def levels(engine: Engine, store: str, sku: str) -> dict[str, tuple[int, int | None]]:
    with reading(engine) as conn:
        rows = conn.execute(select(stock_levels).where(stock_levels.c.store_id == store,
                                                       stock_levels.c.sku == sku))
        return {r.state: (r.quantity, r.reported_quantity) for r in rows}


def count(engine: Engine, table: Any) -> int:
    with reading(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_moves_build_the_view_with_the_store_s_figures_beside_the_hub_s(engine: Engine) -> None:
    result = ingest(engine, *story())
    assert result.applied == 4 and not result.dead
    assert levels(engine, "s1", "SKU-K") == {"sellable": (4, 4), "qc_hold": (0, 0)}
    with reading(engine) as conn:
        rows = list(conn.execute(select(stock_moves).order_by(stock_moves.c.seq)))
    assert [(r.seq, r.reason, r.from_after, r.store_from_after, r.to_after, r.store_to_after)
            for r in rows] == [(1, "count", None, None, 5, 5), (2, "pos_sale", 3, 3, None, None),
                               (3, "return_received", None, None, 1, 1),
                               (4, "disposition", 0, 0, 4, 4)]
    with reading(engine) as conn:
        actions = [r.action for r in conn.execute(select(audit_log.c.action))]
    assert actions.count("stock.moved") == 4


def test_redelivery_changes_nothing(engine: Engine) -> None:
    events = story()
    ingest(engine, *events)
    before = (levels(engine, "s1", "SKU-K"), count(engine, stock_moves), count(engine, audit_log))
    again = ingest(engine, *events, *events)
    assert again.applied == 0 and again.duplicates == 8 and not again.dead
    after = (levels(engine, "s1", "SKU-K"), count(engine, stock_moves), count(engine, audit_log))
    assert after == before


def test_out_of_order_moves_wait_for_the_gap_and_apply_in_seq_order(engine: Engine) -> None:
    events = story()
    ingest(engine, events[2], events[3])
    assert count(engine, stock_moves) == 0  # beyond a gap: held, not applied
    ingest(engine, events[0], events[1])
    ingest(engine, events[2], events[3])  # the node resends after the gap fills
    assert levels(engine, "s1", "SKU-K") == {"sellable": (4, 4), "qc_hold": (0, 0)}


def test_a_move_id_reported_twice_is_dead_lettered_not_counted_twice(engine: Engine) -> None:
    ingest(engine, *story())
    twice = moved("s1", 5, "s1-M2", "SKU-K", 2, S.SELLABLE, None, R.POS_SALE, {S.SELLABLE: 2})
    result = ingest(engine, twice)
    assert len(result.dead) == 1 and "already applied" in result.dead[0]
    assert levels(engine, "s1", "SKU-K")["sellable"] == (4, 4)
    assert count(engine, dead_letters) == 1


def test_a_move_the_table_refuses_is_dead_lettered_and_the_stream_moves_on(
        engine: Engine) -> None:
    good = moved("s1", 1, "M1", "SKU-K", 1, None, S.SELLABLE, R.COUNT, {S.SELLABLE: 1})
    raw = good.model_dump(mode="json", by_alias=True)
    raw["body"].update(from_state="scrap", to_state="sellable", reason="disposition")
    forged = (node_topic("s1", "n1", TopicKind.EVENTS), json.dumps(raw).encode())
    result = ingest(engine, forged, moved("s1", 2, "M2", "SKU-K", 3, None, S.SELLABLE, R.COUNT,
                                          {S.SELLABLE: 3}))
    assert result.unprocessable == 1 and result.applied == 1
    assert levels(engine, "s1", "SKU-K")["sellable"] == (3, 3)


@pytest.fixture
def north_and_south(api_hub: RunningHub) -> RunningHub:
    setup = Actor("test-setup", "operator")
    stores.set_store(api_hub.engine, "s1", setup, region="north", city="oslo")
    stores.set_store(api_hub.engine, "s2", setup, region="south", city="rome")
    ingest(api_hub.engine, *story("s1"), *story("s2"))
    return api_hub


def get(hub: RunningHub, token: str, path: str, **params: Any) -> Any:
    return hub.client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})


def test_the_api_gives_chain_totals_and_each_store_scoped_by_region(
        north_and_south: RunningHub) -> None:
    hub = north_and_south
    admin = create_token(hub.engine, "admin", Role.ADMIN)
    north = create_token(hub.engine, "rita", Role.REGIONAL_MANAGER, scope=Scope(region="north"))
    answer = get(hub, admin, "/api/stock", sku="SKU-K")
    assert answer.status_code == 200, answer.text
    (item,) = answer.json()["items"]
    assert item["totals"]["sellable"] == 8 and item["on_hand"] == 8
    assert [(s["store_id"], s["levels"]["sellable"], s["differs"]) for s in item["stores"]] == [
        ("s1", 4, False), ("s2", 4, False)]
    assert item["as_of"].endswith("Z") or item["as_of"].endswith("+00:00")
    (mine,) = get(hub, north, "/api/stock", sku="SKU-K").json()["items"]
    assert [s["store_id"] for s in mine["stores"]] == ["s1"] and mine["totals"]["sellable"] == 4
    refused = get(hub, north, "/api/stock", store="s2")
    assert refused.status_code == 403 and refused.json()["detail"][0]["field"] == "store"
    moves = get(hub, north, "/api/stock/SKU-K/moves").json()
    assert moves["total"] == 4 and {m["store_id"] for m in moves["items"]} == {"s1"}
    assert get(hub, admin, "/api/stock/SKU-K/moves", limit=0).status_code == 422


def test_the_cli_shows_a_sku_and_its_moves(engine: Engine, db_url: str) -> None:
    ingest(engine, *story("s1"), *story("s2"))
    result = CliRunner().invoke(app, ["stock", "show", "SKU-K"],
                                env={"ACORN_HUB_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("store\tsellable\tqc_hold")
    assert lines[1].startswith("s1\t4\t0") and lines[-1].startswith("chain\t8\t0")
    result = CliRunner().invoke(app, ["stock", "moves", "--store", "s2", "--limit", "2"],
                                env={"ACORN_HUB_DATABASE_URL": db_url})
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 2 and "(2 more" in result.stderr
    missing = CliRunner().invoke(app, ["stock", "show", "NOPE"],
                                 env={"ACORN_HUB_DATABASE_URL": db_url})
    assert missing.exit_code == 1 and "no stock known for NOPE" in missing.stderr
