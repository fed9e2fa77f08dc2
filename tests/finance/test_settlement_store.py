"""Settlements reconciled from the stored tables, on SQLite and PostgreSQL: the API, the statuses,
the resolutions and their audit entries, the CSV downloads, the roles, and the CLI.

The seed is what the Amazon sync stores (reports, lines, refund events) and what the refund
submission writes (ACORN's confirmed refunds); ``seed`` is shared with the desk test.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import Engine, select

from hub.access.permissions import Role, Scope
from hub.access.tokens import create_token
from hub.storage.engine import writing
from hub.storage.tables.amazon import (
    amazon_refund_events,
    amazon_refund_submissions,
    amazon_settlement_lines,
    amazon_settlement_reports,
)
from hub.storage.tables.core import audit_log
from tests.hub.conftest import RunningHub
from tests.inventory.cli_helpers import cli

D = Decimal
ACCOUNT, MARKET = "acct-de", "A1PA6795UKMFR9"
JAN20, FEB3 = datetime(2026, 1, 20, tzinfo=UTC), datetime(2026, 2, 3, tzinfo=UTC)
REFUNDED = [["Principal", "-20.00"], ["Tax", "-3.80"], ["Commission", "3.00"],
            ["RefundCommission", "-0.60"]]  # fmt: skip


def _at(day: int, month: int = 1) -> datetime:
    return datetime(2026, month, day, 9, tzinfo=UTC)


def _line(n: int, kind: str, order: str, description: str, amount: str, at: datetime,
          adjustment: str = "", merchant: str = "", sku: str = "") -> dict[str, Any]:  # fmt: skip
    amount_type = "ItemFees" if "Commission" in description else (
        "Other" if "Reserve" in description else "ItemPrice")  # fmt: skip
    return {"line_no": n, "transaction_type": kind, "order_id": order, "adjustment_id": adjustment,
            "merchant_adjustment_item_id": merchant, "amount_type": amount_type,
            "amount_description": description, "amount": D(amount), "currency": "EUR",
            "posted_at": at, "sku": sku, "quantity": 1, "order_item_code": ""}  # fmt: skip


S0_LINES = [
    _line(3, "Order", "302-0", "Principal", "100.00", _at(10)),
    _line(4, "", "", "Current Reserve Amount", "-30.00", _at(19)),
]
S1_LINES = [
    *(_line(3 + n, "Refund", "302-1", kind, amount, _at(28), "AJ1", "F1", "SKU-1")
      for n, (kind, amount) in enumerate(REFUNDED)),
    _line(7, "Refund", "302-2", "Principal", "-15.00", _at(1, 2), "AJ2", "", "SKU-2"),
    _line(8, "Refund", "302-2", "Tax", "-2.85", _at(1, 2), "AJ2", "", "SKU-2"),
    _line(9, "Order", "302-5", "Principal", "200.00", _at(30)),
    _line(10, "Order", "302-6", "Principal", "50.00", _at(2, 2)),
    _line(11, "", "", "Previous Reserve Amount Balance", "30.00", _at(21)),
]  # fmt: skip
S1_TOTAL = sum((line["amount"] for line in S1_LINES), D(0))  # 240.75


def _report(tx: Any, report_id: str, settlement_id: str, start: datetime, end: datetime,
            lines: list[dict[str, Any]], seen: datetime) -> None:  # fmt: skip
    total = sum((line["amount"] for line in lines), D(0))
    tx.conn.execute(amazon_settlement_reports.insert().values(
        account=ACCOUNT, report_id=report_id, settlement_id=settlement_id, marketplace_id=MARKET,
        start_at=start, end_at=end, deposit_at=end, total=total, currency="EUR",
        lines=len(lines), problems=0, first_seen_at=seen))  # fmt: skip
    tx.conn.execute(amazon_settlement_lines.insert(), [
        {**line, "account": ACCOUNT, "report_id": report_id, "settlement_id": settlement_id}
        for line in lines])  # fmt: skip


def _refund(tx: Any, refund_id: str, order: str, adjustment: str, principal: str, status: str,
            charges: list[list[str]] | None, sku: str) -> None:  # fmt: skip
    tx.conn.execute(amazon_refund_submissions.insert().values(
        store_id="store-1", refund_id=refund_id, account=ACCOUNT, feed_key="feed-1",
        message_id=1, order_id=order, marketplace_id=MARKET, amount=D(principal), currency="EUR",
        items=[{"order_item_id": f"OI-{refund_id}", "merchant_item_id": refund_id,
                "principal": principal, "adjustment_id": adjustment or None}],
        status=status, created_at=_at(25), updated_at=_at(25)))  # fmt: skip
    if charges is not None:
        tx.conn.execute(amazon_refund_events.insert().values(
            account=ACCOUNT, order_id=order, adjustment_item_id=adjustment,
            marketplace_name="Amazon.de", posted_at=_at(28), order_item_id=f"OI-{refund_id}",
            sku=sku, quantity=1, currency="EUR", principal=D(charges[0][1]),
            total=sum((D(a) for _, a in charges), D(0)), charges=charges, content_hash="h",
            first_seen_at=_at(28), updated_at=_at(28)))  # fmt: skip


def seed(engine: Engine) -> None:
    """Two settlements (the second delivered twice) and ACORN's refunds of the period."""
    with writing(engine) as tx:
        _report(tx, "R0", "S0", datetime(2026, 1, 6, tzinfo=UTC), JAN20, S0_LINES, _at(21))
        _report(tx, "R1", "S1", JAN20, FEB3, S1_LINES, _at(4, 2))
        _report(tx, "R2", "S1", JAN20, FEB3, S1_LINES, _at(5, 2))  # the same settlement again
        _refund(tx, "F1", "302-1", "AJ1", "20.00", "settled", REFUNDED, "SKU-1")
        _refund(tx, "F3", "302-3", "AJ3", "10.00", "confirmed",
                [["Principal", "-10.00"], ["Tax", "-1.90"]], "SKU-3")  # fmt: skip
        _refund(tx, "F4", "302-4", "", "5.00", "submitted", None, "SKU-4")  # not confirmed


