"""Postal-code centroids: import a GeoNames postal-code dump, and look a code up.

Rules:
- an import reads the whole file first and stores nothing when any line is bad (the error names
  the line number and the problem); a good file replaces, country by country, every row of the
  countries it holds, in one transaction, audited as ``postcodes.imported`` (file name, rows per
  country); importing the same file twice leaves the same table;
- a code given on several lines (GeoNames lists one per place) gets the mean of their
  coordinates, rounded to 6 places, and the first place name;
- ``progress(done, total)`` is told the lines read and rows written, so a command can show a
  bar;
- lookup: the imported rows of the destination's country, when the country has any, else the
  shipped table (``geo.shipped_table``); each key of ``geo.candidates`` is tried in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, delete, func, select

from hub.errors import InputError
from hub.inventory.routing.geo import candidates, parse_geonames_line, shipped_table
from hub.storage.audit_chain import AuditDraft, Json
from hub.storage.engine import Tx
from hub.storage.tables.routing import postal_centroids

ACTION = "postcodes.imported"
BATCH = 5_000
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Imported:
    """What an import stored: rows per country, and the lines it read."""

    rows: dict[str, int]
    lines: int


def read_lines(lines: Iterable[str], progress: Progress | None = None
               ) -> dict[tuple[str, str], tuple[Decimal, Decimal, str | None, int]]:
    """The centroids of a GeoNames dump by (country, code); ``InputError`` names a bad line."""
    found: dict[tuple[str, str], tuple[Decimal, Decimal, str | None, int]] = {}
    for number, line in enumerate(lines, start=1):
        try:
            centroid = parse_geonames_line(line)
        except ValueError as err:
            raise InputError(f"line {number}: {err}", field="file") from err
        if progress is not None:
            progress(1)
        if centroid is None:
            continue
        key = (centroid.country, centroid.postal_code)
        held = found.get(key)
        if held is None:
            found[key] = (centroid.latitude, centroid.longitude, centroid.place, 1)
        else:
            found[key] = (held[0] + centroid.latitude, held[1] + centroid.longitude, held[2],
                          held[3] + 1)
    if not found:
        raise InputError("the file holds no postal codes", field="file")
    return found


def store(tx: Tx, found: dict[tuple[str, str], tuple[Decimal, Decimal, str | None, int]],
          source: str, actor: str, role: str, progress: Progress | None = None) -> Imported:
    """Replace the rows of the countries in ``found``; audited."""
    countries = sorted({country for country, _ in found})
    tx.conn.execute(delete(postal_centroids).where(postal_centroids.c.country.in_(countries)))
    rows: dict[str, int] = {}
    batch: list[dict[str, object]] = []
    for (country, code), (lat, lon, place, count) in sorted(found.items()):
        batch.append({"country": country, "postal_code": code,
                      "latitude": format(round(lat / count, 6), "f"),
                      "longitude": format(round(lon / count, 6), "f"), "place": place})
        rows[country] = rows.get(country, 0) + 1
        if len(batch) == BATCH:
            _flush(tx.conn, batch, progress)
    _flush(tx.conn, batch, progress)
    counts: dict[str, Json] = dict(rows)
    tx.audit(AuditDraft(actor, role, ACTION, "postal_centroids", ",".join(countries)[:200],
                        None, {"source": source, "rows": counts}))
    return Imported(rows, sum(count for *_, count in found.values()))


def _flush(conn: Connection, batch: list[dict[str, object]], progress: Progress | None) -> None:
    if batch:
        conn.execute(postal_centroids.insert(), batch)
        if progress is not None:
            progress(len(batch))
        batch.clear()


class Lookup:
    """Centroids for destinations, reading each country's imported rows or the shipped table."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._imported: dict[str, bool] = {}

    def _has_rows(self, country: str) -> bool:
        if country not in self._imported:
            count = self._conn.scalar(select(func.count()).select_from(postal_centroids)
                                      .where(postal_centroids.c.country == country))
            self._imported[country] = bool(count)
        return self._imported[country]

    def centroid(self, country: str, postal_code: str) -> tuple[float, float] | None:
        """The centroid of ``postal_code`` in ``country``, or None when no table knows it."""
        keys = candidates(country, postal_code)
        if self._has_rows(country):
            for key in keys:
                row = self._conn.execute(
                    select(postal_centroids.c.latitude, postal_centroids.c.longitude).where(
                        postal_centroids.c.country == country,
                        postal_centroids.c.postal_code == key)).first()
                if row is not None:
                    return float(row.latitude), float(row.longitude)
            return None
        table = shipped_table()
        for key in keys:
            if (country, key) in table:
                return table[(country, key)]
        return None
