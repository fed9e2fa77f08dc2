"""The product catalogue: what the hub knows of each SKU beyond its stock — its category (which
the allocation rules' category floors and reserves match), title, brand and unit cost.

    items = read_csv(text)                            # pure; every bad line named, or nothing
    result = import_items(engine, items, actor)      # created / updated / unchanged, audited
    stored = get_item(conn, sku); put_item(engine, sku, item, actor)

Rules of each part live in its module: ``item`` (what a valid entry is), ``csv_file`` (the
import format), ``store`` (reads, writes and their audit). Errors: ``InputError`` for a bad SKU
or item, ``CatalogueFileError`` (a ``hub.strict_yaml.DocumentError``) with one ``Problem`` per
bad line and column of an import file.
"""

from hub.inventory.catalogue.csv_file import COLUMNS, CatalogueFileError, read_csv
from hub.inventory.catalogue.item import CatalogueItem, check_sku
from hub.inventory.catalogue.store import (
    ACTION,
    ImportResult,
    Outcome,
    Stored,
    get_item,
    import_items,
    put_item,
)

__all__ = [
    "ACTION",
    "COLUMNS",
    "CatalogueFileError",
    "CatalogueItem",
    "ImportResult",
    "Outcome",
    "Stored",
    "check_sku",
    "get_item",
    "import_items",
    "put_item",
    "read_csv",
]