def _client(api_hub: RunningHub, role: Role = Role.FINANCE, **scope: str) -> httpx.Client:
    token = create_token(api_hub.engine, f"u-{role.value}", role, scope=Scope(**scope))
    api_hub.client.headers["Authorization"] = f"Bearer {token}"
    return api_hub.client


def _ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()


def _audited(engine: Engine, action: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(audit_log).where(audit_log.c.action == action)
                                 .order_by(audit_log.c.seq)))  # fmt: skip


def test_a_settlement_reconciled_resolved_and_audited(api_hub: RunningHub) -> None:
    seed(api_hub.engine)
    client = _client(api_hub)
    listed = _ok(client.get("/api/settlements"))
    assert [(s["settlement_id"], s["report_id"], s["repeated_in"], s["status"])
            for s in listed] == [
        ("S1", "R1", ["R2"], "open"), ("S0", "R0", [], "open")]  # fmt: skip
    detail = _ok(client.post("/api/settlements/S1/reconcile"))
    kinds = [(d["kind"], d["refund"] or d["order_id"]) for d in detail["differences"]]
    assert kinds == [("unknown_to_acorn", "302-2"), ("not_settled", "store-1/F3")]
    assert detail["deposit"] == {"deposit": "240.75", "lines_total": "240.75", "gap": "0.00",
                                 "adds_up": True, "flags": []}  # fmt: skip
    assert detail["matched"] == 1 and detail["settlement"]["status"] == "differences"
    unknown, missing = detail["differences"]
    assert unknown["settlement"]["Tax"] == "-2.85" and missing["acorn"]["Tax"] == "-1.90"
    # The month parts add up to the one deposit.
    parts = {p["month"]: D(p["amount"]) for p in detail["summary"]["parts"]}
    assert parts == {"2026-01": D("208.60"), "2026-02": D("32.15")}
    assert sum(parts.values()) == S1_TOTAL
    for row, note in ((unknown, "an A-to-z claim Amazon refunded itself"),
                      (missing, "settles in the next period")):  # fmt: skip
        after = _ok(
            client.post("/api/settlements/S1/resolve", json={"key": row["key"], "note": note})
        )
    assert after["settlement"]["status"] == "reconciled"
    assert [d["resolved"]["note"] for d in after["differences"]] == [
        "an A-to-z claim Amazon refunded itself",
        "settles in the next period",
    ]
    again = client.post("/api/settlements/S1/resolve", json={"key": unknown["key"], "note": "x"})
    assert again.status_code == 409
    assert client.post("/api/settlements/S1/resolve",
                       json={"key": "nope", "note": "x"}).status_code == 404  # fmt: skip
    statuses = [(r.before["status"], r.after["status"]) for r in
                _audited(api_hub.engine, "settlement.status")]  # fmt: skip
    assert statuses == [("open", "differences"), ("differences", "differences"),
                        ("differences", "reconciled")]  # fmt: skip
    resolved = _audited(api_hub.engine, "settlement.difference.resolved")
    assert [(r.actor, r.entity_id, r.reason) for r in resolved] == [
        ("u-finance", f"S1/{unknown['key']}", "an A-to-z claim Amazon refunded itself"),
        ("u-finance", f"S1/{missing['key']}", "settles in the next period")]  # fmt: skip


