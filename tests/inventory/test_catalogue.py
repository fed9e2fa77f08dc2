"""The product catalogue: CSV import (every bad line named, nothing written; a repeat changes and
audits nothing), ``catalogue show``, and the API's rights, 422s and audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from hub.access.permissions import Role
from hub.access.users import Actor
from hub.errors import StorageError
from hub.inventory.catalogue import ACTION, CatalogueFileError, import_items, read_csv
from hub.inventory.catalogue import store as catalogue_store
from hub.storage.engine import make_engine, reading
from hub.storage.tables.catalogue import catalogue_items
from hub.storage.tables.core import audit_log
from tests.inventory.cli_helpers import cli
from tests.people.conftest import DeskHub, add_user
from tests.support.databases import migrated

GOOD = """\ufeffSKU,Category,Title,Brand,Unit_Cost,Currency
AC-KETTLE-17,Small_Kitchen,Stainless Kettle 1.7 L,Acorn Home,18.40,EUR
AC-GRINDER-01,small_kitchen,"Burr Coffee Grinder, steel",,31.05,EUR
AC-HEADSET-2,electronics,,,,
"""


def trail(engine: Engine, sku: str | None = None) -> list[tuple[str, str, Any, Any]]:
    """The catalogue's audit entries (of one SKU), oldest first."""
    query = (select(audit_log.c.actor, audit_log.c.entity_id, audit_log.c.before,
                    audit_log.c.after).where(audit_log.c.action == ACTION)
             .order_by(audit_log.c.seq))
    if sku is not None:
        query = query.where(audit_log.c.entity_id == sku)
    with reading(engine) as conn:
        return [tuple(row) for row in conn.execute(query)]


def entries(engine: Engine) -> int:
    with reading(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(catalogue_items)).scalar_one())


@pytest.mark.parametrize(("text", "problems"), [
    ("", ["line 1: the file is empty"]),
    ("sku,title\nA,x\n", ["line 1: the header lacks the 'category' column"]),
    ("sku,category,price\nA,toys,1\n", ["line 1: unknown column 'price'"]),
    ("sku,category,sku\nA,toys,A\n", ["line 1: column 'sku' is given twice"]),
    ("sku,category\n", ["line 2: the file has a header but no SKU"]),
    ("sku,category\nA,toys\n\nB,big toys\nA,toys\nC\n,toys\n",
     ["line 4, category: 'big toys' is not a category", "line 5, sku: A was already given on "
      "line 2", "line 6: 1 fields where the header has 2", "line 7, sku: a SKU is required"]),
    ("sku,category,unit_cost,currency\nA,x,1.234,EUR\nB,x,1,EURO\nC,x,1,\nD,x,,EUR\nE,x,-1,EUR\n"
     "F,x,1e3,JPY\n",
     ["line 2, unit_cost: 1.234 has 3 decimal places; EUR allows 2",
      "line 3, currency: unknown ISO 4217 currency 'EURO'",
      "line 4, currency: give the currency of unit_cost", "line 5, unit_cost: a currency (EUR) "
      "without a unit cost", "line 6, unit_cost: a unit cost is zero or more"]),
    (f"sku,category,title\nA,x,{'t' * 201}\n{'S' * 65},x,\n",
     ["line 2, title: String should have at most 200 characters",
      "line 3, sku: a SKU has at most 64 characters"]),
    ('sku,category\nA,"toys\n', ["line 2: not readable as CSV"]),
])
def test_each_bad_line_is_named_with_its_column(text: str, problems: list[str]) -> None:
    with pytest.raises(CatalogueFileError) as caught:
        read_csv(text)
    found = [str(problem) for problem in caught.value.problems]
    assert len(found) == len(problems), found
    for line, start in zip(found, problems, strict=True):
        assert line.startswith(start), (line, start)


