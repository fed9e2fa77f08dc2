"""The imported VAT report months (``hub.finance.vat_overview``) against the seeded months
(``vat_seed``: hand-counted there), through the API (finance and admins with an unlimited
scope; others 403, an unknown account 404, a bad limit 422) and ``acorn-hub finance
vat-reports``."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import Engine

from hub.access.permissions import Role, Scope
from hub.access.tokens import create_token
from hub.finance.vat_overview import months
from hub.storage.engine import reading
from tests.finance.vat_seed import AVTR, CALC, seed_vat
from tests.hub.conftest import RunningHub
from tests.inventory.cli_helpers import cli

COUNTS = {  # report type -> matched, differing, only at Amazon, only in ACORN
    AVTR: (1, 0, 1, 1),
    CALC: (0, 1, 0, 1),
}


def test_months_are_listed_newest_first_with_their_refunds_counted(engine: Engine) -> None:
    seed_vat(engine)
    with reading(engine) as conn:
        found = months(conn)
    assert [(m.month, m.status) for m in found] == [("2026-11", "done"), ("2026-10", "requested")]
    november, october = found
    assert {c.report_type: (c.matched, c.differing, c.only_amazon, c.only_acorn)
            for c in november.counts} == COUNTS
    assert sorted((u.report_type, u.side, u.order_id, u.gross, u.refund)
                  for u in november.unmatched) == [
        (AVTR, "only_acorn", "o-m2", "20.00", "s1/rf-m2"),
        (AVTR, "only_amazon", "o-m3", "5.95", "T-o-m3-2"),
        (CALC, "only_acorn", "o-m2", "20.00", "s1/rf-m2"),
    ]
    assert (october.counts, october.unmatched) == ([], [])
    with reading(engine) as conn:
        assert [m.month for m in months(conn, limit=1)] == ["2026-11"]
        assert months(conn, account="nobody") == []


def _get(client: httpx.Client, path: str, token: str) -> httpx.Response:
    return client.get(path, headers={"Authorization": f"Bearer {token}"})


def test_the_api_lists_the_months_to_unscoped_finance_only(api_hub: RunningHub) -> None:
    seed_vat(api_hub.engine)
    client, path = api_hub.client, "/api/finance/vat-reports/months"
    finance = create_token(api_hub.engine, "fin", Role.FINANCE)
    answer = _get(client, path, finance)
    assert answer.status_code == 200, answer.text
    body = answer.json()["months"]
    assert [(m["month"], m["status"]) for m in body] == [("2026-11", "done"),
                                                         ("2026-10", "requested")]
    assert {c["report_type"]: (c["matched"], c["differing"], c["only_amazon"], c["only_acorn"])
            for c in body[0]["counts"]} == COUNTS
    assert [r["lines"] for r in body[0]["reports"]] == [2, 1]
    assert {(u["side"], u["order_id"]) for u in body[0]["unmatched"]} == {
        ("only_acorn", "o-m2"), ("only_amazon", "o-m3")}
    assert len(_get(client, f"{path}?limit=1", finance).json()["months"]) == 1
    admin = create_token(api_hub.engine, "ada", Role.ADMIN)
    assert _get(client, path, admin).status_code == 200
    scoped = create_token(api_hub.engine, "fred", Role.FINANCE, scope=Scope(region="north"))
    manager = create_token(api_hub.engine, "sam", Role.STORE_MANAGER, scope=Scope(store="s1"))
    for token in (scoped, manager):
        refused = _get(client, path, token)
        assert refused.status_code == 403 and refused.json()["detail"][0]["message"]
    assert client.get(path).status_code == 401
    assert _get(client, f"{path}?account=nobody", finance).status_code == 404
    for bad in ("limit=0", "limit=61", "limit=x", "limit=9223372036854775808"):
        assert _get(client, f"{path}?{bad}", finance).status_code == 422, bad


def test_the_cli_prints_the_months_and_their_unmatched_refunds(engine: Engine) -> None:
    db = engine.url.render_as_string(hide_password=False)
    code, out, err = cli(db, "finance", "vat-reports")
    assert code == 0, err
    assert "no VAT report imported yet" in out
    seed_vat(engine)
    code, out, err = cli(db, "finance", "vat-reports")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("eu 2026-11 [done]:")
    assert f"  {AVTR}: 1 matched, 0 differing, 1 only at Amazon, 1 only in ACORN" in lines
    assert f"  {CALC}: 0 matched, 1 differing, 0 only at Amazon, 1 only in ACORN" in lines
    assert any("only at Amazon: order o-m3 SKU-C 5.95 EUR (T-o-m3-2)" in x for x in lines)
    assert any(x.startswith("eu 2026-10 [requested]:") for x in lines)
    code, out, err = cli(db, "finance", "vat-reports", "--json", "--limit", "1")
    assert code == 0, err
    assert [m["month"] for m in json.loads(out)["months"]] == ["2026-11"]
    code, _, err = cli(db, "finance", "vat-reports", "--account", "nobody")
    assert code == 1 and "nobody" in err
    code, _, err = cli(db, "finance", "vat-reports", "--limit", "0")
    assert code != 0 and "Traceback" not in err
    code, out, _ = cli(db, "finance", "vat-reports", "--help")
    assert code == 0 and "--account" in out
