"""``acorn-hub routing ...``: postal codes imported (GeoNames format, plain or zipped; a bad line
stores nothing), routes shown, re-routed and given back, rules published; each audited."""

from __future__ import annotations

import zipfile
from pathlib import Path

from sqlalchemy import Engine, func, select

from hub.inventory.routing.postcodes import Lookup
from hub.storage.engine import reading
from hub.storage.tables.routing import postal_centroids
from tests.inventory.cli_helpers import cli
from tests.routing.db_support import add_order, add_store, audits, publish_rules, put_stock
from tests.routing.test_service import SPRINGFIELD, import_route

# GeoNames' postal-code dump lines (country, code, place, admin 1-3 name/code, lat, lon, acc.);
# GeoNames lists one line per place, so a code can come twice.
GEONAMES = (
    "DE\t50667\tKöln\tNordrhein-Westfalen\tNW\tRegierungsbezirk Köln\t053\tKöln\t05315"
    "\t50.9384\t6.9577\t4\n"
    "DE\t80331\tMünchen\tBayern\tBY\tOberbayern\t091\tMünchen, Kreisfreie Stadt\t09162"
    "\t48.1345\t11.5710\t4\n"
    "DE\t80331\tMünchen Altstadt\tBayern\tBY\tOberbayern\t091\tMünchen, Kreisfreie Stadt"
    "\t09162\t48.1375\t11.5750\t4\n"
)


def db(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def centroids(engine: Engine) -> int:
    with reading(engine) as conn:
        return int(conn.scalar(select(func.count()).select_from(postal_centroids)) or 0)


def test_import_postcodes(engine: Engine, tmp_path: Path) -> None:
    dump = tmp_path / "DE.txt"
    dump.write_text(GEONAMES, encoding="utf-8")
    code, out, err = cli(db(engine), "routing", "import-postcodes", str(dump))
    assert code == 0, err
    assert "DE\t2 postal codes" in out and "2 postal codes from 3 lines" in out
    with reading(engine) as conn:
        lookup = Lookup(conn)
        lat, lon = lookup.centroid("DE", "80331") or (0, 0)
        assert (round(lat, 4), round(lon, 4)) == (48.136, 11.573)  # the two places' mean
        assert lookup.centroid("DE", "10115") is None
        assert lookup.centroid("US", "62701") is not None  # still the shipped table
    (entry,) = audits(engine, "postcodes.imported")
    assert entry.after == {"source": "DE.txt", "rows": {"DE": 2}}
    # the same file again: the same table
    assert cli(db(engine), "routing", "import-postcodes", str(dump))[0] == 0
    assert centroids(engine) == 2


def test_imported_rows_replace_the_shipped_table_for_their_country(engine: Engine,
                                                                   tmp_path: Path) -> None:
    dump = tmp_path / "US.zip"
    with zipfile.ZipFile(dump, "w") as archive:
        archive.writestr("readme.txt", "GeoNames postal codes, CC BY 4.0")
        archive.writestr("US.txt", "US\t62702\tSpringfield\tIllinois\tIL\tSangamon\t167\t\t\t"
                                   "39.8023\t-89.6445\t4\n")
    code, _, err = cli(db(engine), "routing", "import-postcodes", str(dump))
    assert code == 0, err
    with reading(engine) as conn:
        lookup = Lookup(conn)
        assert lookup.centroid("US", "62702") is not None
        assert lookup.centroid("US", "62701") is None  # only the imported US rows count now


def test_a_bad_line_stores_nothing(engine: Engine, tmp_path: Path) -> None:
    dump = tmp_path / "DE.txt"
    dump.write_text(GEONAMES + "DE\t10115\tBerlin\t\t\t\t\t\t\tfifty-two\t13.38\t4\n",
                    encoding="utf-8")
    code, _, err = cli(db(engine), "routing", "import-postcodes", str(dump))
    assert code == 1
    assert "line 4: latitude 'fifty-two' is not a number" in err
    assert centroids(engine) == 0
    latin = tmp_path / "latin1.txt"
    latin.write_bytes(GEONAMES.encode("latin-1"))
    code, _, err = cli(db(engine), "routing", "import-postcodes", str(latin))
    assert code == 2 and "cannot read" in err
    assert audits(engine, "postcodes.imported") == []


def test_show_route_give_back_from_the_command_line(engine: Engine) -> None:
    for store in ("us-spi", "us-chi"):
        add_store(engine, store)
        put_stock(engine, store, "SKU-A", 3)
    publish_rules(engine)
    row = add_order(engine, "111-0000011-0000011", [("SKU-A", 1)])
    import_route(engine, [row], {row["order_id"]: SPRINGFIELD})
    url = db(engine)
    code, out, _ = cli(url, "routing", "show", row["order_id"])
    assert code == 0
    assert out.startswith("111-0000011-0000011\trouted\tus-spi\tUS 62701\tattempt 1")
    assert "store\tus-spi\trank 1\t" in out and "store\tus-chi\trank 2\t" in out
    code, out, _ = cli(url, "routing", "route", row["order_id"], "--store", "us-chi",
                       "--reason", "closer to the customer's office")
    assert (code, out.strip()) == (0, "111-0000011-0000011\tmanual\tus-chi\tattempt 2")
    code, out, _ = cli(url, "routing", "give-back", row["order_id"], "--store", "us-chi",
                       "--reason", "broken box")
    assert (code, out.strip()) == (0, "111-0000011-0000011\trouted\tus-spi\tattempt 3")
    code, _, err = cli(url, "routing", "give-back", row["order_id"], "--store", "us-chi",
                       "--reason", "again")
    assert code == 1 and "us-chi has no package" in err
    code, out, _ = cli(url, "routing", "list", "--status", "routed")
    assert out.count("\n") == 1 and "us-spi" in out
    [manual] = audits(engine, "order.rerouted")
    assert manual.role == "operator" and manual.actor.startswith("cli")


def test_rules_publish_and_show(engine: Engine, tmp_path: Path) -> None:
    url = db(engine)
    code, out, _ = cli(url, "routing", "rules", "show")
    assert code == 0 and "name: Default routing" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nversion: 2\nname: x\ncutoff: {default: noon}\n")
    code, _, err = cli(url, "routing", "rules", "publish", str(bad))
    assert code == 1 and "cutoff.default" in err
    good = tmp_path / "good.yaml"
    good.write_text("schema_version: 1\nversion: 2\nname: two packages\nmax_packages: 2\n")
    code, out, _ = cli(url, "routing", "rules", "publish", str(good))
    assert (code, out.strip()) == (0, "published routing rules version 2 (two packages)")
    assert cli(url, "routing", "rules", "show")[1] == good.read_text()