def test_a_good_file_reads_stripped_and_lower_cased() -> None:
    items = dict(read_csv(GOOD))
    kettle = items["AC-KETTLE-17"]
    assert kettle.category == "small_kitchen" and kettle.brand == "Acorn Home"
    assert kettle.unit_cost is not None and str(kettle.unit_cost) == "18.40 EUR"
    assert items["AC-GRINDER-01"].title == "Burr Coffee Grinder, steel"
    assert items["AC-GRINDER-01"].brand is None and items["AC-HEADSET-2"].unit_cost is None
    many = "sku,category\n" + "".join(f"S{i},x\n" for i in range(120))
    with pytest.raises(CatalogueFileError) as caught:
        read_csv(many.replace(",x\n", ",X Y\n"))
    assert len(caught.value.problems) == 51  # 50 named, then how many more
    assert str(caught.value.problems[-1]) == "(document): and 70 more problems"


def test_the_cli_imports_once_and_a_repeat_changes_nothing(desk: DeskHub, db_url: str,
                                                           tmp_path: Path) -> None:
    file = tmp_path / "catalogue.csv"
    file.write_text(GOOD, encoding="utf-8")
    code, out, err = cli(db_url, "catalogue", "import", str(file))
    assert code == 0, err
    assert "3 SKUs: 3 created, 0 updated, 0 unchanged" in out
    assert len(trail(desk.engine)) == 3
    code, out, err = cli(db_url, "catalogue", "import", str(file))
    assert code == 0 and "3 SKUs: 0 created, 0 updated, 3 unchanged" in out, err
    assert len(trail(desk.engine)) == 3  # nothing changed, nothing audited

    file.write_text(GOOD.replace("18.40,EUR", "19.00,EUR"), encoding="utf-8")
    code, out, err = cli(db_url, "catalogue", "import", str(file))
    assert code == 0 and "0 created, 1 updated, 2 unchanged" in out, err
    (_, (actor, sku, before, after)) = trail(desk.engine, "AC-KETTLE-17")
    assert actor.startswith("cli:") and sku == "AC-KETTLE-17"
    assert before["unit_cost"] == {"amount": "18.40", "currency": "EUR"}
    assert after["unit_cost"] == {"amount": "19.00", "currency": "EUR"}
    assert after["category"] == before["category"] == "small_kitchen"

    code, out, err = cli(db_url, "catalogue", "show", "AC-KETTLE-17")
    assert code == 0, err
    assert "category:  small_kitchen" in out and "unit cost: 19.00 EUR" in out
    code, out, err = cli(db_url, "catalogue", "show", "NOPE")
    assert code == 1 and "the catalogue has no SKU 'NOPE'" in err


def test_the_cli_refuses_a_bad_file_whole(desk: DeskHub, db_url: str, tmp_path: Path) -> None:
    file = tmp_path / "bad.csv"
    file.write_text(GOOD + "AC-LAMP-9,Desk Lamps,,,,\nAC-KETTLE-17,small_kitchen,,,,\n")
    code, _, err = cli(db_url, "catalogue", "import", str(file))
    assert code == 1
    lines = err.strip().splitlines()
    assert lines[0] == (f"{file}: line 5, category: 'Desk Lamps' is not a category: write "
                        "lower-case letters, digits and underscores, at most 40 "
                        "(e.g. small_kitchen)")
    assert lines[1] == f"{file}: line 6, sku: AC-KETTLE-17 was already given on line 2"
    assert lines[2] == f"{file}: nothing imported"
    assert entries(desk.engine) == 0 and trail(desk.engine) == []
    code, _, err = cli(db_url, "catalogue", "import", str(tmp_path / "missing.csv"))
    assert code == 1 and "cannot read" in err


