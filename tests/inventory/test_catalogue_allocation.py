"""Categories reach the allocation: the catalogue fills the stock view's categories, so category
floors apply end to end (catalogue import → draft simulation over the hub's stock), the report
names the SKUs without a category, and a rule naming a category no SKU has is a warning."""

from __future__ import annotations

from pathlib import Path

from hub.access.permissions import Role
from hub.inventory.allocation import NO_SALES, simulate
from hub.inventory.allocation.simulation import category_coverage
from hub.inventory.stock_source import current_stock
from hub.storage.engine import reading
from protocol import MoveReason, StockState, utc_now
from tests.hub.helpers import ingest
from tests.inventory.alloc_helpers import NOW, US, rules, stock
from tests.inventory.cli_helpers import cli
from tests.inventory.test_alloc_stock_view import moved
from tests.people.conftest import DeskHub, add_user

S, R = StockState, MoveReason
COUNTED = (  # ten sellable units of each SKU at s1
    moved("s1", 1, "KETTLE", 10, None, S.SELLABLE, R.COUNT, 10),
    moved("s1", 2, "HEADSET", 10, None, S.SELLABLE, R.COUNT, 10),
    moved("s1", 3, "MYSTERY", 10, None, S.SELLABLE, R.COUNT, 10),
)
CATALOGUE = "sku,category\nKETTLE,small_kitchen\nHEADSET,electronics\nTRAIN,toys\n"
DRAFT = f"""schema_version: 1
version: 2
name: Kitchen floor
safety_stock:
  default: 0
  categories: {{small_kitchen: 4, garden: 1}}
marketplaces:
  {US}: {{share_percent: 100}}
"""


def us_of(draft: dict[str, object]) -> dict[str, object]:
    simulation = draft["simulation"]
    assert isinstance(simulation, dict)
    (us,) = [m for m in simulation["marketplaces"] if m["marketplace"] == US]
    return dict(us)


def test_a_category_floor_applies_once_the_catalogue_knows_the_category(
        desk: DeskHub, db_url: str, tmp_path: Path) -> None:
    result = ingest(desk.engine, *COUNTED)
    assert result.applied == len(COUNTED) and not result.dead
    add_user(desk.engine, "ada", Role.ADMIN)
    ada = desk.sign_in("ada")

    blind = ada.post("/api/inventory/rules/draft", json={"yaml": DRAFT}).json()
    assert blind["valid"] is True and blind["stock_source"] == "stock_view", blind
    # no categories yet: the kitchen floor covers nothing, and the report says so
    assert us_of(blind)["units_after"] == 30
    assert blind["simulation"]["uncategorised"] == 3
    assert blind["simulation"]["uncategorised_skus"] == ["HEADSET", "KETTLE", "MYSTERY"]
    assert [w["field"] for w in blind["simulation"]["warnings"]] == [
        "safety_stock.categories.garden", "safety_stock.categories.small_kitchen", "categories"]

    file = tmp_path / "catalogue.csv"
    file.write_text(CATALOGUE)
    code, out, err = cli(db_url, "catalogue", "import", str(file))
    assert code == 0 and "3 created" in out, err
    with reading(desk.engine) as conn:
        held, _ = current_stock(conn, utc_now())
    assert dict(held.categories) == {"KETTLE": "small_kitchen", "HEADSET": "electronics"}

    seen = ada.post("/api/inventory/rules/draft", json={"yaml": DRAFT}).json()
    us = us_of(seen)
    # active v1 (default rules): floor 1, electronics 2, 80 % → KETTLE 7, HEADSET 6, MYSTERY 7
    # draft: KETTLE 10 - 4 (small_kitchen) = 6, HEADSET 10, MYSTERY 10
    assert (us["units_before"], us["units_after"]) == (20, 26)
    examples = {e["sku"]: e for e in us["examples"]}  # type: ignore[attr-defined]
    kettle = examples["KETTLE"]["after"]
    assert kettle["quantity"] == 6
    assert kettle["steps"] == [{"rule": "safety_stock.categories.small_kitchen", "units": 4}]
    headset_before = examples["HEADSET"]["before"]["steps"]
    assert {"rule": "safety_stock.categories.electronics", "units": 2} in headset_before
    report = seen["simulation"]
    assert report["uncategorised"] == 1 and report["uncategorised_skus"] == ["MYSTERY"]
    assert [w["field"] for w in report["warnings"]] == ["safety_stock.categories.garden",
                                                        "categories"]
    garden, uncovered = (w["message"] for w in report["warnings"])
    assert garden.startswith("no SKU in the stock has the category 'garden'")
    assert uncovered == ("1 of 3 SKUs have no category, so no category rule covers them "
                         "(MYSTERY)")
    assert seen["valid"] is True  # warnings never make a draft invalid

    rules_file = tmp_path / "draft.yaml"
    rules_file.write_text(DRAFT)
    code, out, err = cli(db_url, "inventory", "rules", "simulate", str(rules_file))
    assert code == 0, err
    assert "warning: safety_stock.categories.garden: no SKU in the stock has" in out
    assert "KETTLE: 7 -> 6 (safety_stock.categories.small_kitchen -4)" in out


def test_coverage_by_table() -> None:
    held = stock(("A", "s1", 5), ("A", "s2", 5), ("B", "s1", 5), ("C", "s1", 5),
                 categories={"A": "toys", "B": "garden", "Z": "ghosts"})
    plain = category_coverage(rules(1), held)
    assert (plain.uncategorised, plain.uncategorised_skus, plain.warnings) == (1, ("C",), ())
    reserved = rules(2, marketplaces={US: {}}, reserves=[
        {"name": "xmas", "for": "in_store", "quantity": 1, "categories": ["toys", "ghosts"]}])
    found = category_coverage(reserved, held)
    # "ghosts" belongs to a SKU the stock does not hold: nothing it would shape
    assert [(w.path, w.message) for w in found.warnings] == [
        ("reserves.xmas.categories",
         "no SKU in the stock has the category 'ghosts', so this rule applies to nothing"),
        ("categories", "1 of 3 SKUs have no category, so no category rule covers them (C)"),
    ]
    covered = stock(("A", "s1", 5), categories={"A": "toys"})
    assert category_coverage(rules(3, safety_stock={"categories": {"toys": 1}}),
                             covered).warnings == ()
    report = simulate(reserved, rules(1), held, NO_SALES, NOW)
    assert report.categories == found