def test_a_reserve_held_then_released(api_hub: RunningHub) -> None:
    seed(api_hub.engine)
    client = _client(api_hub)
    s0 = _ok(client.post("/api/settlements/S0/reconcile"))
    assert s0["deposit"]["flags"] == ["reserve_held"] and s0["settlement"]["status"] == "reconciled"
    with writing(api_hub.engine) as tx:  # the release line never came
        tx.conn.execute(amazon_settlement_lines.delete().where(
            amazon_settlement_lines.c.line_no == 11))  # fmt: skip
    s1 = _ok(client.get("/api/settlements/S1"))
    assert s1["deposit"]["flags"] == [
        "lines_do_not_add_up",
        "reserve_or_loan_lines_missing",
        "previous_reserve_missing",
    ]
    assert s1["differences"][-1]["kind"] == "deposit"


def test_csv_downloads(api_hub: RunningHub) -> None:
    seed(api_hub.engine)
    client = _client(api_hub, Role.ADMIN)
    answer = client.get("/api/settlements/S1/differences.csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["kind"], r["order_id"], r["refund"], r["acorn_Principal"],
             r["settlement_Principal"]) for r in rows] == [
        ("unknown_to_acorn", "302-2", "", "0", "-15.00"),
        ("not_settled", "302-3", "store-1/F3", "-10.00", "0")]  # fmt: skip
    summary = list(csv.DictReader(io.StringIO(client.get("/api/settlements/S1/summary.csv").text)))
    parts = [r for r in summary if r["transaction_type"] == "deposit part"]
    assert [(r["month"], r["account"], r["amount"]) for r in parts] == [
        ("2026-01", "1360", "208.60"), ("2026-02", "1360", "32.15")]  # fmt: skip
    booked = sum((D(r["amount"]) for r in summary if r not in parts), D(0))
    assert booked == S1_TOTAL


def test_who_may_see_settlements(api_hub: RunningHub) -> None:
    seed(api_hub.engine)
    client = _client(api_hub, Role.REGIONAL_MANAGER, region="north")
    for path in ("/api/settlements", "/api/settlements/S1", "/api/settlements/accounts"):
        assert client.get(path).status_code == 403
    assert client.post("/api/settlements/S1/reconcile").status_code == 403
    client = _client(api_hub)
    assert client.get("/api/settlements/S9").status_code == 404
    assert client.get("/api/settlements/S%201").status_code == 422
    bad = client.post("/api/settlements/S1/resolve", json={"key": "deposit", "note": ""})
    assert bad.status_code == 422


def test_the_account_mapping_is_versioned(api_hub: RunningHub) -> None:
    seed(api_hub.engine)
    client = _client(api_hub)
    active = _ok(client.get("/api/settlements/accounts"))
    assert active["version"] == 1
    text = active["yaml"].replace("version: 1", "version: 2").replace('"8400"', '"8401"')
    assert _ok(client.put("/api/settlements/accounts", json={"yaml": text}))["version"] == 2
    accounts = {b["account"] for b in _ok(client.get("/api/settlements/S1"))["summary"]["bookings"]}
    assert "8401" in accounts and "8400" not in accounts
    stale = client.put("/api/settlements/accounts", json={"yaml": text})
    assert stale.status_code == 422 and "version" in stale.text
    assert _audited(api_hub.engine, "settlement_accounts.published")[0].after["version"] == 2


def test_the_cli(engine: Engine) -> None:
    seed(engine)
    url = engine.url.render_as_string(hide_password=False)
    code, out, _ = cli(url, "settlements", "list")
    assert code == 0 and [row.split("\t")[0::5] for row in out.splitlines()[1:]] == [
        ["S0", "open"], ["S1", "open"]]  # fmt: skip
    code, out, _ = cli(url, "settlements", "reconcile")
    assert code == 0 and out.splitlines() == ["S0\treconciled\t0 differences",
                                              "S1\tdifferences\t2 differences"]  # fmt: skip
    code, out, _ = cli(url, "settlements", "show", "S1", "--csv")
    assert code == 0 and "not_settled,302-3,store-1/F3" in out
    code, _, err = cli(url, "settlements", "show", "S9")
    assert code == 1 and "no settlement S9" in err