def test_the_api_reads_for_viewers_and_writes_for_rule_editors(desk: DeskHub) -> None:
    add_user(desk.engine, "ada", Role.ADMIN)
    add_user(desk.engine, "vic", Role.VIEWER)
    add_user(desk.engine, "reg", Role.REGIONAL_MANAGER)
    ada, vic, reg = desk.sign_in("ada"), desk.sign_in("vic"), desk.sign_in("reg")
    body = {"category": "Toys", "title": "Wooden train",
            "unit_cost": {"amount": "7.5", "currency": "USD"}}
    assert vic.put("/api/catalogue/TRAIN-1", json=body).status_code == 403
    assert reg.put("/api/catalogue/TRAIN-1", json=body).status_code == 403
    assert vic.get("/api/catalogue/TRAIN-1").status_code == 404
    put = ada.put("/api/catalogue/TRAIN-1", json=body)
    assert put.status_code == 200, put.text
    assert put.json()["outcome"] == "created" and put.json()["updated_by"] == "ada"
    got = vic.get("/api/catalogue/TRAIN-1").json()
    assert got["category"] == "toys" and got["brand"] is None
    assert got["unit_cost"] == {"amount": "7.50", "currency": "USD"}
    assert ada.put("/api/catalogue/TRAIN-1", json=body).json()["outcome"] == "unchanged"
    assert [(actor, before) for actor, _, before, _ in trail(desk.engine)] == [("ada", None)]

    for bad, field in [({**body, "category": "toys & games"}, "category"),
                       ({**body, "unit_cost": {"amount": 7.5, "currency": "USD"}},
                        "unit_cost.amount"),
                       ({**body, "colour": "red"}, "colour"),
                       ({"title": "x"}, "category")]:
        answer = ada.put("/api/catalogue/TRAIN-1", json=bad)
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["field"] == field, answer.json()
    assert ada.put(f"/api/catalogue/{'S' * 65}", json=body).status_code == 422
    assert len(trail(desk.engine)) == 1


def test_the_api_imports_csv_whole_or_not_at_all(desk: DeskHub) -> None:
    add_user(desk.engine, "ada", Role.ADMIN)
    ada = desk.sign_in("ada")
    bad = ada.post("/api/catalogue/import", json={"csv": GOOD + "X,,,,,\nY,toys,,,3,\n"})
    assert bad.status_code == 422
    assert [(i["field"], i["message"][:20]) for i in bad.json()["detail"]] == [
        ("line 5, category", "'' is not a category"),
        ("line 6, currency", "give the currency of"),
    ]
    assert entries(desk.engine) == 0
    done = ada.post("/api/catalogue/import", json={"csv": GOOD})
    assert done.status_code == 200, done.text
    assert done.json() == {"skus": 3, "created": 3, "updated": 0, "unchanged": 0}
    again = ada.post("/api/catalogue/import", json={"csv": GOOD}).json()
    assert again == {"skus": 3, "created": 0, "updated": 0, "unchanged": 3}
    assert len(trail(desk.engine)) == 3
    changed = {"csv": GOOD.replace("electronics", "audio")}
    key = {"Idempotency-Key": "catalogue-import-1"}
    first = ada.post("/api/catalogue/import", json=changed, headers=key)
    replay = ada.post("/api/catalogue/import", json=changed, headers=key)
    assert first.json() == {"skus": 3, "created": 0, "updated": 1, "unchanged": 2}
    assert replay.content == first.content and replay.headers["idempotent-replayed"] == "true"
    assert len(trail(desk.engine)) == 4
    assert ada.get("/api/catalogue/AC-HEADSET-2").json()["category"] == "audio"


def test_a_batch_the_database_refuses_is_undone_whole_and_a_repeat_finishes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    migrated(url)
    engine = make_engine(url)
    try:
        monkeypatch.setattr(catalogue_store, "BATCH", 2)
        with engine.begin() as conn:  # the database itself refuses the fourth SKU
            conn.execute(text("CREATE TRIGGER no_d BEFORE INSERT ON catalogue_items "
                              "WHEN NEW.sku = 'D' BEGIN SELECT RAISE(ABORT, 'disk full'); END"))
        items = read_csv("sku,category\nA,x\nB,x\nC,x\nD,x\nE,x\n")
        seen: list[int] = []
        with pytest.raises(StorageError, match="disk full"):
            import_items(engine, items, Actor("ops", "operator"), seen.append)
        assert seen == [2] and entries(engine) == 2  # C, D undone with their batch
        assert [sku for _, sku, _, _ in trail(engine)] == ["A", "B"]
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER no_d"))
        done = import_items(engine, items, Actor("ops", "operator"), seen.append)
        assert (done.created, done.unchanged) == (3, 2) and seen == [2, 2, 2, 1]
        assert [sku for _, sku, _, _ in trail(engine)] == ["A", "B", "C", "D", "E"]
    finally:
        engine.dispose()
