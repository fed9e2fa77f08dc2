"""The consistency check on both databases: ``stock.snapshot`` pages through the real ingest
transaction, compared as of their seq; differences over the threshold alert; accept, recount and
investigate resolve them, audited; API, /metrics and CLI."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from hub.access.permissions import Role
from hub.access.tokens import create_token
from hub.cli.main import app
from hub.errors import Conflict
from hub.inventory import differences as diffs
from hub.storage.engine import reading, writing
from hub.storage.tables.amazon_listings import amazon_listing_changes
from hub.storage.tables.core import audit_log, commands, dead_letters
from hub.storage.tables.inventory import stock_differences
from protocol import (
    Envelope,
    SnapshotLine,
    StockSnapshot,
    StockState,
    make_envelope,
    snapshot_digest,
    utc_now,
)
from tests.hub.conftest import RunningHub
from tests.hub.helpers import ingest
from tests.hub.test_stock_view import R, S, levels, moved, story

ZERO = diffs.Thresholds()


def snapshot(seq: int, as_of: int, figures: dict[str, dict[StockState, int]],
             store: str = "s1", snapshot_id: str = "SN1", page: int = 1, pages: int = 1,
             after: str | None = None, last: str | None = None) -> Envelope:
    """One sealed snapshot page of node n1."""
    lines = [SnapshotLine(sku=sku, levels=lv) for sku, lv in sorted(figures.items())]
    body = StockSnapshot(snapshot_id=snapshot_id, reason="hub", page=page, pages=pages,
                         as_of_seq=as_of, taken_at=utc_now(), after_sku=after, last_sku=last,
                         lines=lines,
                         digest=snapshot_digest(snapshot_id, page, as_of, after, last, lines))
    return make_envelope(store, "n1", seq, body)


def rows(engine: Engine) -> list[dict[str, Any]]:
    with reading(engine) as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(stock_differences).order_by(stock_differences.c.id))]


def actions(engine: Engine) -> list[str]:
    with reading(engine) as conn:
        return [r.action for r in conn.execute(select(audit_log.c.action).where(
            audit_log.c.action.like("stock.difference.%")).order_by(audit_log.c.seq))]


def test_a_count_the_hub_did_not_expect_raises_an_alert(engine: Engine) -> None:
    # the store's ledger says 6 sellable where its moves add up to 4 (a row changed by hand)
    result = ingest(engine, *story(), snapshot(5, 4, {"SKU-K": {S.SELLABLE: 6}}))
    assert result.applied == 5 and not result.dead
    (row,) = rows(engine)
    assert (row["sku"], row["state"], row["store_quantity"], row["hub_quantity"],
            row["difference"], row["status"]) == ("SKU-K", "sellable", 6, 4, 2, "open")
    assert actions(engine) == ["stock.difference.found"]
    with reading(engine) as conn:
        assert diffs.alert_count(conn, ZERO) == 1
        assert diffs.alert_count(conn, diffs.Thresholds(0, {"s1": 2})) == 0  # within its own
        assert diffs.alert_count(conn, diffs.Thresholds(5, {"s1": 1})) == 1
        (listed,), _ = diffs.listing(conn, diffs.Thresholds(2))
    assert listed["alert"] is False and listed["threshold"] == 2


def test_moves_in_flight_do_not_raise_an_alert(engine: Engine) -> None:
    # the snapshot counted up to seq 4; a sale at seq 6 is booked after it and arrives with it
    sale = moved("s1", 6, "s1-M5", "SKU-K", 3, S.SELLABLE, None, R.POS_SALE, {S.SELLABLE: 1})
    result = ingest(engine, *story(), snapshot(5, 4, {"SKU-K": {S.SELLABLE: 4}}), sale)
    assert result.applied == 6 and not result.dead
    assert levels(engine, "s1", "SKU-K")["sellable"] == (1, 1)  # the hub is past the snapshot
    assert rows(engine) == []
    # and a snapshot before the moves it counts arrive cannot exist: it rides the same stream
    ingest(engine, snapshot(7, 6, {"SKU-K": {S.SELLABLE: 1}}, snapshot_id="SN2"))
    assert rows(engine) == []


def test_a_sku_the_hub_holds_but_the_store_does_not_list_differs_at_zero(engine: Engine) -> None:
    ingest(engine, *story(), moved("s1", 5, "s1-M5", "SKU-Z", 2, None, S.SELLABLE, R.COUNT,
                                   {S.SELLABLE: 2}))
    # two pages: up to SKU-K, then the rest (SKU-Z missing from the store's second page)
    ingest(engine, snapshot(6, 5, {"SKU-K": {S.SELLABLE: 4}}, page=1, pages=2, last="SKU-K"),
           snapshot(7, 5, {}, page=2, pages=2, after="SKU-K"))
    (row,) = rows(engine)
    assert (row["sku"], row["store_quantity"], row["hub_quantity"]) == ("SKU-Z", 0, 2)


def test_recount_then_accept_resolve_it_audited_and_the_hub_takes_the_store_s_figure(
        engine: Engine) -> None:
    ingest(engine, *story(), snapshot(5, 4, {"SKU-K": {S.SELLABLE: 6}}))
    (row,) = rows(engine)
    with writing(engine) as tx:
        diffs.resolve(tx, row["id"], "recount", "hq-anna", "admin", "count aisle 4 again")
    assert rows(engine)[0]["status"] == "recount"
    # the store's next snapshot still says 6: the row stays, now with the recount's figures
    ingest(engine, snapshot(6, 4, {"SKU-K": {S.SELLABLE: 6}}, snapshot_id="SN2"))
    (row,) = rows(engine)
    assert row["status"] == "recount" and row["snapshot_id"] == "SN2"
    with writing(engine) as tx:
        diffs.resolve(tx, row["id"], "accept", "hq-anna", "admin", "recounted: 6 on the shelf")
    assert rows(engine)[0]["status"] == "accepted"
    assert levels(engine, "s1", "SKU-K")["sellable"][0] == 6
    with pytest.raises(Conflict, match="accepted already"), writing(engine) as tx:
        diffs.resolve(tx, row["id"], "investigate", "hq-anna", "admin", None)
    # from then on the hub counts the accepted difference: the next snapshot agrees
    sale = moved("s1", 7, "s1-M5", "SKU-K", 1, S.SELLABLE, None, R.POS_SALE, {S.SELLABLE: 5})
    ingest(engine, sale, snapshot(8, 7, {"SKU-K": {S.SELLABLE: 5}}, snapshot_id="SN3"))
    assert [r["status"] for r in rows(engine)] == ["accepted"]
    assert actions(engine) == ["stock.difference.found", "stock.difference.recount",
                               "stock.difference.accept"]
    with reading(engine) as conn:
        who = conn.execute(select(audit_log.c.actor, audit_log.c.reason).where(
            audit_log.c.action == "stock.difference.accept")).one()
    assert tuple(who) == ("hq-anna", "recounted: 6 on the shelf")


def test_a_snapshot_that_agrees_again_clears_the_difference(engine: Engine) -> None:
    ingest(engine, *story(), snapshot(5, 4, {"SKU-K": {S.SELLABLE: 6}}))
    ingest(engine, snapshot(6, 4, {"SKU-K": {S.SELLABLE: 4}}, snapshot_id="SN2"))
    (row,) = rows(engine)
    assert row["status"] == "cleared" and row["resolved_by"] == "snapshot:SN2"
    assert actions(engine) == ["stock.difference.found", "stock.difference.cleared"]


def test_a_page_of_many_skus_finds_changes_keeps_and_clears_each_difference(
        engine: Engine) -> None:
    """A store whose hub figures are all 0 counts 1 of each of 300 SKUs: 300 found; its next
    snapshot counts 2 of the first 100 (changed), 1 of the next 100 (kept) and 0 of the last
    (cleared), each row and audit entry as when they came one at a time."""
    skus = [f"SKU-{n:03d}" for n in range(300)]
    ingest(engine, snapshot(1, 0, {sku: {S.SELLABLE: 1} for sku in skus}))
    assert [(r["sku"], r["difference"], r["status"]) for r in rows(engine)] == [
        (sku, 1, "open") for sku in skus]
    again = {sku: {S.SELLABLE: 2 if n < 100 else 1} for n, sku in enumerate(skus) if n < 200}
    ingest(engine, snapshot(2, 0, again, snapshot_id="SN2"))
    after = {r["sku"]: (r["store_quantity"], r["difference"], r["status"], r["snapshot_id"],
                        r["resolved_by"]) for r in rows(engine)}
    assert len(after) == 300
    assert {after[sku] for sku in skus[:100]} == {(2, 2, "open", "SN2", None)}
    assert {after[sku] for sku in skus[100:200]} == {(1, 1, "open", "SN2", None)}
    assert {after[sku] for sku in skus[200:]} == {(1, 1, "cleared", "SN2", "snapshot:SN2")}
    assert actions(engine) == (["stock.difference.found"] * 300 + ["stock.difference.changed"]
                               * 100 + ["stock.difference.cleared"] * 100)


def test_a_page_counting_beyond_its_own_seq_is_dead_lettered(engine: Engine) -> None:
    result = ingest(engine, *story(), snapshot(5, 9, {"SKU-K": {S.SELLABLE: 4}}))
    assert len(result.dead) == 1 and "not below its own seq 5" in result.dead[0]
    with reading(engine) as conn:
        assert conn.execute(select(dead_letters.c.id)).first() is not None
    assert rows(engine) == []


def post(hub: RunningHub, token: str, path: str, body: dict[str, Any]) -> Any:
    return hub.client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})


def test_the_api_lists_resolves_and_asks_and_metrics_count_the_alerts(
        api_hub: RunningHub) -> None:
    hub = api_hub
    ingest(hub.engine, *story(), snapshot(5, 4, {"SKU-K": {S.SELLABLE: 6}}))
    admin = create_token(hub.engine, "admin", Role.ADMIN)
    viewer = create_token(hub.engine, "prom", Role.VIEWER)
    auth = {"Authorization": f"Bearer {admin}"}
    listed = hub.client.get("/api/stock/differences", headers=auth).json()
    (item,) = listed["items"]
    assert (item["sku"], item["difference"], item["alert"]) == ("SKU-K", 2, True)
    metrics = hub.client.get("/metrics", headers={"Authorization": f"Bearer {viewer}"}).text
    assert "acorn_hub_stock_differences_alerting 1.0" in metrics
    refused = post(hub, viewer, f"/api/stock/differences/{item['id']}/resolve",
                   {"action": "accept"})
    assert refused.status_code == 403
    bad = post(hub, admin, f"/api/stock/differences/{item['id']}/resolve", {"action": "ignore"})
    assert bad.status_code == 422
    done = post(hub, admin, f"/api/stock/differences/{item['id']}/resolve",
                {"action": "accept", "note": "recounted"})
    assert done.status_code == 200 and done.json()["status"] == "accepted"
    again = post(hub, admin, f"/api/stock/differences/{item['id']}/resolve",
                 {"action": "accept"})
    assert again.status_code == 409
    assert post(hub, admin, "/api/stock/differences/999/resolve",
                {"action": "accept"}).status_code == 404
    metrics = hub.client.get("/metrics", headers={"Authorization": f"Bearer {viewer}"}).text
    assert "acorn_hub_stock_differences_alerting 0.0" in metrics
    asked = post(hub, admin, "/api/stock/checks", {"store": "s1"})
    assert asked.status_code == 202 and [a["node_id"] for a in asked.json()] == ["n1"]
    with reading(hub.engine) as conn:
        (kind,) = conn.execute(select(commands.c.kind)).scalars()
    assert kind == "stock.snapshot.request"


def test_the_cli_checks_lists_and_resolves(engine: Engine, db_url: str) -> None:
    env = {"ACORN_HUB_DATABASE_URL": db_url}
    ingest(engine, *story(), snapshot(5, 4, {"SKU-K": {S.SELLABLE: 6}}))
    listed = CliRunner().invoke(app, ["stock", "differences"], env=env)
    assert listed.exit_code == 3, listed.output  # an alert
    assert "SKU-K\tsellable\t6\t4\t+2\topen\tALERT" in listed.stdout
    quiet = CliRunner().invoke(app, ["stock", "differences"],
                               env={**env, "ACORN_HUB_STOCK_CHECK_THRESHOLD": "2"})
    assert quiet.exit_code == 0 and "\t-" in quiet.stdout
    (row,) = rows(engine)
    done = CliRunner().invoke(app, ["stock", "resolve", str(row["id"]), "investigate",
                                    "--note", "lost delivery?"], env=env)
    assert done.exit_code == 0 and "investigating" in done.stdout
    twice = CliRunner().invoke(app, ["stock", "resolve", str(row["id"]), "accept"], env=env)
    assert twice.exit_code == 0  # investigating is still unresolved: accept settles it
    settled = CliRunner().invoke(app, ["stock", "resolve", str(row["id"]), "accept"], env=env)
    assert settled.exit_code == 1 and "accepted already" in settled.stderr
    asked = CliRunner().invoke(app, ["stock", "check", "--store", "s1"], env=env)
    assert asked.exit_code == 0 and "asked s1/n1" in asked.stdout
    unknown = CliRunner().invoke(app, ["stock", "check", "--store", "nope"], env=env)
    assert unknown.exit_code == 1 and "no node of store nope" in unknown.stderr


def test_each_difference_shows_what_amazon_lists_beside_the_chain_s_sellable_units(
        engine: Engine) -> None:
    ingest(engine, *story(), snapshot(5, 4, {"SKU-K": {S.SELLABLE: 6}}))
    now = utc_now()
    change = {"account": "acct-1", "sku": "SKU-K", "attempts": 1, "created_at": now}
    with writing(engine) as tx:  # DE: 9 then 5 accepted; FR: 3 accepted, then 7 still pending
        tx.conn.execute(amazon_listing_changes.insert(), [
            {**change, "marketplace_id": "DE", "change_id": 1, "quantity": 9,
             "status": "accepted"},
            {**change, "marketplace_id": "DE", "change_id": 2, "quantity": 5,
             "status": "accepted"},
            {**change, "marketplace_id": "FR", "change_id": 1, "quantity": 3,
             "status": "accepted"},
            {**change, "marketplace_id": "FR", "change_id": 2, "quantity": 7,
             "status": "pending"}])
    with reading(engine) as conn:
        (row,), _ = diffs.listing(conn, ZERO)
    # Amazon lists 5 + 3 = 8 where the hub holds 4 sellable: an oversell risk to look into
    assert (row["amazon_listed"], row["chain_sellable"], row["amazon_oversells"]) == (8, 4, True)
    ingest(engine, moved("s1", 6, "s1-M5", "SKU-K", 4, None, S.SELLABLE, R.TRANSFER_IN,
                         {S.SELLABLE: 8}))
    with reading(engine) as conn:
        (row,), _ = diffs.listing(conn, ZERO)
    assert (row["amazon_listed"], row["chain_sellable"], row["amazon_oversells"]) == (8, 8, False)
