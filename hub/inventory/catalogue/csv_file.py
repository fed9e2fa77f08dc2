"""The catalogue's import format: CSV with a header, one SKU a line.

    sku,category,title,brand,unit_cost,currency
    AC-KETTLE-17,small_kitchen,Stainless Kettle 1.7 L,Acorn Home,18.40,EUR

Rules:
- ``sku`` and ``category`` columns are required, the others optional, in any order; header
  names are matched stripped and lower-cased; an unknown or repeated column is refused (a typo
  must not drop a column silently);
- a UTF-8 byte-order mark is ignored (spreadsheets write one); blank lines are skipped;
- ``unit_cost`` and ``currency`` come together (an amount in the currency's minor units, e.g.
  ``18.40 EUR``, ``1840 JPY``);
- a SKU given twice is refused on its second line, even with the same values;
- reading is pure and all-or-nothing: every bad line and column becomes one ``Problem``
  (``line 4, category``: what is wrong), up to ``MAX_PROBLEMS`` and a count of the rest, and
  ``CatalogueFileError`` lists them; at most ``MAX_ROWS`` lines.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from pydantic import ValidationError

from hub.errors import InputError
from hub.inventory.catalogue.item import CatalogueItem, check_sku
from hub.strict_yaml import DocumentError, Problem

if TYPE_CHECKING:
    from _csv import Reader

COLUMNS = ("sku", "category", "title", "brand", "unit_cost", "currency")
REQUIRED = ("sku", "category")
MAX_ROWS = 200_000
MAX_PROBLEMS = 50


class CatalogueFileError(DocumentError):
    """A catalogue file that cannot be imported: one problem per bad line and column."""

    REFUSED = "catalogue file refused"


def read_csv(text: str) -> list[tuple[str, CatalogueItem]]:
    """Every (SKU, item) of a catalogue CSV, in file order; ``CatalogueFileError`` otherwise."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")), strict=True)
    problems: list[Problem] = []
    items: list[tuple[str, CatalogueItem]] = []
    try:
        columns = _header(next(reader, None), problems)
        if not problems:
            _rows(reader, columns, items, problems)
    except csv.Error as err:
        problems.append(Problem(f"line {reader.line_num}", f"not readable as CSV: {err}"))
    if problems:
        raise CatalogueFileError(_bounded(problems))
    if not items:
        raise CatalogueFileError([Problem("line 2", "the file has a header but no SKU")])
    return items


def _header(row: list[str] | None, problems: list[Problem]) -> list[str]:
    if row is None:
        problems.append(Problem("line 1", "the file is empty: it needs a header line "
                                          f"({','.join(COLUMNS)})"))
        return []
    columns = [name.strip().lower() for name in row]
    for index, name in enumerate(columns):
        if name not in COLUMNS:
            problems.append(Problem("line 1", f"unknown column {row[index]!r} (known: "
                                              f"{', '.join(COLUMNS)})"))
        elif name in columns[:index]:
            problems.append(Problem("line 1", f"column {name!r} is given twice"))
    for name in REQUIRED:
        if name not in columns:
            problems.append(Problem("line 1", f"the header lacks the {name!r} column"))
    return columns


def _rows(reader: Reader, columns: list[str],
          items: list[tuple[str, CatalogueItem]], problems: list[Problem]) -> None:
    first_line: dict[str, int] = {}
    rows = 0
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        rows += 1
        if rows > MAX_ROWS:
            problems.append(Problem(f"line {line}", f"at most {MAX_ROWS} SKUs per file"))
            return
        if len(row) != len(columns):
            problems.append(Problem(f"line {line}", f"{len(row)} fields where the header has "
                                                    f"{len(columns)}"))
            continue
        found = _row(dict(zip(columns, row, strict=True)), line, first_line, problems)
        if found is not None:
            items.append(found)


def _row(cells: dict[str, str], line: int, first_line: dict[str, int],
         problems: list[Problem]) -> tuple[str, CatalogueItem] | None:
    where = f"line {line}"
    sku = cells["sku"].strip()
    try:
        check_sku(sku)
    except InputError as err:
        problems.append(Problem(f"{where}, sku", err.message))
        return None
    if sku in first_line:
        problems.append(Problem(f"{where}, sku", f"{sku} was already given on line "
                                                 f"{first_line[sku]}"))
        return None
    first_line[sku] = line
    cost, currency = cells.get("unit_cost", "").strip(), cells.get("currency", "").strip()
    if cost and not currency:
        problems.append(Problem(f"{where}, currency", "give the currency of unit_cost "
                                                      "(ISO 4217, e.g. EUR)"))
        return None
    if currency and not cost:
        problems.append(Problem(f"{where}, unit_cost", f"a currency ({currency}) without a "
                                                       "unit cost"))
        return None
    data = {"category": cells["category"], "title": cells.get("title"),
            "brand": cells.get("brand"),
            "unit_cost": {"amount": cost, "currency": currency} if cost else None}
    try:
        return sku, CatalogueItem.model_validate(data)
    except ValidationError as err:
        for error in err.errors():
            problems.append(Problem(f"{where}, {_column(error['loc'])}", _message(error)))
        return None


def _column(loc: tuple[int | str, ...]) -> str:
    if loc[:2] == ("unit_cost", "currency"):
        return "currency"
    return str(loc[0]) if loc else "category"


def _message(error: object) -> str:
    msg = str(error["msg"]) if isinstance(error, dict) else str(error)
    return msg.removeprefix("Value error, ")


def _bounded(problems: list[Problem]) -> list[Problem]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    rest = len(problems) - MAX_PROBLEMS
    return [*problems[:MAX_PROBLEMS], Problem("", f"and {rest} more problems")]
