"""What the refund policy weighs, from the counter to the hub: each item's category and opened
flag, the return's sale time, and the hub's "refund after inspection" answer.

All real: the agent in uvicorn with its SQLite file, a mosquitto broker and a hub stand-in that
decodes what arrives with ``protocol.decode``.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from edge_agent.pos.models import REQUEST_EXAMPLE, PosReturnRequest
from edge_agent.pos.returns import request_hash
from edge_agent.storage import outbox
from edge_agent.storage.ids import new_refund_id, new_return_id
from edge_agent.storage.migrations import MIGRATIONS, migrate
from edge_agent.storage.store import PRAGMAS
from edge_agent.sync import commands
from protocol import (
    Body,
    Channel,
    ExpectedReturn,
    Money,
    RefundDecided,
    RefundOutcome,
    RefundRequested,
    ReturnItem,
    ReturnReceived,
    decode,
    encode,
    format_utc,
    make_envelope,
    new_message_id,
    utc_now,
)
from tests.edge.conftest import NODE, STORE, Running, make_settings, running_agent, wait_until
from tests.edge.hub_standin import HubStandIn
from tests.support.broker import MqttCreds

PRICE = {"amount": "59.99", "currency": "EUR"}
GAME = {"sku": "SKU-GAME", "quantity": 1, "unit_price": PRICE, "category": "Software",
        "opened": True}
CABLE = {"sku": "SKU-CABLE", "quantity": 2, "unit_price": {"amount": "9.99", "currency": "EUR"}}
RETURN: dict[str, Any] = {"channel": "pos", "reason": "changed mind", "items": [GAME, CABLE],
                          "sold_at": "2025-03-14T15:42:10+01:00"}
SOLD_AT = "2025-03-14T14:42:10.000000Z"
TABLES = ("returns", "return_items", "refunds", "outbox", "audit", "pos_transactions")


def counts(run: Running) -> dict[str, int]:
    return {table: run.rows(table) for table in TABLES}


def post(run: Running, body: dict[str, Any], path: str = "/api/returns") -> dict[str, Any]:
    answer = run.http.post(path, json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def wire_events(run: Running) -> list[Body]:
    """The bodies of the pending outbox events, as the hub decodes them off the wire."""
    with run.agent.store.read() as tx:
        pending = outbox.read_range(tx, STORE, NODE, 1, 1000)
    return [decode(encode(envelope.resent())).body for envelope in pending]


def received(run: Running) -> ReturnReceived:
    (event,) = [body for body in wire_events(run) if isinstance(body, ReturnReceived)]
    return event


def apply(run: Running, body: Body, seq: int = 1) -> None:
    """Apply a hub command to the node, as its link would."""
    payload = encode(make_envelope(STORE, NODE, seq, body))
    assert commands.handle(run.agent.store, STORE, NODE, payload, utc_now()).result == "applied"


def test_category_opened_and_sale_time_travel_to_the_hub_as_recorded(
        tmp_path: Path, node_creds: MqttCreds, hub: HubStandIn) -> None:
    with running_agent(make_settings(tmp_path, node_creds)) as run:
        view = post(run, RETURN)
        game, cable = view["items"]
        assert (game["category"], game["opened"]) == ("software", True)  # lower-cased once
        assert (cable["category"], cable["opened"]) == (None, None)  # not known, not asked
        assert view["sold_at"] == SOLD_AT
        shown = run.http.get(f"/api/returns/{view['return_id']}").json()
        assert (shown["items"], shown["sold_at"]) == (view["items"], SOLD_AT)
        with run.agent.store.read() as tx:
            assert tx.all("SELECT sku, category, opened FROM return_items ORDER BY line") == [
                {"sku": "SKU-GAME", "category": "software", "opened": 1},
                {"sku": "SKU-CABLE", "category": None, "opened": None}]
            assert tx.scalar("SELECT sold_at FROM returns") == SOLD_AT

        (envelope,) = wait_until(lambda: hub.kinds("return.received"))  # decoded by the hub
        event = envelope.body
        assert isinstance(event, ReturnReceived)
        assert [(i.sku, i.category, i.opened) for i in event.items] == [
            ("SKU-GAME", "software", True), ("SKU-CABLE", None, None)]
        assert event.sold_at is not None and format_utc(event.sold_at) == SOLD_AT
        listed = run.http.get("/api/returns").json()["items"][0]
        assert (listed["sold_at"], listed["items"][0]["category"]) == (SOLD_AT, "software")


def test_a_return_without_the_facts_sends_none_of_them(agent: Running) -> None:
    view = post(agent, {"channel": "pos", "reason": "defective", "items": [CABLE]})
    assert view["sold_at"] is None and view["items"][0]["opened"] is None
    event = received(agent)
    assert event.sold_at is None and event.items[0].category is None
    assert event.items[0].opened is None
    with agent.agent.store.read() as tx:  # left out of the wire body, not sent as null
        body = tx.scalar("SELECT body FROM outbox WHERE kind = 'return.received'")
    assert "sold_at" not in body and "category" not in body and "opened" not in body


def in_hours(hours: float) -> str:
    return format_utc(utc_now() + timedelta(hours=hours))


@pytest.mark.parametrize(("changes", "field"), [
    ({"items": [{**GAME, "category": "sealed media"}]}, "items.0.category"),
    ({"items": [CABLE, {**GAME, "category": ""}]}, "items.1.category"),
    ({"items": [{**GAME, "category": "x" * 65}]}, "items.0.category"),
    ({"items": [{**GAME, "category": "électronique"}]}, "items.0.category"),
    ({"items": [{**GAME, "opened": "maybe"}]}, "items.0.opened"),
    ({"sold_at": "2025-03-14T15:42:10"}, "sold_at"),  # naive: which zone?
    ({"sold_at": "2025-03-14"}, "sold_at"),
    ({"sold_at": "last tuesday"}, "sold_at"),
    ({"sold_at": in_hours(1)}, "sold_at"),  # a sale cannot come after its return
    ({"sold_at": in_hours(24 * 400)}, "sold_at"),
])
def test_a_bad_fact_is_a_422_naming_the_field_and_writes_nothing(
        agent: Running, changes: dict[str, Any], field: str) -> None:
    answer = agent.http.post("/api/returns", json={**RETURN, **changes})
    assert answer.status_code == 422, answer.text
    (problem,) = answer.json()["detail"]
    assert problem["field"] == field and problem["message"]
    assert counts(agent) == dict.fromkeys(TABLES, 0)


def test_a_sale_minutes_ago_is_accepted(agent: Running) -> None:
    """A till's clock a little ahead of the node's is not a sale from the future."""
    assert post(agent, {**RETURN, "sold_at": in_hours(1 / 60)})["sold_at"]


def test_items_filled_from_a_cached_rma_keep_what_the_hub_sent(agent: Running) -> None:
    apply(agent, ExpectedReturn(
        rma_id="RMA-9", order_id="305-1", channel=Channel.AMAZON_MFN, items=[
            ReturnItem(sku="SKU-GAME", quantity=1, unit_price=Money.of("59.99", "EUR"),
                       category="software", opened=True),
            ReturnItem(sku="SKU-CABLE", quantity=2, unit_price=Money.of("9.99", "EUR"),
                       category="electronics")]))
    scan = agent.http.post("/api/scans", json={"code": "RMA-9"}).json()
    assert [(i["category"], i["opened"]) for i in scan["expected_return"]["items"]] == [
        ("software", True), ("electronics", None)]

    bare_game = {key: GAME[key] for key in ("sku", "quantity", "unit_price")}
    cable_seen_sealed = {**CABLE, "opened": False, "category": "cables"}
    view = post(agent, {**RETURN, "channel": "amazon_mfn", "rma_id": "RMA-9",
                        "items": [bare_game, cable_seen_sealed]})
    assert view["mismatch"] is False
    assert [(i["category"], i["opened"]) for i in view["items"]] == [
        ("software", True),  # the counter said nothing: the hub's facts
        ("cables", False)]  # the counter looked: what it saw
    assert [(i.category, i.opened) for i in received(agent).items] == [
        ("software", True), ("cables", False)]


def pos_body(**changes: Any) -> dict[str, Any]:
    return {**REQUEST_EXAMPLE, "pos_transaction_id": "till-3-facts",
            "lines": [{**REQUEST_EXAMPLE["lines"][0], "category": "Software", "opened": True},
                      {"sku": "SKU-MUG-SET", "qty": 1,
                       "price": {"amount": "19.95", "currency": "EUR"}}], **changes}


def test_the_pos_path_carries_the_facts_and_stays_idempotent(agent: Running) -> None:
    first = agent.http.post("/api/pos/returns", json=pos_body())
    assert first.status_code == 201, first.text
    record = first.json()["record"]
    assert [(i["category"], i["opened"]) for i in record["items"]] == [
        ("software", True), (None, None)]
    assert record["sold_at"] == "2025-03-14T15:42:10.000000Z"
    event = received(agent)
    assert [(i.category, i.opened) for i in event.items] == [("software", True), (None, None)]
    assert event.sold_at is not None and format_utc(event.sold_at) == record["sold_at"]

    again = agent.http.post("/api/pos/returns", json=pos_body())
    assert again.status_code == 200 and again.json()["return_id"] == first.json()["return_id"]
    before = counts(agent)
    clash = agent.http.post("/api/pos/returns", json=pos_body(sold_at="2025-03-15T10:00:00Z"))
    assert clash.status_code == 409
    assert clash.json()["detail"][0]["field"] == "pos_transaction_id"
    assert counts(agent) == before


@pytest.mark.parametrize(("changes", "field"), [
    ({"sold_at": in_hours(48)}, "sold_at"),
    ({"sold_at": "2025-03-14T15:42:10"}, "sold_at"),
    ({"lines": [{**REQUEST_EXAMPLE["lines"][0], "category": "gift card"}]}, "lines.0.category"),
    ({"lines": [{**REQUEST_EXAMPLE["lines"][0], "opened": "yes please"}]}, "lines.0.opened"),
])
def test_a_bad_fact_from_a_till_is_a_422_in_its_own_terms(
        agent: Running, changes: dict[str, Any], field: str) -> None:
    answer = agent.http.post("/api/pos/returns", json=pos_body(**changes))
    assert answer.status_code == 422, answer.text
    assert [problem["field"] for problem in answer.json()["detail"]] == [field]
    assert counts(agent) == dict.fromkeys(TABLES, 0)


def test_a_till_retrying_a_body_from_before_the_facts_keeps_its_digest() -> None:
    """Digests stored by the previous version still match the same body posted again."""
    old_line = {k: v for k, v in REQUEST_EXAMPLE["lines"][0].items()
                if k not in ("category", "opened")}
    old = {**{k: v for k, v in REQUEST_EXAMPLE.items() if k != "sold_at"}, "lines": [old_line]}
    digest = request_hash(PosReturnRequest.model_validate(old))
    assert digest == "b1ff94ce74dbc61f654167b3bddcec5b3ff5174d7823c59b6e290d69696cb364"
    assert request_hash(PosReturnRequest.model_validate(REQUEST_EXAMPLE)) != digest


def test_the_pos_openapi_example_shows_the_facts(agent: Running) -> None:
    schemas = agent.http.get("/openapi.json").json()["components"]["schemas"]
    example = schemas["PosReturnRequest"]["examples"][0]
    assert example["sold_at"].endswith("Z") and example["lines"][0]["category"] == "home"
    assert {"category", "opened"} <= set(schemas["PosLine"]["properties"])
    assert "sold_at" in schemas["ReturnRequest"]["properties"]


OLD_RETURN, OLD_REFUND = new_return_id(), new_refund_id()


def old_store(path: Path) -> None:
    """A node's file as the previous version left it: a return, its refund, an unsent event."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        conn.execute(f"PRAGMA {pragma}")
    db = Database(conn, execute_plugins=False)
    previous = MIGRATIONS[:3]
    assert migrate(db, previous) == ["0001_initial", "0002_devices", "0003_staff"]
    now = format_utc(utc_now())
    events: list[ReturnReceived | RefundRequested] = [
        ReturnReceived(return_id=OLD_RETURN, channel=Channel.POS, reason="defective",
                       items=[ReturnItem(sku="SKU-OLD", quantity=1,
                                         unit_price=Money.of("12.00", "EUR"))],
                       received_at=utc_now()),
        RefundRequested(refund_id=OLD_REFUND, return_id=OLD_RETURN,
                        amount=Money.of("12.00", "EUR"), channel=Channel.POS,
                        requested_at=utc_now())]
    statements: list[tuple[str, tuple[Any, ...]]] = [
        ("INSERT INTO meta(key, value, updated_at) VALUES ('store_id', ?, ?), "
         "('node_id', ?, ?)", (STORE, now, NODE, now)),
        ("INSERT INTO returns(id, state, channel, reason, scanned_codes, mismatch, "
         "mismatch_detail, total_amount, currency, received_at, updated_at, event_seq) "
         "VALUES (?, 'received', 'pos', 'defective', '[]', 0, '[]', '12.00', "
         "'EUR', ?, ?, 1)", (OLD_RETURN, now, now)),
        ("INSERT INTO return_items(return_id, line, sku, quantity, unit_amount, currency) "
         "VALUES (?, 1, 'SKU-OLD', 1, '12.00', 'EUR')", (OLD_RETURN,)),
        ("INSERT INTO refunds(id, return_id, amount, currency, channel, requested_at, "
         "event_seq) VALUES (?, ?, '12.00', 'EUR', 'pos', ?, 2)", (OLD_REFUND, OLD_RETURN, now)),
        *[("INSERT INTO outbox(seq, message_id, kind, body, occurred_at) VALUES (?,?,?,?,?)",
           (seq, new_message_id(), event.kind,
            event.model_dump_json(exclude_none=True, exclude={"kind"}), now))
          for seq, event in enumerate(events, start=1)],
        ("UPDATE counters SET value = 3 WHERE name = 'next_seq'", ()),
    ]
    for sql, params in statements:
        conn.execute(sql, params)
    conn.close()


