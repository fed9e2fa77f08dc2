"""Transfers through the hub API, signed in for real (SQLite and PostgreSQL): managers request
inside their scope, viewers read only what touches their scope, finance reads the settlement and
publishes price rules; each refusal a clear 4xx that changes nothing; the CLI refuses bad input
with a sentence and a non-zero exit."""

from __future__ import annotations

from typer.testing import CliRunner

from hub.access.permissions import Role, Scope
from hub.cli.main import app as cli
from hub.storage.engine import reading
from hub.storage.tables.core import commands
from hub.storage.tables.transfers import transfers
from tests.hub.helpers import ingest, status
from tests.people.conftest import DeskHub, add_user

ONE = {"from_store": "s1", "to_store": "s3", "lines": [{"sku": "SKU-A", "quantity": 2}]}


def counted(desk: DeskHub, table: object) -> int:
    with reading(desk.engine) as conn:
        return len(conn.execute(table.select()).all())  # type: ignore[attr-defined]


def test_managers_request_inside_their_scope_and_readers_see_theirs(desk: DeskHub) -> None:
    ingest(desk.engine, *(status(s, "n1") for s in ("s1", "s2", "s3")))
    add_user(desk.engine, "mona", Role.STORE_MANAGER, Scope(store="s2"))
    add_user(desk.engine, "sam", Role.STORE_STAFF, Scope(store="s1"))
    add_user(desk.engine, "vic", Role.VIEWER, Scope(region="south"))
    add_user(desk.engine, "val", Role.VIEWER, Scope(store="s2"))
    add_user(desk.engine, "nora", Role.REGIONAL_MANAGER, Scope(region="north"))
    mona, sam, vic, val, nora = (desk.sign_in(u) for u in ("mona", "sam", "vic", "val", "nora"))
    assert sam.post("/api/transfers", json=ONE).status_code == 403  # staff may not
    assert mona.post("/api/transfers", json=ONE).status_code == 403  # neither store is hers
    for body, field in (({**ONE, "to_store": "s1"}, "to_store"),
                        ({**ONE, "lines": []}, "lines"),
                        ({**ONE, "lines": [{"sku": "SKU-A", "quantity": 1},
                                           {"sku": "SKU-A", "quantity": 2}]}, "lines"),
                        ({**ONE, "lines": [{"sku": "SKU-A", "quantity": 0}]}, "lines.0.quantity"),
                        ({**ONE, "extra": 1}, "extra")):
        refused = nora.post("/api/transfers", json=body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"][0]["field"] == field
    assert nora.post("/api/transfers", json={**ONE, "to_store": "s9"}).status_code == 404
    assert counted(desk, transfers) == 0 and counted(desk, commands) == 0

    made = nora.post("/api/transfers", json={**ONE, "note": "for the sale"})
    assert made.status_code == 201, made.text
    row = made.json()
    assert (row["status"], row["send_node"], row["lines"][0]["requested"]) == ("requested",
                                                                               "n1", 2)
    with reading(desk.engine) as conn:
        (queued,) = conn.execute(commands.select()).all()
    assert (queued.store_id, queued.node_id, queued.kind) == ("s1", "n1", "transfer.task")

    assert [t["transfer_id"] for t in vic.get("/api/transfers").json()] == [row["transfer_id"]]
    assert val.get("/api/transfers").json() == []  # s2's viewer: not hers
    assert val.get(f"/api/transfers/{row['transfer_id']}").status_code == 404
    assert vic.get("/api/transfers/TR-NOPE").status_code == 404


def test_finance_reads_the_settlement_and_publishes_price_rules(desk: DeskHub) -> None:
    add_user(desk.engine, "finn", Role.FINANCE)
    add_user(desk.engine, "nora", Role.REGIONAL_MANAGER, Scope(region="north"))
    finn, nora = desk.sign_in("finn"), desk.sign_in("nora")
    assert nora.get("/api/transfers/settlement", params={"month": "2026-11"}).status_code == 403
    empty = finn.get("/api/transfers/settlement", params={"month": "2026-11"})
    assert empty.status_code == 200 and empty.json()["lines"] == []
    assert finn.get("/api/transfers/settlement", params={"month": "2026-13"}).status_code == 422
    assert finn.get("/api/transfers/settlement").status_code == 422
    text = finn.get("/api/transfers/settlement.csv", params={"month": "2026-11"}).text
    assert text.startswith("month,transfer_id,sku,")

    rules = finn.get("/api/transfers/price-rules").json()
    assert (rules["version"], rules["currency"]) == (1, "EUR")
    new = rules["yaml"].replace("\nversion: 1", "\nversion: 2").replace("markup_percent: 0",
                                                                     "markup_percent: 3")
    assert nora.put("/api/transfers/price-rules", json={"yaml": new}).status_code == 403
    bad = finn.put("/api/transfers/price-rules", json={"yaml": new + "surprise: 1\n"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "surprise"
    same = finn.put("/api/transfers/price-rules", json={"yaml": rules["yaml"]})
    assert same.status_code == 422 and "higher than the active version" in same.text
    done = finn.put("/api/transfers/price-rules", json={"yaml": new})
    assert done.status_code == 200 and done.json()["version"] == 2
    assert "markup_percent: 3" in finn.get("/api/transfers/price-rules").json()["yaml"]


def test_the_cli_refuses_bad_input_with_a_sentence(desk: DeskHub, monkeypatch: object) -> None:
    monkeypatch.setenv("ACORN_HUB_DATABASE_URL", str(desk.engine.url.render_as_string(  # type: ignore[attr-defined]
        hide_password=False)))
    runner = CliRunner()
    month = runner.invoke(cli, ["transfers", "settlement", "--month", "November"])
    assert month.exit_code == 1 and "is not a month: write YYYY-MM" in month.output
    line = runner.invoke(cli, ["transfers", "request", "--from", "s1", "--to", "s3",
                               "--line", "SKU-A"])
    assert line.exit_code == 2 and "SKU=QUANTITY" in line.output
    nobody = runner.invoke(cli, ["transfers", "request", "--from", "s1", "--to", "s3",
                                 "--line", "SKU-A=2"])
    assert nobody.exit_code == 1 and "has no node to do the transfer" in nobody.output
    assert "Traceback" not in month.output + line.output + nobody.output
    ok = runner.invoke(cli, ["transfers", "settlement", "--month", "2026-11"])
    assert ok.exit_code == 0 and "month 2026-11: 0 lines, 0 unpriced" in ok.output