def test_the_migration_upgrades_a_store_file_of_the_previous_schema(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.data_path.mkdir(parents=True)
    old_store(settings.db_path)
    with running_agent(settings, connect=False) as run:
        assert run.agent.store.applied_migrations == ["0004_return_facts",
                                                      "0005_refund_payment", "0006_integrity",
                                                      "0007_idempotency",
                                                      "0008_decision_rules",
                                                      "0009_store_settings",
                                                      "0012_stock_ledger",
                                                      "0014_store_allocation",
                                                      "0016_stock_snapshots",
                                                      "0017_count_tasks",
                                                      "0019_stock_move_keys",
                                                      "0020_transfer_tasks",
                                                      "0021_pick_tasks",
                                                      "0022_evidence",
                                                      "0024_transfer_cancelled"]
        old = run.http.get(f"/api/returns/{OLD_RETURN}").json()
        assert old["sold_at"] is None and old["refund"]["refund_id"] == OLD_REFUND
        assert old["refund"]["payment"] is None  # nothing known of its money yet
        assert (old["items"][0]["category"], old["items"][0]["opened"]) == (None, None)
        new = post(run, RETURN)
        assert new["items"][0]["category"] == "software" and new["sold_at"] == SOLD_AT
        assert [event.return_id for event in wire_events(run)
                if isinstance(event, ReturnReceived)] == [OLD_RETURN, new["return_id"]]
        assert run.rows("returns") == 2 and run.rows("refunds") == 2
        with run.agent.store.read() as tx:
            seqs = [row[0] for row in tx.execute("SELECT seq FROM outbox ORDER BY seq")]
        # the unsent events are kept and seq goes on from them (the new return's goods also
        # enter QC hold: a stock.moved per SKU)
        assert seqs == [1, 2, 3, 4, 5, 6]


def decision(view: dict[str, Any], outcome: RefundOutcome, minutes: int = 0) -> RefundDecided:
    return RefundDecided(
        refund_id=view["refund"]["refund_id"], return_id=view["return_id"], outcome=outcome,
        amount=Money.of(view["total"]["amount"], view["total"]["currency"]),
        reasons=["opened software in DE: refund after inspection"], decided_by="policy:auto",
        decided_at=utc_now() + timedelta(minutes=minutes))


def test_refund_after_inspection_is_shown_then_replaced_by_the_second_decision(
        agent: Running) -> None:
    view = post(agent, RETURN)
    path = f"/api/returns/{view['return_id']}"
    apply(agent, decision(view, RefundOutcome.AWAITING_INSPECTION), seq=1)
    refund = agent.http.get(path).json()["refund"]
    assert (refund["status"], refund["outcome"]) == ("awaiting_inspection", "awaiting_inspection")
    assert refund["decision"]["reasons"] == ["opened software in DE: refund after inspection"]
    assert refund["sent_to_hub"] is True

    inspected = agent.http.post(f"{path}/inspection", json={"grade": "like_new"})
    assert inspected.status_code == 201
    assert inspected.json()["refund"]["status"] == "awaiting_inspection"
    apply(agent, decision(view, RefundOutcome.APPROVED, minutes=1), seq=2)
    apply(agent, decision(view, RefundOutcome.AWAITING_INSPECTION), seq=3)  # a late duplicate
    refund = agent.http.get(path).json()["refund"]
    assert (refund["status"], refund["outcome"]) == ("approved", "approved")
